"""`Dropout(p)`: in training, each value zeroed with probability p and the others scaled by
1/(1-p); the identity in eval mode. PyTorch's `nn.Dropout`. Any shape -> the same shape."""

from __future__ import annotations

from cnnlab.models.layers.elementwise import same_shape
from cnnlab.models.layers.geometry import same_field
from cnnlab.models.layers.params import Param, probability
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.activation import Dropout


def keras_layers(keras, kw: dict, common: dict, seed: int) -> list:
    return [keras.layers.Dropout(kw.get("p", 0.5), seed=seed, **common)]


KIND = LayerKind(
    name="Dropout",
    prefix="dropout",
    params=(Param("p", probability, 0.5),),
    shape=same_shape,
    numpy=lambda kw, rng: Dropout(**kw, rng=rng),
    keras=keras_layers,
    field=same_field,
    slug=lambda kw: "d",
    identity_in_eval=True,
    example="Dropout(0.25)",
    ignored=("inplace",),
)
