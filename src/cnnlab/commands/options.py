"""Options that several commands share, and the parser that words their errors.

Each option's value is checked as argparse parses it by a `type=` function of
`cnnlab.commands.checks`; its sentence starts with "must", and `CommandParser.error` puts the
option's name in front of it.
"""

from __future__ import annotations

import argparse
import re

from cnnlab.commands.checks import (
    dataset_name,
    fraction,
    momentum,
    non_negative_number,
    positive_number,
    whole_number,
)
from cnnlab.training.config import MODEL_DEFAULTS, TrainConfig
from cnnlab.training.engines import OPTIMIZERS
from cnnlab.training.schedule import SCHEDULES

DEVICES = ("auto", "cpu", "cuda", "mps")
DEVICE_HELP = "where torch runs: auto is CUDA, else MPS, else the CPU"
OPTIMIZER_HELP = "sgd (with --momentum) or adam"
DATA_DIR_HELP = (
    "the directory holding the data set's files (default: for MNIST $CNNLAB_DATA if set, for "
    "fashion-mnist $CNNLAB_FASHION_MNIST_DATA, for kmnist $CNNLAB_KMNIST_DATA; else the user cache)"
)
_CHECK_FAILED = re.compile(r"argument (?P<flags>\S+): (?P<reason>must .*)", re.DOTALL)


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose help shows defaults plainly and whose value errors read
    "--epochs must be a whole number of at least 1, not 0." (subparsers inherit both)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        found = _CHECK_FAILED.fullmatch(message)
        if found:  # "argument -o/--output: must ..." -> "--output must ..."
            message = f"{found['flags'].split('/')[-1]} {found['reason']}"
        super().error(message)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """One rule for every command's --help: an option that takes a value says its default once.

    "(default: X)" is appended unless the help already names its default; a tuple reads
    "cnn2,cnn3,mlp3" and an empty list "none"; a required option reads "(required)". An option
    whose default is None (decided later, e.g. per model) writes "(default: ...)" in its own
    help, and a flag (store_true) is off unless given, so neither gets one appended;
    tests/test_cli_options.py holds every command to this.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if action.required and action.option_strings:
            return f"{text} (required)".strip()
        if "default" in text or default is None or default is False:
            return text
        if default == argparse.SUPPRESS or not action.option_strings:
            return text
        if isinstance(default, tuple | list):
            default = ",".join(str(item) for item in default) or "none"
        shown = str(default).replace("%", "%%")  # help strings are %-formatted by argparse
        return f"{text} (default: {shown})".strip()


# -- options ------------------------------------------------------------------------------------


def add_data_dir(parser: argparse.ArgumentParser, help: str = DATA_DIR_HELP) -> None:
    parser.add_argument("--data-dir", default=None, metavar="DIR", help=help)


def add_dataset(parser: argparse.ArgumentParser) -> None:
    """--dataset and the options of a folder data set."""
    d = TrainConfig()
    parser.add_argument(
        "--dataset",
        type=dataset_name,
        default=d.dataset,
        metavar="NAME|PATH",
        help="mnist, fashion-mnist or kmnist (--data-dir then names the directory of its "
        "files), or a folder of pictures: PATH/<class>/<pictures>, or PATH/train/<class>/... "
        "and PATH/test/<class>/...",
    )
    parser.add_argument(
        "--image-size",
        type=whole_number(4),
        default=None,
        help="a folder's pictures are scaled (aspect kept, padded) to this many pixels a side "
        "(default: the longer side most pictures have, at most 64)",
    )
    parser.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        default=None,
        help="a folder's pictures in grey (1) or colour (3) (default: 3 if any picture has "
        "colour, else 1)",
    )
    parser.add_argument(
        "--test-fraction",
        type=fraction,
        default=d.test_fraction,
        help="a folder without a test/ folder: the share of each class held out for testing, "
        "drawn with a fixed seed",
    )


def add_device(parser: argparse.ArgumentParser) -> None:
    """--device with one default for every command: `TrainConfig`'s, auto."""
    parser.add_argument("--device", choices=DEVICES, default=TrainConfig.device, help=DEVICE_HELP)


def add_threads(parser: argparse.ArgumentParser, help: str = "0: every core") -> None:
    parser.add_argument("--threads", type=whole_number(0), default=0, help=help)


def add_quiet(parser: argparse.ArgumentParser, help: str = "no progress bars") -> None:
    parser.add_argument("--quiet", action="store_true", help=help)


def per_model_default(key: str) -> str:
    """ "default per model: cnn2: 4, cnn3: 4, mlp3: 6" for `--epochs` and `--lr`."""
    return "default per model: " + ", ".join(f"{m}: {v[key]}" for m, v in MODEL_DEFAULTS.items())


def add_epochs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--epochs", type=whole_number(1), default=None, help=per_model_default("epochs")
    )


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """The options of one training run (`train`), each checked as it is parsed."""
    d = TrainConfig()
    add_epochs(parser)
    parser.add_argument(
        "--batch-size", type=whole_number(1), default=d.batch_size, help="images per step"
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help=OPTIMIZER_HELP)
    parser.add_argument(
        "--lr", type=positive_number, default=None, help="learning rate, " + per_model_default("lr")
    )
    parser.add_argument("--momentum", type=momentum, default=d.momentum, help="SGD only")
    parser.add_argument(
        "--weight-decay", type=non_negative_number, default=d.weight_decay, help="L2 penalty"
    )
    parser.add_argument(
        "--lr-schedule",
        choices=SCHEDULES,
        default=d.lr_schedule,
        help="how the learning rate falls over the run",
    )
    parser.add_argument(
        "--seed", type=whole_number(0), default=d.seed, help="weights, split and batch order"
    )
    parser.add_argument(
        "--val-size", type=whole_number(1), default=d.val_size, help="validation images"
    )
    parser.add_argument(
        "--train-size",
        type=whole_number(1),
        default=None,
        help="train on a seeded subset of this many images (default: all not held out)",
    )
    add_device(parser)
    add_threads(parser)
    add_dataset(parser)
    add_data_dir(parser)
    add_quiet(parser)
