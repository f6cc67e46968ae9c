"""Collect n_steps vector steps of every seed's envs into named [T, S, N] tensors, and count each
seed's finished episodes. Observations and rewards in the rollout are what the agent learns from
(normalised where ``obs_norm`` says so, ``a2c_lab.training.normalization``); episode returns are
the env's own."""

from __future__ import annotations

import time
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from a2c_lab.runs.episode_stats import NO_EPISODES, Episodes
from a2c_lab.training.envs import EnvPool, GroupEnvs, VectorEnv
from a2c_lab.training.normalization import Normalizer


class Rollout(NamedTuple):
    """One rollout of S seeds' envs; every tensor is [T, S, N] (obs and next_obs [T, S, N, D]):
    T steps, S seeds, N envs per seed."""

    obs: torch.Tensor  # observation acted on
    actions: torch.Tensor  # int64 [T, S, N] (Discrete), or float32 [T, S, N, A] (Box: the unclipped sample)
    rewards: torch.Tensor
    next_obs: torch.Tensor  # true next observation (final one where an episode ended)
    terminated: torch.Tensor  # 1.0 where next_obs is terminal
    truncated: torch.Tensor  # 1.0 where the episode was cut after this step
    mask: torch.Tensor  # 1.0 for real transitions, 0.0 for NEXT_STEP autoreset's reset step

    @property
    def dones(self) -> torch.Tensor:
        """1.0 where the trajectory ends after this step for any reason (incl. masked rows)."""
        return torch.maximum(torch.maximum(self.terminated, self.truncated), 1.0 - self.mask)


Policy = Callable[[np.ndarray], np.ndarray]  # obs [S, N, D] float32 -> actions [S, N] int or [S, N, A] float


class Collector:
    """Steps a group's envs (``GroupEnvs``, ``EnvPool``, or one ``VectorEnv`` per seed) with a
    policy over all seeds; keeps the current (raw) obs, each seed's running episode stats and
    env-step count, and the normalisation's statistics (``normalizer``; None: none)."""

    def __init__(self, envs: GroupEnvs | EnvPool | Sequence[VectorEnv], start_time: float | Sequence[float],
                 normalizer: Normalizer | None = None):
        self.envs = envs if isinstance(envs, (GroupEnvs, EnvPool)) else GroupEnvs(list(envs))
        self.obs = self.envs.reset()  # [S, N, D], as the envs give them
        seeds, n = self.obs.shape[:2]
        self.normalizer = normalizer
        if normalizer is not None:
            normalizer.observe(self.obs, np.ones((seeds, n), dtype=bool))
        # per seed: when its wall clock reads 0 (a resumed seed started earlier)
        self.start_times = np.broadcast_to(np.asarray(start_time, dtype=np.float64), (seeds,)).copy()
        self.env_steps = np.zeros(seeds, dtype=np.int64)  # real transitions so far, per seed
        self._episode_return = np.zeros((seeds, n), dtype=np.float64)
        self._episode_length = np.zeros((seeds, n), dtype=np.int64)

    def collect(self, policy: Policy, n_steps: int) -> tuple[Rollout, list[Episodes]]:
        s, n, d = self.obs.shape
        obs = np.empty((n_steps, s, n, d), dtype=np.float32)
        next_obs = np.empty((n_steps, s, n, d), dtype=np.float32)
        spec = self.envs.actions
        actions = np.empty((n_steps, s, n, *(() if spec.discrete else (spec.size,))),
                           dtype=np.int64 if spec.discrete else np.float32)
        rewards = np.empty((n_steps, s, n), dtype=np.float32)
        terminated = np.empty((n_steps, s, n), dtype=np.float32)
        truncated = np.empty((n_steps, s, n), dtype=np.float32)
        mask = np.empty((n_steps, s, n), dtype=np.float32)
        step_time = np.empty(n_steps)
        # The per-step work is only: act, step, store. Episode bookkeeping is done for the
        # whole rollout at once afterwards (_finished_episodes).
        norm = self.normalizer
        learned_rewards = rewards if norm is None or norm.ret_rms is None else np.empty_like(rewards)
        for t in range(n_steps):
            obs[t] = self.obs if norm is None else norm.normalize(self.obs)
            actions[t] = policy(obs[t])
            step = self.envs.step(actions[t])
            rewards[t], terminated[t], truncated[t], mask[t], next_obs[t] = (
                step.reward, step.terminated, step.truncated, step.valid, step.next_obs)
            self.obs[:] = step.obs
            step_time[t] = time.perf_counter()
            if norm is not None:  # next_obs by the statistics obs[t] had; then they learn this step
                next_obs[t] = norm.normalize(next_obs[t])
                valid = mask[t] > 0
                norm.observe(self.obs, valid)
                if learned_rewards is not rewards:
                    ended = (terminated[t] > 0) | (truncated[t] > 0)
                    learned_rewards[t] = norm.scale_rewards(rewards[t], ended, valid)
        episodes = [self._finished_episodes(i, rewards[:, i], terminated[:, i], truncated[:, i], mask[:, i], step_time)
                    for i in range(s)]
        rollout = Rollout(*(torch.from_numpy(a) for a in
                            (obs, actions, learned_rewards, next_obs, terminated, truncated, mask)))
        return rollout, episodes

    def _finished_episodes(self, seed: int, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                           mask: np.ndarray, step_time: np.ndarray) -> Episodes:
        """One seed's episodes that ended during the rollout ([T, N] arrays), in the order they
        ended; carries each env's unfinished return and length over to the next rollout.

        Row by row (T is small), as step by step: add the row's rewards and real steps to each
        env's running sums, then report and zero the envs whose episode ended at that step.
        """
        ended = np.logical_or(terminated, truncated)
        steps_so_far = (self.env_steps[seed] + np.cumsum(mask.sum(axis=1), dtype=np.int64)).tolist()  # [T]
        self.env_steps[seed] = steps_so_far[-1]
        returns, lengths = self._episode_return[seed], self._episode_length[seed]
        finished: list[tuple[int, float, float, int]] = []
        for t, row_ended in enumerate(ended.any(axis=1).tolist()):
            returns += rewards[t]
            lengths += mask[t] > 0
            if row_ended:
                for i in np.flatnonzero(ended[t]).tolist():  # env order
                    finished.append((steps_so_far[t], step_time[t] - self.start_times[seed], returns[i], lengths[i]))
                returns[ended[t]] = 0.0
                lengths[ended[t]] = 0
        if not finished:
            return NO_EPISODES
        env_step, wall_time, episode_returns, episode_lengths = zip(*finished)
        return Episodes(np.array(env_step, dtype=np.int64), np.array(wall_time),
                        np.array(episode_returns), np.array(episode_lengths, dtype=np.int64))
