"""The built-in architectures, as architecture strings: `--model NAME` is shorthand for one.

`cnn2`, `cnn3` and `mlp3` keep the layer names they had before architecture strings existed
(`fc`, not `fc1`), so their checkpoints and state dict keys stay the same; the other presets use
the derived names of `cnnlab.models.arch_spec`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnlab.models.arch_spec import spec_from_string
from cnnlab.models.spec import ArchSpec


@dataclass(frozen=True)
class Preset:
    text: str
    description: str | None = None  # None: derived from the layers
    names: tuple[str, ...] | None = None  # None: derived (conv1, relu1, ..., fc1)


_CNN_NAMES = ("conv1", "relu1", "pool1", "conv2", "relu2")
_CNN3_NAMES = (*_CNN_NAMES, "pool2", "conv3", "relu3", "flatten", "fc")

# Channel widths 16-32-64: small enough for the NumPy engine to train an epoch in seconds on
# 2 cores, wide enough to clear 99% test accuracy.
PRESETS: dict[str, Preset] = {
    "cnn2": Preset(
        # (N, 16, 26, 26) -> pool (N, 16, 13, 13) -> (N, 32, 11, 11) -> fc
        "Conv2d(16, 3) ReLU MaxPool2d(2) Conv2d(32, 3) ReLU Flatten Linear(10)",
        "2 conv layers, last conv feature map 11x11, flatten + linear head",
        (*_CNN_NAMES, "flatten", "fc"),
    ),
    "cnn3": Preset(
        # ... (N, 32, 11, 11) -> (N, 32, 5, 5): floor, like PyTorch -> (N, 64, 3, 3) -> fc
        "Conv2d(16, 3) ReLU MaxPool2d(2) Conv2d(32, 3) ReLU MaxPool2d(2) Conv2d(64, 3) ReLU "
        "Flatten Linear(10)",
        "3 conv layers, last conv feature map 3x3, flatten + linear head",
        _CNN3_NAMES,
    ),
    "mlp3": Preset(
        "Flatten Linear(256) ReLU Linear(256) ReLU Linear(10)",
        "3 fully connected layers with ReLU, 784-256-256-10",
        ("flatten", "fc1", "relu1", "fc2", "relu2", "fc3"),
    ),
    "lenet5": Preset(
        # LeCun et al. 1998 with padding 2 in place of the 32x32 input: (N, 6, 28, 28) ->
        # (N, 6, 14, 14) -> (N, 16, 10, 10) -> (N, 16, 5, 5) -> 120 -> 84 -> 10
        "Conv2d(6, 5, padding=2) Tanh AvgPool2d(2) Conv2d(16, 5) Tanh AvgPool2d(2) Flatten "
        "Linear(120) Tanh Linear(84) Tanh Linear(10)",
        "LeNet-5: 2 conv layers with tanh and average pooling, 120-84-10 head",
    ),
    "cnn3pad": Preset(
        # padding 1 keeps each conv's size: 28 -> 14 -> 7, so the CAM is a 7x7 map
        "Conv2d(16, 3, padding=1) ReLU MaxPool2d(2) Conv2d(32, 3, padding=1) ReLU MaxPool2d(2) "
        "Conv2d(64, 3, padding=1) ReLU Flatten Linear(10)",
        "cnn3 with padding 1, last conv feature map 7x7, flatten + linear head",
        _CNN3_NAMES,
    ),
}

ARCHITECTURES: dict[str, ArchSpec] = {
    name: spec_from_string(p.text, name, names=p.names, description=p.description)
    for name, p in PRESETS.items()
}


def get_spec(name: str) -> ArchSpec:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise ValueError(f"unknown model {name!r}; choose one of: {known}") from None
