"""The NumPy engine and PyTorch follow the same training trajectory on real MNIST batches."""

import numpy as np
import pytest

from cnnlab.data import normalize
from cnnlab.training.parity import run_parity

pytestmark = pytest.mark.torch  # PyTorch is the other half of every parity check


@pytest.fixture(scope="module")
def batches_source(mnist):
    return normalize(mnist.train_images[:4000]), mnist.train_labels[:4000].astype(np.int64)


@pytest.mark.parametrize("model", ["cnn2", "cnn3", "mlp3", "lenet5"])
# Learning rates gentle enough that float32 rounding (a different summation order in the two
# engines) cannot flip a near-tied max-pool choice; at larger steps such a flip makes the two
# float32 trajectories drift apart chaotically, while float64 still agrees to 1e-10 (below).
@pytest.mark.parametrize(
    ("optimizer", "lr"), [("sgd", 0.01), ("adam", 5e-4)], ids=["sgd-momentum", "adam"]
)
def test_float32_losses_agree_at_every_step(batches_source, model, optimizer, lr):
    result = run_parity(model, *batches_source, steps=50, optimizer=optimizer, lr=lr)
    rel = np.abs(result.scratch_losses - result.torch_losses) / np.abs(result.torch_losses)
    print(f"{model} {optimizer}: max relative loss difference {rel.max():.2e}")
    assert rel.max() < 1e-4
    assert result.scratch_losses[-10:].mean() < result.scratch_losses[:10].mean()  # it learns
    assert result.max_weight_difference < 1e-4


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_float64_trajectories_agree_tightly(batches_source, optimizer):
    result = run_parity(
        "cnn2", *batches_source, steps=20, optimizer=optimizer, lr=0.01, dtype=np.float64
    )
    assert result.max_relative_loss_difference < 1e-10
    assert result.max_weight_difference < 1e-10


def test_parity_command_prints_both_columns(mnist_dir, capsys):
    from cnnlab.cli import main

    assert main(["parity", "--model", "cnn2", "--steps", "5", "--data-dir", str(mnist_dir)]) == 0
    out = capsys.readouterr().out
    assert "numpy loss" in out
    assert "pytorch loss" in out
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 5
    assert "largest loss difference" in out


BN_NET = (
    "Conv2d(16, 3, padding=1) BatchNorm2d ReLU MaxPool2d(2) Conv2d(32, 3, padding=1) ReLU "
    "MaxPool2d(2) Conv2d(64, 3, padding=1) ReLU Flatten Linear(10)"
)


@pytest.mark.parametrize(
    ("arch", "optimizer"),
    [
        (BN_NET, "sgd"),
        (BN_NET.replace("padding=1)", "padding=1, bias=False)", 1), "adam"),
    ],
)
def test_float64_trajectories_agree_with_batch_norm(batches_source, arch, optimizer):
    # Why no Adam with conv1's bias: BatchNorm2d right after it cancels the bias, so its gradient
    # is rounding noise (~1e-17) in both engines, and Adam divides it by its own size: the bias
    # then takes steps of +-lr whose signs are the noise's, 1e-8 apart after 10 steps. SGD
    # keeps noise as small as it is (1e-13).
    from cnnlab.models import spec_from_string

    spec = spec_from_string(arch, "bn")
    result = run_parity(
        spec, *batches_source, steps=10, optimizer=optimizer, lr=1e-2, dtype=np.float64
    )
    assert result.max_relative_loss_difference < 1e-9
    assert result.max_weight_difference < 1e-9  # running_mean and running_var too


def test_parity_command_takes_an_arch(mnist_dir, capsys):
    from cnnlab.cli import main

    args = ["parity", "--arch", "Conv2d(4, 5, padding=2) Tanh AvgPool2d(2) Flatten Linear(10)"]
    assert main([*args, "--steps", "3", "--float64", "--data-dir", str(mnist_dir)]) == 0
    assert "largest loss difference" in capsys.readouterr().out
