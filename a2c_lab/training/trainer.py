"""train(cfg) and train_group(cfg, seeds): seed, build, loop (collect -> estimate -> update ->
log), summarise. A run is a group of one seed: one code path.

The group's per-seed bookkeeping (trackers, histories, checkpoints, which seeds still train) is
``a2c_lab.training.seed_runs``; the pieces that stand alone (preflight, evaluation, checkpoint
files, resume planning, episode statistics) are modules of their own.
"""

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

from a2c_lab.config import Backend, Config, ConfigError, ResumeMode, seed_config
from a2c_lab.runs import checkpoint
from a2c_lab.runs import metrics as m
from a2c_lab.runs.outcomes import Diverged, Interrupted, SignalGuard, outcome_of
from a2c_lab.runs.resume import Plan, cut_metrics, episode_history
from a2c_lab.runs.resume import plan as plan_resume
from a2c_lab.runs.run_folder import (RUN_CONFIG_FILE, Status, claim, holds_a_run, lock_is_held, read_status, write_json,
                                     write_status)
from a2c_lab.runs.tracking import Ended, make_tracker, run_metadata
from a2c_lab.training.advantages import estimate
from a2c_lab.training.agents import A2C, Update
from a2c_lab.training.distributions import Distribution, for_actions
from a2c_lab.training.envs import EnvPool, GroupEnvs, make_group_envs
from a2c_lab.training.evaluation import evaluate_greedy
from a2c_lab.training.networks import ActorCritic
from a2c_lab.training.normalization import make_normalizer
from a2c_lab.training.preflight import check_config, check_processes
from a2c_lab.training.rollout import Collector, Rollout
from a2c_lab.training.seed_runs import SeedRuns
from a2c_lab.training.seeding import segment_stream, streams

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
    model, W&B run, checkpoints); a seed that diverges is recorded and frozen while the others go
    on. ``overrides``: the command-line overrides (one list, or one per seed) for meta.json;
    ``group``: what meta.json says of the group; ``launch_dir``: the folder that names the launch
    (a sweep's folder; by default the run folders' common parent for a group, the run folder for
    one run), which names the W&B group.

    Resume (``resume=auto``, a2c_lab.runs.resume): a folder that holds a run of the same config
    continues it from its checkpoint, or is skipped (its result returned) when that run
    finished. Seeds whose checkpoints are at different update counts (a sweep regrouped) train
    as sub-groups one after the other, since a group's optimizers share one step count.

    Refused before anything is written (ConfigError, FolderTaken): a bad config, a folder that
    a live run holds, or one that holds another run (another config, or any run with
    ``resume=never``). A config error in folders of their own leaves status ``not_started``
    there with the reason. A signal or an error stops every seed still training, records it in
    each one's folder (see a2c_lab.runs.outcomes), and is re-raised.
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
        plans = []
        for run_dir, raw, (cfg, _, _) in zip(run_dirs, configs, checked):
            resuming = cfg.resume is ResumeMode.auto and not cfg.overwrite
            locks.append(claim(run_dir, cfg.overwrite, keep_run=resuming))
            plans.append(plan_resume(run_dir, raw) if resuming else Plan("fresh"))
        per_seed = overrides if overrides and isinstance(overrides[0], list) else [list(overrides or [])] * len(seeds)
        launch = Path(launch_dir) if launch_dir else Path(os.path.commonpath([d.resolve() for d in run_dirs])
                                                          if len(run_dirs) > 1 else run_dirs[0])
        if isinstance(group, str):
            group = {"name": group}
        if group is not None:
            group = {**group, "seeds": group.get("seeds", list(seeds))}
        results: list[dict[str, Any] | Diverged | None] = [p.result for p in plans]
        for i, p in enumerate(plans):
            if p.kind == "skip":
                log.info("seed %d: the run in %s has ended (%s); skipped", seeds[i], run_dirs[i],
                         "diverged" if isinstance(p.result, Diverged) else "finished")
        subgroups: dict[int, list[int]] = {}
        for i, p in enumerate(plans):
            if p.kind != "skip":
                subgroups.setdefault(p.update, []).append(i)
        if len(subgroups) > 1:
            log.info("seeds resume from different updates %s: trained as %d groups one after the other",
                     sorted(subgroups), len(subgroups))
        for members in subgroups.values():
            done = _train([configs[i] for i in members], [checked[i][0] for i in members],
                          [run_dirs[i] for i in members], [per_seed[i] for i in members], checked[0][1],
                          for_actions(checked[0][2]), group,
                          launch, members, [plans[i].state for i in members])
            for i, result in zip(members, done):
                results[i] = result
        return results  # type: ignore[return-value]
    finally:
        for lock in locks:
            lock.release()


