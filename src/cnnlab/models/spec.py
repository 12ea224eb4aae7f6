"""The three architectures, described once.

Both engines build their networks from these descriptions (`cnnlab.models.build_model`), so the
NumPy and PyTorch twins have the same layers, the same child names and therefore the same
`state_dict` keys (`conv1.weight`, `fc.bias`, ...). A new architecture is one new entry here.

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
    """One layer: `kind` picks the class, `args` are its PyTorch constructor arguments."""

    name: str  # child name in the Sequential, e.g. "conv1" -> parameters "conv1.weight"
    kind: str  # "conv" | "relu" | "maxpool" | "flatten" | "linear" | "gap" | "dropout"
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ArchSpec:
    name: str
    description: str
    layers: tuple[LayerSpec, ...]
    # Output of this layer is the last conv feature map (after its ReLU), used by CAM / Grad-CAM.
    feature_layer: str | None = None
    feature_shape: tuple[int, int, int] | None = None  # (C, H, W) of that map for a 28x28 input
    head: str | None = None  # "flatten_linear" or "gap_linear": how the scores use the map


def _conv(name: str, c_in: int, c_out: int) -> LayerSpec:
    return LayerSpec(name, "conv", (c_in, c_out, 3))


# Channel widths: small enough for the NumPy engine to train an epoch in seconds on 2 cores,
# wide enough to clear 99% test accuracy.
C1, C2, C3 = 16, 32, 64
HIDDEN = 256

ARCHITECTURES: dict[str, ArchSpec] = {
    "cnn2": ArchSpec(
        name="cnn2",
        description="2 conv layers, last conv feature map 11x11, flatten + linear head",
        layers=(
            _conv("conv1", 1, C1),  # (N, C1, 26, 26)
            LayerSpec("relu1", "relu"),
            LayerSpec("pool1", "maxpool", (2,)),  # (N, C1, 13, 13)
            _conv("conv2", C1, C2),  # (N, C2, 11, 11)
            LayerSpec("relu2", "relu"),
            LayerSpec("flatten", "flatten"),  # (N, C2*121)
            LayerSpec("fc", "linear", (C2 * 11 * 11, 10)),
        ),
        feature_layer="relu2",
        feature_shape=(C2, 11, 11),
        head="flatten_linear",
    ),
    "cnn3": ArchSpec(
        name="cnn3",
        description="3 conv layers, last conv feature map 3x3, flatten + linear head",
        layers=(
            _conv("conv1", 1, C1),  # (N, C1, 26, 26)
            LayerSpec("relu1", "relu"),
            LayerSpec("pool1", "maxpool", (2,)),  # (N, C1, 13, 13)
            _conv("conv2", C1, C2),  # (N, C2, 11, 11)
            LayerSpec("relu2", "relu"),
            LayerSpec("pool2", "maxpool", (2,)),  # (N, C2, 5, 5): floor, like PyTorch
            _conv("conv3", C2, C3),  # (N, C3, 3, 3)
            LayerSpec("relu3", "relu"),
            LayerSpec("flatten", "flatten"),  # (N, C3*9)
            LayerSpec("fc", "linear", (C3 * 3 * 3, 10)),
        ),
        feature_layer="relu3",
        feature_shape=(C3, 3, 3),
        head="flatten_linear",
    ),
    "mlp3": ArchSpec(
        name="mlp3",
        description="3 fully connected layers with ReLU, 784-256-256-10",
        layers=(
            LayerSpec("flatten", "flatten"),  # (N, 784)
            LayerSpec("fc1", "linear", (784, HIDDEN)),
            LayerSpec("relu1", "relu"),
            LayerSpec("fc2", "linear", (HIDDEN, HIDDEN)),
            LayerSpec("relu2", "relu"),
            LayerSpec("fc3", "linear", (HIDDEN, 10)),
        ),
    ),
}


def get_spec(name: str) -> ArchSpec:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(f"unknown model {name!r}; choose one of: {known}") from None
