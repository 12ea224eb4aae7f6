"""cnnlab.viz.maps: normalisation never gives NaN, bilinear upsampling equals PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.viz.maps import COLORMAP, normalize_map, overlay, upsample_bilinear


@pytest.mark.parametrize(
    "m",
    [
        np.zeros((11, 11)),
        np.full((3, 3), 4.2),
        -np.arange(1.0, 10.0).reshape(3, 3),  # all negative
        np.full((3, 3), np.nan),
    ],
    ids=["zeros", "constant", "all-negative", "all-nan"],
)
def test_normalize_map_empty(m):
    out, empty = normalize_map(m)
    assert empty
    assert out.shape == m.shape
    assert not np.isnan(out).any()
    assert (out == 0).all()


def test_normalize_map_scales_to_unit_range_and_drops_negatives():
    m = np.array([[-3.0, 0.0], [1.0, 5.0]])
    out, empty = normalize_map(m)
    assert not empty
    np.testing.assert_allclose(out, [[0.0, 0.0], [0.2, 1.0]])


def test_normalize_map_ignores_nan_cells():
    m = np.array([[np.nan, 1.0], [2.0, 3.0]])
    out, empty = normalize_map(m)
    assert not empty
    assert np.isfinite(out).all()
    assert out.min() == 0.0
    assert out.max() == 1.0


@pytest.mark.torch
@pytest.mark.parametrize(
    ("shape", "size"),
    [((11, 11), (28, 28)), ((3, 3), (28, 28)), ((5, 7), (28, 20)), ((1, 1), (28, 28))],
)
def test_upsample_bilinear_matches_torch(shape, size):
    torch = pytest.importorskip("torch")
    m = np.random.default_rng(0).normal(size=shape)
    ours = upsample_bilinear(m, size)
    theirs = torch.nn.functional.interpolate(
        torch.from_numpy(m)[None, None], size=size, mode="bilinear", align_corners=False
    )[0, 0].numpy()
    assert ours.shape == size
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_upsample_bilinear_keeps_constants_and_range():
    np.testing.assert_allclose(upsample_bilinear(np.full((3, 3), 2.5)), np.full((28, 28), 2.5))
    m = np.random.default_rng(1).random((11, 11))
    up = upsample_bilinear(m)
    assert up.min() >= m.min() - 1e-12
    assert up.max() <= m.max() + 1e-12


def test_overlay_blends_image_and_colormap():
    from matplotlib import colormaps

    image = np.random.default_rng(2).integers(0, 256, size=(28, 28), dtype=np.uint8)
    heat = np.linspace(0, 1, 28 * 28).reshape(28, 28)
    out = overlay(image, heat, alpha=0.5)
    assert out.dtype == np.uint8
    assert out.shape == (28, 28, 3)
    # alpha 0: the grey image itself; alpha 1: the colormap alone
    np.testing.assert_array_equal(overlay(image, heat, alpha=0.0), np.stack([image] * 3, axis=-1))
    expected = np.round(colormaps[COLORMAP](heat)[..., :3] * 255)
    np.testing.assert_array_equal(overlay(image, heat, alpha=1.0), expected.astype(np.uint8))
