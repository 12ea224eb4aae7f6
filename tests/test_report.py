"""The report built from synthetic run directories: the numbers, the pictures, the notes.

`write_run_dirs` is shared with test_report_browser.py.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.analysis import metrics
from cnnlab.cli import main
from cnnlab.errors import UserError
from cnnlab.fileio import write_bytes, write_json, write_text
from cnnlab.report import build_report, summary_rows
from cnnlab.viz.cam_figures import render_cam_comparison, render_cam_panels
from cnnlab.viz.confusion import render_confusion_matrix
from cnnlab.viz.curves import render_curves
from cnnlab.viz.grids import render_top_scoring, render_worst_errors
from cnnlab.viz.plots import png_bytes

MODELS = ("cnn2", "cnn3", "mlp3")
ENGINES = ("scratch", "torch")
RUNS = [(m, e) for m in MODELS for e in ENGINES]
NAMES = [f"{m} · {e}" for m, e in RUNS]
TEST_ACCURACY = {
    ("cnn2", "scratch"): 0.9871,
    ("cnn2", "torch"): 0.9893,
    ("cnn3", "scratch"): 0.9902,
    ("cnn3", "torch"): 0.9915,
    ("mlp3", "scratch"): 0.9762,
    ("mlp3", "torch"): 0.9788,
}
SECONDS_PER_EPOCH = {
    ("cnn2", "scratch"): 40.0,
    ("cnn2", "torch"): 4.0,
    ("cnn3", "scratch"): 60.0,
    ("cnn3", "torch"): 5.0,
    ("mlp3", "scratch"): 6.0,
    ("mlp3", "torch"): 2.0,
}
PARAMETERS = {"cnn2": 43_530, "cnn3": 29_034, "mlp3": 269_322}
EPOCHS = 3
RUN_PICTURES = ("confusion_matrix.png", "confusion_matrix_normalized.png", "top3.png")
RUN_PICTURES += ("curves.png", "worst_errors.png")
CAM_PICTURE = "cam/cam_7.png"  # in every CNN run


@functools.lru_cache(maxsize=1)
def sample_pictures() -> dict[str, bytes]:
    """Each kind of picture rendered once, by our own renderers, on random data."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    labels = np.arange(40) % 10
    probabilities = rng.dirichlet(np.ones(10), size=40)
    cm = metrics.confusion_matrix(labels, probabilities.argmax(axis=1))
    cam = rng.normal(size=(11, 11))
    epochs = [_epoch_record(e, 10.0, 0.9) for e in range(1, EPOCHS + 1)]
    pictures = {
        "confusion_matrix.png": render_confusion_matrix(cm),
        "confusion_matrix_normalized.png": render_confusion_matrix(cm, normalized=True),
        "top3.png": render_top_scoring(
            images, labels, probabilities, metrics.top_scoring_images(probabilities, 3)
        ),
        "curves.png": render_curves(epochs),
        "worst_errors.png": render_worst_errors(
            images, labels, probabilities, metrics.most_confident_errors(probabilities, labels)
        ),
        CAM_PICTURE: render_cam_panels(images[0], cam, None, "predicted 7 (0.99)", ""),
        "cam_comparison.png": render_cam_comparison(
            [{"label": "cnn2 · scratch", "image": images[0], "cam": cam, "gradcam": cam}]
        ),
    }
    return {name: png_bytes(picture) for name, picture in pictures.items()}


def _epoch_record(epoch: int, seconds: float, best_val: float) -> dict:
    return {
        "kind": "epoch",
        "epoch": epoch,
        "step": 100 * epoch,
        "train_loss": 0.3 / epoch,
        "train_accuracy": 0.95,
        "val_loss": 0.1 / epoch,
        "val_accuracy": best_val - 0.01 * (EPOCHS - epoch),  # best at the last epoch
        "lr": 0.001,
        "seconds": seconds,
    }


