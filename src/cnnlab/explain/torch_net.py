"""PyTorch's side of the attribution methods: the same three questions as
`scratch_net.ScratchNetwork` (scores, input gradient, feature-layer gradient), by autograd."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cnnlab.explain.batches import in_pieces

_TORCH_DTYPES = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}


class TorchNetwork:
    """A `TorchClassifier` in float64 (or `dtype`, a NumPy dtype) and eval mode, on the CPU."""

    engine = "torch"

    def __init__(self, model, dtype=np.float64) -> None:
        self.dtype = np.dtype(dtype)
        self._torch_dtype = _TORCH_DTYPES[self.dtype]
        self.model, self.spec = model.to(self._torch_dtype).cpu().eval(), model.spec

    @classmethod
    def from_state(cls, spec, state: dict[str, np.ndarray], dtype=np.float64) -> TorchNetwork:
        from cnnlab.models import build_model
        from cnnlab.models.torch_builder import load_numpy_state

        model = build_model(spec, engine="torch").double()  # the state keeps its digits
        load_numpy_state(model, state)
        return cls(model, dtype)

    def randomised(self, state: dict[str, np.ndarray]) -> TorchNetwork:
        """The same network, in the same precision, with the weights `state`."""
        return type(self).from_state(self.spec, state, self.dtype)

    def state(self) -> dict[str, np.ndarray]:
        from cnnlab.models.torch_builder import torch_to_numpy_state

        return torch_to_numpy_state(self.model.state_dict())

    def logits(self, x: np.ndarray) -> np.ndarray:
        return in_pieces(self._logits, x)

    def _logits(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.model(self._tensor(x)).numpy()

    def input_grad(self, x: np.ndarray, target, guided: bool = False):
        """(logits (N, K), dScore_target/dx (N, C, H, W)), `target` one class or one per image
        (N,); `guided`: each `nn.ReLU`'s input
        gradient is passed through a ReLU as well (a backward hook, Captum's way)."""
        return in_pieces(lambda xs, ts: self._input_grad(xs, ts, guided), x, target)

    def _input_grad(self, x: np.ndarray, target, guided: bool):
        hooks = [
            m.register_full_backward_hook(lambda _m, grad_in, _out: (grad_in[0].clamp(min=0),))
            for m in self.model.modules()
            if guided and isinstance(m, nn.ReLU)
        ]
        try:
            inputs = self._tensor(x).requires_grad_(True)
            with torch.enable_grad():
                logits = self.model(inputs)
                (grad,) = torch.autograd.grad(_scores(logits, target).sum(), inputs)
        finally:
            for hook in hooks:
                hook.remove()
        return logits.detach().numpy(), grad.numpy()

    def layer_grad(self, x: np.ndarray, target):
        """(logits (N, K), A (N, C, h, w), dScore_target/dA) at the spec's feature layer;
        `target` one class or one per image (N,)."""
        return in_pieces(self._layer_grad, x, target)

    def _layer_grad(self, x: np.ndarray, target):
        captured = {}
        layer = getattr(self.model, self.spec.feature_layer)
        hook = layer.register_forward_hook(lambda _m, _in, out: captured.update(a=out))
        try:
            with torch.enable_grad():
                logits = self.model(self._tensor(x))
        finally:
            hook.remove()
        (grad,) = torch.autograd.grad(_scores(logits, target).sum(), captured["a"])
        return logits.detach().numpy(), captured["a"].detach().numpy(), grad.numpy()

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x, dtype=self.dtype))

    def head_weight(self) -> np.ndarray:
        return getattr(self.model, self.spec.layers[-1].name).weight.detach().numpy()


def _scores(logits: torch.Tensor, target) -> torch.Tensor:
    """Each row's score of its class: `target` one class or one per row (N,)."""
    rows = torch.arange(len(logits))
    return logits[rows, torch.as_tensor(np.broadcast_to(target, len(logits)).copy())]
