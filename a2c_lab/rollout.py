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


Policy = Callable[[torch.Tensor], torch.Tensor]  # obs [N, D] -> actions [N]


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
        finished: list[tuple[int, float, float, int]] = []
        for t in range(n_steps):
            obs[t] = self.obs
            with torch.inference_mode():
                actions[t] = policy(torch.from_numpy(self.obs)).numpy()
            step = self.envs.step(actions[t])
            rewards[t], terminated[t], truncated[t], mask[t] = (
                step.reward, step.terminated, step.truncated, step.valid)
            next_obs[t] = step.next_obs
            self.obs = step.obs
            self.env_steps += int(step.valid.sum())
            self._episode_return += step.reward
            self._episode_length += step.valid
            ended = step.terminated | step.truncated
            if ended.any():
                now = time.perf_counter() - self.start_time
                for i in np.flatnonzero(ended):
                    finished.append((self.env_steps, now, self._episode_return[i], self._episode_length[i]))
                self._episode_return[ended] = 0.0
                self._episode_length[ended] = 0
        rollout = Rollout(*(torch.from_numpy(a) for a in
                            (obs, actions, rewards, next_obs, terminated, truncated, mask)))
        columns = list(zip(*finished)) if finished else [(), (), (), ()]
        episodes = Episodes(np.asarray(columns[0], dtype=np.int64), np.asarray(columns[1], dtype=np.float64),
                            np.asarray(columns[2], dtype=np.float64), np.asarray(columns[3], dtype=np.int64))
        return rollout, episodes
