"""End to end: `cnnlab run --quick` builds every run, the report, and a page a browser renders."""

import json
import re
import sys
import time

import pytest
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator

from cnnlab.cli import main
from test_report_browser import ARTIFACTS, PROBE, _run_chromium

PAIRS = [(m, e) for e in ("scratch", "torch") for m in ("cnn2", "cnn3", "mlp3")]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("quick")
    args = ["run", "--quick", "--quiet", "--out", str(out), "--data-dir", str(mnist_dir)]
    assert main(args) == 0
    return out


def test_every_run_directory_is_complete(quick_run):
    for model, engine in PAIRS:
        run_dir = quick_run / f"{model}-{engine}"
        assert json.loads((run_dir / "status.json").read_text())["complete"] is True
        for name in ("config.json", "metrics.jsonl", "evaluation.json", "top3.png", "curves.png"):
            assert (run_dir / name).is_file(), f"{run_dir.name} lacks {name}"
        checkpoint = "checkpoint.npz" if engine == "scratch" else "checkpoint.pt"
        assert (run_dir / checkpoint).is_file()


def test_tensorboard_events_for_every_model(quick_run):
    for model, engine in PAIRS:
        acc = event_accumulator.EventAccumulator(
            str(quick_run / f"{model}-{engine}"), size_guidance={"images": 0}
        )
        acc.Reload()
        assert {"loss/train", "loss/val", "accuracy/val"} <= set(acc.Tags()["scalars"])
        assert "evaluation/confusion_matrix" in acc.Tags()["images"]
        if model != "mlp3":
            assert any(t.startswith("cam/") for t in acc.Tags()["images"])


def test_summary_json_has_one_entry_per_run(quick_run):
    summary = json.loads((quick_run / "summary.json").read_text())["runs"]
    assert [(r["model"], r["engine"]) for r in summary] == PAIRS
    keys = {"model", "engine", "seed", "test_accuracy", "best_val_accuracy", "epochs"}
    keys |= {"accuracy_low", "accuracy_high", "seconds_per_epoch", "parameters", "run_dir"}
    for row in summary:
        assert row["seed"] == 0
        assert row["accuracy_low"] < row["test_accuracy"] < row["accuracy_high"]
        assert set(row) == keys
        assert 0.5 < row["test_accuracy"] <= 1.0  # one epoch on 3,000 images
        assert row["epochs"] == 1
        assert row["seconds_per_epoch"] > 0


def test_cam_comparison_and_reports_exist(quick_run):
    with Image.open(quick_run / "cam_comparison.png") as image:
        assert image.height > 600  # a row for each of the four CNNs
    markdown = (quick_run / "report.md").read_text()
    for model, engine in PAIRS:
        assert f"{model} · {engine}" in markdown


def test_a_second_run_reuses_finished_runs(quick_run, mnist_dir, capsys):
    started = time.perf_counter()
    args = ["run", "--quick", "--quiet", "--out", str(quick_run), "--data-dir", str(mnist_dir)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count("finished earlier, reused") == len(PAIRS)
    assert "training" not in out
    print(f"second run: {time.perf_counter() - started:.1f} s")


def test_changed_settings_are_not_silently_reused(quick_run, mnist_dir, capsys):
    args = [
        "run",
        "--quick",
        "--val-size",
        "400",
        "--out",
        str(quick_run),
        "--data-dir",
        str(mnist_dir),
    ]
    assert main(args) == 2  # more --epochs continues a run (tested in test_training_run_rules)
    assert "other settings (val_size)" in capsys.readouterr().err


def test_report_renders_in_headless_chromium(quick_run, tmp_path):
    html = (quick_run / "report.html").read_text(encoding="utf-8")
    assert "http://" not in html
    assert "https://" not in html
    screenshot = tmp_path / "report.png"
    _run_chromium(
        tmp_path / "profile",
        f"--screenshot={screenshot}",
        "--window-size=1280,3000",
        (quick_run / "report.html").as_uri(),
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "quick-report.png").write_bytes(screenshot.read_bytes())
    with Image.open(screenshot) as image:
        assert image.size == (1280, 3000)

    probed = tmp_path / "probed.html"
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _run_chromium(
        tmp_path / "profile", "--dump-dom", "--virtual-time-budget=5000", probed.as_uri()
    ).stdout
    count = int(re.search(r'data-img-count="(\d+)"', dom).group(1))
    loaded = int(re.search(r'data-img-loaded="(\d+)"', dom).group(1))
    assert count >= 6 * 3 + 1  # per run: confusion matrix, top-3, curves; and the CAM figure
    assert loaded == count
    table = re.search(r'<section id="comparison">(.*?)</section>', dom, re.S).group(1)
    summary = json.loads((quick_run / "summary.json").read_text())["runs"]
    for row in summary:
        assert f"{row['model']} · {row['engine']}" in table
        assert f"{100 * row['test_accuracy']:.2f}%" in table


def test_without_torch_the_numpy_rows_run_and_the_skip_is_said(
    tmp_path, mnist_dir, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "torch", None)  # what `import torch` sees when missing
    args = ["run", "--quick", "--quiet", "--models", "mlp3", "--out", str(tmp_path)]
    assert main([*args, "--data-dir", str(mnist_dir)]) == 0
    captured = capsys.readouterr()
    assert "the PyTorch rows were skipped" in captured.err
    assert "pip install 'cnnlab[torch]'" in captured.err
    summary = json.loads((tmp_path / "summary.json").read_text())["runs"]
    assert [(r["model"], r["engine"]) for r in summary] == [("mlp3", "scratch")]
