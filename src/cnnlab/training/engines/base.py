"""What every engine is: the few verbs the training loop needs (`Trainable`), what the analyses
need of a trained network (`Inspectable`), and how an engine is set up (`Engine`).

The loop in `cnnlab.training.loop` only calls `train_step`, `logits`, `set_lr`, `save` and
`load`, so it reads the same whichever engine does the maths. CAM and Grad-CAM
(`cnnlab.analysis.cam`) only call `feature_map_and_grad` and `head_parameters`; an attribution
method that needs more of a network (input gradients, a guided backward pass, per-layer
relevance) adds its verb to `Inspectable`, not to what training needs. Batches arrive as NumPy
arrays: float32 images (B, 1, 28, 28) and int64 labels (B,). Each engine class also says what it
needs (`require`), how many threads it may use (`threads`), and how its model is built
(`create`).
"""

from __future__ import annotations

import contextlib
import pickle
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from cnnlab.errors import UserError
from cnnlab.models.spec import ArchSpec

OPTIMIZERS = ("sgd", "adam")


class Trainable(Protocol):
    """What the training loop calls."""

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]: ...
    def logits(self, x: np.ndarray) -> np.ndarray: ...
    def set_lr(self, lr: float) -> None: ...
    def save(self, path: Path, position: dict[str, Any]) -> None: ...
    def load(self, path: Path) -> dict[str, Any]: ...


class Inspectable(Protocol):
    """What the analyses of a trained network call (CAM and Grad-CAM)."""

    def feature_map_and_grad(self, x: np.ndarray, target: int | None) -> tuple: ...
    def head_parameters(self) -> tuple[np.ndarray, np.ndarray]: ...


class Engine(Trainable, Inspectable, Protocol):
    name: ClassVar[str]  # "scratch", "torch", "keras": the --engine choice
    label: ClassVar[str]  # how reports name it: "NumPy", "PyTorch", "Keras"
    checkpoint_name: ClassVar[str]  # the file in a run directory
    libraries: ClassVar[tuple[str, ...]]  # the packages it computes with, for version records

    @classmethod
    def require(cls) -> None:
        """Raise a one-sentence UserError when the engine's library is not installed."""

    @classmethod
    def threads(cls, n: int) -> contextlib.AbstractContextManager[None]:
        """Use `n` threads inside; restore what was in force before on the way out."""

    @classmethod
    def create(cls, spec: ArchSpec | str, **options: Any) -> Engine:
        """The network of `spec` (or of a built-in model's name), built and wrapped with its
        optimizer (see `make_engine`)."""


# What loading a damaged checkpoint raises: a cut-short or empty file (BadZipFile, EOFError),
# random bytes or a pickle where the weights belong (UnpicklingError), or one of the engines'
# own complaints about shapes and names (ValueError, KeyError, RuntimeError).
CHECKPOINT_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    TypeError,
    RuntimeError,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
)


def checkpoint_error(path: Path, err: Exception) -> UserError:
    """The one sentence for a checkpoint file an engine cannot use. Library messages about
    unpickling are replaced: they suggest `allow_pickle`/`weights_only=False`, which would run
    whatever code a hostile file holds."""
    detail = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if (
        isinstance(err, (EOFError, zipfile.BadZipFile, pickle.UnpicklingError))
        or "pickle" in detail.lower()
        or not detail
    ):
        detail = "the file is empty, cut short or not a cnnlab checkpoint"
    if len(detail) > 200:
        detail = detail[:200] + "..."
    return UserError(
        f"the checkpoint {path} cannot be used ({detail}); retrain the run "
        "(cnnlab train --force) or restore the file."
    )


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """`n` threads for NumPy's BLAS (threadpoolctl), restored afterwards."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """`n` threads for PyTorch and for NumPy's BLAS (the batches are NumPy), both restored."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with blas_threads(n):
            yield
    finally:
        torch.set_num_threads(previous)
