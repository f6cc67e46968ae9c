"""The envpool backend (``envs.backend=envpool``, the [fast] extra): its autoreset, truncation and
``elapsed_step`` pinned against what the collector masks; a seed's envs independent of its
group; and runs grouped and one seed at a time on CartPole, Acrobot and HalfCheetah."""

from __future__ import annotations

import json

import numpy as np
import pytest

from a2c_lab.config import Backend, ConfigError
from a2c_lab.runs import metrics as m
from a2c_lab.training import trainer
from a2c_lab.training.envs import EnvPool, make_group_envs, resolve_backend
from a2c_lab.training.rollout import Collector
from conftest import ECHO_ID

envpool = pytest.importorskip("envpool")


def streams(*seeds):
    return [np.random.SeedSequence(s) for s in seeds]


def test_the_step_after_an_episode_end_is_a_masked_reset_row():
    pool = EnvPool("CartPole-v1", 3, streams(0))
    pool.reset()
    raw = pool.env  # envpool itself, to read elapsed_step beside what the pool reports
    ended_at = None
    for t in range(200):
        step = pool.step(np.ones((1, 3), dtype=np.int64))  # always push right: episodes end within ~10 steps
        if ended_at is None and step.terminated[0].any():
            ended_at, env = t, int(np.flatnonzero(step.terminated[0])[0])
            assert step.valid[0, env] and step.reward[0, env] == 1.0  # the last real transition
            final = step.next_obs[0, env].copy()
            after = pool.step(np.ones((1, 3), dtype=np.int64))
            # the reset row: reward 0, neither flag, action ignored, masked; the obs is a fresh start
            assert not after.valid[0, env] and after.reward[0, env] == 0.0
            assert not after.terminated[0, env] and not after.truncated[0, env]
            assert np.abs(after.obs[0, env]).max() <= 0.05 and not np.allclose(after.obs[0, env], final)
            break
    assert ended_at is not None
    del raw


def test_truncation_returns_the_final_observation_then_resets():
    pool = EnvPool("Pendulum-v1", 2, streams(1))  # 200-step episodes, cut by the time limit only
    obs = pool.reset()
    for t in range(200):
        step = pool.step(np.zeros((1, 2, 1), dtype=np.float32))
        assert step.valid.all() and not step.terminated.any()
        assert step.truncated.all() == (t == 199)
    final = step.next_obs.copy()
    assert np.allclose(np.linalg.norm(final[..., :2], axis=-1), 1.0, atol=1e-5)  # (cos, sin): a real state
    after = pool.step(np.zeros((1, 2, 1), dtype=np.float32))
    assert not after.valid.any() and (after.reward == 0).all()
    assert obs.shape == (1, 2, 3)


def test_the_collector_counts_real_transitions_as_elapsed_step_does():
    pool = EnvPool("CartPole-v1", 4, streams(2))
    collector = Collector(pool, 0.0)
    episodes = []
    for _ in range(20):
        rollout, found = collector.collect(lambda obs: np.ones(obs.shape[:2], dtype=np.int64), 5)
        episodes.append(found[0])
    lengths = np.concatenate([e.lengths for e in episodes])
    assert len(lengths) > 10 and lengths.min() >= 8  # pushing right ends CartPole in 8-12 steps
    # every real step of an env is in an episode or in the one still running
    running = collector._episode_length[0].sum()
    assert collector.env_steps[0] == lengths.sum() + running
    # envpool's own counter restarts at the reset row, which the rollout masks
    assert int(pool.env.step(np.ones(4, np.int32))[4]["elapsed_step"].max()) <= lengths.max() + 1


def test_a_seeds_envs_do_not_depend_on_its_group():
    alone = EnvPool("Acrobot-v1", 3, streams(7))
    group = EnvPool("Acrobot-v1", 3, streams(5, 7, 9))
    np.testing.assert_array_equal(group.reset()[1], alone.reset()[0])
    actions = np.random.default_rng(0).integers(0, 3, size=(30, 3, 3))
    for a in actions:
        g, s = group.step(a), alone.step(a[1:2])
        np.testing.assert_array_equal(g.obs[1], s.obs[0])
        np.testing.assert_array_equal(g.reward[1], s.reward[0])
    assert not np.allclose(group.reset()[0], group.reset()[1])


