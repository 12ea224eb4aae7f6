"""The report: one self-contained HTML page, and a Markdown twin, built from run directories.

Only the files of the run directories are read (docs/run-directory.md): nothing is retrained,
torch is never imported. Pictures are embedded in the HTML as base64 data URIs, so the page is
one file that opens anywhere without a network; the Markdown links them by relative path.
"""

from __future__ import annotations

import base64
import json
import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from cnnlab.analysis.stats import ALPHA, TWIN_MARGIN
from cnnlab.errors import UserError
from cnnlab.outdir import OutputDir
from cnnlab.report import cam_captions, findings, targets, trust
from cnnlab.report.runs import Run, dataset_title, load_run, named_rows

TEMPLATES = Path(__file__).parent / "templates"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The pictures `cnnlab evaluate` writes into a run directory, in the order the report shows them.
RUN_PICTURES = (
    ("confusion_matrix.png", "Confusion matrix (counts)"),
    ("confusion_matrix_normalized.png", "Confusion matrix (fraction of each true class)"),
    ("curves.png", "Learning curves"),
    ("top3.png", "Top-3 test images per class"),
    ("worst_errors.png", "Most confident errors"),
)
REQUIRED_PICTURES = ("confusion_matrix.png", "top3.png", "curves.png")
# Shown across the whole page width: wide pictures, and the comparison with its small print.
WIDE_PICTURES = ("curves.png", "cam_comparison.png", "cam_comparison_disagreement.png")


def _data_uri(path: Path) -> str:
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise UserError(f"{path} is not a PNG file; rerun the step that writes it.")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _picture(path: Path, caption: str, md_base: Path) -> dict:
    return {
        "caption": caption,
        "wide": path.name in WIDE_PICTURES,
        "src": _data_uri(path),
        "md_src": Path(os.path.relpath(path, md_base)).as_posix(),
    }


def _run_section(run: Run, row: dict, index: int, md_base: Path) -> dict:
    pictures, missing = [], []
    for file, caption in RUN_PICTURES:
        if (run.path / file).is_file():
            pictures.append(_picture(run.path / file, caption, md_base))
        elif file in REQUIRED_PICTURES:
            missing.append(caption)
    cam_pictures = [
        _picture(p, f"{row['name']}: {p.stem.replace('_', ' ')}", md_base)
        for p in sorted((run.path / "cam").glob("*.png"))
    ]
    evaluation = run.evaluation or {}
    per_class = evaluation.get("per_class")
    return {
        "name": row["name"],
        "anchor": f"run-{index}",
        "path": str(run.path),
        "row": row,
        "evaluated": run.evaluation is not None,
        "pictures": pictures,
        "missing": missing,
        "cam_pictures": cam_pictures,
        "per_class": findings.per_class_table(per_class) if per_class else None,
        "top_confusions": evaluation.get("top_confusions", [])[:5],
        "config_json": json.dumps(run.config, indent=2),
        "versions": run.config.get("versions", {}),
    }


def _comparison_charts(runs: list[Run], rows: list[dict], out_dir: Path) -> list[dict]:
    """All runs' validation curves on one chart, then one chart per model with its engines;
    written as PNGs beside the report (the Markdown links them) and embedded in the HTML."""
    from cnnlab.viz.compare import render_run_comparison

    curves = [
        {"label": row["name"], "engine": run.config.get("engine"), "epochs": run.epochs}
        for run, row in zip(runs, rows, strict=True)
        if run.epochs
    ]
    models = list(dict.fromkeys(row["model"] for row in rows))
    names = targets.chart_names(models)  # compare_all.png, then one per model
    charts = [(names[0], "Validation curves of every run", curves)]
    for model, name in zip(models, names[1:], strict=True):
        mine = [c for c, row in zip(curves, rows, strict=True) if row["model"] == model]
        if len(mine) > 1:
            charts.append((name, f"{model}: every engine's curves", mine))
    pictures = []
    for file, caption, selected in charts:
        if len(selected) < 2:  # one run has nothing to be compared with
            continue
        rgb = render_run_comparison(selected, title=caption)
        path = OutputDir(out_dir).save_png(file, rgb)
        pictures.append(_picture(path, caption, out_dir) | {"wide": True})
    return pictures


