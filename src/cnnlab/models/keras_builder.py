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
from cnnlab.models.shapes import INPUT_SHAPE, ShapedLayer, infer_shapes
from cnnlab.models.spec import ArchSpec

BACKEND = "torch"
# Explicit, whatever keras.json says; float32 only, see `KerasEngine` on float64.
DTYPE = "float32"
CONV_ARGUMENTS = ("in_channels", "out_channels", "kernel_size")  # the ones mapped so far


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


def _make(keras, layer: ShapedLayer, seed: int):
    """The Keras layer for one layer of the spec (whose kwargs are PyTorch's arguments)."""
    # Weights start at zero: `build` overwrites every one with the NumPy model's, and a random
    # initializer would only draw from Keras' unseeded global generator for nothing.
    kind, kw = layer.spec.kind, layer.kwargs
    common = dict(name=layer.spec.name, dtype=DTYPE)
    init = dict(kernel_initializer="zeros", bias_initializer="zeros")
    if kind == "Conv2d":
        unmapped = {k: v for k, v in kw.items() if k not in CONV_ARGUMENTS}
        if unmapped:
            raise ValueError(f"{layer.spec.name}: the keras builder has no mapping for {unmapped}")
        return keras.layers.Conv2D(
            kw["out_channels"], kw["kernel_size"], data_format="channels_first", **init, **common
        )
    if kind == "Linear":
        return keras.layers.Dense(kw["out_features"], **init, **common)
    if kind == "ReLU":
        return keras.layers.ReLU(**common)
    if kind == "MaxPool2d":
        # Stride = window and "valid" padding: floor of the size, like nn.MaxPool2d(k).
        return keras.layers.MaxPooling2D(kw["kernel_size"], data_format="channels_first", **common)
    if kind == "Flatten":
        # A channels_first Flatten would transpose to (H, W, C) before reshaping (Keras keeps
        # Dense weights portable that way); the plain reshape keeps PyTorch's (C, H, W) order.
        return keras.layers.Flatten(data_format="channels_last", **common)
    if kind == "GlobalAvgPool2d":
        return keras.layers.GlobalAveragePooling2D(data_format="channels_first", **common)
    if kind == "Dropout":
        return keras.layers.Dropout(kw.get("p", 0.5), seed=seed, **common)
    raise ValueError(f"{layer.spec.name}: the keras builder has no layer for {kind}")


def build(spec: ArchSpec, seed: int = 0):
    """The Keras model of `spec` with the NumPy model's initial weights for `seed`.

    The returned `keras.Model` carries the spec as `model.spec`, like the other engines' models.
    """
    from cnnlab.models.keras_convert import load_numpy_state
    from cnnlab.models.scratch_builder import build as build_scratch

    keras = import_keras()
    inputs = keras.Input(INPUT_SHAPE, dtype=DTYPE, name="image")  # (N, 1, 28, 28)
    x = inputs
    for layer in infer_shapes(spec):
        x = _make(keras, layer, seed)(x)
    model = keras.Model(inputs, x, name=spec.name)  # (N, 10) logits
    model.spec = spec
    load_numpy_state(model, build_scratch(spec, seed).state_dict())
    return model
