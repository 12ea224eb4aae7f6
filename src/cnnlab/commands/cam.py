"""`cnnlab cam RUN_DIR ...`: Class Activation Maps of trained CNNs on the same test image."""

from __future__ import annotations

import argparse

from cnnlab.commands.checks import whole_number
from cnnlab.commands.options import add_data_dir, add_device

NAME = "cam"
HELP = "draw CAM and Grad-CAM of one test image for one or more trained runs"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="trained run directories, one row each"
    )
    parser.add_argument(
        "--index", type=whole_number(0), default=0, help="test image number (0..9999)"
    )
    parser.add_argument(
        "--class", dest="target", type=int, default=None, help="target class (default: predicted)"
    )
    parser.add_argument(
        "--method", choices=("cam", "gradcam", "both"), default="both", help="which map(s)"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="folder for the combined figure cam_comparison_testINDEX.png "
        "(default: the parent of the first RUN_DIR)",
    )
    add_data_dir(parser)
    add_device(parser)


def run(args: argparse.Namespace) -> int:
    from cnnlab.analysis.cam import METHODS
    from cnnlab.analysis.cam_runs import draw_cams
    from cnnlab.errors import UserError
    from cnnlab.rundir import RunDir
    from cnnlab.runlock import locked_all
    from cnnlab.training.leftovers import remove_leftovers

    if args.target is not None and not 0 <= args.target <= 9:
        raise UserError(f"--class {args.target} is not a digit class (0..9).")
    methods = METHODS if args.method == "both" else (args.method,)
    for run_dir in args.run_dirs:
        RunDir(run_dir).require_run()
    with locked_all(args.run_dirs):  # one writer per run directory
        for run_dir in args.run_dirs:  # what a killed command left, as train and evaluate do
            remove_leftovers(run_dir)
        path = draw_cams(
            args.run_dirs, args.index, args.target, methods, args.out, args.data_dir, args.device
        )
    print(f"combined figure: {path}")
    for run_dir in args.run_dirs:
        print(f"per-model panels: {run_dir}/cam/")
    return 0
