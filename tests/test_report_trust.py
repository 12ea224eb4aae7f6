"""The report's "Which picture can you trust?" section: `cnnlab run`'s step writes each run's
sanity.json (reused while the checkpoint and the image count are unchanged) and the pictures;
the report shows the table of methods × networks and the pictures, and leaves the section out
when no run has current figures."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from PIL import Image

from cnnlab.data.source import load_run_data
from cnnlab.explain import sanity, trust_runs
from cnnlab.explain.methods import available
from cnnlab.models import resolve_spec
from cnnlab.report import build_report
from cnnlab.rundir import EVALUATION_FILES

pytest.importorskip("torch")
IMAGES = 3


@pytest.fixture(scope="module")
def trusted(trained_runs, mnist_dir, tmp_path_factory):
    """Copies of cnn2 · scratch and mlp3 · scratch with their sanity figures and pictures."""
    out = tmp_path_factory.mktemp("trust")
    runs = [shutil.copytree(trained_runs[n], out / n) for n in ("cnn2-scratch", "mlp3-scratch")]
    for run in runs:  # not evaluated, whatever other tests did to the shared runs
        for name in EVALUATION_FILES:
            (run / name).unlink(missing_ok=True)
    trust_runs.trust_step(runs, out, str(mnist_dir), IMAGES, log=lambda line: None)
    return out, runs


def test_each_run_gets_its_sanity_figures_and_the_report_its_pictures(trusted):
    out, runs = trusted
    for run in runs:
        record = json.loads((run / trust_runs.SANITY_FILE).read_text())
        assert record["images"] == IMAGES
        spec = resolve_spec(json.loads((run / "config.json").read_text())["model"])
        assert list(record["methods"]) == list(available(spec))
        assert record["checkpoint"] == trust_runs.checkpoint_record(trust_runs.RunDir(run))
    assert (out / trust_runs.TEST0_FILE).is_file()
    assert (out / trust_runs.CASCADE_FILE).is_file()  # cnn2's; mlp3 has no layers to show
    assert not (out / trust_runs.DISAGREEMENT_FILE).exists()  # not evaluated: no disagreement
    with Image.open(out / trust_runs.TEST0_FILE) as figure:
        caption = figure.info["caption"]
    label = int(load_run_data(json.loads((runs[0] / "config.json").read_text())).test_labels[0])
    assert re.fullmatch(
        rf"test image 0, true label {label}; cnn2-scratch predicts \d \(\d\.\d{{4}}\), "
        rf"mlp3-scratch predicts \d \(\d\.\d{{4}}\)",
        caption,
    ), caption


def test_two_worker_processes_give_each_run_the_figures_of_one(trusted, mnist_dir, tmp_path):
    _, runs = trusted
    copies = [shutil.copytree(run, tmp_path / run.name) for run in runs]
    for copy in copies:
        (copy / trust_runs.SANITY_FILE).unlink()
    assert trust_runs.sanity_workers(len(copies), IMAGES) == 1  # too small to be worth it
    answers = list(trust_runs.sanity_records(copies, str(mnist_dir), IMAGES, workers=2))
    assert [run for run, _, _ in answers] == copies  # in run order
    for run, copy in zip(runs, copies, strict=True):
        written = json.loads((copy / trust_runs.SANITY_FILE).read_text())
        assert written == json.loads((run / trust_runs.SANITY_FILE).read_text())


def test_a_second_run_reuses_the_figures_until_the_checkpoint_or_the_count_changes(
    trusted, mnist_dir, monkeypatch
):
    _, runs = trusted
    record, seconds = trust_runs.run_sanity(runs[1], str(mnist_dir), IMAGES)
    assert seconds is None  # reused: nothing computed
    assert record["images"] == IMAGES

    def refuse(*args):
        raise AssertionError("recomputed")

    monkeypatch.setattr(sanity, "sanity_checks", refuse)
    assert trust_runs.current_sanity(runs[1], IMAGES + 1) is None  # another count
    stale = dict(record, checkpoint={"file": "checkpoint.npz", "sha256": "0" * 64})
    (runs[1] / trust_runs.SANITY_FILE).write_text(json.dumps(stale))
    assert trust_runs.current_sanity(runs[1]) is None  # of another checkpoint
    with pytest.raises(AssertionError, match="recomputed"):
        trust_runs.run_sanity(runs[1], str(mnist_dir), IMAGES)
    (runs[1] / trust_runs.SANITY_FILE).write_text(json.dumps(record))


def test_the_report_shows_methods_by_networks_and_the_pictures(trusted):
    out, runs = trusted
    html, md = build_report(runs, out / "report.html", out / "report.md", out)
    page, text = html.read_text(), md.read_text()
    assert "Which picture can you trust?" in page
    assert "Which picture can you trust?" in text
    cnn2 = json.loads((runs[0] / trust_runs.SANITY_FILE).read_text())["methods"]
    saliency = cnn2["saliency"]
    verdict = "passes" if saliency["passes"] else "FAILS"
    cell = f"{verdict}, ρ = {saliency['spearman_randomised']:.2f}"
    assert cell in page
    assert cell in text
    deletion = saliency["deletion_auc"]
    assert (
        f"deletion {deletion['mean']:.2f} [{deletion['low']:.2f}, {deletion['high']:.2f}]" in text
    )
    gradcam_row = next(line for line in text.splitlines() if line.startswith("| gradcam |"))
    assert gradcam_row.endswith("| — |")  # mlp3 has no Grad-CAM
    assert "| random order |" in text
    assert text.count("](trust_") == 2  # the cascade and test image 0
    assert page.count('alt="Cascading randomisation: cnn2-scratch on test image 0') == 1


def test_the_report_leaves_the_section_out_without_current_figures(trained_runs, tmp_path):
    run = shutil.copytree(trained_runs["mlp3-scratch"], tmp_path / "mlp3-scratch")
    html, md = build_report([run], tmp_path / "report.html", tmp_path / "report.md", tmp_path)
    assert "Which picture can you trust?" not in html.read_text() + md.read_text()
