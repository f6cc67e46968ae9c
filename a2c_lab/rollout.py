"""Collect n_steps vector steps into named [T, N] tensors, and count finished episodes."""

from __future__ import annotations

import time
from typing import Callable, NamedTuple

import numpy as np
import torch

from a2c_lab.envs import VectorEnv


class Rollout(NamedTuple):
    """One rollout; every tensor is [T, N] (obs and next_obs [T, N, D])."""

    obs: torch.Tensor  # observation acted on
    actions: torch.Tensor  # int64
    rewards: torch.Tensor
    next_obs: torch.Tensor  # true next observation (final one where an episode ended)
    terminated: torch.Tensor  # 1.0 where next_obs is terminal
    truncated: torch.Tensor  # 1.0 where the episode was cut after this step
    mask: torch.Tensor  # 1.0 for real transitions, 0.0 for NEXT_STEP autoreset's reset step

    @property
    def dones(self) -> torch.Tensor:
        """1.0 where the trajectory ends after this step for any reason (incl. masked rows)."""
        return torch.maximum(torch.maximum(self.terminated, self.truncated), 1.0 - self.mask)


class Episodes(NamedTuple):
    """Episodes that finished during one rollout, in the order they finished."""

    env_step: np.ndarray  # env steps (all envs, real transitions) when the episode ended
    wall_time: np.ndarray  # seconds since the start of training
    returns: np.ndarray
    lengths: np.ndarray


Policy = Callable[[np.ndarray], np.ndarray]  # obs [N, D] float32 -> actions [N] int


class Collector:
    """Steps the vector env with a policy; keeps the current obs and running episode stats."""

    def __init__(self, envs: VectorEnv, start_time: float):
        self.envs = envs
        self.start_time = start_time
        self.obs = envs.reset()
        self.env_steps = 0  # real transitions so far, summed over envs
        self._episode_return = np.zeros(envs.num_envs, dtype=np.float64)
        self._episode_length = np.zeros(envs.num_envs, dtype=np.int64)

    def collect(self, policy: Policy, n_steps: int) -> tuple[Rollout, Episodes]:
        n, d = self.envs.num_envs, self.envs.obs_dim
        obs = np.empty((n_steps, n, d), dtype=np.float32)
        next_obs = np.empty((n_steps, n, d), dtype=np.float32)
        actions = np.empty((n_steps, n), dtype=np.int64)
        rewards = np.empty((n_steps, n), dtype=np.float32)
        terminated = np.empty((n_steps, n), dtype=np.float32)
        truncated = np.empty((n_steps, n), dtype=np.float32)
        mask = np.empty((n_steps, n), dtype=np.float32)
        step_time = np.empty(n_steps)
        # The per-step work is only: act, step, store. Episode bookkeeping is done for the
        # whole rollout at once afterwards (_finished_episodes).
        for t in range(n_steps):
            obs[t] = self.obs
            actions[t] = policy(self.obs)
            step = self.envs.step(actions[t])
            rewards[t], terminated[t], truncated[t], mask[t], next_obs[t] = (
                step.reward, step.terminated, step.truncated, step.valid, step.next_obs)
            step_time[t] = time.perf_counter()
            self.obs = step.obs
        episodes = self._finished_episodes(rewards, terminated, truncated, mask, step_time)
        rollout = Rollout(*(torch.from_numpy(a) for a in
                            (obs, actions, rewards, next_obs, terminated, truncated, mask)))
        return rollout, episodes

    def _finished_episodes(self, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                           mask: np.ndarray, step_time: np.ndarray) -> Episodes:
        """Episodes that ended during the rollout ([T, N] arrays), in the order they ended;
        carries each env's unfinished return and length over to the next rollout.

        ``running_return[t, i]`` is env i's return so far after step t: a running sum that
        starts from the carried-over return and restarts at 0 after each episode end, summed
        in the same order as step by step, so the numbers are the same.
        """
        steps_so_far = self.env_steps + np.cumsum(mask.sum(axis=1), dtype=np.int64)  # [T]
        running_return = np.cumsum(np.vstack([self._episode_return[None], rewards]), axis=0)[1:]
        running_length = self._episode_length + np.cumsum(mask, axis=0, dtype=np.int64)
        ended = np.maximum(terminated, truncated) > 0
        finished: list[tuple[int, float, float, int]] = []
        for t, i in zip(*np.nonzero(ended)):  # time order, then env order
            finished.append((steps_so_far[t], step_time[t] - self.start_time, running_return[t, i], running_length[t, i]))
            running_return[t + 1:, i] = np.cumsum(rewards[t + 1:, i], dtype=np.float64)
            running_length[t + 1:, i] = np.cumsum(mask[t + 1:, i], dtype=np.int64)
        self.env_steps = int(steps_so_far[-1])
        self._episode_return = np.where(ended[-1], 0.0, running_return[-1])
        self._episode_length = np.where(ended[-1], 0, running_length[-1])
        columns = list(zip(*finished)) if finished else [(), (), (), ()]
        return Episodes(np.asarray(columns[0], dtype=np.int64), np.asarray(columns[1], dtype=np.float64),
                        np.asarray(columns[2], dtype=np.float64), np.asarray(columns[3], dtype=np.int64))
