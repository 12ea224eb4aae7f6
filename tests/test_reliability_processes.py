"""One writer per run directory, with real processes: two trainings at once, a lock holder
killed with SIGKILL, two `cnnlab run` into one --out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cnnlab.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")
HOLD = (
    "import sys, time\n"
    "from cnnlab.runlock import locked_all\n"
    "with locked_all(sys.argv[1:]):\n"
    "    print('locked', flush=True)\n"
    "    time.sleep(120)\n"
)


def _env(mnist_dir) -> dict:
    return os.environ | {"PYTHONPATH": SRC, "CNNLAB_DATA": str(mnist_dir)}


def _hold(paths, mnist_dir) -> subprocess.Popen:
    """Another process holding the locks of `paths` until it is killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, *map(str, paths)],
        stdout=subprocess.PIPE,
        env=_env(mnist_dir),
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _train_argv(out) -> list[str]:
    argv = [sys.executable, "-m", "cnnlab", "train", "--model", "mlp3", "--epochs", "1"]
    argv += ["--train-size", "640", "--val-size", "200", "--threads", "1", "--quiet"]
    return [*argv, "--out", str(out)]


def _train(out, mnist_dir) -> subprocess.Popen:
    return subprocess.Popen(
        _train_argv(out),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(mnist_dir),
        text=True,
    )


def test_two_trainings_into_one_run_directory(tmp_path, mnist_dir):
    procs = [_train(tmp_path, mnist_dir) for _ in range(2)]
    results = [(p.communicate(timeout=300)[1], p.returncode)[::-1] for p in procs]
    codes = sorted(code for code, _ in results)
    refusals = [err for code, err in results if code == 2]
    # the second either found the lock held, or found the first one's finished run
    assert codes == [0, 2], results
    assert "in use by another cnnlab process (PID" in refusals[0] or "already holds" in refusals[0]
    assert (tmp_path / "mlp3-scratch" / "checkpoint.npz").exists()


def test_a_second_writer_is_refused_and_sigkill_leaves_no_stale_lock(tiny_run, mnist_dir, capsys):
    holder = _hold([tiny_run], mnist_dir)
    try:
        assert main(["evaluate", str(tiny_run), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"{tiny_run} is in use by another cnnlab process (PID {holder.pid})" in err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    assert main(["evaluate", str(tiny_run), "--quiet"]) == 0  # the kernel released the lock


def test_sigkilled_training_then_a_new_training_succeeds(tmp_path, mnist_dir):
    first = _train(tmp_path, mnist_dir)
    lock = tmp_path / "mlp3-scratch" / ".cnnlab.lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # while it holds the lock
    first.communicate()
    argv = [*_train_argv(tmp_path), "--force"]  # what the first left is cnnlab's to replace
    retry = subprocess.run(argv, env=_env(mnist_dir), capture_output=True, text=True, timeout=300)
    assert retry.returncode == 0, retry.stderr
    assert "in use" not in retry.stderr


def test_two_runs_into_one_out_the_second_touches_nothing(tmp_path, mnist_dir, capsys):
    busy = tmp_path / "mlp3-scratch"
    holder = _hold([busy], mnist_dir)
    try:
        before = sorted(p.name for p in tmp_path.rglob("*"))
        argv = ["run", "--quick", "--models", "mlp3", "--engines", "scratch"]
        assert main([*argv, "--out", str(tmp_path), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"another cnnlab process is using {busy} (PID {holder.pid})" in err
        assert sorted(p.name for p in tmp_path.rglob("*")) == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
