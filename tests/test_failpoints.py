"""The crash-test harness behind tests/test_failpoints*.py: run a cnnlab command in a
subprocess with one failpoint armed (`CNNLAB_FAILPOINT`, see `cnnlab.failpoints`), and read
back the state a run leaves, to compare with an uninterrupted run's."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

# A tiny `cnnlab run`: one mlp3 in the NumPy engine, 640 images, 2 epochs (10 steps each).
RUN = ["run", "--models", "mlp3", "--engines", "scratch", "--train-size", "640"]
RUN += ["--val-size", "200", "--epochs", "2", "--threads", "1", "--quiet"]
RUN_DIR = "mlp3-scratch"
KILLED = -9  # the return code of a process killed by SIGKILL
KNOWN_HIDDEN = {".cnnlab.lock", ".cnnlab-outputs.json"}  # hidden files cnnlab keeps


def cnnlab(args: list[str], data_dir: Path, armed: str | None = None, log: Path | None = None):
    """`python -m cnnlab ARGS`, killed at failpoint `armed`; the CompletedProcess.

    Its output goes to files, not pipes: a killed grid leaves its pool's helper processes
    behind for a moment, and they would hold a pipe open. Whatever is left of the command's
    process group once it ended is stopped here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNNLAB_FAILPOINT")}
    env["CNNLAB_DATA"] = str(data_dir)
    if armed:
        env["CNNLAB_FAILPOINT"] = armed
    if log:
        env["CNNLAB_FAILPOINT_LOG"] = str(log)
    command = [sys.executable, "-m", "cnnlab", *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err, start_new_session=True)
        try:
            proc.wait(timeout=300)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group it led: its pool's helpers
        out.seek(0)
        err.seek(0)
        output, errors = out.read().decode(), err.read().decode()
    return subprocess.CompletedProcess(command, proc.returncode, output, errors)


