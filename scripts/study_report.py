"""results/study/ from runs/study/: ``runs.csv`` (one row per run), one folder per comparison
(its tables and figures), ``findings.md`` (every comparison against its reference, with
intervals) and the overview figures. Called by ``python scripts/study.py report``.

Every number comes from the run folders through ``a2c_lab.analysis`` (the reader, the
statistics, the figures of ``scripts/compare.py``); this module only says which runs form each
comparison and which variant is its reference. A comparison whose runs are not all there is
reported with the seeds it has and says so; one with no runs is listed as not run.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from a2c_lab.analysis import compare, load_runs, probability_of_improvement, report, tables
from a2c_lab.analysis.run_reader import NoRunsError, RunWarning, find_run_dirs, read_config
from a2c_lab.analysis.statistics import bootstrap_ci, iqm
from a2c_lab.runs import metrics as M

FORMATS = ("png",)
# Config keys written to runs.csv beside each run's figures: the study's axes.
KEYS = {
    "agent": "agent.name", "optimizer": "agent.optimizer", "lr": "agent.lr", "critic_lr": "agent.critic_lr",
    "vf_coef": "agent.vf_coef", "max_grad_norm": "agent.max_grad_norm", "network": "network.name",
    "advantage": "advantage.name", "lam": "advantage.lam", "normalize": "advantage.normalize",
    "value_target": "advantage.value_target", "num_envs": "envs.num_envs", "backend": "envs.backend",
    "bootstrap_truncated": "bootstrap_truncated", "total_steps": "total_steps", "experiment": "experiment_name",
}


@dataclass(frozen=True)
class Variant:
    """The runs of ``part`` whose config matches ``where`` (flattened keys), named ``name``."""

    name: str
    part: str
    where: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Comparison:
    key: str  # folder under results/study/
    title: str
    variants: tuple[Variant, ...]  # the first is the reference
    headline: bool = False
    pairs: tuple[tuple[str, str], ...] = ()  # (x, y) reported as P(x > y); default: each variant vs the first
    grouped: bool = True
    headline_pairs: int | None = None  # how many of the reported pairs, from the first, are headline; None = all

    def reported_pairs(self) -> list[tuple[str, str]]:
        ref = self.variants[0].name
        return list(self.pairs) or [(v.name, ref) for v in self.variants[1:]]


def _task_comparisons(task: str, title: str) -> list[Comparison]:
    base = Variant("base (shared, GAE 0.95, Adam, no clip)", f"{task}/base")
    clip_shared = Variant("shared, clip 0.5", f"{task}/clip", (("agent.name", "shared"),))
    clip_split = Variant("split, clip 0.5", f"{task}/clip", (("agent.name", "split"),))
    return [
        Comparison(f"{task}/coupling_clip", f"{title}: optimizer coupling under gradient clipping (H2)",
                   (clip_shared, clip_split, base), headline=True,
                   pairs=((clip_split.name, clip_shared.name), (clip_shared.name, base.name))),
        Comparison(f"{task}/estimator", f"{title}: advantage estimator (H3: GAE vs TD)",
                   (base, Variant("TD(0)", f"{task}/estimator_td"), Variant("n-step", f"{task}/estimator_nstep")),
                   headline=True, headline_pairs=1),
        Comparison(f"{task}/coupling_critic_lr", f"{title}: a critic learning rate of its own (split only)",
                   (base, Variant("split, critic lr 3.5e-4", f"{task}/critic_lr", (("agent.critic_lr", 3.5e-4),)),
                    Variant("split, critic lr 1.4e-3", f"{task}/critic_lr", (("agent.critic_lr", 1.4e-3),)))),
        Comparison(f"{task}/network", f"{title}: separate towers vs a shared trunk",
                   (base, Variant("shared trunk tanh 64-64", f"{task}/trunk"))),
        Comparison(f"{task}/normalize", f"{title}: advantage normalisation",
                   (base, Variant("no advantage normalisation", f"{task}/normalize"))),
        Comparison(f"{task}/value_target", f"{title}: the critic's target",
                   (base, Variant("critic target = GAE returns", f"{task}/value_target"))),
        Comparison(f"{task}/optimizer", f"{title}: Adam vs RMSprop",
                   (base, Variant("RMSprop (eps 1e-5)", f"{task}/optimizer"))),
        Comparison(f"{task}/bootstrap", f"{title}: bootstrapping truncated episodes",
                   (base, Variant("no truncation bootstrap", f"{task}/bootstrap"))),
    ]


NB_FACTORS = (("agent.lr", 5e-4, 7e-4, "actor lr"), ("network.name", "notebook_split", "towers_tanh64", "network"),
              ("advantage.name", "td", "gae", "estimator"))


def _cell(lr: float, network: str, advantage: str) -> Variant:
    name = f"lr {lr:g}, {'ReLU 128/64' if network == 'notebook_split' else 'tanh 64 towers'}, {advantage.upper()}"
    where = (("agent.lr", lr), ("network.name", network), ("advantage.name", advantage))
    return Variant(name, "notebook/", where)  # a prefix: the factorial and the corners' extra seeds


NB_CELLS = [_cell(lr, net, adv) for lr in (5e-4, 7e-4) for net in ("notebook_split", "towers_tanh64")
            for adv in ("td", "gae")]
NOTEBOOK = Comparison(
    "notebook/factorial", "CartPole-v1, the notebook taken apart: notebook_split (first) to notebook_shared (last)",
    tuple(NB_CELLS), headline=True, pairs=((NB_CELLS[-1].name, NB_CELLS[0].name),))

ENVS = Comparison("cartpole/envs", "CartPole-v1: 1 vs 8 vs 64 envs at equal env steps (one process per seed)",
                  tuple(Variant(f"{n} env{'s' if n > 1 else ''}", "cartpole/envs", (("envs.num_envs", n),))
                        for n in (8, 1, 64)), grouped=False)
GROUPING_CHECK = Comparison(
    "cartpole/grouping_check", "CartPole-v1: the base trained as one batched group vs one process per seed",
    (Variant("base, grouped", "cartpole/base", (("seed", list(range(10))),)),
     Variant("base, one process per seed", "cartpole/envs", (("envs.num_envs", 8),))))

COMPARISONS: list[Comparison] = [
    NOTEBOOK, *_task_comparisons("cartpole", "CartPole-v1"), ENVS, GROUPING_CHECK,
    *_task_comparisons("acrobot", "Acrobot-v1"),
    Comparison("lunarlander/coupling_clip", "LunarLander-v3: optimizer coupling under gradient clipping",
               (Variant("shared, clip 0.5", "lunarlander/clip", (("agent.name", "shared"),)),
                Variant("split, clip 0.5", "lunarlander/clip", (("agent.name", "split"),)),
                Variant("base (shared, GAE 0.95, Adam, no clip)", "lunarlander/base")),
               pairs=(("split, clip 0.5", "shared, clip 0.5"), ("shared, clip 0.5", "base (shared, GAE 0.95, Adam, no clip)"))),
]


def _matches(config: dict, where) -> bool:
    for key, value in where:
        have = config.get(key)
        if isinstance(value, list):
            if have not in value:
                return False
        elif isinstance(value, float):
            if have is None or not np.isclose(float(have), value, rtol=1e-9):
                return False
        elif have != value:
            return False
    return True


@dataclass
class RunIndex:
    """Every run folder under runs/study/, with its part and flattened config."""

    root: Path
    configs: dict = field(default_factory=dict)  # run_dir -> (part, config)

    def __post_init__(self):
        for run_dir in find_run_dirs([self.root]) if self.root.is_dir() else []:
            part = str(run_dir.parent.relative_to(self.root))
            try:
                self.configs[run_dir] = (part, read_config(run_dir))
            except Exception as error:  # noqa: BLE001 (the reader reports it again when loading)
                warnings.warn(f"{run_dir}: unreadable config: {error}", RunWarning, stacklevel=2)

    def select(self, variant: Variant) -> list[Path]:
        return sorted(d for d, (part, config) in self.configs.items()
                      if (part == variant.part or (variant.part.endswith("/") and part.startswith(variant.part)))
                      and _matches(config, variant.where))


def _auc(run_dir: Path) -> float:
    """summary/auc of the run (average height of its last-20 learning curve over env steps)."""
    try:
        return float(json.loads((run_dir / M.SUMMARY_FILE).read_text())["summary/auc"])
    except (OSError, ValueError, KeyError, TypeError):
        return float("nan")


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
    loaded.runs["auc"] = [_auc(Path(d)) for d in loaded.runs["run_dir"]]
    loaded.tidy["variant"] = loaded.tidy["run_id"].astype(str).map(by_run_id).astype("category")
    included = loaded.included
    loaded.diverged = included[included["status"] == "diverged"].groupby(["panel", "variant"]).size().to_dict()
    return loaded


def _interval(point, low, high, digits=1) -> str:
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


def variant_rows(comparison: Comparison, loaded) -> list[dict]:
    included = loaded.included
    rows = []
    for variant in comparison.variants:
        group = included[included["variant"] == variant.name]
        final = group["final_return"].to_numpy()
        row = dict(comparison=comparison.key, variant=variant.name, seeds=len(group),
                   diverged=int((group["status"] == "diverged").sum()))
        if len(final):
            low, high = bootstrap_ci(final, iqm)
            steps = group["steps_to_threshold"].to_numpy()
            auc = group["auc"].to_numpy()
            auc_low, auc_high = bootstrap_ci(auc, iqm)
            median_steps = float(np.median(np.where(np.isfinite(steps), steps, np.inf)))
            row.update(iqm=float(iqm(final)), iqm_low=float(low), iqm_high=float(high),
                       auc=float(iqm(auc)), auc_low=float(auc_low), auc_high=float(auc_high),
                       median_steps_to_threshold=median_steps,
                       median=float(np.median(final)), min=float(final.min()), max=float(final.max()),
                       reached=int(np.isfinite(steps).sum()), wall_time=float(group["wall_time"].mean()),
                       sps=float(group["sps"].mean()))
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


def write_comparison(index: RunIndex, comparison: Comparison, out: Path):
    loaded = load_comparison(index, comparison)
    folder = out / comparison.key
    if loaded is None:
        return None, [], []
    result = compare(loaded)
    folder.mkdir(parents=True, exist_ok=True)
    report.write_tables(result, folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RunWarning)
        import matplotlib  # noqa: PLC0415
        import seaborn as sns  # noqa: PLC0415
        with matplotlib.rc_context():
            sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
            report.plot_learning_curves(result, folder, M.ENV_STEP, "iqm", FORMATS)
            if not comparison.grouped:
                report.plot_learning_curves(result, folder, M.WALL_TIME, "iqm", FORMATS)
            report.plot_final_performance(result, folder, FORMATS)
    return result, variant_rows(comparison, loaded), pair_rows(comparison, loaded)


def _variants_markdown(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    if frame.empty or "iqm" not in frame:
        return "(no runs yet)\n"
    out = pd.DataFrame({
        "variant": frame["variant"], "seeds": frame["seeds"],
        "IQM final return [95% CI]": [_interval(r.iqm, r.iqm_low, r.iqm_high) if r.seeds else "not run"
                                      for r in frame.itertuples()],
        "median (min-max)": [f"{r.median:.1f} ({r.min:.1f}-{r.max:.1f})" if r.seeds else "" for r in frame.itertuples()],
        "IQM of AUC [95% CI]": [_interval(r.auc, r.auc_low, r.auc_high) if r.seeds else "" for r in frame.itertuples()],
        "reached threshold": [f"{int(r.reached)}/{r.seeds}" if r.seeds else "" for r in frame.itertuples()],
        "median steps to threshold": [_steps(r.median_steps_to_threshold) if r.seeds else ""
                                      for r in frame.itertuples()],
        "diverged": frame["diverged"],
        "wall time per run (s)": [f"{r.wall_time:.0f}" if r.seeds else "" for r in frame.itertuples()],
    })
    return tables.markdown(out) + "\n"


def _steps(value: float) -> str:
    return "not by half the seeds" if not np.isfinite(value) else f"{value / 1000:.0f}k"


def _pairs_markdown(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return "(none)\n"
    out = pd.DataFrame({
        "comparison": frame["comparison"], "x": frame["x"], "y": frame["y"],
        "seeds (x, y)": [f"{r.n_x}, {r.n_y}" for r in frame.itertuples()],
        "P(x > y), final return [95% CI]": [
            _interval(r.probability, r.low, r.high, 2) if not np.isnan(r.probability) else "not run"
            for r in frame.itertuples()],
        "P(x > y), AUC [95% CI]": [
            _interval(r.auc_probability, r.auc_low, r.auc_high, 2) if not np.isnan(r.probability) else ""
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
       "lunarlander": ("LunarLander-v2", "155.8 +- 80.4", "200k")}


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
                     "greedy eval (10 episodes) per seed: IQM [95% CI]": _interval(iqm(greedy), g_low, g_high),
                     "greedy eval: median (min-max)": f"{np.median(greedy):.1f} ({greedy.min():.1f}-{greedy.max():.1f})",
                     "training last-100 mean: IQM [95% CI]": _interval(iqm(final), f_low, f_high)})
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


def write_report(runs_root: Path, out: Path) -> int:
    warnings.simplefilter("ignore", RunWarning)
    index = RunIndex(runs_root)
    if not index.configs:
        print(f"no study runs under {runs_root}: run `python scripts/study.py run` first")
        return 2
    out.mkdir(parents=True, exist_ok=True)
    runs = runs_table(index)
    runs.to_csv(out / "runs.csv", index=False)
    all_variants, all_pairs, missing, notebook = [], [], [], None
    for comparison in COMPARISONS:
        result, variants, pairs = write_comparison(index, comparison, out)
        if comparison is NOTEBOOK and result is not None:
            notebook = result.loaded  # the factorial's effects reuse these runs rather than reading them again
        if not variants:
            missing.append(comparison)
            continue
        all_variants += variants
        all_pairs += pairs
    pairs = pd.DataFrame(all_pairs)
    pd.DataFrame(all_variants).to_csv(out / "variants.csv", index=False)
    pairs.to_csv(out / "pairs.csv", index=False)
    effects = notebook_effects(notebook)
    effects.to_csv(out / "notebook_effects.csv", index=False)
    plot_overview(pairs, out)
    plot_notebook([r for r in all_variants if r["comparison"] == NOTEBOOK.key], out)

    guard = guard_reference(index)
    if len(guard):
        guard.to_csv(out / "guard_reference.csv", index=False)
    seconds = part_seconds(runs_root)
    pd.DataFrame(sorted(seconds.items()), columns=["part", "seconds"]).to_csv(out / "compute.csv", index=False)
    finished = runs[runs["status"].isin(["finished", "diverged"])] if not runs.empty else runs
    lines = ["# Study findings (generated by `python scripts/study.py report`; the narrative is in the "
             "project README)\n",
             f"{len(finished)} runs, {finished['env_steps'].sum() / 1e6:.1f}M env steps, "
             f"{sum(seconds.values()) / 3600:.2f} core-hours of training ({len(seconds)} parts, one core "
             "each, `compute.csv`). "
             f"{int(pairs['probability'].notna().sum()) if len(pairs) else 0} comparisons reported with runs "
             f"on both sides ({len(pairs)} planned). Final return: each run's mean over its last 100 "
             "training episodes. IQM across seeds, 95% percentile-bootstrap CI; P(x > y): probability "
             "that a run of x beats a run of y, 95% stratified-bootstrap CI.\n",
             "## The base config beside the RL Zoo\n", tables.markdown(zoo_table(runs)) + "\n" if not runs.empty else "",
             "\n## All reported comparisons\n", _pairs_markdown(all_pairs),
             "![overview](overview_probability_of_improvement.png)\n"]
    if not effects.empty:
        frame = effects.assign(**{
            "P(after > before) [95% CI]": [_interval(r.probability, r.low, r.high, 2) for r in effects.itertuples()],
            "IQM before -> after": [f"{r.iqm_before:.1f} -> {r.iqm_after:.1f}" for r in effects.itertuples()]})
        lines += ["## The notebook taken apart: each change at each setting of the other two\n",
                  tables.markdown(frame.rename(columns={"seeds": "seeds (before, after)"})[
                      ["factor", "change", "at", "seeds (before, after)", "IQM before -> after",
                                         "P(after > before) [95% CI]"]]) + "\n",
                  "![notebook factorial](notebook_factorial.png)\n"]
    for comparison in COMPARISONS:
        rows = [r for r in all_variants if r["comparison"] == comparison.key]
        lines += [f"## {comparison.title}\n", f"Folder: [`{comparison.key}/`]({comparison.key}/)\n" if rows else "",
                  _variants_markdown(rows) if rows else "Not run.\n"]
    if missing:
        lines += ["## Not run\n", *[f"- {c.key}: {c.title}\n" for c in missing]]
    (out / "findings.md").write_text("\n".join(lines))
    print(f"study report: {len(finished)} runs, {len(COMPARISONS) - len(missing)} of {len(COMPARISONS)} "
          f"comparisons, written to {out}")
    return 0
