"""The study's tables: one row per run, per variant and per reported pair, the notebook factorial's
effects, the guard test's reference and the base beside the RL Zoo (``findings`` prints them as
Markdown). Every number comes from ``a2c_lab.analysis``; every interval from ``STUDY_N_BOOT``
resamples. A variant's and a pair's row are computed from per-run values (``per_variant``), the
same for a comparison's run folders and for its committed ``runs.csv``."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from a2c_lab.analysis import load_runs, probability_of_improvement
from a2c_lab.analysis.run_reader import NoRunsError, RunWarning
from a2c_lab.analysis.statistics import bootstrap_ci, iqm
from a2c_lab.runs import metrics as M
from a2c_lab.study.comparisons import NB_CELLS, NB_FACTORS, Comparison, RunIndex, Variant

# Resamples behind every interval the study prints (variants, pairs, the notebook's effects, the
# Zoo table, and the tables in the folders of comparisons whose runs are here). At N_BOOT (2,000),
# endpoints were resampling noise: CartPole TD's AUC interval read [0.16, 0.50] at 2,000 and
# [0.155, 0.495] at 50,000. scripts/study_resamples.py recomputes part 1's 334 printed endpoints
# (126 P at 2 decimals, 208 IQM at 1) with bootstrap seeds 0, 1, 2; endpoints that differ between
# the seeds, and seconds per set of tables (2 busy cores):
#       N     P      IQM    s        N      P      IQM    s
#   2,000    68/126 153/208  0.4   100,000  14/126  86/208 10.7
#  20,000    34     125      2.1   200,000  13      80     22.2
#  50,000    22      96      5.0
# 100,000 is the knee: doubling it (22 s) still leaves 13 and 80. What still moves cannot be pinned by
# any affordable N: P is discrete (steps of 1/(2 n_x n_y)) and those endpoints sit at a step of
# its bootstrap distribution, moving by one printed unit (0.01) and never across 0.5 at N >= 20,000;
# IQM endpoints move by a median of 0.02 (90%: under 0.3; at most 5.2, where the IQM of 10 seeds has a
# gap in its bootstrap distribution), so their first decimal is noise at any N.
# Learning-curve bands stay at N_BOOT: they resample a seeds x 101 matrix per variant (at 50,000,
# 1.6 GB and 18 s for 40 runs, against 0.5 s at 2,000).
STUDY_N_BOOT = 100_000

# Config keys written to runs.csv beside each run's figures: the study's axes.
KEYS = {
    "agent": "agent.name", "optimizer": "agent.optimizer", "lr": "agent.lr", "critic_lr": "agent.critic_lr",
    "vf_coef": "agent.vf_coef", "max_grad_norm": "agent.max_grad_norm", "network": "network.name",
    "advantage": "advantage.name", "lam": "advantage.lam", "normalize": "advantage.normalize",
    "value_target": "advantage.value_target", "num_envs": "envs.num_envs", "backend": "envs.backend",
    "bootstrap_truncated": "bootstrap_truncated", "total_steps": "total_steps", "experiment": "experiment_name",
    "obs_norm": "obs_norm.name", "log_std_init": "network.log_std_init", "policy_gain": "network.policy_gain",
}  # runs.csv's columns are the union over parts: a part without a key leaves its cells empty


def load_comparison(index: RunIndex, comparison: Comparison):
    """The comparison's runs, loaded and labelled with the study's variant names; None if none."""
    names = {}
    for variant in comparison.variants:
        for run_dir in index.select(variant):
            names[str(run_dir)] = variant.name
    if not names:
        return None
    try:
        loaded = load_runs(sorted(names), thresholds=None)
    except NoRunsError:  # none finished yet
        return None
    by_run_id = dict(zip(loaded.runs["run_id"], loaded.runs["run_dir"].map(names)))
    loaded.runs["variant"] = loaded.runs["run_dir"].map(names)
    loaded.tidy["variant"] = loaded.tidy["run_id"].astype(str).map(by_run_id).astype("category")
    included = loaded.included
    loaded.diverged = included[included["status"] == "diverged"].groupby(["panel", "variant"]).size().to_dict()
    return loaded


def interval_text(point, low, high, digits=1) -> str:
    if np.isnan(low):
        return f"{point:.{digits}f}"
    return f"{point:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def per_variant(runs: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
    """``column`` of the included runs, per variant, in the order of ``runs``: a comparison's
    loaded runs or its committed ``runs.csv`` (the same rows in the same order, so the same
    resamples and the same intervals)."""
    included = runs[runs["included"].astype(bool)]
    return {v: g[column].to_numpy(dtype=float) for v, g in included.groupby("variant")}


def pair_rows(comparison: Comparison, finals: dict, aucs: dict, n_boot: int = STUDY_N_BOOT,
              seed: int = 0) -> list[dict]:
    """One row per reported pair: P(x > y) on final return and on AUC with their CIs, from each
    variant's per-run values (``per_variant``)."""
    rows = []
    for i, (x, y) in enumerate(comparison.reported_pairs()):
        headline = comparison.headline and (comparison.headline_pairs is None or i < comparison.headline_pairs)
        row = dict(comparison=comparison.key, headline=headline, x=x, y=y, n_x=len(finals.get(x, [])),
                   n_y=len(finals.get(y, [])))
        if x not in finals or y not in finals:  # not run
            rows.append(dict(row, probability=np.nan, low=np.nan, high=np.nan))
            continue
        p, low, high = probability_of_improvement(finals[x], finals[y], n_boot, seed=seed)
        p_auc, low_auc, high_auc = probability_of_improvement(aucs[x], aucs[y], n_boot, seed=seed)
        rows.append(dict(row, iqm_x=float(iqm(finals[x])), iqm_y=float(iqm(finals[y])), probability=p, low=low,
                         high=high, auc_probability=p_auc, auc_low=low_auc, auc_high=high_auc))
    return rows


