"""`cnnlab evaluate RUN_DIR`: test accuracy, confusion matrix, top-3 images, curves."""

from __future__ import annotations

import argparse

NAME = "evaluate"
HELP = "evaluate a trained run on the 10,000 test images and draw what it learned"
ORDER = 40


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--data-dir", default=None, help="MNIST directory (else $CNNLAB_DATA)")
    parser.add_argument("--device", default="cpu", help="torch runs: cpu, cuda or mps")
    parser.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    from cnnlab.analysis.evaluation import evaluate_run, format_table

    for run_dir in args.run_dirs:
        summary = evaluate_run(run_dir, args.data_dir, args.device, args.quiet)
        print(format_table(summary))
        print(f"pictures: {run_dir}/confusion_matrix.png, top3.png, curves.png, worst_errors.png")
    return 0
