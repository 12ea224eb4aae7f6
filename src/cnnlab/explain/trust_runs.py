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
from cnnlab.processes import usable_cores
from cnnlab.rundir import SANITY, RunDir

SANITY_FILE = SANITY  # one name, owned by RunDir
DEFAULT_IMAGES = 100  # the N
SMOKE_IMAGES = 5  # a --quick (or --train-size) run gets a check of its own size
PARALLEL_FROM_IMAGES = 20  # fewer images: the runs' checks one after another, in this process
# One run's check of DEFAULT_IMAGES images in one process, in epochs of training, for `cnnlab
# run`'s time left. The default run on AMD EPYC, 2 cores: 124 s of checks for six runs whose
# epochs took 4.2 s on average (per run: cnn2 4.7 and 4.6 of its own epochs, cnn3 5.0 and 6.3,
# mlp3 1.7 and 1.0, NumPy and PyTorch).
EPOCHS_PER_CHECK = 5.0
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
    the uint8 pictures) of a run's data set; one sentence when it has fewer."""
    from cnnlab.data import normalize
    from cnnlab.data.source import load_run_data, run_normalization

    pictures = load_run_data(config, data_dir).test_images
    if count > len(pictures):
        raise UserError(f"--images {count} is more than the {len(pictures)} test images.")
    pictures = pictures[:count]
    stats = run_normalization(config)
    x = normalize(pictures, *stats).astype(np.float64)
    background = float(normalize(np.zeros((1, 1, 1), np.uint8), *stats)[0, 0, 0, 0])
    return x, background, pictures


def sanity_figures(job: tuple) -> tuple[dict, float]:
    """job = (run directory, data folder, image count, method names or None for all): the
    run's sanity figures (`sanity.sanity_checks`, in its `PRECISION`) and the seconds they
    took. One thread: the trust step runs one of these per core."""
    from cnnlab.explain.runs import methods_for, network_of
    from cnnlab.explain.sanity import PRECISION, sanity_checks

    run_dir, data_dir, images, chosen = job
    started = time.perf_counter()
    engine, config = RunDir(run_dir).load_trained("cpu")
    net = network_of(engine, PRECISION)
    x, background, _ = first_test_images(config, data_dir, images)
    with engine.threads(1):  # see `cnnlab explain`: threads wait for each other on 2 cores
        figures = sanity_checks(
            net, x.astype(PRECISION), methods_for(net.spec, chosen, run_dir), background
        )
    return figures, time.perf_counter() - started


def sanity_workers(runs: int, images: int) -> int:
    """Processes for the sanity figures of `runs` runs: one per core, but none for small checks,
    where starting a process (and importing the engines again) costs more than it saves."""
    return 1 if images < PARALLEL_FROM_IMAGES else min(usable_cores(), runs)


def sanity_records(run_dirs: list[Path], data_dir, images: int, workers=None):
    """(run directory, its sanity record, the seconds spent or None when reused) of every run,
    in run order: a current sanity.json is reused; the others are computed side by side in
    `workers` processes (default `sanity_workers`) and each written into its run as it comes."""
    from cnnlab.processes import map_in_processes

    reused = {d: current_sanity(d, images) for d in run_dirs}
    todo = [d for d in run_dirs if reused[d] is None]
    workers = sanity_workers(len(todo), images) if workers is None else workers
    jobs = [(str(d), None if data_dir is None else str(data_dir), images, None) for d in todo]
    answers = map_in_processes(sanity_figures, jobs, workers)
    for run_dir in run_dirs:
        if reused[run_dir] is not None:
            yield run_dir, reused[run_dir], None
            continue
        figures, seconds = next(answers)
        run = RunDir(run_dir)
        record = {"run": run.name, "checkpoint": checkpoint_record(run), **figures}
        write_json(run / SANITY_FILE, record)
        yield run_dir, record, seconds


def run_sanity(run_dir, data_dir, images: int) -> tuple[dict, float | None]:
    """(one run's sanity record over its first `images` test images, the seconds spent or None
    when its sanity.json was reused)."""
    _, record, seconds = next(sanity_records([run_dir], data_dir, images))
    return record, seconds


def expected_epochs(checks: int, images: int) -> float:
    """What `checks` runs' attribution checks of `images` images cost, in epochs of training
    (for the time-left estimate; they run side by side in `sanity_workers` processes)."""
    if checks == 0:
        return 0.0
    return checks * EPOCHS_PER_CHECK * images / DEFAULT_IMAGES / sanity_workers(checks, images)


def trust_step(
    run_dirs: list[Path], out_dir: Path, data_dir, images: int, log=print, workers=None
) -> None:
    """Sanity figures of every run (`sanity_records`), then the report's three pictures in
    `out_dir`."""
    from cnnlab.explain.trust_figures import draw_trust_figures

    for run_dir, record, seconds in sanity_records(run_dirs, data_dir, images, workers):
        _log_verdicts(run_dir, record, images, seconds, log)
    draw_trust_figures(run_dirs, out_dir, data_dir)


def _log_verdicts(run_dir, record: dict, images: int, seconds: float | None, log) -> None:
    passed = sum(m["passes"] for m in record["methods"].values())
    how = "reused" if seconds is None else f"{seconds:.1f} s"
    log(
        f"{Path(run_dir).name}: {passed} of {len(record['methods'])} attribution methods "
        f"pass the randomisation check on {images} test images ({how})"
    )
