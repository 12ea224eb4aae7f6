"""Peak memory of one call in a fresh process, for the tests of hostile sizes (gzip bombs, huge
pictures): the figure must not include what the test process itself already holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cnnlab

SCRIPT = """
import resource, sys
from cnnlab.errors import UserError
{imports}


def peak_mib():
    # VmHWM is this process's own peak; ru_maxrss may still hold the parent's from the fork.
    try:
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmHWM")) // 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux


before = peak_mib()
try:
    {call}
except UserError as err:
    print(err)
print(before, peak_mib())
"""


def measure(tmp_path: Path, imports: str, call: str, *args: str):
    """Run `call` (one line of Python, after `imports`, with `args` as sys.argv[1:]) in a fresh
    process: (its finished process, the lines it printed, peak RSS before and after in MiB).
    A UserError the call raises is printed as one line."""
    script = tmp_path / "measured.py"
    script.write_text(SCRIPT.format(imports=imports, call=call))
    env = {**os.environ, "PYTHONPATH": str(Path(cnnlab.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    *lines, peaks = done.stdout.splitlines()
    before, after = map(int, peaks.split())
    return done, lines, before, after
