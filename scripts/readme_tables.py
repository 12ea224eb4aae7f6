"""Rewrite README.md's measured figures from the measurements, so that they cannot drift.

    python scripts/readme_tables.py          # from docs/measurements/, into README.md

reads docs/measurements/summary.json (a default `cnnlab run`), bench.json (`cnnlab bench --json`,
same machine) and, where present, seeds-summary.json (`cnnlab run --seeds`) and lab-bench.json
(`cnnlab lab --bench --json`), or the files named by --summary, --bench, --seeds, --lab. Each
block lies between `<!-- NAME:begin -->` and `<!-- NAME:end -->`: `opening` (the first
paragraph's speed ratios), `results` (a row per run, the machine), `performance` (ms per model
and phase, their ratio), `seeds` (mean ± std, McNemar of the first seed, the across-seed
comparison with the report's verdicts) and `lab` (its latency). Text outside is left alone;
tests/test_readme_tables.py fails when it quotes a figure that no block holds. The file is
replaced atomically; a missing marker pair or an unreadable input is one sentence, exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

MEASUREMENTS = Path("docs/measurements")
ENGINE_LABELS = {"scratch": "NumPy", "torch": "PyTorch", "keras": "Keras"}
BLAS_LABELS = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}


class RefusedError(Exception):
    """A problem the user can fix: printed as one sentence, exit status 2."""


def engine_label(engine: str) -> str:
    return ENGINE_LABELS.get(engine, engine)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def table(header: list[str], align: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table; `align` holds "l" or "r" per column."""
    rule = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(cells) + " |" for cells in [header, rule, *rows]]


def results_block(summary: dict | list, bench: dict | None = None) -> list[str]:
    """One row per run: model, engine, test accuracy, best validation, epochs, s/epoch, params;
    above it the machine (the bench's, measured in the same session) and the training time."""
    runs = summary["runs"] if isinstance(summary, dict) else summary  # older files: a plain list
    seconds = sum((r.get("seconds_per_epoch") or 0) * (r.get("epochs") or 0) for r in runs)
    intro = [f"{len(runs)} runs, {seconds / 60:.1f} minutes of training in all (epochs × seconds"]
    intro[0] += " per epoch)" + (f"; {machine_line(bench)}" if bench else ":")
    with_seed = len({run.get("seed") for run in runs}) > 1
    header = ["model", "engine", "test accuracy", "best validation", "epochs"]
    header += ["seconds per epoch", "parameters"]
    rows = []
    for run in runs:
        row = [run["model"], engine_label(run["engine"])]
        row += [percent(run.get("test_accuracy")), percent(run.get("best_val_accuracy"))]
        row += [str(run.get("epochs", "–")), number(run.get("seconds_per_epoch"))]
        parameters = run.get("parameters")
        row.append("–" if parameters is None else f"{parameters:,}")
        rows.append([*row[:2], str(run.get("seed", "–")), *row[2:]] if with_seed else row)
    if with_seed:
        header.insert(2, "seed")
    return [*intro, "", *table(header, ["l"] * (3 if with_seed else 2) + ["r"] * 5, rows)]


def phase_label(phase: str, images: int) -> str:
    if phase == "train":
        return f"training step, batch {images:,}"
    if phase == "inference":
        return f"inference, {images:,} images"
    return phase


def machine_line(bench: dict) -> str:
    """The date, CPU, NumPy and its BLAS, torch and oneDNN the timings were measured with."""
    env = bench.get("environment", {})
    date = str(bench.get("created", "an unknown date"))[:10]
    cpu = f"{env.get('cpu_model') or 'an unknown CPU'}, {env.get('cpu_count', '?')} cores"
    numpy = f"NumPy {env.get('numpy', '?')}"
    found = env.get("blas") or [{}]
    blas = next((b for b in found if b.get("package") == "numpy"), found[0])  # NumPy's own
    if blas:
        name = BLAS_LABELS.get(blas.get("internal_api"), blas.get("internal_api", "?"))
        arch = f" ({blas['architecture']})" if blas.get("architecture") else ""
        numpy += f" with {name} {blas.get('version', '?')}{arch}"
    torch = env.get("torch")
    if isinstance(torch, dict):
        extras = [f"CPU capability {torch['cpu_capability']}"] if "cpu_capability" in torch else []
        if "mkldnn" in torch:
            extras.append("oneDNN " + ("available" if torch["mkldnn"] else "not available"))
        torch_text = f"PyTorch {torch.get('version', '?')}"
        torch_text = ", ".join([torch_text, *extras])
    else:
        torch_text = f"PyTorch {torch}" if torch else "PyTorch not installed"
    threads = bench.get("settings", {}).get("threads")
    thread_text = f"; {threads} thread{'s' if threads != 1 else ''}" if threads else ""
    return f"measured on {date} on {cpu}; {numpy}; {torch_text}{thread_text}:"


