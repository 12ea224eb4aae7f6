"""`LeakyReLU`: x where x > 0, else negative_slope * x, PyTorch's `nn.LeakyReLU`."""

from __future__ import annotations

from cnnlab.models.layers.elementwise import same_shape
from cnnlab.models.layers.geometry import same_field
from cnnlab.models.layers.params import Param, any_float
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.activation import LeakyReLU


def keras_layers(keras, kw: dict, common: dict, seed: int) -> list:
    return [keras.layers.LeakyReLU(negative_slope=kw.get("negative_slope", 0.01), **common)]


KIND = LayerKind(
    name="LeakyReLU",
    prefix="lrelu",
    params=(Param("negative_slope", any_float, 0.01),),
    shape=same_shape,
    numpy=lambda kw, rng: LeakyReLU(**kw),
    keras=keras_layers,
    field=same_field,
    slug=lambda kw: "lrelu",
    example="LeakyReLU(0.2)",
    ignored=("inplace",),
)