# A variant's columns that no resample touches: from the analysis' final-performance table of its
# run folders, or kept from the committed variants.csv row when the folders are gone.
NOT_RESAMPLED = ("diverged", "median_steps_to_threshold", "reached", "wall_time", "sps")


def variant_rows(comparison: Comparison, finals: dict, aucs: dict, other: dict, n_boot: int = STUDY_N_BOOT,
                 seed: int = 0) -> list[dict]:
    """One row per variant, in the comparison's order: its final return and AUC (IQM with a CI)
    and the median and range of its final returns, from its per-run values (``per_variant``);
    ``other``: variant -> its ``NOT_RESAMPLED`` columns. A variant without runs has 0 seeds."""
    rows = []
    for variant in comparison.variants:
        returns = finals.get(variant.name, np.empty(0))
        row = dict(comparison=comparison.key, variant=variant.name, seeds=len(returns), diverged=0)
        if len(returns):
            kept = {k: float(other.get(variant.name, {}).get(k, np.nan)) for k in NOT_RESAMPLED}
            low, high = bootstrap_ci(returns, iqm, n_boot, seed=seed)
            auc_low, auc_high = bootstrap_ci(aucs[variant.name], iqm, n_boot, seed=seed)
            row.update(diverged=int(kept["diverged"]) if np.isfinite(kept["diverged"]) else kept["diverged"],
                       iqm=float(iqm(returns)), iqm_low=float(low), iqm_high=float(high),
                       auc=float(iqm(aucs[variant.name])), auc_low=float(auc_low), auc_high=float(auc_high),
                       median_steps_to_threshold=kept["median_steps_to_threshold"],
                       median=float(np.median(returns)), min=float(returns.min()), max=float(returns.max()),
                       reached=kept["reached"], wall_time=kept["wall_time"], sps=kept["sps"])
        rows.append(row)
    return rows


def runs_table(index: RunIndex) -> pd.DataFrame:
    """One row per run of the study: its part, config axes, status and figures."""
    frames = []
    for part in sorted({p for p, _ in index.configs.values()}):
        dirs = [d for d, (p, _) in index.configs.items() if p == part]
        try:
            loaded = load_runs(dirs)
        except Exception as error:  # noqa: BLE001 (a part with no usable run yet)
            warnings.warn(f"{part}: {error}", RunWarning, stacklevel=2)
            continue
        table = loaded.runs.drop(columns=["variant", "panel", "run_id"]).copy()
        evals = loaded.tidy[loaded.tidy["metric"] == M.EVAL_RETURN_MEAN]
        last_eval = evals.sort_values(M.ENV_STEP).groupby("run_id", observed=True)["value"].last()
        table["final_eval_return"] = loaded.runs["run_id"].map(last_eval).to_numpy()
        table.insert(0, "part", part)
        for column, key in KEYS.items():
            if column not in table:
                table[column] = [index.configs[Path(d)][1].get(key) for d in table["run_dir"]]
        table["run_dir"] = [str(Path(d).relative_to(index.root.parent.parent)) for d in table["run_dir"]]
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def notebook_effects(finals: dict, n_boot: int = STUDY_N_BOOT, seed: int = 0) -> pd.DataFrame:
    """Each factor of the notebook factorial: P(cell with the notebook_shared level beats the matched
    cell with the notebook_split level), for each of the 4 settings of the other two factors.
    ``finals``: the NOTEBOOK comparison's final returns per variant (``per_variant``); empty if not run."""
    rows = []
    for key, old, new, factor in NB_FACTORS:
        for cell in NB_CELLS:
            where = dict(cell.where)
            if where[key] != old:
                continue
            partner = next(c for c in NB_CELLS if dict(c.where) == {**where, key: new})
            if cell.name not in finals or partner.name not in finals:
                continue
            p, low, high = probability_of_improvement(finals[partner.name], finals[cell.name], n_boot, seed=seed)
            rows.append(dict(factor=factor, change=f"{old} -> {new}", at=cell.name,
                             iqm_before=float(iqm(finals[cell.name])), iqm_after=float(iqm(finals[partner.name])),
                             probability=p, low=low, high=high,
                             seeds=f"{len(finals[cell.name])}, {len(finals[partner.name])}"))
    return pd.DataFrame(rows)


