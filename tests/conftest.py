"""Shared test helpers: config composition and a tiny deterministic env with a time limit."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from a2c_lab.config import register_configs

CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")
COUNTER_ID = "A2CLabTest/Counter-v0"


class CounterEnv(gym.Env):
    """obs = [t, 0]; reward 1 per step (+10 if action 1); terminates when t reaches 5 if
    action 1 was taken at t=4; time limit (truncation) at 3 steps via max_episode_steps."""

    observation_space = gym.spaces.Box(-100, 100, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0, 0.0], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        reward = 1.0 + 10.0 * float(action)
        return np.array([self.t, 0.0], dtype=np.float32), reward, False, False, {}


if COUNTER_ID not in gym.registry:
    gym.register(COUNTER_ID, entry_point=CounterEnv, max_episode_steps=3)

register_configs()


def make_cfg(*overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


FAST = ("logger=none", "eval.interval=0", "progress=false")


@pytest.fixture
def fast_cfg():
    def build(*overrides: str) -> DictConfig:
        return make_cfg(*FAST, *overrides)
    return build
