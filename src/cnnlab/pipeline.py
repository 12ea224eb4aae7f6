"""`run_comparison`: the whole five-network comparison of the original report, and more.

Train (or reuse) every model/engine pair, evaluate each on the test set, draw CAM and Grad-CAM
of the CNNs on the same test image, and build the report. Every step reads and writes run
directories, so a second `cnnlab run` reuses what is finished and continues what was cut off.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.fileio import make_dir, refuse_symlink
from cnnlab.models import COMPARISON_MODELS
from cnnlab.outdir import OutputDir
from cnnlab.pipeline_analysis import clock as _clock
from cnnlab.pipeline_analysis import draw_pictures, evaluate_runs
from cnnlab.pipeline_analysis import progress as _progress
from cnnlab.rundir import RunDir
from cnnlab.runlock import locked, refuse_busy
from cnnlab.text import count_noun
from cnnlab.time_left import TimeLeft
from cnnlab.training.config import TrainConfig
from cnnlab.training.engines import REFERENCE, SCRATCH, available, engine_class
from cnnlab.training.leftovers import remove_output_leftovers
from cnnlab.training.run_settings import check_reuse

MODELS = COMPARISON_MODELS
ENGINES = (SCRATCH, REFERENCE)  # the default comparison: the NumPy engine and its PyTorch twin
# The quick profile: a few thousand images, one epoch, every step of the pipeline.
QUICK = {"epochs": 1, "train_size": 3000, "val_size": 500}
SUMMARY = "summary.json"
RunKey = tuple[str, str, int]  # (model, engine, seed)


@dataclass
class RunPlan:
    models: tuple[str, ...] = MODELS
    engines: tuple[str, ...] = ENGINES
    out: Path = Path("runs")
    quick: bool = False
    epochs: int | None = None
    force: bool = False
    threads: int = 0
    data_dir: str | None = None
    dataset: str = "mnist"  # a named set of cnnlab.data.datasets, or a folder of pictures
    folder: dict = field(default_factory=dict)  # a folder's image_size, channels, test_fraction
    quiet: bool = False
    # None: the single seed 0 in directories named `cnn2-scratch`; a tuple: `cnn2-scratch-s3`
    seeds: tuple[int, ...] | None = None
    train_size: int | None = None
    val_size: int | None = None
    workers: int = 1  # trainings at once in local processes
    scheduler: str | None = None  # tcp://HOST:PORT of a Dask scheduler
    archs: dict[str, str] = field(default_factory=dict)  # name in `models` -> its --arch string
    sanity_images: int | None = None  # None: 100, or 5 for --quick/--train-size; 0: none
    skipped: list[str] = field(default_factory=list)
    started: float = 0.0  # perf_counter() when the run began, for the progress lines

    def pairs(self) -> list[tuple[str, str]]:
        return [(m, e) for e in self.engines for m in self.models]

    def runs(self) -> list[RunKey]:
        """Every (model, engine, seed) to train, seed by seed so early seeds finish first."""
        return [(m, e, s) for s in self.seeds or (0,) for m, e in self.pairs()]

    def sanity_count(self) -> int:
        """Test images for the report's attribution checks (`cnnlab.explain.trust_runs`)."""
        from cnnlab.explain.trust_runs import DEFAULT_IMAGES, SMOKE_IMAGES

        if self.sanity_images is not None:
            return self.sanity_images
        return SMOKE_IMAGES if self.quick or self.train_size is not None else DEFAULT_IMAGES

    def run_name(self, key: RunKey) -> str:
        model, engine, seed = key
        return f"{model}-{engine}" if self.seeds is None else f"{model}-{engine}-s{seed}"


def _config(plan: RunPlan, key: RunKey) -> TrainConfig:
    model, engine, seed = key
    extra = dict(QUICK) if plan.quick else {}
    if plan.epochs is not None:
        extra["epochs"] = plan.epochs
    for size in ("train_size", "val_size"):
        if getattr(plan, size) is not None:
            extra[size] = getattr(plan, size)
    return TrainConfig(
        model=model,
        arch=plan.archs.get(model),
        engine=engine,
        seed=seed,
        name=plan.run_name(key),
        out=str(plan.out),
        threads=plan.threads,
        data_dir=plan.data_dir,
        dataset=plan.dataset,
        **plan.folder,
        **extra,
    )


