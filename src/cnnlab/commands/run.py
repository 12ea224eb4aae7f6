"""`cnnlab run`: the whole comparison — train, evaluate, CAM, report — in one command."""

from __future__ import annotations

import argparse
import sys

from cnnlab.commands.arch_options import ARCH_ROW_HELP, named_archs
from cnnlab.commands.checks import engine_list, model_list, whole_number
from cnnlab.commands.options import add_data_dir, add_dataset, add_epochs, add_quiet, add_threads

NAME = "run"
HELP = "reproduce the whole five-network comparison (plus mlp3 in NumPy) and build the report"


def configure(parser: argparse.ArgumentParser) -> None:
    from cnnlab.pipeline import ENGINES, MODELS

    parser.add_argument("--quick", action="store_true", help="smoke profile: 3,000 images, 1 epoch")
    parser.add_argument(
        "--out", default=None, help="output folder (default: runs, or runs/quick with --quick)"
    )
    add_epochs(parser)
    parser.add_argument("--models", type=model_list, default=MODELS, help="comma-separated")
    parser.add_argument(
        "--arch", action="append", default=[], metavar='NAME="LAYERS"', help=ARCH_ROW_HELP
    )
    parser.add_argument(
        "--engines",
        type=engine_list,
        default=ENGINES,
        help="comma-separated, from scratch, torch, keras",
    )
    parser.add_argument("--force", action="store_true", help="retrain finished runs too")
    parser.add_argument("--open", action="store_true", help="open the report in a browser")
    add_threads(parser)
    add_dataset(parser)
    add_data_dir(parser)
    add_quiet(parser, help="no per-epoch progress bars")
    _add_seeds_and_sizes(parser)
    parser.add_argument(
        "--workers", type=whole_number(1), default=1, help="trainings at once in local processes"
    )
    parser.add_argument(
        "--sanity-images",
        type=whole_number(0),
        default=None,
        help="test images for the report's attribution checks, 0 for none (default: 100; "
        "5 with --quick or --train-size)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="tcp://HOST:PORT of a Dask scheduler (default: none: --workers local processes)",
    )


def _add_seeds_and_sizes(parser: argparse.ArgumentParser) -> None:
    """--seeds, --train-size and --val-size: which seeds each run is trained with, and on how
    many images (--quick's smaller sizes are the defaults there)."""
    from cnnlab.pipeline import QUICK
    from cnnlab.training.config import TrainConfig

    parser.add_argument(
        "--seeds",
        type=seed_list,
        default=None,
        help="0,1,2 or a count (5: 0..4), into cnn2-scratch-s0, ... "
        "(default: seed 0 only, into cnn2-scratch, ...)",
    )
    parser.add_argument(
        "--train-size",
        type=whole_number(1),
        default=None,
        help="training images per run (default: all not held out; "
        f"{QUICK['train_size']:,} with --quick)",
    )
    parser.add_argument(
        "--val-size",
        type=whole_number(1),
        default=None,
        help=f"validation images per run (default: {TrainConfig.val_size}; "
        f"{QUICK['val_size']} with --quick)",
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cnnlab.data.source import folder_options, shape_and_classes
    from cnnlab.pipeline import RunPlan, run_comparison
    from cnnlab.pipeline_analysis import comparison_table

    shape, classes = shape_and_classes(args.dataset, folder_options(args))
    archs = named_archs(args.arch, args.models, shape, classes)
    out = Path(args.out) if args.out else Path("runs/quick" if args.quick else "runs")
    plan = RunPlan(
        models=(*args.models, *archs),
        archs=archs,
        engines=args.engines,
        out=out,
        quick=args.quick,
        epochs=args.epochs,
        force=args.force,
        threads=args.threads,
        data_dir=args.data_dir,
        dataset=args.dataset,
        folder=folder_options(args),
        quiet=args.quiet,
        seeds=args.seeds,
        train_size=args.train_size,
        val_size=args.val_size,
        workers=args.workers,
        scheduler=args.scheduler,
        sanity_images=args.sanity_images,
    )
    result = run_comparison(plan)
    print()
    print(comparison_table(result["summary"]["runs"]))
    print()
    for note in result["skipped"]:
        print(f"note: {note}")
    markdown = f"  (and {result['markdown'].name})" if result["markdown"] else ""
    print(f"report:      {result['report']}{markdown}")
    print(f"summary:     {out / 'summary.json'}")
    print(f"TensorBoard: tensorboard --logdir {out}")
    print(
        f"total time {result['seconds'] / 60:.1f} min, "
        f"peak memory {result['peak_memory_mb']:.0f} MB"
    )
    if args.open:
        _open(result["report"])
    for sentence in result["failed"]:
        print(f"error: {sentence}", file=sys.stderr)
    return 2 if result["failed"] else 0


def seed_list(text: str) -> tuple[int, ...]:
    """`--seeds 0,1,2` as (0, 1, 2); a single number n as the first n seeds, 0..n-1."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 0,1,2 or a count, got {text!r}") from None
    if len(values) == 1 and "," not in text:
        if values[0] < 1:
            raise argparse.ArgumentTypeError(f"a seed count must be at least 1, got {text}")
        return tuple(range(values[0]))
    if not values or len(set(values)) != len(values) or min(values) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be distinct and >= 0, got {text!r}")
    return tuple(values)


def _open(report) -> None:
    import os
    import webbrowser

    has_screen = (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.name != "posix"
    )
    if has_screen and webbrowser.open(report.resolve().as_uri()):
        return
    print(f"no browser to open here; open {report.resolve()} on a machine with one")
