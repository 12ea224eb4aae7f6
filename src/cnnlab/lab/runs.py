"""The runs the lab serves: every subfolder of `--runs` that holds a run's config.

A run is addressed by its id (the folder's name) and only through `RunRegistry.get`, which looks
the id up among the listed runs: a request never names a path. Each run's engine is loaded once;
when a run's config, checkpoint or evaluation changes on disk it is loaded again.

One run never takes the lab down: a run that cannot be loaded (a damaged file, a network too
large to hold: `check_size` runs before anything is built) or that fails to answer (`answering`)
stays listed as broken with its one-sentence reason, and the other runs keep answering.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnlab.errors import UserError
from cnnlab.rundir import CONFIG, EVALUATION, PROBABILITIES, RunDir

# Folder names the lab lists; anything else (hidden folders, odd characters) is ignored.
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


# The largest network the lab loads: its weights (float32) and one image's layer outputs. The
# test-set pass runs in batches that keep all layer outputs under TEST_PASS_VALUES.
MAX_PARAMETERS = 50_000_000  # 200 MB of weights
MAX_VALUES_PER_IMAGE = 4_000_000  # 16 MB of layer outputs for one image
TEST_PASS_VALUES = 50_000_000


class UnknownRunError(LookupError):
    """No listed run has this id."""


class UnusableAnswerError(Exception):
    """A run's answer cannot be shown; the message is the sentence saying why."""


class RunFailedError(Exception):
    """A run failed while answering; it is now listed as broken with the reason."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(f"the run {run_id} is broken: {reason}")
        self.run_id = run_id


@dataclass
class LabRun:
    """One run directory as the lab holds it: loaded engine, or the reason it is broken."""

    id: str
    path: Path
    stamp: tuple
    config: dict[str, Any] = field(default_factory=dict)
    engine: Any = None
    spec: Any = None
    error: str | None = None
    accuracy: float | None = None
    data: Any = None  # rundata.RunData: the run's data set, read from its config
    # One request at a time per engine: the NumPy layers keep their last forward pass.
    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: dict[str, Any] = field(default_factory=dict)  # test-set probabilities, once computed

    @property
    def ready(self) -> bool:
        return self.error is None

    @property
    def has_conv(self) -> bool:
        return self.spec is not None and self.spec.feature_layer is not None

    def summary(self) -> dict[str, Any]:
        """What GET /api/runs says about this run."""
        from cnnlab.lab.attribution import default_method, methods_of
        from cnnlab.training.engines import ENGINES

        engine = self.config.get("engine")
        return {
            "id": self.id,
            "model": self.config.get("model"),
            "engine": engine,
            "engine_label": ENGINES[engine].label if engine in ENGINES else engine,
            "architecture": self.spec.description if self.spec is not None else None,
            "test_accuracy": self.accuracy,
            "cam": ("cam" if self.spec.head else "gradcam") if self.has_conv else None,
            "methods": methods_of(self),
            "default_method": default_method(self.spec) if self.spec is not None else None,
            "data": self.data.summary() if self.data is not None else None,
            "broken": self.error is not None,
            "error": self.error,
        }


def _stamp(path: Path) -> tuple:
    """Modification times of the files whose change means the run must be loaded again."""
    names = [CONFIG, EVALUATION, PROBABILITIES, *_checkpoint_names()]
    return tuple((p.stat().st_mtime_ns if p.exists() else None) for p in (path / n for n in names))


def _checkpoint_names() -> list[str]:
    from cnnlab.training.engines import ENGINES

    return [engine.checkpoint_name for engine in ENGINES.values()]


def values_per_image(spec) -> int:
    """How many numbers one image's layer outputs take, from the inferred shapes."""
    from cnnlab.models.shapes import infer_shapes

    return sum(math.prod(layer.out_shape) for layer in infer_shapes(spec))


def check_size(spec) -> None:
    """UserError when the network is too large for the lab to hold, with the figures; checked
    from the spec alone, before any weight is allocated."""
    from cnnlab.models.shapes import parameter_count

    parameters, values = parameter_count(spec), values_per_image(spec)
    if parameters > MAX_PARAMETERS:
        raise UserError(
            f"its network has {parameters:,} parameters, more than the {MAX_PARAMETERS:,} "
            "the lab loads."
        )
    if values > MAX_VALUES_PER_IMAGE:
        raise UserError(
            f"its layers output {values:,} numbers for one image, more than the "
            f"{MAX_VALUES_PER_IMAGE:,} the lab computes."
        )


