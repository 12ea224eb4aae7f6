"""Build the Keras twin of an architecture from its spec (`cnnlab.models.spec`).

Keras 3 runs here on its PyTorch backend, so the `keras` extra needs no TensorFlow. The twin is a
functional `keras.Model` whose layers carry the spec's child names (`conv1`, `fc`, ...), and its
initial weights are *copied from the NumPy model built with the same seed* (as for the torch
twin), so the three engines start from identical weights.

Layout: the model takes the same NCHW batches as the other engines (`data_format=
"channels_first"` on every spatial layer, which is also the torch backend's native layout), and
it flattens (C, H, W) in that order, so `fc.weight` is the same matrix in every engine. Only the
kernels' axis order differs (Keras keeps HWIO and (in, out)); `cnnlab.models.keras_convert` is the
one place that transposes them.
"""

from __future__ import annotations

import os

from cnnlab.errors import UserError
from cnnlab.models.spec import ArchSpec, LayerSpec

BACKEND = "torch"
INPUT_SHAPE = (1, 28, 28)  # (C, H, W) of one MNIST image
# Explicit, whatever keras.json says; float32 only, see `KerasEngine` on float64.
DTYPE = "float32"


def import_keras():
    """`keras`, on the torch backend. Every cnnlab module imports Keras through this function.

    The backend is chosen once per process by the first `import keras`, from `KERAS_BACKEND`;
    `setdefault` keeps a user's explicit choice, which is then checked rather than overridden.
    """
    os.environ.setdefault("KERAS_BACKEND", BACKEND)
    import keras

    if keras.backend.backend() != BACKEND:
        raise UserError(
            f"the keras engine runs Keras on its {BACKEND} backend, but this process uses "
            f"{keras.backend.backend()!r}; unset KERAS_BACKEND or set it to {BACKEND}."
        )
    return keras


def _make(keras, layer: LayerSpec, seed: int):
    """The Keras layer for one `LayerSpec` (whose args are PyTorch's constructor arguments)."""
    # Weights start at zero: `build` overwrites every one with the NumPy model's, and a random
    # initializer would only draw from Keras' unseeded global generator for nothing.
    common = dict(name=layer.name, dtype=DTYPE)
    init = dict(kernel_initializer="zeros", bias_initializer="zeros")
    if layer.kind == "conv":
        _, c_out, kernel = layer.args
        if layer.kwargs:
            raise ValueError(f"{layer.name}: the keras builder has no mapping for {layer.kwargs}")
        return keras.layers.Conv2D(c_out, kernel, data_format="channels_first", **init, **common)
    if layer.kind == "linear":
        _, out_features = layer.args
        return keras.layers.Dense(out_features, **init, **common)
    if layer.kind == "relu":
        return keras.layers.ReLU(**common)
    if layer.kind == "maxpool":
        # Stride = window and "valid" padding: floor of the size, like nn.MaxPool2d(k).
        (kernel,) = layer.args
        return keras.layers.MaxPooling2D(kernel, data_format="channels_first", **common)
    if layer.kind == "flatten":
        # A channels_first Flatten would transpose to (H, W, C) before reshaping (Keras keeps
        # Dense weights portable that way); the plain reshape keeps PyTorch's (C, H, W) order.
        return keras.layers.Flatten(data_format="channels_last", **common)
    if layer.kind == "gap":
        return keras.layers.GlobalAveragePooling2D(data_format="channels_first", **common)
    if layer.kind == "dropout":
        p = layer.args[0] if layer.args else layer.kwargs.get("p", 0.5)
        return keras.layers.Dropout(p, seed=seed, **common)
    raise ValueError(f"{layer.name}: the keras builder has no layer for kind {layer.kind!r}")


def build(spec: ArchSpec, seed: int = 0):
    """The Keras model of `spec` with the NumPy model's initial weights for `seed`.

    The returned `keras.Model` carries the spec as `model.spec`, like the other engines' models.
    """
    from cnnlab.models.keras_convert import load_numpy_state
    from cnnlab.models.scratch_builder import build as build_scratch

    keras = import_keras()
    inputs = keras.Input(INPUT_SHAPE, dtype=DTYPE, name="image")  # (N, 1, 28, 28)
    x = inputs
    for layer in spec.layers:
        x = _make(keras, layer, seed)(x)
    model = keras.Model(inputs, x, name=spec.name)  # (N, 10) logits
    model.spec = spec
    load_numpy_state(model, build_scratch(spec, seed).state_dict())
    return model