def performance_block(bench: dict) -> list[str]:
    """Per model and phase: the median ms of each engine and scratch ÷ PyTorch."""
    times, order = {}, []
    for result in bench.get("results", []):
        key = (result["model"], result["phase"])
        if key not in times:
            order.append(key)
            times[key] = {"images": result.get("images", 0)}
        times[key][result["engine"]] = result["median_ms"]
    # Each ratio's own target (`cnnlab bench` writes one per model and phase); an older file
    # has one `target_ratio` for all.
    targets = {(r["model"], r["phase"]): r.get("target") for r in bench.get("ratios", [])}
    common = bench.get("target_ratio")
    has_target = common is not None or any(t is not None for t in targets.values())
    rows = []
    for model, phase in order:
        entry = times[(model, phase)]
        scratch, torch = entry.get("scratch"), entry.get("torch")
        ratio = scratch / torch if scratch is not None and torch else None
        row = [model, phase_label(phase, entry["images"]), number(scratch), number(torch)]
        row.append(number(ratio, 2))
        target = targets.get((model, phase)) or common
        if has_target:
            met = "–" if ratio is None or target is None else ("not met", "met")[ratio <= target]
            row.append(met if target is None else f"≤ {target}: {met}")
        rows.append(row)
    header = ["model", "phase", "NumPy ms", "PyTorch ms", "scratch ÷ PyTorch"]
    align = ["l", "l", "r", "r", "r"]
    if has_target:
        header.append("target")
        align.append("l")
    return ["M" + machine_line(bench)[1:], "", *table(header, align, rows)]


def _ratios(bench: dict, phase: str) -> list[float]:
    times: dict[str, dict[str, float]] = {}
    for r in bench.get("results", []):
        if r["phase"] == phase:
            times.setdefault(r["model"], {})[r["engine"]] = r["median_ms"]
    return [
        t["scratch"] / t["torch"] for t in times.values() if t.get("scratch") and t.get("torch")
    ]


def opening_block(bench: dict) -> list[str]:
    """The first paragraph's claim: the range of scratch ÷ PyTorch per training step."""
    train, infer = _ratios(bench, "train"), _ratios(bench, "inference")
    if not train:
        return ["(no training-step timings in the benchmark file)"]
    env = bench.get("environment", {})
    where = f"{env.get('cpu_model') or 'an unknown CPU'}, {env.get('cpu_count', '?')} cores"
    date = str(bench.get("created", "an unknown date"))[:10]
    text = f"On {where} ({date}) the NumPy engine takes {min(train):.2f}–{max(train):.2f}× "
    text += "PyTorch's time per training step"
    if infer:
        text += f" and {min(infer):.2f}–{max(infer):.2f}× per inference batch"
    return [text + " ([Performance](#performance))."]


def lab_block(lab: dict, bench: dict) -> list[str]:
    """The lab's POST /api/predict latency, and where it was measured."""
    return [
        f"`cnnlab lab --bench` over {len(lab.get('runs', []))} runs ({lab.get('cams', '?')} with "
        f"CAM), {lab.get('requests', '?')} requests: p50 {lab['p50_ms']} ms, p95 "
        f"{lab['p95_ms']} ms, max {lab['max_ms']} ms; {machine_line(bench)[:-1]}."
    ]


