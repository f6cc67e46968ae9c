"""Synthetic run folders that follow the run-folder contract, with curves you choose.

The tests use them to check the report's statistics against known values, and
``scripts/benchmark_report.py`` to time the report at the scale of a real sweep. Every file
goes through the writer a real run uses: the metric CSVs through ``tracking.LocalFiles``
(rows by column name, so a new metric cannot shift the others), summary.json through its
``finish``/``fail``, ``status.json``, ``meta.json`` through ``run_folder.write_status`` and
``write_json``, and the resolved config, built from the real schema, through
``OmegaConf.save`` into ``run_config.yaml`` (the run's own record) and ``.hydra/config.yaml``
(Hydra's copy).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from omegaconf import OmegaConf

from a2c_lab.config import Config
from a2c_lab.runs import metrics as M
from a2c_lab.runs.episode_stats import Episodes
from a2c_lab.runs.run_folder import RUN_CONFIG_FILE, Status, write_json, write_status
from a2c_lab.runs.tracking import Ended, LocalFiles

# The reason each status other than finished gets, as the trainer would write it.
REASONS = {
    Status.diverged: "non-finite gradient norm at update {update} (env step {env_step})",
    Status.failed: "boom",
    Status.interrupted: "SIGTERM",
    Status.preempted: "SIGUSR2",
    Status.not_started: "invalid config: gamma=1.5; allowed: (0, 1]",
}


@functools.lru_cache(maxsize=1)
def _default_config() -> dict:
    return OmegaConf.to_container(OmegaConf.structured(Config), enum_to_str=True)


def make_config(overrides: Mapping[str, object] = ()) -> dict:
    """The schema's default config as a plain dict, with dotted-key overrides applied."""
    config = copy.deepcopy(_default_config())  # building the schema costs ~20 ms; do it once
    for key, value in dict(overrides).items():
        *parents, last = key.split(".")
        node = config
        for parent in parents:
            node = node[parent] if isinstance(node.get(parent), dict) else node.setdefault(parent, {})
        node[last] = value
    return config


def write_run(
    run_dir: str | Path,
    returns: Sequence[float],
    overrides: Mapping[str, object] = (),
    episode_steps: Sequence[int] | None = None,
    sps: float = 10_000.0,
    status: str | Status = "finished",
    summary: bool = True,
    evals: bool = False,
    rng: np.random.Generator | None = None,
    stopped_at: int | None = None,
) -> Path:
    """Write one run folder whose episodes have exactly ``returns``, in order.

    ``episode_steps``: the env step at which each episode ends; by default spread evenly
    up to the run's last step. Updates (one row per n_steps * num_envs env steps) carry
    random losses and a constant ``sps``; wall time is env_step / sps. ``status``: any
    ``run_folder.Status`` (its reason from REASONS). ``stopped_at``: the env step of the
    last update written (a diverged or killed run), by default total_steps. summary.json is
    written for finished and diverged runs (a diverged run's, up to its last good update).
    """
    run_dir = Path(run_dir)
    status = Status(status)
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    config = OmegaConf.create(make_config(overrides))
    OmegaConf.save(config, run_dir / ".hydra" / "config.yaml")
    OmegaConf.save(config, run_dir / RUN_CONFIG_FILE)
    rng = rng or np.random.default_rng(0)
    returns = np.asarray(returns, dtype=float)
    batch = config.n_steps * config.envs.num_envs
    total = config.total_steps if stopped_at is None else stopped_at
    if episode_steps is None:
        episode_steps = np.linspace(total / len(returns), total, len(returns)).astype(np.int64)
    episode_steps = np.asarray(episode_steps, dtype=np.int64)

    files = LocalFiles(run_dir)
    files.log_episodes(Episodes(episode_steps, episode_steps / sps, returns, np.diff(episode_steps, prepend=0)))
    steps = np.arange(batch, total + 1, batch, dtype=np.int64)
    fixed = {M.LEARNING_RATE: 7e-4, M.SPS: sps}
    random = [c for c in M.UPDATE_COLUMNS if c not in (M.ENV_STEP, M.WALL_TIME, *fixed)]
    losses = rng.normal(size=(len(steps), len(random)))
    for step, values in zip(steps.tolist(), losses.tolist()):
        files.log_update({M.ENV_STEP: step, M.WALL_TIME: step / sps, **dict(zip(random, values)), **fixed})
    if evals:
        for step in steps[:: max(1, len(steps) // 5)].tolist():
            files.log_eval({M.ENV_STEP: step, M.WALL_TIME: step / sps, M.EVAL_RETURN_MEAN: 100.0,
                            M.EVAL_RETURN_STD: 1.0, M.EVAL_LENGTH_MEAN: 100.0})

    update, env_step = len(steps), int(steps[-1]) if len(steps) else 0
    values = None
    if summary and status in (Status.finished, Status.diverged):
        values = {M.LAST100_RETURN: float(returns[-100:].mean()), M.LAST20_RETURN: float(returns[-20:].mean()),
                  M.EPISODES: len(returns), M.TOTAL_ENV_STEPS: int(total), M.TOTAL_WALL_TIME: total / sps,
                  M.FINAL_SPS: sps}
    ended = Ended(env_step=env_step, update=update, wall_time=total / sps, summary=values)
    if values is not None and status is Status.finished:
        files.finish(values, ended)  # the trainer's own ending: summary.json, status finished
    else:  # closes the files and writes summary.json when there is one; the status follows
        files.fail(RuntimeError("synthetic run"), ended)
        reason = REASONS.get(status, "").format(update=update + 1, env_step=env_step + batch) or None
        write_status(run_dir, status, reason, signal=reason if status in (Status.interrupted, Status.preempted) else None,
                     env_step=env_step, update=update)
    write_json(run_dir / M.META_FILE, {"git_commit": "synthetic"})
    return run_dir


def learning_returns(total_steps: int, half_step: float, rng: np.random.Generator,
                     ceiling: float = 500.0, floor: float = 10.0, noise: float = 30.0):
    """CartPole-like episodes: returns rise along a logistic in env steps, centred at
    ``half_step``; each episode lasts as many steps as its return. Returns (env steps at
    each episode's end, returns)."""
    ends, returns, step = [], [], 0
    while True:
        mean = floor + (ceiling - floor) / (1.0 + np.exp(-(step - half_step) / (0.12 * half_step)))
        value = float(np.clip(rng.normal(mean, noise), floor, ceiling))
        step += int(value)
        if step > total_steps:
            return np.array(ends), np.array(returns)
        ends.append(step)
        returns.append(round(value))


def write_sweep(sweep_dir: str | Path, variants: Mapping[str, Mapping[str, object]], seeds: Sequence[int],
                total_steps: int = 50_000, sps: Mapping[str, float] | None = None, half_steps: Mapping[str, float] | None = None) -> Path:
    """A Hydra-like sweep folder: one numbered job per (variant, seed), learning curves from
    ``learning_returns``. ``variants`` maps a name to its config overrides."""
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    (sweep_dir / "multirun.yaml").write_text("hydra: {}\n")
    job = 0
    for index, (name, overrides) in enumerate(variants.items()):
        for seed in seeds:
            rng = np.random.default_rng([index, seed])
            half = (half_steps or {}).get(name, total_steps * (0.3 + 0.15 * index))
            ends, returns = learning_returns(total_steps, half, rng)
            write_run(sweep_dir / str(job), returns, {**overrides, "seed": seed, "total_steps": total_steps},
                      episode_steps=ends, sps=(sps or {}).get(name, 10_000.0 / (index + 1)), rng=rng)
            job += 1
    return sweep_dir