def tensorboard_scalars(run_dir: Path) -> list[tuple[str, int, float]]:
    """Every scalar of training's event files (not the analyses'), in file order."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util.tensor_util import make_ndarray

    scalars = []
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        if ".analysis." in path.name:
            continue
        for event in EventFileLoader(str(path)).Load():  # scalars arrive as tensors
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars":
                    scalars.append((value.tag, event.step, float(make_ndarray(value.tensor))))
    return scalars


def hidden_leftovers(out: Path) -> list[str]:
    """Hidden entries in `out` and its run directory that cnnlab does not keep (temporary
    files, staging folders)."""
    found = []
    for folder in (out, out / RUN_DIR):
        if folder.is_dir():
            found += [str(p) for p in folder.iterdir() if p.name.startswith(".")]
    return sorted(p for p in found if Path(p).name not in KNOWN_HIDDEN)


def final_state(out: Path) -> dict:
    """What must be the same after any kill and rerun as after an uninterrupted run."""
    run = out / RUN_DIR
    with np.load(run / "checkpoint.npz", allow_pickle=False) as npz:
        weights = {k: npz[k].tobytes() for k in npz.files if k.startswith("model/")}
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for record in records:
        record.pop("seconds", None)  # wall-clock time differs run to run
    evaluation = json.loads((run / "evaluation.json").read_text())
    status = json.loads((run / "status.json").read_text())
    digest = hashlib.sha256((run / "checkpoint.npz").read_bytes()).hexdigest()
    scalars = tensorboard_scalars(run)
    return {
        "weights": weights,
        "records": records,
        "scalars": sorted(scalars),
        "duplicate_scalars": len(scalars) - len({(tag, step) for tag, step, _ in scalars}),
        "evaluation_matches_checkpoint": evaluation["checkpoint"]["sha256"] == digest,
        "test_accuracy": evaluation["accuracy"],
        "status": (status["complete"], status["epochs_done"], status["test_accuracy"]),
        "outputs": sorted(p.name for p in out.iterdir() if not p.name.startswith(".")),
        "leftovers": hidden_leftovers(out),
    }


# -- the crash tests ----------------------------------------------------------------------------

# Failpoints a fresh run does not pass but a rerun after a kill does, each placed after the one
# whose kill leads to it: the cleanup of a temporary file, the replay of TensorBoard's scalars.
AFTER = {
    "checkpoint.npz:before": ["leftovers-removed:before", "leftovers-removed:after"],
    "checkpoint.npz:after": ["tensorboard-replace:before", "tensorboard-replace:after"],
}
# Later passes of a failpoint that mark another moment: the last epoch's record, checkpoint and
# status (a kill between them must not leave the run unfinished for good).
LATER = ["metrics.jsonl-append:after:2", "checkpoint.npz:after:2", "status.json:before:3"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, mnist_dir):
    """An uninterrupted run: its final state and the failpoints it passed, in order."""
    out = tmp_path_factory.mktemp("reference")
    log = out.parent / "failpoints.log"
    done = cnnlab([*RUN, "--out", str(out)], mnist_dir, log=log)
    assert done.returncode == 0, done.stderr
    passed = list(dict.fromkeys(log.read_text().split()))
    return final_state(out), passed


def _plan(passed: list[str]) -> list[str]:
    points = []
    for point in passed:
        points += [point, *AFTER.get(point, [])]
    return points


def _chains(points, tag: str, base: Path, data_dir: Path, want: dict, command=RUN) -> dict:
    """Kill the command at each of `points` in turn, rerunning it in the same folder after each
    kill (a chain of crashes); once a rerun completes, check the folder against the
    uninterrupted run's state `want` and start a fresh chain with the next point. Returns
    {point: what happened}."""
    pending, results, chain = list(points), {}, 0
    while pending:
        out = base / f"{tag}-chain{chain}"
        chain += 1
        fresh, killed = True, []
        while pending:
            done = cnnlab([*command, "--out", str(out)], data_dir, armed=pending[0])
            assert "Traceback" not in done.stderr, done.stderr
            if done.returncode != KILLED:
                assert done.returncode == 0, f"{pending[0]}: {done.stderr}"
                assert not fresh, f"a fresh run never passed {pending[0]}"
                break  # the rerun completed: this chain ends; the point heads the next one
            killed.append(pending.pop(0))
            fresh = False
        done = cnnlab([*command, "--out", str(out)], data_dir)
        assert done.returncode == 0, done.stderr
        got = final_state(out)
        for key in want:
            assert got[key] == want[key], f"{key} differs after kills at {killed}"
        for point in killed:
            results[point] = f"killed, rerun completed, state equal ({out.name})"
    return results


@pytest.mark.slow  # about 50 short commands, killed and rerun
def test_every_failpoint_kill_and_rerun_ends_like_an_uninterrupted_run(
    reference, tmp_path, mnist_dir
):
    """Every failpoint an uninterrupted `cnnlab run` passes (and those its reruns pass), in
    four groups side by side; see `_chains`."""
    want, passed = reference
    groups = [_plan(passed[i::4]) for i in range(4)] + [LATER]
    with ThreadPoolExecutor(len(groups)) as pool:
        futures = [
            pool.submit(_chains, points, f"g{i}", tmp_path, mnist_dir, want)
            for i, points in enumerate(groups)
        ]
        results = {k: v for future in futures for k, v in future.result().items()}
    (tmp_path.parent / "failpoint-results.json").write_text(json.dumps(results, indent=1))
    assert set(results) == {point for group in groups for point in group}


@pytest.mark.slow
def test_a_kill_at_the_grid_install_reruns_to_the_same_state(reference, tmp_path, mnist_dir):
    """`run --workers 2` trains in a worker and installs the finished run in `--out`."""
    want, _ = reference
    points = ["grid-install:before", "grid-install:after"]
    results = _chains(points, "grid", tmp_path, mnist_dir, want, [*RUN, "--workers", "2"])
    (tmp_path.parent / "failpoint-results-grid.json").write_text(json.dumps(results, indent=1))
    assert set(results) == set(points)
