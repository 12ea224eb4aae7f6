"""Every durable write of cnnlab has a failpoint: the generic atomic write calls one before and
after its rename, and any other code that writes, renames or deletes a file itself holds a
`failpoint(...)` or `durable(...)` call in the same top-level definition, or is listed below
with the reason it needs none. A new write site without either fails this test."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import cnnlab
from cnnlab import failpoints, fileio

SOURCE = Path(cnnlab.__file__).parent

# Functions that call a writing primitive themselves: with `os.*`/`shutil.*`, a write mode
# to `open`, or a `Path` method.
OS_WRITES = {"replace", "rename", "unlink", "remove", "rmdir", "ftruncate", "pwrite", "write"}
SHUTIL_WRITES = {"rmtree", "move", "copy", "copy2", "copyfile", "copytree"}
PATH_WRITES = {"write_text", "write_bytes", "unlink", "rename", "rmdir", "touch", "symlink_to"}
WRITERS_OF_THEIR_OWN = {"fileio", "self"}  # `fileio.write_bytes`, a class's own method

# (module, top-level definition): why it needs no failpoint.
NO_FAILPOINT_NEEDED = {
    ("fileio.py", "remove_file"): "deletes one entry its caller names; a rerun deletes it again",
    ("fileio.py", "exchange_paths"): "the grid install's swap, under `grid-install`",
    ("failpoints.py", "failpoint"): "appends to the failpoint log, a test's own file",
    ("runlock.py", "_acquire"): "the lock file holds only its holder's PID, for a message",
    ("runlock.py", "locked"): "removes a folder it created that holds only the lock file",
    ("rundir.py", "RunDir"): "opens metrics.jsonl for MetricsLog, whose flush is "
    "`metrics.jsonl-append`; --force and a failed first training delete what they asked to, "
    "and a rerun deletes the rest",
    ("grid/tasks.py", "unpack_run"): "writes into the task's private temporary folder",
    ("grid/tasks.py", "_carried"): "moves the user's files inside the grid install's swap",
    ("grid/executors.py", "_worker_setup"): "opens /dev/null as a worker's stderr",
    ("data/download.py", "download_file"): "a download into the data cache; every load "
    "checks the checksums, and a cut-short file is downloaded again",
    ("data/folder.py", "_write_cache"): "a cache of decoded pictures; its key.json, removed "
    "first and written last, vouches for it, and a cache without one is rebuilt",
    ("bench/machine.py", "memory_supported"): "writes to /proc to reset a counter",
    ("bench/machine.py", "peak_rss_growth_mib"): "writes to /proc to reset a counter",
}


def _receiver(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
        return node.func.value.id
    return None


def _opens_for_writing(node: ast.Call) -> bool:
    is_method = isinstance(node.func, ast.Attribute) and _receiver(node) != "os"
    position = slice(0, 1) if is_method else slice(1, 2)  # path.open(mode), open(path, mode)
    modes = node.args[position] + [k.value for k in node.keywords if k.arg == "mode"]
    for mode in modes:
        if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
            return any(c in mode.value for c in "wax+")
    if _receiver(node) == "os":  # os.open(path, flags): any flag that creates or writes
        return any(
            isinstance(n, ast.Attribute) and n.attr in ("O_CREAT", "O_WRONLY", "O_RDWR")
            for n in ast.walk(node)
        )
    return False


def _writes(node: ast.Call) -> bool:
    func, receiver = node.func, _receiver(node)
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name == "open":
        return _opens_for_writing(node)
    if receiver == "os":
        return name in OS_WRITES
    if receiver == "shutil":
        return name in SHUTIL_WRITES
    if name == "SummaryWriter":
        return True
    if isinstance(func, ast.Attribute) and name in PATH_WRITES:
        # `OutputDir(...).write_bytes(name, data)` writes through fileio; `Path.write_bytes`
        # takes the data alone
        through_output_dir = name.startswith("write_") and len(node.args) >= 2
        return receiver not in WRITERS_OF_THEIR_OWN and not through_output_dir
    return False


def write_sites() -> dict[tuple[str, str], bool]:
    """{(module, top-level definition): whether it holds a failpoint} for each definition of
    the package that writes by itself."""
    sites = {}
    for path in sorted(SOURCE.rglob("*.py")):
        module = path.relative_to(SOURCE).as_posix()
        for top in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(top, ast.FunctionDef | ast.ClassDef):
                continue
            calls = [n for n in ast.walk(top) if isinstance(n, ast.Call)]
            if any(_writes(call) for call in calls):
                names = {getattr(c.func, "id", getattr(c.func, "attr", None)) for c in calls}
                sites[(module, top.name)] = bool(names & {"failpoint", "durable"})
    return sites


def test_every_write_site_has_a_failpoint_or_a_reason():
    sites = write_sites()
    uncovered = [site for site, covered in sites.items() if not covered]
    missing = sorted(set(uncovered) - set(NO_FAILPOINT_NEEDED))
    assert not missing, f"write sites without a failpoint (or a reason in this test): {missing}"
    stale = sorted(set(NO_FAILPOINT_NEEDED) - set(uncovered))
    assert not stale, f"reasons for sites that no longer write, or have a failpoint: {stale}"


def test_the_known_write_sites_are_found():
    """The scan itself: it sees the writers it must see (so an empty scan cannot pass)."""
    sites = write_sites()
    for site in [
        ("training/tensorboard_log.py", "TensorBoardLog"),
        ("training/tensorboard_log.py", "replay_tensorboard"),
        ("training/leftovers.py", "_remove"),  # both removals of leftovers call it
        ("grid/tasks.py", "install_run"),
    ]:
        assert sites.get(site) is True, site


def test_the_atomic_write_has_a_failpoint_before_and_after_its_rename():
    source = inspect.getsource(fileio.atomic_open)
    before = source.index('failpoint(f"{path.name}:before")')
    rename = source.index("os.replace(tmp, path)")
    after = source.index('failpoint(f"{path.name}:after")')
    assert before < rename < after


def test_an_armed_failpoint_kills_only_at_its_count(monkeypatch):
    killed = []
    monkeypatch.setattr(failpoints.os, "kill", lambda pid, sig: killed.append(sig))
    monkeypatch.setenv(failpoints.ENVIRONMENT, "status.json:after:2")
    failpoints.failpoint("status.json:before")
    failpoints.failpoint("status.json:after")
    assert killed == []
    failpoints.failpoint("status.json:after")
    assert killed == [failpoints.signal.SIGKILL]
