"""GELU (`cnnlab.models.layers.gelu`): the exact erf form, equal to PyTorch's `nn.GELU()` in
float64 (output and input gradient), float32 kept, and a finite-difference check."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.models.layers.gelu import GELU

X = np.random.default_rng(0).normal(scale=3.0, size=(3, 4, 5, 6))


def test_gelu_equals_pytorchs_exact_gelu_in_float64():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle here")
    layer = GELU()
    dy = np.random.default_rng(1).normal(size=X.shape)
    xt = torch.from_numpy(X.copy()).requires_grad_(True)
    expected = torch.nn.GELU()(xt)  # approximate="none"
    expected.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(layer(X), expected.detach().numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(layer.backward(dy), xt.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_gelu_is_not_the_tanh_approximation():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle here")
    tanh_form = torch.nn.GELU(approximate="tanh")(torch.from_numpy(X)).numpy()
    assert np.abs(GELU()(X) - tanh_form).max() > 1e-5


def test_gelu_gradient_matches_finite_differences():
    layer = GELU()
    x = X[0, 0]
    dy = np.random.default_rng(2).normal(size=x.shape)
    layer(x)
    analytic = layer.backward(dy)
    h = 1e-6
    numeric = ((GELU()(x + h) - GELU()(x - h)) / (2 * h)) * dy
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_gelu_keeps_float32():
    x = X.astype(np.float32)
    layer = GELU()
    assert layer(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32
