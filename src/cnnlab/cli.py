"""The `cnnlab` command line.

Each subcommand lives in its own module under `cnnlab.commands` and provides `NAME`, `HELP`,
`configure(parser)` and `run(args) -> int`; `COMMANDS` lists them in the order `--help` shows.
Command modules import heavy libraries (torch, matplotlib) inside `run`, so `cnnlab --help`
stays fast and works without torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cnnlab import __version__
from cnnlab.commands import (
    bench,
    cam,
    data,
    evaluate,
    explain,
    lab,
    parity,
    predict,
    report,
    run,
    train,
)
from cnnlab.commands.options import CommandParser
from cnnlab.errors import UserError

# The order a student meets them: the whole comparison, the data, one run, and what it learned.
COMMANDS = (run, data, train, parity, evaluate, cam, explain, predict, report, lab, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="cnnlab",
        description="CNNs from scratch in NumPy and in PyTorch on MNIST, and what they learned.",
    )
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except UserError as err:
        print(f"cnnlab: error: {err}", file=sys.stderr)
        return UserError.exit_code
    except OSError as err:  # a write no command caught itself: still one sentence
        where = err.filename or "a file"
        print(f"cnnlab: error: cannot use {where}: {err.strerror or err}.", file=sys.stderr)
        return UserError.exit_code
    except KeyboardInterrupt:
        print("cnnlab: interrupted", file=sys.stderr)
        return 130
