"""A Comparison (``a2c_lab.analysis.comparison``) -> the report: figures (PNG and PDF), drawn
here, and tables (CSV, Markdown), written by ``a2c_lab.analysis.tables``.

One panel per task (or per task and any config axis left out of the variant label);
one colour per variant, the same in every figure, from seaborn's colour-blind palette.
Every figure's title says how many seeds stand behind it, and a variant with fewer than
``statistics.MIN_SEEDS`` seeds is marked with a dagger wherever it is named. In the
survivors-only view (diverged runs left out) every title and the summary say so.

Figures are ``matplotlib.figure.Figure`` objects saved straight to files: no pyplot state,
no backend chosen, no global setting changed, so importing this module (or calling it
from a notebook) leaves the caller's matplotlib as it was.
"""

from __future__ import annotations

import math
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import matplotlib
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter
from matplotlib.transforms import offset_copy

from a2c_lab.analysis.comparison import Comparison
from a2c_lab.analysis.load import CURVE_WINDOW, FINAL_WINDOW
from a2c_lab.analysis.statistics import MIN_SEEDS
from a2c_lab.analysis.tables import FEW, FEW_NOTE, any_few, markdown, summary_markdown, summary_table, write_tables
from a2c_lab.runs import metrics as M

__all__ = [  # the report's figures, and its tables from a2c_lab.analysis.tables
    "plot_learning_curves", "plot_final_performance", "plot_steps_to_threshold", "plot_probability_of_improvement",
    "plot_throughput", "write_figures", "markdown", "summary_markdown", "summary_table", "write_tables",
]

PANEL_SIZE = (6.4, 4.2)
STEPS_FORMAT = EngFormatter(sep="")  # 250000 -> 250k


# ---------------------------------------------------------------- shared layout


def _colours(variants: Sequence[str]) -> dict:
    # The colour-blind palette has 10 colours; beyond that seaborn cycles them.
    palette = sns.color_palette("colorblind", max(len(variants), 1))
    return dict(zip(variants, palette))


def _seed_counts(comparison: Comparison, panel: str) -> dict:
    final = comparison.final[comparison.final["panel"] == panel]
    return dict(zip(final["variant"], final["seeds"]))


def _name(variant: str, seeds: int) -> str:
    return f"{variant} (n={seeds}){FEW if seeds < MIN_SEEDS else ''}"


def _seeds_phrase(counts: dict) -> str:
    low, high = min(counts.values()), max(counts.values())
    return f"{low} seed{'s' if high > 1 else ''} per variant" if low == high else f"{low}\N{EN DASH}{high} seeds per variant"


def _panels(comparison: Comparison, ncols: int = 3, size=PANEL_SIZE):
    panels = list(comparison.final["panel"].drop_duplicates())
    cols = min(ncols, len(panels))
    rows = math.ceil(len(panels) / cols)
    width = max(8.0, size[0] * cols)  # room for the title above a single panel
    fig = Figure(figsize=(width, size[1] * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    return fig, list(zip(panels, axes.flat))


def _title(comparison: Comparison, title: str) -> str:
    """A figure's or table's title, with the survivors-only note when that view is on."""
    note = comparison.loaded.survivors_note
    return f"{title} ({note})" if note else title


def _finish(fig, out_dir: Path, stem: str, formats: Sequence[str], few: bool, title: str) -> list[Path]:
    fig.suptitle(textwrap.fill(title, width=int(fig.get_figwidth() * 7.5)), fontsize="large")
    if few:
        fig.text(0.01, 0.005, FEW_NOTE, fontsize="small", color="0.3", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03 if few else 0, 1, 1))
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        fig.savefig(path, dpi=150)
        paths.append(path)
    return paths


def _legend_below(ax) -> None:
    """A legend under the axis label: never covers a curve, whatever shape the curves take.
    Offset in points rather than axes fractions, so it clears the label at any panel size."""
    below = offset_copy(ax.transAxes, fig=ax.figure, y=-44, units="points")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below,
              ncol=1, frameon=False)


