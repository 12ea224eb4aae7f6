"""`cnnlab parity`: the NumPy engine and PyTorch, step by step, on the same batches."""

from __future__ import annotations

import argparse

from cnnlab.commands._arch_option import ARCH_HELP, arch_spec
from cnnlab.models import ARCHITECTURES

NAME = "parity"
HELP = "train the NumPy model and its PyTorch twin side by side and print both losses"
ORDER = 30


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=sorted(ARCHITECTURES), default="cnn2")
    parser.add_argument("--arch", default=None, metavar="LAYERS|FILE", help=ARCH_HELP)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--float64", action="store_true", help="both engines in float64")
    parser.add_argument("--data-dir", default=None, help="MNIST directory (else $CNNLAB_DATA)")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cnnlab.data import load_mnist, normalize
    from cnnlab.training.engines import ENGINES, REFERENCE
    from cnnlab.training.parity import run_parity

    model = arch_spec(args.arch) if args.arch is not None else args.model
    ENGINES[REFERENCE].require()
    data = load_mnist(args.data_dir, progress=True)
    result = run_parity(
        model,
        normalize(data.train_images[:20000]),
        data.train_labels[:20000].astype(np.int64),
        steps=args.steps,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        batch_size=args.batch_size,
        seed=args.seed,
        dtype=np.float64 if args.float64 else np.float32,
    )
    print(f"{'step':>5}  {'numpy loss':>12}  {'pytorch loss':>12}  {'|difference|':>12}")
    for i, (a, b) in enumerate(zip(result.scratch_losses, result.torch_losses, strict=True)):
        print(f"{i + 1:>5}  {a:>12.8f}  {b:>12.8f}  {abs(a - b):>12.3e}")
    diffs = np.abs(result.scratch_losses - result.torch_losses)
    print(
        f"largest loss difference: {diffs.max():.3e} "
        f"(relative {result.max_relative_loss_difference:.3e}); "
        f"largest weight difference after {args.steps} steps: {result.max_weight_difference:.3e}"
    )
    return 0
