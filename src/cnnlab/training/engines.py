"""Engine adapters: the few verbs the training loop needs, for each engine.

The loop in `cnnlab.training.loop` only calls `train_step`, `logits`, `set_lr`, `save` and
`load`, so it reads the same whichever engine does the maths. Batches arrive as NumPy arrays:
float32 images (B, 1, 28, 28) and int64 labels (B,).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cnnlab.errors import UserError
from cnnlab.fileio import atomic_open
from cnnlab.training.checkpoint import load_npz, save_npz

OPTIMIZERS = ("sgd", "adam")


class Engine(Protocol):
    name: str
    checkpoint_name: str

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]: ...
    def logits(self, x: np.ndarray) -> np.ndarray: ...
    def set_lr(self, lr: float) -> None: ...
    def feature_map_and_grad(self, x: np.ndarray, target: int | None) -> tuple: ...
    def head_parameters(self) -> tuple[np.ndarray, np.ndarray]: ...
    def save(self, path: Path, position: dict[str, Any]) -> None: ...
    def load(self, path: Path) -> dict[str, Any]: ...


def _checkpoint_error(path: Path, err: Exception) -> UserError:
    return UserError(f"the checkpoint {path} cannot be used: {err}")


class ScratchEngine:
    """The NumPy engine: its own forward, backward and optimizer step."""

    name = "scratch"
    checkpoint_name = "checkpoint.npz"

    def __init__(self, model, optimizer: str, lr: float, momentum: float, weight_decay: float):
        from cnnlab import scratch

        self.model = model
        # Training steps and inference batches of a CNN run on every core the BLAS may use
        # (see `scratch.DataParallel`); an MLP is all matrix products, which the BLAS threads
        # already, so it runs in one piece. CAM's single-image passes use the model itself.
        has_conv = any(isinstance(m, scratch.Conv2d) for m in model.modules())
        self.parallel = scratch.DataParallel(model, workers=None if has_conv else 1)
        self.loss = scratch.CrossEntropyLoss()
        params = list(model.parameters())
        if optimizer == "sgd":
            self.optimizer = scratch.SGD(
                params, lr=lr, momentum=momentum, weight_decay=weight_decay
            )
        else:
            self.optimizer = scratch.Adam(params, lr=lr, weight_decay=weight_decay)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        self.parallel.train()
        # A diverging run overflows somewhere; the loop stops it with one clear sentence when
        # the loss is no longer finite, so NumPy's per-operation warnings would only bury that.
        with np.errstate(over="ignore", invalid="ignore"):
            logits = self.parallel(x)  # (B, 10)
            loss = self.loss.forward(logits, y)
            self.optimizer.zero_grad()
            self.parallel.backward(self.loss.backward())
            self.optimizer.step()
        return float(loss), int((logits.argmax(axis=1) == y).sum())

    def logits(self, x: np.ndarray) -> np.ndarray:
        self.parallel.eval()
        return self.parallel(x)

    def set_lr(self, lr: float) -> None:
        self.optimizer.lr = lr

    def feature_map_and_grad(self, x: np.ndarray, target: int | None):
        """For one image (1, 1, 28, 28): logits (10,), A (C, H, W), dS_target/dA, target."""
        self.model.eval()
        logits = self.model(x)  # (1, 10)
        target = int(logits[0].argmax()) if target is None else target
        dlogits = np.zeros_like(logits)
        dlogits[0, target] = 1.0  # backpropagate the class score itself, not a loss
        self.model.backward(dlogits)
        feature_map, feature_grad = self.model.feature_map[0], self.model.feature_grad[0]
        self.model.zero_grad()
        return logits[0].astype(np.float64), feature_map, feature_grad, target

    def head_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        head = self.model.spec.layers[-1].name
        state = self.model.state_dict()
        return state[f"{head}.weight"], state[f"{head}.bias"]

    def save(self, path: Path, position: dict[str, Any]) -> None:
        save_npz(path, self.model.state_dict(), self.optimizer.state_dict(), position)

    def load(self, path: Path) -> dict[str, Any]:
        try:
            model, optimizer, position = load_npz(path)
            self.model.load_state_dict(model)
            if optimizer:
                self.optimizer.load_state_dict(optimizer)
            return position
        except (OSError, ValueError, KeyError) as err:
            raise _checkpoint_error(path, err) from None


class TorchEngine:
    """The PyTorch twin, on `device` (cpu, cuda or mps)."""

    name = "torch"
    checkpoint_name = "checkpoint.pt"

    def __init__(
        self, model, optimizer: str, lr: float, momentum: float, weight_decay: float, device="cpu"
    ):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.loss = torch.nn.CrossEntropyLoss()
        params = self.model.parameters()
        if optimizer == "sgd":
            self.optimizer = torch.optim.SGD(
                params, lr=lr, momentum=momentum, weight_decay=weight_decay
            )
        else:
            self.optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)

    def _tensor(self, a: np.ndarray):
        return self.torch.from_numpy(a).to(self.device, non_blocking=True)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        self.model.train()
        xt, yt = self._tensor(x), self._tensor(y)
        logits = self.model(xt)
        loss = self.loss(logits, yt)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.item()), int((logits.argmax(dim=1) == yt).sum().item())

    def logits(self, x: np.ndarray) -> np.ndarray:
        self.model.eval()
        with self.torch.inference_mode():
            return self.model(self._tensor(x)).cpu().numpy()

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def feature_map_and_grad(self, x: np.ndarray, target: int | None):
        """For one image (1, 1, 28, 28): logits (10,), A (C, H, W), dS_target/dA, target."""
        torch = self.torch
        layer = getattr(self.model, self.model.spec.feature_layer)
        captured = {}
        hook = layer.register_forward_hook(lambda module, inp, out: captured.update(a=out))
        self.model.eval()
        try:
            with torch.enable_grad():
                logits = self.model(self._tensor(x))  # (1, 10)
        finally:
            hook.remove()
        target = int(logits[0].argmax()) if target is None else target
        (grad,) = torch.autograd.grad(logits[0, target], captured["a"])
        return (
            logits[0].detach().cpu().double().numpy(),
            captured["a"][0].detach().cpu().numpy(),
            grad[0].detach().cpu().numpy(),
            target,
        )

    def head_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        head = getattr(self.model, self.model.spec.layers[-1].name)
        return head.weight.detach().cpu().numpy(), head.bias.detach().cpu().numpy()

    def save(self, path: Path, position: dict[str, Any]) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "position": json.dumps(position),
        }
        with atomic_open(path, "wb") as f:
            self.torch.save(state, f)

    def load(self, path: Path) -> dict[str, Any]:
        try:
            state = self.torch.load(path, map_location=self.device, weights_only=True)
            self.model.load_state_dict(state["model"], strict=True)
            if "optimizer" in state:
                self.optimizer.load_state_dict(state["optimizer"])
            return json.loads(state.get("position", "{}"))
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as err:
            raise _checkpoint_error(path, err) from None


def pick_device(requested: str) -> str:
    """`auto` -> the first accelerator present (cuda, then mps), else cpu."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but PyTorch sees no CUDA device here.")
    return requested


