"""The `cnnlab` command line.

Each subcommand lives in its own module under `cnnlab.commands` and provides `NAME`, `HELP`,
`ORDER`, `configure(parser)` and `run(args) -> int`. Command modules import heavy libraries
(torch, matplotlib) inside `run`, so `cnnlab --help` stays fast and works without torch.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from cnnlab import __version__, commands
from cnnlab.errors import UserError


def _command_modules() -> list:
    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    modules = [importlib.import_module(f"cnnlab.commands.{name}") for name in names]
    return sorted(modules, key=lambda m: (m.ORDER, m.NAME))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnlab",
        description="CNNs from scratch in NumPy and in PyTorch on MNIST, and what they learned.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.HELP,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
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
