"""Build the Keras twin of an architecture from its spec (`cnnlab.models.spec`).

Keras 3 runs here on its PyTorch backend, so the `keras` extra needs no TensorFlow. The twin is a
functional `keras.Model` whose layers carry the spec's child names (`conv1`, `fc`, ...), and its
initial weights are *copied from the NumPy model built with the same seed* (as for the torch
twin), so the three engines start from identical weights.

Layout: the model takes the same NCHW batches as the other engines (`data_format=
"channels_first"` on every spatial layer, which is also the torch backend's native layout), and
it flattens (C, H, W) in that order, so `fc.weight` is the same matrix in every engine. Only the
kernels' axis order differs (Keras keeps HWIO and (in, out)); `cnnlab.models.keras_convert` is the
one place that transposes them. A padded Conv2d becomes a `ZeroPadding2D` named `<name>_pad`
followed by a "valid" Conv2D named `<name>` (a padded MaxPool2d pads with -inf), so every weight
keeps its PyTorch name.
"""

from __future__ import annotations

import functools
import math
import os

from cnnlab.errors import UserError
from cnnlab.models.layers import KINDS
from cnnlab.models.shapes import ShapedLayer, infer_shapes
from cnnlab.models.spec import ArchSpec
from cnnlab.scratch.im2col import pair

BACKEND = "torch"
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


def _make(keras, layer: ShapedLayer, seed: int) -> list:
    """The Keras layers for one layer of the spec, by its kind's record (`LayerKind.keras`):
    one, or two for a padded Conv2d / MaxPool2d (the padding gets its own layer, `<name>_pad`)."""
    common = dict(name=layer.spec.name, dtype=DTYPE)
    return KINDS[layer.spec.kind].keras(keras, layer.kwargs, common, seed)


def padded(keras, kw: dict, name: str, layer, value: float) -> list:
    """`layer`, after a `<name>_pad` layer that pads H and W by `padding` with `value`."""
    ph, pw = pair(kw.get("padding", 0))
    if (ph, pw) == (0, 0):
        return [layer]
    if value == 0.0:
        pad = keras.layers.ZeroPadding2D((ph, pw), data_format="channels_first", name=f"{name}_pad")
    else:
        widths = [[0, 0], [0, 0], [ph, ph], [pw, pw]]
        pad = keras.layers.Lambda(
            lambda x: keras.ops.pad(x, widths, constant_values=value), name=f"{name}_pad"
        )
    return [pad, layer]


def batch_norm_arguments(kw: dict) -> dict:
    """nn.BatchNorm's arguments in Keras' convention, the one place they are converted:
    the channel axis is 1 (NCHW), and Keras' momentum is the weight of the *old* running value,
    `moving = momentum * moving + (1 - momentum) * batch`, where PyTorch's weighs the batch."""
    return {
        "axis": 1,
        "momentum": 1.0 - kw.get("momentum", 0.1),
        "epsilon": kw.get("eps", 1e-5),
    }


@functools.cache
def torch_batch_norm_class(keras):
    """`keras.layers.BatchNormalization` whose moving variance follows PyTorch's.

    Keras moves `moving_variance` towards the *biased* batch variance (`ops.moments`), PyTorch
    its `running_var` towards the *unbiased* one, m / (m - 1) times larger for m values per
    channel. Both normalise the batch with the biased one. After Keras' own update, this adds
    the difference, `(1 - momentum) * var * (m / (m - 1) - 1)`, so the running statistics of
    the three engines agree.
    """

    class TorchBatchNormalization(keras.layers.BatchNormalization):
        def call(self, inputs, training=None, mask=None):
            outputs = super().call(inputs, training=training, mask=mask)
            if training and self.trainable and None not in inputs.shape:
                count = math.prod(inputs.shape) // inputs.shape[1]  # m values per channel
                _, var = keras.ops.moments(inputs, axes=self._reduction_axes)
                bias_fix = (1.0 - self.momentum) * var / (count - 1)
                self.moving_variance.assign(self.moving_variance + bias_fix)
            return outputs

    return TorchBatchNormalization


def build(spec: ArchSpec, seed: int = 0):
    """The Keras model of `spec` with the NumPy model's initial weights for `seed`.

    The returned `keras.Model` carries the spec as `model.spec`, like the other engines' models.
    """
    from cnnlab.models.keras_convert import load_numpy_state
    from cnnlab.models.scratch_builder import build as build_scratch

    keras = import_keras()
    inputs = keras.Input(spec.input_shape, dtype=DTYPE, name="image")  # (N, C, H, W)
    x = inputs
    for layer in infer_shapes(spec):
        for keras_layer in _make(keras, layer, seed):
            x = keras_layer(x)
    model = keras.Model(inputs, x, name=spec.name)  # (N, 10) logits
    model.spec = spec
    load_numpy_state(model, build_scratch(spec, seed).state_dict())
    return model
