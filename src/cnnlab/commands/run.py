"""`cnnlab run`: the whole comparison — train, evaluate, CAM, report — in one command."""

from __future__ import annotations

import argparse

from cnnlab.commands import comma_separated
from cnnlab.commands._arch_option import ARCH_ROW_HELP, named_archs

NAME = "run"
HELP = "reproduce the whole five-network comparison (plus mlp3 in NumPy) and build the report"
ORDER = 5


def configure(parser: argparse.ArgumentParser) -> None:
    from cnnlab.pipeline import ENGINES, MODELS, default_epochs_note

    parser.add_argument("--quick", action="store_true", help="smoke profile: 3,000 images, 1 epoch")
    parser.add_argument("--out", default=None, help="output folder (default: runs, runs/quick)")
    parser.add_argument(
        "--epochs", type=int, default=None, help=f"per model: {default_epochs_note()}"
    )
    parser.add_argument("--models", type=comma_separated, default=MODELS, help="comma-separated")
    parser.add_argument(
        "--arch", action="append", default=[], metavar='NAME="LAYERS"', help=ARCH_ROW_HELP
    )
    parser.add_argument(
        "--engines",
        type=comma_separated,
        default=ENGINES,
        help="comma-separated: scratch, torch, keras",
    )
    parser.add_argument("--force", action="store_true", help="retrain finished runs too")
    parser.add_argument("--open", action="store_true", help="open the report in a browser")
    parser.add_argument("--threads", type=int, default=0, help="0: every core")
    parser.add_argument("--data-dir", default=None, help="MNIST directory (else $CNNLAB_DATA)")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress bars")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cnnlab.errors import UserError
    from cnnlab.models import MODEL_NAMES
    from cnnlab.pipeline import RunPlan, comparison_table, run_comparison
    from cnnlab.training.engines import ENGINES

    archs = named_archs(args.arch, builtin=args.models)
    for name in args.models:
        if name not in MODEL_NAMES:
            raise UserError(
                f"unknown model {name!r} in --models; choose from {', '.join(MODEL_NAMES)}."
            )
    for name in args.engines:
        if name not in ENGINES:
            raise UserError(
                f"unknown engine {name!r} in --engines; choose from {', '.join(ENGINES)}."
            )
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
        quiet=args.quiet,
    )
    result = run_comparison(plan)
    print()
    print(comparison_table(result["summary"]))
    print()
    for note in result["skipped"]:
        print(f"note: {note}")
    print(f"report:      {result['report']}  (and {result['markdown'].name})")
    print(f"summary:     {out / 'summary.json'}")
    print(f"TensorBoard: tensorboard --logdir {out}")
    print(
        f"total time {result['seconds'] / 60:.1f} min, "
        f"peak memory {result['peak_memory_mb']:.0f} MB"
    )
    if args.open:
        _open(result["report"])
    return 0


def _open(report) -> None:
    import os
    import webbrowser

    has_screen = (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.name != "posix"
    )
    if has_screen and webbrowser.open(report.resolve().as_uri()):
        return
    print(f"no browser to open here; open {report.resolve()} on a machine with one")
