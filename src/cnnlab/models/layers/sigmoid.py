"""`Sigmoid`: 1 / (1 + exp(-x)) of each value, PyTorch's `nn.Sigmoid`."""

from __future__ import annotations

from cnnlab.models.layers.elementwise import keras_activation, same_shape
from cnnlab.models.layers.geometry import same_field
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.activation import Sigmoid

KIND = LayerKind(
    name="Sigmoid",
    prefix="sigmoid",
    params=(),
    shape=same_shape,
    numpy=lambda kw, rng: Sigmoid(),
    keras=keras_activation("sigmoid"),
    field=same_field,
    slug=lambda kw: "sig",
)
