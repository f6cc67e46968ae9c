"""Per-seed observation and reward normalisation (``obs_norm=none|obs|obs_reward``).

Stable-Baselines3's ``VecNormalize`` with its defaults (which the RL Zoo's ``normalize: true``
uses, as does CleanRL), batched over the seeds of a group: every statistic is [S, ...] and a
seed's rows only ever update its own slice, so a seed normalises the same alone and in a group.

* Observations: running mean and variance in float64 (the parallel-variance update, initial
  count 1e-4), ``(obs - mean) / sqrt(var + epsilon)`` clipped to +-``clip``. The statistics are
  updated with the observations the policy acts on next (the first ones at reset, then each
  step's), as VecNormalize does, but only a seed's real rows: the reset row of NEXT_STEP
  autoreset never enters them. Within one step the observation acted on and the true next one
  are normalised with the same statistics.
* Rewards (``obs_reward``): each divided by the running standard deviation of the discounted
  return (the run's gamma; the return restarts after each episode end), clipped to +-``clip``.
  Episode returns in the metrics stay the env's own.

The statistics go into checkpoints and ``model.pt``; evaluation and a saved policy use them
frozen (``normalize_seed``), never updating them.
"""

from __future__ import annotations

import numpy as np

from a2c_lab.config import ObsNorm, ObsNormConfig

COUNT_INIT = 1e-4  # VecNormalize's RunningMeanStd(epsilon=1e-4): the initial count


class RunningMeanStd:
    """Mean, variance and count of S separate streams ([S, *shape], float64)."""

    def __init__(self, seeds: int, shape: tuple[int, ...] = ()):
        self.mean = np.zeros((seeds, *shape), dtype=np.float64)
        self.var = np.ones((seeds, *shape), dtype=np.float64)
        self.count = np.full(seeds, COUNT_INIT, dtype=np.float64)

    def update(self, batch: np.ndarray, valid: np.ndarray) -> None:
        """``batch`` [S, B, *shape]: each seed's rows; ``valid`` [S, B]: which of them count. A
        seed's batch moments over its valid rows merge into its statistics (Chan et al.'s
        parallel update, as SB3's ``RunningMeanStd.update_from_moments``)."""
        weights = valid.astype(np.float64).reshape(*valid.shape, *([1] * (batch.ndim - 2)))
        n = weights.sum(axis=1)  # [S, 1...]
        seen = n.reshape(len(n), -1)[:, 0] > 0
        if not seen.any():
            return
        safe = np.where(n > 0, n, 1.0)
        batch_mean = (batch * weights).sum(axis=1) / safe
        batch_var = (np.square(batch - batch_mean[:, None]) * weights).sum(axis=1) / safe
        count = self.count.reshape(n.shape)
        total = count + n
        delta = batch_mean - self.mean
        mean = self.mean + delta * n / total
        var = (self.var * count + batch_var * n + np.square(delta) * count * n / total) / total
        self.mean = np.where(seen.reshape(-1, *[1] * (self.mean.ndim - 1)), mean, self.mean)
        self.var = np.where(seen.reshape(-1, *[1] * (self.var.ndim - 1)), var, self.var)
        self.count = np.where(seen, total.reshape(len(n), -1)[:, 0], self.count)


def make_normalizer(cfg: ObsNormConfig, gamma: float, seeds: int, obs_dim: int, num_envs: int) -> Normalizer | None:
    """The group's normalisation, or None for ``obs_norm=none`` (nothing on the hot path)."""
    if cfg.name is ObsNorm.none:
        return None
    return Normalizer(cfg, gamma, seeds, obs_dim, num_envs)


class Normalizer:
    """A group's observation normalisation, and reward scaling for ``obs_norm=obs_reward``."""

    def __init__(self, cfg: ObsNormConfig, gamma: float, seeds: int, obs_dim: int, num_envs: int):
        self.clip, self.epsilon, self.gamma = cfg.clip, cfg.epsilon, gamma
        self.obs_rms = RunningMeanStd(seeds, (obs_dim,))
        self.ret_rms = RunningMeanStd(seeds) if cfg.name is ObsNorm.obs_reward else None
        self.returns = np.zeros((seeds, num_envs), dtype=np.float64)  # each env's discounted return

    def normalize(self, obs: np.ndarray) -> np.ndarray:
        """obs [S, N, D] -> float32, each seed by its own current statistics."""
        scaled = (obs - self.obs_rms.mean[:, None]) / np.sqrt(self.obs_rms.var[:, None] + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def normalize_seed(self, seed_index: int, obs: np.ndarray) -> np.ndarray:
        """One seed's observations [B, D] by its frozen statistics (evaluation, a saved policy)."""
        scaled = (obs - self.obs_rms.mean[seed_index]) / np.sqrt(self.obs_rms.var[seed_index] + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def observe(self, obs: np.ndarray, valid: np.ndarray) -> None:
        """Update the observation statistics with the observations acted on next [S, N, D]."""
        self.obs_rms.update(obs, valid)

    def scale_rewards(self, rewards: np.ndarray, dones: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """One step's rewards [S, N] -> what the agent learns from (float32): divided by the std of
        the discounted return, after it was updated with this step (as VecNormalize does)."""
        if self.ret_rms is None:
            return rewards
        self.returns = np.where(valid, self.returns * self.gamma + rewards, self.returns)
        self.ret_rms.update(self.returns, valid)
        scaled = rewards / np.sqrt(self.ret_rms.var[:, None] + self.epsilon)
        self.returns[dones & valid] = 0.0
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def seed_state(self, seed_index: int) -> dict[str, np.ndarray]:
        """One seed's statistics, for its checkpoint and its model.pt."""
        state = {}
        for name, rms in (("obs", self.obs_rms), ("return", self.ret_rms)):
            if rms is not None:
                state.update({f"{name}.mean": np.array(rms.mean[seed_index]), f"{name}.var": np.array(rms.var[seed_index]),
                              f"{name}.count": np.array(rms.count[seed_index])})
        return state

    def load_seed_state(self, seed_index: int, state: dict[str, np.ndarray]) -> None:
        for name, rms in (("obs", self.obs_rms), ("return", self.ret_rms)):
            if rms is not None:
                rms.mean[seed_index] = state[f"{name}.mean"]
                rms.var[seed_index] = state[f"{name}.var"]
                rms.count[seed_index] = state[f"{name}.count"]
