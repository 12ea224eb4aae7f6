"""Everything one `cnnlab bench` measures, in order: inputs, timings, profile, epochs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from cnnlab.bench.epoch import time_epoch
from cnnlab.bench.inputs import Inputs, make_inputs
from cnnlab.bench.machine import MEMORY_METHOD, engine_threads, environment, memory_supported
from cnnlab.bench.profile import profile_model
from cnnlab.bench.settings import TARGET_RATIO, TURN, BenchSettings
from cnnlab.bench.timing import measure_model, ratios
from cnnlab.training.engines import SCRATCH


def benchmark(
    settings: BenchSettings,
    engines: Sequence[str],
    *,
    data_dir: str | None = None,
    dataset: str = "mnist",
    folder: dict | None = None,
    profile: bool = False,
    epoch: bool = False,
    epoch_images: int | None = None,
    log=print,
) -> dict:
    """The whole report: timings, and the profile and epochs when asked, at `settings.threads`."""
    created = datetime.now().astimezone().isoformat(timespec="seconds")
    with engine_threads(engines, settings.threads):
        inputs = make_inputs(settings, data_dir, dataset, folder)
        report = {"created": created} | run_bench(settings, engines, inputs, log=log)
        if profile:
            report["profile"] = [profile_model(m, settings, inputs) for m in settings.models]
        if epoch:
            report["epoch"] = time_epoch(settings, data_dir, epoch_images, log=log, dataset=dataset)
    report["environment"]["load_average_after"] = list(os.getloadavg())
    return report


def run_bench(settings: BenchSettings, engines: Sequence[str], inputs: Inputs, log=print) -> dict:
    """Time every model in every engine (threads already set, see `engine_threads`)."""
    env = environment()
    records = []
    timed = settings.timed_engines(engines)
    for model in settings.models:
        log(f"bench: {model} in {', '.join(timed)}")
        records += measure_model(model, timed, settings, inputs)
    return {
        "settings": asdict(settings) | {"engines": timed, "turn": TURN},
        "scratch_chunks": scratch_chunks(settings, len(inputs.images))
        if SCRATCH in engines
        else {},
        "target_ratio": TARGET_RATIO,
        "environment": env,
        "inputs": inputs.source,
        "memory_method": MEMORY_METHOD if memory_supported() else None,
        "results": records,
        "ratios": ratios(records, settings),
    }


def scratch_chunks(settings: BenchSettings, inference_images: int) -> dict[str, dict[str, int]]:
    """Per model, how many chunks `DataParallel` splits a training batch and an inference batch
    into at the thread count in force (each chunk runs on its own thread)."""
    from cnnlab.training.engines import make_engine

    out = {}
    for model in settings.models:
        parallel = make_engine(settings.spec(model), SCRATCH, seed=settings.seed).parallel
        out[model] = {
            "train": parallel.chunks_for(settings.batch_size),
            "inference": parallel.chunks_for(inference_images),
        }
    return out
