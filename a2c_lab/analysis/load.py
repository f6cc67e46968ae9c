"""Run folders -> one tidy frame and a per-run table: the data every statistic starts from.

The local run folders are the source of truth (see ``a2c_lab.runs.metrics`` for their
contract). ``load_runs`` finds every run folder under the given paths, reads each with
``a2c_lab.analysis.run_reader`` (which config is authoritative, which statuses count, what happens to
a broken file: see there), and returns a ``LoadedRuns`` with:

``tidy``: one long frame, one row per (run, logged event, metric), TIDY_COLUMNS:

=========  ========  ==================================================================
column     dtype     meaning
=========  ========  ==================================================================
run_id     category  the run folder relative to the folder above the loaded paths,
                     e.g. ``2026-11-25_10-00-00_agents/3``
task       category  ``task.id``
agent      category  ``agent.name`` (split | shared)
network    category  ``network.name``
advantage  category  ``advantage.name`` (td | nstep | gae)
num_envs   int64     ``envs.num_envs``
variant    category  label built from the config keys that differ across the loaded
                     runs (``variant_keys``), never from folder names
seed       int64     ``seed``
env_step   int64     ``metrics.ENV_STEP`` of the event
wall_time  float64   ``metrics.WALL_TIME`` of the event, seconds since training began
metric     category  a column name of episodes.csv, updates.csv or eval.csv
                     (``charts/episode_return``, ``losses/policy``, ``eval/return_mean``...)
value      float64   the metric's value
=========  ========  ==================================================================

Only finished and diverged runs whose files read cleanly are in ``tidy``; nothing else is
averaged in. A diverged run counts with what it reached before diverging (its files end at
its last good update): leaving it out would flatter its variant with the survivors.
``load_runs(..., survivors_only=True)`` leaves diverged runs out instead, and
``LoadedRuns.survivors_note`` says so for every title.

``runs``: one row per run folder found, included or not (RUN_COLUMNS): the columns
above that describe a run, plus ``panel`` (the task, and any config axis that differs
but is not part of the variant label: aggregation never crosses panels), ``status``,
``included`` and ``reason`` (why a run was left out; for a diverged run, what stopped
it), and the per-run figures computed
from the run's own episodes.csv (summary.json is only cross-checked): ``final_return``
(mean of the last 100 episodes), ``last20_return``, ``steps_to_threshold``, ``threshold``,
``episodes``, ``env_steps``, ``wall_time`` and ``sps``; and ``auc``, the run's own
``summary/auc`` (the mean height of its last-20 learning curve over the env steps it trained; NaN
where summary.json lacks it); ``backend``, the env backend the run actually used (meta.json's,
e.g. ``native`` where the config said ``auto``; empty for runs that predate it).

Problems with a folder (no config, a config that is not a2c-lab's, an unreadable file,
a run that failed, was killed or is still running, a disagreeing summary.json) are reported
with ``warnings.warn(RunWarning)`` naming the folder, and the folder is listed in ``runs``
with ``included`` False; the other folders are still reported.

Variant labels come from ``a2c_lab.analysis.labels``; the statistics across seeds from
``a2c_lab.analysis.comparison``, which aggregates per panel (so per task): nothing is averaged
across tasks.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from a2c_lab.analysis.labels import distinguishing_keys, label, resolve_key, varying_keys
from a2c_lab.analysis.run_reader import NoRunsError, RunRecord, RunWarning, find_run_dirs, read_run
from a2c_lab.runs import metrics as M
from a2c_lab.runs.episode_stats import steps_to_threshold

TIDY_COLUMNS = (
    "run_id", "task", "agent", "network", "advantage", "num_envs", "variant", "seed",
    M.ENV_STEP, M.WALL_TIME, "metric", "value",
)
RUN_COLUMNS = (
    "run_id", "run_dir", "task", "agent", "network", "advantage", "num_envs", "variant",
    "panel", "seed", "status", "included", "reason", "episodes", "env_steps", "wall_time",
    "sps", "final_return", "last20_return", "threshold", "steps_to_threshold", "auc", "backend",
)

FINAL_WINDOW = 100  # episodes in the final-performance mean (and in steps to threshold)
CURVE_WINDOW = 20  # episodes in each learning-curve point: the notebook's own metric

# The tidy frame's per-run columns and the config key each comes from.
RUN_KEYS = {
    "task": "task.id", "agent": "agent.name", "network": "network.name",
    "advantage": "advantage.name", "num_envs": "envs.num_envs", "seed": "seed",
}


def _warn(message: str) -> None:
    warnings.warn(message, RunWarning, stacklevel=3)


@dataclass
class LoadedRuns:
    tidy: pd.DataFrame  # TIDY_COLUMNS, included runs only
    runs: pd.DataFrame  # RUN_COLUMNS, every run folder found
    variant_keys: list[str]  # config keys the variant label is made of
    panel_keys: list[str]  # config keys besides the task that split panels
    differing_keys: list[str]  # every config key that differs between runs of a task
    survivors_only: bool = False  # diverged runs left out of the statistics
    # (panel, variant) -> its diverged runs: in the statistics, or left out when survivors_only
    diverged: dict = field(default_factory=dict)

    @property
    def survivors_note(self) -> str:
        """What every title says in the survivors-only view; '' otherwise."""
        if not self.survivors_only:
            return ""
        n = sum(self.diverged.values())
        return f"survivors only: {n} diverged run{'' if n == 1 else 's'} left out"

    @property
    def included(self) -> pd.DataFrame:
        return self.runs[self.runs["included"]]

    @property
    def excluded(self) -> pd.DataFrame:
        return self.runs[~self.runs["included"]]


def _task_threshold(thresholds: Mapping[str | None, float | None] | None, task: str, from_configs: set):
    if thresholds and task in thresholds:
        return thresholds[task]
    if thresholds and None in thresholds:
        return thresholds[None]
    values = {v for v in from_configs if v is not None}
    if len(values) > 1:
        _warn(f"{task}: runs disagree on task.threshold ({sorted(values)}); using {max(values)}")
    return float(max(values)) if values else None


def _run_figures(run: RunRecord, threshold: float | None) -> dict:
    episodes, updates = run.episodes, run.updates
    steps = episodes[M.ENV_STEP].to_numpy()
    returns = episodes[M.EPISODE_RETURN].to_numpy(dtype=float)
    last = updates.iloc[-1] if len(updates) else episodes.iloc[-1]
    env_steps = int(max(steps.max(), last[M.ENV_STEP]))
    wall_time = float(max(episodes[M.WALL_TIME].max(), last[M.WALL_TIME]))
    logged_sps = last.get(M.SPS, np.nan) if len(updates) else np.nan
    sps = float(logged_sps) if np.isfinite(logged_sps) else (env_steps / wall_time if wall_time > 0 else np.nan)
    reached = steps_to_threshold(steps, returns, threshold)
    figures = dict(
        episodes=len(returns), env_steps=env_steps, wall_time=wall_time, sps=sps,
        final_return=float(returns[-FINAL_WINDOW:].mean()),
        last20_return=float(returns[-CURVE_WINDOW:].mean()),
        threshold=np.nan if threshold is None else float(threshold),
        steps_to_threshold=np.nan if reached is None else float(reached),
        auc=_summary_number(run.summary, M.AUC),
        backend=(run.meta or {}).get("backend"),
    )
    claimed = (run.summary or {}).get(M.LAST100_RETURN)
    if isinstance(claimed, (int, float)) and not math.isclose(claimed, figures["final_return"], rel_tol=1e-6, abs_tol=1e-6):
        _warn(f"{run.run_dir}: {M.SUMMARY_FILE} says {M.LAST100_RETURN} = {claimed}, but "
              f"{M.EPISODES_FILE} gives {figures['final_return']:.6g}; using {M.EPISODES_FILE}")
    return figures


def _summary_number(summary: dict | None, key: str) -> float:
    value = (summary or {}).get(key)
    return float(value) if isinstance(value, (int, float)) else np.nan


def load_runs(
    paths: Iterable[str | os.PathLike],
    hue: Sequence[str] | None = None,
    thresholds: Mapping[str | None, float | None] | None = None,
    survivors_only: bool = False,
) -> LoadedRuns:
    """Read every run folder under ``paths`` into a LoadedRuns (see the module docstring).

    ``hue``: config keys (or KEY_ALIASES) to label variants by; by default the shortest
    set of differing keys that tells every configuration apart. Differing keys left out
    of ``hue`` split panels instead, so that different configurations are never pooled.
    ``thresholds``: {task id: value} overrides of task.threshold; the key None applies to
    every task. ``survivors_only``: leave diverged runs out of the statistics (they count
    by default, with what they reached before diverging); they still shape the variant
    labels and are listed in ``runs``. Raises NoRunsError when no run is usable.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise NoRunsError("no folders given")
    run_dirs = find_run_dirs(paths)
    if not run_dirs:
        raise NoRunsError(f"no run folders (with a config, status.json or episodes.csv) under "
                          f"{', '.join(map(str, paths))}")
    root = Path(os.path.commonpath([p.resolve().parent for p in paths]))
    runs = [read_run(d) for d in run_dirs]
    for run in runs:
        if run.problem:
            _warn(f"{run.run_dir}: left out: {run.problem}")
    good = [r for r in runs if r.problem is None]  # results: they shape the labels in either view
    if not good:
        raise NoRunsError(f"none of the {len(runs)} run folders under {', '.join(map(str, paths))} "
                          "finished or diverged with readable files (see the warnings above)")
    left_out = {id(r) for r in good if survivors_only and r.diverged}
    if left_out:
        _warn(f"survivors only: {len(left_out)} diverged run(s) left out of the statistics")
    if len(left_out) == len(good):
        raise NoRunsError(f"all {len(good)} usable runs diverged: nothing survives (without "
                          "survivors-only they count with what they reached)")

    configs = [r.config for r in good]
    varying = varying_keys(configs)
    if hue:
        variant_keys = [resolve_key(k, configs) for k in hue]
        panel_keys = distinguishing_keys(configs, [k for k in varying if k not in variant_keys], variant_keys)
    else:
        variant_keys = distinguishing_keys(configs, varying) or ["experiment_name"]
        panel_keys = []

    task_thresholds = {}
    for task in {r.config.get("task.id") for r in good}:
        found = {r.config.get("task.threshold") for r in good if r.config.get("task.id") == task}
        task_thresholds[task] = _task_threshold(thresholds, task, found)

    rows = []
    for run in runs:
        config = run.config or {}
        row = {column: config.get(key) for column, key in RUN_KEYS.items()}
        row.update(
            run_id=str(run.run_dir.resolve().relative_to(root)), run_dir=str(run.run_dir),
            variant=label(config, variant_keys) if run.config else None,
            panel=", ".join([str(config.get("task.id")), *([label(config, panel_keys)] if panel_keys else [])]),
            status=run.status, included=run.problem is None and id(run) not in left_out,
            reason=run.problem or (("left out (survivors only): " if id(run) in left_out else "")
                                   + run.status_text if run.diverged else ""),
        )
        if run.problem is None:
            row.update(_run_figures(run, task_thresholds[config.get("task.id")]))
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=list(RUN_COLUMNS))
    table["included"] = table["included"].astype(bool)
    tidy = _tidy([r for r in good if id(r) not in left_out], table[table["included"]].reset_index(drop=True))
    usable = table["final_return"].notna()  # the rows of `good`, whether included or left out
    diverged = table[usable & (table["status"] == "diverged")].groupby(["panel", "variant"]).size()
    loaded = LoadedRuns(tidy=tidy, runs=table, variant_keys=variant_keys, panel_keys=panel_keys,
                        differing_keys=varying, survivors_only=survivors_only, diverged=diverged.to_dict())
    _check_seeds(loaded.included)
    return loaded


