"""`Tanh`: the hyperbolic tangent of each value, PyTorch's `nn.Tanh`."""

from __future__ import annotations

from cnnlab.models.layers.elementwise import keras_activation, same_shape
from cnnlab.models.layers.geometry import same_field
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.activation import Tanh

KIND = LayerKind(
    name="Tanh",
    prefix="tanh",
    params=(),
    shape=same_shape,
    numpy=lambda kw, rng: Tanh(),
    keras=keras_activation("tanh"),
    field=same_field,
    slug=lambda kw: "tanh",
)
