"""scripts/readme_tables.py: README's marked blocks rewritten from small summary and bench files
(same keys as the real ones), the text around them untouched, a missing marker refused."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "readme_tables.py"
BEFORE = "# Title\n\nIntro text stays.\n\n"
BETWEEN = "\nProse between the tables stays too.\n\n"
AFTER = "\n\nThe end.\n"


def run_row(model: str, engine: str, seed: int, accuracy: float) -> dict:
    return {
        "model": model,
        "engine": engine,
        "seed": seed,
        "test_accuracy": accuracy,
        "accuracy_low": accuracy - 0.002,
        "accuracy_high": accuracy + 0.002,
        "best_val_accuracy": 0.9882,
        "epochs": 4,
        "seconds_per_epoch": 8.96706,
        "parameters": 43530,
        "run_dir": "runs/x",
    }


def bench_result(model: str, phase: str, engine: str, ms: float) -> dict:
    images = 64 if phase == "train" else 1000
    return {"model": model, "phase": phase, "engine": engine, "images": images, "median_ms": ms}


BENCH = {
    "created": "2026-11-30T01:16:15+00:00",
    "settings": {"threads": 2},
    "target_ratio": 1.0,
    "environment": {
        "cpu_count": 16,
        "cpu_model": "Test CPU 3000",
        "numpy": "2.5.2",
        "blas": [  # SciPy's OpenBLAS listed first: the line must name NumPy's
            {"internal_api": "openblas", "version": "0.3.30", "package": "scipy"},
            {
                "internal_api": "openblas",
                "version": "0.3.34",
                "architecture": "SkylakeX",
                "package": "numpy",
            },
        ],
        "torch": {"version": "2.13.0+cpu", "cpu_capability": "AVX512", "mkldnn": True},
    },
    "results": [
        bench_result("cnn2", "train", "scratch", 9.0),
        bench_result("cnn2", "train", "torch", 6.0),
        bench_result("cnn2", "inference", "scratch", 60.0),
        bench_result("cnn2", "inference", "torch", 96.0),
    ],
    "ratios": [
        {"model": "cnn2", "phase": "train", "scratch_over_torch": 1.5, "target": 1.0},
        {"model": "cnn2", "phase": "inference", "scratch_over_torch": 0.625, "target": 1.0},
    ],
}
SEEDS = {
    "runs": [run_row("cnn2", "scratch", s, 0.99 + s / 1000) for s in (0, 1)],
    "aggregates": [
        {"model": "cnn2", "engine": "scratch", "seeds": [0, 1], "mean": 0.9905, "std": 0.0007}
    ],
    "comparisons": [
        {"a": "cnn2-scratch-s0", "b": "mlp3-scratch-s0", "n01": 112, "n10": 30, "seed": 0,
         "p_value": 2.5e-12, "p_holm": 6.0e-11, "verdict": "cnn2-scratch-s0 better"},
        {"a": "cnn2-scratch-s1", "b": "mlp3-scratch-s1", "n01": 90, "n10": 41, "seed": 1,
         "p_value": 1e-5, "p_holm": 2e-5, "verdict": "cnn2-scratch-s1 better"},
    ],
}  # fmt: skip


def block(name: str, content: str) -> str:
    return f"<!-- {name}:begin -->\n{content}\n<!-- {name}:end -->"


def write_inputs(tmp_path: Path, summary) -> dict[str, Path]:
    paths = {name: tmp_path / f"{name}.json" for name in ("summary", "bench", "seeds")}
    for path, data in zip(paths.values(), (summary, BENCH, SEEDS), strict=True):
        path.write_text(json.dumps(data), encoding="utf-8")
    return paths


def run_script(readme: Path, paths: dict[str, Path], seeds: bool = True):
    args = [sys.executable, str(SCRIPT), "--readme", str(readme)]
    args += ["--summary", str(paths["summary"]), "--bench", str(paths["bench"])]
    if seeds:
        args += ["--seeds", str(paths["seeds"])]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def readme_with(tmp_path: Path, *names: str) -> Path:
    readme = tmp_path / "README.md"
    blocks = [block(name, "| old | table |") for name in names]
    readme.write_text(BEFORE + BETWEEN.join(blocks) + AFTER, encoding="utf-8")
    return readme


@pytest.mark.parametrize("shape", ["object", "plain list"])
def test_blocks_are_rewritten_and_the_text_around_them_is_not(tmp_path, shape):
    runs = [run_row("cnn2", "scratch", 0, 0.9916), run_row("cnn2", "torch", 0, 0.9915)]
    summary = {"runs": runs, "aggregates": [], "comparisons": []} if shape == "object" else runs
    readme = readme_with(tmp_path, "results", "performance", "seeds")
    result = run_script(readme, write_inputs(tmp_path, summary))
    assert result.returncode == 0, result.stderr

    text = readme.read_text(encoding="utf-8")
    assert "| old | table |" not in text
    assert text.startswith(BEFORE)
    assert text.endswith(AFTER)
    assert text.count(BETWEEN) == 2
    results = text.split("<!-- results:begin -->")[1].split("<!-- results:end -->")[0]
    assert "| cnn2 | NumPy | 99.16% | 98.82% | 4 | 9.0 | 43,530 |" in results
    assert "| cnn2 | PyTorch | 99.15% |" in results
    performance = text.split("<!-- performance:begin -->")[1].split("<!-- performance:end -->")[0]
    assert "| cnn2 | training step, batch 64 | 9.0 | 6.0 | 1.50 | ≤ 1.0: not met |" in performance
    assert "| cnn2 | inference, 1,000 images | 60.0 | 96.0 | 0.62 | ≤ 1.0: met |" in performance
    for fact in ("2026-11-30", "Test CPU 3000, 16 cores", "NumPy 2.5.2", "OpenBLAS 0.3.34"):
        assert fact in performance
    for fact in ("SkylakeX", "PyTorch 2.13.0+cpu", "AVX512", "oneDNN available", "2 threads"):
        assert fact in performance
    assert "0.3.30" not in performance
    seeds = text.split("<!-- seeds:begin -->")[1].split("<!-- seeds:end -->")[0]
    assert "| cnn2 | NumPy | 0, 1 | 99.05% ± 0.07 pt |" in seeds
    assert (
        "| cnn2-scratch-s0 | mlp3-scratch-s0 | 112 | 30 | 6e-11 | cnn2-scratch-s0 better |" in seeds
    )
    assert "s1" not in seeds  # McNemar of seed 0 only


def test_a_second_run_gives_the_same_file(tmp_path):
    paths = write_inputs(tmp_path, SEEDS)
    readme = readme_with(tmp_path, "results", "performance", "seeds")
    assert run_script(readme, paths).returncode == 0
    first = readme.read_text(encoding="utf-8")
    assert "| cnn2 | NumPy | 1 | 99.10% |" in first  # several seeds: a seed column
    assert run_script(readme, paths).returncode == 0
    assert readme.read_text(encoding="utf-8") == first


def test_without_seeds_the_seeds_block_is_neither_needed_nor_touched(tmp_path):
    readme = readme_with(tmp_path, "results", "performance")
    assert run_script(readme, write_inputs(tmp_path, SEEDS), seeds=False).returncode == 0
    assert "| old | table |" not in readme.read_text(encoding="utf-8")


@pytest.mark.parametrize("missing", ["results", "performance", "seeds"])
def test_a_missing_marker_pair_is_refused_and_the_readme_is_left_alone(tmp_path, missing):
    names = [name for name in ("results", "performance", "seeds") if name != missing]
    readme = readme_with(tmp_path, *names)
    before = readme.read_text(encoding="utf-8")
    result = run_script(readme, write_inputs(tmp_path, SEEDS))
    assert result.returncode == 2
    assert f"<!-- {missing}:begin -->" in result.stderr
    assert result.stderr.count("\n") == 1  # one sentence, no traceback
    assert readme.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_end_marker_before_its_begin_is_refused(tmp_path):
    readme = readme_with(tmp_path, "performance", "seeds")
    readme.write_text(
        readme.read_text() + "\n<!-- results:end -->\n<!-- results:begin -->\n", encoding="utf-8"
    )
    assert run_script(readme, write_inputs(tmp_path, SEEDS)).returncode == 2


def test_an_unreadable_input_is_one_sentence(tmp_path):
    readme = readme_with(tmp_path, "results", "performance", "seeds")
    paths = write_inputs(tmp_path, SEEDS)
    paths["bench"].write_text("{not json", encoding="utf-8")
    result = run_script(readme, paths)
    assert result.returncode == 2
    assert "is not valid JSON" in result.stderr


# -- the README itself: every figure from a generated block -------------------------------------

ROOT = SCRIPT.parents[1]
BLOCK = re.compile(r"<!-- (\w+):begin -->\n(.*?)<!-- \1:end -->", re.S)
# a measured-looking figure: a decimal (not a version such as 2.13.0 or 127.0.0.1, not 2.1e-09),
# or a whole number with a unit
FIGURE = re.compile(
    r"(?<![\w.])(?:\d[\d,]*\.\d+(?![\w.])(?:\s?(?:%|ms|s|min|pt|points|×))?"
    r"|\d[\d,]*\s?(?:%|ms|s|min|minutes|GB|MB|pt|points|seconds)(?!\w))"
)


def _settings() -> dict[str, object]:
    """Figures the README may quote because they are settings, each checked against its code."""

    from cnnlab.analysis.stats import ALPHA, TWIN_MARGIN
    from cnnlab.grid.executors import CONNECT_TIMEOUT_S
    from cnnlab.lab.bodylimit import MAX_BODY_BYTES, MAX_DRAIN_BYTES
    from cnnlab.training import loop

    return {
        "0.05": ALPHA,  # the significance level
        "95%": f"{100 * (1 - ALPHA):g}%",  # the level of every interval
        "0.2 points": f"{100 * TWIN_MARGIN:.1f} points",  # the twins' margin
        "0.15": loop.CHANCE_ACCURACY,  # divergence: validation accuracy fell to chance
        "0.5": loop.LEARNED_ACCURACY,  # ... after it was above this
        "2.3": f"{loop.CHANCE_LOSS:.1f}",  # ln 10, the loss of a uniform guess
        "10 s": f"{CONNECT_TIMEOUT_S} s",  # the Dask scheduler's connect timeout
        "2 MB": f"{MAX_BODY_BYTES // 2**20} MB",  # the lab's largest request body
        "1 GB": f"{MAX_DRAIN_BYTES // 2**30} GB",  # what the lab reads of a refused body
        "3.11": "3.11",  # the Python the pinned versions need (constraints.txt)
    }


def _prose(text: str) -> str:
    """The README without its generated blocks, fenced code and code spans (commands, names)."""
    text = BLOCK.sub("", text)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def test_the_readme_blocks_are_what_the_measurement_files_say(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    copy = tmp_path / "README.md"
    copy.write_text(
        BLOCK.sub(lambda m: f"<!-- {m[1]}:begin -->\nstale\n<!-- {m[1]}:end -->", readme)
    )
    args = [sys.executable, str(SCRIPT), "--readme", str(copy)]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert copy.read_text(encoding="utf-8") == readme, "run python scripts/readme_tables.py"
    names = [m[1] for m in BLOCK.finditer(readme)]
    assert {"opening", "results", "performance", "seeds", "lab"} <= set(names)


def test_every_figure_the_readme_quotes_comes_from_a_generated_block():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    generated = " ".join(m[2] for m in BLOCK.finditer(readme))
    settings = _settings()
    for figure, value in settings.items():  # the settings are what the code says
        assert figure == (f"{value:g}" if isinstance(value, float) else str(value)), figure
    stray = [
        m[0]
        for m in FIGURE.finditer(_prose(readme))
        if m[0] not in settings and m[0] not in generated
    ]
    assert stray == []


def test_the_figure_check_catches_the_figures_that_went_stale():
    stale = (
        "trains at 0.94-1.18× PyTorch's time per step; cnn3 99.26% and p50 24.3 ms in 5.0 minutes"
    )
    assert [m[0] for m in FIGURE.finditer(_prose(stale))] == [
        "0.94", "1.18×", "99.26%", "24.3 ms", "5.0 min",
    ]  # fmt: skip
