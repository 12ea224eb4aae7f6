"""`cnnlab bench` with tiny settings: the tables, the JSON fields, the profile, the errors.

No timing assertions: the machines that run these tests are shared and noisy. Every call passes
--keep-openblas-env, so the command never re-executes (and so never replaces) the test process.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cnnlab.bench.inputs import make_inputs, synthetic_digits
from cnnlab.bench.settings import BenchSettings
from cnnlab.cli import build_parser, main
from cnnlab.commands import bench as bench_command
from cnnlab.errors import UserError
from cnnlab.models import get_spec
from cnnlab.training.parallel import _cores

pytestmark = pytest.mark.torch

# One thread: with two, a busy 2-core machine makes every matrix product wait for a core.
TINY = [
    "--steps", "2", "--warmup", "1", "--inference-batches", "1", "--inference-batch-size", "100",
    "--threads", "1", "--keep-openblas-env",
]  # fmt: skip
REPORT_KEYS = {
    "created", "settings", "target_ratio", "environment", "inputs", "memory_method", "results",
    "ratios", "notes",
}  # fmt: skip
ENVIRONMENT_KEYS = {
    "cpu_count", "numpy", "blas", "torch", "load_average_before", "load_average_after",
}  # fmt: skip
RECORD_KEYS = {
    "model", "phase", "engine", "images", "calls", "median_ms", "q1_ms", "q3_ms",
    "images_per_second", "peak_rss_growth_mib",
}  # fmt: skip


def run_bench(capsys, *argv):
    code = main(["bench", *TINY, *argv])  # later flags win
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def numbers(obj):
    """Every int and float in a JSON document (booleans are not numbers here)."""
    if isinstance(obj, dict):
        for value in obj.values():
            yield from numbers(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from numbers(value)
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield obj


def test_table_has_ratios_threads_and_blas(capsys, monkeypatch, mnist_dir):
    # What the re-executed process is told; no OPENBLAS_* variable is touched.
    monkeypatch.setenv(bench_command._UNSET, json.dumps({"OPENBLAS_CORETYPE": "Haswell"}))
    code, out, _ = run_bench(
        capsys, "--models", "mlp3,cnn2", "--engines", "scratch,torch", "--data-dir", str(mnist_dir)
    )
    assert code == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("model  phase  "))
    for column in ("scratch ms", "torch ms", "scratch/torch", "target"):
        assert column in header
    for model, step_target in (("mlp3", "<= 0.8"), ("cnn2", "<= 1.0")):
        for phase, target in (("train step", step_target), ("inference", "<= 1.0")):
            row = next(line for line in lines if line.startswith(f"{model}   {phase}"))
            assert target in row, (model, phase)
            assert row.endswith(("met", "MISSED")), row
    blas = next(line for line in lines if line.startswith("NumPy "))
    assert "BLAS:" in blas
    assert "kernels" in blas
    assert any(line.startswith("threads: ") and "torch.get_num_threads()" in line for line in lines)
    assert "inputs: real MNIST" in out
    assert "OPENBLAS_CORETYPE was set (to 'Haswell'); unset for this benchmark" in out
    assert "peak RSS" in out
    chunks = next(line for line in lines if line.startswith("chunks: "))
    # One thread (TINY): one chunk each, the model in one piece.
    assert "mlp3 1 per training batch, 1 per inference batch" in chunks
    assert "cnn2 1 per training batch, 1 per inference batch" in chunks


def test_json_fields_are_positive_and_finite(capsys, tmp_path):
    path = tmp_path / "bench.json"
    code, out, _ = run_bench(capsys, "--models", "mlp3", "--json", str(path))
    assert code == 0
    report = json.loads(path.read_text())
    assert set(report) >= REPORT_KEYS
    assert set(report["settings"]) >= {"models", "engines", "batch_size", "steps", "threads"}
    assert report["settings"]["engines"][:2] == ["scratch", "torch"]  # keras too, if it imports
    env = report["environment"]
    assert set(env) >= ENVIRONMENT_KEYS
    assert {"internal_api", "version", "architecture", "num_threads"} <= set(env["blas"][0])
    assert env["blas"][0]["package"] == "numpy"  # NumPy's own BLAS first (its wheel's)
    assert env["torch"]["num_threads"] == report["settings"]["threads"]
    assert len(report["results"]) == 2 * len(report["settings"]["engines"])
    for record in report["results"]:
        assert set(record) == RECORD_KEYS
        for key in ("median_ms", "q1_ms", "q3_ms", "images_per_second"):
            assert record[key] > 0
    assert [(r["model"], r["phase"]) for r in report["ratios"]] == [
        ("mlp3", "train"),
        ("mlp3", "inference"),
    ]
    assert report["target_ratio"] == 1.0  # a CNN's step, every inference, a real CNN epoch
    # mlp3's training step has the stricter target: all matrix products, NumPy's BLAS's home
    assert [r["target"] for r in report["ratios"]] == [0.8, 1.0]
    for ratio in report["ratios"]:
        assert ratio["scratch_over_torch"] > 0
        assert ratio["met"] == (ratio["scratch_over_torch"] <= ratio["target"])
    for value in numbers(report):
        assert math.isfinite(value)
        assert value >= 0  # memory growth and load averages may be 0; times are checked above
    assert f"{report['ratios'][0]['scratch_over_torch']:.2f}" in out


def test_profile_lists_every_layer_with_both_passes(capsys, tmp_path):
    path = tmp_path / "bench.json"
    code, out, _ = run_bench(
        capsys, "--models", "cnn2", "--engines", "scratch,torch", "--profile", "--json", str(path)
    )
    assert code == 0
    (profile,) = json.loads(path.read_text())["profile"]
    train = {(row["part"], row["pass"]) for row in profile["train"]["rows"]}
    inference = {(row["part"], row["pass"]) for row in profile["inference"]["rows"]}
    # every layer, each in a step of its own or in a fused conv+pool step
    steps = {part for part, _ in train} - {"other", "optimizer", "loss"}
    assert "conv1+pool1" in steps
    for layer in get_spec("cnn2").layers:
        (step,) = [s for s in steps if layer.name in s.split("+")]
        assert {(step, "forward"), (step, "backward")} <= train
        assert (step, "forward") in inference
    assert {("optimizer", "step"), ("loss", "forward+backward"), ("other", "")} <= train
    rows = profile["train"]["rows"]
    assert [r["ms"] for r in rows] == sorted((r["ms"] for r in rows), reverse=True)
    assert all(r["percent"] >= 0 for r in rows)
    printed = out[out.index("profile: scratch cnn2, training step") :]
    for step in steps:
        for pass_ in ("forward", "backward"):
            assert any(line.split()[:2] == [step, pass_] for line in printed.splitlines())


def test_profile_of_a_split_batch_times_the_calling_threads_chunk(capsys, tmp_path):
    """Two threads: cnn2's batch runs in two chunks, and the timers sit on chunk 0 only (the
    replica is made by an untimed call first, even with --warmup 0)."""
    path = tmp_path / "bench.json"
    code, out, _ = run_bench(
        capsys,
        *("--models", "cnn2", "--engines", "scratch,torch", "--profile", "--json", str(path)),
        *("--threads", "2", "--warmup", "0", "--batch-size", "64"),
    )
    assert code == 0
    report = json.loads(path.read_text())
    chunks = min(2, _cores())
    assert report["scratch_chunks"] == {"cnn2": {"train": chunks, "inference": chunks}}
    train = report["profile"][0]["train"]
    assert (train["chunks"], train["chunk_images"]) == (chunks, 64 // chunks)
    if chunks == 2:
        assert "training step of 64 images in 2 chunks side by side" in out
        assert "calling thread's chunk (32 images)" in out
    timed = {name for row in train["rows"] for name in row["part"].split("+")}
    assert timed >= {layer.name for layer in get_spec("cnn2").layers}


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        (
            "--models",
            "cnn2,cnn9",
            "--models must be comma-separated model names from cnn2, cnn3, mlp3, lenet5, cnn3pad; "
            "'cnn9' is not one.",
        ),
        (
            "--engines",
            "scratch,jax",
            "--engines must be comma-separated engine names from scratch, torch, keras; "
            "'jax' is not one.",
        ),
        ("--steps", "0", "--steps must be a whole number of at least 1, not 0."),
    ],
)
def test_bad_names_and_numbers_are_one_sentence(capsys, flag, value, message):
    # checked while the options are parsed: argparse's error exit, before any work
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", *TINY, flag, value])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2
    assert out == ""
    assert err.splitlines()[-1] == f"cnnlab bench: error: {message}"
    assert "Traceback" not in err


def test_epoch_runs_the_real_loop_on_real_mnist(capsys, mnist_dir):
    code, out, _ = run_bench(
        capsys,
        "--models", "mlp3", "--engines", "scratch,torch",
        "--epoch", "--epoch-images", "256", "--data-dir", str(mnist_dir),
    )  # fmt: skip
    assert code == 0
    assert "epochs of cnn3 on real MNIST (256 images, batch 64)" in out
    assert "then evaluate on 256 validation images" in out
    assert "in the order scratch, torch, torch, scratch" in out
    assert "for the training epoch (target <= 1.0)" in out


def test_inputs_fall_back_to_synthetic_digits_only_without_an_explicit_directory(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))  # an empty directory: no MNIST here
    settings = BenchSettings(steps=3, warmup=1, inference_batch_size=50)
    inputs = make_inputs(settings)
    assert inputs.source.startswith("synthetic digit-like images")
    assert len(inputs.batches) == 1 + 3 + 1 + 1  # warm-up, timed, untimed turn lead, memory
    x, y = inputs.batches[0]
    assert x.shape == (64, 1, 28, 28)
    assert x.dtype == np.float32
    assert y.dtype == np.int64
    assert inputs.images.shape == (50, 1, 28, 28)
    with pytest.raises(UserError):
        make_inputs(settings, data_dir=str(tmp_path))


def test_synthetic_digits_light_about_a_fifth_of_the_pixels():
    images = synthetic_digits(np.random.default_rng(0), 100)
    assert images.shape == (100, 28, 28)
    assert images.dtype == np.uint8
    assert 0.15 < (images > 0).mean() < 0.22  # MNIST: 0.19
    assert images.max() == 255


def test_reexec_drops_the_openblas_variables_and_keeps_the_command_line():
    argv = ["bench", "--models", "cnn2", "--steps", "7", "--profile", "--json", "out.json"]
    args = build_parser().parse_args(argv)
    environ = {"PATH": "/bin", "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576"}
    command, env = bench_command.reexec_plan(args, environ)
    assert command[1:4] == ["-m", "cnnlab", "bench"]
    assert vars(build_parser().parse_args(command[3:])) == vars(args)
    assert "OPENBLAS_CORETYPE" not in env
    assert "OPENBLAS_L2_SIZE" not in env
    assert env["PATH"] == "/bin"
    assert json.loads(env[bench_command._UNSET]) == {
        "OPENBLAS_CORETYPE": "Haswell",
        "OPENBLAS_L2_SIZE": "1048576",
    }
    assert bench_command.reexec_plan(args, {"PATH": "/bin"}) is None
    kept = build_parser().parse_args([*argv, "--keep-openblas-env"])
    assert bench_command.reexec_plan(kept, environ) is None


def test_plain_times_the_numpy_engines_plain_path_as_one_more_engine(capsys, mnist_dir):
    code, out, _ = run_bench(
        capsys, "--models", "cnn2", "--engines", "scratch,torch", "--plain",
        "--data-dir", str(mnist_dir),
    )  # fmt: skip
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("model  phase  "))
    assert "scratch-plain ms" in header
    rows = [line for line in out.splitlines() if line.startswith("cnn2 ")]
    assert any("scratch-plain" in row for row in rows)
    assert "engines scratch, torch, scratch-plain" in out


def test_the_plain_engine_of_the_bench_is_the_plain_path():
    from cnnlab.bench.settings import PLAIN
    from cnnlab.bench.timing import timed_engine

    plain, fast = (
        timed_engine(get_spec("cnn3"), PLAIN, 0),
        timed_engine(get_spec("cnn3"), "scratch", 0),
    )
    assert plain.plain
    assert plain.model.order == list(plain.model.named_children())
    assert not fast.plain
    assert fast.model.order != list(fast.model.named_children())
