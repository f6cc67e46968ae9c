"""Loading run folders and the statistics, checked against values computed by hand.

Tolerances: the hand values and the code are different computations, so floats are compared
with ``pytest.approx`` (its default, rel 1e-6, where none is given) or ``assert_allclose``
(rtol 1e-7). Exact ``==`` is kept for integers (counts, env steps) and for threshold tests
whose arithmetic is exact in float64 (sums of integers, divided by 100).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import EPISODES, SHARED_RETURNS, SPLIT_RETURNS

from a2c_lab import analysis as R
from a2c_lab.analysis import statistics as S
from a2c_lab.runs import metrics as M
import synthetic_runs as synthetic


# ---------------------------------------------------------------- per-run metrics


def test_trailing_mean_averages_fewer_episodes_at_the_start():
    np.testing.assert_allclose(R.trailing_mean([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(R.trailing_mean([4, 2], 100), [4, 3])


def test_steps_to_threshold_is_the_first_episode_whose_trailing_mean_reaches_it():
    # 50 episodes of 0 then 100s: the last-min(100, k) mean first reaches 50 at episode 100
    # (100 * 50 / 100), which ends at env step 10 * 100.
    returns = np.r_[np.zeros(50), np.full(150, 100.0)]
    steps = 10 * np.arange(1, 201)
    assert R.steps_to_threshold(steps, returns, 50.0) == 1000
    assert R.steps_to_threshold(steps, returns, 50.0 + 1e-9) == 1010
    assert R.steps_to_threshold(steps, returns, 101.0) is None
    assert R.steps_to_threshold(steps, returns, None) is None
    assert R.steps_to_threshold([7], [10.0], 5.0) == 7  # one episode is a mean of one
    assert R.steps_to_threshold([], [], 5.0) is None


# ---------------------------------------------------------------- statistics


def test_iqm_matches_hand_values():
    assert S.iqm([4, 1, 3, 2]) == pytest.approx(2.5)  # middle two of four
    assert S.iqm([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(4.5)  # 3, 4, 5, 6
    assert S.iqm([1, 2, 3, 4, 100]) == pytest.approx(3.0)  # trims one per side of five
    assert S.iqm([5, 1, 100]) == pytest.approx(106 / 3)  # three seeds: trims nothing


def _hand_iqm(samples):
    """IQM written out: sort each row, drop floor(n / 4) from each end, average the rest."""
    n = samples.shape[-1]
    cut = n // 4
    return np.sort(samples, axis=-1)[..., cut:n - cut].mean(axis=-1)


@pytest.mark.parametrize("statistic, hand", [(S.iqm, _hand_iqm), (np.mean, lambda s: s.mean(axis=-1))])
def test_bootstrap_ci_matches_a_hand_written_percentile_bootstrap(statistic, hand):
    x = np.random.default_rng(1).normal(300, 80, size=10)
    low, high = S.bootstrap_ci(x, statistic, n_boot=3000, seed=7)
    # The same resamples, drawn by hand: n_boot rows of n indices from default_rng(seed).
    index = np.random.default_rng(7).integers(0, len(x), size=(3000, len(x)))
    hand_low, hand_high = np.percentile(hand(x[index]), [2.5, 97.5])
    assert (low, high) == (pytest.approx(hand_low, rel=1e-12), pytest.approx(hand_high, rel=1e-12))
    assert low < statistic(x) < high


def test_bootstrap_ci_along_an_axis_equals_one_call_per_column():
    matrix = np.random.default_rng(2).normal(size=(6, 4))
    low, high = S.bootstrap_ci(matrix, S.iqm, n_boot=500, seed=3, axis=0)
    for column in range(4):
        assert (low[column], high[column]) == pytest.approx(S.bootstrap_ci(matrix[:, column], S.iqm, 500, seed=3))


def test_bootstrap_ci_is_nan_with_one_run():
    low, high = S.bootstrap_ci([3.0])
    assert np.isnan(low) and np.isnan(high)


def test_probability_of_improvement_matches_a_hand_count_of_pairs():
    x, y = [3, 4, 5], [1, 4, 6, 0]
    # 3 beats 1, 0; 4 beats 1, 0 and ties 4; 5 beats 1, 4, 0: (2 + 2.5 + 3) / 12
    p, low, high = S.probability_of_improvement(x, y, n_boot=1000, seed=5)
    assert p == pytest.approx(7.5 / 12)
    assert 0 <= low <= p <= high <= 1
    rng = np.random.default_rng(5)  # the CI: x's runs and y's runs resampled independently
    xs = np.asarray(x, float)[rng.integers(0, 3, size=(1000, 3))]
    ys = np.asarray(y, float)[rng.integers(0, 4, size=(1000, 4))]
    counts = np.array([[(a > b) + 0.5 * (a == b) for a in row_x for b in row_y] for row_x, row_y in zip(xs, ys)])
    hand_low, hand_high = np.percentile(counts.mean(axis=1), [2.5, 97.5])
    assert (low, high) == (pytest.approx(hand_low), pytest.approx(hand_high))
    assert S.probability_of_improvement(y, x, n_boot=10)[0] == pytest.approx(1 - 7.5 / 12)


def test_curve_on_grid_is_a_step_function_of_finished_episodes():
    xs, returns = np.array([10, 20, 30]), np.array([1.0, 3.0, 5.0])
    grid = np.array([0, 10, 15, 20, 30, 35, 40, 41])
    values = R.curve_on_grid(xs, returns, grid, end=40, window=2)
    np.testing.assert_allclose(values, [np.nan, 1, 1, 2, 4, 4, 4, np.nan])


# ---------------------------------------------------------------- loading


def test_loaded_runs_give_the_known_final_statistics(constant_sweep):
    loaded = R.load_runs([constant_sweep])
    assert loaded.variant_keys == ["agent.name"]
    runs = loaded.runs.sort_values(["variant", "seed"])
    assert runs["included"].all()
    np.testing.assert_allclose(runs["final_return"], SHARED_RETURNS + SPLIT_RETURNS)
    assert (runs["episodes"] == EPISODES).all() and (runs["env_steps"] == 4000).all()
    np.testing.assert_allclose(runs["sps"], [2000] * 5 + [1000] * 5)
    np.testing.assert_allclose(runs["wall_time"], [2.0] * 5 + [4.0] * 5)

    final = R.final_performance(loaded, n_boot=2000, seed=0).set_index("variant")
    assert final.loc["split", "iqm"] == pytest.approx(300.0)
    assert final.loc["shared", "iqm"] == pytest.approx(350.0)
    assert final.loc["shared", "mean"] == pytest.approx(360.0)
    hand = _hand_iqm(np.array(SPLIT_RETURNS)[np.random.default_rng(0).integers(0, 5, size=(2000, 5))])
    low, high = np.percentile(hand, [2.5, 97.5])
    assert final.loc["split", ["iqm_low", "iqm_high"]].tolist() == pytest.approx([low, high])
    # Threshold 275: seeds at 300, 400, 500 reach it with their first episode (step 20).
    assert final.loc["split", "reached"] == 3
    assert final.loc["split", "median_steps_to_threshold"] == 20
    assert (final["warning"] == "").all() and (final["seeds"] == 5).all()


def test_learning_curves_of_constant_runs_are_the_known_means(constant_sweep):
    loaded = R.load_runs([constant_sweep])
    curves = R.learning_curves(loaded, points=11, n_boot=200)
    split = curves[curves["variant"] == "split"]
    assert split[M.ENV_STEP].tolist() == pytest.approx(np.linspace(400, 4000, 10))  # 0 precedes every episode
    assert split["mean"].to_numpy() == pytest.approx(300.0)
    assert split["iqm"].to_numpy() == pytest.approx(300.0)
    assert (split["mean_low"] <= 300).all() and (split["mean_high"] >= 300).all()
    by_time = R.learning_curves(loaded, M.WALL_TIME, points=5, n_boot=200)
    assert by_time.groupby("variant")[M.WALL_TIME].max().to_dict() == {"shared": 2.0, "split": 4.0}


def test_pairwise_improvement_counts_every_pair_of_variants(constant_sweep):
    pairs = R.pairwise_improvement(R.load_runs([constant_sweep]), n_boot=200)
    assert len(pairs) == 1
    row = pairs.iloc[0]
    x = {"split": SPLIT_RETURNS, "shared": SHARED_RETURNS}
    wins = sum(a > b for a in x[row["x"]] for b in x[row["y"]])
    assert row["probability"] == pytest.approx(wins / 25)


def test_a_single_run_folder_can_be_loaded_on_its_own(constant_sweep):
    loaded = R.load_runs([constant_sweep / "2"])
    assert loaded.runs["run_id"].tolist() == ["2"] and loaded.runs["final_return"].tolist() == [300.0]
    assert loaded.variant_keys == ["experiment_name"] and set(loaded.tidy["variant"]) == {"default"}


def test_tidy_frame_follows_the_column_contract(constant_sweep):
    loaded = R.load_runs([constant_sweep])
    tidy = loaded.tidy
    assert tuple(tidy.columns) == R.TIDY_COLUMNS
    assert tidy["num_envs"].dtype == np.int64 and tidy[M.ENV_STEP].dtype == np.int64
    assert isinstance(tidy["metric"].dtype, pd.CategoricalDtype)
    updates, evals = 100, 5  # 4000 steps / (8 envs * 5 steps); eval every 20th update
    per_run = EPISODES * 2 + updates * (len(M.UPDATE_COLUMNS) - 2) + evals * (len(M.EVAL_COLUMNS) - 2)
    assert len(tidy) == 10 * per_run
    assert set(tidy["metric"].cat.categories) == set(M.EPISODE_COLUMNS[2:] + M.UPDATE_COLUMNS[2:] + M.EVAL_COLUMNS[2:])
    returns = tidy[(tidy["metric"] == M.EPISODE_RETURN) & (tidy["variant"] == "split")]
    assert sorted(returns.groupby("seed")["value"].mean()) == pytest.approx(SPLIT_RETURNS)
    run = tidy[tidy["run_id"] == f"{constant_sweep.name}/0"]
    assert set(run["agent"]) == {"split"} and set(run["task"]) == {"CartPole-v1"} and set(run["seed"]) == {0}


# ---------------------------------------------------------------- variant labels


def _configs(*overrides):
    return [R.flatten_config(synthetic.make_config(o)) for o in overrides]


def test_labels_use_the_fewest_keys_that_tell_configurations_apart(tmp_path):
    td, gae = {"advantage.name": "td", "advantage.lam": 0.0}, {"advantage.name": "gae"}
    for job, overrides in enumerate([td, gae, {**gae, "advantage.lam": 0.9}]):
        synthetic.write_run(tmp_path / "s" / str(job), [10.0] * 5, {**overrides, "total_steps": 200})
    loaded = R.load_runs([tmp_path / "s"])
    assert loaded.variant_keys == ["advantage.name", "advantage.lam"]
    assert sorted(loaded.runs["variant"]) == ["gae, advantage.lam=0.9", "gae, advantage.lam=0.95",
                                              "td, advantage.lam=0.0"]


def test_keys_that_differ_only_between_tasks_are_not_axes():
    configs = _configs({"agent.name": "split"}, {"agent.name": "shared"},
                       {"agent.name": "split", "task.id": "Acrobot-v1", "total_steps": 10},
                       {"agent.name": "shared", "task.id": "Acrobot-v1", "total_steps": 10})
    assert R.varying_keys(configs) == ["agent.name"]


def test_hue_keeps_other_differing_axes_in_separate_panels(tmp_path):
    for job, (agent, envs, num) in enumerate([("split", "single", 1), ("shared", "single", 1),
                                              ("split", "vectorized", 8), ("shared", "vectorized", 8)]):
        synthetic.write_run(tmp_path / "s" / str(job), [10.0] * 5,
                            {"agent.name": agent, "envs.name": envs, "envs.num_envs": num, "total_steps": 200})
    loaded = R.load_runs([tmp_path / "s"], hue=["agent"])
    assert loaded.variant_keys == ["agent.name"] and loaded.panel_keys == ["envs.name"]
    assert sorted(set(loaded.runs["panel"])) == ["CartPole-v1, single", "CartPole-v1, vectorized"]
    assert R.load_runs([tmp_path / "s"]).variant_keys == ["agent.name", "envs.name"]
    with pytest.raises(ValueError, match="unknown config key"):
        R.load_runs([tmp_path / "s"], hue=["nonsense"])
    with pytest.raises(ValueError, match="tasks are always separate panels"):
        R.load_runs([tmp_path / "s"], hue=["task.id"])


def test_threshold_override_replaces_the_configs(constant_sweep):
    loaded = R.load_runs([constant_sweep], thresholds={"CartPole-v1": 450.0})
    assert (loaded.runs["threshold"] == 450.0).all()
    assert loaded.runs["steps_to_threshold"].notna().sum() == 3  # the runs at 450 (>=), 500 and 600
    assert R.load_runs([constant_sweep], thresholds={None: None}).runs["threshold"].isna().all()


# ---------------------------------------------------------------- bad input


def _by_dir(loaded, path):
    return loaded.runs.set_index("run_dir").loc[str(path)]


def test_a_partial_last_line_is_dropped_with_a_warning_and_the_run_kept(constant_sweep):
    episodes = constant_sweep / "3" / M.EPISODES_FILE
    episodes.write_bytes(episodes.read_bytes()[:-4])  # a run killed mid-row: "4000,...,400.0" -> "...,40"
    with pytest.warns(R.RunWarning, match=rf"{constant_sweep / '3'}: episodes.csv ends inside a line .*dropped"):
        loaded = R.load_runs([constant_sweep])
    run = _by_dir(loaded, constant_sweep / "3")
    assert run["included"] and run["episodes"] == EPISODES - 1  # the cut episode is gone, the rest is there
    assert run["final_return"] == pytest.approx(400.0)
    assert len(loaded.included) == 10


def test_unreadable_metrics_file_is_warned_about_and_left_out(constant_sweep):
    (constant_sweep / "4" / M.UPDATES_FILE).write_text(f"{M.ENV_STEP},{M.WALL_TIME},{M.SPS}\n40,0.1,oops\n")
    with pytest.warns(R.RunWarning, match=rf"{constant_sweep / '4'}: left out: unreadable updates.csv"):
        loaded = R.load_runs([constant_sweep])
    assert len(loaded.included) == 9


def test_missing_config_is_warned_about_and_listed(constant_sweep):
    shutil.rmtree(constant_sweep / "0" / ".hydra")
    (constant_sweep / "0" / "run_config.yaml").unlink()
    with pytest.warns(R.RunWarning, match=rf"{constant_sweep / '0'}: left out: no run_config.yaml or .hydra/config.yaml"):
        loaded = R.load_runs([constant_sweep])
    assert str(constant_sweep / "0") in set(loaded.excluded["run_dir"])


def test_failed_and_unfinished_runs_are_listed_and_never_averaged_in(tmp_path, constant_sweep):
    synthetic.write_run(constant_sweep / "10", [1000.0] * 5, {"agent.name": "split", "seed": 10}, status="failed")
    synthetic.write_run(constant_sweep / "11", [1000.0] * 5, {"agent.name": "split", "seed": 11}, status="running")
    (constant_sweep / "12").mkdir()
    shutil.copytree(constant_sweep / "0" / ".hydra", constant_sweep / "12" / ".hydra")  # started, nothing else
    with pytest.warns(R.RunWarning) as caught:
        loaded = R.load_runs([constant_sweep])
    messages = "\n".join(str(w.message) for w in caught)
    assert f"{constant_sweep / '10'}: left out: status 'failed': boom" in messages
    assert (f"{constant_sweep / '11'}: left out: status 'running' but no live process holds the folder: "
            "the run was killed") in messages
    assert (f"{constant_sweep / '12'}: left out: only Hydra's .hydra/ and no run files: the command was "
            "refused or never started") in messages
    assert sorted(loaded.excluded["status"]) == ["failed", "running", "unknown"]
    final = R.final_performance(loaded, n_boot=100).set_index("variant")
    assert final.loc["split", "seeds"] == 5 and final.loc["split", "iqm"] == pytest.approx(300.0)


def test_summary_json_that_disagrees_with_the_episodes_is_warned_about(constant_sweep):
    path = constant_sweep / "1" / M.SUMMARY_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), M.LAST100_RETURN: 999.0}))
    with pytest.warns(R.RunWarning, match=rf"{constant_sweep / '1'}: summary.json says .* using episodes.csv"):
        loaded = R.load_runs([constant_sweep])
    assert _by_dir(loaded, constant_sweep / "1")["final_return"] == pytest.approx(200.0)


def test_empty_selection_is_a_clear_error(tmp_path, constant_sweep):
    (tmp_path / "empty").mkdir()
    with pytest.raises(R.NoRunsError, match="no run folders"):
        R.load_runs([tmp_path / "empty"])
    with pytest.raises(R.NoRunsError, match="no such folder"):
        R.load_runs([tmp_path / "missing"])
    with pytest.raises(R.NoRunsError, match="no folders given"):
        R.load_runs([])
    for status in constant_sweep.glob(f"*/{M.STATUS_FILE}"):
        status.write_text(json.dumps({"status": "failed", "error": "x"}))
    with pytest.warns(R.RunWarning), pytest.raises(R.NoRunsError, match="none of the 10 run folders"):
        R.load_runs([constant_sweep])


def test_few_and_unequal_seed_counts_carry_warnings(constant_sweep):
    for job in (7, 8, 9):  # leave shared with seeds 0 and 1
        shutil.rmtree(constant_sweep / str(job))
    loaded = R.load_runs([constant_sweep])
    with pytest.warns(R.RunWarning, match="unequal seed counts .*shared: 2, split: 5"):
        final = R.final_performance(loaded, n_boot=100).set_index("variant")
    assert final.loc["shared", "warning"].startswith("only 2 seeds: the IQM trims 0 per side")
    assert "unequal seed counts" in final.loc["split", "warning"]


def test_a_seed_repeated_within_a_variant_is_warned_about(constant_sweep, tmp_path):
    shutil.copytree(constant_sweep / "0", tmp_path / "copy" / "0")
    with pytest.warns(R.RunWarning, match=r"variant 'split' has seed\(s\) \[0\] more than once"):
        R.load_runs([constant_sweep, tmp_path / "copy"])
