"""The NumPy engine: its own forward, backward and optimizer step (`cnnlab.scratch`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from cnnlab.models.spec import ArchSpec
from cnnlab.training.checkpoint import load_npz, save_npz
from cnnlab.training.engines.base import CHECKPOINT_ERRORS, blas_threads, checkpoint_error
from cnnlab.training.rng_state import STATE_KEY, generator_states, restore_generator_states


class ScratchEngine:
    name: ClassVar[str] = "scratch"
    label: ClassVar[str] = "NumPy"
    checkpoint_name: ClassVar[str] = "checkpoint.npz"
    libraries: ClassVar[tuple[str, ...]] = ("numpy",)
    device = "cpu"
    threads = staticmethod(blas_threads)

    @classmethod
    def require(cls) -> None:
        """NumPy is always there."""

    @classmethod
    def create(
        cls, spec: ArchSpec | str, *, seed=0, dtype=np.float32, plain=False, **options
    ) -> ScratchEngine:
        """`plain=True`: the network as written and the README's step, without the speed-ups."""
        from cnnlab.models import build_model

        model = build_model(spec, engine=cls.name, seed=seed)
        if not plain:
            model.speed_up()  # the engine's exact rewrites, in one step (`cnnlab.scratch.speed`)
        model.to(dtype)
        options.pop("device", None)  # the NumPy engine runs on the CPU
        return cls(model, plain=plain, **options)

    def __init__(
        self, model, optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0, plain=False
    ) -> None:
        from cnnlab import scratch
        from cnnlab.training.parallel import DataParallel

        self.model, self.plain = model, plain
        # Training steps and inference batches of a CNN run on every core the BLAS may use
        # (see `DataParallel`); an MLP is all matrix products, which the BLAS threads already,
        # so it runs in one piece. CAM's single-image passes use the model itself.
        has_conv = any(isinstance(m, scratch.Conv2d) for m in model.modules())
        self.parallel = DataParallel(model, workers=None if has_conv and not plain else 1)
        self.loss = scratch.CrossEntropyLoss()
        params = list(model.parameters())
        if optimizer == "sgd":
            self.optimizer = scratch.SGD(
                params, lr=lr, momentum=momentum, weight_decay=weight_decay
            )
        else:
            self.optimizer = scratch.Adam(params, lr=lr, weight_decay=weight_decay)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        if self.plain:
            return self.plain_step(x, y)
        self.parallel.train()
        # A diverging run overflows somewhere; the loop stops it with one clear sentence when
        # the loss is no longer finite, so NumPy's per-operation warnings would only bury that.
        with np.errstate(over="ignore", invalid="ignore"):
            self.optimizer.zero_grad()
            # forward, loss and backward of each chunk in one go: the same numbers as
            # `parallel(x)`, `loss.forward`, `loss.backward`, `parallel.backward`, one thread
            # hand-over fewer (see `DataParallel.train_chunks`)
            logits, losses = self.parallel.train_chunks(
                x, lambda out, lo, hi: self._loss_head(out, y[lo:hi], len(y))
            )
            loss = np.concatenate(losses).mean()
            self.optimizer.step()
        return float(loss), int((logits.argmax(axis=1) == y).sum())

    def plain_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """The README's training step, one line each: the numbers `train_step` computes faster
        (up to the order of float32 sums, see `cnnlab.scratch.speed` and `DataParallel`)."""
        self.model.train()
        with np.errstate(over="ignore", invalid="ignore"):  # see `train_step`
            self.optimizer.zero_grad()
            logits = self.model(x)  # (B, 10)
            loss = self.loss.forward(logits, y)
            self.model.backward(self.loss.backward())
            self.optimizer.step()
        return loss, int((logits.argmax(axis=1) == y).sum())

    def _loss_head(self, logits: np.ndarray, y: np.ndarray, batch: int):
        losses, dlogits = self.loss.losses_and_grad(logits, y, batch)
        return dlogits, losses

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
        position = position | {STATE_KEY: generator_states(self.model)}  # Dropout's generator
        save_npz(path, self.model.state_dict(), self.optimizer.state_dict(), position)

    def load(self, path: Path) -> dict[str, Any]:
        try:
            model, optimizer, position = load_npz(path)
            self.model.load_state_dict(model)
            if optimizer:
                self.optimizer.load_state_dict(optimizer)
            restore_generator_states(self.model, position.pop(STATE_KEY, {}))
            return position
        except CHECKPOINT_ERRORS as err:
            raise checkpoint_error(path, err) from None
