"""The command line refuses nonsense before any work, in one sentence, and its --help is honest."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from cnnlab import cli
from cnnlab.cli import main
from cnnlab.errors import UserError
from cnnlab.text import count_noun, text_table


def refused(capsys, *argv: str) -> str:
    """The one error line of a command line argparse refuses with exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2
    assert out == ""
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--epochs", "0", "a whole number of at least 1, not 0."),
        ("--epochs", "nan", "a whole number of at least 1, not nan."),
        ("--batch-size", "0", "a whole number of at least 1, not 0."),
        ("--batch-size", "2.5", "a whole number of at least 1, not 2.5."),
        ("--lr", "0", "a finite number above 0, not 0."),
        ("--lr", "-1", "a finite number above 0, not -1."),
        ("--lr", "nan", "a finite number above 0, not nan (not a number)."),
        ("--lr", "inf", "a finite number above 0, not inf (infinite)."),
        ("--momentum", "1", "a number from 0 up to but not including 1, not 1."),
        ("--momentum", "-0.1", "a number from 0 up to but not including 1, not -0.1."),
        ("--momentum", "nan", "a number from 0 up to but not including 1, not nan (not a number)."),
        ("--weight-decay", "-0.0001", "a finite number of at least 0, not -0.0001."),
        ("--weight-decay", "inf", "a finite number of at least 0, not inf (infinite)."),
        ("--train-size", "0", "a whole number of at least 1, not 0."),
        ("--val-size", "0", "a whole number of at least 1, not 0."),
        ("--threads", "-1", "a whole number of at least 0, not -1."),
        ("--seed", "-3", "a whole number of at least 0, not -3."),
        ("--model", "vgg", "one of cnn2, cnn3, mlp3, lenet5, cnn3pad, not vgg (an unknown model)."),
        ("--engine", "jax", "one of scratch, torch, keras, not jax (an unknown engine)."),
    ],
)
def test_train_refuses_a_bad_value_naming_the_option(capsys, option, value, reason):
    line = refused(capsys, "train", option, value)
    assert line == f"cnnlab train: error: {option} must be {reason}"


@pytest.mark.parametrize("name", ["../x", "a/b", "/tmp/x", ".", "..", ""])
def test_a_run_name_is_one_directory_name_inside_out(capsys, name):
    line = refused(capsys, "train", "--name", name)
    assert line.startswith("cnnlab train: error: --name must be a single directory name")
    assert repr(name) in line


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (["parity", "--steps", "0"], "--steps must be a whole number of at least 1, not 0."),
        (["parity", "--lr", "nan"], "--lr must be a finite number above 0, not nan"),
        (["run", "--epochs", "0"], "--epochs must be a whole number of at least 1, not 0."),
        (["run", "--threads", "-1"], "--threads must be a whole number of at least 0, not -1."),
        (
            ["run", "--models", "cnn2,vgg"],
            "--models must be comma-separated model names from cnn2, cnn3, mlp3, lenet5, "
            "cnn3pad; 'vgg' is not one.",
        ),
        (
            ["run", "--engines", ","],
            "--engines must be comma-separated engine names from scratch, torch, keras; "
            "none was given.",
        ),
        (["bench", "--batch-size", "0"], "--batch-size must be a whole number of at least 1"),
        (["bench", "--seed", "-1"], "--seed must be a whole number of at least 0, not -1."),
        (["data", "info", "--val-size", "0"], "--val-size must be a whole number of at least 1"),
        (["evaluate", "run", "--device", "tpu"], "argument --device: invalid choice: 'tpu'"),
    ],
)  # fmt: skip
def test_every_command_checks_its_options(capsys, argv, sentence):
    line = refused(capsys, *argv)
    assert line.startswith(f"cnnlab {argv[0]}")
    assert line.split(": error: ", 1)[1].startswith(sentence)


def test_a_train_size_beyond_the_data_is_refused_not_clamped(mnist_dir):
    from cnnlab.training.splits import load_splits

    cfg = SimpleNamespace(
        data_dir=str(mnist_dir), dataset="mnist", val_size=5000, train_size=55001, seed=0
    )
    with pytest.raises(UserError, match=r"--train-size 55001 is more than the 55,000 training"):
        load_splits(cfg, progress=False)


