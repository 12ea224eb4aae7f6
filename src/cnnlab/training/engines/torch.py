"""The PyTorch engine: the twin of the NumPy model, trained by torch.optim."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from cnnlab.errors import UserError
from cnnlab.fileio import atomic_open
from cnnlab.models.spec import ArchSpec
from cnnlab.training.engines.base import CHECKPOINT_ERRORS, checkpoint_error, torch_threads
from cnnlab.training.rng_state import STATE_KEY, TorchRandom


class TorchEngine:
    """The PyTorch twin, on `device` (cpu, cuda or mps)."""

    name: ClassVar[str] = "torch"
    label: ClassVar[str] = "PyTorch"
    checkpoint_name: ClassVar[str] = "checkpoint.pt"
    libraries: ClassVar[tuple[str, ...]] = ("torch",)
    threads = staticmethod(torch_threads)

    @classmethod
    def require(cls) -> None:
        try:
            import torch  # noqa: F401
        except ImportError as err:
            raise UserError(
                "the PyTorch engine needs torch, which is not installed; "
                "install it with `pip install 'cnnlab[torch]'` (or `make install`)."
            ) from err  # the cause tells the test suite which extra is missing

    @classmethod
    def create(cls, spec: ArchSpec | str, *, seed=0, dtype=np.float32, device="cpu", **options):
        import torch

        from cnnlab.models import build_model

        cls.require()
        model = build_model(spec, engine=cls.name, seed=seed)
        model.to(torch.float64 if dtype == np.float64 else torch.float32)
        return cls(model, device=pick_device(device), seed=seed, **options)

    def __init__(
        self, model, optimizer="adam", lr=1e-3, momentum=0.9, weight_decay=0.0, device="cpu", seed=0
    ):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.random = TorchRandom(torch, seed, self.device)  # Dropout's masks, seeded and saved
        self.model = model.to(self.device)
        self.loss = torch.nn.CrossEntropyLoss()
        self._optimizer_settings = (optimizer, lr, momentum, weight_decay)
        self._optimizer = None
        self._saved_optimizer = None  # (state, checkpoint path) loaded before the optimizer exists

    @property
    def optimizer(self):
        """torch.optim's optimizer, built when training first needs it: building one imports
        torch._dynamo (1.4 s here), which evaluating, explaining and the lab never use. The
        state a checkpoint holds for it is loaded into it then (a bad one is refused then, as
        `load` refused it before: one sentence naming the checkpoint)."""
        if self._optimizer is None:
            name, lr, momentum, weight_decay = self._optimizer_settings
            params = self.model.parameters()
            if name == "sgd":
                optimizer = self.torch.optim.SGD(
                    params, lr=lr, momentum=momentum, weight_decay=weight_decay
                )
            else:
                optimizer = self.torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
            if self._saved_optimizer is not None:
                state, path = self._saved_optimizer
                try:
                    optimizer.load_state_dict(state)
                except CHECKPOINT_ERRORS as err:
                    raise checkpoint_error(path, err) from None
            self._optimizer, self._saved_optimizer = optimizer, None
        return self._optimizer

    def _tensor(self, a: np.ndarray):
        return self.torch.from_numpy(a).to(self.device, non_blocking=True)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        self.model.train()
        xt, yt = self._tensor(x), self._tensor(y)
        with self.random.active():
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
            "position": json.dumps(position | {STATE_KEY: self.random.state_dict()}),
        }
        with atomic_open(path, "wb") as f:
            self.torch.save(state, f)

    def load(self, path: Path) -> dict[str, Any]:
        try:
            with warnings.catch_warnings():  # a foreign pickle's protocol warning: noise
                warnings.simplefilter("ignore")
                state = self.torch.load(path, map_location=self.device, weights_only=True)
        except Exception as err:  # any failure to read it, see below
            # Whatever the bytes provoke in torch's unpickler (IndexError, struct.error, ...
            # for random bytes, found by the reliability tests) means one thing: the file is
            # not a checkpoint this engine can use.
            raise checkpoint_error(path, err) from None
        try:
            self.model.load_state_dict(state["model"], strict=True)
            if "optimizer" in state:  # loaded into a new optimizer when training needs one
                self._optimizer, self._saved_optimizer = None, (state["optimizer"], path)
            position = json.loads(state.get("position", "{}"))
            self.random.load_state_dict(position.pop(STATE_KEY, {}))
            return position
        except CHECKPOINT_ERRORS as err:
            raise checkpoint_error(path, err) from None


def pick_device(requested: str) -> str:
    """`auto` -> the first accelerator present (cuda, then mps), else cpu; an accelerator asked
    for by name and absent is a UserError naming the devices there are."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    present = {"cuda": torch.cuda.is_available(), "mps": mps is not None and mps.is_available()}
    if requested == "auto":
        return next((name for name, here in present.items() if here), "cpu")
    if requested in present and not present[requested]:
        available = ", ".join(["cpu", *(name for name, here in present.items() if here)])
        raise UserError(
            f"--device {requested} was asked for, but PyTorch sees no {requested.upper()} device "
            f"here; available: {available} (or use --device auto)."
        )
    return requested