def _size_with_legend(comparison: Comparison) -> tuple[float, float]:
    """Panel size leaving the plot its height above a legend of one line per variant."""
    most = int(comparison.final.groupby("panel").size().max())
    return PANEL_SIZE[0], PANEL_SIZE[1] + 0.25 * (most + 1)


def _label_columns(comparison: Comparison) -> int:
    """Panels with variant names as tick labels need width: one column, two past three panels."""
    return 1 if comparison.final["panel"].nunique() <= 3 else 2


# ---------------------------------------------------------------- figures


def plot_learning_curves(comparison: Comparison, out_dir: Path, x: str = M.ENV_STEP, statistic: str = "mean",
                         formats: Sequence[str] = ("png", "pdf"), metric: str = M.EPISODE_RETURN) -> list[Path]:
    """Learning curves of the return vs env steps or wall time, or of another ``metric``
    (one of ``comparison.metric_curves``) vs env steps."""
    if metric == M.EPISODE_RETURN:
        curves = comparison.curves_steps if x == M.ENV_STEP else comparison.curves_wall
        ylabel, name = f"return (mean of last {CURVE_WINDOW} episodes)", "Learning curves"
        stem = "learning_curves_env_steps" if x == M.ENV_STEP else "learning_curves_wall_time"
    else:
        curves = comparison.metric_curves[comparison.metric_curves["metric"] == metric]
        ylabel, name = f"{metric} (mean of last {CURVE_WINDOW} logged values)", metric
        stem = "curve_" + "".join(c if c.isalnum() else "_" for c in metric)
    colours = _colours(list(comparison.final["variant"].drop_duplicates().sort_values()))
    fig, panels = _panels(comparison, size=_size_with_legend(comparison))
    for panel, ax in panels:
        counts = _seed_counts(comparison, panel)
        for variant, curve in curves[curves["panel"] == panel].groupby("variant", sort=True):
            colour = colours[variant]
            ax.plot(curve[x], curve[statistic], color=colour, label=_name(variant, int(curve["seeds"].iloc[0])))
            ax.fill_between(curve[x], curve[f"{statistic}_low"], curve[f"{statistic}_high"], color=colour, alpha=0.2, lw=0)
        threshold = comparison.final.loc[comparison.final["panel"] == panel, "threshold"].iloc[0]
        if metric == M.EPISODE_RETURN and not np.isnan(threshold):
            ax.axhline(threshold, color="0.4", ls="--", lw=1, label=f"threshold {threshold:g}")
        ax.set_title(f"{panel}: {_seeds_phrase(counts)}")
        ax.set_xlabel("environment steps" if x == M.ENV_STEP else "wall-clock time (s)")
        ax.set_ylabel(ylabel)
        if x == M.ENV_STEP:
            ax.xaxis.set_major_formatter(STEPS_FORMAT)
        ax.set_xlim(left=0)
        if ax.has_data():
            _legend_below(ax)
        else:
            ax.text(0.5, 0.5, f"no {metric} logged", ha="center", va="center", transform=ax.transAxes)
    axis = "environment steps" if x == M.ENV_STEP else "wall-clock time"
    title = f"{name} vs {axis}: {statistic.upper() if statistic == 'iqm' else statistic} across seeds, 95% bootstrap CI"
    if x == M.WALL_TIME:
        title += "; each curve stops where its variant's shortest run ends"
    if (comparison.loaded.included["status"] == "diverged").any():
        title += "; a diverged run holds its last value"
    return _finish(fig, out_dir, stem, formats, any_few(comparison), _title(comparison, title))


