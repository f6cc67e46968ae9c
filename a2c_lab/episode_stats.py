"""Learning-curve statistics of one run's episode sequence, shared by the trainer's
summary and the comparison report so both compute them the same way."""

from __future__ import annotations

import numpy as np


def trailing_mean(returns: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last min(window, k) episodes after each episode k (the notebook's metric)."""
    returns = np.asarray(returns, dtype=np.float64)
    if returns.size == 0:
        return returns
    sums = np.cumsum(returns)
    shifted = np.concatenate([np.zeros(window), sums[:-window]]) if returns.size > window else np.zeros(returns.size)
    counts = np.minimum(np.arange(1, returns.size + 1), window)
    return (sums - shifted[: returns.size]) / counts


def steps_to_threshold(env_steps: np.ndarray, returns: np.ndarray, threshold: float | None,
                       window: int = 100) -> int | None:
    """First env step at which the trailing ``window``-episode mean reached ``threshold``."""
    if threshold is None or len(returns) == 0:
        return None
    reached = np.flatnonzero(trailing_mean(returns, window) >= threshold)
    return int(np.asarray(env_steps)[reached[0]]) if reached.size else None


def area_under_curve(env_steps: np.ndarray, returns: np.ndarray, final_env_step: int, window: int = 20) -> float | None:
    """Average height of the trailing-``window`` learning curve over the env-step axis.

    The curve is a step function: after each episode it holds its value until the next
    one, and until ``final_env_step`` after the last. Before the first episode there is
    no curve; the average is over [first episode end, final_env_step]. Unit: return.
    """
    if len(returns) == 0:
        return None
    curve = trailing_mean(returns, window)
    edges = np.append(np.asarray(env_steps, dtype=np.float64), float(final_env_step))
    widths = np.diff(edges)
    span = edges[-1] - edges[0]
    return float(curve[-1]) if span <= 0 else float((curve * widths).sum() / span)