def _builder_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("cnnlab", "numpy", "matplotlib", "pillow", "jinja2"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _render(template: str, context: dict) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(findings.FILTERS)
    return env.get_template(template).render(**context)


def _significance(statistics: dict | None, out_dir: Path, md_base: Path) -> dict | None:
    """The significance section: seeds table, McNemar table, and the per-seed accuracy chart."""
    from cnnlab.report import significance
    from cnnlab.viz.seeds import render_seed_accuracies

    if not statistics or not statistics.get("aggregates"):
        return None
    chart = OutputDir(out_dir).save_png(
        targets.SEED_CHART, render_seed_accuracies(statistics["aggregates"])
    )
    caption = f"Test accuracy of every seed, mean and {significance.CONFIDENCE} interval"
    return {
        "aggregates": significance.aggregate_rows(statistics),
        "comparisons": significance.mcnemar_rows(statistics),
        "seed_comparisons": significance.seed_rows(statistics),
        "mcnemar_question": significance.MCNEMAR_QUESTION,
        "seeds_question": significance.SEEDS_QUESTION,
        "confidence": significance.CONFIDENCE,
        "alpha": f"{ALPHA:g}",
        "margin": statistics.get("twin_margin", TWIN_MARGIN),
        "chart": _picture(chart, caption, md_base),
    }


def build_report(
    run_dirs,
    out_html: str | os.PathLike,
    out_md: str | os.PathLike | None = None,
    cam_dir: str | os.PathLike | None = None,
    title: str = "cnnlab report: what the networks learned",
    statistics: dict | None = None,
) -> tuple[Path, Path | None]:
    """Write the HTML report and its Markdown twin; returns (html path, md path or None).

    run_dirs: run directories, shown in this order. Neither file replaces one cnnlab did not
    write, nor a run directory's own file (`targets.py`). out_md defaults to out_html with a
    .md suffix, written only where that name is free or holds a cnnlab report.
    cam_dir holds the cam_comparison*.png figures (default: the parent of
    the first run directory). statistics: summary.json's aggregates and comparisons, for the
    significance section (absent: the section is left out).
    """
    runs = [load_run(d) for d in run_dirs]
    if not runs:
        raise UserError("no run directories given; name at least one, e.g. runs/cnn2-scratch.")
    out_html = targets.check_target(out_html, run_dirs, "-o")
    out_md = targets.markdown_target(out_html, out_md, run_dirs)
    cam_dir = Path(cam_dir) if cam_dir is not None else runs[0].path.parent
    md_base = (out_md or out_html).parent.resolve()
    models = [run.config.get("model") for run in runs]
    seed_dir = cam_dir if statistics and statistics.get("aggregates") else None
    targets.check_outputs(targets.report_outputs(out_html, out_md, models, seed_dir))

    context = _page_context(runs, title, statistics, cam_dir, md_base)
    ours = targets.is_cnnlab_report
    OutputDir(out_html.parent).write_text(out_html.name, _render("report.html.j2", context), ours)
    if out_md is not None:
        OutputDir(out_md.parent).write_text(out_md.name, _render("report.md.j2", context), ours)
    return out_html, out_md


def _page_context(
    runs: list[Run], title: str, statistics: dict | None, cam_dir: Path, md_base: Path
) -> dict:
    """Everything the two templates show: the table, findings, each run's section, the charts
    (written beside the report) and the trust section."""
    rows = named_rows(runs)
    evaluated = [run for run in runs if run.evaluation]
    matrices = {
        row["name"]: np.asarray(run.evaluation["confusion_matrix"])
        for run, row in zip(runs, rows, strict=True)
        if run.evaluation and run.evaluation.get("confusion_matrix")
    }
    accuracies = [row["test_accuracy"] for row in rows if row["test_accuracy"] is not None]
    test_count = evaluated[0].evaluation.get("test_count") if evaluated else None
    sections = [
        _run_section(run, row, i, md_base)
        for i, (run, row) in enumerate(zip(runs, rows, strict=True))
    ]
    return {
        "title": title,
        "dataset": dataset_title(runs),
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": rows,
        "best_accuracy": max(accuracies) if accuracies else None,
        "findings": findings.summarize(rows, matrices, test_count, statistics),
        "significance": _significance(statistics, cam_dir, md_base),
        "runs": sections,
        "comparison_charts": _comparison_charts(runs, rows, md_base),
        "runs_parent": str(runs[0].path.parent),
        "cam_comparisons": [
            _picture(path, caption, md_base) for path, caption in cam_captions.present(cam_dir)
        ],
        "trust": trust.section(
            runs, [row["name"] for row in rows], cam_dir, lambda p, c: _picture(p, c, md_base)
        ),
        "version_keys": sorted({k for run in runs for k in run.config.get("versions", {})}),
        "builder_versions": _builder_versions(),
    }
