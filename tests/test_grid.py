"""A grid of tiny runs: seeds, the statistics in summary.json, and the same trainings run in a
process pool and on a real Dask cluster (a scheduler and two workers on 127.0.0.1)."""

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from cnnlab.cli import main
from cnnlab.commands.run import seed_list
from cnnlab.grid.executors import GridTask, run_in_processes, run_on_dask
from cnnlab.lab.bench import free_port
from cnnlab.pipeline import RunPlan, _config

SRC = Path(__file__).resolve().parents[1] / "src"
GRID = ["--models", "cnn2,mlp3", "--engines", "scratch", "--seeds", "2", "--epochs", "1"]
SIZES = ["--train-size", "300", "--val-size", "100", "--threads", "1", "--quiet"]
NAMES = ["cnn2-scratch-s0", "mlp3-scratch-s0", "cnn2-scratch-s1", "mlp3-scratch-s1"]


@pytest.fixture(scope="module")
def serial_grid(tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("serial")
    assert main(["run", *GRID, *SIZES, "--out", str(out), "--data-dir", str(mnist_dir)]) == 0
    return out


def _tasks(data_dir) -> list[GridTask]:
    plan = RunPlan(models=("cnn2", "mlp3"), engines=("scratch",), seeds=(0, 1), epochs=1)
    plan.train_size, plan.val_size, plan.threads, plan.data_dir = 300, 100, 1, data_dir
    configs = [_config(plan, key) for key in plan.runs()]
    return [GridTask(cfg.name, cfg.name, asdict(cfg)) for cfg in configs]


def _assert_same_weights(run_a: Path, run_b: Path) -> None:
    with np.load(run_a / "checkpoint.npz") as a, np.load(run_b / "checkpoint.npz") as b:
        weights = [k for k in a.files if k != "position"]  # position holds the seconds taken
        assert weights
        assert set(a.files) == set(b.files)
        for key in weights:
            assert np.array_equal(a[key], b[key]), f"{run_a.name}: {key} differs"


def test_seed_lists_read_as_lists_or_counts():
    assert seed_list("5") == (0, 1, 2, 3, 4)
    assert seed_list("0,3,7") == (0, 3, 7)


def test_every_seed_has_its_run_directory_and_interval(serial_grid):
    for name in NAMES:
        evaluation = json.loads((serial_grid / name / "evaluation.json").read_text())
        interval = evaluation["accuracy_interval"]
        assert interval["resamples"] == 2000
        assert interval["low"] < evaluation["accuracy"] < interval["high"]
        config = json.loads((serial_grid / name / "config.json").read_text())
        assert config["seed"] == int(name[-1])


def test_aggregates_summarise_the_runs_of_each_model(serial_grid):
    summary = json.loads((serial_grid / "summary.json").read_text())
    assert [Path(r["run_dir"]).name for r in summary["runs"]] == NAMES
    for aggregate in summary["aggregates"]:
        runs = [r for r in summary["runs"] if r["model"] == aggregate["model"]]
        accuracies = [r["test_accuracy"] for r in runs]
        assert aggregate["seeds"] == [0, 1]
        assert aggregate["mean"] == pytest.approx(np.mean(accuracies))
        assert aggregate["std"] == pytest.approx(np.std(accuracies, ddof=1))
        assert aggregate["low"] < aggregate["mean"] < aggregate["high"]


def test_mcnemar_numbers_agree_with_a_recount_from_the_probabilities(serial_grid, mnist):
    comparisons = json.loads((serial_grid / "summary.json").read_text())["comparisons"]
    assert [(c["a"], c["b"]) for c in comparisons] == [(NAMES[0], NAMES[1]), (NAMES[2], NAMES[3])]
    labels = mnist.test_labels.astype(np.int64)
    raw = []
    for comparison in comparisons:
        right = [
            np.load(serial_grid / comparison[side] / "probabilities.npy").argmax(1) == labels
            for side in ("a", "b")
        ]
        n01, n10 = int((right[0] & ~right[1]).sum()), int((~right[0] & right[1]).sum())
        assert (comparison["n01"], comparison["n10"]) == (n01, n10)
        p_value = binomtest(n01, n01 + n10, 0.5).pvalue
        assert comparison["p_value"] == pytest.approx(p_value)
        raw.append(p_value)
    # Holm over two tests: the smaller p doubled, the larger kept (and never below the first)
    smaller = min(2 * min(raw), 1)
    holm = [smaller if p == min(raw) else max(p, smaller) for p in raw]
    assert [c["p_holm"] for c in comparisons] == pytest.approx(holm)


def test_a_process_pool_gives_bit_identical_weights(serial_grid, mnist_dir, tmp_path):
    result = run_in_processes(_tasks(str(mnist_dir))[:2], 2, tmp_path, print)
    assert not result.failed
    for name in NAMES[:2]:
        _assert_same_weights(serial_grid / name, tmp_path / name)


def _wait_for_workers(address: str, count: int) -> None:
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(count, timeout=60)


@pytest.fixture(scope="module")
def dask_cluster(mnist_dir, tmp_path_factory):
    """`dask scheduler` and two `dask worker`s (no nanny: killing the PID kills the worker)."""
    pytest.importorskip("distributed")
    env = os.environ | {"PYTHONPATH": str(SRC), "CNNLAB_DATA": str(mnist_dir)}
    home = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    dask = [sys.executable, "-m", "dask"]
    port = address.rsplit(":", 1)[1]
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--dashboard-address", ":0"],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker_args = ["--nthreads", "1", "--no-nanny", "--host", "127.0.0.1", "--no-dashboard"]
    workers = [
        subprocess.Popen(
            [*dask, "worker", address, *worker_args, "--local-directory", str(home / str(i))],
            env=env,
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    try:
        _wait_for_workers(address, 2)
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_dask_cluster_gives_the_serial_weights(serial_grid, dask_cluster, tmp_path):
    address, _ = dask_cluster
    result = run_on_dask(_tasks(None), address, tmp_path, print)
    assert not result.failed
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)  # nothing else landed
    for name in NAMES:
        assert json.loads((tmp_path / name / "status.json").read_text())["complete"] is True
        _assert_same_weights(serial_grid / name, tmp_path / name)


def _kill_a_busy_worker(address: str, workers: list, killed: list) -> None:
    """Wait until a worker is training, then kill its process (found by the PID it reports)."""
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        for _ in range(300):
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                break
            time.sleep(0.1)
        time.sleep(1.0)  # inside the training, past loading the data
        pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
    for process in workers:
        if process.pid == pid:
            process.kill()
            killed.append(process)


def test_a_killed_worker_leaves_finished_runs_or_one_sentence(dask_cluster, tmp_path):
    """Last in this module: it kills one of the two workers while it trains."""
    address, workers = dask_cluster
    tasks = _tasks(None)[:2]
    for task in tasks:
        task.config |= {"train_size": 3000}  # a few seconds of training to be killed in
    killed = []
    killer = threading.Thread(target=_kill_a_busy_worker, args=(address, workers, killed))
    killer.start()
    started = time.perf_counter()
    result = run_on_dask(tasks, address, tmp_path, print)
    killer.join()
    assert len(killed) == 1
    assert killed[0].wait(timeout=10) != 0
    print(f"grid with a killed worker: {time.perf_counter() - started:.1f} s, {result.failed}")
    assert set(result.installed) | set(result.failed) == {t.name for t in tasks}
    for sentence in result.failed.values():
        assert sentence.count(". ") == 0
        assert sentence.endswith(".")
    landed = sorted(p.name for p in tmp_path.iterdir())
    assert landed == sorted(result.installed)  # no staging folder, nothing half-written
    for name in landed:
        assert json.loads((tmp_path / name / "status.json").read_text())["complete"] is True


def test_an_unreachable_scheduler_is_one_sentence_and_exit_2(tmp_path, mnist_dir, capsys):
    address = f"tcp://127.0.0.1:{free_port()}"
    args = ["run", *GRID, *SIZES, "--out", str(tmp_path), "--data-dir", str(mnist_dir)]
    assert main([*args, "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {address}" in err
    assert err.count("\n") == 1


def test_a_task_resumes_from_the_files_it_is_sent(serial_grid, tmp_path):
    """One more epoch of a finished run, on a 'worker' where the client's data path is absent."""
    from cnnlab.grid.tasks import install_run, pack_run, train_task

    task = _tasks(None)[1]  # mlp3 seed 0, with this machine's $CNNLAB_DATA
    files = pack_run(serial_grid / task.name)
    saved = json.loads(files["config.json"]) | {"data_dir": str(tmp_path / "not-on-this-worker")}
    files["config.json"] = json.dumps(saved).encode()
    returned = train_task(task.config | {"epochs": 2}, files)
    run = install_run(tmp_path, task.name, returned)
    status = json.loads((run / "status.json").read_text())
    assert status["epochs_done"] == 2
    assert status["complete"] is True


def test_installing_replaces_a_run_whole_and_refuses_escaping_paths(tmp_path):
    from cnnlab.grid.tasks import install_run

    marker = {"format": "cnnlab-run", "format_version": 1, "model": "mlp3", "engine": "scratch"}
    config = json.dumps(marker).encode()
    old = {"config.json": config, "checkpoint.npz": b"old", "cam/cam_test0_class7.png": b"1"}
    install_run(tmp_path, "r", old)
    install_run(tmp_path, "r", {"config.json": config, "checkpoint.npz": b"new"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    kept = sorted(p.name for p in (tmp_path / "r").iterdir() if not p.name.startswith("."))
    assert kept == ["checkpoint.npz", "config.json"]
    assert (tmp_path / "r" / "checkpoint.npz").read_bytes() == b"new"
    with pytest.raises(ValueError, match="may not leave"):
        install_run(tmp_path, "s", {"../evil.txt": b"x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_installing_never_replaces_a_folder_cnnlab_did_not_write(tmp_path):
    from cnnlab.errors import UserError
    from cnnlab.grid.tasks import install_run

    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "n.txt").write_text("x")
    with pytest.raises(UserError, match="not a cnnlab run directory"):
        install_run(tmp_path, "r", {"config.json": b"{}"})
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["n.txt"]
