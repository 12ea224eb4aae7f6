"""Weights between the Keras twin and the other engines' state dicts: the one place that transposes.

The NumPy and torch engines store `conv1.weight` as (O, I, kh, kw) and `fc.weight` as (out, in);
Keras keeps a Conv2D kernel as (kh, kw, I, O) and a Dense kernel as (in, out). Biases agree. The
flatten order needs no permutation, because the Keras model flattens (C, H, W) like PyTorch (see
`cnnlab.models.keras_builder`), so `fc.weight` is the same matrix in all three engines.

A state dict here is the NumPy engine's: `{"conv1.weight": array, "conv1.bias": array, ...}`.

BatchNormalization's variables play nn.BatchNorm's: gamma/beta/moving_mean/moving_variance are
weight/bias/running_mean/running_var. Keras has no `num_batches_tracked` (it only matters to
PyTorch's momentum=None, which the architecture language does not offer): loading ignores it,
and `keras_to_numpy` fills it in with the number of training steps it is given (the optimizer's
`iterations`, one batch each), 0 by default.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

# Keras variable name -> the PyTorch parameter name it plays.
PARAMETER_NAMES = {
    "kernel": "weight",
    "bias": "bias",
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}
KERAS_LACKS = "num_batches_tracked"  # the one buffer of a PyTorch state dict Keras does not keep
# Axis order that turns a NumPy/torch weight into a Keras kernel, by number of dimensions.
TO_KERAS_AXES = {4: (2, 3, 1, 0), 2: (1, 0), 1: (0,)}  # (O, I, kh, kw) -> (kh, kw, I, O)


def weight_to_keras(weight: np.ndarray) -> np.ndarray:
    """(O, I, kh, kw) -> (kh, kw, I, O); (out, in) -> (in, out); a bias (n,) stays as it is."""
    return np.ascontiguousarray(weight.transpose(TO_KERAS_AXES[weight.ndim]))


def weight_from_keras(kernel: np.ndarray) -> np.ndarray:
    """The inverse of `weight_to_keras`."""
    return np.ascontiguousarray(kernel.transpose(np.argsort(TO_KERAS_AXES[kernel.ndim])))


def named_variables(model):
    """(state-dict key, Keras variable) for every weight of `model`, in layer order."""
    for layer in model.layers:
        for variable in layer.weights:
            yield f"{layer.name}.{PARAMETER_NAMES[variable.name]}", variable


def numpy_to_keras(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A NumPy state dict in the Keras layout, same keys (`conv1.weight` -> its HWIO kernel)."""
    return {key: weight_to_keras(np.asarray(value)) for key, value in state.items()}


def keras_to_numpy(model, num_batches_tracked: int = 0) -> dict[str, np.ndarray]:
    """The Keras model's weights as a NumPy state dict (copies, in the NumPy/torch layout), in
    PyTorch's order; each BatchNorm gets `num_batches_tracked` (see the module docstring)."""
    state = {}
    for key, variable in named_variables(model):
        state[key] = weight_from_keras(to_numpy(variable.value))
        if key.endswith(".running_var"):
            layer = key.rsplit(".", 1)[0]
            state[f"{layer}.{KERAS_LACKS}"] = np.array(num_batches_tracked, dtype=np.int64)
    return state


def to_numpy(tensor) -> np.ndarray:
    """A backend (torch) tensor -> a NumPy copy on the CPU.

    Not `keras.ops.convert_to_numpy` nor `variable.numpy()`: both go through `np.array(tensor)`,
    whose `__array__` lacks NumPy 2's `copy` argument, a DeprecationWarning (an error in tests).
    """
    return tensor.detach().cpu().numpy().copy()


def load_numpy_state(model, state: Mapping[str, np.ndarray]) -> None:
    """Load a NumPy state dict into the Keras model, strictly: same keys, same shapes.

    Raises ValueError, naming the first key that is missing, unexpected or of the wrong shape.
    """
    variables = dict(named_variables(model))
    missing = [key for key in variables if key not in state]
    unexpected = [k for k in state if k not in variables and not k.endswith("." + KERAS_LACKS)]
    if missing or unexpected:
        raise ValueError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    for key, variable in variables.items():
        array = np.asarray(state[key])
        needed = _numpy_shape(tuple(variable.shape))
        if array.shape != needed:
            raise ValueError(f"{key} has shape {array.shape}, the model needs {needed}")
        variable.assign(weight_to_keras(array).astype(variable.dtype))


def _numpy_shape(keras_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The NumPy/torch shape of a weight whose Keras kernel has `keras_shape`."""
    return tuple(keras_shape[axis] for axis in np.argsort(TO_KERAS_AXES[len(keras_shape)]))
