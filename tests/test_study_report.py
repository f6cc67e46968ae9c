"""The study's report (a2c_lab.study.report) on synthetic run folders with known returns:
which runs form each comparison, the reference's side of every probability, and what is not run;
and on a synthetic committed results tree without run folders (part 1's case): its rows recomputed
from the committed per-run tables, the rest kept as committed, beside run folders of another
comparison; every printed interval at the study's number of resamples."""

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthetic_runs as synthetic
from a2c_lab.analysis import comparison as analysis_comparison
from a2c_lab.analysis.statistics import N_BOOT, bootstrap_ci, iqm, probability_of_improvement
from a2c_lab.study import report as study_report
from a2c_lab.study import tables as study_tables
from a2c_lab.study.comparisons import COMPARISONS, NB_CELLS
from a2c_lab.study.tables import STUDY_N_BOOT

BASE = [100.0, 200.0, 300.0, 400.0, 500.0]
TD = [150.0, 250.0, 350.0, 450.0, 600.0]  # P(TD > base) = 15/25 by hand


def write_part(root: Path, part: str, values, overrides: dict, first_job: int = 0) -> None:
    for i, value in enumerate(values):
        synthetic.write_run(root / part / str(first_job + i), np.full(50, value),
                            {"task.id": "CartPole-v1", "seed": i, "total_steps": 4000, **overrides})


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The report written once for the module's tests, which only read it."""
    tmp_path = tmp_path_factory.mktemp("study")
    root = tmp_path / "runs" / "study"
    write_part(root, "cartpole/base", BASE, {"agent.max_grad_norm": None})  # the study's base did not clip
    write_part(root, "cartpole/estimator_td", TD, {"advantage.name": "td", "advantage.lam": 0.0,
                                                    "agent.max_grad_norm": None})
    write_part(root, "cartpole/clip", BASE, {"agent.max_grad_norm": 0.5})
    write_part(root, "cartpole/clip", TD, {"agent.name": "split", "agent.max_grad_norm": 0.5}, first_job=5)
    write_part(root, "cartpole/critic_lr", TD, {"agent.name": "split", "agent.critic_lr": 1.4e-3,
                                                 "agent.max_grad_norm": None})
    out = tmp_path / "results" / "study"
    assert study_report.write_report(root, out, n_boot=500) == 0  # the point estimates do not resample
    return out


def test_probabilities_against_hand_counts(study):
    pairs = pd.read_csv(study / "pairs.csv").set_index(["comparison", "x"])
    assert pairs.loc[("cartpole/estimator", "TD(0)"), "probability"] == pytest.approx(15 / 25)
    assert pairs.loc[("cartpole/estimator", "TD(0)"), "y"].startswith("base")
    assert pairs.loc[("cartpole/coupling_clip", "split, clip 0.5"), "probability"] == pytest.approx(15 / 25)
    assert pairs.loc[("cartpole/coupling_clip", "shared, clip 0.5"), "probability"] == pytest.approx(0.5)  # same returns
    assert pairs.loc[("cartpole/coupling_critic_lr", "split, critic lr 1.4e-3"), "probability"] == pytest.approx(0.6)
    assert np.isnan(pairs.loc[("cartpole/coupling_critic_lr", "split, critic lr 3.5e-4"), "probability"])


def test_variants_runs_and_what_is_not_run(study):
    variants = pd.read_csv(study / "variants.csv").set_index(["comparison", "variant"])
    assert variants.loc[("cartpole/estimator", "TD(0)"), "iqm"] == pytest.approx(350.0)  # trims 150 and 600
    assert variants.loc[("cartpole/estimator", "n-step"), "seeds"] == 0
    runs = pd.read_csv(study / "runs.csv")
    assert len(runs) == 25 and set(runs["part"]) == {"cartpole/base", "cartpole/estimator_td", "cartpole/clip",
                                                    "cartpole/critic_lr"}
    findings = (study / "findings.md").read_text()
    assert "## Not run" in findings and "notebook/factorial" in findings.split("## Not run")[1]
    assert (study / "cartpole" / "estimator" / "learning_curves_env_steps.png").is_file()
    assert (study / "guard_reference.csv").is_file()


