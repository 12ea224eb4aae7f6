"""`cnnlab run`: the whole comparison — train, evaluate, CAM, report — in one command."""

from __future__ import annotations

import argparse

from cnnlab.commands.options import (
    add_data_dir,
    add_epochs,
    add_quiet,
    add_threads,
    engine_list,
    model_list,
)

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
        "--engines",
        type=engine_list,
        default=ENGINES,
        help="comma-separated, from scratch, torch, keras",
    )
    parser.add_argument("--force", action="store_true", help="retrain finished runs too")
    parser.add_argument("--open", action="store_true", help="open the report in a browser")
    add_threads(parser)
    add_data_dir(parser)
    add_quiet(parser, help="no per-epoch progress bars")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cnnlab.pipeline import RunPlan, comparison_table, run_comparison

    out = Path(args.out) if args.out else Path("runs/quick" if args.quick else "runs")
    plan = RunPlan(
        models=args.models,
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
