"""`cnnlab bench`: the NumPy engine's speed beside PyTorch (and Keras) on the CPU, in one process.

Per model and engine, on MNIST batches made the way the training loop makes them (real digits
when MNIST is on this machine, else synthetic look-alikes; see `make_inputs`):

- train step: one `engine.train_step(x, y)` at batch 64 -- forward, loss, backward and the Adam
  update, exactly the call the training loop makes;
- inference: one `engine.logits(x)` on 1,000 images, the batch `evaluate` uses.

Each figure is the median over many calls, after warm-up calls. The engines take turns of a few
calls each (10 training steps, 2 inference batches), and the engine that goes first rotates from
round to round, so a burst of load from another process on a shared machine slows every engine
alike instead of one of them: the scratch/PyTorch ratios are the figures to read, the
milliseconds are what this machine gave. Why turns and not single calls: after a call, NumPy's
OpenBLAS threads and PyTorch's OpenMP threads keep spinning for a while, and the other engine's
next call pays for it; alternating call by call measured cnn2 at 0.70 of PyTorch on 2 cores where
turns of 5 to 25 steps all gave 1.10-1.13. So the first call of every turn is not timed.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from cnnlab.errors import UserError
from cnnlab.models import MODEL_NAMES
from cnnlab.training.engines import ENGINES

DEFAULT_ENGINES = tuple(ENGINES)
TARGET_RATIO = 1.5  # scratch / PyTorch, per model and phase (the target)
TURN = {"train": 10, "inference": 2}  # timed calls per engine per turn, after one untimed
MAX_BATCHES = 256  # distinct training batches; a longer run takes them again
MEMORY_METHOD = (
    "peak RSS growth: the process's resident-set high-water mark (VmHWM) during one call of that "
    "engine alone, minus its resident set (VmRSS) just before; the C heap is trimmed "
    "(malloc_trim) and the high-water mark reset (/proc/self/clear_refs) first"
)
_STATUS, _CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class BenchSettings:
    models: tuple[str, ...] = MODEL_NAMES
    engines: tuple[str, ...] = tuple(ENGINES)
    batch_size: int = 64
    steps: int = 50  # timed training steps per engine and model
    warmup: int = 3  # untimed calls per engine before each phase
    inference_batches: int = 10  # timed inference calls per engine and model
    inference_batch_size: int = 1000
    threads: int = 0  # 0: every core
    seed: int = 0
    archs: tuple[tuple[str, str], ...] = ()  # (name in `models`, its architecture string)

    def spec(self, model: str):
        """The spec of `model`: a built-in, or one of `archs`."""
        from cnnlab.models import resolve_spec

        return resolve_spec(model, dict(self.archs).get(model))

    def checked(self) -> BenchSettings:
        """A copy with `threads` resolved; raises UserError on a name or number that cannot be."""
        for kind, names, known in (
            ("model", self.models, MODEL_NAMES + tuple(dict(self.archs))),
            ("engine", self.engines, tuple(ENGINES)),
        ):
            for name in names:
                if name not in known:
                    raise UserError(f"unknown {kind} {name!r}; choose from {', '.join(known)}.")
        if not self.models or not self.engines:
            raise UserError("--models and --engines each need at least one name.")
        for flag, value, least in (
            ("--batch-size", self.batch_size, 1),
            ("--steps", self.steps, 1),
            ("--warmup", self.warmup, 0),
            ("--inference-batches", self.inference_batches, 1),
            ("--inference-batch-size", self.inference_batch_size, 1),
            ("--threads", self.threads, 0),
        ):
            if value < least:
                raise UserError(f"{flag} must be at least {least}, got {value}.")
        threads = self.threads or os.cpu_count() or 1
        return BenchSettings(**(asdict(self) | {"threads": threads}))


def available_engines(
    requested: Sequence[str], keras_optional: bool
) -> tuple[list[str], list[str]]:
    """(engines to run, notes): Keras is dropped with a note when optional and not importable."""
    from cnnlab.training.engines import KerasEngine, engine_class

    engines, notes = [], []
    for name in requested:
        try:
            engine_class(name).require()
        except UserError as err:
            if name != KerasEngine.name or not keras_optional:
                raise
            notes.append(f"{name} left out: {err}")
            continue
        engines.append(name)
    return engines, notes


@contextlib.contextmanager
def engine_threads(n: int) -> Iterator[None]:
    """`n` threads for NumPy's BLAS (threadpoolctl) and for PyTorch (and so Keras), then back."""
    from threadpoolctl import threadpool_limits

    torch = _torch_or_none()
    previous = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield
    finally:
        if torch:
            torch.set_num_threads(previous)