# ------------------------------------------------------------------ a committed results tree

ESTIMATOR = next(c for c in COMPARISONS if c.key == "cartpole/estimator")
BASE_NAME, TD_NAME = ESTIMATOR.variants[0].name, ESTIMATOR.variants[1].name
TD_AUC, BASE_AUC = [0.0, 0.0, 0.0, 0.0, 10.0], [1.0, 2.0, 3.0, 4.0, 5.0]  # P(TD > base) on AUC = 5/25
BEFORE, AFTER = [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]  # P(after > before) = (1 + .5 + 2 + .5 + 3) / 9 = 7/9
# Top-level runs.csv as committed: its text must come back character for character.
COMMITTED_RUNS = ("part,run_dir,task,seed,status,included,env_steps,final_return,final_eval_return,lr,critic_lr,"
                  "total_steps,experiment\n" + "".join(
                      f"cartpole/base,runs/study/cartpole/base/{i},CartPole-v1,{i},finished,True,500012,{v},"
                      f"{v + 1},0.0007,,500000,default\n" for i, v in enumerate(BASE)))
COMMITTED_COMPUTE = "part,seconds\ncartpole/base,725.0\ncartpole/estimator_td,350.0\n"


def per_run_csv(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["variant", "seed", "status", "included", "final_return", "auc"])


def write_committed(out: Path) -> None:
    """A results/study/ as a report left it: one comparison's folder (its per-run table and a figure),
    the notebook's, the top-level tables, and variants.csv with stale intervals."""
    (out / "cartpole" / "estimator").mkdir(parents=True)
    runs = [(BASE_NAME, i, "finished", True, v, a) for i, (v, a) in enumerate(zip(BASE, BASE_AUC))]
    runs += [(TD_NAME, i, "finished", True, v, a) for i, (v, a) in enumerate(zip(TD, TD_AUC))]
    runs += [(TD_NAME, 9, "diverged", False, 1e9, 1e9)]  # left out: must stay out
    per_run_csv(runs).to_csv(out / "cartpole" / "estimator" / "runs.csv", index=False)
    (out / "cartpole" / "estimator" / "final_performance.png").write_bytes(b"committed figure")
    (out / "notebook" / "factorial").mkdir(parents=True)
    per_run_csv([(NB_CELLS[0].name, i, "finished", True, v, v) for i, v in enumerate(BEFORE)] +
                [(NB_CELLS[4].name, i, "finished", True, v, v) for i, v in enumerate(AFTER)]).to_csv(
        out / "notebook" / "factorial" / "runs.csv", index=False)
    stale = dict(iqm=-1.0, iqm_low=-999.0, iqm_high=-999.0, auc=-1.0, auc_low=-999.0, auc_high=-999.0)
    pd.DataFrame([
        dict(comparison=ESTIMATOR.key, variant=BASE_NAME, seeds=5, diverged=0, **stale, median_steps_to_threshold=2e5,
             reached=5, wall_time=350.0, sps=1400.0),
        dict(comparison=ESTIMATOR.key, variant=TD_NAME, seeds=5, diverged=1, **stale,
             median_steps_to_threshold=np.inf, reached=3, wall_time=360.0, sps=1390.0),
    ]).to_csv(out / "variants.csv", index=False)
    (out / "runs.csv").write_text(COMMITTED_RUNS)
    (out / "compute.csv").write_text(COMMITTED_COMPUTE)
    (out / "guard_reference.csv").write_text("seed,return_at_100k\n0,290.29\n")


@pytest.fixture(scope="module")
def committed_only(tmp_path_factory):
    """The report from a committed tree alone (no run folders), at the study's resamples."""
    out = tmp_path_factory.mktemp("committed") / "results" / "study"
    write_committed(out)
    assert study_report.write_report(out.parent.parent / "runs" / "study", out) == 0
    return out


