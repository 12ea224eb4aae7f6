"""`cnnlab train`: train one network in one engine into a run directory."""

from __future__ import annotations

import argparse

from cnnlab.commands._arch_option import ARCH_HELP, arch_fields
from cnnlab.models import ARCHITECTURES
from cnnlab.training.config import MODEL_DEFAULTS, TrainConfig
from cnnlab.training.engines import ENGINES
from cnnlab.training.schedule import SCHEDULES

NAME = "train"
HELP = "train one network (NumPy or PyTorch engine) into a run directory"
ORDER = 20

_D = TrainConfig()


def _defaults(key: str) -> str:
    return ", ".join(f"{m}: {v[key]}" for m, v in MODEL_DEFAULTS.items())


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `train` and `run`."""
    parser.add_argument(
        "--epochs", type=int, default=None, help=f"per model: {_defaults('epochs')}"
    )
    parser.add_argument("--batch-size", type=int, default=_D.batch_size)
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default=_D.optimizer)
    parser.add_argument("--lr", type=float, default=None, help=f"per model: {_defaults('lr')}")
    parser.add_argument("--momentum", type=float, default=_D.momentum, help="SGD only")
    parser.add_argument("--weight-decay", type=float, default=_D.weight_decay)
    parser.add_argument("--lr-schedule", choices=SCHEDULES, default=_D.lr_schedule)
    parser.add_argument("--seed", type=int, default=_D.seed)
    parser.add_argument("--val-size", type=int, default=_D.val_size)
    parser.add_argument(
        "--train-size", type=int, default=None, help="train on a seeded subset (default: all)"
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda", "mps"), default=_D.device, help="torch only"
    )
    parser.add_argument("--threads", type=int, default=_D.threads, help="0: every core")
    parser.add_argument("--data-dir", default=None, help="MNIST directory (else $CNNLAB_DATA)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=sorted(ARCHITECTURES), default=_D.model)
    parser.add_argument("--engine", choices=tuple(ENGINES), default=_D.engine)
    parser.add_argument("--arch", default=None, metavar="LAYERS|FILE", help=ARCH_HELP)
    add_training_options(parser)
    parser.add_argument("--out", default=_D.out, help="parent of the run directory")
    parser.add_argument("--name", default=None, help="run directory name (default: MODEL-ENGINE)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--force", action="store_true", help="start over in an existing run dir")
    parser.add_argument(
        "--dry-run", action="store_true", help="one epoch on 256 images, to check the set-up"
    )


def config_from_args(args: argparse.Namespace, **overrides) -> TrainConfig:
    values = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__}
    return TrainConfig(**(values | overrides))


def run(args: argparse.Namespace) -> int:
    from cnnlab.rundir import RunDir
    from cnnlab.training.trainer import train

    cfg = config_from_args(args, **arch_fields(args.arch, args.name))
    run_dir = train(cfg, resume=args.resume, force=args.force, quiet=args.quiet)
    status = RunDir(run_dir).status()
    print(
        f"{run_dir}: test accuracy {status['test_accuracy']:.4f} ({status['epochs_done']} epochs)"
    )
    print(f"TensorBoard: tensorboard --logdir {run_dir.parent}")
    return 0
