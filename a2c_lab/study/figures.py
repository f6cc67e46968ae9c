"""The study's overview figures: P(improvement) of every reported pair, and the notebook factorial's
IQMs. Drawn on ``Figure`` objects: no pyplot, no global matplotlib setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

def _short(name: str) -> str:
    return name.split(" (")[0]


def plot_overview(pairs: pd.DataFrame, out: Path) -> None:
    """P(variant beats its reference) for every reported pair, on final return and on AUC; one
    row of panels per task."""
    import matplotlib  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    pairs = pairs.dropna(subset=["probability"]).copy()
    if pairs.empty:
        return
    pairs["task"] = pairs["comparison"].str.split("/").str[0]
    tasks = list(dict.fromkeys(pairs["task"]))
    heights = [len(pairs[pairs["task"] == t]) for t in tasks]
    names = {"cartpole": "CartPole-v1", "acrobot": "Acrobot-v1", "lunarlander": "LunarLander-v3",
             "notebook": "CartPole-v1, the notebook's settings (1 env, 75k steps)"}
    with matplotlib.rc_context({"font.size": 9}):
        fig = Figure(figsize=(13, 1.4 + 0.3 * sum(heights) + 0.7 * len(tasks)), layout="constrained")
        axes = fig.subplots(len(tasks), 2, squeeze=False, sharex=True, gridspec_kw={"height_ratios": heights})
        for (final_ax, auc_ax), task in zip(axes, tasks):
            rows = pairs[pairs["task"] == task].reset_index(drop=True)
            colours = ["tab:red" if h is True else "tab:blue" for h in rows["headline"]]
            for ax, (p, low, high), what in ((final_ax, ("probability", "low", "high"), "final return"),
                                             (auc_ax, ("auc_probability", "auc_low", "auc_high"), "AUC")):
                ax.hlines(rows.index, rows[low], rows[high], colors=colours, lw=5, alpha=0.45)
                ax.plot(rows[p], rows.index, "D", color="black", ms=4)
                ax.axvline(0.5, color="0.4", ls="--", lw=1)
                ax.set_xlim(-0.02, 1.02)
                ax.set_ylim(len(rows) - 0.5, -0.5)
                ax.set_title(f"{names.get(task, task)}: {what}", fontsize=9, loc="left")
            final_ax.set_yticks(rows.index, [f"{_short(r.x)} (n={r.n_x}) vs {_short(r.y)} (n={r.n_y})"
                                             for r in rows.itertuples()])
            auc_ax.set_yticks(rows.index, [""] * len(rows))
        for ax in axes[-1]:
            ax.set_xlabel("P(a run of the left variant beats a run of the right one)")
        fig.suptitle("Probability of improvement, 95% stratified-bootstrap CI (red: headline comparisons named "
                     "before running). Left: final return (last-100 mean); right: AUC (mean height of the "
                     "learning curve)", fontsize=9)
        fig.savefig(out / "overview_probability_of_improvement.png", dpi=110)


def plot_notebook(rows: list[dict], out: Path) -> None:
    import matplotlib  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    frame = pd.DataFrame(rows).dropna(subset=["iqm"]) if rows else pd.DataFrame()
    if frame.empty:
        return
    with matplotlib.rc_context({"font.size": 9}):
        fig = Figure(figsize=(8, 1.0 + 0.4 * len(frame)), layout="constrained")
        ax = fig.subplots()
        y = np.arange(len(frame))
        ax.hlines(y, frame["iqm_low"], frame["iqm_high"], colors="tab:blue", lw=6, alpha=0.45)
        ax.plot(frame["iqm"], y, "D", color="black", ms=5)
        ax.set_yticks(y, [f"{v} (n={n})" for v, n in zip(frame["variant"], frame["seeds"])])
        ax.set_ylim(len(frame) - 0.5, -0.5)
        ax.set_xlabel("IQM of final return (last-100 mean) across seeds, 95% bootstrap CI")
        ax.set_title("The notebook taken apart (CartPole-v1, 1 env, 75k steps)\nfirst row: notebook_split; last row: "
                     "notebook_shared (the same update, tests/test_study_identities.py)", fontsize=9, loc="left")
        fig.savefig(out / "notebook_factorial.png", dpi=110)