class Spy:
    """Records the number of resamples of every bootstrap the report asks for."""

    def __init__(self, monkeypatch):
        self.calls = []
        for module in (study_tables, analysis_comparison):
            monkeypatch.setattr(module, "bootstrap_ci", self.wrap(bootstrap_ci, "ci"))
            monkeypatch.setattr(module, "probability_of_improvement", self.wrap(probability_of_improvement, "p"))

    def wrap(self, function, kind):
        def spied(x, *args, **kwargs):
            n_boot = inspect.signature(function).bind(x, *args, **kwargs).arguments.get("n_boot", N_BOOT)
            self.calls.append((kind, np.ndim(x), n_boot))
            return function(x, *args, **kwargs)
        return spied


@pytest.fixture(scope="module")
def beside_new_runs(tmp_path_factory):
    """The same committed tree beside run folders of another comparison (LunarLander's), with a
    driver log; every bootstrap recorded."""
    tmp_path = tmp_path_factory.mktemp("beside")
    out, root = tmp_path / "results" / "study", tmp_path / "runs" / "study"
    write_committed(out)
    task = {"task.id": "LunarLander-v3", "agent.max_grad_norm": None}
    write_part(root, "lunarlander/base", BASE, task)
    write_part(root, "lunarlander/clip", BASE, {**task, "agent.name": "shared", "agent.max_grad_norm": 0.5})
    write_part(root, "lunarlander/clip", TD, {**task, "agent.name": "split", "agent.max_grad_norm": 0.5}, first_job=5)
    (root / "driver.log").write_text("lunarlander/base: exit 0 after 30 s\nlunarlander/clip: exit 0 after 60 s\n")
    with pytest.MonkeyPatch.context() as monkeypatch:
        spy = Spy(monkeypatch)
        assert study_report.write_report(root, out) == 0
    return out, spy.calls


def test_committed_rows_are_recomputed_at_the_study_resamples(committed_only):
    pairs = pd.read_csv(committed_only / "pairs.csv").set_index(["comparison", "x"])
    td = pairs.loc[(ESTIMATOR.key, TD_NAME)]
    assert (td["probability"], td["auc_probability"]) == (pytest.approx(15 / 25), pytest.approx(5 / 25))
    assert (td["low"], td["high"]) == probability_of_improvement(TD, BASE, STUDY_N_BOOT)[1:]
    assert (td["auc_low"], td["auc_high"]) == probability_of_improvement(TD_AUC, BASE_AUC, STUDY_N_BOOT)[1:]
    assert np.isnan(pairs.loc[(ESTIMATOR.key, "n-step"), "probability"])
    variants = pd.read_csv(committed_only / "variants.csv").set_index(["comparison", "variant"])
    row = variants.loc[(ESTIMATOR.key, TD_NAME)]
    assert row["iqm"] == pytest.approx(350.0) and row["seeds"] == 5  # trims 150 and 600; the diverged run left out
    assert (row["iqm_low"], row["iqm_high"]) == tuple(bootstrap_ci(TD, iqm, STUDY_N_BOOT))
    assert (row["median"], row["min"], row["max"]) == (350.0, 150.0, 600.0)
    # the columns no resample touches are the committed ones
    assert (row["diverged"], row["reached"], row["wall_time"], row["sps"]) == (1, 3, 360.0, 1390.0)
    assert np.isinf(row["median_steps_to_threshold"])
    effects = pd.read_csv(committed_only / "notebook_effects.csv")
    assert len(effects) == 1 and effects.loc[0, "probability"] == pytest.approx(7 / 9)
    assert (effects.loc[0, "low"], effects.loc[0, "high"]) == probability_of_improvement(AFTER, BEFORE, STUDY_N_BOOT)[1:]


def test_committed_tables_and_folders_are_kept(committed_only):
    assert (committed_only / "runs.csv").read_text() == COMMITTED_RUNS
    assert (committed_only / "compute.csv").read_text() == COMMITTED_COMPUTE
    assert (committed_only / "guard_reference.csv").read_text() == "seed,return_at_100k\n0,290.29\n"
    assert (committed_only / "cartpole" / "estimator" / "final_performance.png").read_bytes() == b"committed figure"
    findings = (committed_only / "findings.md").read_text()
    assert f"{STUDY_N_BOOT:,} resamples each" in findings
    assert "| CartPole-v1 | 500.0 +- 0.0 at 500k | 5, 500k |" in findings  # the Zoo table from committed runs.csv
    assert "Folder: [`cartpole/estimator/`]" in findings and "0.60 [" in findings
    assert "- lunarlander/coupling_clip:" in findings.split("## Not run")[1]


