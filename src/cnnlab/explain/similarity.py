"""How alike two attribution maps are, as Adebayo et al. (2018) compare them: the Spearman
rank correlation of their absolute values, and SSIM of the absolute maps scaled to [0, 1]."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter
from scipy.stats import rankdata

SSIM_WINDOW = 7  # scikit-image's default: a 7×7 uniform window
SSIM_K1, SSIM_K2 = 0.01, 0.03
RANK_DIGITS = 9  # maps are ranked to 1e-9 of their peak: below that is rounding noise


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of |a| and |b| (any equal shapes); 0 when either is constant."""
    return float(rank_correlations(a[None], b[None])[0])


def rank_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of |a_n| and |b_n| for each pair of maps (N, ...): the Pearson
    correlation of their ranks (ties averaged, as `scipy.stats.spearmanr`); 0 where either
    map is constant. (N,)

    Values are first rounded to `RANK_DIGITS` significant digits of their map's largest: a
    background pixel's "0" comes out as +-1e-17 or exactly 0 depending on how many images
    shared its matrix multiply, and ranking that rounding noise made the figures depend on
    the batch size (by up to 0.01 on MNIST)."""
    a, b = _rounded(a), _rounded(b)
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra, rb = ra - ra.mean(axis=1, keepdims=True), rb - rb.mean(axis=1, keepdims=True)
    norms = np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))
    constant = (np.ptp(a, axis=1) == 0) | (np.ptp(b, axis=1) == 0)
    rho = np.divide((ra * rb).sum(axis=1), norms, out=np.zeros(len(a)), where=~constant)
    return np.clip(rho, -1.0, 1.0)


def _rounded(maps: np.ndarray) -> np.ndarray:
    """|maps| (N, ...) flattened to (N, P), in units of 10^-RANK_DIGITS of each map's peak."""
    m = np.abs(maps).reshape(len(maps), -1)
    peak = m.max(axis=1, keepdims=True)
    scaled = np.divide(m, peak, out=np.zeros_like(m), where=peak > 0)
    return np.round(scaled * 10.0**RANK_DIGITS)


def _unit(m: np.ndarray) -> np.ndarray:
    """|m| (N, H, W), each map divided by its maximum."""
    m = np.abs(m)
    peak = m.max(axis=(1, 2), keepdims=True)
    return np.divide(m, peak, out=m.copy(), where=peak > 0)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity (Wang et al. 2004) of |a| and |b| (H, W); see `ssims`."""
    return float(ssims(a[None], b[None])[0])


def ssims(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean structural similarity (Wang et al. 2004) of each pair |a_n|, |b_n| (N, H, W), each
    scaled to [0, 1] by its maximum, with a uniform 7×7 window and the sample covariance, as
    scikit-image's `structural_similarity(data_range=1)` computes it, edges cropped. (N,)"""
    a, b = _unit(a), _unit(b)
    n = SSIM_WINDOW**2
    mean = lambda m: uniform_filter(m, (1, SSIM_WINDOW, SSIM_WINDOW))  # noqa: E731  per map
    mu_a, mu_b = mean(a), mean(b)
    unbiased = n / (n - 1)
    var_a = unbiased * (mean(a * a) - mu_a**2)
    var_b = unbiased * (mean(b * b) - mu_b**2)
    cov = unbiased * (mean(a * b) - mu_a * mu_b)
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    pad = (SSIM_WINDOW - 1) // 2
    return s[:, pad:-pad, pad:-pad].mean(axis=(1, 2))
