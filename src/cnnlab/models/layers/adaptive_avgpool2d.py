"""`AdaptiveAvgPool2d(1)`: the mean of each whole feature map, PyTorch's
`nn.AdaptiveAvgPool2d` with output size 1 (the only one cnnlab builds).

(C, H, W) -> (C, 1, 1): every position mixed, so a receptive field ends here.
"""

from __future__ import annotations

from cnnlab.models.layers.geometry import spatial
from cnnlab.models.layers.params import Param, global_pool_size
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.avgpool import AdaptiveAvgPool2d

PARAMS = (Param("output_size", global_pool_size),)


def shape(in_shape: tuple[int, ...], kw: dict):
    c, _, _ = spatial(in_shape)
    return {}, (c, 1, 1), 0


def numpy_layer(kw: dict, rng) -> AdaptiveAvgPool2d:
    return AdaptiveAvgPool2d(**kw)


def keras_layers(keras, kw: dict, common: dict, seed: int) -> list:
    # keepdims: nn.AdaptiveAvgPool2d(1) gives (N, C, 1, 1)
    return [keras.layers.GlobalAveragePooling2D("channels_first", keepdims=True, **common)]


KIND = LayerKind(
    name="AdaptiveAvgPool2d",
    prefix="gap",
    params=PARAMS,
    shape=shape,
    numpy=numpy_layer,
    keras=keras_layers,
    slug=lambda kw: "gap",
    head_role="gap",
    example="AdaptiveAvgPool2d(1)",
)
