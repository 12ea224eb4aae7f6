"""The NumPy engine's side of the attribution methods: scores and gradients of one network
through its own forward and backward passes (`cnnlab.scratch`).

Every method in `cnnlab.explain` asks a network for three things only, so one definition of a
method serves both engines; `torch_net.TorchNetwork` answers the same three with autograd.
"""

from __future__ import annotations

import numpy as np

from cnnlab.explain.batches import in_pieces
from cnnlab.scratch.activation import ReLU


class ScratchNetwork:
    """A plain NumPy network (layers run as written) in float64 (or `dtype`), in eval mode,
    with the input gradient switched on: `build_model(spec, "scratch")` plus a state dict."""

    engine = "scratch"

    def __init__(self, model, dtype=np.float64) -> None:
        self.model, self.spec, self.dtype = model, model.spec, np.dtype(dtype)
        model.to(self.dtype)
        model.eval()
        for layer in model:
            layer.needs_input_grad = True  # the whole point: dScore/dImage

    @classmethod
    def from_state(cls, spec, state: dict[str, np.ndarray], dtype=np.float64) -> ScratchNetwork:
        from cnnlab.models import build_model

        model = build_model(spec, engine="scratch").to(dtype)  # the state keeps its digits
        model.load_state_dict(state)
        return cls(model, dtype)

    def randomised(self, state: dict[str, np.ndarray]) -> ScratchNetwork:
        """The same network, in the same precision, with the weights `state`."""
        return type(self).from_state(self.spec, state, self.dtype)

    def state(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Class scores (N, K) of a batch (N, C, H, W)."""
        return in_pieces(self._logits, x)

    def _logits(self, x: np.ndarray) -> np.ndarray:
        return self.model(np.asarray(x, dtype=self.dtype))

    def input_grad(self, x: np.ndarray, target, guided: bool = False):
        """(logits (N, K), dScore_target/dx (N, C, H, W)) for each image of the batch, `target`
        one class for all or one per image (N,); `guided`: every ReLU passes only positive
        gradients back (guided backpropagation)."""
        return in_pieces(lambda xs, ts: self._input_grad(xs, ts, guided), x, target)

    def _input_grad(self, x: np.ndarray, target, guided: bool):
        logits = self._logits(x)
        dy = _one_hot(logits, target)
        for _, layer in reversed(self.model.order):
            use_guided = guided and isinstance(layer, ReLU)
            dy = layer.guided_backward(dy) if use_guided else layer.backward(dy)
        self.model.zero_grad()
        return logits, dy

    def layer_grad(self, x: np.ndarray, target):
        """(logits (N, K), A (N, C, h, w), dScore_target/dA) at the spec's feature layer;
        `target` one class or one per image (N,)."""
        return in_pieces(self._layer_grad, x, target)

    def _layer_grad(self, x: np.ndarray, target):
        logits = self._logits(x)
        self.model.backward(_one_hot(logits, target))
        self.model.zero_grad()
        return logits, self.model.feature_map, self.model.feature_grad

    def head_weight(self) -> np.ndarray:
        """The last linear layer's weight (K, F), for CAM."""
        return self.model.state_dict()[f"{self.spec.layers[-1].name}.weight"]


def _one_hot(logits: np.ndarray, target) -> np.ndarray:
    """dScore/dlogits for the score of class `target` (one, or one per row (N,)): (N, K)."""
    dy = np.zeros_like(logits)
    dy[np.arange(len(logits)), target] = 1.0
    return dy
