"""A Comparison (``a2c_lab.analysis.comparison``) -> the report's tables: ``summary.csv``,
``runs.csv``, ``probability_of_improvement.csv``, the learning curves' CSVs, and
``summary.md`` (one row per variant, the pairs' probability of improvement, the runs left
out and why). A variant with fewer than ``statistics.MIN_SEEDS`` seeds is marked with a
dagger; in the survivors-only view the summary says so first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from a2c_lab.analysis.comparison import Comparison
from a2c_lab.analysis.load import FINAL_WINDOW
from a2c_lab.analysis.statistics import MIN_SEEDS

FEW = "\N{DAGGER}"  # marks a variant with fewer than MIN_SEEDS seeds
FEW_NOTE = f"{FEW} fewer than {MIN_SEEDS} seeds: the IQM trims little or nothing and the CI means little"


def any_few(comparison: Comparison) -> bool:
    """Whether any variant has fewer than MIN_SEEDS seeds."""
    return bool((comparison.final["seeds"] < MIN_SEEDS).any())


def _steps_text(row) -> str:
    if np.isnan(row.threshold):
        return ""  # said once, under the table (``_no_threshold_note``)
    if np.isnan(row.median_steps_to_threshold):
        return "not reached by half"
    return f"{row.median_steps_to_threshold:,.0f}"


def summary_table(comparison: Comparison) -> pd.DataFrame:
    """The Markdown summary's rows: one per variant (and panel), numbers as text."""
    final = comparison.final
    with_threshold = bool(final["threshold"].notna().any())  # without any: no steps-to-threshold columns
    rows = []
    for row in final.itertuples():
        ci = "" if np.isnan(row.iqm_low) else f" [{row.iqm_low:.1f}, {row.iqm_high:.1f}]"
        rows.append({
            "panel": row.panel,
            "variant": row.variant + (FEW if row.seeds < MIN_SEEDS else ""),
            "seeds": row.seeds,
            "diverged": row.diverged,
            "IQM final return [95% CI]": f"{row.iqm:.1f}{ci}",
            "mean final return": f"{row.mean:.1f}",
            **({"median steps to threshold": _steps_text(row),
                "reached threshold": "" if np.isnan(row.threshold) else f"{row.reached}/{row.seeds}"}
               if with_threshold else {}),
            "SPS": f"{row.sps:,.0f}",
            "wall time (s)": f"{row.wall_time:,.1f}",
            "warning": row.warning,
        })
    return pd.DataFrame(rows)


def _no_threshold_note(comparison: Comparison) -> list[str]:
    """One line naming the tasks without a threshold (their steps-to-threshold cells are empty,
    or the columns left out when no task has one); none when every task has one."""
    final = comparison.final
    tasks = sorted(set(final.loc[final["threshold"].isna(), "task"]))
    if not tasks:
        return []
    where = "columns are left out" if final["threshold"].isna().all() else "cells are empty"
    return ["", f"Tasks with no threshold (task.threshold is null; `--threshold` sets one): {', '.join(tasks)}; "
                f"their steps-to-threshold {where}."]


def markdown(table: pd.DataFrame) -> str:
    """A GitHub Markdown table (no dependency on ``tabulate``)."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(map(cell, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def summary_markdown(comparison: Comparison) -> str:
    loaded = comparison.loaded
    if loaded.survivors_only:
        diverged = (f"**{loaded.survivors_note[0].upper()}{loaded.survivors_note[1:]}** of every number below "
                    "(the `diverged` column counts them per variant); without the survivors-only option "
                    "they count with the final return they reached before diverging.")
    else:
        diverged = ("Diverged runs count among the seeds with the final return they reached before "
                    "diverging (the `diverged` column counts them).")
    parts = [
        diverged,
        "",
        f"Final return: mean of each run's last {FINAL_WINDOW} episodes; IQM across seeds with a "
        "95% percentile bootstrap CI. Steps to threshold: first env step with a last-100 mean at or "
        "above the task's threshold; the median counts seeds that never reach it as infinite.",
        "",
        f"Variants are labelled by {', '.join(loaded.variant_keys)}"
        + (f" (panels split by {', '.join(loaded.panel_keys)})" if loaded.panel_keys else "")
        + "; config keys that differ between runs of a task: "
        + (", ".join(loaded.differing_keys) or "none") + ".",
        "",
        markdown(summary_table(comparison)),
    ]
    parts += _no_threshold_note(comparison)
    if any_few(comparison):
        parts += ["", FEW_NOTE]
    if len(comparison.improvement):
        pairs = comparison.improvement.assign(
            **{"P(x > y) [95% CI]": [f"{r.probability:.2f} [{r.low:.2f}, {r.high:.2f}]"
                                      for r in comparison.improvement.itertuples()]})
        parts += ["", "Probability of improvement (a run of x beats a run of y, ties count half):", "",
                  markdown(pairs[["panel", "x", "y", "P(x > y) [95% CI]"]])]
    excluded = loaded.excluded
    if len(excluded):
        parts += ["", f"Runs left out of the statistics ({len(excluded)}):", "",
                  markdown(excluded[["run_dir", "status", "reason"]])]
    return "\n".join(parts) + "\n"


def write_tables(comparison: Comparison, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "summary.csv": comparison.final,
        "runs.csv": comparison.loaded.runs,
        "probability_of_improvement.csv": comparison.improvement,
        "learning_curves_env_steps.csv": comparison.curves_steps,
        "learning_curves_wall_time.csv": comparison.curves_wall,
    }
    if len(comparison.metric_curves):
        files["metric_curves.csv"] = comparison.metric_curves
    paths = []
    for name, frame in files.items():
        frame.to_csv(out_dir / name, index=False)
        paths.append(out_dir / name)
    (out_dir / "summary.md").write_text(summary_markdown(comparison))
    return [*paths, out_dir / "summary.md"]


