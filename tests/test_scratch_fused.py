"""`ConvPool` (`cnnlab.scratch.fused`): a conv and the max-pool after it in one step give what
the two layers give one after the other; only eligible pairs are fused."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from cnnlab.models import build_model
from cnnlab.scratch import Conv2d, MaxPool2d, ReLU
from cnnlab.scratch.fused import ConvPool, can_fuse, fuse_conv_pool

TOL = {"rtol": 1e-12, "atol": 1e-12}


def images(shape, seed=0, blank=0):
    x = np.random.default_rng(seed).normal(size=shape)
    x[:blank] = 0.0  # blank images: the conv gives its bias everywhere, so every window ties
    return x


def layer_by_layer(conv, pool, x, dy):
    out = pool.forward(conv.forward(x))
    dx = conv.backward(pool.backward(dy))
    return out, dx


@pytest.mark.parametrize(
    ("c_in", "c_out", "kernel", "padding", "pool_kernel", "size"),
    [
        (1, 4, 3, 0, 2, (28, 28)),  # cnn3's conv1 + pool1
        (4, 6, 3, 0, 2, (13, 13)),  # conv2 + pool2: 11x11, the last row and column dropped
        (3, 5, 3, 1, 2, (14, 14)),  # padding 1
        (2, 3, (3, 5), 0, (2, 3), (15, 17)),  # rectangular kernel and window
        (2, 3, 1, 0, 3, (9, 9)),  # 1x1 conv, 3x3 windows
    ],
)
def test_fused_step_equals_conv_then_pool_in_float64(
    c_in, c_out, kernel, padding, pool_kernel, size
):
    rng = np.random.default_rng(1)
    conv = Conv2d(c_in, c_out, kernel, padding=padding, rng=rng, dtype=np.float64)
    pool = MaxPool2d(pool_kernel)
    twin_conv, twin_pool = copy.deepcopy(conv), copy.deepcopy(pool)
    x = images((5, c_in, *size), blank=2)
    fused = ConvPool(conv, pool)
    out = fused.forward(x)
    expected_out = twin_pool.forward(twin_conv.forward(x))
    np.testing.assert_allclose(out, expected_out, **TOL)
    dy = images(out.shape, seed=2)
    dx = fused.backward(dy)
    _, expected_dx = layer_by_layer(twin_conv, twin_pool, x, dy)
    np.testing.assert_allclose(dx, expected_dx, **TOL)
    for name in ("weight", "bias"):
        grad, expected = getattr(conv, name).grad, getattr(twin_conv, name).grad
        assert np.abs(grad).max() > 0
        np.testing.assert_allclose(grad, expected, **TOL, err_msg=name)


def test_fused_step_without_input_gradient_and_in_float32():
    rng = np.random.default_rng(3)
    conv, pool = Conv2d(1, 8, 3, rng=rng), MaxPool2d(2)
    twin_conv, twin_pool = copy.deepcopy(conv), copy.deepcopy(pool)
    conv.needs_input_grad = twin_conv.needs_input_grad = False
    x = images((4, 1, 28, 28), blank=1).astype(np.float32)
    fused = ConvPool(conv, pool)
    out = fused.forward(x)
    assert out.dtype == np.float32
    dy = images(out.shape, seed=4).astype(np.float32)
    assert fused.backward(dy) is None
    np.testing.assert_allclose(out, twin_pool.forward(twin_conv.forward(x)), rtol=1e-5, atol=1e-5)
    twin_conv.backward(twin_pool.backward(dy))
    np.testing.assert_allclose(conv.weight.grad, twin_conv.weight.grad, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(conv.bias.grad, twin_conv.bias.grad, rtol=1e-4, atol=1e-4)


def test_only_stride_one_convs_and_tiling_pools_are_fused():
    assert can_fuse(Conv2d(1, 2, 3), MaxPool2d(2))
    assert not can_fuse(Conv2d(1, 2, 3, stride=2), MaxPool2d(2))
    assert not can_fuse(Conv2d(1, 2, 3), MaxPool2d(3, stride=2))  # overlapping windows
    assert not can_fuse(Conv2d(1, 2, 3), MaxPool2d(2, padding=1))
    assert not can_fuse(ReLU(), MaxPool2d(2))
    with pytest.raises(ValueError, match="cannot fuse"):
        ConvPool(Conv2d(1, 2, 3, stride=2), MaxPool2d(2))
    layers = [("conv1", Conv2d(1, 2, 3)), ("pool1", MaxPool2d(2)), ("conv2", Conv2d(2, 2, 3))]
    layers.append(("pool2", MaxPool2d(2)))
    names = [name for name, _ in fuse_conv_pool(layers, keep={"pool2"})]
    assert names == ["conv1+pool1", "conv2", "pool2"]


def test_cnn3_runs_its_conv_pool_pairs_fused_and_keeps_its_parameters():
    model = build_model("cnn3", engine="scratch").speed_up()
    names = [name for name, _ in model.order]
    assert names == [
        "conv1+pool1", "relu1", "conv2+pool2", "relu2", "conv3", "relu3", "flatten", "fc"
    ]  # fmt: skip
    assert [name for name, _ in model.named_parameters()] == [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight",
        "conv3.bias", "fc.weight", "fc.bias",
    ]  # fmt: skip
    replica = copy.deepcopy(model)  # as DataParallel makes them: the step uses the copy's conv
    step = dict(replica.order)["conv1+pool1"]
    assert step.layers[0] is replica.conv1
    assert step.layers[1] is replica.pool1


@pytest.mark.parametrize("name", ["cnn2", "cnn3", "cnn3pad"])
def test_the_engines_run_order_gives_the_written_orders_numbers(name):
    """Pool before ReLU and the fused steps together, against the layers as written."""
    fast = build_model(name, engine="scratch", seed=1).speed_up().to(np.float64)
    plain = build_model(name, engine="scratch", seed=1).to(np.float64)  # as written
    assert plain.order == list(plain.named_children())
    assert any(isinstance(step, ConvPool) for _, step in fast.order)
    for model in (fast, plain):
        for layer in model:
            layer.needs_input_grad = True
    x = images((6, 1, 28, 28), blank=2)
    results = []
    for model in (fast, plain):
        logits = model.forward(x.copy())
        dx = model.backward(np.random.default_rng(5).normal(size=logits.shape))
        results.append((logits, dx, {n: p.grad.copy() for n, p in model.named_parameters()}))
    (logits, dx, grads), (expected_logits, expected_dx, expected) = results
    np.testing.assert_allclose(logits, expected_logits, **TOL)
    np.testing.assert_allclose(dx, expected_dx, **TOL)
    for key, grad in grads.items():
        np.testing.assert_allclose(grad, expected[key], **TOL, err_msg=key)
