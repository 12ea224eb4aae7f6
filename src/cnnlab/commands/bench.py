"""`cnnlab bench`: the NumPy engine beside PyTorch (and Keras) on the CPU: times, ratios, memory."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence

from cnnlab.commands import comma_separated

NAME = "bench"
HELP = "time training steps and inference of the NumPy engine beside PyTorch and Keras on the CPU"
ORDER = 70

# Read by OpenBLAS once, when NumPy loads it: only a fresh process can run without them.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_UNSET = "_CNNLAB_BENCH_UNSET"  # passed to the re-executed process: what was removed, as JSON


def configure(parser: argparse.ArgumentParser) -> None:
    from cnnlab.commands._arch_option import ARCH_ROW_HELP  # NumPy loads after the re-exec

    parser.add_argument("--models", default="cnn2,cnn3,mlp3", help="comma-separated")
    parser.add_argument(
        "--arch", action="append", default=[], metavar='NAME="LAYERS"', help=ARCH_ROW_HELP
    )
    parser.add_argument(
        "--engines",
        default=None,
        help="comma-separated; unset: scratch,torch,keras, keras only when it imports",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="images per training step")
    parser.add_argument("--steps", type=int, default=50, help="timed training steps per engine")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls per engine, first")
    parser.add_argument("--inference-batches", type=int, default=10, help="timed, per engine")
    parser.add_argument("--inference-batch-size", type=int, default=1000, help="images per call")
    parser.add_argument("--threads", type=int, default=0, help="for every engine; 0: every core")
    parser.add_argument("--seed", type=int, default=0, help="weights, images and their order")
    parser.add_argument("--profile", action="store_true", help="per-layer times, NumPy engine")
    parser.add_argument(
        "--epoch",
        action="store_true",
        help="also time real training epochs of cnn3: scratch, torch, torch, scratch (minutes)",
    )
    parser.add_argument(
        "--epoch-images",
        type=int,
        default=None,
        help="a quick --epoch: this many training images (and at most as many validation "
        "images); unset: all 55,000 (and 5,000)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="MNIST directory (else $CNNLAB_DATA, else the cache)",
    )
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results")
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

    from datetime import datetime

    from cnnlab import bench
    from cnnlab.bench_profile import profile_model, time_epoch
    from cnnlab.fileio import write_json

    notes = _openblas_notes()
    requested = comma_separated(args.engines) if args.engines is not None else bench.DEFAULT_ENGINES
    from cnnlab.commands._arch_option import named_archs

    archs = named_archs(args.arch, builtin=comma_separated(args.models))
    settings = bench.BenchSettings(
        models=(*comma_separated(args.models), *archs),
        archs=tuple(archs.items()),
        engines=requested,
        batch_size=args.batch_size,
        steps=args.steps,
        warmup=args.warmup,
        inference_batches=args.inference_batches,
        inference_batch_size=args.inference_batch_size,
        threads=args.threads,
        seed=args.seed,
    ).checked()
    engines, skipped = bench.available_engines(requested, keras_optional=args.engines is None)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    created = datetime.now().astimezone().isoformat(timespec="seconds")
    with bench.engine_threads(settings.threads):
        inputs = bench.make_inputs(settings, args.data_dir)
        report = {"created": created} | bench.run_bench(settings, engines, inputs, log=log)
        if args.profile:
            report["profile"] = [profile_model(m, settings, inputs) for m in settings.models]
        if args.epoch:
            report["epoch"] = time_epoch(settings, args.data_dir, args.epoch_images, log=log)
    report["environment"]["load_average_after"] = list(os.getloadavg())
    report["notes"] = notes + skipped
    print(format_report(report))
    if args.json:
        write_json(args.json, report)
    return 0


# -- the printed report ------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    """Columns padded to their widest cell; `align` is one "l" or "r" per column."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        padded = [
            str(c).ljust(w) if a == "l" else str(c).rjust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


