"""`run_comparison`: the whole five-network comparison of the original report, and more.

Train (or reuse) every model/engine pair, evaluate each on the test set, draw CAM and Grad-CAM
of the CNNs on the same test image, and build the report. Every step reads and writes run
directories, so a second `cnnlab run` reuses what is finished and continues what was cut off.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.fileio import write_json
from cnnlab.models import resolve_spec
from cnnlab.rundir import RunDir
from cnnlab.training.config import MODEL_DEFAULTS, TrainConfig
from cnnlab.training.engines import REFERENCE, SCRATCH, available, engine_class

MODELS = ("cnn2", "cnn3", "mlp3")
ENGINES = (SCRATCH, REFERENCE)  # the default comparison: the NumPy engine and its PyTorch twin
# The quick profile: a few thousand images, one epoch, every step of the pipeline.
QUICK = {"epochs": 1, "train_size": 3000, "val_size": 500}
# Settings that must match for a finished run directory to be reused.
REUSE_KEYS = (
    "epochs", "batch_size", "optimizer", "lr", "lr_schedule", "seed", "train_size", "arch"
)  # fmt: skip


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
    quiet: bool = False
    archs: dict[str, str] = field(default_factory=dict)  # name in `models` -> its --arch string
    skipped: list[str] = field(default_factory=list)

    def pairs(self) -> list[tuple[str, str]]:
        return [(m, e) for e in self.engines for m in self.models]


def _config(plan: RunPlan, model: str, engine: str) -> TrainConfig:
    extra = dict(QUICK) if plan.quick else {}
    if plan.epochs is not None:
        extra["epochs"] = plan.epochs
    return TrainConfig(
        model=model,
        arch=plan.archs.get(model),
        engine=engine,
        out=str(plan.out),
        threads=plan.threads,
        data_dir=plan.data_dir,
        **extra,
    )


def _state(cfg: TrainConfig, run: RunDir) -> str:
    """'new', 'finished' (reusable), or 'unfinished' (resumable)."""
    if not run.has_run():
        return "new"
    saved, wanted = run.config(), cfg.resolved()
    different = [k for k in REUSE_KEYS if saved.get(k) != getattr(wanted, k)]
    if different:
        raise UserError(
            f"{run.path} holds a run with other settings ({', '.join(different)}); "
            "add --force to retrain it, or choose another --out."
        )
    return "finished" if run.status()["complete"] else "unfinished"


def _progress(index: int, total: int, label: str, what: str, started: float, done_fraction):
    elapsed = time.perf_counter() - started
    left = ""
    if done_fraction > 0:
        left = f", about {_clock(elapsed / done_fraction - elapsed)} left"
    print(f"[{index}/{total}] {label}: {what} (elapsed {_clock(elapsed)}{left})", flush=True)


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 60}:{seconds % 60:02d}"


def run_comparison(plan: RunPlan) -> dict:
    """Train/evaluate/visualise every pair; returns {"runs", "report", "summary", ...}."""
    from cnnlab.analysis.cam_runs import draw_cams
    from cnnlab.analysis.evaluation import evaluate_run
    from cnnlab.report import build_report, summary_rows
    from cnnlab.training.trainer import train

    for name in [e for e in plan.engines if not available(e)]:
        plan.engines = tuple(e for e in plan.engines if e != name)
        plan.skipped.append(
            f"the {engine_class(name).label} rows were skipped: its library is not installed "
            f"(pip install 'cnnlab[{name}]', or `make run`, installs it)"
        )
        print(f"note: {plan.skipped[-1]}", file=sys.stderr)
    pairs = plan.pairs()
    if not pairs:
        raise UserError("nothing to run: no model/engine pair is left.")
    plan.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    configs = {p: _config(plan, *p) for p in pairs}
    # Decide up front what is reused, so the time-left estimate counts only epochs still to train.
    states = {
        p: "new" if plan.force else _state(cfg, RunDir(plan.out / f"{p[0]}-{p[1]}"))
        for p, cfg in configs.items()
    }
    epochs_of = {p: cfg.resolved().epochs for p, cfg in configs.items()}
    to_train = sum(epochs_of[p] for p in pairs if states[p] != "finished") or 1
    trained = 0
    run_dirs = []
    for index, (model, engine) in enumerate(pairs, start=1):
        run_dir = plan.out / f"{model}-{engine}"
        label = f"{model} · {engine}"
        state = states[(model, engine)]
        header = (index, len(pairs), label)
        if state == "finished":
            _progress(*header, "finished earlier, reused", started, trained / to_train)
        else:
            epochs = epochs_of[(model, engine)]
            what = "resuming" if state == "unfinished" else f"training {epochs} epochs"
            _progress(*header, what, started, trained / to_train)
            train(
                configs[(model, engine)],
                resume=state == "unfinished",
                force=plan.force,
                quiet=plan.quiet,
            )
            trained += epochs
        if state != "finished" or RunDir(run_dir).evaluation() is None:
            _progress(*header, "evaluating on 10,000 test images", started, trained / to_train)
            evaluate_run(run_dir, plan.data_dir, quiet=True)
        run_dirs.append(run_dir)

    has_map = {m: resolve_spec(m, plan.archs.get(m)).feature_layer is not None for m, _ in pairs}
    cnn_runs = [d for d, (m, _) in zip(run_dirs, pairs, strict=True) if has_map[m]]
    if cnn_runs:
        print("CAM and Grad-CAM of the CNNs on test image 0", flush=True)
        draw_cams(cnn_runs, index=0, out_dir=plan.out, data_dir=plan.data_dir)
    rows = summary_rows(run_dirs)
    summary = [
        {
            k: row[k]
            for k in (
                "model",
                "engine",
                "test_accuracy",
                "best_val_accuracy",
                "epochs",
                "seconds_per_epoch",
                "parameters",
                "run_dir",
            )
        }
        for row in rows
    ]
    write_json(plan.out / "summary.json", summary)
    html, md = build_report(run_dirs, plan.out / "report.html", plan.out / "report.md", plan.out)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
    return {
        "runs": run_dirs,
        "report": html,
        "markdown": md,
        "summary": summary,
        "seconds": time.perf_counter() - started,
        "peak_memory_mb": peak_mb,
        "skipped": plan.skipped,
    }


def comparison_table(summary: list[dict]) -> str:
    lines = [
        f"{'model':<6} {'engine':<8} {'test acc':>9} {'best val':>9} {'epochs':>6} "
        f"{'s/epoch':>8} {'params':>8}"
    ]
    for row in summary:
        acc = row["test_accuracy"]
        val = row["best_val_accuracy"]
        spe = row["seconds_per_epoch"]
        lines.append(
            f"{row['model']:<6} {row['engine']:<8} "
            f"{(f'{100 * acc:.2f}%' if acc is not None else '-'):>9} "
            f"{(f'{100 * val:.2f}%' if val is not None else '-'):>9} "
            f"{row['epochs']:>6} {(f'{spe:.1f}' if spe is not None else '-'):>8} "
            f"{row['parameters']:>8,}"
        )
    return "\n".join(lines)


def default_epochs_note() -> str:
    return ", ".join(f"{m}: {v['epochs']}" for m, v in MODEL_DEFAULTS.items())
