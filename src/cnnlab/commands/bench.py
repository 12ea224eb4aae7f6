"""`cnnlab bench`: the NumPy engine beside PyTorch (and Keras) on the CPU: times, ratios, memory."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping

from cnnlab.commands.arch_options import ARCH_ROW_HELP, named_archs
from cnnlab.commands.checks import engine_list, model_list, whole_number
from cnnlab.commands.options import add_data_dir, add_dataset, add_threads
from cnnlab.models import COMPARISON_MODELS

NAME = "bench"
HELP = "time training steps and inference of the NumPy engine beside PyTorch and Keras on the CPU"

# Read by OpenBLAS once, when NumPy loads it: only a fresh process can run without them.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_UNSET = "_CNNLAB_BENCH_UNSET"  # passed to the re-executed process: what was removed, as JSON


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models", type=model_list, default=COMPARISON_MODELS, help="comma-separated"
    )
    parser.add_argument(
        "--arch", action="append", default=[], metavar='NAME="LAYERS"', help=ARCH_ROW_HELP
    )
    parser.add_argument(
        "--engines",
        type=engine_list,
        default=None,
        help="comma-separated (default: scratch,torch,keras, keras only when it imports)",
    )
    count = whole_number(1)
    parser.add_argument("--batch-size", type=count, default=64, help="images per training step")
    parser.add_argument("--steps", type=count, default=50, help="timed training steps per engine")
    parser.add_argument(
        "--warmup", type=whole_number(0), default=3, help="untimed calls per engine, first"
    )
    parser.add_argument("--inference-batches", type=count, default=10, help="timed, per engine")
    parser.add_argument("--inference-batch-size", type=count, default=1000, help="images per call")
    add_threads(parser, help="for every engine; 0: every core")
    parser.add_argument(
        "--seed", type=whole_number(0), default=0, help="weights, images and their order"
    )
    parser.add_argument("--profile", action="store_true", help="per-layer times, NumPy engine")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="also time the NumPy engine's plain path (the layers as written, none of its "
        "speed rewrites) as the engine scratch-plain",
    )
    parser.add_argument(
        "--epoch",
        action="store_true",
        help="also time real training epochs of cnn3: scratch, torch, torch, scratch (minutes)",
    )
    parser.add_argument(
        "--epoch-images",
        type=count,
        default=None,
        help="a quick --epoch: this many training images (and at most as many validation "
        "images) (default: all 55,000 and 5,000)",
    )
    add_dataset(parser)
    add_data_dir(parser)
    parser.add_argument(
        "--json", default=None, metavar="FILE", help="also write the results (default: none)"
    )
    parser.add_argument(
        "--keep-openblas-env",
        action="store_true",
        help=f"run with {' and '.join(OPENBLAS_OVERRIDES)} as set (default: re-run without them)",
    )


def reexec_plan(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[list[str], dict[str, str]] | None:
    """(argv, env) to run this command again without the OpenBLAS overrides; None: none set."""
    found = {name: environ[name] for name in OPENBLAS_OVERRIDES if name in environ}
    if not found or args.keep_openblas_env:
        return None
    env = {k: v for k, v in environ.items() if k not in found} | {_UNSET: json.dumps(found)}
    return [sys.executable, "-m", "cnnlab", NAME, *_argv(args)], env


def _argv(args: argparse.Namespace) -> list[str]:
    """The command line that parses back to `args` (every option's flag is its dest, dashed)."""
    argv = []
    for dest, value in vars(args).items():
        if dest.startswith("_") or dest == "command" or value is None or value is False:
            continue
        flag = "--" + dest.replace("_", "-")
        if isinstance(value, tuple):  # a comma-separated list, parsed
            value = ",".join(value)
        if isinstance(value, list):  # a repeatable option (--arch): once per value
            argv += [part for item in value for part in (flag, str(item))]
        else:
            argv += [flag] if value is True else [flag, str(value)]
    return argv


def _openblas_notes() -> list[str]:
    unset = json.loads(os.environ.pop(_UNSET, "{}"))
    notes = [
        f"{name} was set (to {value!r}); unset for this benchmark" for name, value in unset.items()
    ]
    for name in OPENBLAS_OVERRIDES:
        if name in os.environ:
            notes.append(f"{name}={os.environ[name]} is set and kept (--keep-openblas-env)")
    return notes


def run(args: argparse.Namespace) -> int:
    plan = reexec_plan(args, os.environ)
    if plan is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(plan[0][0], plan[0], plan[1])  # does not return

    from cnnlab import bench
    from cnnlab.data.source import folder_options
    from cnnlab.fileio import write_json

    notes = _openblas_notes()
    requested = args.engines if args.engines is not None else bench.DEFAULT_ENGINES
    archs = named_archs(args.arch, builtin=args.models)
    settings = bench.BenchSettings(
        models=(*args.models, *archs),
        archs=tuple(archs.items()),
        engines=requested,
        batch_size=args.batch_size,
        steps=args.steps,
        warmup=args.warmup,
        inference_batches=args.inference_batches,
        inference_batch_size=args.inference_batch_size,
        threads=args.threads,
        seed=args.seed,
        plain=args.plain,
    ).checked()
    engines, skipped = bench.available_engines(requested, keras_optional=args.engines is None)
    report = bench.benchmark(
        settings,
        engines,
        data_dir=args.data_dir,
        dataset=args.dataset,
        folder=folder_options(args),
        profile=args.profile,
        epoch=args.epoch,
        epoch_images=args.epoch_images,
        log=_log,
    )
    report["notes"] = notes + skipped
    print(bench.format_report(report))
    if args.json:
        write_json(args.json, report)
    return 0


def _log(line: str) -> None:
    """Progress lines go to stderr, the report to stdout."""
    print(line, file=sys.stderr, flush=True)
