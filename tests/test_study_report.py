"""The study's report (a2c_lab.study.report) on synthetic run folders with known returns:
which runs form each comparison, the reference's side of every probability, and what is not run."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthetic_runs as synthetic
from a2c_lab.study import report as study_report

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
    assert study_report.write_report(root, out) == 0
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
