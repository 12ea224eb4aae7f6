"""Never touch what is not ours: the output folder's manifest, links, the grid's install.

Each test is one case of the adversarial review (issue 22): cnnlab refuses with one sentence
and exit 2, and every file that was there is there afterwards, byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.cli import main
from cnnlab.errors import UserError
from cnnlab.rundir import RunDir
from cnnlab.runlock import RunBusyError, _acquire, locked

SRC = Path(__file__).resolve().parents[1] / "src"
TINY = ["--epochs", "1", "--train-size", "300", "--val-size", "100", "--threads", "1", "--quiet"]


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one sentence, no traceback
    return err


def _cnnlab_run(path):
    """A hand-made cnnlab run directory: marked config, a checkpoint's bytes, a status."""
    path.mkdir(parents=True)
    config = {"format": "cnnlab-run", "format_version": 1, "model": "mlp3", "engine": "scratch"}
    (path / "config.json").write_text(json.dumps(config | {"created": "2025", "epochs": 1}))
    (path / "checkpoint.npz").write_bytes(b"weights")
    (path / "status.json").write_text('{"complete": false, "epochs_done": 0}')
    return RunDir(path)


def _tree(root) -> dict:
    """{relative path: bytes, or '->target' for a link} of everything under `root`."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            key = os.path.relpath(path, root)
            if os.path.islink(path):
                found[key] = "->" + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    found[key] = f.read()
    return found


# -- case 1: the grid refuses a user's folder like the serial path -----------------------------


@pytest.mark.parametrize("how", [[], ["--workers", "2"]])
def test_run_refuses_a_users_folder_on_both_paths(tmp_path, mnist_dir, capsys, how):
    mine = tmp_path / "mlp3-scratch"
    mine.mkdir()
    (mine / "n.txt").write_text("x")
    argv = ["run", "--models", "mlp3", "--engines", "scratch", *TINY, *how]
    assert main([*argv, "--out", str(tmp_path), "--data-dir", str(mnist_dir)]) == 2
    assert "not a cnnlab run directory" in _error(capsys)
    assert _tree(tmp_path) == {"mlp3-scratch/n.txt": b"x"}  # not even a lock file


# -- case 2: the lock file is never written through a link ---------------------------------------


def test_a_linked_lock_file_is_refused_and_its_target_kept(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    thesis = tmp_path / "thesis.tex"
    thesis.write_text("years of work")
    (run / ".cnnlab.lock").unlink(missing_ok=True)
    (run / ".cnnlab.lock").symlink_to(thesis)
    assert main(["evaluate", str(run)]) == 2
    assert "is a symbolic link" in _error(capsys)
    assert thesis.read_text() == "years of work"


# -- case 3 and 16: --force checks every path before it deletes one ----------------------------


def test_force_refuses_a_linked_cam_folder_and_deletes_nothing(tmp_path):
    run = _cnnlab_run(tmp_path / "run")
    pictures = tmp_path / "Pictures"
    (pictures / "predict").mkdir(parents=True)
    (pictures / "cam_holiday.png").write_bytes(b"beach")
    (run / "cam").symlink_to(pictures)
    before = _tree(tmp_path)
    with pytest.raises(UserError, match=r"run/cam is a symbolic link"):
        run.clear()
    assert _tree(tmp_path) == before


def test_train_force_through_a_linked_cam_folder_is_one_sentence(tmp_path, capsys):
    run = _cnnlab_run(tmp_path / "mlp3-scratch")
    pictures = tmp_path / "Pictures"
    pictures.mkdir()
    (pictures / "cam_holiday.png").write_bytes(b"beach")
    (run / "cam").symlink_to(pictures)
    argv = ["train", "--model", "mlp3", *TINY, "--out", str(tmp_path), "--force"]
    assert main(argv) == 2
    assert "cam is a symbolic link" in _error(capsys)
    assert (pictures / "cam_holiday.png").read_bytes() == b"beach"
    assert (run / "config.json").is_file()
    assert (run / "checkpoint.npz").is_file()


def test_force_with_a_folder_under_an_events_name_deletes_nothing(tmp_path):
    run = _cnnlab_run(tmp_path / "run")
    (run / "events.out.tfevents.mine").mkdir()
    before = _tree(tmp_path)
    with pytest.raises(UserError, match="is a directory, not a file cnnlab wrote"):
        run.clear()
    assert _tree(tmp_path) == before


# -- case 4: the output folder's manifest --------------------------------------------------------


USERS_FILES = [
    "summary.json",
    "report.html",
    "cam_comparison.png",
    "compare_all.png",
    "seed_accuracies.png",
]


@pytest.mark.parametrize("name", USERS_FILES)
def test_run_refuses_a_users_file_in_out_before_training(tmp_path, mnist_dir, name, capsys):
    (tmp_path / name).write_bytes(b"the user's")
    argv = ["run", "--models", "mlp3", "--engines", "scratch", *TINY, "--seeds", "2"]
    assert main([*argv, "--out", str(tmp_path), "--data-dir", str(mnist_dir)]) == 2
    assert f"{name} exists and is not a file cnnlab wrote" in _error(capsys)
    assert _tree(tmp_path) == {name: b"the user's"}  # no run trained, nothing else written


def test_cam_refuses_a_users_comparison_figure(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    out = tmp_path / "figures"
    out.mkdir()
    (out / "cam_comparison_test0.png").write_bytes(b"the user's")
    assert main(["cam", str(run), "--out", str(out)]) == 2
    assert "cam_comparison_test0.png exists and is not a file cnnlab wrote" in _error(capsys)
    assert _tree(out) == {"cam_comparison_test0.png": b"the user's"}
    assert not (run / "cam").exists()


def test_cnnlab_replaces_its_own_file_and_nothing_else(tmp_path):
    from cnnlab.outdir import MANIFEST, OutputDir

    out = OutputDir(tmp_path)
    out.write_bytes("summary.json", b"first")
    out.write_bytes("summary.json", b"second")  # its own file: replaced
    assert (tmp_path / "summary.json").read_bytes() == b"second"
    (tmp_path / "summary.json").write_bytes(b"edited by the user")
    with pytest.raises(UserError, match="not a file cnnlab wrote"):
        out.write_bytes("summary.json", b"third")
    assert (tmp_path / "summary.json").read_bytes() == b"edited by the user"
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "summary.json"]


def test_a_link_in_the_output_folder_is_refused_and_its_target_kept(tmp_path):
    from cnnlab.outdir import OutputDir

    thesis = tmp_path / "thesis.tex"
    thesis.write_bytes(b"years of work")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").symlink_to(thesis)
    with pytest.raises(UserError, match="is a symbolic link"):
        OutputDir(out).write_text("report.html", "<html>")
    assert thesis.read_bytes() == b"years of work"
    assert (out / "report.html").is_symlink()


def test_a_check_refuses_before_the_first_write(tmp_path):
    from cnnlab.outdir import OutputDir

    (tmp_path / "b.png").write_bytes(b"mine")
    with pytest.raises(UserError, match=r"b\.png"):
        OutputDir(tmp_path).check(["a.png", "b.png"])
    assert [p.name for p in tmp_path.iterdir()] == ["b.png"]


# -- case 16: one path for -o and --md; FIFOs -------------------------------------------------


def test_report_refuses_one_path_for_the_page_and_its_twin(tiny_run, tmp_path, capsys):
    page = tmp_path / "x.html"
    assert main(["report", str(tiny_run), "-o", str(page), "--md", str(page)]) == 2
    assert "names the same file as -o" in _error(capsys)
    assert list(tmp_path.iterdir()) == []


def _cnnlab(*args) -> subprocess.CompletedProcess:
    """The CLI in its own process: a read that blocks (a FIFO) fails the test, not the suite."""
    env = os.environ | {"PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "cnnlab", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_a_fifo_given_as_an_image_is_refused_not_read(tiny_run, tmp_path):
    fifo = tmp_path / "digit.png"
    os.mkfifo(fifo)
    done = _cnnlab("predict", tiny_run, fifo)  # a reader would block for ever
    assert done.returncode == 2
    assert "is a FIFO (named pipe), not a regular file" in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_a_fifo_in_place_of_the_checkpoint_is_refused_not_read(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "checkpoint.npz").unlink()
    os.mkfifo(run / "checkpoint.npz")
    done = _cnnlab("evaluate", run)
    assert done.returncode == 2
    assert "checkpoint.npz is a FIFO (named pipe), not a regular file" in done.stderr


# -- case 6: the grid's install holds the directory that is there afterwards -----------------


def test_an_installed_run_is_held_by_the_installer(tmp_path):
    from cnnlab.grid.tasks import install_run

    target = tmp_path / "r"
    _cnnlab_run(target)
    with locked(target):
        install_run(tmp_path, "r", {"config.json": (target / "config.json").read_bytes()})
        with pytest.raises(RunBusyError):
            os.close(_acquire(target))  # a second writer finds the new directory held
    os.close(_acquire(target))  # and free once the installer let go


def test_installing_keeps_the_users_files_in_the_run(tmp_path):
    from cnnlab.grid.tasks import install_run, pack_run

    run = _cnnlab_run(tmp_path / "r")
    (run / "notes.txt").write_text("mine")
    (run.path / "cam").mkdir()
    (run / "cam" / "sketch.png").write_bytes(b"mine too")
    files = pack_run(run.path)
    assert sorted(files) == ["checkpoint.npz", "config.json", "status.json"]  # only cnnlab's
    install_run(tmp_path, "r", files | {"checkpoint.npz": b"new weights"})
    assert (run / "notes.txt").read_text() == "mine"
    assert (run / "cam" / "sketch.png").read_bytes() == b"mine too"
    assert (run / "checkpoint.npz").read_bytes() == b"new weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no staging folder left


def test_metrics_are_never_appended_through_a_link(tmp_path):
    run = _cnnlab_run(tmp_path / "run")
    thesis = tmp_path / "thesis.tex"
    thesis.write_text("years of work")
    (run / "metrics.jsonl").symlink_to(thesis)
    from cnnlab.fileio import open_append

    with pytest.raises(UserError, match="is a symbolic link"):
        open_append(run.metrics_path)
    assert thesis.read_text() == "years of work"


def test_a_grid_worker_sends_back_every_file_training_wrote(tiny_run):
    """Workers send only cnnlab's files (`RunDir.owned_files`): a file kind that training adds
    without naming it there would be lost on the way back, and this test says so."""
    from cnnlab.grid.tasks import pack_run

    written = {
        p.relative_to(tiny_run).as_posix()
        for p in tiny_run.rglob("*")
        if p.is_file() and p.name != ".cnnlab.lock"
    }
    assert set(pack_run(tiny_run)) == written