def load_run(path: Path, device: str = "cpu") -> LabRun:
    """Load one run directory; any failure becomes a broken run with its sentence."""
    from cnnlab.data.source import run_shape_and_classes
    from cnnlab.lab.rundata import run_data
    from cnnlab.models import resolve_spec

    run = LabRun(id=path.name, path=path, stamp=_stamp(path))
    try:
        run.config = RunDir(path).config()
        run.data = run_data(run.config)
        shape, classes = run_shape_and_classes(run.config)
        run.spec = resolve_spec(run.config["model"], run.config.get("arch"), shape, classes)
        check_size(run.spec)
        run.engine, run.config = RunDir(path).load_trained(device)
        evaluation = RunDir(path).evaluation()
    except UserError as err:
        run.error = str(err)
        return run
    except Exception as err:  # one run's damage must not take the lab down
        run.error = f"it cannot be loaded ({_what(err)})."
        return run
    if evaluation is not None and isinstance(evaluation.get("accuracy"), (int, float)):
        run.accuracy = float(evaluation["accuracy"])
    return run


def _what(err: BaseException) -> str:
    text = str(err).split("\n")[0][:200]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


@contextmanager
def answering(run: LabRun) -> Iterator[None]:
    """Around a run's model work: an unexpected failure marks the run broken (until its files
    change) and becomes RunFailedError; a UserError (the request's fault) passes through."""
    try:
        yield
    except UserError:
        raise
    except UnusableAnswerError as err:
        run.error = str(err)
        raise RunFailedError(run.id, run.error) from err
    except Exception as err:
        run.error = f"it failed to answer ({_what(err)})."
        raise RunFailedError(run.id, run.error) from err


def _display_order(run: LabRun) -> tuple:
    """Model by model, and within one model the engines in registry order, so twins sit side
    by side; broken runs last."""
    from cnnlab.training.engines import ENGINES

    engines = list(ENGINES)
    engine = run.config.get("engine")
    return (
        run.error is not None,
        str(run.config.get("model", "")),
        engines.index(engine) if engine in engines else len(engines),
        run.id,
    )


class RunRegistry:
    """The run directories under one folder, loaded once and reloaded when they change."""

    def __init__(
        self,
        runs_dir: str | Path,
        device: str = "cpu",
        on_load: Callable[[LabRun], None] | None = None,
    ) -> None:
        self.runs_dir = Path(runs_dir)
        self.device = device
        self.on_load = on_load  # called with each run loaded ready (the lab warms it up)
        self._runs: dict[str, LabRun] = {}
        self._lock = threading.Lock()
        self.refresh()

    def _run_folders(self) -> list[Path]:
        if not self.runs_dir.is_dir():
            return []
        return sorted(
            p
            for p in self.runs_dir.iterdir()
            if p.is_dir() and RUN_ID.fullmatch(p.name) and (p / CONFIG).is_file()
        )

    def refresh(self) -> None:
        """Load new runs, reload changed ones, forget removed ones (a few stat calls a run)."""
        with self._lock:
            fresh = {}
            for path in self._run_folders():
                known = self._runs.get(path.name)
                if known is not None and known.stamp == _stamp(path):
                    fresh[path.name] = known
                else:
                    fresh[path.name] = run = load_run(path, self.device)
                    if run.ready and self.on_load is not None:
                        self.on_load(run)
            self._runs = fresh

    def runs(self) -> list[LabRun]:
        """Every listed run, twins side by side, broken ones last."""
        return sorted(self._runs.values(), key=_display_order)

    def ready(self) -> list[LabRun]:
        return [run for run in self.runs() if run.ready]

    def get(self, run_id: str) -> LabRun:
        """The run listed under `run_id`; UnknownRunError for any other string."""
        run = self._runs.get(run_id)
        if run is None:
            raise UnknownRunError(run_id)
        return run
