"""train(cfg) and train_group(cfg, seeds): seed, build, loop (collect -> estimate -> update ->
log), summarise. A run is a group of one seed: one code path."""

from __future__ import annotations

import logging
import os
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
from a2c_lab.agents import A2C, Update
from a2c_lab.config import Backend, Config, ConfigError, seed_config
from a2c_lab.envs import VectorEnv
from a2c_lab.episode_stats import area_under_curve, steps_to_threshold, trailing_mean
from a2c_lab.evaluation import evaluate_greedy
from a2c_lab.networks import ActorCritic
from a2c_lab.outcomes import Diverged, Interrupted, SignalGuard, outcome_of
from a2c_lab.preflight import check_config, check_processes
from a2c_lab.rollout import Collector, Episodes, Rollout
from a2c_lab.seeding import Streams, streams
from a2c_lab.run_folder import RUN_CONFIG_FILE, claim, holds_a_run, lock_is_held, write_json, write_status
from a2c_lab.tracking import Ended, Tracker, make_tracker, run_metadata

log = logging.getLogger(__name__)

def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(raw_cfg: DictConfig, run_dir: str | Path, overrides: list[str] | None = None,
          launch_dir: str | Path | None = None) -> dict[str, Any]:
    """Train one A2C run (``raw_cfg.seed``) into ``run_dir``; returns its summary.

    A group of one (``train_group``): the same code, the same numbers. Raises ``Diverged`` when
    the run diverged, after recording it; every other ending as ``train_group`` does.
    """
    [result] = train_group(raw_cfg, [int(raw_cfg.seed)], [run_dir], overrides, launch_dir=launch_dir)
    if isinstance(result, Diverged):
        raise result
    return result


def train_group(raw_cfg: DictConfig, seeds: list[int], run_dirs: list[str | Path],
                overrides: list[str] | list[list[str]] | None = None, group: dict[str, Any] | str | None = None,
                launch_dir: str | Path | None = None) -> list[dict[str, Any] | Diverged]:
    """Train S seeds of one config as one batched computation, each into its own run folder.

    Returns, per seed, its summary or the ``Diverged`` that stopped it. Each seed's folder gets
    exactly what a one-seed run writes (its config with its scalar seed, metrics, status, meta,
    model, W&B run); a seed that diverges is recorded and frozen while the others go on.
    ``overrides``: the command-line overrides (one list, or one per seed) for meta.json;
    ``group``: what meta.json says of the group; ``launch_dir``: the folder that names the launch
    (a sweep's folder; by default the run folders' common parent for a group, the run folder for
    one run), which names the W&B group.

    Refused before anything is written (ConfigError, FolderTaken): a bad config, or a folder
    that holds another run. A config error in folders of their own leaves status
    ``not_started`` there with the reason. A signal or an error stops every seed still
    training, records it in each one's folder (see a2c_lab.outcomes), and is re-raised.
    """
    run_dirs = [Path(d) for d in run_dirs]
    configs = [seed_config(raw_cfg, seed) for seed in seeds]  # what each seed's folder records
    try:
        if len(set(seeds)) != len(seeds) or len(run_dirs) != len(seeds):
            raise ConfigError(f"invalid config: seeds={seeds}; allowed: distinct seeds, one run folder each")
        checked = [check_config(c) for c in configs]
        check_processes(checked[0][0], checked[0][1], len(seeds))
    except ConfigError as err:
        for run_dir in run_dirs:
            if not holds_a_run(run_dir) and not lock_is_held(run_dir):
                run_dir.mkdir(parents=True, exist_ok=True)
                outcome = outcome_of(err)
                write_status(run_dir, outcome.status, outcome.reason)
        raise
    locks = []
    try:
        for run_dir, (cfg, _) in zip(run_dirs, checked):
            locks.append(claim(run_dir, cfg.overwrite))
        per_seed = overrides if overrides and isinstance(overrides[0], list) else [list(overrides or [])] * len(seeds)
        launch = Path(launch_dir) if launch_dir else Path(os.path.commonpath([d.resolve() for d in run_dirs])
                                                          if len(run_dirs) > 1 else run_dirs[0])
        return _train(configs, [c for c, _ in checked], run_dirs, per_seed, checked[0][1], group, launch)
    finally:
        for lock in locks:
            lock.release()


