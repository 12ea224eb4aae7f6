"""The printed report of `cnnlab bench`: its header lines and tables, from the report dict."""

from __future__ import annotations

from collections.abc import Sequence

from cnnlab.bench.timing import RATIO_KEY
from cnnlab.text import text_table
from cnnlab.training.engines import REFERENCE, SCRATCH, KerasEngine

RATIO_HEADER = f"{SCRATCH}/{REFERENCE}"  # "scratch/torch"


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
    if REFERENCE in env:
        t, keras = env[REFERENCE], KerasEngine.name
        lines.append(
            f"PyTorch {t['version']} (BLAS {t['blas']}, CPU capability {t['cpu_capability']})"
            + (f", Keras {env[keras]} on its torch backend" if keras in engines else "")
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
    torch = env[REFERENCE]["num_threads"] if REFERENCE in env else "n/a"
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
            if r:
                row += [f"{r[RATIO_KEY]:.2f}", f"<= {r['target']}", "met" if r["met"] else "MISSED"]
            else:
                row += ["", "", ""]
            rows.append(row)
    headers = [
        "model",
        "phase",
        "images",
        *(f"{e} ms" for e in engines),
        RATIO_HEADER,
        "target",
        "",
    ]
    title = f"speed: median milliseconds per call (lower is better), ratio {RATIO_HEADER}"
    return title + "\n" + text_table(headers, rows, "llr" + "r" * len(engines) + "rll")


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
    return "per engine: spread, throughput, memory\n" + text_table(headers, rows, "lllrrrr")


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
        f"profile: {SCRATCH} {profile['model']}, {what} of {p['images']:,} images{side_by_side}: "
        f"median {p['median_ms']:.2f} ms over {p['calls']} calls; median per part, % of that"
    )
    rows = [[r["part"], r["pass"], f"{r['ms']:.3f}", f"{r['percent']:.1f}"] for r in p["rows"]]
    return title + "\n" + text_table(["part", "pass", "ms", "%"], rows, "llrr")


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
        + text_table(headers, rows, "lrrrr")
        + f"\n{RATIO_HEADER}, mean epoch times: {epoch['train_ratio']:.2f} for the training epoch "
        f"(target <= {target}), {epoch['with_validation_ratio']:.2f} with validation"
    )