def test_a_val_size_that_leaves_no_training_images_is_refused(mnist_dir):
    from cnnlab.training.splits import load_splits

    cfg = SimpleNamespace(
        data_dir=str(mnist_dir), dataset="mnist", val_size=60000, train_size=None, seed=0
    )
    with pytest.raises(UserError, match=r"--val-size 60000 leaves no training images.*60,000"):
        load_splits(cfg, progress=False)


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_an_absent_accelerator_is_named_with_what_there_is(monkeypatch, device):
    torch = pytest.importorskip("torch")
    from cnnlab.training.engines.torch import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(UserError) as info:
        pick_device(device)
    assert f"--device {device} was asked for" in str(info.value)
    assert "available: cpu" in str(info.value)
    assert pick_device("auto") == "cpu"


# -- --help ---------------------------------------------------------------------------------


def help_text(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # one line: wrapping aside


EVERY_HELP = [
    ["run"], ["data", "info"], ["data", "verify"], ["data", "download"], ["train"], ["parity"],
    ["evaluate"], ["cam"], ["predict"], ["report"], ["lab"], ["bench"],
]  # fmt: skip


@pytest.mark.parametrize("argv", EVERY_HELP, ids=" ".join)
def test_help_shows_each_default_once_and_plainly(capsys, argv):
    text = help_text(capsys, *argv)
    assert "None" not in text
    assert "(default: (" not in text
    assert "(default: [" not in text
    assert "default: False" not in text
    for option_help in re.split(r"\s(?=-{1,2}[a-z])", text):
        assert option_help.count("default") <= 1, option_help


@pytest.mark.parametrize(
    ("argv", "defaults"),
    [
        (
            ["train"],
            [
                "--batch-size BATCH_SIZE images per step (default: 64)",
                "(default: adam)",
                "--seed SEED weights, split and batch order (default: 0)",
                "(default: cosine)",
                "--val-size VAL_SIZE validation images (default: 5000)",
                "--epochs EPOCHS default per model: cnn2: 4, cnn3: 4, mlp3: 6",
            ],
        ),
        (["parity"], ["--steps STEPS training steps in each engine (default: 100)"]),
        (["run"], ["(default: cnn2,cnn3,mlp3)", "(default: scratch,torch)"]),
        (["bench"], ["comma-separated (default: cnn2,cnn3,mlp3)"]),
    ],
)
def test_help_shows_the_defaults_that_were_missing(capsys, argv, defaults):
    text = help_text(capsys, *argv)
    for default in defaults:
        assert default in text


def _every_action():
    """(command path, action, its help as --help prints it) for every subcommand's arguments."""
    import argparse

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, [*path, name])
            elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
                text = parser.formatter_class(parser.prog)._expand_help(action)
                yield " ".join(path), action, " ".join(text.split())

    return list(walk(cli.build_parser(), []))


def test_every_argument_of_every_command_follows_one_help_rule():
    """Positionals say what they are; an option that takes a value says its default (or that it
    is required) exactly once; no empty default; one --device default for every command."""
    from cnnlab.training.config import TrainConfig

    broken = []
    devices = {}
    for command, action, text in _every_action():
        name = "/".join(action.option_strings) or action.metavar
        if not action.option_strings and not text:
            broken.append(f"{command} {name}: no help")
        takes_value = action.option_strings and action.nargs != 0
        if takes_value and text.count("default") + text.count("(required)") != 1:
            broken.append(f"{command} {name}: {text!r}")
        if "(default: )" in text:
            broken.append(f"{command} {name}: empty default")
        if action.dest == "device":
            devices[command] = action.default
    assert broken == []
    assert set(devices) >= {"train", "evaluate", "cam", "predict"}
    assert set(devices.values()) == {TrainConfig.device}


def test_commands_are_listed_in_an_explicit_order(capsys):
    names = [module.NAME for module in cli.COMMANDS]
    assert names == [
        "run", "data", "train", "parity", "evaluate", "cam", "explain", "predict", "report", "lab",
        "bench",
    ]  # fmt: skip
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = re.findall(r"^ {4}(\w+) ", capsys.readouterr().out, flags=re.MULTILINE)
    assert listed == names
    assert all(not hasattr(module, "ORDER") for module in cli.COMMANDS)


# -- plain text -----------------------------------------------------------------------------


def test_text_table_pads_columns_and_aligns_each_as_asked():
    table = text_table(["model", "acc"], [["cnn2", "99.10%"], ["mlp3", "9.8%"]], "lr")
    assert table.splitlines() == ["model     acc", "cnn2   99.10%", "mlp3     9.8%"]
    with pytest.raises(ValueError, match="align"):
        text_table(["a", "b"], [], "l")


def test_counts_read_as_english():
    assert count_noun(1, "epoch") == "1 epoch"
    assert count_noun(4, "epoch") == "4 epochs"
    assert count_noun(0, "step") == "0 steps"
