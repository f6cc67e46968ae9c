"""train(cfg): seed, build, loop (collect -> estimate -> update -> log), summarise."""

from __future__ import annotations

import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from a2c_lab import metrics as m
from a2c_lab.advantages import estimate
from a2c_lab.agents import A2C
from a2c_lab.config import Backend, Config, ConfigError, validate
from a2c_lab.envs import VectorEnv, check_task, resolve_backend
from a2c_lab.episode_stats import area_under_curve, steps_to_threshold, trailing_mean
from a2c_lab.networks import ActorCritic
from a2c_lab.outcomes import Diverged, Interrupted, SignalGuard, outcome_of
from a2c_lab.rollout import Collector, Episodes, Rollout
from a2c_lab.run_folder import RUN_CONFIG_FILE, claim, holds_a_run, lock_is_held, write_json, write_status
from a2c_lab.tracking import Ended, Tracker, make_tracker, run_metadata

log = logging.getLogger(__name__)

EVAL_SEED_OFFSET = 1_000_003  # evaluation envs never share seeds with training envs


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_device(device: str) -> None:
    """Fail before training, naming the key, on a device this machine's torch cannot use."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"invalid config: device={device!r}; allowed here: cpu (this torch has no usable CUDA device)")
    if device.startswith("cuda:") and int(device.split(":")[1]) >= torch.cuda.device_count():
        raise ConfigError(f"invalid config: device={device!r}; allowed here: cpu, "
                          f"cuda:0..cuda:{torch.cuda.device_count() - 1}")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"invalid config: device={device!r}; allowed here: cpu (MPS is not available)")


def check_config(raw_cfg: DictConfig) -> tuple[Config, Backend]:
    """The typed config and the env backend, or ConfigError naming the bad key."""
    cfg = validate(raw_cfg)
    check_task(cfg.task.id)
    backend = resolve_backend(cfg.task.id, cfg.envs.backend)  # raises on a backend the task lacks
    check_device(cfg.device)
    return cfg, backend


def train(raw_cfg: DictConfig, run_dir: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Train one A2C run into ``run_dir``; returns its summary.

    Refused before anything is written (ConfigError, FolderTaken): a bad config, or a folder
    that holds another run. A config error in a folder of its own leaves status
    ``not_started`` there with the reason. Every other ending is recorded in the folder (see
    a2c_lab.outcomes) and re-raised.
    """
    run_dir = Path(run_dir)
    try:
        cfg, backend = check_config(raw_cfg)
    except ConfigError as err:
        if not holds_a_run(run_dir) and not lock_is_held(run_dir):
            run_dir.mkdir(parents=True, exist_ok=True)
            outcome = outcome_of(err)
            write_status(run_dir, outcome.status, outcome.reason)
        raise
    lock = claim(run_dir, cfg.overwrite)
    try:
        return _train(cfg, raw_cfg, run_dir, overrides or [], backend)
    finally:
        lock.release()


def _train(cfg: Config, raw_cfg: DictConfig, run_dir: Path, overrides: list[str], backend: Backend) -> dict[str, Any]:
    # The config these metrics belong to, written by the run itself (Hydra's .hydra/ copy is
    # rewritten by any later command pointed at this folder, even a refused one).
    OmegaConf.save(raw_cfg, run_dir / RUN_CONFIG_FILE, resolve=True)
    if cfg.torch_threads > 0:
        torch.set_num_threads(cfg.torch_threads)
    meta = run_metadata(overrides)
    meta["backend"] = backend.value
    write_json(run_dir / m.META_FILE, meta)
    tracker = make_tracker(cfg, raw_cfg, run_dir, meta)
    ended = Ended()
    history = _EpisodeHistory()
    envs = None
    with SignalGuard(lambda signum: tracker.signalled(signum, ended)) as guard:
        try:
            seed_everything(cfg.seed)
            envs = VectorEnv(cfg.task.id, cfg.envs.num_envs, cfg.envs.backend, cfg.seed)
            model = ActorCritic(envs.obs_dim, envs.num_actions, cfg.network).to(cfg.device)
            agent = A2C(model, cfg.agent)
            summary = _loop(cfg, envs, agent, tracker, history, ended)
            torch.save(model.state_dict(), run_dir / m.MODEL_FILE)
            _close_envs(envs)
            tracker.finish(summary, ended)
            return summary
        except BaseException as err:
            if isinstance(err, Diverged):  # a result: the performance reached before it
                ended.summary = history.summary(ended.env_step, ended.wall_time, cfg.task.threshold)
            tracker.fail(err, ended)
            if envs is not None:
                _close_envs(envs)
            if isinstance(err, Interrupted):
                guard.chain(err.signum)
            raise


