"""Interrupted trainings (Ctrl-C, SIGKILL) resume and end where an uninterrupted run ends."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest


def _train_command(out: Path, engine: str, data_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "cnnlab",
        "train",
        "--model",
        "cnn2",
        "--engine",
        engine,
        "--epochs",
        "3",
        "--train-size",
        "3200",  # 50 steps per epoch at batch 64
        "--val-size",
        "500",
        "--threads",
        "1",  # one BLAS thread: the same sums in the same order, run after run
        "--quiet",
        "--out",
        str(out),
        "--data-dir",
        str(data_dir),
        *extra,
    ]


def _step_records(run_dir: Path) -> list[int]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line)["step"] for line in lines if '"kind": "step"' in line]


def _wait_for(condition, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert proc.poll() is None, "training ended before it could be interrupted"
        time.sleep(0.05)
    proc.kill()
    pytest.fail("training did not reach the interruption point in time")


def _weights(run_dir: Path, engine: str) -> dict[str, np.ndarray]:
    if engine == "scratch":
        with np.load(run_dir / "checkpoint.npz", allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files if k != "position"}
    import torch

    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    return {k: v.numpy() for k, v in state["model"].items()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, mnist_dir):
    """Uninterrupted runs, one per engine."""
    out = tmp_path_factory.mktemp("reference")
    runs = {}
    # PyTorch's reference only where it is installed (the core-only suite has no torch)
    for engine in ("scratch", "torch") if importlib.util.find_spec("torch") else ("scratch",):
        subprocess.run(_train_command(out, engine, mnist_dir), check=True, timeout=300)
        runs[engine] = out / f"cnn2-{engine}"
    return runs


@pytest.mark.parametrize(
    ("engine", "sig"),
    [
        ("scratch", signal.SIGINT),
        ("scratch", signal.SIGKILL),
        pytest.param("torch", signal.SIGINT, marks=pytest.mark.torch),
    ],
    ids=["scratch-sigint", "scratch-sigkill", "torch-sigint"],
)
def test_interrupted_run_resumes_to_the_same_weights(tmp_path, mnist_dir, reference, engine, sig):
    run_dir = tmp_path / f"cnn2-{engine}"
    proc = subprocess.Popen(_train_command(tmp_path, engine, mnist_dir), stderr=subprocess.PIPE)
    # SIGINT in the middle of epoch 2; SIGKILL after the epoch-1 checkpoint, mid epoch 2
    _wait_for(lambda: len(_step_records(run_dir)) >= 70, proc)
    os.kill(proc.pid, sig)
    _, stderr = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, stderr.decode()
        assert "interrupted" in stderr.decode()
        position = json.loads((run_dir / "status.json").read_text())
        assert position["complete"] is False
    else:
        assert proc.returncode == -signal.SIGKILL

    resumed = subprocess.run(
        _train_command(tmp_path, engine, mnist_dir, "--resume"), capture_output=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert json.loads((run_dir / "status.json").read_text())["complete"] is True
    assert _step_records(run_dir) == list(range(1, 151))  # every step once, none twice

    got, want = _weights(run_dir, engine), _weights(reference[engine], engine)
    assert got.keys() == want.keys()
    for name in want:
        if engine == "scratch":
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)  # bit for bit
        else:
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6, err_msg=name)


def test_existing_run_needs_resume_or_force(tmp_path, mnist_dir, reference, capsys):
    from cnnlab.cli import main

    out = reference["scratch"].parent
    args = ["train", "--model", "cnn2", "--out", str(out), "--data-dir", str(mnist_dir)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "already holds a finished run" in err
    assert "--resume" in err
    assert "Traceback" not in err