def seeds_block(summary: dict) -> list[str]:
    """Mean ± std over seeds per model and engine; McNemar between the runs of the first seed;
    the across-seed comparison of each pair, with the report's verdicts."""
    from cnnlab.report.significance import seed_verdict, signed_points

    rows = []
    for agg in summary.get("aggregates", []):
        spread = f"{100 * agg['mean']:.2f}% ± {100 * (agg.get('std') or 0.0):.2f} pt"
        seeds = ", ".join(str(seed) for seed in agg.get("seeds", []))
        rows.append([agg["model"], engine_label(agg["engine"]), seeds, spread])
    lines = table(["model", "engine", "seeds", "test accuracy, mean ± std"], list("llll"), rows)
    comparisons = summary.get("comparisons", [])
    first = comparisons[0].get("seed", 0) if comparisons else 0
    rows = [
        [c["a"], c["b"], str(c["n01"]), str(c["n10"]), f"{c['p_holm']:.3g}", c["verdict"]]
        for c in comparisons
        if c.get("seed", 0) == first
    ]
    header = ["a", "b", "n01", "n10", "p (Holm)", "verdict"]
    lines += ["", f"McNemar's test, these two trained networks on the same test images (seed "
              f"{first}; `n01`: images `a` gets right, `b` wrong):", ""]  # fmt: skip
    lines += table(header, ["l", "l", "r", "r", "r", "l"], rows)
    rows = []
    for s in summary.get("seed_comparisons", []):
        interval = f"{signed_points(s['low'])} to {signed_points(s['high'])}"
        rows.append([s["a"], s["b"], signed_points(s["mean"]), interval, seed_verdict(s)])
    if rows:
        lines += ["", "Across seeds, the two architectures as recipes (mean of `a` − `b` over the "
                  "seeds, with its 95% t interval):", ""]  # fmt: skip
        lines += table(["a", "b", "mean", "interval", "verdict"], list("llrrl"), rows)
    return lines


def replace_block(text: str, name: str, lines: list[str], readme: Path) -> str:
    """`text` with the lines between `<!-- name:begin -->` and `<!-- name:end -->` replaced."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise RefusedError(
            f"{readme} needs exactly one {begin} followed by one {end}; add that pair around "
            f"the {name} table"
        )
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + "\n".join(lines) + "\n" + end + tail


def read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise RefusedError(f"cannot read the {what} {path}: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise RefusedError(f"the {what} {path} is not valid JSON ({err.msg})") from None


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` whole, never leaving half a file: a temporary file, then os.replace."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _present(path: Path | None, default: str) -> Path | None:
    """The given file, else the default in docs/measurements/ when it is there."""
    found = MEASUREMENTS / default
    return path if path is not None else (found if found.is_file() else None)


def rewrite(readme: Path, summary: Path, bench: Path, seeds=None, lab=None) -> list[str]:
    """Rewrite every block the inputs fill (all read before writing); returns the block names."""
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError as err:
        raise RefusedError(f"cannot read {readme}: {err.strerror or err}") from None
    timings = read_json(bench, "benchmark")
    blocks = {
        "results": results_block(read_json(summary, "run summary"), timings),
        "performance": performance_block(timings),
    }
    if "<!-- opening:begin -->" in text:
        blocks["opening"] = opening_block(timings)
    if seeds is not None:
        blocks["seeds"] = seeds_block(read_json(seeds, "seed summary"))
    if lab is not None:
        blocks["lab"] = lab_block(read_json(lab, "lab benchmark"), timings)
    for name, lines in blocks.items():
        text = replace_block(text, name, lines, readme)
    write_atomically(readme, text)
    return list(blocks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--summary", type=Path, help="a default run's summary.json")
    parser.add_argument("--bench", type=Path, help="`cnnlab bench --json` output")
    parser.add_argument("--seeds", type=Path, help="summary.json of a `cnnlab run --seeds` run")
    parser.add_argument("--lab", type=Path, help="`cnnlab lab --bench --json` output")
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    args = parser.parse_args(argv)
    summary = args.summary or MEASUREMENTS / "summary.json"
    bench = args.bench or MEASUREMENTS / "bench.json"
    named = args.summary or args.bench  # files named: docs/measurements is not looked at
    seeds = args.seeds if named else _present(args.seeds, "seeds-summary.json")
    lab = args.lab if named else _present(args.lab, "lab-bench.json")
    try:
        written = rewrite(args.readme, summary, bench, seeds, lab)
    except RefusedError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (KeyError, TypeError) as err:
        print(f"error: an input file lacks the expected key or value {err}", file=sys.stderr)
        return 2
    print(f"rewrote the {', '.join(written)} blocks in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
