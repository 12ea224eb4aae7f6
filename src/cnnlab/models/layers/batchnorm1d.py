"""`BatchNorm1d`: each feature of a flat input normalised by its batch statistics, PyTorch's
`nn.BatchNorm1d`. Written `BatchNorm1d` or `BatchNorm1d(256)`. (F,) -> (F,)."""

from __future__ import annotations

from cnnlab.models.layers.batchnorm2d import PARAMS, keras_layers
from cnnlab.models.layers.geometry import flat
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.batchnorm import BatchNorm1d


def shape(in_shape: tuple[int, ...], kw: dict):
    features = flat(in_shape, "use BatchNorm2d on a feature map")
    return {"num_features": features}, in_shape, 2 * features


def numpy_layer(kw: dict, rng) -> BatchNorm1d:
    return BatchNorm1d(**kw)


KIND = LayerKind(
    name="BatchNorm1d",
    prefix="bn",
    params=PARAMS,
    shape=shape,
    numpy=numpy_layer,
    keras=keras_layers,
    input_size="num_features",
    slug=lambda kw: "bn",
)
