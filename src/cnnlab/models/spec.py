"""The architectures, described once, in PyTorch's vocabulary.

Every engine builds its network from these descriptions (`cnnlab.models.build_model`), so the
NumPy, PyTorch and Keras twins have the same layers, the same child names and therefore the same
`state_dict` keys (`conv1.weight`, `fc.bias`, ...). A layer is a PyTorch class name and its
keyword arguments *without* the input size: `in_channels` and `in_features` follow from the
layers before it and are filled in by `cnnlab.models.shapes.infer_shapes`. A new architecture is
one new entry here.

Why a flatten + single linear head for the CNNs: the class score is then a plain sum over every
position of the last conv feature map, `score_k = sum_{c,h,w} W[k,c,h,w] * A[c,h,w] + b_k`, so the
map `M_k[h,w] = sum_c W[k,c,h,w] * A[c,h,w]` is an exact per-position decomposition of the score
(the CAM of Zhou et al. generalised to a position-dependent weight), while keeping the spatial
information that a global-average-pool head throws away: a 2-conv CNN with only GAP tops out
near 94% on MNIST in a few epochs, the flatten head clears 99%.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LayerSpec:
    """One layer: a PyTorch class name and its arguments, less the inferred input size."""

    name: str  # child name in the Sequential, e.g. "conv1" -> parameters "conv1.weight"
    kind: str  # PyTorch's class name: "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", ...
    kwargs: dict = field(default_factory=dict)  # e.g. {"out_channels": 16, "kernel_size": 3}


@dataclass(frozen=True)
class ArchSpec:
    name: str
    description: str
    layers: tuple[LayerSpec, ...]
    # Output of this layer is the last conv feature map (after its ReLU), used by CAM / Grad-CAM.
    feature_layer: str | None = None
    head: str | None = None  # "flatten_linear" or "gap_linear": how the scores use the map


def conv_block(index: int, out_channels: int, pool: bool) -> tuple[LayerSpec, ...]:
    """conv{i} 3x3 -> relu{i}, then pool{i} (max 2) when `pool`: the repeated unit of the CNNs."""
    layers = (
        LayerSpec(f"conv{index}", "Conv2d", {"out_channels": out_channels, "kernel_size": 3}),
        LayerSpec(f"relu{index}", "ReLU"),
    )
    return layers + ((LayerSpec(f"pool{index}", "MaxPool2d", {"kernel_size": 2}),) if pool else ())


def flatten_linear_head(classes: int = 10) -> tuple[LayerSpec, ...]:
    return (LayerSpec("flatten", "Flatten"), LayerSpec("fc", "Linear", {"out_features": classes}))


# Channel widths: small enough for the NumPy engine to train an epoch in seconds on 2 cores,
# wide enough to clear 99% test accuracy.
C1, C2, C3 = 16, 32, 64
HIDDEN = 256

ARCHITECTURES: dict[str, ArchSpec] = {
    "cnn2": ArchSpec(
        name="cnn2",
        description="2 conv layers, last conv feature map 11x11, flatten + linear head",
        # (N, 16, 26, 26) -> pool (N, 16, 13, 13) -> (N, 32, 11, 11) -> fc
        layers=conv_block(1, C1, pool=True) + conv_block(2, C2, pool=False) + flatten_linear_head(),
        feature_layer="relu2",
        head="flatten_linear",
    ),
    "cnn3": ArchSpec(
        name="cnn3",
        description="3 conv layers, last conv feature map 3x3, flatten + linear head",
        # (N, 16, 26, 26) -> (N, 16, 13, 13) -> (N, 32, 11, 11) -> (N, 32, 5, 5): floor, like
        # PyTorch -> (N, 64, 3, 3) -> fc
        layers=conv_block(1, C1, pool=True)
        + conv_block(2, C2, pool=True)
        + conv_block(3, C3, pool=False)
        + flatten_linear_head(),
        feature_layer="relu3",
        head="flatten_linear",
    ),
    "mlp3": ArchSpec(
        name="mlp3",
        description="3 fully connected layers with ReLU, 784-256-256-10",
        layers=(
            LayerSpec("flatten", "Flatten"),  # (N, 784)
            LayerSpec("fc1", "Linear", {"out_features": HIDDEN}),
            LayerSpec("relu1", "ReLU"),
            LayerSpec("fc2", "Linear", {"out_features": HIDDEN}),
            LayerSpec("relu2", "ReLU"),
            LayerSpec("fc3", "Linear", {"out_features": 10}),
        ),
    ),
}


def get_spec(name: str) -> ArchSpec:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(f"unknown model {name!r}; choose one of: {known}") from None
