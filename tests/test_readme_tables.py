"""scripts/readme_tables.py: README's marked blocks rewritten from small summary and bench files
(same keys as the real ones), the text around them untouched, a missing marker refused."""

from __future__ import annotations

import json
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
    assert "| cnn2 | NumPy | 0, 1 | 99.05% ± 0.07 points |" in seeds
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
