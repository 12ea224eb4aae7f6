"""Divergence that stays finite, mid-epoch resume sums, report targets, unwritable output."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from cnnlab.cli import main
from cnnlab.errors import UserError
from cnnlab.training import trainer
from cnnlab.training.config import TrainConfig
from cnnlab.training.loop import DivergedError, DivergenceWatch, check_validation
from stop_after import StopAfter

TINY = ["--model", "mlp3", "--epochs", "1", "--train-size", "640", "--val-size", "200"]
TINY += ["--threads", "1", "--quiet"]


def test_the_divergence_rule():
    watch = DivergenceWatch()
    for step in range(1, 60):
        watch.check(2.3 / step**0.1, step)  # a healthy loss: never stops
    bad = DivergenceWatch(first_loss=2.3)
    for step in range(1, 10):
        bad.check(1e6, step)  # judged only from the 10th step on
    with pytest.raises(DivergedError, match="more than 10 times the starting loss"):
        bad.check(1e6, 10)
    check_validation(0.10, best_before=0.3)  # never learned: not a collapse
    with pytest.raises(DivergedError, match=r"fell to 0\.100"):
        check_validation(0.10, best_before=0.9)


def test_a_huge_learning_rate_ends_with_exit_2(tmp_path, mnist_dir, capsys):
    argv = ["train", *TINY, "--lr", "1e9", "--out", str(tmp_path), "--data-dir", str(mnist_dir)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "training diverged" in err
    assert not (tmp_path / "mlp3-scratch").exists()  # nothing useful was written


def test_a_mid_epoch_resume_reports_the_whole_epoch(tmp_path, mnist_dir, monkeypatch):
    def cfg(name):
        return TrainConfig(
            model="mlp3", engine="scratch", epochs=1, train_size=640, val_size=200,
            out=str(tmp_path), name=name, data_dir=str(mnist_dir), threads=1,
        )  # fmt: skip

    whole = trainer.train(cfg("whole"), quiet=True)
    monkeypatch.setattr(trainer, "StopRequest", StopAfter)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(cfg("cut"), quiet=True)
    monkeypatch.undo()
    cut = trainer.train(cfg("cut"), resume=True, quiet=True)

    def epoch(run):
        lines = (run / "metrics.jsonl").read_text().splitlines()
        return [r for r in map(json.loads, lines) if r["kind"] == "epoch"][-1]

    a, b = epoch(whole), epoch(cut)
    assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-6)
    assert b["train_accuracy"] == a["train_accuracy"]
    assert b["seconds"] > 0


def test_report_never_overwrites_what_cnnlab_did_not_write(tiny_run, tmp_path, capsys):
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my notes</p>")
    assert main(["report", str(tiny_run), "-o", str(mine)]) == 2
    assert "is not a report cnnlab wrote" in capsys.readouterr().err
    assert mine.read_text() == "<p>my notes</p>"
    for own in ("config.json", "checkpoint.npz", "metrics.jsonl"):
        assert main(["report", str(tiny_run), "-o", str(tiny_run / own)]) == 2
        assert "one of a run directory's own files" in capsys.readouterr().err
    out = tmp_path / "report.html"
    (tmp_path / "report.md").write_text("# my markdown")
    assert main(["report", str(tiny_run), "-o", str(out)]) == 0  # twin skipped, said so
    assert "no Markdown twin" in capsys.readouterr().out
    assert (tmp_path / "report.md").read_text() == "# my markdown"
    assert main(["report", str(tiny_run), "-o", str(out), "--md", str(tmp_path / "r.md")]) == 0
    assert main(["report", str(tiny_run), "-o", str(out)]) == 0  # its own report: replaced
    assert "cnnlab" in (tmp_path / "r.md").read_text().splitlines()[0]


def test_output_that_cannot_be_written_is_one_sentence(tiny_run, tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["train", *TINY, "--out", str(a_file)]) == 2
    assert str(a_file) in capsys.readouterr().err
    assert main(["report", str(tiny_run), "-o", "/proc/cnnlab-report.html"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cnnlab: error: cannot write /proc/cnnlab-report.html")


def test_a_full_disk_is_one_sentence(tmp_path, mnist_dir, capsys):
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)]
    if shutil.which("mount") is None or subprocess.run(mount, capture_output=True).returncode:
        pytest.skip("a 64 kB tmpfs needs root (mount -t tmpfs); CI runs as root")
    try:
        argv = ["train", *TINY, "--out", str(disk), "--data-dir", str(mnist_dir)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "No space left on device" in err
        assert "cannot write" in err
        assert not (disk / "mlp3-scratch").exists()  # the failed run cleaned up after itself
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_userror_is_what_diverged_raises():
    assert issubclass(DivergedError, UserError)


def _scalars(run_dir):
    """(tag, step) of every scalar in training's event files."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    found = []
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            found += [(v.tag, event.step) for v in event.summary.value if v.tag != "model/summary"]
    return found


def test_a_resume_rewrites_tensorboard_scalars_a_kill_lost(tmp_path, mnist_dir, monkeypatch):
    cfg = TrainConfig(
        model="mlp3", engine="scratch", epochs=2, train_size=640, val_size=200,
        out=str(tmp_path), data_dir=str(mnist_dir), threads=1,
    )  # fmt: skip
    monkeypatch.setattr(trainer, "StopRequest", StopAfter)  # stops at step 4
    with pytest.raises(KeyboardInterrupt):
        trainer.train(cfg, quiet=True)
    monkeypatch.undo()
    run = tmp_path / "mlp3-scratch"
    for events in run.glob("events.out.tfevents.*"):
        events.unlink()  # what a kill within tensorboardX's flush interval can cost
    trainer.train(cfg, resume=True, quiet=True, given=set())
    scalars = _scalars(run)
    assert len(scalars) == len(set(scalars))  # no step twice
    steps = sorted(step for tag, step in scalars if tag == "loss/train")
    assert steps == list(range(1, 21))
    assert sorted(step for tag, step in scalars if tag == "accuracy/val") == [10, 20]


def test_the_next_command_removes_what_a_killed_one_left(tiny_run, tmp_path, mnist_dir):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    left = [run / ".checkpoint.npz.ab12cd34.tmp", run / ".status.json.zz_9x8y7.tmp"]
    for path in left:
        path.write_bytes(b"half")
    (run / ".evaluation-k3j4h5g6").mkdir()
    (run / ".evaluation-k3j4h5g6" / "events.out.tfevents.1.vm").write_bytes(b"")
    mine = [run / ".notes.tmp", run / ".evaluation-notes"]
    mine[0].write_text("my notes")
    mine[1].mkdir()
    argv = ["train", "--out", str(tmp_path), "--name", "run", "--data-dir", str(mnist_dir)]
    assert main([*argv, "--resume", "--quiet"]) == 0  # nothing to train; it cleans up
    assert not any(p.exists() for p in [*left, run / ".evaluation-k3j4h5g6"])
    assert all(p.exists() for p in mine)  # a user's files are not leftovers
