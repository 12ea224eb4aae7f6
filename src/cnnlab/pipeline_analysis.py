"""The analysis half of `cnnlab run`: evaluate every run, then draw the first seed's pictures.

`pipeline.py` trains; this module takes the finished run directories from there. The progress
line lives here too, since both halves print it.
"""

from __future__ import annotations

import time
from pathlib import Path

from cnnlab.runlock import locked_all
from cnnlab.text import text_table


def progress(index: int, total: int, label: str, what: str, started: float, left: float | None):
    """One line per step; `left`: the seconds `TimeLeft` expects, None before anything was timed."""
    elapsed = time.perf_counter() - started
    tail = "" if left is None else f", about {clock(left)} left"
    print(f"[{index}/{total}] {label}: {what} (elapsed {clock(elapsed)}{tail})", flush=True)


def clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 60}:{seconds % 60:02d}"


def evaluate_runs(run_dirs: list[Path], labels: list[str], states: list[str], plan, left) -> None:
    """Evaluate each run that is new or whose evaluation is missing or stale (`RunDir`
    shows only an evaluation of the checkpoint on disk); `left` is the pipeline's `TimeLeft`."""
    from cnnlab.analysis.evaluation import evaluate_run
    from cnnlab.rundir import RunDir

    for index, (run_dir, label, state) in enumerate(zip(run_dirs, labels, states, strict=True), 1):
        if state == "finished" and RunDir(run_dir).evaluation() is not None:
            continue
        what = "evaluating on its test set"
        progress(index, len(run_dirs), label, what, plan.started, left.seconds())
        began = time.perf_counter()
        evaluate_run(run_dir, plan.data_dir, quiet=True)
        left.evaluated(time.perf_counter() - began)


def has_feature_map(run_dir: Path) -> bool:
    """Whether the run's network has a last conv feature map (CAM and Grad-CAM need one): its
    spec is rebuilt from its config, for the images and classes it trained on."""
    from cnnlab.data.source import run_shape_and_classes
    from cnnlab.models import resolve_spec
    from cnnlab.rundir import RunDir

    config = RunDir(run_dir).config()
    shape, classes = run_shape_and_classes(config)
    spec = resolve_spec(config["model"], config.get("arch"), shape, classes)
    return spec.feature_layer is not None


def draw_pictures(first_runs: list[Path], plan) -> None:
    """CAM of the first seed's CNNs (one row per run stays readable), then the attribution
    checks ("Which picture can you trust?") of every first-seed run."""
    from cnnlab.analysis.cam_runs import draw_comparison_cams
    from cnnlab.training.leftovers import remove_leftovers

    with locked_all(first_runs):  # a reused run gets no train or evaluate to tidy it
        for run_dir in first_runs:
            remove_leftovers(run_dir)  # what a command killed in these steps left
    cnn_runs = [d for d in first_runs if has_feature_map(d)]
    if cnn_runs:
        with locked_all(cnn_runs):  # their cam/ folders are written
            draw_comparison_cams(cnn_runs, out_dir=plan.out, data_dir=plan.data_dir)
    if plan.sanity_count() > 0:
        from cnnlab.explain.trust_runs import trust_step

        print("Which picture can you trust? attribution checks of every network", flush=True)
        with locked_all(first_runs):  # each run's sanity.json is written
            trust_step(first_runs, plan.out, plan.data_dir, plan.sanity_count())


def comparison_table(rows: list[dict]) -> str:
    """The printed table of `cnnlab run`: one row per run."""

    def percent(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.2f}%"

    cells = [
        [
            row["model"],
            row["engine"],
            row.get("seed", 0),
            percent(row["test_accuracy"]),
            percent(row["best_val_accuracy"]),
            row["epochs"],
            "-" if row["seconds_per_epoch"] is None else f"{row['seconds_per_epoch']:.1f}",
            f"{row['parameters']:,}",
        ]
        for row in rows
    ]
    headers = ["model", "engine", "seed", "test acc", "best val", "epochs", "s/epoch", "params"]
    return text_table(headers, cells, "llrrrrrr")
