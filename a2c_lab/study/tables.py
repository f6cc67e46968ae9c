"""The study's tables: one row per run, per variant and per reported pair, the notebook factorial's
effects, the guard test's reference, the base beside the RL Zoo, and the Markdown that
``findings.md`` prints them as. Every number comes from ``a2c_lab.analysis``."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from a2c_lab import analysis
from a2c_lab.analysis import load_runs, probability_of_improvement, tables
from a2c_lab.analysis.run_reader import NoRunsError, RunWarning
from a2c_lab.analysis.statistics import bootstrap_ci, iqm
from a2c_lab.runs import metrics as M
from a2c_lab.study.comparisons import NB_CELLS, NB_FACTORS, Comparison, RunIndex, Variant

# Config keys written to runs.csv beside each run's figures: the study's axes.
KEYS = {
    "agent": "agent.name", "optimizer": "agent.optimizer", "lr": "agent.lr", "critic_lr": "agent.critic_lr",
    "vf_coef": "agent.vf_coef", "max_grad_norm": "agent.max_grad_norm", "network": "network.name",
    "advantage": "advantage.name", "lam": "advantage.lam", "normalize": "advantage.normalize",
    "value_target": "advantage.value_target", "num_envs": "envs.num_envs", "backend": "envs.backend",
    "bootstrap_truncated": "bootstrap_truncated", "total_steps": "total_steps", "experiment": "experiment_name",
}


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


def pair_rows(comparison: Comparison, loaded) -> list[dict]:
    finals = {v: g["final_return"].to_numpy() for v, g in loaded.included.groupby("variant")}
    aucs = {v: g["auc"].to_numpy() for v, g in loaded.included.groupby("variant")}
    rows = []
    for x, y in comparison.reported_pairs():
        if x not in finals or y not in finals:
            rows.append(dict(comparison=comparison.key, x=x, y=y, n_x=len(finals.get(x, [])),
                             n_y=len(finals.get(y, [])), probability=np.nan, low=np.nan, high=np.nan))
            continue
        p, low, high = probability_of_improvement(finals[x], finals[y])
        p_auc, low_auc, high_auc = probability_of_improvement(aucs[x], aucs[y])
        headline = comparison.headline and (comparison.headline_pairs is None or
                                            comparison.reported_pairs().index((x, y)) < comparison.headline_pairs)
        rows.append(dict(comparison=comparison.key, headline=headline, x=x, y=y,
                         n_x=len(finals[x]), n_y=len(finals[y]), iqm_x=float(iqm(finals[x])),
                         iqm_y=float(iqm(finals[y])), probability=p, low=low, high=high,
                         auc_probability=p_auc, auc_low=low_auc, auc_high=high_auc))
    return rows


def variant_rows(comparison: Comparison, result: analysis.Comparison) -> list[dict]:
    """One row per variant, in the comparison's order: its final return and AUC (IQM with a CI),
    steps to threshold, throughput and wall time from the analysis' final-performance table, and
    the median and range of its final returns. A variant without runs has 0 seeds."""
    final = result.final.set_index("variant")
    included = result.loaded.included
    rows = []
    for variant in comparison.variants:
        returns = included.loc[included["variant"] == variant.name, "final_return"].to_numpy()
        row = dict(comparison=comparison.key, variant=variant.name, seeds=len(returns), diverged=0)
        if len(returns):
            stats = final.loc[variant.name]
            row.update(diverged=int(stats["diverged"]),
                       **{k: float(stats[k]) for k in ("iqm", "iqm_low", "iqm_high", "auc", "auc_low", "auc_high",
                                                       "median_steps_to_threshold")},
                       median=float(np.median(returns)), min=float(returns.min()), max=float(returns.max()),
                       reached=int(stats["reached"]), wall_time=float(stats["wall_time"]), sps=float(stats["sps"]))
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


def variants_markdown(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    if frame.empty or "iqm" not in frame:
        return "(no runs yet)\n"
    out = pd.DataFrame({
        "variant": frame["variant"], "seeds": frame["seeds"],
        "IQM final return [95% CI]": [interval_text(r.iqm, r.iqm_low, r.iqm_high) if r.seeds else "not run"
                                      for r in frame.itertuples()],
        "median (min-max)": [f"{r.median:.1f} ({r.min:.1f}-{r.max:.1f})" if r.seeds else "" for r in frame.itertuples()],
        "IQM of AUC [95% CI]": [interval_text(r.auc, r.auc_low, r.auc_high) if r.seeds else "" for r in frame.itertuples()],
        "reached threshold": [f"{int(r.reached)}/{r.seeds}" if r.seeds else "" for r in frame.itertuples()],
        "median steps to threshold": [_steps(r.median_steps_to_threshold) if r.seeds else ""
                                      for r in frame.itertuples()],
        "diverged": frame["diverged"],
        "wall time per run (s)": [f"{r.wall_time:.0f}" if r.seeds else "" for r in frame.itertuples()],
    })
    return tables.markdown(out) + "\n"


def _steps(value: float) -> str:
    return "not by half the seeds" if not np.isfinite(value) else f"{value / 1000:.0f}k"


def pairs_markdown(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return "(none)\n"
    out = pd.DataFrame({
        "comparison": frame["comparison"], "x": frame["x"], "y": frame["y"],
        "seeds (x, y)": [f"{r.n_x}, {r.n_y}" for r in frame.itertuples()],
        "P(x > y), final return [95% CI]": [
            interval_text(r.probability, r.low, r.high, 2) if not np.isnan(r.probability) else "not run"
            for r in frame.itertuples()],
        "P(x > y), AUC [95% CI]": [
            interval_text(r.auc_probability, r.auc_low, r.auc_high, 2) if not np.isnan(r.probability) else ""
            for r in frame.itertuples()],
        "headline": ["yes" if r.get("headline") else "" for r in rows],
    })
    return tables.markdown(out) + "\n"


def notebook_effects(loaded) -> pd.DataFrame:
    """Each factor of the notebook factorial: P(cell with the notebook_shared level beats the matched
    cell with the notebook_split level), for each of the 4 settings of the other two factors.
    ``loaded``: the NOTEBOOK comparison's runs (``Comparison.loaded`` from ``write_comparison``), or None."""
    if loaded is None:
        return pd.DataFrame()
    finals = {v: g["final_return"].to_numpy() for v, g in loaded.included.groupby("variant")}
    rows = []
    for key, old, new, factor in NB_FACTORS:
        for cell in NB_CELLS:
            where = dict(cell.where)
            if where[key] != old:
                continue
            partner = next(c for c in NB_CELLS if dict(c.where) == {**where, key: new})
            if cell.name not in finals or partner.name not in finals:
                continue
            p, low, high = probability_of_improvement(finals[partner.name], finals[cell.name])
            rows.append(dict(factor=factor, change=f"{old} -> {new}", at=cell.name,
                             iqm_before=float(iqm(finals[cell.name])), iqm_after=float(iqm(finals[partner.name])),
                             probability=p, low=low, high=high,
                             seeds=f"{len(finals[cell.name])}, {len(finals[partner.name])}"))
    return pd.DataFrame(rows)