# The slow guard tests' references (tests/test_study_guard.py): per base part, the file the report
# writes and the env step its per-seed return is read at.
GUARDS = {"cartpole/base": ("guard_reference.csv", 100_000),
          "halfcheetah/base": ("guard_reference_halfcheetah.csv", 150_000)}


def guard_reference(index: RunIndex, part: str = "cartpole/base") -> pd.DataFrame:
    """Per seed of a base part: the mean return of its last 100 training episodes that ended by the
    guard's env step, what the slow guard test re-measures. The lr is constant and evaluation draws no
    training random numbers, so this is what a run of that many steps gives."""
    steps = GUARDS[part][1]
    column = f"return_at_{steps // 1000}k"
    rows = []
    for run_dir in index.select(Variant("base", part)):
        episodes = pd.read_csv(run_dir / M.EPISODES_FILE)
        episodes = episodes[episodes[M.ENV_STEP] <= steps]
        rows.append({"seed": index.configs[run_dir][1]["seed"], column: float(episodes[M.EPISODE_RETURN].tail(100).mean())})
    return pd.DataFrame(rows).sort_values("seed") if rows else pd.DataFrame(columns=["seed", column])


# The RL Zoo's A2C benchmark table: one trained agent each, evaluated greedily (mean +- std over
# its evaluation episodes); Acrobot with normalised observations; LunarLander-v2, not v3.
ZOO = {"cartpole": ("CartPole-v1", "500.0 +- 0.0", "500k"), "acrobot": ("Acrobot-v1", "-83.4 +- 17.2", "500k"),
       "lunarlander": ("LunarLander-v2 (Zoo) / v3 (ours)", "155.8 +- 80.4", "200k")}


def zoo_table(runs: pd.DataFrame, n_boot: int = STUDY_N_BOOT, seed: int = 0) -> pd.DataFrame:
    """The base config per task beside the RL Zoo's number: ours is many seeds, theirs one agent."""
    rows = []
    for task, (zoo_env, zoo_result, zoo_steps) in ZOO.items():
        base = runs[(runs["part"] == f"{task}/base") & runs["status"].isin(["finished", "diverged"])]
        if base.empty:
            rows.append({"task": zoo_env, "RL Zoo A2C (1 agent, greedy)": f"{zoo_result} at {zoo_steps}",
                         "a2c-lab base: seeds, budget": "not run"})
            continue
        greedy, final = base["final_eval_return"].to_numpy(), base["final_return"].to_numpy()
        g_low, g_high = bootstrap_ci(greedy, iqm, n_boot, seed=seed)
        f_low, f_high = bootstrap_ci(final, iqm, n_boot, seed=seed)
        rows.append({"task": zoo_env, "RL Zoo A2C (1 agent, greedy)": f"{zoo_result} at {zoo_steps}",
                     "a2c-lab base: seeds, budget": f"{len(base)}, {base['total_steps'].iloc[0] / 1000:.0f}k",
                     "greedy eval (10 episodes) per seed: IQM [95% CI]": interval_text(iqm(greedy), g_low, g_high),
                     "greedy eval: median (min-max)": f"{np.median(greedy):.1f} ({greedy.min():.1f}-{greedy.max():.1f})",
                     "training last-100 mean: IQM [95% CI]": interval_text(iqm(final), f_low, f_high)})
    return pd.DataFrame(rows).fillna("")


def part_seconds(runs_root: Path) -> dict[str, float]:
    """Each part's training time (one core each), from the driver's log lines."""
    seconds: dict[str, float] = {}
    log = runs_root / "driver.log"
    for line in log.read_text().splitlines() if log.is_file() else []:
        match = re.match(r"(\S+): exit \S+ after (\d+) s", line)
        if match:
            seconds[match[1]] = seconds.get(match[1], 0.0) + float(match[2])
    return seconds
