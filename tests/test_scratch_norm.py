"""BatchNorm2d and BatchNorm1d against torch in float64: outputs, gradients, running statistics,
modes, buffers in the state dict; and by central differences."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from cnnlab.scratch import BatchNorm1d, BatchNorm2d, Conv2d, Module, ReLU, Sequential
from test_scratch_gradcheck import check_layer
from test_scratch_layers import TOL, assert_matches_torch, images
from torch_oracle import torch

BATCHNORMS = {  # the twin's class is looked up when a test builds it
    "2d": (BatchNorm2d, lambda *args, **kwargs: torch.nn.BatchNorm2d(*args, **kwargs)),
    "1d": (BatchNorm1d, lambda *args, **kwargs: torch.nn.BatchNorm1d(*args, **kwargs)),
}


def channel_major(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """An NCHW view of (C, N, H, W) memory, as `Conv2d` hands its output on."""
    N, C, H, W = shape
    return images((C, N, H, W), seed).transpose(1, 0, 2, 3)


def randomize(twin: torch.nn.Module, seed: int = 2) -> torch.nn.Module:
    """Weights, biases and running statistics away from their defaults, so each one matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in twin.state_dict().items():
            if tensor.is_floating_point():
                values = torch.randn(tensor.shape, generator=gen, dtype=tensor.dtype)
                tensor.copy_(values.abs() + 0.5 if name.endswith("running_var") else values)
    return twin