def _state(cfg: TrainConfig, run: RunDir) -> str:
    """'new', 'finished' (reusable), or 'unfinished' (resumable)."""
    if not run.has_run():
        return "new"
    # the settings that must match are the ones a resume checks (training.run_settings)
    more_epochs = check_reuse(run.config(), cfg.resolved(), run.path)
    if run.status()["complete"] and not more_epochs:
        return "finished"
    # killed before its first checkpoint: nothing to continue, so it starts over (--force)
    return "unfinished" if run.checkpoint(cfg.engine).is_file() else "new"


def _drop_missing_engines(plan: RunPlan) -> None:
    for name in [e for e in plan.engines if not available(e)]:
        plan.engines = tuple(e for e in plan.engines if e != name)
        plan.skipped.append(
            f"the {engine_class(name).label} rows were skipped: its library is not installed "
            f"(pip install 'cnnlab[{name}]', or `make run`, installs it)"
        )
        print(f"note: {plan.skipped[-1]}", file=sys.stderr)


def _label(key: RunKey, plan: RunPlan) -> str:
    model, engine, seed = key
    return f"{model} · {engine}" + ("" if plan.seeds is None else f" · seed {seed}")


def _train_serially(
    plan: RunPlan, configs: dict, states: dict, started: float, left: TimeLeft
) -> None:
    """Today's path: one training at a time, in place, with progress bars."""
    from cnnlab.training.trainer import train

    keys = list(configs)
    epochs_of = {k: cfg.resolved().epochs for k, cfg in configs.items()}
    for index, key in enumerate(keys, start=1):
        header = (index, len(keys), _label(key, plan))
        if states[key] == "finished":
            _progress(*header, "finished earlier, reused", started, left.seconds())
            continue
        training = f"training {count_noun(epochs_of[key], 'epoch')}"
        what = "resuming" if states[key] == "unfinished" else training
        _progress(*header, what, started, left.seconds())
        began = time.perf_counter()
        train(
            configs[key],
            resume=states[key] == "unfinished",
            force=plan.force or states[key] == "new",
            quiet=plan.quiet,
        )
        left.trained(epochs_of[key], time.perf_counter() - began)


