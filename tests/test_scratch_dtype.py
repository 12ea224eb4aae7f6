"""Computation follows the dtype of input and parameters: float32 stays float32 (no float64
temporaries leaking into outputs, gradients or optimizer state), float64 stays float64."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.models import MODEL_NAMES, build_model
from cnnlab.scratch import (
    SGD,
    Adam,
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)

LAYERS = {
    "conv": (lambda: Conv2d(3, 4, 3), (2, 3, 9, 11)),
    "conv_strided_padded": (lambda: Conv2d(3, 4, 5, stride=2, padding=1), (2, 3, 9, 11)),
    "maxpool": (lambda: MaxPool2d(2), (2, 3, 9, 11)),
    "maxpool_overlapping": (lambda: MaxPool2d(3, 1), (2, 3, 9, 11)),
    "maxpool_padded": (lambda: MaxPool2d(3, 2, 1), (2, 3, 9, 11)),
    "avgpool_padded": (lambda: AvgPool2d(3, 2, 1), (2, 3, 9, 11)),
    "adaptive_avgpool": (lambda: AdaptiveAvgPool2d(1), (2, 3, 9, 11)),
    "batchnorm2d": (lambda: BatchNorm2d(3), (2, 3, 9, 11)),
    "batchnorm1d": (lambda: BatchNorm1d(6), (4, 6)),
    "leaky_relu": (LeakyReLU, (2, 3, 9, 11)),
    "tanh": (Tanh, (2, 3, 9, 11)),
    "sigmoid": (Sigmoid, (2, 3, 9, 11)),
    "relu": (ReLU, (2, 3, 9, 11)),
    "flatten": (Flatten, (2, 3, 9, 11)),
    "gap": (GlobalAvgPool2d, (2, 3, 9, 11)),
    "dropout": (lambda: Dropout(0.3), (2, 3, 9, 11)),
    "linear": (lambda: Linear(6, 5), (4, 6)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_layer_keeps_dtype(kind, dtype):
    make_layer, shape = LAYERS[kind]
    layer = make_layer().to(dtype)
    rng = np.random.default_rng(0)
    y = layer(rng.standard_normal(shape).astype(dtype))
    assert y.dtype == dtype
    dx = layer.backward(rng.standard_normal(y.shape).astype(dtype))
    assert dx.dtype == dtype
    assert all(p.data.dtype == dtype and p.grad.dtype == dtype for p in layer.parameters())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_keeps_dtype(dtype):
    loss = CrossEntropyLoss()
    value = loss(np.zeros((3, 10), dtype), np.array([1, 2, 3]))
    assert isinstance(value, float)
    assert loss.backward().dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "make_opt",
    [
        lambda p: SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-4),
        lambda p: Adam(p, weight_decay=1e-4),
    ],
    ids=["sgd", "adam"],
)
def test_optimizer_keeps_dtype(make_opt, dtype):
    layer = Linear(6, 5).to(dtype)
    opt = make_opt(layer.parameters())
    for _ in range(3):
        opt.zero_grad()
        layer(np.ones((2, 6), dtype))
        layer.backward(np.ones((2, 5), dtype))
        opt.step()
    assert all(p.data.dtype == dtype for p in layer.parameters())
    assert all(v.dtype == dtype for k, v in opt.state_dict().items() if "." in k)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_keeps_dtype(name, dtype):
    model = build_model(name).to(dtype)
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(dtype)
    loss = CrossEntropyLoss()
    logits = model(x)
    assert logits.dtype == dtype
    loss(logits, np.array([0, 1, 2]))
    model.backward(loss.backward())
    assert all(p.grad.dtype == dtype for p in model.parameters())
    if model.spec.feature_layer is not None:
        assert model.feature_map.dtype == dtype
        assert model.feature_grad.dtype == dtype


def test_built_models_are_float32():
    assert all(p.data.dtype == np.float32 for p in build_model("cnn3").parameters())
