"""Each speed change of the NumPy engine turned off alone, in one process, beside PyTorch.

    python scripts/speed_ablation.py [--models cnn2,cnn3] [--steps 200] [--threads 2]
        [--changes NAME,...] [--onednn-off] [--json FILE]

For every model: one engine with every change ("now"), one engine per change with that change
alone turned off ("without <change>"), and PyTorch, all built from the same seed and fed the
same batches (`cnnlab.bench.inputs`, real MNIST when it is on this machine). They take turns of
10 timed training steps after one untimed step (`cnnlab.bench.timing.take_turns`), so load from
elsewhere slows them alike; the table gives the median milliseconds of a batch-64 training step
and the ratio to PyTorch's in the same run. docs/performance.md ("Speed on every CPU") has the
results and what each change is. Like `cnnlab bench`, it runs without OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE (re-executing itself once) unless --keep-openblas-env is given.

A change is turned off by undoing it on that one engine (its model's run order, its training
step, DataParallel's bookkeeping), or, for a change inside a layer, by running that engine's
steps with the function before the change (kept here, not in the engine). `--onednn-off` adds a
PyTorch engine whose steps run with oneDNN (mkldnn) turned off.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
from collections.abc import Callable, Iterator

OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# -- the changes, and how each is turned off ---------------------------------------------------


def _unfused(engine) -> None:
    """Fused conv and pool off: the layers run in the order of `pool_before_relu`, each conv
    and its pool as two steps."""
    from cnnlab.scratch.reorder import pool_before_relu

    model = engine.model
    model.order = pool_before_relu(list(model.named_children()), {model.spec.feature_layer})


def _written_order(engine) -> None:
    """Pool before ReLU off, and so the fused conv and pool, which needs the pool right after
    the conv: the layers run in the order they were written, ReLU in place after a conv (the
    builder's rule before the change)."""
    from cnnlab import scratch

    model = engine.model
    model.order = list(model.named_children())
    for (_, before), (_, layer) in zip(model.order, model.order[1:], strict=False):
        if isinstance(layer, scratch.ReLU):
            layer.inplace = isinstance(before, scratch.Conv2d | scratch.Linear)


def _walk_every_step(engine) -> None:
    """DataParallel's replica pairs off: the module trees are walked again at every forward, as
    before the change (the backward's two walks are not restored, so this undercounts it)."""
    parallel = engine.parallel
    find_pairs = parallel._replica

    def replica(k: int):
        if len(parallel._replicas) >= k:
            own = parallel._replicas[k - 1]
            parallel._pairs[k - 1] = (
                list(zip(own.parameters(), parallel.module.parameters(), strict=True)),
                list(zip(own.buffers(), parallel.module.buffers(), strict=True)),
            )
            own.train(parallel.module.training)
        return find_pairs(k)

    parallel._replica = replica


def _two_hand_overs(engine) -> None:
    """One hand-over per step off: forward, the loss on the whole batch, then backward, as the
    engine's training step did before `DataParallel.train_chunks`."""
    import numpy as np

    def train_step(x, y):
        engine.parallel.train()
        with np.errstate(over="ignore", invalid="ignore"):
            logits = engine.parallel(x)
            loss = engine.loss.forward(logits, y)
            engine.optimizer.zero_grad()
            engine.parallel.backward(engine.loss.backward())
            engine.optimizer.step()
        return float(loss), int((logits.argmax(axis=1) == y).sum())

    engine.train_step = train_step


def _shifted_adds(weight2, grid, x_shape, kernel_size, padding):
    """`input_grad_on_grid` before the change: kh*kw shifted adds, one call each."""
    N, C, H, W = x_shape
    (kh, kw), (ph, pw) = kernel_size, padding
    C_out, _, Hp, Wp = grid.shape
    L = N * Hp * Wp
    dcols = (weight2.T @ grid.reshape(C_out, L)).reshape(C, kh * kw, L)
    dxp = dcols[:, 0].copy()
    for k in range(1, kh * kw):
        shift = (k // kw) * Wp + k % kw
        dxp[:, shift:] += dcols[:, k, : L - shift]
    dxp = dxp.reshape(C, N, Hp, Wp)
    return dxp[:, :, ph : ph + H, pw : pw + W].transpose(1, 0, 2, 3)


def _adds_one_by_one(engine):
    """One reduction off: this engine's steps run with the shifted adds above, in the plain
    convolution's backward and in the fused step's."""
    from cnnlab.scratch import fused, im2col

    @contextlib.contextmanager
    def patch() -> Iterator[None]:
        saved = im2col.input_grad_on_grid
        im2col.input_grad_on_grid = fused.input_grad_on_grid = _shifted_adds
        try:
            yield
        finally:
            im2col.input_grad_on_grid = fused.input_grad_on_grid = saved

    return patch


CHANGES: dict[str, Callable] = {
    "pool before ReLU": _written_order,
    "conv and pool fused": _unfused,
    "replica pairs found once": _walk_every_step,
    "one hand-over per step": _two_hand_overs,
    "input gradient in one reduction": _adds_one_by_one,
}


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextlib.contextmanager
def _no_onednn() -> Iterator[None]:
    """PyTorch without oneDNN (mkldnn): its own im2col and BLAS convolution instead."""
    import torch

    with torch.backends.mkldnn.flags(enabled=False):
        yield


# -- timing ------------------------------------------------------------------------------------


def measure(
    model: str, steps: int, threads: int, changes: list[str], onednn_off: bool, seed: int = 0
) -> dict:
    from cnnlab.bench.inputs import make_inputs
    from cnnlab.bench.machine import engine_threads
    from cnnlab.bench.settings import BenchSettings
    from cnnlab.bench.timing import take_turns
    from cnnlab.training.engines import make_engine

    settings = BenchSettings(models=(model,), engines=("scratch", "torch"), steps=steps)
    settings = BenchSettings(**{**settings.__dict__, "threads": threads})
    with engine_threads(("scratch", "torch"), threads):
        inputs = make_inputs(settings)
        spec = settings.spec(model)
        variants: dict[str, tuple] = {"now": (make_engine(spec, "scratch", seed=seed), _nothing)}
        for change in changes:
            turn_off = CHANGES[change]
            engine = make_engine(spec, "scratch", seed=seed)
            patch = turn_off(engine) or _nothing
            variants[f"without {change}"] = (engine, patch)
        variants["torch"] = (make_engine(spec, "torch", seed=seed), _nothing)
        if onednn_off:
            variants["torch, oneDNN off"] = (make_engine(spec, "torch", seed=seed), _no_onednn)
        calls = {
            name: _stepper(engine, patch, inputs.batches)
            for name, (engine, patch) in variants.items()
        }
        for call in calls.values():
            for _ in range(3):
                call()
        seconds = take_turns(calls, steps, 10)
    ms = {name: 1000 * statistics.median(values) for name, values in seconds.items()}
    return {
        "model": model,
        "inputs": inputs.source,
        "median_ms": ms,
        "over_torch": {name: value / ms["torch"] for name, value in ms.items()},
    }


def _stepper(engine, patch, batches) -> Callable[[], None]:
    state = {"i": 0}

    def step() -> None:
        x, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        with patch():
            engine.train_step(x, y)

    return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="cnn2,cnn3")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--changes", default=",".join(CHANGES), help="comma-separated (default: all of them)"
    )
    parser.add_argument(
        "--onednn-off",
        action="store_true",
        help="also time PyTorch with oneDNN (mkldnn) turned off",
    )
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--keep-openblas-env", action="store_true")
    args = parser.parse_args(argv)
    if not args.keep_openblas_env and any(name in os.environ for name in OPENBLAS_OVERRIDES):
        env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    from cnnlab.bench.machine import environment

    changes = [c for c in args.changes.split(",") if c]
    unknown = [c for c in changes if c not in CHANGES]
    if unknown:
        parser.error(f"unknown change {unknown[0]!r}; choose from {', '.join(CHANGES)}")
    results = [
        measure(m, args.steps, args.threads, changes, args.onednn_off)
        for m in args.models.split(",")
    ]
    for result in results:
        print(f"{result['model']}: median ms of a training step, batch 64, {args.threads} threads")
        for name, value in result["median_ms"].items():
            print(f"  {name:<42} {value:7.2f} ms  {result['over_torch'][name]:5.2f} x torch")
    if args.json:
        report = {
            "environment": environment(),
            "threads": args.threads,
            "steps": args.steps,
            "results": results,
            "load_average_after": list(os.getloadavg()),
        }
        partial = f"{args.json}.partial"
        with open(partial, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=1)
        os.replace(partial, args.json)  # atomic: a reader never sees half a file
    return 0


if __name__ == "__main__":
    sys.exit(main())
