"""How alike two attribution maps are, as Adebayo et al. (2018) compare them: the Spearman
rank correlation of their absolute values, and SSIM of the absolute maps scaled to [0, 1]."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter
from scipy.stats import spearmanr

SSIM_WINDOW = 7  # scikit-image's default: a 7×7 uniform window
SSIM_K1, SSIM_K2 = 0.01, 0.03


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of |a| and |b| (any equal shapes); 0 when either is constant."""
    a, b = np.abs(a).ravel(), np.abs(b).ravel()
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.abs(m)
    peak = m.max()
    return m / peak if peak > 0 else m


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity (Wang et al. 2004) of |a| and |b| (H, W), each scaled to
    [0, 1] by its maximum, with a uniform 7×7 window and the sample covariance, as
    scikit-image's `structural_similarity(data_range=1)` computes it, edges cropped."""
    a, b = _unit(a), _unit(b)
    n = SSIM_WINDOW**2
    mean = lambda m: uniform_filter(m, SSIM_WINDOW)  # noqa: E731
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
    return float(s[pad:-pad, pad:-pad].mean())
