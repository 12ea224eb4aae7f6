"""`AvgPool2d`: the mean of each window, PyTorch's `nn.AvgPool2d` (no padding).

(C, H, W) -> (C, OH, OW); the stride defaults to the window.
"""

from __future__ import annotations

from cnnlab.models.layers.geometry import pool_window
from cnnlab.models.layers.maxpool2d import pool_shape
from cnnlab.models.layers.params import Param, positive_int_or_pair
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.avgpool import AvgPool2d

PARAMS = (
    Param("kernel_size", positive_int_or_pair),
    Param("stride", positive_int_or_pair, None),
)


def numpy_layer(kw: dict, rng) -> AvgPool2d:
    return AvgPool2d(**kw)


def keras_layers(keras, kw: dict, common: dict, seed: int) -> list:
    stride = kw.get("stride") or kw["kernel_size"]
    return [
        keras.layers.AveragePooling2D(
            kw["kernel_size"], stride, data_format="channels_first", **common
        )
    ]


KIND = LayerKind(
    name="AvgPool2d",
    prefix="avgpool",
    params=PARAMS,
    shape=pool_shape,
    numpy=numpy_layer,
    keras=keras_layers,
    field=pool_window,
    slug=lambda kw: "ap",
    example="AvgPool2d(2)",
)
