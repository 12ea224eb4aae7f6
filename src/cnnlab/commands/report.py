"""`cnnlab report RUN_DIR [RUN_DIR ...] -o FILE`: one self-contained HTML page from runs."""

from __future__ import annotations

import argparse

NAME = "report"
HELP = "build the self-contained HTML report (and its Markdown twin) from run directories"
DEFAULT_TITLE = "cnnlab report: what the networks learned"  # as build_report's default


def configure(parser: argparse.ArgumentParser) -> None:
    # argparse.SUPPRESS keeps "(default: None)" out of --help; run() reads them with getattr.
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories to compare")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="the HTML file to write",
    )
    parser.add_argument(
        "--md",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="the Markdown file to write (default: FILE with .md instead of .html)",
    )
    parser.add_argument(
        "--cam-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="where cam_comparison.png and cam_comparison_disagreement.png are "
        "(default: the parent directory of the first RUN_DIR)",
    )
    parser.add_argument("--title", default=DEFAULT_TITLE, help="the page title")


def run(args: argparse.Namespace) -> int:
    from cnnlab.report import build_report

    html, md = build_report(
        args.run_dirs,
        args.output,
        out_md=getattr(args, "md", None),
        cam_dir=getattr(args, "cam_dir", None),
        title=args.title,
    )
    if md is None:
        print(
            f"wrote {html} (no Markdown twin: {html.with_suffix('.md')} is not cnnlab's; "
            "name one with --md FILE)"
        )
    else:
        print(f"wrote {html} and {md}")
    return 0