def _train(raw_cfgs: list[DictConfig], cfgs: list[Config], run_dirs: list[Path], overrides: list[list[str]],
           backend: Backend, dist: Distribution, group: dict[str, Any] | None, launch_dir: Path, indices: list[int],
           states: list[dict[str, Any] | None]) -> list[dict[str, Any] | Diverged]:
    """One (sub-)group: every seed fresh, or every one resuming from the same update count."""
    cfg = cfgs[0]  # the seeds' configs differ in their seed alone
    if cfg.torch_threads > 0:
        torch.set_num_threads(cfg.torch_threads)
    trackers = []
    resumed = [_resume_point(state) for state in states]
    for index, raw, seed_cfg, run_dir, seed_overrides, state, at in zip(
            indices, raw_cfgs, cfgs, run_dirs, overrides, states, resumed):
        if state is not None:
            cut_metrics(run_dir, state["update_rows"], state["env_step"])
            log.info("seed %d resumes in %s from update %d (env step %d), segment %d", seed_cfg.seed, run_dir,
                     state["update"], state["env_step"], state["segment"] + 1)
        # The config these metrics belong to, written by the run itself (Hydra's .hydra/ copy is
        # rewritten by any later command pointed at this folder, even a refused one).
        OmegaConf.save(raw, run_dir / RUN_CONFIG_FILE, resolve=True)
        meta = run_metadata(seed_overrides)
        meta["backend"] = backend.value
        meta["launch_dir"] = str(launch_dir)
        meta["segment"] = 0 if state is None else state["segment"] + 1
        if state is not None:
            # The stopped segment's account, before this one overwrites it. It cannot be live: this
            # process holds the folder's lock, so a segment that still says running was killed.
            before = read_status(run_dir).status
            meta["resumed_from"] = {"update": state["update"], "env_step": state["env_step"],
                                    "status": "killed" if before == Status.running.value else before}
        if group is not None:
            meta["group"] = {**group, "index": index}
        write_json(run_dir / m.META_FILE, meta)
        trackers.append(make_tracker(seed_cfg, raw, run_dir, meta, at, dist.update_columns))
    seeds = [c.seed for c in cfgs]
    segments = [0 if state is None else state["segment"] + 1 for state in states]
    run = SeedRuns(trackers, [streams(s) for s in seeds], cfg.task.threshold, segments, run_dirs)
    for s, (state, at) in enumerate(zip(states, resumed)):
        if state is not None:
            run.histories[s].add_arrays(*episode_history(run_dirs[s]))
            run.ended[s] = at
    envs: GroupEnvs | EnvPool | None = None
    with SignalGuard(run.signalled) as guard:
        try:
            seed_everything(seeds[0])  # nothing relies on the global generators; libraries may
            envs = make_group_envs(cfg.task.id, cfg.envs.num_envs, cfg.envs.backend,
                                   [segment_stream(st.train_envs, seg) for st, seg in zip(run.streams, segments)])
            model = ActorCritic(envs.obs_dim, envs.num_actions, cfg.network, init_seeds=[st.init for st in run.streams],
                                log_std=dist.learns_log_std).to(cfg.device)
            agent = A2C(model, cfg.agent, acting_streams=[st.acting for st in run.streams], distribution=dist)
            run.normalizer = make_normalizer(cfg.obs_norm, cfg.gamma, envs.num_seeds, envs.obs_dim, cfg.envs.num_envs)
            if states[0] is not None:
                checkpoint.restore(agent, states, run.normalizer)  # type: ignore[arg-type]
            _loop(cfg, envs, agent, run, states, guard)
        except BaseException as err:
            if guard.received is not None and not isinstance(err, Interrupted):
                err = guard.received  # a signal came, then its side effects (a dead env worker) raised
            run.fail_active(err)
            _close_envs(envs)
            if isinstance(err, Interrupted):
                guard.chain(err.signum)
            raise err
    _close_envs(envs)
    return run.results