def test_box_actions_are_clipped_and_the_backend_is_checked():
    pool = make_group_envs("HalfCheetah-v5", 2, Backend.envpool, streams(3))
    assert isinstance(pool, EnvPool) and not pool.actions.discrete and pool.actions.size == 6
    pool.reset()
    twin = EnvPool("HalfCheetah-v5", 2, streams(3))
    twin.reset()
    big = np.full((1, 2, 6), 5.0, dtype=np.float32)
    np.testing.assert_array_equal(pool.step(big).obs, twin.step(np.ones_like(big)).obs)  # 5 acts as 1
    with pytest.raises(ConfigError, match="envs.backend=envpool; envpool has no A2CLabTest/BoxEcho-v0"):
        resolve_backend(ECHO_ID, Backend.envpool)


@pytest.mark.parametrize("task", ["task=cartpole", "task=acrobot", "task=halfcheetah obs_norm=obs_reward"])
def test_runs_train_grouped_and_one_seed_at_a_time(tmp_path, fast_cfg, task):
    if "halfcheetah" in task:
        pytest.importorskip("mujoco")
    cfg = fast_cfg(*task.split(), "envs.backend=envpool", "total_steps=800", "eval.interval=400", "eval.episodes=2")
    trainer.train(cfg, tmp_path / "one")
    results = trainer.train_group(cfg, [0, 1], [tmp_path / "a", tmp_path / "b"])
    assert all(isinstance(r, dict) for r in results)
    for run in ("one", "a", "b"):
        meta = json.loads((tmp_path / run / m.META_FILE).read_text())
        assert meta["backend"] == "envpool"
        assert len((tmp_path / run / m.EVAL_FILE).read_text().splitlines()) == 3


def test_the_report_says_which_backend_a_run_used(tmp_path, fast_cfg):
    from a2c_lab.analysis import load_runs
    trainer.train(fast_cfg("envs.backend=envpool", "total_steps=400"), tmp_path / "pool")
    trainer.train(fast_cfg("total_steps=400"), tmp_path / "auto")  # auto: CartPole's native vector env
    runs = load_runs([tmp_path]).runs
    runs = runs.set_index(runs["run_dir"].map(lambda d: d.rsplit("/", 1)[-1]))
    assert runs.loc["pool", "backend"] == "envpool" and runs.loc["auto", "backend"] == "native"


def test_the_same_task_check_counts_episodes_and_its_sensitivity():
    from a2c_lab.bench.same_task import compare, detectable_shift
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 2000), rng.normal(0, 1, 2000)
    # c(0.01) * sqrt(2 / 2000) / (peak density 1 / sqrt(2 pi)) = 0.129 for a unit normal
    assert detectable_shift(a, b) == pytest.approx(1.628 * np.sqrt(2 / 2000) * np.sqrt(2 * np.pi), rel=0.1)
    rows = compare("CartPole-v1", "random", 64, None, seed=0)
    assert [r["metric"] for r in rows] == ["return", "length"] and rows[0]["episodes"] == 64
    assert rows[0]["gym_mean"] == rows[1]["gym_mean"]  # CartPole: a reward of 1 a step
    assert 10 < rows[0]["envpool_mean"] < 40 and 0 <= rows[0]["p_value"] <= 1


def test_learning_rows_pair_the_engines_runs_and_p_counts_them(tmp_path):
    """scripts/envpool_check.py --learning: one row per run, its backend as the run recorded it
    (meta.json), and P(envpool > gymnasium) by hand: every envpool run ends higher -> 1; only the
    envpool runs reach the threshold -> 1 on steps too; a task without threshold has no steps row."""
    from a2c_lab.bench.same_task import learning_rows, learning_summary
    from a2c_lab.runs.run_folder import write_json
    from synthetic_runs import write_run

    sweeps = {"envpool": tmp_path / "pool", "native": tmp_path / "gym"}
    for backend, sweep in sweeps.items():
        for seed in range(3):
            value = 500.0 if backend == "envpool" else 100.0 + seed
            run = write_run(sweep / str(seed), [value] * 120, {"seed": seed, "total_steps": 50_000})
            write_json(run / m.META_FILE, {"backend": backend})
    rows = learning_rows(list(sweeps.values()))
    assert rows["backend"].tolist() == ["envpool"] * 3 + ["native"] * 3 and rows["seed"].tolist() == [0, 1, 2] * 2
    assert rows["final_return"].tolist() == [500.0] * 3 + [100.0, 101.0, 102.0]
    summary = learning_summary(rows)
    assert summary["final_return"][0] == 1.0 and summary["steps_to_threshold"][0] == 1.0
    assert "steps_to_threshold" not in learning_summary(rows.assign(steps_to_threshold=np.nan))
