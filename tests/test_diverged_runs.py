"""Diverged runs count as results (issue 9, item 2), and the survivors-only view says what it
leaves out; every number is computed by hand from the runs below.

Floats are compared with pytest.approx (rel 1e-6 by default): hand values vs the code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from a2c_lab import analysis as R
from a2c_lab.analysis import report
from a2c_lab.runs import metrics as M
import synthetic_runs as synthetic

# shared: three finished seeds at 150, 250, 450, and two that diverged at env step 2000 (their
# files end at update 50 of 100): seed 3 had 80 episodes of 450 then 20 of 50 (last-100 mean
# 370, last-20 mean 50), seed 4 only episodes of 10. split: five finished seeds, 100..500.
SHARED_FINISHED = [150.0, 250.0, 450.0]
DIVERGED = {3: [450.0] * 80 + [50.0] * 20, 4: [10.0] * 100}
SPLIT = [100.0, 200.0, 300.0, 400.0, 500.0]


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    sweep = tmp_path / "sweep"
    common = {"total_steps": 4000, "task.threshold": 275.0}
    for seed, value in enumerate(SPLIT):
        synthetic.write_run(sweep / f"split{seed}", np.full(200, value), {**common, "agent.name": "split", "seed": seed})
    for seed, value in enumerate(SHARED_FINISHED):
        synthetic.write_run(sweep / f"shared{seed}", np.full(200, value), {**common, "seed": seed})
    for seed, returns in DIVERGED.items():  # one episode every 20 env steps up to step 2000
        synthetic.write_run(sweep / f"shared{seed}", returns, {**common, "seed": seed}, status="diverged",
                            stopped_at=2000)
    return sweep


def test_diverged_runs_stay_in_their_variants_statistics(sweep):
    loaded = R.load_runs([sweep])
    runs = loaded.runs.set_index("run_id")
    assert runs.loc["sweep/shared3", "included"] and runs.loc["sweep/shared3", "status"] == "diverged"
    assert runs.loc["sweep/shared3", "final_return"] == pytest.approx(370.0)  # (80 * 450 + 20 * 50) / 100
    assert runs.loc["sweep/shared3", "last20_return"] == pytest.approx(50.0)
    assert runs.loc["sweep/shared3", "env_steps"] == 2000
    assert runs.loc["sweep/shared3", "reason"] == ("status 'diverged': non-finite gradient norm at update 51 "
                                                   "(env step 2040)")
    final = R.final_performance(loaded, n_boot=200).set_index("variant")
    # finals 10, 150, 250, 370, 450: the IQM trims one per side -> (150 + 250 + 370) / 3
    assert final.loc["shared", "seeds"] == 5 and final.loc["shared", "diverged"] == 2
    assert final.loc["shared", "iqm"] == pytest.approx(770 / 3)
    assert final.loc["shared", "mean"] == pytest.approx(1230 / 5)
    assert final.loc["shared", "reached"] == 2  # 450 and the diverged 370 (its first episode, 450, reached 275)
    assert final.loc["split", "diverged"] == 0 and not final["survivors_only"].any()


def test_a_diverged_runs_curve_holds_its_last_value(sweep):
    curves = R.learning_curves(R.load_runs([sweep]), points=11, n_boot=100)
    shared = curves[curves["variant"] == "shared"].set_index(M.ENV_STEP)
    # At 4000 steps the last-20 means are 150, 250, 450 and the diverged runs' last: 50 and 10.
    assert shared.loc[4000.0, "seeds"] == 5
    assert shared.loc[4000.0, "mean"] == pytest.approx((150 + 250 + 450 + 50 + 10) / 5)
    assert shared.index.max() == 4000.0  # the curve is not cut where the runs diverged


def test_survivors_only_leaves_diverged_runs_out_and_says_so(sweep):
    with pytest.warns(R.RunWarning, match="survivors only: 2 diverged run"):
        loaded = R.load_runs([sweep], survivors_only=True)
    assert loaded.survivors_note == "survivors only: 2 diverged runs left out"
    runs = loaded.runs.set_index("run_id")
    assert not runs.loc["sweep/shared3", "included"]
    assert runs.loc["sweep/shared3", "reason"].startswith("left out (survivors only): status 'diverged'")
    assert runs.loc["sweep/shared3", "final_return"] == pytest.approx(370.0)  # still listed with its number
    assert set(loaded.tidy["run_id"]) == {f"sweep/split{s}" for s in range(5)} | {f"sweep/shared{s}" for s in range(3)}
    with pytest.warns(R.RunWarning, match=r"unequal seed counts \(shared: 3, split: 5\)"):
        final = R.final_performance(loaded, n_boot=200).set_index("variant")
    assert final.loc["shared", "seeds"] == 3 and final.loc["shared", "diverged"] == 2
    assert final.loc["shared", "iqm"] == pytest.approx(850 / 3)  # three seeds: the IQM trims nothing
    assert final["survivors_only"].all()


def test_every_title_and_the_summary_say_survivors_only(sweep, tmp_path, monkeypatch):
    with pytest.warns(R.RunWarning):
        comparison = R.compare(R.load_runs([sweep], survivors_only=True), n_boot=50, points=11)
    titles = []
    finish = report._finish
    monkeypatch.setattr(report, "_finish", lambda fig, *args: titles.append(args[-1]) or finish(fig, *args))
    report.write_figures(comparison, tmp_path, formats=("png",))
    assert len(titles) == 6 and all(t.endswith("(survivors only: 2 diverged runs left out)") for t in titles)
    summary = report.summary_markdown(comparison)
    assert summary.startswith("**Survivors only: 2 diverged runs left out** of every number below")
    assert "| CartPole-v1 | shared\N{DAGGER} | 3 | 2 |" in summary
    assert "Runs left out of the statistics (2)" in summary


def test_the_default_view_counts_diverged_runs_in_the_table(sweep, tmp_path):
    comparison = R.compare(R.load_runs([sweep]), n_boot=50, points=11)
    summary = report.summary_markdown(comparison)
    assert summary.startswith("Diverged runs count among the seeds with the final return they reached")
    assert "| CartPole-v1 | shared | 5 | 2 |" in summary and "| CartPole-v1 | split | 5 | 0 |" in summary
    assert "survivors only" not in summary and "Runs left out" not in summary
    report.write_tables(comparison, tmp_path)
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert sorted(runs["status"]) == ["diverged"] * 2 + ["finished"] * 8
    assert pd.read_csv(tmp_path / "summary.csv").set_index("variant")["diverged"].to_dict() == {"shared": 2, "split": 0}


def test_compare_survivors_only_option(sweep, tmp_path, capsys):
    from test_run_reader import compare_main

    assert compare_main([str(sweep), "--out", str(tmp_path / "out"), "--no-figures", "--n-boot", "50",
                         "--survivors-only"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("**Survivors only: 2 diverged runs left out**")
    assert pd.read_csv(tmp_path / "out" / "summary.csv").set_index("variant").loc["shared", "seeds"] == 3


def test_all_runs_diverged_is_a_clear_error_in_the_survivors_view(tmp_path):
    for seed in range(2):
        synthetic.write_run(tmp_path / "s" / str(seed), [10.0] * 5, {"seed": seed, "total_steps": 400},
                            status="diverged", stopped_at=200)
    assert len(R.load_runs([tmp_path / "s"]).included) == 2
    with pytest.warns(R.RunWarning), pytest.raises(R.NoRunsError, match="all 2 usable runs diverged"):
        R.load_runs([tmp_path / "s"], survivors_only=True)