def plot_final_performance(comparison: Comparison, out_dir: Path, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    included = comparison.loaded.included
    variants = list(comparison.final["variant"].drop_duplicates().sort_values())
    colours = _colours(variants)
    fig, panels = _panels(comparison, ncols=_label_columns(comparison), size=(9.0, 1.4 + 0.6 * len(variants)))
    for panel, ax in panels:
        final = comparison.final[comparison.final["panel"] == panel].sort_values("variant")
        order = list(final["variant"])
        runs = included[included["panel"] == panel]
        sns.stripplot(data=runs, x="final_return", y="variant", order=order, hue="variant", palette=colours,
                      legend=False, jitter=0.15, size=5, alpha=0.6, ax=ax)
        for position, row in enumerate(final.itertuples()):
            ax.hlines(position, row.iqm_low, row.iqm_high, color=colours[row.variant], lw=6, alpha=0.5)
            ax.plot(row.iqm, position, marker="D", color="black", ms=7, zorder=5)
        ax.set_yticks(range(len(order)), [_name(v, n) for v, n in zip(order, final["seeds"])])
        ax.set_ylabel("")
        ax.set_xlabel(f"final return (mean of last {FINAL_WINDOW} episodes per run)")
        ax.set_title(f"{panel}: {_seeds_phrase(dict(zip(order, final['seeds'])))}")
    title = "Final performance: IQM (diamond) with 95% bootstrap CI (bar); dots are seeds"
    return _finish(fig, out_dir, "final_performance", formats, any_few(comparison), _title(comparison, title))


def plot_steps_to_threshold(comparison: Comparison, out_dir: Path, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """The fraction of seeds whose last-100 mean has reached the threshold, by env step:
    the whole distribution of steps to threshold, with the seeds that never reach it
    visible as the gap below 1."""
    included = comparison.loaded.included
    colours = _colours(list(comparison.final["variant"].drop_duplicates().sort_values()))
    fig, panels = _panels(comparison, size=_size_with_legend(comparison))
    for panel, ax in panels:
        runs = included[included["panel"] == panel]
        threshold = runs["threshold"].iloc[0]
        counts = _seed_counts(comparison, panel)
        if np.isnan(threshold):
            ax.text(0.5, 0.5, "no threshold set for this task\n(task.threshold is null; see --threshold)",
                    ha="center", va="center", transform=ax.transAxes)
            ax.set_title(panel)
            continue
        end = runs["env_steps"].max()
        for variant, group in runs.groupby("variant", sort=True):
            steps = np.sort(group["steps_to_threshold"].dropna().to_numpy())
            n = len(group)
            xs = np.concatenate(([0.0], steps, [group["env_steps"].max()]))  # to this variant's last step
            ys = np.concatenate(([0.0], np.arange(1, len(steps) + 1) / n, [len(steps) / n]))
            ax.step(xs, ys, where="post", color=colours[variant], lw=2,
                    label=f"{_name(variant, counts[variant])}: {len(steps)}/{n} reached")
        if runs["steps_to_threshold"].isna().all():
            ax.text(0.5, 0.5, "no seed of any variant reached the threshold", ha="center", va="center",
                    transform=ax.transAxes, color="0.3")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlim(0, end)
        ax.xaxis.set_major_formatter(STEPS_FORMAT)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("fraction of seeds solved")
        ax.set_title(f"{panel}: last-{FINAL_WINDOW} mean \N{GREATER-THAN OR EQUAL TO} {threshold:g}, {_seeds_phrase(counts)}")
        _legend_below(ax)
    title = "Steps to threshold: share of seeds solved by each env step (ending below 1 = some seeds never solved)"
    return _finish(fig, out_dir, "steps_to_threshold", formats, any_few(comparison), _title(comparison, title))


def plot_probability_of_improvement(comparison: Comparison, out_dir: Path,
                                    formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """One row per pair of variants: the left-hand variant X, the right-hand Y, P(X > Y)."""
    pairs = comparison.improvement
    most = max([1, *pairs.groupby("panel").size()])
    fig, panels = _panels(comparison, ncols=_label_columns(comparison), size=(9.0, 1.6 + 0.5 * most))
    few = lambda n: FEW if n < MIN_SEEDS else ""  # noqa: E731
    for panel, ax in panels:
        rows = pairs[pairs["panel"] == panel].reset_index(drop=True)
        ax.set_title(f"{panel}: {_seeds_phrase(_seed_counts(comparison, panel))}")
        if rows.empty:
            ax.text(0.5, 0.5, "only one variant: nothing to compare", ha="center", va="center", transform=ax.transAxes)
            continue
        ax.hlines(rows.index, rows["low"], rows["high"], color=sns.color_palette("colorblind")[0], lw=6, alpha=0.5)
        ax.plot(rows["probability"], rows.index, "D", color="black", ms=7)
        ax.axvline(0.5, color="0.4", ls="--", lw=1)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(-0.02, 1.02)
        ax.set_yticks(rows.index, [f"{r.x} (n={r.n_x}){few(r.n_x)}" for r in rows.itertuples()])
        right = ax.secondary_yaxis("right")
        right.set_yticks(rows.index, [f"{r.y} (n={r.n_y}){few(r.n_y)}" for r in rows.itertuples()])
        ax.set_xlabel("P(a run of the left variant beats a run of the right variant)")
    title = "Probability of improvement on final return, 95% bootstrap CI (0.5 = no difference)"
    return _finish(fig, out_dir, "probability_of_improvement", formats, any_few(comparison), _title(comparison, title))


def plot_throughput(comparison: Comparison, out_dir: Path, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    included = comparison.loaded.included
    variants = list(comparison.final["variant"].drop_duplicates().sort_values())
    colours = _colours(variants)
    panels = list(comparison.final["panel"].drop_duplicates())
    fig = Figure(figsize=(12.8, (1.4 + 0.6 * len(variants)) * len(panels)))
    axes = fig.subplots(len(panels), 2, squeeze=False, sharey="row")
    for (sps_ax, wall_ax), panel in zip(axes, panels):
        runs = included[included["panel"] == panel]
        order = sorted(runs["variant"].unique())
        counts = _seed_counts(comparison, panel)
        for ax, column, label in ((sps_ax, "sps", "throughput (env steps per second, whole run)"),
                                  (wall_ax, "wall_time", "wall-clock time per run (s)")):
            sns.barplot(data=runs, x=column, y="variant", order=order, hue="variant", palette=colours,
                        errorbar=None, alpha=0.6, legend=False, ax=ax)
            sns.stripplot(data=runs, x=column, y="variant", order=order, color="black", size=4, jitter=0.15, ax=ax)
            ax.set_xlabel(label)
            ax.set_ylabel("")
            ax.set_title(f"{panel}: {_seeds_phrase(counts)}", fontsize="medium")
        sps_ax.set_yticks(range(len(order)), [_name(v, counts[v]) for v in order])
    title = "Throughput and wall-clock time per variant: bars = mean over seeds, dots = runs"
    return _finish(fig, out_dir, "throughput", formats, any_few(comparison), _title(comparison, title))


def write_figures(comparison: Comparison, out_dir: Path, statistic: str = "mean",
                  formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Draw every figure into ``out_dir`` in each of ``formats``; returns the files written.
    ``statistic`` ("mean" or "iqm") is the learning curves' line."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with theme():
        return _draw_all(comparison, out_dir, statistic, formats)


@contextmanager
def theme() -> Iterator[None]:
    """The report's seaborn theme, for the figures drawn inside only: the caller's matplotlib
    settings are as they were afterwards. seaborn's strip plots jitter their dots with numpy's
    global random state: it is seeded here, so the same runs draw the same PNG byte for byte, and
    given back to the caller as it was."""
    state = np.random.get_state()
    np.random.seed(0)
    try:
        with matplotlib.rc_context():
            sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
            yield
    finally:
        np.random.set_state(state)


def _draw_all(comparison: Comparison, out_dir: Path, statistic: str, formats: Sequence[str]) -> list[Path]:
    return [
        *plot_learning_curves(comparison, out_dir, M.ENV_STEP, statistic, formats),
        *plot_learning_curves(comparison, out_dir, M.WALL_TIME, statistic, formats),
        *plot_final_performance(comparison, out_dir, formats),
        *plot_steps_to_threshold(comparison, out_dir, formats),
        *plot_probability_of_improvement(comparison, out_dir, formats),
        *plot_throughput(comparison, out_dir, formats),
        *[path for metric in comparison.metric_curves["metric"].unique()
          for path in plot_learning_curves(comparison, out_dir, M.ENV_STEP, statistic, formats, metric)],
    ]
