"""`evaluate_run`: the test set through a trained run, and the pictures of what it learned.

Everything goes into the run directory (files a person can open) and into its TensorBoard
events (the same pictures), so `cnnlab report` and TensorBoard show the same thing.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np

from cnnlab.analysis import metrics, stats
from cnnlab.analysis.tensorboard_summary import write_comparison_summaries, write_top3_images
from cnnlab.data import normalize
from cnnlab.data.source import load_run_data, run_class_names, run_normalization
from cnnlab.failpoints import durable
from cnnlab.fileio import write_bytes, write_json, write_text
from cnnlab.rundir import EVALUATION, PROBABILITIES, RunDir
from cnnlab.scratch.functional import softmax
from cnnlab.training.checkpoint import checkpoint_digest
from cnnlab.training.leftovers import remove_leftovers
from cnnlab.training.loop import predict_logits
from cnnlab.training.tracking import AnalysisLog

TOP_K = 3
BOOTSTRAP_RESAMPLES = 2000  # of the test images, for the accuracy's 95% interval
WORST_ERRORS = 16


def evaluate_run(run_dir: Path, data_dir=None, device: str = "cpu", quiet: bool = False) -> dict:
    """Run the checkpoint on all test images; write evaluation.json, CSV, PNGs, TB images.

    Holds the run's lock; everything is computed before the first file is written, so a
    failure leaves the previous evaluation's files as they were. evaluation.json records the
    SHA-256 of the checkpoint it evaluated and is removed first and written last: present, it
    says every other file is there and of that checkpoint; absent or of another checkpoint
    (`RunDir.evaluation` is then None), the evaluation is redone by `cnnlab run`.
    """
    run = RunDir(run_dir)
    run.require_run()
    with run.lock():
        remove_leftovers(run.path)  # of a command killed earlier
        return _evaluate_locked(run, data_dir, device, quiet)


def _evaluate_locked(run: RunDir, data_dir, device: str, quiet: bool) -> dict:
    from cnnlab.viz.curves import render_curves
    from cnnlab.viz.plots import save_png

    run_dir = run.path
    engine, config = run.load_trained(device)
    checkpoint = run.checkpoint(config["engine"])
    evaluated = {"file": checkpoint.name, "sha256": checkpoint_digest(checkpoint)}
    status = run.status()
    if not status["complete"]:
        print(
            f"cnnlab: warning: {run_dir} is unfinished ({status['epochs_done']} of "
            f"{status.get('epochs', config.get('epochs', '?'))} epochs done); evaluating its "
            "last checkpoint.",
            file=sys.stderr,
        )
    data = load_run_data(config, data_dir, progress=not quiet)
    labels = data.test_labels.astype(np.int64)
    x = normalize(data.test_images, *run_normalization(config))  # (10000, 1, 28, 28)
    probabilities = softmax(predict_logits(engine, x))  # (10000, 10)

    summary = _summary(labels, probabilities, config, run_dir)
    summary["checkpoint"] = evaluated | {"epochs_done": status["epochs_done"]}
    top = metrics.top_scoring_images(probabilities, TOP_K)  # (10, 3) test-image indices
    cm = np.asarray(summary["confusion_matrix"])
    label = f"{config['model']} · {config['engine']}"
    names = run_class_names(config)
    pictures = _pictures(label, cm, data.test_images, labels, probabilities, top, names)
    records = run.records()
    if any(r.get("kind") == "epoch" for r in records):
        pictures["curves"] = render_curves(records, title=f"{label}: learning curves")
    with durable("evaluation.json-removed"):  # from here on, the old evaluation is gone
        (run_dir / EVALUATION).unlink(missing_ok=True)
    # float64: near-certain scores (1 - 1e-9) would all round to 1.0 in float32 and tie
    _write_array(run_dir / PROBABILITIES, probabilities)
    write_text(run_dir / "confusion_matrix.csv", _confusion_csv(cm))
    for name, rgb in pictures.items():
        save_png(rgb, run_dir / f"{name}.png")
    tb = AnalysisLog(run_dir, "evaluation")  # replaces what an earlier `evaluate` wrote
    try:
        # test accuracy (a metric of HParams) sits at the step training ended, not at 0
        write_comparison_summaries(tb.writer, run, config, summary["accuracy"])
        _log_to_tensorboard(tb, summary, pictures, data.test_images, probabilities, top, labels)
    finally:
        tb.close()
    write_json(run_dir / EVALUATION, summary)  # last: the evaluation is whole
    return summary


def _summary(labels: np.ndarray, probabilities: np.ndarray, config: dict, run_dir) -> dict:
    """What evaluation.json holds: the metrics, the bootstrap interval, the top images."""
    summary = metrics.evaluation_summary(labels, probabilities)
    summary |= {"model": config["model"], "engine": config["engine"], "run_dir": str(run_dir)}
    summary["class_names"] = run_class_names(config)
    correct = probabilities.argmax(axis=1) == labels  # (10000,) bool
    summary["accuracy_interval"] = stats.bootstrap_accuracy_interval(
        correct, resamples=BOOTSTRAP_RESAMPLES, seed=0
    )
    top = metrics.top_scoring_images(probabilities, TOP_K)  # (10, 3) test-image indices
    summary["top_scoring"] = [
        {
            "class": c,
            "indices": top[c].tolist(),
            "scores": probabilities[top[c], c].tolist(),
            "true_labels": labels[top[c]].tolist(),
        }
        for c in range(probabilities.shape[1])
    ]
    return summary


def _pictures(
    label: str, cm, images, labels, probabilities, top, names: list[str]
) -> dict[str, np.ndarray]:
    """The evaluation's pictures as RGB arrays, by file stem; classes shown by `names`."""
    from cnnlab.viz.confusion import render_confusion_matrix
    from cnnlab.viz.grids import render_top_scoring, render_worst_errors

    errors = metrics.most_confident_errors(probabilities, labels, WORST_ERRORS)
    return {
        "confusion_matrix": render_confusion_matrix(
            cm, title=f"{label}: confusion matrix", class_names=names
        ),
        "confusion_matrix_normalized": render_confusion_matrix(
            cm,
            normalized=True,
            title=f"{label}: confusion matrix, row-normalised",
            class_names=names,
        ),
        "top3": render_top_scoring(images, labels, probabilities, top, class_names=names),
        "worst_errors": render_worst_errors(
            images, labels, probabilities, errors, class_names=names
        ),
    }