def _resume_point(state: dict[str, Any] | None) -> Ended | None:
    if state is None:
        return None
    return Ended(env_step=state["env_step"], update=state["update"], wall_time=state["wall_time"],
                 update_rows=state["update_rows"])


def _close_envs(envs: GroupEnvs | EnvPool | None) -> None:
    """Close the envs; after a signal their worker processes may be gone already."""
    if envs is None:
        return
    try:
        envs.close()
    except Exception as err:  # noqa: BLE001 - closing must not mask how the run ended
        log.warning("closing the envs failed (%s: %s)", type(err).__name__, err)


def _loop(cfg: Config, envs: GroupEnvs | EnvPool, agent: A2C, run: SeedRuns, states: list[dict[str, Any] | None],
          guard: SignalGuard) -> None:
    """Train until every seed has finished or diverged. Checkpoints every seed still training
    when the group's update count crosses a multiple of ``checkpoint.interval`` env steps (the
    same update for every seed), and at a signal, after that update's logging."""
    now = time.perf_counter()
    collector = Collector(envs, [now - (st["wall_time"] if st else 0.0) for st in states], run.normalizer)
    batch = cfg.n_steps * cfg.envs.num_envs
    for s, st in enumerate(states):
        collector.env_steps[s] = st["env_step"] if st else 0
        run.next_eval[s] = st["next_eval"] if st else (cfg.eval.interval if cfg.eval.interval > 0 else None)
    interval = cfg.checkpoint.interval
    bar = _progress_bar(cfg)
    updates = states[0]["update"] if states[0] else 0
    guard.defer = True  # a signal stops the loop after an update's logging, where a checkpoint is whole
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
        now = time.perf_counter()
        # 4. log, per seed still training: episodes at the env step they ended, the update at
        # the seed's env step. A seed that diverged logs nothing of this update and is frozen.
        for s in run.active:
            env_step = int(collector.env_steps[s])
            wall = now - collector.start_times[s]
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
            next_eval = run.next_eval[s]
            if next_eval is not None and env_step >= next_eval:
                run.trackers[s].log_eval({m.ENV_STEP: env_step, m.WALL_TIME: wall,
                                          **evaluate_greedy(agent, cfg, s, run.streams[s].eval_envs, run.normalizer)})
                run.next_eval[s] = next_eval + cfg.eval.interval
            if env_step >= cfg.total_steps:  # the first update at or past total_steps ends the run
                run.finish(s, agent)
                agent.freeze(s)
        # 5. checkpoint, at an interval or at a signal (then stop)
        crossed = interval > 0 and updates * batch // interval > (updates - 1) * batch // interval
        if run.active and (crossed or guard.received is not None):
            run.checkpoint(agent, run.active)
        guard.check()
        if bar is not None:
            done = int(collector.env_steps.min())
            bar.update(min(done, cfg.total_steps) - bar.n)
            history = run.histories[0]
            if history.count:
                bar.set_postfix(sps=f"{collector.env_steps.sum() / (now - collector.start_times.max()):,.0f}",
                                ret20=f"{history.last(20):.1f}", refresh=False)
    guard.defer = False
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


def _progress_bar(cfg: Config):
    if not (cfg.progress and sys.stdout.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=cfg.total_steps, unit="step", unit_scale=True, dynamic_ncols=True, leave=False)