def _train_in_grid(plan: RunPlan, configs: dict, states: dict, started: float) -> dict:
    """Trainings side by side (processes or Dask); returns {key: one sentence} of failures."""
    from dataclasses import asdict

    from cnnlab.grid.executors import GridTask, run_in_processes, run_on_dask
    from cnnlab.grid.tasks import pack_run

    tasks, key_of = [], {}
    for index, (key, cfg) in enumerate(configs.items(), start=1):
        label = _label(key, plan)
        if states[key] == "finished":
            _progress(index, len(configs), label, "finished earlier, reused", started, None)
            continue
        config = asdict(cfg)
        if plan.scheduler:
            config["data_dir"] = None  # no shared filesystem: each worker's own $CNNLAB_DATA
        elif not plan.threads:
            config["threads"] = max(1, (os.cpu_count() or 1) // plan.workers)
        resume = states[key] == "unfinished"
        files = pack_run(plan.out / cfg.name) if resume else {}
        tasks.append(GridTask(cfg.name, label, config, files))
        key_of[cfg.name] = key
    if not tasks:
        return {}

    def log(line: str) -> None:
        print(f"[{_clock(time.perf_counter() - started)}] {line}", flush=True)

    if plan.scheduler:
        result = run_on_dask(tasks, plan.scheduler, plan.out, log)
    else:
        result = run_in_processes(tasks, plan.workers, plan.out, log)
    return {key_of[name]: sentence for name, sentence in result.failed.items()}


def run_comparison(plan: RunPlan) -> dict:
    """Train/evaluate/visualise every run; returns {"runs", "report", "summary", ...}."""
    _drop_missing_engines(plan)
    keys = plan.runs()
    if not keys:
        raise UserError("nothing to run: no model/engine pair is left.")
    make_dir(plan.out)
    configs = {k: _config(plan, k) for k in keys}
    _check_outputs(plan)  # summary, report and figures: every target before anything is written
    # What `train` checks before it writes, for every run before any lock file is written into
    # it or any training queued (the grid too): a user's folder, a link in cnnlab's place.
    for run in [RunDir(plan.out / cfg.name) for cfg in configs.values()]:
        refuse_symlink(run.path)
        run.check_trainable()
        run.check_links()
    # One `cnnlab run` per --out at a time (its lock file in --out). Each run directory is held
    # only while it is trained, evaluated or installed: 10,000 seeds hold one lock at a time.
    refuse_busy(plan.out / cfg.name for cfg in configs.values())
    with locked(plan.out):
        remove_output_leftovers(plan.out, [cfg.name for cfg in configs.values()])  # of a kill
        return _run_all(plan, keys, configs)


def _check_outputs(plan: RunPlan) -> None:
    """A UserError before any training when a file `run` writes into --out is the user's."""
    from cnnlab.analysis.cam_runs import COMPARISON_FILE, DISAGREEMENT_FILE
    from cnnlab.report import targets

    html = plan.out / "report.html"
    md = targets.markdown_target(html, None, [])  # the user's report.md: no twin, as before
    outputs = targets.report_outputs(html, md, plan.models, plan.out)
    from cnnlab.explain.trust_runs import FILES as TRUST_FILES

    outputs[plan.out] += [SUMMARY, COMPARISON_FILE, DISAGREEMENT_FILE, *TRUST_FILES]
    targets.check_outputs(outputs)


def _check_epochs(plan: RunPlan, keys: list[RunKey], configs: dict) -> float:
    """The first seed's attribution checks still to run (no current sanity.json), in epochs."""
    from cnnlab.explain.trust_runs import current_sanity, expected_epochs

    images = plan.sanity_count()
    if images == 0:
        return 0.0
    first = [k for k in keys if k[2] == keys[0][2]]
    checks = sum(current_sanity(plan.out / configs[k].name, images) is None for k in first)
    return expected_epochs(checks, images)


def _run_all(plan: RunPlan, keys: list[RunKey], configs: dict) -> dict:
    from cnnlab.analysis.grid_summary import grid_summary  # SciPy: not for every --help
    from cnnlab.report import build_report

    started = plan.started = time.perf_counter()
    # Decide up front what is reused, so the time-left estimate counts only epochs still to train.
    states = {
        k: "new" if plan.force else _state(cfg, RunDir(plan.out / cfg.name))
        for k, cfg in configs.items()
    }
    # Only epochs still to train, runs still to evaluate and checks still to run count towards
    # the time left.
    left = TimeLeft(
        sum(cfg.resolved().epochs for k, cfg in configs.items() if states[k] != "finished"),
        sum(
            states[k] != "finished" or RunDir(plan.out / cfg.name).evaluation() is None
            for k, cfg in configs.items()
        ),
        _check_epochs(plan, keys, configs),
    )
    failed = {}
    if plan.scheduler or plan.workers > 1:
        failed = _train_in_grid(plan, configs, states, started)
    else:
        _train_serially(plan, configs, states, started, left)
    plan.skipped.extend(failed.values())
    done = [k for k in keys if k not in failed]
    if not done:
        raise UserError("every training failed: " + " ".join(failed.values()))
    run_dirs = [plan.out / configs[k].name for k in done]
    evaluate_runs(run_dirs, [_label(k, plan) for k in done], [states[k] for k in done], plan, left)
    first_runs = [d for d, (_, _, s) in zip(run_dirs, done, strict=True) if s == done[0][2]]
    draw_pictures(first_runs, plan)  # CAM and attribution checks of the first seed's runs
    summary = grid_summary(run_dirs, plan.data_dir)
    OutputDir(plan.out).write_json(SUMMARY, summary)
    html, md = build_report(
        run_dirs, plan.out / "report.html", plan.out / "report.md", plan.out, statistics=summary
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
    return {
        "runs": run_dirs,
        "report": html,
        "markdown": md,
        "summary": summary,
        "seconds": time.perf_counter() - started,
        "peak_memory_mb": peak_mb,
        "skipped": plan.skipped,
        "failed": list(failed.values()),
    }
