"""Bounds before allocation: a network too big to train here is refused from its inferred
shapes, with one sentence giving the figure, before any weight or batch is allocated.

The limits (`--allow-big` lifts both):
- parameters: at most 100 million (400 MB of float32 weights; Adam keeps two more copies);
- activations: the outputs of every layer for one training batch, in float32, at most 2 GiB
  (backward keeps about as much again in gradients).
Inference runs in batches that stay under the same activation budget (`inference_batch`).
"""

from __future__ import annotations

import math

from cnnlab.errors import UserError
from cnnlab.models.shapes import infer_shapes
from cnnlab.models.spec import ArchSpec

MAX_PARAMETERS = 100_000_000
MAX_ACTIVATION_BYTES = 2 * 2**30
FLOAT32 = 4  # bytes


def activation_bytes_per_image(spec: ArchSpec) -> int:
    """Bytes of every layer's float32 output for one image (the input included)."""
    shaped = infer_shapes(spec)
    elements = math.prod(shaped[0].in_shape) + sum(math.prod(s.out_shape) for s in shaped)
    return elements * FLOAT32


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


def check_size(spec: ArchSpec, batch_size: int, allow_big: bool = False) -> None:
    """A UserError when `spec` has more parameters, or a training batch of `batch_size` more
    activation memory, than the module's limits (unless `allow_big`)."""
    if allow_big:
        return
    parameters = sum(s.parameters for s in infer_shapes(spec))
    if parameters > MAX_PARAMETERS:
        raise UserError(
            f"{spec.name} has {parameters:,} parameters ({_gib(parameters * FLOAT32)} of float32 "
            f"weights), more than the limit of {MAX_PARAMETERS:,}; choose a smaller network, or "
            "add --allow-big to try anyway."
        )
    per_image = activation_bytes_per_image(spec)
    if per_image * batch_size > MAX_ACTIVATION_BYTES:
        raise UserError(
            f"{spec.name} needs about {_gib(per_image * batch_size)} of activations for a batch "
            f"of {batch_size} images ({_gib(per_image)} per image), more than the limit of "
            f"{_gib(MAX_ACTIVATION_BYTES)}; lower --batch-size, choose a smaller network, or add "
            "--allow-big to try anyway."
        )


def inference_batch(spec: ArchSpec, wanted: int) -> int:
    """`wanted` images per inference batch, fewer when their activations pass the budget."""
    return max(1, min(wanted, MAX_ACTIVATION_BYTES // activation_bytes_per_image(spec)))
