"""Greedy evaluation: one seed's most likely actions on envs of its own, on observations
normalised by its statistics as they stand (frozen: evaluation never updates them)."""

from __future__ import annotations

import numpy as np

from a2c_lab.config import Config
from a2c_lab.runs import metrics as m
from a2c_lab.training.agents import A2C
from a2c_lab.training.envs import make_group_envs
from a2c_lab.training.normalization import Normalizer


def evaluate_greedy(agent: A2C, cfg: Config, seed_index: int, eval_streams: np.random.SeedSequence,
                    normalizer: Normalizer | None = None) -> dict[str, float]:
    """Run ``cfg.eval.episodes`` greedy episodes of one seed's policy on envs of its own, seeded
    from its evaluation stream (the same start states at every evaluation)."""
    envs = make_group_envs(cfg.task.id, cfg.eval.episodes, cfg.envs.backend, [eval_streams])  # a group of one
    try:
        obs = envs.reset()[0]
        returns = np.zeros(envs.num_envs)
        lengths = np.zeros(envs.num_envs)
        running = np.ones(envs.num_envs, dtype=bool)  # each env counts its first episode only
        policy = agent.greedy(seed_index)
        while running.any():
            action = policy(obs if normalizer is None else normalizer.normalize_seed(seed_index, obs))
            step = envs.step(action[None])
            live = running & step.valid[0]
            returns += step.reward[0] * live
            lengths += live
            running &= ~(step.terminated[0] | step.truncated[0])
            obs = step.obs[0]
    finally:
        envs.close()
    return {m.EVAL_RETURN_MEAN: float(returns.mean()), m.EVAL_RETURN_STD: float(returns.std()),
            m.EVAL_LENGTH_MEAN: float(lengths.mean())}