def _check_seeds(included: pd.DataFrame) -> None:
    for (panel, variant), group in included.groupby(["panel", "variant"], sort=True):
        repeated = group["seed"].duplicated(keep=False)
        if repeated.any():
            _warn(f"{panel}: variant {variant!r} has seed(s) {sorted(set(group['seed'][repeated].tolist()))} "
                  f"more than once ({', '.join(group['run_dir'][repeated])})")


def _tidy(good: Sequence[RunRecord], table: pd.DataFrame) -> pd.DataFrame:
    """Stack every metric column of every included run into TIDY_COLUMNS.

    Written into preallocated numpy arrays, a metric column at a time: 100 runs of 500k
    steps are about 13M rows, where every intermediate copy costs a noticeable share.
    """
    frames = [[(f, [c for c in f.columns if c not in (M.ENV_STEP, M.WALL_TIME)]) for f in (r.episodes, r.updates, r.evals)
               if len(f)] for r in good]
    rows_per_run = np.array([sum(len(f) * len(cols) for f, cols in run) for run in frames], dtype=np.int64)
    total = int(rows_per_run.sum())
    steps, times, values = np.empty(total, np.int64), np.empty(total, float), np.empty(total, float)
    metric_codes = np.empty(total, np.int32)
    metric_names: dict[str, int] = {}
    position = 0
    for run in frames:
        for frame, columns in run:
            n = len(frame)
            step, time = frame[M.ENV_STEP].to_numpy(), frame[M.WALL_TIME].to_numpy()
            for column in columns:
                block = slice(position, position + n)
                steps[block], times[block], values[block] = step, time, frame[column].to_numpy()
                metric_codes[block] = metric_names.setdefault(column, len(metric_names))
                position += n

    def per_run(column: str):
        if column in ("num_envs", "seed"):
            return np.repeat(table[column].to_numpy(dtype=np.int64), rows_per_run)
        labels = table[column].astype(str)
        categories = pd.unique(labels)
        codes = pd.Categorical(labels, categories=categories).codes
        return pd.Categorical.from_codes(np.repeat(codes, rows_per_run), categories=categories)

    columns = {c: per_run(c) for c in TIDY_COLUMNS[:8]}
    columns.update({M.ENV_STEP: steps, M.WALL_TIME: times, "value": values,
                    "metric": pd.Categorical.from_codes(metric_codes, categories=list(metric_names))})
    # copy=False: no copy into consolidated blocks, which costs seconds at 10M+ rows.
    return pd.DataFrame(columns, copy=False)[list(TIDY_COLUMNS)]
