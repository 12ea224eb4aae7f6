"""`cnnlab run`'s "Which picture can you trust?" step: the sanity figures of each run (written
into the run as `sanity.json`, reused while its checkpoint and image count are unchanged), and
three figures for the report in the output folder: the cascading randomisation of one network
on test image 0, and every method of every network on test image 0 and on the test image the
networks disagree on most."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cnnlab.errors import UserError
from cnnlab.fileio import write_json
from cnnlab.rundir import SANITY, RunDir

SANITY_FILE = SANITY  # one name, owned by RunDir
DEFAULT_IMAGES = 100  # the N
SMOKE_IMAGES = 5  # a --quick (or --train-size) run gets a check of its own size
CASCADE_FILE, TEST0_FILE, DISAGREEMENT_FILE = (
    "trust_cascade.png",
    "trust_test0.png",
    "trust_disagreement.png",
)
FILES = (CASCADE_FILE, TEST0_FILE, DISAGREEMENT_FILE)


def checkpoint_record(run: RunDir) -> dict:
    """{"file", "sha256"} of the run's checkpoint: what a sanity.json is of."""
    from cnnlab.training.checkpoint import checkpoint_digest

    checkpoint = run.checkpoint(run.config()["engine"])
    return {"file": checkpoint.name, "sha256": checkpoint_digest(checkpoint)}


def current_sanity(run_dir, images: int | None = None) -> dict | None:
    """The run's sanity.json when it is of the checkpoint now there (and of `images` test
    images, when given); None when missing, unreadable or stale."""
    from cnnlab.runcheck import read_json_file

    run = RunDir(run_dir)
    try:
        record = read_json_file(run / SANITY_FILE)
    except UserError:
        return None
    if not isinstance(record, dict) or record.get("checkpoint") != checkpoint_record(run):
        return None
    return record if images is None or record.get("images") == images else None


def first_test_images(config: dict, data_dir, count: int) -> tuple[np.ndarray, float, np.ndarray]:
    """(the first `count` normalised test images (N, C, H, W) float64, the background value,
    the uint8 pictures) of a run's data set."""
    from cnnlab.data import normalize
    from cnnlab.data.source import load_run_data, run_normalization

    pictures = load_run_data(config, data_dir).test_images[:count]
    stats = run_normalization(config)
    x = normalize(pictures, *stats).astype(np.float64)
    background = float(normalize(np.zeros((1, 1, 1), np.uint8), *stats)[0, 0, 0, 0])
    return x, background, pictures


def run_sanity(run_dir, data_dir, images: int) -> tuple[dict, float | None]:
    """(the run's sanity figures over its first `images` test images, the seconds spent or
    None when sanity.json was reused)."""
    from cnnlab.explain.methods import available
    from cnnlab.explain.runs import network_of
    from cnnlab.explain.sanity import sanity_checks

    reused = current_sanity(run_dir, images)
    if reused is not None:
        return reused, None
    started = time.perf_counter()
    run = RunDir(run_dir)
    engine, config = run.load_trained("cpu")
    net = network_of(engine)
    x, background, _ = first_test_images(config, data_dir, images)
    with engine.threads(1):  # see `cnnlab explain`: threads wait for each other on 2 cores
        figures = sanity_checks(net, x, available(net.spec), background)
    record = {"run": run.name, "checkpoint": checkpoint_record(run), **figures}
    write_json(run / SANITY_FILE, record)
    return record, time.perf_counter() - started


def trust_step(run_dirs: list[Path], out_dir: Path, data_dir, images: int, log=print) -> None:
    """Sanity figures of every run, then the report's three pictures in `out_dir`."""
    from cnnlab.explain.trust_figures import draw_trust_figures

    for run_dir in run_dirs:
        record, seconds = run_sanity(run_dir, data_dir, images)
        passed = sum(m["passes"] for m in record["methods"].values())
        how = "reused" if seconds is None else f"{seconds:.1f} s"
        log(
            f"{Path(run_dir).name}: {passed} of {len(record['methods'])} attribution methods "
            f"pass the randomisation check on {images} test images ({how})"
        )
    draw_trust_figures(run_dirs, out_dir, data_dir)