GUARD_PART, GUARD_STEPS = "cartpole/base", 100_000


def guard_reference(index: RunIndex) -> pd.DataFrame:
    """Per seed of the CartPole base: the mean return of its last 100 training episodes that ended
    by env step 100k, what the slow guard test (tests/test_study_guard.py) re-measures. The lr is
    constant and evaluation draws no training random numbers, so this is what a 100k run gives."""
    rows = []
    for run_dir in index.select(Variant("base", GUARD_PART)):
        episodes = pd.read_csv(run_dir / M.EPISODES_FILE)
        episodes = episodes[episodes[M.ENV_STEP] <= GUARD_STEPS]
        rows.append(dict(seed=index.configs[run_dir][1]["seed"],
                         return_at_100k=float(episodes[M.EPISODE_RETURN].tail(100).mean())))
    return pd.DataFrame(rows).sort_values("seed")


# The RL Zoo's A2C benchmark table: one trained agent each, evaluated greedily (mean +- std over
# its evaluation episodes); Acrobot with normalised observations; LunarLander-v2, not v3.
ZOO = {"cartpole": ("CartPole-v1", "500.0 +- 0.0", "500k"), "acrobot": ("Acrobot-v1", "-83.4 +- 17.2", "500k"),
       "lunarlander": ("LunarLander-v2 (Zoo) / v3 (ours)", "155.8 +- 80.4", "200k")}


def zoo_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The base config per task beside the RL Zoo's number: ours is many seeds, theirs one agent."""
    rows = []
    for task, (zoo_env, zoo_result, zoo_steps) in ZOO.items():
        base = runs[(runs["part"] == f"{task}/base") & runs["status"].isin(["finished", "diverged"])]
        if base.empty:
            rows.append({"task": zoo_env, "RL Zoo A2C (1 agent, greedy)": f"{zoo_result} at {zoo_steps}",
                         "a2c-lab base: seeds, budget": "not run"})
            continue
        greedy, final = base["final_eval_return"].to_numpy(), base["final_return"].to_numpy()
        g_low, g_high = bootstrap_ci(greedy, iqm)
        f_low, f_high = bootstrap_ci(final, iqm)
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
