"""`map_in_processes`: independent jobs on the machine's cores, answers in order, and no worker
left behind when a job fails. The pool is forced to two workers, so it splits work on a 1-core
machine too."""

from __future__ import annotations

import os

import pytest

from cnnlab.processes import map_in_processes, usable_cores
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
        assert not _alive(int(f.read()))
    assert not (tmp_path / "finished").exists()  # killed, not awaited


def test_usable_cores_counts_this_process_cpus():
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