def _close_envs(envs: VectorEnv) -> None:
    """Close the envs; after a signal their worker processes may be gone already."""
    try:
        envs.close()
    except Exception as err:  # noqa: BLE001 - closing must not mask how the run ended
        log.warning("closing the envs failed (%s: %s)", type(err).__name__, err)


def _loop(cfg: Config, envs: VectorEnv, agent: A2C, tracker: Tracker, history: "_EpisodeHistory",
          ended: Ended) -> dict[str, Any]:
    start = time.perf_counter()
    collector = Collector(envs, start)
    next_eval = cfg.eval.interval if cfg.eval.interval > 0 else None
    bar = _progress_bar(cfg)
    while collector.env_steps < cfg.total_steps:
        progress = collector.env_steps / cfg.total_steps
        # 1. collect n_steps vector steps with the current policy
        rollout, episodes = collector.collect(agent.sampler(cfg.n_steps, envs.num_envs), cfg.n_steps)
        if agent.device.type != "cpu":
            rollout = type(rollout)(*(t.to(agent.device) for t in rollout))
        # 2-3. estimate advantages and the critic's target, then one gradient step; a diverged
        # update stops the run with everything up to the last good update logged, and nothing after
        try:
            update = learn(agent, rollout, cfg, progress)
        except Diverged as err:
            raise err.locate(ended.update + 1, collector.env_steps) from None
        # 4. log: episodes at the env step they ended, the update at the current env step
        wall = time.perf_counter() - start
        ended.update, ended.env_step, ended.wall_time = ended.update + 1, collector.env_steps, wall
        tracker.log_episodes(episodes)
        history.add(episodes)
        tracker.log_update({m.ENV_STEP: collector.env_steps, m.WALL_TIME: wall, **update,
                            m.SPS: collector.env_steps / wall})
        if next_eval is not None and collector.env_steps >= next_eval:
            tracker.log_eval({m.ENV_STEP: collector.env_steps, m.WALL_TIME: wall,
                              **evaluate_greedy(agent, cfg)})
            next_eval += cfg.eval.interval
        if bar is not None:
            bar.update(collector.env_steps - bar.n)
            if history.count:
                bar.set_postfix(sps=f"{collector.env_steps / wall:,.0f}", ret20=f"{history.last(20):.1f}", refresh=False)
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - start
    ended.wall_time = wall
    return history.summary(collector.env_steps, wall, cfg.task.threshold)


def learn(agent: A2C, rollout: Rollout, cfg: Config, progress: float) -> dict[str, float]:
    """Forward the rollout (logits and V with grad, V(next obs) without), estimate advantages
    and value targets, then take one gradient step."""
    out = agent.evaluate(rollout)
    dones = rollout.dones
    advantages, value_targets = estimate(
        cfg.advantage, cfg.gamma, rewards=rollout.rewards, values=out.values.detach().view_as(dones),
        next_values=out.next_values, terminated=rollout.terminated if cfg.bootstrap_truncated else dones,
        dones=dones)
    return agent.update(rollout, out, advantages, value_targets, cfg.advantage.normalize, progress)


class _EpisodeHistory:
    """All finished training episodes, for the progress bar and the end-of-run summary."""

    def __init__(self):
        self._steps: list[np.ndarray] = []
        self._returns: list[np.ndarray] = []
        self.count = 0

    def add(self, episodes: Episodes) -> None:
        if len(episodes.returns):
            self._steps.append(episodes.env_step)
            self._returns.append(episodes.returns)
            self.count += len(episodes.returns)

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


def evaluate_greedy(agent: A2C, cfg: Config) -> dict[str, float]:
    """Run ``cfg.eval.episodes`` greedy episodes on separate, separately seeded envs."""
    envs = VectorEnv(cfg.task.id, cfg.eval.episodes, cfg.envs.backend, cfg.seed + EVAL_SEED_OFFSET)
    try:
        obs = envs.reset()
        returns = np.zeros(envs.num_envs)
        lengths = np.zeros(envs.num_envs)
        running = np.ones(envs.num_envs, dtype=bool)  # each env counts its first episode only
        policy = agent.greedy()
        while running.any():
            step = envs.step(policy(obs))
            live = running & step.valid
            returns += step.reward * live
            lengths += live
            running &= ~(step.terminated | step.truncated)
            obs = step.obs
    finally:
        envs.close()
    return {m.EVAL_RETURN_MEAN: float(returns.mean()), m.EVAL_RETURN_STD: float(returns.std()),
            m.EVAL_LENGTH_MEAN: float(lengths.mean())}


def _progress_bar(cfg: Config):
    if not (cfg.progress and sys.stdout.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=cfg.total_steps, unit="step", unit_scale=True, dynamic_ncols=True, leave=False)