def _write_array(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    write_bytes(path, buffer.getvalue())


def _confusion_csv(cm: np.ndarray) -> str:
    header = "true\\predicted," + ",".join(str(c) for c in range(len(cm)))
    rows = [f"{i}," + ",".join(str(int(v)) for v in row) for i, row in enumerate(cm)]
    return "\n".join([header, *rows]) + "\n"


def _log_to_tensorboard(tb, summary, pictures, images, probabilities, top, labels) -> None:
    for name, rgb in pictures.items():
        tb.image(f"evaluation/{name}", rgb)
    write_top3_images(tb.writer, images, probabilities, top, labels)


def format_table(summary: dict) -> str:
    """The printed evaluation: per-class precision / recall / F1 and the top confusions."""
    per = summary["per_class"]
    lines = [
        f"{summary['model']} · {summary['engine']}: test accuracy {summary['accuracy']:.4f} "
        f"({summary['correct']}/{summary['test_count']})",
        "",
        "class  precision  recall     f1  support",
    ]
    for c in range(len(per["precision"])):
        lines.append(
            f"{c:>5}  {per['precision'][c]:>9.4f}  {per['recall'][c]:>6.4f}  "
            f"{per['f1'][c]:>5.4f}  {per['support'][c]:>7}"
        )
    lines.append("")
    lines.append("most frequent confusions (true -> predicted: count):")
    for item in summary["top_confusions"]:
        lines.append(f"  {item['true']} -> {item['predicted']}: {item['count']}")
    return "\n".join(lines)
