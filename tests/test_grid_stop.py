"""The grid under the same rules as one training: Ctrl-C and SIGTERM stop every worker and name
only checkpoints that exist, seeds are created lazily, a malformed --scheduler is one sentence."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnlab.cli import main
from cnnlab.errors import UserError
from live_processes import alive

SRC = Path(__file__).resolve().parents[1] / "src"
TINY = ["--epochs", "1", "--train-size", "300", "--val-size", "100", "--threads", "1", "--quiet"]


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_seeds_are_created_lazily_with_a_bounded_number_of_open_files(tmp_path, monkeypatch):
    """300 seeds: each run directory appears when it is trained, and the number of open files
    does not grow with the seeds (every directory was created and locked up front before)."""
    import cnnlab.training.trainer as trainer
    from cnnlab.pipeline import RunPlan, run_comparison

    seen = []

    def fake_train(cfg, **options):
        seen.append((_open_files(), len([p for p in tmp_path.iterdir() if p.is_dir()])))
        if len(seen) == 300:
            raise UserError("enough")
        return Path(cfg.out) / cfg.name

    monkeypatch.setattr(trainer, "train", fake_train)
    plan = RunPlan(models=("mlp3",), engines=("scratch",), seeds=tuple(range(300)), out=tmp_path)
    plan.epochs, plan.quiet = 1, True
    before = _open_files()
    with pytest.raises(UserError, match="enough"):
        run_comparison(plan)
    assert len(seen) == 300
    assert max(files for files, _ in seen) - before < 10
    assert max(dirs for _, dirs in seen) == 0  # the fake trains nothing, so nothing appears


def test_a_malformed_scheduler_is_one_sentence_at_once(tmp_path, capsys):
    argv = ["run", "--models", "mlp3", "--engines", "scratch", *TINY, "--out", str(tmp_path)]
    assert main([*argv, "--scheduler", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler 'nonsense' is not a scheduler address" in err
    assert err.count("\n") == 1  # no Client.__del__ traceback after it


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (read from /proc: children, their children, ...)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_stopping_the_grid_stops_every_worker(tmp_path, mnist_dir, how):
    scratch = tmp_path / "tmp"  # the workers' temporary folders, to see when they trained
    scratch.mkdir()
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "cnnlab", "run", "--models", "mlp3", "--engines", "scratch"]
    argv += ["--seeds", "2", "--workers", "2", "--epochs", "50", "--train-size", "2000"]
    argv += ["--val-size", "100", "--threads", "1", "--quiet", "--out", str(out)]
    env = os.environ | {"PYTHONPATH": str(SRC), "CNNLAB_DATA": str(mnist_dir)}
    grid = subprocess.Popen(
        argv,
        env=env | {"TMPDIR": str(scratch)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal gives it
    )
    try:
        while grid.poll() is None and not list(scratch.glob("cnnlab-task-*/*/checkpoint.npz")):
            time.sleep(0.1)  # until a worker has saved its first epoch
        workers = _descendants(grid.pid)
        assert grid.poll() is None
        if how == "SIGTERM":
            grid.send_signal(signal.SIGTERM)
        else:
            os.killpg(grid.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
        _, err = grid.communicate(timeout=240)
    finally:
        if grid.poll() is None:
            grid.kill()
    assert grid.returncode == 130, err
    # The forkserver and resource tracker leave when they see their parent's pipe close, a
    # moment after it exits; an orphaned worker would go on training its 50 epochs.
    for _ in range(100):  # 10 s, far less than the 50 epochs an orphan would train
        if not any(alive(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert [pid for pid in workers if alive(pid)] == []  # no orphans
    assert "cnnlab-task-" not in err  # no temporary folder named, gone by now
    kept = re.search(r"checkpoints kept in (.*?); run the same", err)
    assert kept, err
    for run in kept.group(1).split(", "):
        assert (Path(run) / "checkpoint.npz").is_file()
        assert Path(run).parent == out
