"""Train the NumPy model and its PyTorch twin side by side and compare every step.

Both start from the same weights (same seed), see the same batches and the same learning rates;
if the NumPy engine is the same maths as PyTorch, the two loss columns agree to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.data import iterate_batches
from cnnlab.models.spec import ArchSpec
from cnnlab.training.engines import REFERENCE, SCRATCH, make_engine


@dataclass
class ParityResult:
    scratch_losses: np.ndarray  # (steps,)
    torch_losses: np.ndarray  # (steps,)
    max_weight_difference: float  # largest |w_scratch - w_torch| over all parameters at the end

    @property
    def max_relative_loss_difference(self) -> float:
        diff = np.abs(self.scratch_losses - self.torch_losses)
        return float((diff / np.abs(self.torch_losses)).max())


def run_parity(
    model: str | ArchSpec,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    steps: int,
    optimizer: str = "sgd",
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    batch_size: int = 64,
    seed: int = 0,
    dtype=np.float32,
) -> ParityResult:
    """`steps` training steps in both engines on batches drawn from (images, labels), for a
    built-in `model` or an `ArchSpec`. The weight difference covers BatchNorm's buffers too."""
    from cnnlab.models.torch_builder import torch_to_numpy_state

    kwargs = dict(
        seed=seed, optimizer=optimizer, lr=lr, momentum=momentum, weight_decay=weight_decay
    )
    scratch = make_engine(model, SCRATCH, dtype=dtype, **kwargs)
    twin = make_engine(model, REFERENCE, device="cpu", dtype=dtype, **kwargs)
    losses = np.zeros((2, steps))
    batches = _endless_batches(images, labels, batch_size, seed)
    for i in range(steps):
        x, y = next(batches)
        x = x.astype(dtype, copy=False)  # batches come as float32
        losses[0, i] = scratch.train_step(x, y)[0]
        losses[1, i] = twin.train_step(x, y)[0]
    torch_state = torch_to_numpy_state(twin.model.state_dict())
    max_diff = max(
        float(np.abs(w - torch_state[name]).max()) for name, w in scratch.model.state_dict().items()
    )
    return ParityResult(losses[0], losses[1], max_diff)


def _endless_batches(images, labels, batch_size, seed):
    epoch = 1
    while True:
        yield from iterate_batches(images, labels, batch_size, seed=seed, epoch=epoch)
        epoch += 1
