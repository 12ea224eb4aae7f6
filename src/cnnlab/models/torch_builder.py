"""Build the PyTorch twin of an architecture from its spec (`cnnlab.models.spec`).

The twin is a `torch.nn.Sequential` with the same child names as the NumPy model, so both
`state_dict()`s have the same keys and shapes. Its initial weights are *copied from the NumPy
model built with the same seed*: the two engines start from identical weights, which is what makes
their training curves comparable step by step. Each layer is built by its kind's record
(`LayerKind.build_torch`, `cnnlab.models.layers`).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from cnnlab.models.layers import KINDS
from cnnlab.models.shapes import ShapedLayer, infer_shapes
from cnnlab.models.spec import ArchSpec


class TorchClassifier(nn.Sequential):
    """A `nn.Sequential` that also knows its spec (for CAM: which layer is the feature map)."""

    def __init__(self, spec: ArchSpec, layers: OrderedDict[str, nn.Module]):
        super().__init__(layers)
        self.spec = spec


def _make(layer: ShapedLayer) -> nn.Module:
    return KINDS[layer.spec.kind].build_torch(layer.kwargs)


def build(spec: ArchSpec, seed: int = 0) -> TorchClassifier:
    from cnnlab.models.scratch_builder import build as build_scratch

    layers = OrderedDict((layer.spec.name, _make(layer)) for layer in infer_shapes(spec))
    model = TorchClassifier(spec, layers)
    load_numpy_state(model, build_scratch(spec, seed).state_dict())
    return model


def load_numpy_state(model: nn.Module, state: dict[str, np.ndarray]) -> None:
    """Load a NumPy state dict (e.g. from the scratch engine) into a torch model, strictly:
    parameters and buffers (BatchNorm's running statistics and `num_batches_tracked`)."""
    model.load_state_dict(numpy_to_torch_state(state, like=model.state_dict()), strict=True)


def numpy_to_torch_state(
    state: dict[str, np.ndarray], like: dict[str, torch.Tensor] | None = None
) -> OrderedDict[str, torch.Tensor]:
    """NumPy arrays -> tensors (same names, same layout), in the dtype of `like` when given."""
    out = OrderedDict()
    for name, array in state.items():
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        if like is not None and name in like:
            tensor = tensor.to(like[name].dtype)
        out[name] = tensor
    return out


def torch_to_numpy_state(state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Tensors -> NumPy arrays (copies on the CPU), ready for the scratch engine or an `.npz`."""
    return {name: t.detach().cpu().numpy().copy() for name, t in state.items()}
