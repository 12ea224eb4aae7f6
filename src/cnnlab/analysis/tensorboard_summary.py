"""What a run's evaluation adds to TensorBoard for comparing runs: the HParams of the run with
its results, a custom-scalars layout with train and validation curves on one chart, and the
top-3 images of every class under a tag that carries their scores."""

from __future__ import annotations

import numpy as np

from cnnlab.rundir import RunDir
from cnnlab.viz.scores import SCORE_NOTE, short_score

HPARAM_KEYS = ("model", "engine", "optimizer", "lr", "epochs", "seed")
# metric tag -> what it is; the HParams dashboard reads each tag's last value in the run
HPARAM_METRICS = {
    "accuracy/test": "test accuracy",
    "hparams/best_val_accuracy": "best validation accuracy",
    "hparams/seconds_per_epoch": "training seconds per epoch",
}
LAYOUT = {
    "compare train and validation": {
        "loss": ["Multiline", ["loss/train_epoch", "loss/val"]],
        "accuracy": ["Multiline", ["accuracy/train", "accuracy/val", "accuracy/test"]],
    }
}


def final_step(run: RunDir) -> int:
    """The optimizer step training ended at (0 for a run without epochs), where test results
    belong on the step axis."""
    epochs = run.epoch_records()
    return int(epochs[-1]["step"]) if epochs else 0


def run_metrics(run: RunDir, test_accuracy: float) -> dict[str, float]:
    """The HParams metric values of a run: test accuracy, best val accuracy, s/epoch."""
    epochs = run.epoch_records()
    status = run.status()
    return {
        "accuracy/test": float(test_accuracy),
        "hparams/best_val_accuracy": max((float(r["val_accuracy"]) for r in epochs), default=0.0),
        "hparams/seconds_per_epoch": float(status.get("seconds_per_epoch") or 0.0),
    }


def hparam_values(config: dict) -> dict:
    """The config's hyper-parameters as the bool/str/int/float values HParams accepts."""
    values = {}
    for key in HPARAM_KEYS:
        value = config.get(key)
        values[key] = value if isinstance(value, bool | int | float | str) else str(value)
    return values


def write_comparison_summaries(writer, run: RunDir, config: dict, test_accuracy: float) -> None:
    """HParams (the run's hyper-parameters and results) and the custom-scalars layout into a
    tensorboardX SummaryWriter whose events file lives in the run's own folder."""
    from tensorboardX.summary import hparams

    metrics = run_metrics(run, test_accuracy)
    experiment, session_start, session_end = hparams(hparam_values(config), metrics)
    file_writer = writer._get_file_writer()  # add_hparams would open a new timestamped folder
    for summary in (experiment, session_start, session_end):
        file_writer.add_summary(summary)
    step = final_step(run)
    for tag, value in metrics.items():
        writer.add_scalar(tag, value, step)
    writer.add_custom_scalars(LAYOUT)


def top3_tag(target: int, scores, true_labels) -> str:
    """The Images-tab tag of one class's top images: the class and the three scores, with the
    true label of any image that is not of that class, e.g.
    "top3/class 2: 1 − 5.6e-13 · 1 − 8.1e-13 · 0.9987 (true 7)"."""
    parts = [
        short_score(score) + ("" if int(label) == target else f" (true {int(label)})")
        for score, label in zip(scores, true_labels, strict=True)
    ]
    return f"top3/class {target}: " + " · ".join(parts)


def top3_strip(images: np.ndarray, indices, labels, target: int, scale: int = 4) -> np.ndarray:
    """The k images of one class side by side (RGB), a red frame on those not of that class."""
    tiles = []
    for i in indices:
        image = images[i] if images[i].ndim == 3 else images[i][None]  # (C, H, W)
        rgb = np.broadcast_to(image, (3, *image.shape[1:])).transpose(1, 2, 0)  # colour kept
        tile = rgb.repeat(scale, axis=0).repeat(scale, axis=1)  # (4H, 4W, 3)
        tile = np.pad(tile, ((3, 3), (3, 3), (0, 0)), constant_values=255)
        if labels[i] != target:
            red = np.array([220, 30, 30], dtype=np.uint8)
            tile[:3], tile[-3:], tile[:, :3], tile[:, -3:] = red, red, red, red
        tiles.append(tile)
    return np.concatenate(tiles, axis=1)  # (118, 118 k, 3)


def write_top3_images(writer, images, probabilities, top, labels) -> None:
    """Each class's top images under its `top3_tag`, and a table of their test-image numbers.

    tensorboardX's add_image would replace the tag's spaces, colon and minus signs by "_"
    (its rule for graph node names); TensorBoard itself shows any tag, so the summary is
    written directly.
    """
    from tensorboardX.proto.summary_pb2 import Summary
    from tensorboardX.summary import make_image

    file_writer = writer._get_file_writer()
    lines = ["| class | test image | score | true label |", "|---|---|---|---|"]
    for c, indices in enumerate(top):
        scores = probabilities[indices, c]
        tag = top3_tag(c, scores, labels[indices])
        image = make_image(top3_strip(images, indices, labels, c))
        file_writer.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), 0)
        for i, score in zip(indices, scores, strict=True):
            mark = "" if labels[i] == c else " **wrong**"
            lines.append(f"| {c} | {i} | {short_score(score)} | {labels[i]}{mark} |")
    writer.add_text("top3/scores", "\n".join(lines) + "\n\n" + SCORE_NOTE, 0)