def _torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


def environment() -> dict:
    """Versions, the BLAS libraries and the thread counts in force now, the machine's load."""
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "prefix", "version", "architecture", "threading_layer", "num_threads")
    blas = [
        {k: info.get(k) for k in keys} for info in threadpool_info() if info["user_api"] == "blas"
    ]
    env = {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "load_average_before": list(os.getloadavg()),
    }
    torch = _torch_or_none()
    if torch:
        build = torch.__config__.show()
        env["torch"] = {
            "version": torch.__version__,
            "num_threads": torch.get_num_threads(),
            "blas": _config_value(build, "BLAS_INFO="),
            "cpu_capability": _config_value(build, "CPU capability usage:"),
        }
    with contextlib.suppress(PackageNotFoundError):
        env["keras"] = version("keras")
    return env


def _config_value(text: str, key: str) -> str | None:
    """The value after `key` in `torch.__config__.show()`, up to the next comma or line end."""
    start = text.find(key)
    if start < 0:
        return None
    rest = text[start + len(key) :]
    return rest.split(",")[0].split("\n")[0].strip()


def _cpu_model() -> str:
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


# -- timing ------------------------------------------------------------------------------------


def take_turns(
    calls: dict[str, Callable[[], object]], count: int, turn: int
) -> dict[str, list[float]]:
    """Seconds of `count` calls of each engine, in turns of one untimed call and `turn` timed
    ones (the untimed call pays for the previous engine's threads); the first engine rotates."""
    names = list(calls)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(-(-count // turn)):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            calls[name]()
            for _ in range(min(turn, count - r * turn)):
                start = time.perf_counter()
                calls[name]()
                seconds[name].append(time.perf_counter() - start)
    return seconds


@dataclass(frozen=True)
class Inputs:
    batches: list[tuple[np.ndarray, np.ndarray]]  # x (B, 1, 28, 28) float32, y (B,) int64
    images: np.ndarray  # the inference batch (N, 1, 28, 28) float32
    source: str  # what the images are, for the report


def make_inputs(settings: BenchSettings, data_dir: str | None = None) -> Inputs:
    """Batches exactly as the training loop makes them, a new one for every training call.

    Real MNIST when it is on this machine (`data_dir`, $CNNLAB_DATA or the cache; never
    downloaded), else synthetic digit-like images; normalized once, then batched by
    `iterate_batches`, as the trainer does; the inference batch is a slice of a normalized
    array, as `evaluate` takes it. Both matter to PyTorch, not to NumPy:
    - its max-pool branches on the data: on N(0, 1) noise its forward took 181 ms over 60 cnn3
      steps against 35 ms on real digits;
    - the batch's strides pick its memory format: `iterate_batches` gathers with fancy indexing,
      which gives the channel axis (of size 1) a stride of one element, so PyTorch takes the
      batch for channels-last and runs the whole network in oneDNN's NHWC path: a cnn3 step took
      14 ms on such batches against 18.5 ms on sliced ones (stride 0 or 784 there).
    """
    from cnnlab.data import iterate_batches, load_mnist, normalize

    rng = np.random.default_rng(settings.seed)
    calls = settings.warmup + settings.steps + -(-settings.steps // TURN["train"]) + 1
    n_train = min(calls, MAX_BATCHES) * settings.batch_size
    n_test = settings.inference_batch_size
    try:
        mnist = load_mnist(data_dir, download=False, progress=False)
    except UserError:
        if data_dir is not None:
            raise
        mnist = None
    if mnist is not None:
        pick = rng.choice(
            len(mnist.train_labels), n_train, replace=n_train > len(mnist.train_labels)
        )
        train, labels = mnist.train_images[pick], mnist.train_labels[pick].astype(np.int64)
        test = mnist.test_images[np.arange(n_test) % len(mnist.test_labels)]
        source = "real MNIST (training images, batched by iterate_batches; test images)"
    else:
        train, test = synthetic_digits(rng, n_train), synthetic_digits(rng, n_test)
        labels = rng.integers(0, 10, n_train, dtype=np.int64)
        source = (
            "synthetic digit-like images (MNIST is not on this machine; "
            "`cnnlab data download` fetches it)"
        )
    batches = iterate_batches(
        normalize(train), labels, settings.batch_size, seed=settings.seed, epoch=0
    )
    return Inputs(list(batches), normalize(test), source)


def synthetic_digits(rng: np.random.Generator, n: int) -> np.ndarray:
    """uint8 (n, 28, 28): soft blobs on a black background, lit on ~19% of pixels like MNIST."""
    coarse = rng.random((n, 7, 7), dtype=np.float32)
    up = np.kron(coarse, np.ones((4, 4), dtype=np.float32))  # (n, 28, 28), 4x4 blocks
    padded = np.pad(up, ((0, 0), (1, 1), (1, 1)), mode="edge")
    smooth = sum(padded[:, i : i + 28, j : j + 28] for i in range(3) for j in range(3)) / 9
    cut = np.quantile(smooth, 0.81, axis=(1, 2), keepdims=True)
    top = smooth.max(axis=(1, 2), keepdims=True)
    lit = np.clip((smooth - cut) / np.maximum(top - cut, 1e-6), 0, 1)
    return (255 * lit).astype(np.uint8)


def _cycle(engine, batches) -> Callable[[], object]:
    """A training step that takes the next of `batches`, round and round."""
    pending = itertools.cycle(batches)
    return lambda: engine.train_step(*next(pending))


def measure_model(
    model: str, engines: Sequence[str], settings: BenchSettings, inputs: Inputs
) -> list[dict]:
    """One record per (phase, engine): median, quartiles, images/s and peak RSS growth."""
    from cnnlab.training.engines import make_engine

    batches, images = inputs.batches, inputs.images
    spec = settings.spec(model)
    built = {e: make_engine(spec, e, seed=settings.seed, optimizer="adam") for e in engines}
    phases = {
        "train": (
            {e: _cycle(built[e], batches) for e in engines},
            settings.steps,
            len(batches[0][1]),
        ),
        "inference": (
            {e: partial(built[e].logits, images) for e in engines},
            settings.inference_batches,
            len(images),
        ),
    }
    track_memory = memory_supported()
    records = []
    for phase, (calls, count, size) in phases.items():
        for call in calls.values():
            for _ in range(settings.warmup):
                call()
        seconds = take_turns(calls, count, TURN[phase])
        for engine in engines:
            q1, median, q3 = (float(v) for v in np.percentile(seconds[engine], [25, 50, 75]))
            memory = peak_rss_growth_mib(calls[engine]) if track_memory else None
            records.append(
                {
                    "model": model,
                    "phase": phase,
                    "engine": engine,
                    "images": size,
                    "calls": len(seconds[engine]),
                    "median_ms": 1e3 * median,
                    "q1_ms": 1e3 * q1,
                    "q3_ms": 1e3 * q3,
                    "images_per_second": size / median,
                    "peak_rss_growth_mib": memory,
                }
            )
    return records


def ratios(records: Sequence[dict]) -> list[dict]:
    """scratch / torch median per (model, phase), where both engines ran."""
    median = {(r["model"], r["phase"], r["engine"]): r["median_ms"] for r in records}
    out = []
    for model, phase, engine in median:
        if engine == "scratch" and (model, phase, "torch") in median:
            ratio = median[model, phase, "scratch"] / median[model, phase, "torch"]
            out.append(
                {
                    "model": model,
                    "phase": phase,
                    "scratch_over_torch": ratio,
                    "met": ratio <= TARGET_RATIO,
                }
            )
    return out


def scratch_chunks(settings: BenchSettings, inference_images: int) -> dict[str, dict[str, int]]:
    """Per model, how many chunks `DataParallel` splits a training batch and an inference batch
    into at the thread count in force (each chunk runs on its own thread)."""
    from cnnlab.training.engines import make_engine

    out = {}
    for model in settings.models:
        parallel = make_engine(settings.spec(model), "scratch", seed=settings.seed).parallel
        out[model] = {
            "train": parallel.chunks_for(settings.batch_size),
            "inference": parallel.chunks_for(inference_images),
        }
    return out


def run_bench(settings: BenchSettings, engines: Sequence[str], inputs: Inputs, log=print) -> dict:
    """Time every model in every engine (threads already set, see `engine_threads`)."""
    env = environment()
    records = []
    for model in settings.models:
        log(f"bench: {model} in {', '.join(engines)}")
        records += measure_model(model, engines, settings, inputs)
    return {
        "settings": asdict(settings) | {"engines": list(engines), "turn": TURN},
        "scratch_chunks": scratch_chunks(settings, len(inputs.images))
        if "scratch" in engines
        else {},
        "target_ratio": TARGET_RATIO,
        "environment": env,
        "inputs": inputs.source,
        "memory_method": MEMORY_METHOD if memory_supported() else None,
        "results": records,
        "ratios": ratios(records),
    }
