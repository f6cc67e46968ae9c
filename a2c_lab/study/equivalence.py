"""Grouped vs separate as an equivalence: the rule fixed in part 2's design (results/study/README.md)
before any of its runs.

P = P(a run trained in its own process beats a run trained in the batched group). Equivalence is
shown when P's 90% interval lies inside MARGIN (two one-sided tests at 5%, the usual equivalence
test); a difference is shown when P's 95% interval excludes 0.5, and is then a bug in the batched
path to be found; anything else is inconclusive.
"""

from __future__ import annotations

import numpy as np

from a2c_lab.analysis.statistics import probability_of_improvement

MARGIN = (0.36, 0.64)
EQUIVALENT, DIFFERENT, INCONCLUSIVE = "equivalent", "different (a bug in the batched path)", "inconclusive"


def null_interval_halfwidth(n_x: int, n_y: int, confidence: float) -> float:
    """Half the width of P's interval when the two sides do not differ, by the normal approximation
    to the Mann-Whitney statistic (standard error sqrt((n+m+1) / (12 n m))): what the design's power
    statements are made from."""
    from scipy import stats  # noqa: PLC0415

    return float(stats.norm.ppf(0.5 + confidence / 2) * np.sqrt((n_x + n_y + 1) / (12 * n_x * n_y)))


def decide(low90: float, high90: float, low95: float, high95: float, margin=MARGIN) -> str:
    if low95 > 0.5 or high95 < 0.5:
        return DIFFERENT
    if margin[0] <= low90 and high90 <= margin[1]:
        return EQUIVALENT
    return INCONCLUSIVE


def equivalence_row(separate, grouped, n_boot: int, seed: int = 0) -> dict:
    """P(separate > grouped) with its 90% and 95% intervals and the design's verdict."""
    p, low90, high90 = probability_of_improvement(separate, grouped, n_boot, confidence=0.90, seed=seed)
    _, low95, high95 = probability_of_improvement(separate, grouped, n_boot, confidence=0.95, seed=seed)
    return dict(n_separate=len(separate), n_grouped=len(grouped), probability=p, low90=low90, high90=high90,
                low95=low95, high95=high95, margin_low=MARGIN[0], margin_high=MARGIN[1],
                verdict=decide(low90, high90, low95, high95))


METRICS = {"final_return": "final return", "auc": "AUC"}


def equivalence_rows(comparison, finals: dict, aucs: dict, n_boot: int) -> list[dict]:
    """The design's verdict on both metrics for an equivalence comparison (``comparison.equivalence``
    names its primary metrics), from each side's per-run values; [] until both sides have runs."""
    separate, grouped = comparison.reported_pairs()[0]
    rows = []
    for metric, values in (("final_return", finals), ("auc", aucs)):
        if len(values.get(separate, [])) and len(values.get(grouped, [])):
            rows.append(dict(comparison=comparison.key, metric=METRICS[metric],
                             primary=metric in comparison.equivalence,
                             **equivalence_row(values[separate], values[grouped], n_boot)))
    return rows