def _train(raw_cfgs: list[DictConfig], cfgs: list[Config], run_dirs: list[Path], overrides: list[list[str]],
           backend: Backend, group: dict[str, Any] | str | None, launch_dir: Path) -> list[dict[str, Any] | Diverged]:
    cfg = cfgs[0]  # the seeds' configs differ in their seed alone
    if cfg.torch_threads > 0:
        torch.set_num_threads(cfg.torch_threads)
    trackers = []
    for index, (raw, seed_cfg, run_dir, seed_overrides) in enumerate(zip(raw_cfgs, cfgs, run_dirs, overrides)):
        # The config these metrics belong to, written by the run itself (Hydra's .hydra/ copy is
        # rewritten by any later command pointed at this folder, even a refused one).
        OmegaConf.save(raw, run_dir / RUN_CONFIG_FILE, resolve=True)
        meta = run_metadata(seed_overrides)
        meta["backend"] = backend.value
        meta["launch_dir"] = str(launch_dir)
        if group is not None:
            meta["group"] = {**group, "index": index} if isinstance(group, dict) else {"name": group, "index": index}
            meta["group"].setdefault("seeds", [c.seed for c in cfgs])
        write_json(run_dir / m.META_FILE, meta)
        trackers.append(make_tracker(seed_cfg, raw, run_dir, meta))
    seeds = [c.seed for c in cfgs]
    run = _Seeds(trackers, [streams(s) for s in seeds], cfg.task.threshold)
    envs: list[VectorEnv] = []
    with SignalGuard(run.signalled) as guard:
        try:
            seed_everything(seeds[0])  # nothing relies on the global generators; libraries may
            envs = [VectorEnv(cfg.task.id, cfg.envs.num_envs, cfg.envs.backend, st.train_envs) for st in run.streams]
            model = ActorCritic(envs[0].obs_dim, envs[0].num_actions, cfg.network,
                                init_seeds=[st.init for st in run.streams]).to(cfg.device)
            agent = A2C(model, cfg.agent, acting_streams=[st.acting for st in run.streams])
            _loop(cfg, envs, agent, run, run_dirs)
        except BaseException as err:
            run.fail_active(err)
            _close_envs(envs)
            if isinstance(err, Interrupted):
                guard.chain(err.signum)
            raise
    _close_envs(envs)
    return run.results


class _Seeds:
    """Each seed's tracker, episode history, counts and result; which seeds still train."""

    def __init__(self, trackers: list[Tracker], seed_streams: list[Streams], threshold: float | None):
        self.trackers = trackers
        self.streams = seed_streams
        self.threshold = threshold
        self.histories = [_EpisodeHistory() for _ in trackers]
        self.ended = [Ended() for _ in trackers]
        self.results: list[dict[str, Any] | Diverged | None] = [None] * len(trackers)

    @property
    def active(self) -> list[int]:
        return [s for s, result in enumerate(self.results) if result is None]

    def summary(self, s: int) -> dict[str, Any]:
        ended = self.ended[s]
        return self.histories[s].summary(ended.env_step, ended.wall_time, self.threshold)

    def finish(self, s: int, model: ActorCritic, run_dir: Path) -> None:
        summary = self.summary(s)
        torch.save(model.seed_state_dict(s), run_dir / m.MODEL_FILE)
        self.trackers[s].finish(summary, self.ended[s])
        self.results[s] = summary

    def diverge(self, s: int, err: Diverged) -> None:
        self.ended[s].summary = self.summary(s)  # a result: the performance reached before it
        self.trackers[s].fail(err, self.ended[s])
        self.results[s] = err

    def fail_active(self, err: BaseException) -> None:
        for s in self.active:
            self.trackers[s].fail(err, self.ended[s])

    def signalled(self, signum: int) -> None:
        for s in self.active:
            self.trackers[s].signalled(signum, self.ended[s])


