"""`cnnlab train`: train one network in one engine into a run directory."""

from __future__ import annotations

import argparse
import functools

from cnnlab.commands.arch_options import ARCH_HELP, arch_fields
from cnnlab.commands.checks import directory_name, engine_name, model_name
from cnnlab.commands.options import add_training_options
from cnnlab.errors import UserError
from cnnlab.models import MODEL_NAMES
from cnnlab.training.config import TrainConfig
from cnnlab.training.engines import ENGINES, SCRATCH

NAME = "train"
HELP = "train one network (NumPy or PyTorch engine) into a run directory"


def configure(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument(
        "--model", type=model_name, default=d.model, help=f"one of {', '.join(MODEL_NAMES)}"
    )
    parser.add_argument(
        "--engine", type=engine_name, default=d.engine, help=f"one of {', '.join(ENGINES)}"
    )
    parser.add_argument("--arch", default=None, metavar="LAYERS|FILE", help=ARCH_HELP)
    add_training_options(parser)
    parser.add_argument("--out", default=d.out, help="parent of the run directory")
    parser.add_argument(
        "--name",
        type=directory_name,
        default=None,
        help="run directory name inside --out (default: MODEL-ENGINE)",
    )
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--force", action="store_true", help="start over in an existing run dir")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="NumPy engine: run the layers as written, one step as the README shows it, "
        "without the engine's speed rewrites (to read, or to see what they buy)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="one epoch on 256 images, to check the set-up"
    )
    parser.add_argument(
        "--allow-big",
        action="store_true",
        help="train a network past the size limits (100 million parameters, 2 GiB of "
        "activations per batch)",
    )
    _record_given(parser)


def config_from_args(args: argparse.Namespace, **overrides) -> TrainConfig:
    values = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__}
    return TrainConfig(**(values | overrides))


GIVEN = "_given"  # the namespace attribute naming the TrainConfig options given


def given_options(args: argparse.Namespace) -> set[str]:
    """The TrainConfig options set on the command line, whatever their value: `--seed 0` is
    given even though 0 is the default (a resume checks every given option)."""
    return set(getattr(args, GIVEN, ()))


def _record_given(parser: argparse.ArgumentParser) -> None:
    """Make each TrainConfig option note in the namespace that it was given."""
    for action in parser._actions:
        if action.dest in TrainConfig.__dataclass_fields__:
            action.__class__ = _noting(type(action))


@functools.cache
def _noting(action_class: type) -> type:
    class Noting(action_class):
        def __call__(self, parser, namespace, values, option_string=None):
            super().__call__(parser, namespace, values, option_string)
            setattr(namespace, GIVEN, {*getattr(namespace, GIVEN, ()), self.dest})

    return Noting


def run(args: argparse.Namespace) -> int:
    from cnnlab.data.source import folder_options, shape_and_classes
    from cnnlab.rundir import RunDir
    from cnnlab.text import count_noun
    from cnnlab.training.trainer import train

    shape, classes = shape_and_classes(args.dataset, folder_options(args))
    config = config_from_args(args, **arch_fields(args.arch, args.name, shape, classes))
    if config.plain and config.engine != SCRATCH:
        raise UserError(
            f"--plain is the {SCRATCH} engine's option; leave it out for {config.engine}."
        )
    if not (args.quiet or args.resume):  # a resumed run's network is the one it was started with
        print_architecture(config, shape, classes)
    run_dir = train(
        config,
        resume=args.resume,
        force=args.force,
        quiet=args.quiet,
        given=given_options(args),
    )
    status = RunDir(run_dir).status()
    epochs = count_noun(status["epochs_done"], "epoch")
    print(f"{run_dir}: test accuracy {status['test_accuracy']:.4f} ({epochs})")
    print(f"TensorBoard: tensorboard --logdir {run_dir.parent}")
    return 0


def print_architecture(config: TrainConfig, shape=None, classes: int = 10) -> None:
    """The network about to be trained, like Keras' `model.summary()`: each layer's output
    shape and parameter count, and the total."""
    from cnnlab.models import resolve_spec
    from cnnlab.models.shapes import summary_table

    spec = resolve_spec(config.model, config.arch, shape, classes)  # the data set's images
    print(f"{spec.name}: {spec.description}")
    print(summary_table(spec), flush=True)