def make_engine(
    model_name: str,
    engine: str,
    *,
    seed: int = 0,
    optimizer: str = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    device: str = "cpu",
    dtype=np.float32,
) -> Engine:
    """Build the model `model_name` in `engine` and wrap it with its optimizer.

    `dtype` float64 is for the parity checks; training runs in float32.
    """
    from cnnlab.models import build_model

    if engine == "torch":
        require_torch()
        import torch

        model = build_model(model_name, engine="torch", seed=seed)
        model.to(torch.float64 if dtype == np.float64 else torch.float32)
        return TorchEngine(model, optimizer, lr, momentum, weight_decay, device=device)
    if engine == "scratch":
        model = build_model(model_name, engine="scratch", seed=seed)
        model.to(dtype)
        return ScratchEngine(model, optimizer, lr, momentum, weight_decay)
    if engine == "keras":
        from cnnlab.training.keras_engine import KerasEngine, require_keras

        require_keras()
        model = build_model(model_name, engine="keras", seed=seed)
        return KerasEngine(model, optimizer, lr, momentum, weight_decay, dtype=dtype)
    raise UserError(f"unknown engine {engine!r}; choose scratch, torch or keras.")


def require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UserError(
            "the PyTorch engine needs torch, which is not installed; "
            "install it with `pip install 'cnnlab[torch]'` (or `make install`)."
        ) from None
