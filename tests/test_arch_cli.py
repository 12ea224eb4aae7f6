"""`--arch` on the command line: bad strings are one sentence and exit 2; a custom network trains,
evaluates, draws its CAM and predicts from its run directory alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.models.arch_text import default_run_name
from cnnlab.rundir import RunDir

BN_NET = (
    "Conv2d(8, 3, padding=1) BatchNorm2d ReLU MaxPool2d(2) Conv2d(16, 3) ReLU Flatten Linear(10)"
)


@pytest.mark.parametrize(
    ("arch", "sentence"),
    [
        ("Conv2d(8, 3) Foo Flatten Linear(10)", "unknown layer 'Foo'; known layers are"),
        ("__import__('os')", "unknown layer '__import__'; known layers are AdaptiveAvgPool2d"),
        (
            "Conv2d(8, 3) MaxPool2d(2) Conv2d(8, 20) Flatten Linear(10)",
            "layer 3 (conv2, Conv2d) receives a 8 × 13 × 13 input",
        ),
        ("Conv2d(8, 3) ReLU Flatten Linear(12)", "last layer 4 (fc1, Linear) gives a 12 output"),
    ],
)
@pytest.mark.parametrize("command", ["train", "parity"])
def test_a_bad_architecture_is_one_sentence_and_exit_2(command, arch, sentence, capsys):
    assert main([command, "--arch", arch]) == 2
    err = capsys.readouterr().err
    assert sentence in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_run_needs_a_name_for_each_arch_and_rejects_unknown_models(capsys):
    assert main(["run", "--arch", "Conv2d(8, 3) ReLU Flatten Linear(10)"]) == 2
    assert "needs a name first" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # checked by argparse, before any work
        main(["run", "--models", "cnn9"])
    assert stop.value.code == 2
    assert "--models must be comma-separated model names" in capsys.readouterr().err


def test_an_arch_file_trains_evaluates_draws_its_cam_and_predicts(tmp_path, mnist_dir, capsys):
    arch_file = tmp_path / "bn.txt"
    arch_file.write_text("# a small CNN with batch norm\n" + BN_NET.replace(" ReLU ", "\nReLU "))
    out = tmp_path / "runs"
    common = ["--data-dir", str(mnist_dir)]
    args = ["train", "--arch", str(arch_file), "--epochs", "1", "--train-size", "500"]
    args += ["--val-size", "200", "--out", str(out), "--threads", "2", "--quiet"]
    assert main(args + common) == 0
    run_dir = out / f"{default_run_name(BN_NET)}-scratch"
    config = RunDir(run_dir).config()
    assert config["arch"] == BN_NET
    engine, _ = RunDir(run_dir).load_trained()  # rebuilt from the string in its config
    assert "bn1.running_var" in engine.model.state_dict()
    assert main(["evaluate", str(run_dir), "--quiet", *common]) == 0
    assert main(["cam", str(run_dir), "--index", "0", "--out", str(tmp_path), *common]) == 0
    record = json.loads(next((run_dir / "cam").glob("cam_test0_*.json")).read_text())
    assert np.array(record["map"]).shape == (12, 12)  # 28 -> padded conv 28 -> 14 -> conv 12


def test_run_rows_from_arch_are_named_and_canonical():
    from cnnlab.commands.arch_options import named_archs
    from cnnlab.errors import UserError

    archs = named_archs(["wide=Conv2d(32,5,padding=2)  ReLU Flatten Linear(10)"], ("cnn2",))
    assert archs == {"wide": "Conv2d(32, 5, padding=2) ReLU Flatten Linear(10)"}
    with pytest.raises(UserError, match="already taken"):
        named_archs(["cnn2=Flatten Linear(10)"], ("cnn2",))
