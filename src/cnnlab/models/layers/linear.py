"""`Linear`: y = x W^T + b on a flat input, PyTorch's `nn.Linear`.

Written `Linear(10)` (input features inferred) or `Linear(5408, 10)` (PyTorch's order).
(in_features,) -> (out_features,).
"""

from __future__ import annotations

from cnnlab.models.layers.geometry import flat
from cnnlab.models.layers.params import Param, boolean, positive_int
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.linear import Linear

PARAMS = (Param("out_features", positive_int), Param("bias", boolean, True))


def shape(in_shape: tuple[int, ...], kw: dict):
    features = flat(in_shape, "add Flatten before it")
    out = kw["out_features"]
    return {"in_features": features}, (out,), features * out + (out if kw.get("bias", True) else 0)


def numpy_layer(kw: dict, rng) -> Linear:
    return Linear(**kw, rng=rng)


def keras_layers(keras, kw: dict, common: dict, seed: int) -> list:
    init = dict(kernel_initializer="zeros", bias_initializer="zeros")
    return [keras.layers.Dense(kw["out_features"], use_bias=kw.get("bias", True), **init, **common)]


KIND = LayerKind(
    name="Linear",
    prefix="fc",
    params=PARAMS,
    shape=shape,
    numpy=numpy_layer,
    keras=keras_layers,
    input_size="in_features",
    slug=lambda kw: f"l{kw['out_features']}",
    head_role="linear",
    example="Linear(12)",
)
