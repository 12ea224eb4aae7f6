"""SGD and Adam with PyTorch's update formulas, over a list of `Parameter`s.

An optimizer only walks (param, grad) pairs; its per-parameter state lives in lists aligned with
`params` (tinygrad's way). Given the same gradients, the weights follow `torch.optim.SGD` /
`torch.optim.Adam` step for step. `lr` is a plain attribute a scheduler may change between steps.

`state_dict()` is flat and holds only ndarrays (`"lr"`, `"step"`, `"exp_avg.0"`, ...), so it goes
into an `.npz` with allow_pickle=False.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from cnnlab.scratch.parameter import Parameter


class Optimizer:
    """What SGD and Adam share: the parameter list, `lr`, `zero_grad` and the state dict."""

    # Names of the per-parameter state lists (attributes of the same name), and whether a
    # loaded state dict must hold them (Adam's moments do; SGD's momentum buffers appear lazily).
    buffer_names: tuple[str, ...] = ()
    buffers_required = False

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got an empty parameter list")
        if lr < 0:
            raise ValueError(f"learning rate must be >= 0, got {lr}")
        self.lr = lr

    def step(self) -> None:
        raise NotImplementedError

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad.fill(0)

    def _scalar_state(self) -> dict[str, np.ndarray]:
        return {"lr": np.array(self.lr, dtype=np.float64)}

    def _load_scalar_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.lr = float(state["lr"])

    def state_dict(self) -> dict[str, np.ndarray]:
        state = self._scalar_state()
        for name in self.buffer_names:
            for i, buf in enumerate(getattr(self, name)):
                if buf is not None:
                    state[f"{name}.{i}"] = buf.copy()
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore a `state_dict()`; keys and shapes must match this optimizer's parameters."""
        expected = {key: () for key in self._scalar_state()}
        for name in self.buffer_names:
            expected |= {f"{name}.{i}": p.shape for i, p in enumerate(self.params)}
        for key in state:
            if key not in expected:
                raise ValueError(f"optimizer state has unexpected key {key!r}")
            if tuple(np.shape(state[key])) != expected[key]:
                raise ValueError(
                    f"optimizer state key {key!r} has shape {tuple(np.shape(state[key]))}, "
                    f"the parameters need shape {expected[key]}"
                )
        for key in expected:
            buffer = "." in key
            if key not in state and (not buffer or self.buffers_required):
                raise ValueError(f"optimizer state is missing key {key!r}")
        self._load_scalar_state(state)
        for name in self.buffer_names:
            buffers = getattr(self, name)
            for i, param in enumerate(self.params):
                key = f"{name}.{i}"
                buffers[i] = np.array(state[key], dtype=param.dtype) if key in state else None


class SGD(Optimizer):
    """`torch.optim.SGD(params, lr, momentum, weight_decay, nesterov)`, dampening 0:

    g = grad + weight_decay * p
    buf = g on the first step, then momentum * buf + g
    g = g + momentum * buf (nesterov) or buf (momentum) or g (plain)
    p -= lr * g
    """

    buffer_names = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum requires a momentum > 0")
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.momentum_buffer: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        for i, param in enumerate(self.params):
            grad = param.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * param.data
            if self.momentum:
                buf = self.momentum_buffer[i]
                if buf is None:
                    buf = self.momentum_buffer[i] = grad.copy()
                else:
                    buf *= self.momentum
                    buf += grad
                grad = grad + self.momentum * buf if self.nesterov else buf
            param.data -= self.lr * grad


class Adam(Optimizer):
    """`torch.optim.Adam(params, lr, betas, eps, weight_decay)` (L2 decay, not AdamW):

    g = grad + weight_decay * p
    m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
    p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    buffer_names = ("exp_avg", "exp_avg_sq")
    buffers_required = True

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.step_count = 0
        self.exp_avg = [np.zeros_like(p.data) for p in self.params]
        self.exp_avg_sq = [np.zeros_like(p.data) for p in self.params]
        self._scratch: list[np.ndarray | None] = [None] * len(self.params)  # see `_buffer`

    def _scalar_state(self) -> dict[str, np.ndarray]:
        return super()._scalar_state() | {"step": np.array(self.step_count, dtype=np.int64)}

    def _load_scalar_state(self, state: Mapping[str, np.ndarray]) -> None:
        super()._load_scalar_state(state)
        self.step_count = int(state["step"])

    def step(self) -> None:
        beta1, beta2 = self.betas
        self.step_count += 1
        step_size = self.lr / (1 - beta1**self.step_count)
        bias_correction2_sqrt = math.sqrt(1 - beta2**self.step_count)
        for i, (param, m, v) in enumerate(
            zip(self.params, self.exp_avg, self.exp_avg_sq, strict=True)
        ):
            grad = param.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * param.data
            buf = self._buffer(i)  # every intermediate goes here: no new arrays per step
            m *= beta1
            m += np.multiply(grad, 1 - beta1, out=buf)
            v *= beta2
            np.multiply(grad, 1 - beta2, out=buf)
            v += np.multiply(buf, grad, out=buf)
            denom = np.sqrt(v, out=buf)
            denom /= bias_correction2_sqrt
            denom += self.eps
            update = np.divide(m, denom, out=buf)  # m / denom, then the step size, as PyTorch
            update *= step_size
            param.data -= update

    def _buffer(self, i: int) -> np.ndarray:
        """A scratch array shaped and typed like parameter i (made again after a cast)."""
        data = self.params[i].data
        if self._scratch[i] is None or self._scratch[i].dtype != data.dtype:
            self._scratch[i] = np.empty_like(data)
        return self._scratch[i]
