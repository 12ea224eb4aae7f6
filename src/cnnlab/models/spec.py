"""What an architecture is: layers in PyTorch's vocabulary (the built-in ones are architecture
strings in `cnnlab.models.presets`, turned into specs by `cnnlab.models.arch_spec`).

Every engine builds its network from these descriptions (`cnnlab.models.build_model`), so the
NumPy, PyTorch and Keras twins have the same layers, the same child names and therefore the same
`state_dict` keys (`conv1.weight`, `fc.bias`, ...). A layer is a PyTorch class name and its
keyword arguments *without* the input size: `in_channels` and `in_features` follow from the
layers before it and are filled in by `cnnlab.models.shapes.infer_shapes`. A new built-in
architecture is one new preset string.

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
    source: str | None = None  # the canonical architecture string it was built from
    input_shape: tuple[int, ...] = (1, 28, 28)  # (C, H, W) of one image: the data set's
