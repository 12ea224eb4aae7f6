"""What the kinds that act on each value alone share: their shape rule (the input's shape, no
parameters), and a Keras twin that is one `Activation` layer."""

from __future__ import annotations


def same_shape(in_shape: tuple[int, ...], kw: dict):
    return {}, in_shape, 0


def keras_activation(function):
    """The `LayerKind.keras` builder of an activation: `keras.layers.Activation(function)`,
    where `function` is Keras' name for it or a callable of (keras, x)."""

    def build(keras, kw: dict, common: dict, seed: int) -> list:
        if callable(function):
            return [keras.layers.Activation(lambda x: function(keras, x), **common)]
        return [keras.layers.Activation(function, **common)]

    return build
