"""`cnnlab bench`: the NumPy engine's speed beside PyTorch (and Keras) on the CPU, in one process.

Per model and engine, on MNIST batches made the way the training loop makes them:

- train step: one `engine.train_step(x, y)` -- forward, loss, backward and the Adam update;
- inference: one `engine.logits(x)` on the batch `evaluate` uses.

Modules: `settings` (what to measure), `inputs` (the images), `machine` (CPU, BLAS, threads,
memory), `timing` (engines taking turns, medians, ratios), `profile` (per layer, NumPy engine),
`epoch` (whole epochs in the real loop), `suite` (all of it in order), `formatting` (the
printed report). How it measures and what it found: docs/performance.md.
"""

from __future__ import annotations

from cnnlab.bench.epoch import time_epoch
from cnnlab.bench.formatting import format_report
from cnnlab.bench.inputs import Inputs, make_inputs, synthetic_digits
from cnnlab.bench.machine import engine_threads, environment
from cnnlab.bench.profile import profile_model
from cnnlab.bench.settings import DEFAULT_ENGINES, BenchSettings, available_engines
from cnnlab.bench.suite import benchmark, run_bench
from cnnlab.bench.timing import measure_model, ratios, take_turns

__all__ = [
    "DEFAULT_ENGINES",
    "BenchSettings",
    "Inputs",
    "available_engines",
    "benchmark",
    "engine_threads",
    "environment",
    "format_report",
    "make_inputs",
    "measure_model",
    "profile_model",
    "ratios",
    "run_bench",
    "synthetic_digits",
    "take_turns",
    "time_epoch",
]
