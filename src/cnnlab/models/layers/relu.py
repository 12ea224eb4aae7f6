"""`ReLU`: max(x, 0), PyTorch's `nn.ReLU`. Any shape -> the same shape.

Whether the NumPy layer rectifies in place is the engine's speed choice, made in one step
(`cnnlab.scratch.speed`), not the architecture's.
"""

from __future__ import annotations

from cnnlab.models.layers.elementwise import keras_activation, same_shape
from cnnlab.models.layers.geometry import same_field
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.activation import ReLU

KIND = LayerKind(
    name="ReLU",
    prefix="relu",
    params=(),
    shape=same_shape,
    numpy=lambda kw, rng: ReLU(),
    keras=keras_activation("relu"),
    field=same_field,
    ignored=("inplace",),
)