def _evaluation(accuracy: float) -> dict:
    """evaluation.json of 10,000 test images with exactly this accuracy; errors mostly 4 -> 9."""
    labels = np.arange(10_000) % 10
    predicted = labels.copy()
    errors = round((1 - accuracy) * 10_000)
    fours, sevens = np.flatnonzero(labels == 4), np.flatnonzero(labels == 7)
    predicted[fours[: errors - errors // 3]] = 9
    predicted[sevens[: errors // 3]] = 2
    probabilities = np.eye(10)[predicted] * 0.9 + 0.01
    return metrics.evaluation_summary(labels, probabilities)


def write_run(root: Path, model: str, engine: str, evaluated: bool = True) -> Path:
    """A run directory as `cnnlab train` + `evaluate` + `cam` would leave it."""
    run = root / f"{model}-{engine}"
    seconds = SECONDS_PER_EPOCH[(model, engine)]
    config = {
        "model": model,
        "engine": engine,
        "seed": 0,
        "epochs": EPOCHS,
        "batch_size": 64,
        "optimizer": "adam",
        "lr": 0.002,
        "parameters": PARAMETERS[model],
        "versions": {"cnnlab": "0.1.0", "python": "3.11.2", "numpy": "2.4.6"},
        "command": f"cnnlab train --model {model} --engine {engine}",
    }
    write_json(run / "config.json", config)
    write_json(
        run / "status.json",
        {"complete": True, "epochs_done": EPOCHS, "epochs": EPOCHS, "seconds": seconds * EPOCHS},
    )
    best_val = TEST_ACCURACY[(model, engine)] + 0.001
    lines = [
        json.dumps({"kind": "step", "epoch": 1 + (s - 1) // 100, "step": s, "loss": 1.0 / s})
        for s in range(1, 301, 10)
    ] + [json.dumps(_epoch_record(e, seconds, best_val)) for e in range(1, EPOCHS + 1)]
    write_text(run / "metrics.jsonl", "\n".join(lines) + "\n")
    if evaluated:
        write_json(run / "evaluation.json", _evaluation(TEST_ACCURACY[(model, engine)]))
        pictures = sample_pictures()
        for name in RUN_PICTURES:
            write_bytes(run / name, pictures[name])
        if model != "mlp3":
            write_bytes(run / CAM_PICTURE, pictures[CAM_PICTURE])
    return run


def write_run_dirs(root: Path) -> list[Path]:
    """Six evaluated runs (cnn2/cnn3/mlp3 x scratch/torch) and root/cam_comparison.png."""
    runs = [write_run(root, model, engine) for model, engine in RUNS]
    write_bytes(root / "cam_comparison.png", sample_pictures()["cam_comparison.png"])
    return runs


def expected_image_count() -> int:
    cnn_runs = sum(model != "mlp3" for model, _ in RUNS)
    comparison_charts = 1 + len(MODELS)  # every run's curves, then each model's engines
    return len(RUNS) * len(RUN_PICTURES) + cnn_runs + 1 + comparison_charts


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs).get("src", ""))


def image_sources(html: str) -> list[str]:
    parser = _Images()
    parser.feed(html)
    return parser.sources


def comparison_table(html: str) -> str:
    match = re.search(r'<section id="comparison">(.*?)</section>', html, re.S)
    assert match, "the comparison section is missing"
    return match.group(1)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    run_dirs = write_run_dirs(root)
    html_path, md_path = build_report(run_dirs, root / "out" / "report.html")
    return {
        "root": root,
        "run_dirs": run_dirs,
        "html": html_path.read_text(encoding="utf-8"),
        "md_path": md_path,
    }


def test_summary_rows_hold_the_numbers(report):
    rows = summary_rows(report["run_dirs"])
    assert [(r["model"], r["engine"]) for r in rows] == RUNS
    for row, key in zip(rows, RUNS, strict=True):
        assert row["test_accuracy"] == pytest.approx(TEST_ACCURACY[key])
        assert row["best_val_accuracy"] == pytest.approx(TEST_ACCURACY[key] + 0.001)
        assert row["seconds_per_epoch"] == pytest.approx(SECONDS_PER_EPOCH[key])
        assert row["epochs"] == EPOCHS
        assert row["parameters"] == PARAMETERS[key[0]]
        assert Path(row["run_dir"]) == report["root"] / f"{key[0]}-{key[1]}"
    json.dumps(rows)


def test_html_has_title_names_and_accuracy_table(report):
    html = report["html"]
    assert re.search(r"<title>[^<]+</title>", html)
    table = comparison_table(html)
    for (model, engine), name in zip(RUNS, NAMES, strict=True):
        assert name in html
        assert name in table
        assert f"{100 * TEST_ACCURACY[(model, engine)]:.2f}%" in table
        assert f"{PARAMETERS[model]:,}" in table
    # scratch ÷ PyTorch seconds per epoch, per architecture: 40/4, 60/5, 6/2
    for ratio in ("10.0×", "12.0×", "3.0×"):
        assert ratio in table


def test_html_findings_are_computed_from_the_numbers(report):
    findings = re.search(r'<section id="findings">(.*?)</section>', report["html"], re.S).group(1)
    # 0.13 points on 10,000 images is within two standard errors of a difference: not ranked
    assert "Most accurate: cnn3 · torch (99.15%) and cnn3 · scratch" in findings
    assert "the 0.13-point gap is within the noise" in findings
    assert "a true 4 predicted as 9" in findings
    assert "Fastest: mlp3 · torch" in findings
    assert "slowest: cnn3 · scratch" in findings
    assert "cnn2: scratch 98.71% vs PyTorch 98.93% (−0.22 points)" in findings


def test_every_picture_is_an_embedded_png(report):
    sources = image_sources(report["html"])
    assert len(sources) == expected_image_count()
    prefix = "data:image/png;base64,"
    for src in sources:
        assert src.startswith(prefix)
        with Image.open(io.BytesIO(base64.b64decode(src[len(prefix) :], validate=True))) as img:
            img.verify()
            assert img.format == "PNG"


def test_html_is_self_contained(report):
    html = report["html"]
    assert "http://" not in html
    assert "https://" not in html
    assert "<script" not in html
    assert "<link" not in html
    # Links stay inside the page; pictures are data, never files beside it.
    assert set(re.findall(r'href="(.)', html)) == {"#"}
    assert all(src.startswith("data:image/png;base64,") for src in image_sources(html))


def test_markdown_references_every_picture_by_relative_path(report):
    md_path = report["md_path"]
    assert md_path.name == "report.md"
    md = md_path.read_text(encoding="utf-8")
    targets = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(targets) == expected_image_count()
    for target in targets:
        assert not Path(target).is_absolute()
        assert (md_path.parent / target).is_file(), target
    for name in NAMES:
        assert name in md
    assert "| cnn3 · torch | 29,034 | 3 | 99.15% |" in md


def test_unevaluated_run_gets_a_note_not_a_crash(tmp_path):
    run = write_run(tmp_path, "cnn2", "scratch", evaluated=False)
    html_path, md_path = build_report([run], tmp_path / "report.html", cam_dir=tmp_path)
    html = html_path.read_text(encoding="utf-8")
    assert "not evaluated yet" in html
    assert f"run <code>cnnlab evaluate {run}</code>" in html
    assert image_sources(html) == []
    assert "No run has been evaluated yet" in html
    assert "No class activation maps yet" in html
    assert "not evaluated yet" in md_path.read_text(encoding="utf-8")


def test_text_is_escaped(tmp_path):
    run = write_run(tmp_path, "cnn2", "torch")
    config = json.loads((run / "config.json").read_text())
    config["command"] = "<script>alert(1)</script>"
    write_json(run / "config.json", config)
    html_path, _ = build_report([run], tmp_path / "report.html")
    html = html_path.read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_not_a_run_directory_is_a_user_error(tmp_path):
    stray = tmp_path / "holiday-photos"
    stray.mkdir()
    with pytest.raises(UserError, match="holiday-photos is not a run directory"):
        build_report([stray], tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()


def test_corrupt_evaluation_is_a_user_error(tmp_path):
    run = write_run(tmp_path, "mlp3", "torch")
    (run / "evaluation.json").write_text('{"accuracy": 0.9')
    with pytest.raises(UserError, match=r"evaluation\.json is not valid JSON"):
        summary_rows([run])


def test_cli_report(tmp_path, capsys):
    runs = [write_run(tmp_path, "cnn2", engine) for engine in ENGINES]
    out = tmp_path / "site" / "index.html"
    md = tmp_path / "notes" / "summary.md"
    argv = ["report", *map(str, runs), "-o", str(out), "--md", str(md)]
    assert main([*argv, "--cam-dir", str(tmp_path)]) == 0
    assert out.is_file()
    assert md.is_file()
    assert "../cnn2-scratch/top3.png" in md.read_text(encoding="utf-8")
    assert str(out) in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing"), "-o", str(out)]) == 2
    assert "missing is not a run directory" in capsys.readouterr().err


def test_the_table_gives_each_ratio_once_and_bolds_no_time(report):
    table = report["html"].split('<section id="comparison">')[1].split("</table>")[0]
    for ratio in ("10.0×", "12.0×", "3.0×"):
        assert table.count(ratio) == 1
    assert "tr.best td.name, tr.best td.acc { font-weight: 600; }" in report["html"]
    assert "tr.best td {" not in report["html"]


def test_confusions_are_found_per_model_and_tensorboard_is_explained(report):
    html = report["html"]
    assert "over all evaluated models" not in html
    assert html.count("Most frequent confusion of each model") == 1
    assert '<section id="tensorboard">' in html
    assert f"tensorboard --logdir {report['root']}" in html
    assert "receptive field" in html
    for chart in ("compare_all.png", *(f"compare_{m}.png" for m in MODELS)):
        assert (report["md_path"].parent / chart).is_file()
        assert f"({chart})" in report["md_path"].read_text(encoding="utf-8")