def test_new_runs_leave_the_committed_rows_as_they_were(committed_only, beside_new_runs):
    out, _ = beside_new_runs
    for name, keys in (("pairs.csv", ["comparison", "x"]), ("variants.csv", ["comparison", "variant"])):
        alone, beside = (pd.read_csv(o / name).set_index(keys) for o in (committed_only, out))
        kept = alone.index.get_level_values(0) != "lunarlander/coupling_clip"
        pd.testing.assert_frame_equal(beside.loc[alone.index[kept], alone.columns], alone[kept])
    pd.testing.assert_frame_equal(pd.read_csv(out / "notebook_effects.csv"),
                                  pd.read_csv(committed_only / "notebook_effects.csv"))
    pairs = pd.read_csv(out / "pairs.csv").set_index(["comparison", "x"])
    assert pairs.loc[("lunarlander/coupling_clip", "split, clip 0.5"), "probability"] == pytest.approx(15 / 25)
    runs = pd.read_csv(out / "runs.csv", dtype=str, keep_default_na=False)
    committed = pd.read_csv(pd.io.common.StringIO(COMMITTED_RUNS), dtype=str, keep_default_na=False)
    assert list(runs.columns[:len(committed.columns)]) == list(committed.columns)  # new columns after
    assert {"agent", "obs_norm"} <= set(runs.columns)
    pd.testing.assert_frame_equal(runs[runs["part"] == "cartpole/base"][committed.columns].reset_index(drop=True),
                                  committed)
    assert (runs["part"] == "lunarlander/clip").sum() == 10 and list(runs["part"]) == sorted(runs["part"])
    compute = pd.read_csv(out / "compute.csv")
    assert dict(zip(compute["part"], compute["seconds"])) == {
        "cartpole/base": 725.0, "cartpole/estimator_td": 350.0, "lunarlander/base": 30.0, "lunarlander/clip": 60.0}
    assert (out / "guard_reference.csv").read_text() == "seed,return_at_100k\n0,290.29\n"  # no CartPole base here
    assert (out / "cartpole" / "estimator" / "final_performance.png").read_bytes() == b"committed figure"
    assert (out / "lunarlander" / "coupling_clip" / "learning_curves_env_steps.png").is_file()


def test_every_interval_takes_the_study_resamples(beside_new_runs):
    """Tables (one run per value: 1-D) at STUDY_N_BOOT, committed and new alike; only the learning
    curves' bands (a seeds x points matrix: 2-D) at the analysis' N_BOOT."""
    _, calls = beside_new_runs
    assert STUDY_N_BOOT > N_BOOT
    assert {n for _, ndim, n in calls if ndim == 1} == {STUDY_N_BOOT}
    assert {n for _, ndim, n in calls if ndim == 2} == {N_BOOT}
    assert sum(kind == "p" for kind, _, _ in calls) >= 6  # committed and new pairs, on final return and AUC


def test_intervals_against_bootstrap_distributions_by_hand():
    """Tiny inputs whose bootstrap distribution is known: the IQM of 2 runs (nothing trimmed) of
    {0, 10} is 0, 5 or 10 with probability 1/4, 1/2, 1/4, so its 95% interval is [0, 10]; likewise
    P([0, 1] > [0.5, 0.5]) is 0, 1/2 or 1, so [0, 1]."""
    comparison = ESTIMATOR
    finals = {BASE_NAME: np.array([0.5, 0.5]), TD_NAME: np.array([0.0, 1.0])}
    rows = study_tables.pair_rows(comparison, finals, finals)
    td = next(r for r in rows if r["x"] == TD_NAME)
    assert (td["probability"], td["low"], td["high"]) == (0.5, 0.0, 1.0)
    variant = study_tables.variant_rows(comparison, {TD_NAME: np.array([0.0, 10.0])},
                                        {TD_NAME: np.array([0.0, 10.0])}, {})[1]
    assert (variant["iqm"], variant["iqm_low"], variant["iqm_high"]) == (5.0, 0.0, 10.0)
    assert np.isnan(variant["wall_time"])  # nothing committed or measured for it