@pytest.mark.parametrize("memory", ["nchw", "channel_major"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no_affine"])
@pytest.mark.parametrize("shape", [(7, 3, 5, 6), (2, 4, 1, 1), (1, 2, 3, 3)], ids=str)
def test_batchnorm2d_in_training_mode_matches_torch(shape, affine, memory):
    x = images(shape) * 3 + 1 if memory == "nchw" else channel_major(shape) * 3 + 1
    layer, twin = (
        BatchNorm2d(shape[1], affine=affine),
        torch.nn.BatchNorm2d(shape[1], affine=affine),
    )
    assert_matches_torch(layer, randomize(twin), x)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        expected = getattr(twin, name).numpy()
        np.testing.assert_allclose(getattr(layer, name).data, expected, **TOL, err_msg=name)


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no_affine"])
@pytest.mark.parametrize("kind", sorted(BATCHNORMS))
def test_batchnorm_in_eval_mode_uses_the_running_statistics_like_torch(kind, affine):
    make_layer, make_twin = BATCHNORMS[kind]
    shape = (5, 3, 4, 6) if kind == "2d" else (5, 3)
    layer, twin = make_layer(3, affine=affine).eval(), randomize(make_twin(3, affine=affine)).eval()
    assert_matches_torch(layer, twin, images(shape))
    assert int(layer.num_batches_tracked.data) == 0  # eval mode leaves the statistics alone


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("kind", sorted(BATCHNORMS))
def test_running_statistics_follow_torch_over_several_steps(kind, momentum):
    make_layer, make_twin = BATCHNORMS[kind]
    shape = (6, 4, 3, 5) if kind == "2d" else (6, 4)
    layer, twin = make_layer(4, momentum=momentum).to(np.float64), make_twin(4, momentum=momentum)
    twin.double()
    for step in range(5):
        x = images(shape, seed=step) * (step + 1) + step  # a new mean and spread every step
        np.testing.assert_allclose(layer(x), twin(torch.from_numpy(x)).detach().numpy(), **TOL)
    assert layer.num_batches_tracked.data.dtype == np.int64
    assert int(layer.num_batches_tracked.data) == int(twin.num_batches_tracked) == 5
    np.testing.assert_allclose(layer.running_mean.data, twin.running_mean.numpy(), **TOL)
    np.testing.assert_allclose(layer.running_var.data, twin.running_var.numpy(), **TOL)
    x = images(shape, seed=9)
    layer.eval()
    twin.eval()
    np.testing.assert_allclose(layer(x), twin(torch.from_numpy(x)).detach().numpy(), **TOL)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_without_running_statistics_both_modes_use_the_batch_like_torch(training):
    layer = BatchNorm2d(3, track_running_stats=False).train(training)
    twin = torch.nn.BatchNorm2d(3, track_running_stats=False).train(training)
    assert layer.running_mean is None
    assert list(layer.buffers()) == []
    assert list(layer.state_dict()) == list(twin.state_dict()) == ["weight", "bias"]
    assert_matches_torch(layer, randomize(twin), images((4, 3, 5, 5)))


@pytest.mark.parametrize("batch", [2, 9])
def test_batchnorm1d_in_training_mode_matches_torch(batch):
    layer, twin = BatchNorm1d(5), randomize(torch.nn.BatchNorm1d(5))
    assert_matches_torch(layer, twin, images((batch, 5)) * 2 - 1)
    np.testing.assert_allclose(layer.running_var.data, twin.running_var.numpy(), **TOL)


def test_batchnorm1d_rejects_a_sequence_input_it_does_not_support():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\) expects input of shape \(N, 3\)"):
        BatchNorm1d(3)(images((4, 3, 7)))


def test_batchnorm2d_rejects_the_wrong_channel_count():
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 3, H, W\), got \(2, 4"):
        BatchNorm2d(3)(images((2, 4, 5, 5)))


def test_training_on_one_value_per_channel_is_refused_like_torch():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm2d(3)(images((1, 3, 1, 1)))
    assert BatchNorm2d(3).eval()(images((1, 3, 1, 1))).shape == (1, 3, 1, 1)


def conv_bn() -> tuple[Sequential, torch.nn.Sequential]:
    names = ("conv1", "bn1", "relu1")
    layers = (Conv2d(2, 3, 3), BatchNorm2d(3), ReLU())
    twins = (torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU())
    return (
        Sequential(OrderedDict(zip(names, layers, strict=True))),
        torch.nn.Sequential(OrderedDict(zip(names, twins, strict=True))),
    )


def test_state_dict_keys_and_order_equal_torchs_and_buffers_are_not_parameters():
    net, twin = conv_bn()
    assert list(net.state_dict()) == list(twin.state_dict())
    assert [name for name, _ in net.named_buffers()] == [n for n, _ in twin.named_buffers()]
    assert [name for name, _ in net.named_parameters()] == [n for n, _ in twin.named_parameters()]
    assert len(list(net.parameters())) == 4  # what an optimizer steps: no running statistics


def test_a_conv_bn_relu_stack_matches_torch():
    net, twin = conv_bn()
    assert_matches_torch(net, randomize(twin), images((6, 2, 7, 8)))
    np.testing.assert_allclose(net.bn1.running_mean.data, twin.bn1.running_mean.numpy(), **TOL)


def test_load_state_dict_round_trip_keeps_buffers_and_their_dtypes():
    net, twin = conv_bn()
    for _ in range(3):
        twin(torch.randn(4, 2, 6, 6))
    state = {name: t.numpy() for name, t in randomize(twin).state_dict().items()}
    net.load_state_dict(state)
    again = net.state_dict()
    assert list(again) == list(state)
    for name, value in state.items():
        np.testing.assert_array_equal(again[name], value, err_msg=name)
    assert again["bn1.num_batches_tracked"].dtype == np.int64
    assert int(again["bn1.num_batches_tracked"]) == 3
    assert again["bn1.running_var"].dtype == np.float32
    again["bn1.running_mean"][:] = 7.0  # a copy, not the buffer itself
    assert not np.any(net.bn1.running_mean.data == 7.0)


def test_to_float64_casts_float_buffers_and_keeps_the_counter_int64():
    layer = BatchNorm2d(3).to(np.float64)
    assert layer.running_mean.data.dtype == layer.running_var.data.dtype == np.float64
    assert layer.weight.data.dtype == layer.weight.grad.dtype == np.float64
    assert layer.num_batches_tracked.data.dtype == np.int64
    layer(images((4, 3, 2, 2)))
    assert layer.num_batches_tracked.data.dtype == np.int64
    assert layer.running_mean.data.dtype == np.float64


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("memory", ["nchw", "channel_major"])
def test_float32_stays_float32_in_any_memory_order(memory, training):
    x = (images((4, 3, 5, 6)) if memory == "nchw" else channel_major((4, 3, 5, 6))).astype("f4")
    layer = BatchNorm2d(3).train(training)
    y = layer(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == layer.weight.grad.dtype == layer.running_var.data.dtype
    assert y.dtype == np.float32
    assert y.flags.f_contiguous == x.flags.f_contiguous  # channel-major stays channel-major
    assert y.strides == x.strides


def test_no_input_gradient_still_fills_the_parameter_gradients():
    layer = BatchNorm2d(3)
    layer.needs_input_grad = False
    y = layer(images((4, 3, 2, 2)))
    assert layer.backward(np.ones_like(y) + y) is None
    assert np.any(layer.weight.grad != 0)


def test_repr_names_the_constructor_arguments():
    expected = "BatchNorm1d(4, eps=1e-05, momentum=None, affine=True, track_running_stats=True)"
    assert repr(BatchNorm1d(4, momentum=None)) == expected


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(
    ("make_layer", "shape"),
    [(lambda: BatchNorm2d(3), (3, 3, 2, 3)), (lambda: BatchNorm1d(4), (5, 4)),
     (lambda: BatchNorm2d(2, affine=False), (2, 2, 3, 2))],
    ids=["2d", "1d", "2d_no_affine"],
)  # fmt: skip
def test_gradients_by_central_differences(make_layer, shape, training):
    layer: Module = make_layer().to(np.float64)
    if training is False:
        layer.running_mean.data[:] = np.linspace(-1, 1, layer.num_features)
        layer.running_var.data[:] = np.linspace(0.5, 2, layer.num_features)
    layer.train(training)
    if layer.affine:
        layer.weight.data[:] = np.linspace(0.5, 1.5, layer.num_features)
        layer.bias.data[:] = np.linspace(-0.3, 0.3, layer.num_features)
    check_layer(layer, images(shape) * 2 + 0.5)
