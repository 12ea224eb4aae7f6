"""`map_in_processes`: independent jobs on the machine's cores, answers in order, and no worker
left behind when a job fails. The pool is forced to two workers, so it splits work on a 1-core
machine too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnlab.processes import map_in_processes, usable_cores
from live_processes import alive
from process_jobs import fail_or_wait, pid_when_two


def test_two_workers_share_the_jobs_and_answer_in_order(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    jobs = [str(first), str(first), str(second), str(second)]
    answers = list(map_in_processes(pid_when_two, jobs, workers=2))
    assert [folder for folder, _ in answers] == jobs  # in the jobs' order
    pids = [pid for _, pid in answers]
    assert len(set(pids[:2])) == len(set(pids[2:])) == 2  # two processes took each pair
    assert os.getpid() not in pids


def test_one_worker_or_one_job_runs_here(monkeypatch):
    monkeypatch.setattr("multiprocessing.get_context", None)  # no pool may be started
    assert list(map_in_processes(os.path.basename, ["a/b", "c/d"], workers=1)) == ["b", "d"]
    assert list(map_in_processes(os.path.basename, ["e/f"], workers=4)) == ["f"]
    assert list(map_in_processes(os.path.basename, [], workers=4)) == []


def test_a_failing_job_raises_here_and_kills_the_other_worker(tmp_path):
    pid_file = str(tmp_path / "waiting.pid")
    answers = map_in_processes(fail_or_wait, [("fail", pid_file), ("wait", pid_file)], 2)
    with pytest.raises(ValueError, match="this job fails"):
        next(answers)
    with open(pid_file) as f:
        assert not alive(int(f.read()))
    assert not (tmp_path / "finished").exists()  # killed, not awaited


DRIVER = """
import sys
sys.path.insert(0, sys.argv[1])
from process_jobs import fail_or_wait
from cnnlab.processes import map_in_processes
list(map_in_processes(fail_or_wait, [("wait", sys.argv[2]), ("wait", sys.argv[3])], 2))
"""


@pytest.mark.parametrize("stop", ["SIGKILL", "SIGTERM"])
def test_workers_end_when_their_parent_is_killed_or_stopped(tmp_path, stop):
    """SIGKILL: a forkserver's workers are not their parent's children, only `watch_parent`
    tells them. SIGTERM: the parent stops them the way Ctrl-C does, leaking nothing."""
    pid_files = [tmp_path / "a" / "waiting.pid", tmp_path / "b" / "waiting.pid"]
    for pid_file in pid_files:
        pid_file.parent.mkdir()
    tests = str(Path(__file__).parent)
    argv = [sys.executable, "-c", DRIVER, tests, *map(str, pid_files)]
    driver = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # both jobs have started (at most 30 s)
            if all(p.exists() and p.read_text() for p in pid_files):
                break
            time.sleep(0.05)
        workers = [int(p.read_text()) for p in pid_files]
        assert os.getpid() not in workers
    finally:
        driver.send_signal(getattr(signal, stop))
        _, err = driver.communicate(timeout=60)
    for _ in range(100):  # at most 10 s: the workers' jobs would sleep 20 s
        if not any(alive(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert [pid for pid in workers if alive(pid)] == []
    assert not any((p.parent / "finished").exists() for p in pid_files)
    if stop == "SIGTERM":
        assert "KeyboardInterrupt" in err  # stopped as by Ctrl-C, in order
        assert "leaked" not in err  # the pool's queues were closed, not left to the tracker


def test_usable_cores_counts_this_process_cpus():
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)
