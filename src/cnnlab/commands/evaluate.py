"""`cnnlab evaluate RUN_DIR`: test accuracy, confusion matrix, top-3 images, curves."""

from __future__ import annotations

import argparse

from cnnlab.commands.options import add_data_dir, add_device, add_quiet

NAME = "evaluate"
HELP = "evaluate a trained run on the 10,000 test images and draw what it learned"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="run directories written by cnnlab train"
    )
    add_data_dir(parser)
    add_device(parser)
    add_quiet(parser)


def run(args: argparse.Namespace) -> int:
    from cnnlab.analysis.evaluation import evaluate_run, format_table

    for run_dir in args.run_dirs:
        summary = evaluate_run(run_dir, args.data_dir, args.device, args.quiet)
        print(format_table(summary))
        print(f"pictures: {run_dir}/confusion_matrix.png, top3.png, curves.png, worst_errors.png")
    return 0
