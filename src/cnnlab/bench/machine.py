"""Facts about the machine a benchmark ran on: CPU, BLAS, threads, library builds, memory.

Memory is the peak growth of the resident set during one call, read from Linux's
`/proc/self/status` after resetting its high-water mark.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from cnnlab.training.engines import ENGINES, REFERENCE, KerasEngine, available

MEMORY_METHOD = (
    "peak RSS growth: the process's resident-set high-water mark (VmHWM) during one call of that "
    "engine alone, minus its resident set (VmRSS) just before; the C heap is trimmed "
    "(malloc_trim) and the high-water mark reset (/proc/self/clear_refs) first"
)
_STATUS, _CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


@contextlib.contextmanager
def engine_threads(engines: Sequence[str], n: int) -> Iterator[None]:
    """`n` threads for every engine in `engines` and for the reference engine when installed
    (its thread count is reported either way), each restored on the way out."""
    names = [name for name in dict.fromkeys([*engines, REFERENCE]) if available(name)]
    with contextlib.ExitStack() as stack:
        for name in names:
            stack.enter_context(ENGINES[name].threads(n))
        yield


def environment() -> dict:
    """Versions, the BLAS libraries and the thread counts in force now, the machine's load."""
    env = {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": numpy_blas(),
        "load_average_before": list(os.getloadavg()),
    }
    if available(REFERENCE):
        env[REFERENCE] = torch_build()
    with contextlib.suppress(PackageNotFoundError):
        env[KerasEngine.name] = version(KerasEngine.libraries[0])
    return env


def numpy_blas() -> list[dict]:
    """The BLAS libraries loaded in this process, as threadpoolctl sees them (threads in force
    now), NumPy's own first. `package` names the wheel that ships each one ("numpy" for
    numpy.libs/, "scipy" for scipy.libs/; None when it is not a wheel's), because NumPy's and
    SciPy's OpenBLAS are both "libscipy_openblas" and may differ in version."""
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "prefix", "version", "architecture", "threading_layer", "num_threads")
    blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
    found = [{k: info.get(k) for k in keys} | {"package": _package(info)} for info in blas]
    return sorted(found, key=lambda info: info["package"] != "numpy")


def _package(info: dict) -> str | None:
    """ "numpy" for .../site-packages/numpy.libs/libscipy_openblas64_....so, and so on."""
    folder = os.path.basename(os.path.dirname(info.get("filepath") or ""))
    return folder.removesuffix(".libs") if folder.endswith(".libs") else None


def torch_build() -> dict:
    """PyTorch's version, threads in force, BLAS, CPU capability and whether oneDNN is there."""
    import torch

    build = torch.__config__.show()
    return {
        "version": torch.__version__,
        "num_threads": torch.get_num_threads(),
        "blas": _config_value(build, "BLAS_INFO="),
        "cpu_capability": _config_value(build, "CPU capability usage:"),
        "mkldnn": torch.backends.mkldnn.is_available(),
    }


def _config_value(text: str, key: str) -> str | None:
    """The value after `key` in `torch.__config__.show()`, up to the next comma or line end."""
    start = text.find(key)
    if start < 0:
        return None
    rest = text[start + len(key) :]
    return rest.split(",")[0].split("\n")[0].strip()


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


# -- memory ------------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"{field} is not in {_STATUS}")


def _trim_c_heap() -> None:
    # Memory NumPy and PyTorch freed may still be resident in glibc's heap, where the next call
    # would reuse it without raising the resident set; giving it back makes growth visible.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def memory_supported() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        _status_kib("VmHWM")
    except OSError:
        return False
    return True


def peak_rss_growth_mib(call: Callable[[], object]) -> float:
    """MiB by which the resident set peaked during `call()` above its level just before."""
    _trim_c_heap()
    _CLEAR_REFS.write_text("5")  # "5": reset the high-water mark (VmHWM) to the current RSS
    before = _status_kib("VmRSS")
    call()
    return max(_status_kib("VmHWM") - before, 0) / 1024
