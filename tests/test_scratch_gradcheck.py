"""Gradients by central differences in float64, for the layers and the loss (no torch here)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from cnnlab.scratch import Conv2d, CrossEntropyLoss, GlobalAvgPool2d, Linear, MaxPool2d, Module

EPS = 1e-6
TOL = {"rtol": 1e-6, "atol": 1e-8}


def numerical_grad(f: Callable[[], float], a: np.ndarray) -> np.ndarray:
    """d f / d a by central differences, perturbing `a` in place one element at a time."""
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + EPS
        up = f()
        a[i] = old - EPS
        down = f()
        a[i] = old
        grad[i] = (up - down) / (2 * EPS)
    return grad


def check_layer(layer: Module, x: np.ndarray) -> None:
    """L = sum(layer(x) * dy): backward's dx and every parameter gradient vs central differences."""
    layer.to(np.float64)
    dy = np.random.default_rng(1).standard_normal(layer(x).shape)

    def loss() -> float:
        return float(np.sum(layer(x) * dy))

    layer.zero_grad()
    layer(x)
    dx = layer.backward(dy)
    np.testing.assert_allclose(dx, numerical_grad(loss, x), **TOL)
    for name, param in layer.named_parameters():
        np.testing.assert_allclose(
            param.grad, numerical_grad(loss, param.data), **TOL, err_msg=name
        )


@pytest.mark.parametrize(
    ("kernel_size", "stride", "padding"),
    [(3, 1, 0), (3, 2, 1), (2, 2, 0), (1, 1, 1), ((3, 2), (1, 2), (2, 0))],
)
def test_conv2d(kernel_size, stride, padding):
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 6))
    check_layer(Conv2d(2, 3, kernel_size, stride, padding), x)


@pytest.mark.parametrize(
    ("kernel_size", "stride", "padding"),
    [(2, None, 0), (3, 1, 0), (2, 1, 0), (3, 2, 0), (3, 2, 1), (2, None, 1), (3, 1, (1, 0))],
)
def test_maxpool2d(kernel_size, stride, padding):
    # Distinct values 0.01 apart, so a perturbation of 1e-6 never changes which one is the max.
    x = np.random.default_rng(0).permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8) * 0.01
    check_layer(MaxPool2d(kernel_size, stride, padding), x)


@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias):
    check_layer(Linear(6, 4, bias), np.random.default_rng(0).standard_normal((3, 6)))


def test_global_avg_pool2d():
    check_layer(GlobalAvgPool2d(), np.random.default_rng(0).standard_normal((2, 3, 4, 5)))


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_cross_entropy_loss(scale):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 4)) * scale
    targets = rng.integers(0, 4, size=5)
    loss = CrossEntropyLoss()
    loss(logits, targets)
    dlogits = loss.backward()
    np.testing.assert_allclose(
        dlogits, numerical_grad(lambda: loss(logits, targets), logits), **TOL
    )
