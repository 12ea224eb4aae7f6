"""`cnnlab parity`: the NumPy engine and PyTorch, step by step, on the same batches."""

from __future__ import annotations

import argparse

from cnnlab.commands.arch_options import ARCH_HELP, arch_spec
from cnnlab.commands.checks import model_name, momentum, positive_number, whole_number
from cnnlab.commands.options import OPTIMIZER_HELP, add_data_dir, add_dataset
from cnnlab.models import MODEL_NAMES
from cnnlab.training.engines import OPTIMIZERS

NAME = "parity"
HELP = "train the NumPy model and its PyTorch twin side by side and print both losses"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", type=model_name, default="cnn2", help=f"one of {', '.join(MODEL_NAMES)}"
    )
    parser.add_argument("--arch", default=None, metavar="LAYERS|FILE", help=ARCH_HELP)
    parser.add_argument(
        "--steps", type=whole_number(1), default=100, help="training steps in each engine"
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help=OPTIMIZER_HELP)
    parser.add_argument("--lr", type=positive_number, default=0.01, help="learning rate")
    parser.add_argument("--momentum", type=momentum, default=0.9, help="SGD only")
    parser.add_argument("--batch-size", type=whole_number(1), default=64, help="images per step")
    parser.add_argument("--seed", type=whole_number(0), default=0, help="weights and batch order")
    parser.add_argument("--float64", action="store_true", help="both engines in float64")
    add_dataset(parser)
    add_data_dir(parser)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cnnlab.data import normalize
    from cnnlab.data.source import (
        check_fits,
        folder_options,
        image_shape,
        load_dataset,
        training_statistics,
    )
    from cnnlab.models import resolve_spec
    from cnnlab.text import count_noun, text_table
    from cnnlab.training.engines import ENGINES, REFERENCE
    from cnnlab.training.parity import run_parity

    data = load_dataset(args.dataset, args.data_dir, progress=True, folder=folder_options(args))
    shape, classes = image_shape(data), len(data.dataset.class_names)
    if args.arch is not None:
        model = arch_spec(args.arch, None, shape, classes)
    else:
        model = resolve_spec(args.model, None, shape, classes)
    check_fits(model, classes, args.dataset)
    ENGINES[REFERENCE].require()
    images = data.train_images[:20000]
    result = run_parity(
        model,
        normalize(images, *training_statistics(data, images)),
        data.train_labels[:20000].astype(np.int64),
        steps=args.steps,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        batch_size=args.batch_size,
        seed=args.seed,
        dtype=np.float64 if args.float64 else np.float32,
    )
    rows = [
        [i + 1, f"{a:.8f}", f"{b:.8f}", f"{abs(a - b):.3e}"]
        for i, (a, b) in enumerate(zip(result.scratch_losses, result.torch_losses, strict=True))
    ]
    print(text_table(["step", "numpy loss", "pytorch loss", "|difference|"], rows, "rrrr"))
    diffs = np.abs(result.scratch_losses - result.torch_losses)
    print(
        f"largest loss difference: {diffs.max():.3e} "
        f"(relative {result.max_relative_loss_difference:.3e}); largest weight difference "
        f"after {count_noun(args.steps, 'step')}: {result.max_weight_difference:.3e}"
    )
    return 0
