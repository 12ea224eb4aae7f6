"""Pool before ReLU (`cnnlab.scratch.reorder`): the swapped order gives the written order's
outputs and gradients bit for bit, ties included, and swaps only what it may."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.models import build_model, resolve_spec
from cnnlab.scratch import Conv2d, MaxPool2d, ReLU, Tanh
from cnnlab.scratch.reorder import pool_before_relu


def _pass(model, x, dy_seed=3):
    logits = model.forward(x.copy())
    dlogits = np.random.default_rng(dy_seed).normal(size=logits.shape)
    for param in model.parameters():
        param.grad[...] = 0
    dx = model.backward(dlogits)
    return logits, dx, {name: p.grad.copy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("name", ["cnn2", "cnn3", "cnn3pad"])
def test_swapped_order_gives_the_written_orders_numbers_exactly(name):
    swapped = build_model(name, engine="scratch", seed=1)
    written = build_model(name, engine="scratch", seed=1)
    swapped.to(np.float64)
    written.to(np.float64)
    # The swap alone (the engine also fuses each conv with its pool: tests/test_scratch_fused.py)
    swapped.order = pool_before_relu(list(swapped.named_children()), {swapped.spec.feature_layer})
    assert [n for n, _ in swapped.order] != [n for n, _ in written.order]  # something moved
    for model in (swapped, written):  # dx all the way to the image, through every layer
        for layer in model:
            layer.needs_input_grad = True
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 1, 28, 28))
    x[:3] = 0.0  # blank images: every window of every map ties
    x[3, :, :14] = -1.0  # a constant region: ties among the positive and the negative values
    got, expected = _pass(swapped, x), _pass(written, x)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert got[2].keys() == expected[2].keys()
    for key in got[2]:
        np.testing.assert_array_equal(got[2][key], expected[2][key], err_msg=key)


def test_only_relu_then_max_pool_is_swapped_and_the_feature_layer_keeps_its_place():
    layers = [
        ("conv1", Conv2d(1, 2, 3)),
        ("relu1", ReLU(inplace=True)),
        ("pool1", MaxPool2d(2)),
        ("tanh", Tanh()),
        ("pool2", MaxPool2d(2)),
        ("relu2", ReLU()),
        ("pool3", MaxPool2d(2)),
    ]
    order = [name for name, _ in pool_before_relu(layers, keep={"pool3"})]
    assert order == ["conv1", "pool1", "relu1", "tanh", "pool2", "relu2", "pool3"]


def test_the_cam_feature_map_is_the_written_layers_output():
    # "... ReLU MaxPool2d Flatten": the pool is the feature layer, so its pair keeps its order.
    spec = resolve_spec(
        "net", "Conv2d(4, 3) ReLU MaxPool2d(2) Conv2d(8, 3) ReLU MaxPool2d(2) Flatten Linear(10)"
    )
    model = build_model(spec, engine="scratch").speed_up()
    assert spec.feature_layer == "pool2"
    # the first block runs pool first (and fused with its conv); the feature layer's does not
    assert [n for n, _ in model.order][:2] == ["conv1+pool1", "relu1"]
    assert [n for n, _ in model.order][2:5] == ["conv2", "relu2", "pool2"]
    model.forward(np.random.default_rng(0).normal(size=(2, 1, 28, 28)).astype(np.float32))
    assert model.feature_map.min() >= 0  # after the ReLU, as written
