"""What a run's evaluation adds to TensorBoard for comparing runs: the HParams of the run with
its results, and a custom-scalars layout with train and validation curves on one chart."""

from __future__ import annotations

from cnnlab.rundir import RunDir

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
