"""Episodes, the record the collector hands the tracker; learning-curve statistics of one run's
episode sequence, shared by the trainer's summary and the comparison report so both compute
them the same way; and the trainer's record of a run's episodes (``EpisodeHistory``), from
which its summary is computed. numpy only: the analysis side imports this module."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from a2c_lab.runs import metrics as m


class Episodes(NamedTuple):
    """Episodes of one seed that finished during one rollout, in the order they finished."""

    env_step: np.ndarray  # the seed's env steps (its envs, real transitions) when the episode ended
    wall_time: np.ndarray  # seconds since the start of training
    returns: np.ndarray
    lengths: np.ndarray


NO_EPISODES = Episodes(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))


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


class EpisodeHistory:
    """All finished training episodes, for the progress bar and the end-of-run summary."""

    def __init__(self):
        self._steps: list[np.ndarray] = []
        self._returns: list[np.ndarray] = []
        self.count = 0

    def add(self, episodes: Episodes) -> None:
        self.add_arrays(episodes.env_step, episodes.returns)

    def add_arrays(self, env_steps: np.ndarray, returns: np.ndarray) -> None:
        if len(returns):
            self._steps.append(env_steps)
            self._returns.append(returns)
            self.count += len(returns)

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._returns:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        steps, returns = np.concatenate(self._steps), np.concatenate(self._returns)
        self._steps, self._returns = [steps], [returns]
        return steps, returns

    def last(self, window: int) -> float:
        tail = np.concatenate(self._returns[-window:])[-window:]  # each chunk holds >= 1 episode
        return float(tail.mean())

    def summary(self, env_steps: int, wall: float, threshold: float | None) -> dict[str, Any]:
        steps, returns = self._arrays()
        has = len(returns) > 0
        return {
            m.LAST100_RETURN: float(trailing_mean(returns, 100)[-1]) if has else None,
            m.LAST20_RETURN: float(trailing_mean(returns, 20)[-1]) if has else None,
            m.BEST_RETURN: float(returns.max()) if has else None,
            m.AUC: area_under_curve(steps, returns, env_steps),
            m.STEPS_TO_THRESHOLD: steps_to_threshold(steps, returns, threshold),
            m.EPISODES: int(len(returns)),
            m.TOTAL_ENV_STEPS: int(env_steps),
            m.TOTAL_WALL_TIME: wall,
            m.FINAL_SPS: env_steps / wall if wall > 0 else None,
        }
