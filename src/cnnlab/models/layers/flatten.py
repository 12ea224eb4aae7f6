"""`Flatten`: (C, H, W) -> (C*H*W,) in that order, PyTorch's `nn.Flatten`. Every position is
then one feature among many, so a receptive field ends here."""

from __future__ import annotations

import math

from cnnlab.models.layers.record import LayerKind
from cnnlab.scratch.linear import Flatten


def shape(in_shape: tuple[int, ...], kw: dict):
    return {}, (math.prod(in_shape),), 0


def keras_layers(keras, kw: dict, common: dict, seed: int) -> list:
    # A channels_first Flatten would transpose to (H, W, C) before reshaping (Keras keeps
    # Dense weights portable that way); the plain reshape keeps PyTorch's (C, H, W) order.
    return [keras.layers.Flatten(data_format="channels_last", **common)]


KIND = LayerKind(
    name="Flatten",
    prefix="flatten",
    params=(),
    shape=shape,
    numpy=lambda kw, rng: Flatten(),
    keras=keras_layers,
    head_role="flatten",
)
