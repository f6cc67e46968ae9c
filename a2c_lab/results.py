"""Run folders -> one tidy frame, a per-run table, and the statistics of the comparison.

The local run folders are the source of truth (see ``a2c_lab.metrics`` for their
contract). ``load_runs`` finds every run folder under the given paths, reads each with
``a2c_lab.run_reader`` (which config is authoritative, which statuses count, what happens to
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
``episodes``, ``env_steps``, ``wall_time`` and ``sps``.

Problems with a folder (no config, a config that is not a2c-lab's, an unreadable file,
a run that failed, was killed or is still running, a disagreeing summary.json) are reported
with ``warnings.warn(RunWarning)`` naming the folder, and the folder is listed in ``runs``
with ``included`` False; the other folders are still reported.

Statistics are pure functions below: ``iqm``, ``bootstrap_ci``,
``probability_of_improvement``, ``learning_curves``, ``final_performance``,
``pairwise_improvement``. All aggregation is per panel (so per task): nothing is averaged
across tasks.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from a2c_lab import metrics as M
from a2c_lab.config import BOOKKEEPING_KEYS
from a2c_lab.episode_stats import steps_to_threshold, trailing_mean
from a2c_lab.run_reader import NoRunsError, RunRecord, RunWarning, find_run_dirs, flatten_config, read_run
from a2c_lab.statistics import N_BOOT, STATISTICS, bootstrap_ci, iqm, probability_of_improvement, seed_warning

__all__ = ["NoRunsError", "RunWarning", "find_run_dirs", "flatten_config"]  # re-exported for callers

TIDY_COLUMNS = (
    "run_id", "task", "agent", "network", "advantage", "num_envs", "variant", "seed",
    M.ENV_STEP, M.WALL_TIME, "metric", "value",
)
RUN_COLUMNS = (
    "run_id", "run_dir", "task", "agent", "network", "advantage", "num_envs", "variant",
    "panel", "seed", "status", "included", "reason", "episodes", "env_steps", "wall_time",
    "sps", "final_return", "last20_return", "threshold", "steps_to_threshold",
)

FINAL_WINDOW = 100  # episodes in the final-performance mean (and in steps to threshold)
CURVE_WINDOW = 20  # episodes in each learning-curve point: the notebook's own metric

# Config keys that identify a run's place in the comparison, in the order labels use them.
AXIS_PRIORITY = ("agent.name", "network.name", "advantage.name", "envs.name", "experiment_name")
# Config keys (each with its subtree) that are never design axes: the seed is the replicate,
# the task is the panel, evaluation and the bookkeeping keys do not change what is learned.
NOT_AXES = ("seed", "task", "eval", *BOOKKEEPING_KEYS)
# Short names the command line accepts for --hue.
KEY_ALIASES = {
    "agent": "agent.name", "network": "network.name", "advantage": "advantage.name",
    "envs": "envs.name", "num_envs": "envs.num_envs", "lam": "advantage.lam",
    "experiment": "experiment_name",
}
# The tidy frame's per-run columns and the config key each comes from.
RUN_KEYS = {
    "task": "task.id", "agent": "agent.name", "network": "network.name",
    "advantage": "advantage.name", "num_envs": "envs.num_envs", "seed": "seed",
}


def _warn(message: str) -> None:
    warnings.warn(message, RunWarning, stacklevel=3)


def is_axis(key: str) -> bool:
    """False for NOT_AXES keys and their subtrees (``logger`` covers ``logger.mode``)."""
    return not any(key == k or key.startswith(k + ".") for k in NOT_AXES)


# trailing_mean and steps_to_threshold live in a2c_lab.episode_stats, shared with the
# trainer's summary, so the report and summary.json compute them the same way.


# ---------------------------------------------------------------- variant labels


def varying_keys(configs: Sequence[dict]) -> list[str]:
    """Config keys (flattened, dotted) whose values differ between runs of the same task.

    Keys that differ only from one task to another (total_steps, say) are not axes: tasks
    are never compared with each other. The seed, the task, and settings that do not
    change what is learned (logger, eval, device...) are never axes. Keys are ordered by
    AXIS_PRIORITY, then alphabetically.
    """
    keys = {k for c in configs for k in c if is_axis(k)}
    by_task: dict = {}
    for c in configs:
        by_task.setdefault(c.get("task.id"), []).append(c)
    varying = [k for k in keys if any(len({repr(c.get(k)) for c in group}) > 1 for group in by_task.values())]
    rank = {k: i for i, k in enumerate(AXIS_PRIORITY)}
    return sorted(varying, key=lambda k: (rank.get(k, len(rank)), k))


def _partition_size(configs: Sequence[dict], keys: Sequence[str]) -> int:
    """How many groups the runs fall into when split by task and ``keys``."""
    return len({tuple(repr(c.get(k)) for k in ("task.id", *keys)) for c in configs})


def distinguishing_keys(configs: Sequence[dict], candidates: Sequence[str], start: Sequence[str] = ()) -> list[str]:
    """The keys from ``candidates`` (in order) that, added to ``start``, split each task's
    runs into as many groups as all candidates do: a short label that still tells every
    distinct configuration apart (``advantage.lam`` adds nothing once ``advantage.name``
    says td, nstep or gae)."""
    target = _partition_size(configs, [*start, *candidates])
    chosen: list[str] = []
    for key in candidates:
        current = _partition_size(configs, [*start, *chosen])
        if current == target:
            break
        if _partition_size(configs, [*start, *chosen, key]) > current:
            chosen.append(key)
    return chosen


def _label(config: dict, keys: Sequence[str]) -> str:
    # A preset's name speaks for itself; any other key needs its name beside the value.
    return ", ".join(str(config.get(k)) if k.endswith(".name") or k == "experiment_name" else f"{k}={config.get(k)}"
                     for k in keys)


def resolve_key(key: str, configs: Sequence[dict]) -> str:
    """A --hue name (``agent``, ``num_envs``, or a dotted config key) -> the config key."""
    full = KEY_ALIASES.get(key, key)
    if full.startswith("task."):
        raise ValueError(f"{key}: tasks are always separate panels, not variants")
    if not any(full in c for c in configs):
        known = sorted({k for c in configs for k in c if is_axis(k)})
        raise ValueError(f"unknown config key {key!r}; keys in these runs: {', '.join(known)}")
    return full


# ---------------------------------------------------------------- loading


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
    )
    claimed = (run.summary or {}).get(M.LAST100_RETURN)
    if isinstance(claimed, (int, float)) and not math.isclose(claimed, figures["final_return"], rel_tol=1e-6, abs_tol=1e-6):
        _warn(f"{run.run_dir}: {M.SUMMARY_FILE} says {M.LAST100_RETURN} = {claimed}, but "
              f"{M.EPISODES_FILE} gives {figures['final_return']:.6g}; using {M.EPISODES_FILE}")
    return figures


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
            variant=_label(config, variant_keys) if run.config else None,
            panel=", ".join([str(config.get("task.id")), *([_label(config, panel_keys)] if panel_keys else [])]),
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


def _variant_groups(included: pd.DataFrame):
    return included.groupby(["panel", "variant"], sort=True, observed=True)


def final_performance(loaded: LoadedRuns, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """One row per (panel, variant): seeds, IQM and mean of final_return with CIs, steps
    to threshold (median over all seeds, a seed that never reached it counting as
    infinite), throughput and wall time, and any warning. ``diverged``: the variant's
    diverged runs, counted among its seeds (with what they reached before diverging), or
    left out when ``survivors_only`` (then True in every row)."""
    rows = []
    for (panel, variant), group in _variant_groups(loaded.included):
        final = group["final_return"].to_numpy()
        iqm_low, iqm_high = bootstrap_ci(final, iqm, n_boot, seed=seed)
        mean_low, mean_high = bootstrap_ci(final, STATISTICS["mean"], n_boot, seed=seed)
        threshold = group["threshold"].iloc[0]
        steps = group["steps_to_threshold"].to_numpy()
        reached = int(np.isfinite(steps).sum())
        median_steps = float(np.median(np.where(np.isfinite(steps), steps, np.inf)))
        rows.append(dict(
            panel=panel, task=group["task"].iloc[0], variant=variant, seeds=len(group),
            diverged=int(loaded.diverged.get((panel, variant), 0)), survivors_only=loaded.survivors_only,
            iqm=float(iqm(final)), iqm_low=float(iqm_low), iqm_high=float(iqm_high),
            mean=float(final.mean()), mean_low=float(mean_low), mean_high=float(mean_high),
            threshold=threshold, reached=reached,
            median_steps_to_threshold=median_steps if math.isfinite(median_steps) and not np.isnan(threshold) else np.nan,
            sps=float(group["sps"].mean()), wall_time=float(group["wall_time"].mean()),
            env_steps=float(group["env_steps"].mean()), warning=seed_warning(len(group)),
        ))
    table = pd.DataFrame(rows)
    for panel, group in table.groupby("panel"):
        if group["seeds"].nunique() > 1:
            counts = ", ".join(f"{v}: {n}" for v, n in zip(group["variant"], group["seeds"]))
            _warn(f"{panel}: variants have unequal seed counts ({counts})")
            table.loc[group.index, "warning"] = [
                "; ".join(filter(None, [w, "unequal seed counts across variants"])) for w in group["warning"]]
    return table


def pairwise_improvement(loaded: LoadedRuns, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """P(X > Y) on final_return, with a CI, for each pair of variants within each panel."""
    rows = []
    for panel, group in loaded.included.groupby("panel", sort=True):
        finals = {v: g["final_return"].to_numpy() for v, g in group.groupby("variant", sort=True)}
        for x, y in combinations(finals, 2):
            p, low, high = probability_of_improvement(finals[x], finals[y], n_boot, seed=seed)
            rows.append(dict(panel=panel, x=x, y=y, n_x=len(finals[x]), n_y=len(finals[y]),
                             probability=p, low=low, high=high))
    return pd.DataFrame(rows, columns=["panel", "x", "y", "n_x", "n_y", "probability", "low", "high"])


def curve_on_grid(xs, returns, grid, end: float, window: int = CURVE_WINDOW) -> np.ndarray:
    """A run's mean of its last ``window`` episodes as of each grid point.

    ``xs`` are the episodes' env steps (or wall times) in the order they finished. The
    value at g is that of the last episode finished by g, NaN before the first and after
    ``end`` (the run's last step): a step function, never interpolated.
    """
    curve = trailing_mean(returns, window)
    index = np.searchsorted(np.asarray(xs), grid, side="right") - 1
    values = np.where(index >= 0, curve[np.maximum(index, 0)], np.nan)
    return np.where(np.asarray(grid) <= end, values, np.nan)


def learning_curves(loaded: LoadedRuns, x: str = M.ENV_STEP, points: int = 101, window: int = CURVE_WINDOW,
                    n_boot: int = N_BOOT, seed: int = 0, metric: str = M.EPISODE_RETURN) -> pd.DataFrame:
    """Per (panel, variant, grid point): mean and IQM across seeds of the runs' curves, with
    bootstrap CIs. A run's curve is the mean of its last ``window`` values of ``metric`` (by
    default the last 20 episode returns, the notebook's metric) as of each grid point; ``x``
    is ENV_STEP or WALL_TIME. Each panel's grid spans 0 to its longest run; a point is kept
    only where every run of the variant has a value, so a curve never mixes different sets
    of seeds. Runs that never logged ``metric`` are left out of its curves. A diverged run's
    curve holds its last value after it diverged, as its final performance does."""
    if metric not in loaded.tidy["metric"].cat.categories:
        raise ValueError(f"no metric {metric!r} in these runs; they have: "
                         f"{', '.join(loaded.tidy['metric'].cat.categories)}")
    rows = loaded.tidy[loaded.tidy["metric"] == metric]
    by_run = {run_id: (g[x].to_numpy(), g["value"].to_numpy())
              for run_id, g in rows.groupby("run_id", sort=False, observed=True)}
    end_column = "env_steps" if x == M.ENV_STEP else "wall_time"
    frames = []
    for panel, panel_runs in loaded.included.groupby("panel", sort=True):
        grid = np.linspace(0.0, panel_runs[end_column].max(), points)
        for variant, group in panel_runs.groupby("variant", sort=True):
            group = group[group["run_id"].isin(by_run)]
            if group.empty:
                continue
            ends = np.where(group["status"] == "diverged", np.inf, group[end_column])
            matrix = np.stack([curve_on_grid(*by_run[r], grid, end, window) for r, end in zip(group["run_id"], ends)])
            keep = ~np.isnan(matrix).any(axis=0)
            if not keep.any():
                continue
            matrix = matrix[:, keep]
            frame = pd.DataFrame({"panel": panel, "variant": variant, "metric": metric, x: grid[keep],
                                  "seeds": len(group)})
            for name, statistic in STATISTICS.items():
                low, high = bootstrap_ci(matrix, statistic, n_boot, seed=seed, axis=0)
                frame[name], frame[f"{name}_low"], frame[f"{name}_high"] = statistic(matrix, axis=0), low, high
            frames.append(frame)
    columns = ["panel", "variant", "metric", x, "seeds", *[f"{n}{s}" for n in STATISTICS for s in ("", "_low", "_high")]]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


@dataclass
class Comparison:
    """Everything the report draws and tabulates, computed once."""

    loaded: LoadedRuns
    final: pd.DataFrame  # final_performance
    improvement: pd.DataFrame  # pairwise_improvement
    curves_steps: pd.DataFrame  # learning_curves of the return over env steps
    curves_wall: pd.DataFrame  # learning_curves of the return over wall-clock seconds
    metric_curves: pd.DataFrame  # learning_curves of any other metrics asked for, over env steps


def compare(loaded: LoadedRuns, n_boot: int = N_BOOT, seed: int = 0, points: int = 101,
            metrics: Sequence[str] = ()) -> Comparison:
    """All the statistics of the report. ``metrics``: extra tidy metrics to draw curves of."""
    extra = [learning_curves(loaded, M.ENV_STEP, points, n_boot=n_boot, seed=seed, metric=m) for m in metrics]
    return Comparison(
        loaded=loaded,
        final=final_performance(loaded, n_boot, seed),
        improvement=pairwise_improvement(loaded, n_boot, seed),
        curves_steps=learning_curves(loaded, M.ENV_STEP, points, n_boot=n_boot, seed=seed),
        curves_wall=learning_curves(loaded, M.WALL_TIME, points, n_boot=n_boot, seed=seed),
        metric_curves=pd.concat(extra, ignore_index=True) if extra else pd.DataFrame(columns=["metric"]),
    )