def _load(values: Sequence[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def format_report(report: dict) -> str:
    s, env = report["settings"], report["environment"]
    engines = s["engines"]
    lines = [
        f"cnnlab bench, {report['created']}: engines {', '.join(engines)} on the CPU",
        f"measured: median ms per training step (forward + backward + Adam step) at batch "
        f"{s['batch_size']} over {s['steps']} steps, and per inference batch of "
        f"{s['inference_batch_size']:,} images over {s['inference_batches']} batches, after "
        f"{s['warmup']} warm-up calls; the engines take turns of {s['turn']['train']} steps "
        f"and {s['turn']['inference']} batches, each turn after one untimed call",
        f"machine: {env['cpu_count']} cores ({env['cpu_model']}), load average (1, 5, 15 min) "
        f"{_load(env['load_average_before'])} before, {_load(env['load_average_after'])} after",
        _threads_line(s["threads"], env),
        *_chunks_line(report.get("scratch_chunks", {})),
        f"NumPy {env['numpy']}, BLAS: "
        + "; ".join(
            f"{b['internal_api']} {b['version']} ({b['architecture']} kernels, "
            f"{b['threading_layer']} threading)"
            for b in env["blas"]
        ),
    ]
    if "torch" in env:
        t = env["torch"]
        lines.append(
            f"PyTorch {t['version']} (BLAS {t['blas']}, CPU capability {t['cpu_capability']})"
            + (f", Keras {env['keras']} on its torch backend" if "keras" in engines else "")
        )
    lines += [f"note: {note}" for note in report["notes"]]
    lines.append(f"inputs: {report['inputs']}")
    memory = report["memory_method"] or "not measured (needs Linux /proc/self/clear_refs)"
    lines += [f"memory: {memory}", "", _speed_table(report), "", _detail_table(report)]
    for profile in report.get("profile", []):
        lines += [
            "",
            _profile_table(profile, "train", "training step"),
            "",
            _profile_table(profile, "inference", "inference batch"),
        ]
    if "epoch" in report:
        lines += ["", _epoch_table(report["epoch"], report["target_ratio"])]
    return "\n".join(lines)


def _threads_line(threads: int, env: dict) -> str:
    blas = ", ".join(f"{b['internal_api']} {b['num_threads']}" for b in env["blas"])
    torch = env["torch"]["num_threads"] if "torch" in env else "n/a"
    return (
        f"threads: {threads} for every engine (NumPy BLAS via threadpoolctl: {blas}; "
        f"torch.get_num_threads(): {torch})"
    )


def _chunks_line(chunks: dict[str, dict[str, int]]) -> list[str]:
    """How the NumPy engine spreads a batch over the threads (see `scratch.DataParallel`)."""
    if not chunks:
        return []
    parts = [
        f"{model} {c['train']} per training batch, {c['inference']} per inference batch"
        for model, c in chunks.items()
    ]
    return [
        "chunks: the NumPy engine splits each batch into chunks that run side by side, one "
        "thread each, with single-threaded BLAS inside (DataParallel; 1 chunk: one piece, "
        "with the BLAS threads): " + "; ".join(parts)
    ]


def _speed_table(report: dict) -> str:
    engines = report["settings"]["engines"]
    median = {(r["model"], r["phase"], r["engine"]): r for r in report["results"]}
    ratio = {(r["model"], r["phase"]): r for r in report["ratios"]}
    rows = []
    for model in report["settings"]["models"]:
        for phase in ("train", "inference"):
            first = median[model, phase, engines[0]]
            row = [model, "train step" if phase == "train" else "inference", f"{first['images']:,}"]
            row += [f"{median[model, phase, e]['median_ms']:.2f}" for e in engines]
            r = ratio.get((model, phase))
            row += (
                [f"{r['scratch_over_torch']:.2f}", "met" if r["met"] else "MISSED"]
                if r
                else ["", ""]
            )
            rows.append(row)
    headers = [
        "model",
        "phase",
        "images",
        *(f"{e} ms" for e in engines),
        "scratch/torch",
        f"<= {report['target_ratio']}",
    ]
    title = "speed: median milliseconds per call (lower is better), ratio scratch/torch"
    return title + "\n" + _table(headers, rows, "llr" + "r" * len(engines) + "rl")


def _detail_table(report: dict) -> str:
    rows = []
    for r in report["results"]:
        memory = r["peak_rss_growth_mib"]
        rows.append(
            [
                r["model"],
                r["phase"],
                r["engine"],
                f"{r['median_ms']:.2f}",
                f"{r['q1_ms']:.2f}-{r['q3_ms']:.2f}",
                f"{r['images_per_second']:,.0f}",
                "n/a" if memory is None else f"{memory:.1f}",
            ]
        )
    headers = ["model", "phase", "engine", "median ms", "q1-q3 ms", "images/s", "peak RSS +MiB"]
    return "per engine: spread, throughput, memory\n" + _table(headers, rows, "lllrrrr")


def _profile_table(profile: dict, phase: str, what: str) -> str:
    p = profile[phase]
    chunks = p.get("chunks", 1)
    side_by_side = (
        f" in {chunks} chunks side by side; the parts are timed on the calling thread's chunk "
        f"({p['chunk_images']:,} images) while the others run, so 'other' includes waiting "
        "for them"
        if chunks > 1
        else ""
    )
    title = (
        f"profile: scratch {profile['model']}, {what} of {p['images']:,} images{side_by_side}: "
        f"median {p['median_ms']:.2f} ms over {p['calls']} calls; median per part, % of that"
    )
    rows = [[r["part"], r["pass"], f"{r['ms']:.3f}", f"{r['percent']:.1f}"] for r in p["rows"]]
    return title + "\n" + _table(["part", "pass", "ms", "%"], rows, "llrr")


def _epoch_table(epoch: dict, target: float) -> str:
    rows = [
        [
            run["engine"],
            f"{run['train_seconds']:.1f}",
            f"{run['validation_seconds']:.1f}",
            f"{run['train_accuracy']:.4f}",
            f"{run['val_accuracy']:.4f}",
        ]
        for run in epoch["runs"]
    ]
    headers = ["engine", "train s", "validation s", "train accuracy", "val accuracy"]
    order = ", ".join(run["engine"] for run in epoch["runs"])
    return (
        f"epochs of {epoch['model']} on real MNIST ({epoch['images']:,} images, batch "
        f"{epoch['batch_size']}) through train_epoch, then evaluate on "
        f"{epoch['validation_images']:,} validation images; fresh models, in the order {order}\n"
        + _table(headers, rows, "lrrrr")
        + f"\nscratch/torch, mean epoch times: {epoch['train_ratio']:.2f} for the training epoch "
        f"(target <= {target}), {epoch['with_validation_ratio']:.2f} with validation"
    )