def _close_envs(envs: list[VectorEnv]) -> None:
    """Close the envs; after a signal their worker processes may be gone already."""
    for env in envs:
        try:
            env.close()
        except Exception as err:  # noqa: BLE001 - closing must not mask how the run ended
            log.warning("closing the envs failed (%s: %s)", type(err).__name__, err)


def _loop(cfg: Config, envs: list[VectorEnv], agent: A2C, run: _Seeds, run_dirs: list[Path]) -> None:
    start = time.perf_counter()
    collector = Collector(envs, start)
    batch = cfg.n_steps * cfg.envs.num_envs
    next_eval = [cfg.eval.interval if cfg.eval.interval > 0 else None] * len(envs)
    bar = _progress_bar(cfg)
    updates = 0
    while run.active:
        # The schedule follows the group's update count, the same for every seed.
        progress = updates * batch / cfg.total_steps
        # 1. collect n_steps vector steps of every seed's envs with the current policies
        rollout, episodes = collector.collect(agent.sampler(cfg.n_steps, cfg.envs.num_envs), cfg.n_steps)
        if agent.device.type != "cpu":
            rollout = type(rollout)(*(t.to(agent.device) for t in rollout))
        # 2-3. estimate advantages and the critic's targets, then one gradient step for every seed
        update = learn(agent, rollout, cfg, progress)
        updates += 1
        wall = time.perf_counter() - start
        # 4. log, per seed still training: episodes at the env step they ended, the update at
        # the seed's env step. A seed that diverged logs nothing of this update and is frozen.
        for s in run.active:
            env_step = int(collector.env_steps[s])
            if s in update.diverged:
                run.diverge(s, Diverged(update.diverged[s], updates, env_step))
                agent.freeze(s)
                continue
            ended = run.ended[s]
            ended.update, ended.env_step, ended.wall_time = updates, env_step, wall
            run.trackers[s].log_episodes(episodes[s])
            run.histories[s].add(episodes[s])
            run.trackers[s].log_update({m.ENV_STEP: env_step, m.WALL_TIME: wall, **update.rows[s],
                                        m.SPS: env_step / wall})
            if next_eval[s] is not None and env_step >= next_eval[s]:
                run.trackers[s].log_eval({m.ENV_STEP: env_step, m.WALL_TIME: wall,
                                          **evaluate_greedy(agent, cfg, s, run.streams[s].eval_envs)})
                next_eval[s] += cfg.eval.interval
            if env_step >= cfg.total_steps:  # the first update at or past total_steps ends the run
                run.finish(s, agent.model, run_dirs[s])
                agent.freeze(s)
        if bar is not None:
            done = int(collector.env_steps.min())
            bar.update(min(done, cfg.total_steps) - bar.n)
            history = run.histories[0]
            if history.count:
                bar.set_postfix(sps=f"{collector.env_steps.sum() / wall:,.0f}", ret20=f"{history.last(20):.1f}",
                                refresh=False)
    if bar is not None:
        bar.close()


def learn(agent: A2C, rollout: Rollout, cfg: Config, progress: float) -> Update:
    """Forward the rollout (logits and V with grad, V(next obs) without), estimate advantages
    and value targets, then take one gradient step."""
    out = agent.evaluate(rollout)
    dones = rollout.dones
    advantages, value_targets = estimate(
        cfg.advantage, cfg.gamma, rewards=rollout.rewards, values=out.values.detach(),
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


def _progress_bar(cfg: Config):
    if not (cfg.progress and sys.stdout.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=cfg.total_steps, unit="step", unit_scale=True, dynamic_ncols=True, leave=False)
