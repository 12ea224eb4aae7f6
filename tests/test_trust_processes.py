"""The attribution checks side by side: killed while the checks run in worker processes, a
command leaves no worker behind, and the same command run again completes every run's
sanity.json (that two workers give the figures of one: tests/test_report_trust.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from cnnlab.explain import trust_runs
from live_processes import alive

IMAGES = trust_runs.PARALLEL_FROM_IMAGES  # the smallest check that `cnnlab run` runs side by side
RUNS = ("mlp3-scratch", "cnn2-torch")
CHECKS = """
import sys
from cnnlab.explain.trust_runs import sanity_records
list(sanity_records(sys.argv[3:], sys.argv[1], int(sys.argv[2]), workers=2))
"""


def _checks(runs, mnist_dir, env) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-c", CHECKS, str(mnist_dir), str(IMAGES), *map(str, runs)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


def _tagged(tag: str) -> list[int]:
    """PIDs of live processes whose environment holds `tag` (the command's and its workers')."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if tag.encode() in environ and alive(int(entry)):
            found.append(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc (Linux)")
def test_a_kill_during_the_checks_leaves_no_worker_and_the_rerun_completes(
    trained_runs, mnist_dir, tmp_path
):
    runs = [shutil.copytree(trained_runs[name], tmp_path / name) for name in RUNS]
    tag = f"CNNLAB_TEST_TAG={uuid.uuid4().hex}"
    env = os.environ | {"CNNLAB_TEST_TAG": tag, "CNNLAB_FAILPOINT": "sanity.json:before"}
    killed = _checks(runs, mnist_dir, env)
    assert killed.returncode == -9, killed.stderr
    for _ in range(100):  # the workers get SIGTERM when their parent (the forkserver) exits
        if not _tagged(tag):
            break
        time.sleep(0.1)
    assert _tagged(tag) == []
    assert not any((run / trust_runs.SANITY_FILE).exists() for run in runs)
    del env["CNNLAB_FAILPOINT"]
    again = _checks(runs, mnist_dir, env)
    assert again.returncode == 0, again.stderr
    for run in runs:
        assert trust_runs.current_sanity(run, IMAGES) is not None
