"""Statistics across seeds: IQM, percentile bootstrap CIs, probability of improvement.

Pure functions on arrays of per-run numbers (one number per seed), in the manner of rliable.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

# Statistics use scipy.stats rather than rliable: rliable's bootstrap module
# (``rliable.library``) imports ``arch``, which fails to import beside pandas 3. For one
# task at a time scipy has everything rliable would give: trim_mean is rliable's IQM,
# ``stats.bootstrap`` with independent resampling of each variant's runs is its
# stratified bootstrap, and the Mann-Whitney U statistic over n*m is its probability of
# improvement.

MIN_SEEDS = 5  # below this a variant's statistics carry a warning
N_BOOT = 2000
CONFIDENCE = 0.95


def iqm(x, axis: int = -1):
    """Interquartile mean: the mean of the middle 50% (trims int(n / 4) from each end)."""
    return stats.trim_mean(x, 0.25, axis=axis)


def _mean(x, axis: int = -1):
    return np.mean(x, axis=axis)


STATISTICS = {"mean": _mean, "iqm": iqm}


def bootstrap_ci(x, statistic=iqm, n_boot: int = N_BOOT, confidence: float = CONFIDENCE, seed: int = 0, axis: int = -1):
    """Percentile bootstrap CI of ``statistic`` over the runs along ``axis``.

    Resamples are drawn by ``scipy.stats.bootstrap`` from ``np.random.default_rng(seed)``,
    so the same call gives the same interval. Percentile rather than BCa, as rliable
    does: BCa breaks down on the degenerate samples a few seeds often give. Returns
    (low, high); NaN where fewer than two runs.
    """
    x = np.asarray(x, dtype=float)
    if x.shape[axis] < 2:
        shape = np.delete(np.array(x.shape), axis)
        return np.full(shape, np.nan)[()], np.full(shape, np.nan)[()]
    result = stats.bootstrap((x,), statistic, n_resamples=n_boot, confidence_level=confidence,
                             method="percentile", axis=axis, vectorized=True, rng=np.random.default_rng(seed))
    return result.confidence_interval.low, result.confidence_interval.high


def _improvement_fraction(x, y, axis: int = -1):
    """Vectorised P(X > Y) + P(X = Y) / 2 over all pairs, along ``axis`` of x and y."""
    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)[..., :, None]
    y = np.moveaxis(np.asarray(y, dtype=float), axis, -1)[..., None, :]
    return ((x > y).mean(axis=(-2, -1)) + 0.5 * (x == y).mean(axis=(-2, -1)))


def probability_of_improvement(x, y, n_boot: int = N_BOOT, confidence: float = CONFIDENCE, seed: int = 0):
    """P(a run of X beats a run of Y), ties counted half, with a bootstrap CI.

    The point estimate is the Mann-Whitney U statistic of x over len(x) * len(y). The CI
    resamples the runs of X and of Y independently (rliable's stratified bootstrap).
    Returns (probability, low, high).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    point = stats.mannwhitneyu(x, y).statistic / (len(x) * len(y))
    if len(x) < 2 or len(y) < 2:
        return float(point), np.nan, np.nan
    result = stats.bootstrap((x, y), _improvement_fraction, n_resamples=n_boot, confidence_level=confidence,
                             method="percentile", vectorized=True, rng=np.random.default_rng(seed))
    return float(point), float(result.confidence_interval.low), float(result.confidence_interval.high)


def seed_warning(n: int) -> str:
    """Why a variant's statistics with n seeds deserve caution, or ''."""
    if n >= MIN_SEEDS:
        return ""
    trimmed = int(n * 0.25)
    return f"only {n} seed{'s' if n != 1 else ''}: the IQM trims {trimmed} per side and the CI means little"
