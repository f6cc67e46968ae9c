"""The statistics of a comparison, from the loaded runs (``load.LoadedRuns``) to the tables
and curves the report draws: final performance per variant, the probability of improvement
between variants, and learning curves across seeds.

All aggregation is per panel (so per task): nothing is averaged across tasks. The
statistics themselves (IQM, bootstrap CIs, probability of improvement) are the pure functions
of ``a2c_lab.analysis.statistics``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd

from a2c_lab.analysis.load import CURVE_WINDOW, LoadedRuns
from a2c_lab.analysis.run_reader import RunWarning
from a2c_lab.analysis.statistics import N_BOOT, STATISTICS, bootstrap_ci, iqm, probability_of_improvement, seed_warning
from a2c_lab.runs import metrics as M
from a2c_lab.runs.episode_stats import trailing_mean


def _warn(message: str) -> None:
    warnings.warn(message, RunWarning, stacklevel=3)


def _variant_groups(included: pd.DataFrame):
    return included.groupby(["panel", "variant"], sort=True, observed=True)


def final_performance(loaded: LoadedRuns, n_boot: int = N_BOOT, seed: int = 0,
                      run_metrics: Sequence[str] = ()) -> pd.DataFrame:
    """One row per (panel, variant): seeds, IQM and mean of final_return with CIs, steps
    to threshold (median over all seeds, a seed that never reached it counting as
    infinite), throughput and wall time, and any warning. ``diverged``: the variant's
    diverged runs, counted among its seeds (with what they reached before diverging), or
    left out when ``survivors_only`` (then True in every row). ``run_metrics``: other per-run
    columns of ``loaded.runs`` (``auc``) whose IQM and CI each row adds as ``<name>``,
    ``<name>_low``, ``<name>_high``."""
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
        for name in run_metrics:
            values = group[name].to_numpy(dtype=float)
            low, high = bootstrap_ci(values, iqm, n_boot, seed=seed)
            rows[-1].update({name: float(iqm(values)), f"{name}_low": float(low), f"{name}_high": float(high)})
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
            metrics: Sequence[str] = (), run_metrics: Sequence[str] = ()) -> Comparison:
    """All the statistics of the report. ``metrics``: extra tidy metrics to draw curves of;
    ``run_metrics``: extra per-run columns summarised beside the final return (``final_performance``)."""
    extra = [learning_curves(loaded, M.ENV_STEP, points, n_boot=n_boot, seed=seed, metric=m) for m in metrics]
    return Comparison(
        loaded=loaded,
        final=final_performance(loaded, n_boot, seed, run_metrics),
        improvement=pairwise_improvement(loaded, n_boot, seed),
        curves_steps=learning_curves(loaded, M.ENV_STEP, points, n_boot=n_boot, seed=seed),
        curves_wall=learning_curves(loaded, M.WALL_TIME, points, n_boot=n_boot, seed=seed),
        metric_curves=pd.concat(extra, ignore_index=True) if extra else pd.DataFrame(columns=["metric"]),
    )
