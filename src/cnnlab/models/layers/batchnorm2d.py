"""`BatchNorm2d`: each channel normalised by its batch statistics (running ones in eval), then
scaled and shifted, PyTorch's `nn.BatchNorm2d`.

Written `BatchNorm2d` (channels inferred) or `BatchNorm2d(16)` (PyTorch's order). (C, H, W) ->
(C, H, W); parameters weight and bias, buffers running_mean, running_var, num_batches_tracked.
"""

from __future__ import annotations

from cnnlab.models.layers.geometry import same_field, spatial
from cnnlab.models.layers.params import Param, positive_float, probability
from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.batchnorm import BatchNorm2d

PARAMS = (Param("eps", positive_float, 1e-5), Param("momentum", probability, 0.1))


def shape(in_shape: tuple[int, ...], kw: dict):
    c, _, _ = spatial(in_shape, "a (C, H, W) feature map; use BatchNorm1d after Flatten")
    return {"num_features": c}, in_shape, 2 * c  # weight and bias; the statistics are buffers


def numpy_layer(kw: dict, rng) -> BatchNorm2d:
    return BatchNorm2d(**kw)


def keras_layers(keras, kw: dict, common: dict, seed: int) -> list:
    from cnnlab.models.keras_builder import batch_norm_arguments, torch_batch_norm_class

    return [torch_batch_norm_class(keras)(**batch_norm_arguments(kw), **common)]


KIND = LayerKind(
    name="BatchNorm2d",
    prefix="bn",
    params=PARAMS,
    shape=shape,
    numpy=numpy_layer,
    keras=keras_layers,
    input_size="num_features",
    field=same_field,
    slug=lambda kw: "bn",
)
