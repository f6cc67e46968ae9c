"""Many seeds, one process (issue 10): the invariants of training seeds as one batched computation.

Streams: a seed's numbers depend on its own seed only, never on the group it trains in.
Independence: each seed's loss, gradient, clipping and optimizer state are its own.
Isolated faults: a diverged seed is recorded and frozen, the others go on; a crash or a signal
marks every unfinished seed. Coverage: every agent, network, estimator, backend and env count.
"""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from a2c_lab.config import Backend, ConfigError
from a2c_lab.runs import metrics as m
from a2c_lab.runs.outcomes import Diverged
from a2c_lab.runs.run_folder import RUN_CONFIG_FILE
from a2c_lab.training import trainer
from a2c_lab.training.agents import A2C
from a2c_lab.training.envs import VectorEnv
from a2c_lab.training.networks import ActorCritic
from a2c_lab.training.preflight import max_async_processes
from a2c_lab.training.seeding import streams
from a2c_lab.validation import validate

# Updates compared between a seed trained alone and inside a group. The two are different
# computations (batched matmuls over 1 or 4 seeds may sum in other orders on some CPUs), so
# numbers are compared with a tolerance, over the first updates, before float differences can
# grow through the feedback of training (sampled actions).
FIRST = 15
RTOL, ATOL = 1e-4, 1e-6


def read_csv(path):
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def compared(run_dir, rows=FIRST):
    updates = read_csv(run_dir / m.UPDATES_FILE)[:rows]
    keys = [k for k in m.UPDATE_COLUMNS if k not in (m.WALL_TIME, m.SPS)]
    return np.array([[u[k] for k in keys] for u in updates])


@pytest.mark.parametrize("backend", ["native", "sync"])
def test_a_seed_trains_the_same_alone_and_in_a_group(tmp_path, fast_cfg, backend):
    cfg = fast_cfg(f"envs.backend={backend}", "total_steps=2000", "seed=5")
    trainer.train(cfg, tmp_path / "alone")
    trainer.train_group(cfg, [9, 2, 5, 7], [tmp_path / f"group{i}" for i in range(4)])  # seed 5 third
    trainer.train_group(cfg, [5, 1], [tmp_path / "pair0", tmp_path / "pair1"])  # first, in a group of 2
    alone = compared(tmp_path / "alone")
    np.testing.assert_allclose(compared(tmp_path / "group2"), alone, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(compared(tmp_path / "pair0"), alone, rtol=RTOL, atol=ATOL)
    # the other seeds are other runs
    assert not np.allclose(compared(tmp_path / "group0"), alone, rtol=RTOL, atol=ATOL)
    first_episodes = [[(e[m.ENV_STEP], e[m.EPISODE_RETURN]) for e in read_csv(tmp_path / d / m.EPISODES_FILE)[:5]]
                      for d in ("alone", "group2", "pair0")]
    assert first_episodes[0] and first_episodes[0] == first_episodes[1] == first_episodes[2]  # integers: exact


def test_each_seed_folder_holds_a_one_seed_run(tmp_path, fast_cfg):
    cfg = fast_cfg("total_steps=600", "eval.interval=300", "eval.episodes=2")
    results = trainer.train_group(cfg, [3, 4], [tmp_path / "a", tmp_path / "b"], group="g7")
    for seed, name, result in zip((3, 4), "ab", results):
        run_dir = tmp_path / name
        assert json.loads((run_dir / m.STATUS_FILE).read_text())["status"] == "finished"
        from omegaconf import OmegaConf
        saved = OmegaConf.load(run_dir / RUN_CONFIG_FILE)
        assert saved.seed == seed and list(saved.seeds) == []  # its own scalar seed, as a one-seed run
        meta = json.loads((run_dir / m.META_FILE).read_text())
        assert meta["group"] == {"name": "g7", "index": seed - 3, "seeds": [3, 4]}
        summary = json.loads((run_dir / m.SUMMARY_FILE).read_text())
        assert summary == pytest.approx(result) and summary[m.TOTAL_ENV_STEPS] >= 600
        assert len(read_csv(run_dir / m.EVAL_FILE)) == 2
        weights = torch.load(run_dir / m.MODEL_FILE, weights_only=True)
        assert weights["actor.0.weight"].shape == (64, 4)  # one seed's network, not the stack


def test_no_two_seeds_share_a_stream():
    a, b = streams(0), streams(1)
    env_a = VectorEnv("CartPole-v1", 8, Backend.sync, a.train_envs).reset_seeds
    env_b = VectorEnv("CartPole-v1", 8, Backend.sync, b.train_envs).reset_seeds
    eval_a = VectorEnv("CartPole-v1", 8, Backend.sync, a.eval_envs).reset_seeds
    assert len(set(env_a) | set(env_b) | set(eval_a)) == 24  # seed + i gave seeds 0 and 1 seven shared envs
    assert a.init != b.init
    assert np.random.default_rng(a.acting).random() != np.random.default_rng(b.acting).random()
    again = streams(0)  # derived from the seed alone: asked again, the same streams
    assert again.init == a.init and again.train_envs.generate_state(4).tolist() == a.train_envs.generate_state(4).tolist()


def test_a_frozen_seed_does_not_move(fast_cfg):
    """A zero gradient still moves Adam's weights (its moments decay): frozen seeds are put back."""
    from a2c_lab.training.rollout import Rollout

    cfg = validate(fast_cfg("agent.lr=1e-2"))
    model = ActorCritic(4, 2, cfg.network, init_seeds=[0, 1, 2])
    agent = A2C(model, cfg.agent)
    g = torch.Generator().manual_seed(0)

    def rollout():
        shape = (5, 3, 8)
        return Rollout(obs=torch.randn(*shape, 4, generator=g), actions=torch.randint(0, 2, shape, generator=g),
                       rewards=torch.ones(shape), next_obs=torch.randn(*shape, 4, generator=g),
                       terminated=torch.zeros(shape), truncated=torch.zeros(shape), mask=torch.ones(shape))

    trainer.learn(agent, rollout(), cfg, 0.0)  # Adam has moments now
    agent.freeze(1)
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(3):
        trainer.learn(agent, rollout(), cfg, 0.0)
    for p, q in zip(model.parameters(), before):
        assert torch.equal(p[1], q[1])  # the same numbers copied back: exact
        assert not torch.allclose(p[0], q[0]) and not torch.allclose(p[2], q[2])


def test_a_diverging_seed_is_frozen_and_the_others_finish(tmp_path, fast_cfg, monkeypatch):
    real_learn = trainer.learn
    calls = {"n": 0}

    def poisoned(agent, rollout, cfg, progress):
        calls["n"] += 1
        if calls["n"] == 4:  # seed index 1's weights turn non-finite: its update diverges
            with torch.no_grad():
                agent.groups[0][0][1, 0, 0] = math.nan
        return real_learn(agent, rollout, cfg, progress)

    monkeypatch.setattr(trainer, "learn", poisoned)
    results = trainer.train_group(fast_cfg("total_steps=1200"), [0, 1, 2], [tmp_path / str(i) for i in range(3)])
    assert isinstance(results[1], Diverged) and results[1].update == 4
    status = json.loads((tmp_path / "1" / m.STATUS_FILE).read_text())
    assert status["status"] == "diverged" and "at update 4" in status["reason"] and status["update"] == 3
    assert len(read_csv(tmp_path / "1" / m.UPDATES_FILE)) == 3
    for i in (0, 2):
        assert json.loads((tmp_path / str(i) / m.STATUS_FILE).read_text())["status"] == "finished"
        updates = read_csv(tmp_path / str(i) / m.UPDATES_FILE)
        assert updates[-1][m.ENV_STEP] >= 1200
        assert all(math.isfinite(v) for u in updates for k, v in u.items() if k != m.EXPLAINED_VARIANCE)


def test_a_crash_marks_every_unfinished_seed(tmp_path, fast_cfg, monkeypatch):
    real_learn = trainer.learn
    calls = {"n": 0}

    def crashing(*args):
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("injected crash")
        return real_learn(*args)

    monkeypatch.setattr(trainer, "learn", crashing)
    with pytest.raises(RuntimeError, match="injected crash"):
        trainer.train_group(fast_cfg("total_steps=4000"), [0, 1], [tmp_path / "0", tmp_path / "1"])
    for i in (0, 1):
        status = json.loads((tmp_path / str(i) / m.STATUS_FILE).read_text())
        assert status["status"] == "failed" and "injected crash" in status["reason"] and status["update"] == 5
        assert len(read_csv(tmp_path / str(i) / m.UPDATES_FILE)) == 5


def test_a_group_refuses_what_a_run_refuses(tmp_path, fast_cfg):
    with pytest.raises(ConfigError, match="distinct seeds"):
        trainer.train_group(fast_cfg(), [1, 1], [tmp_path / "a", tmp_path / "b"])
    too_many = max_async_processes() // 8 + 1
    with pytest.raises(ConfigError, match=r"envs.backend=async with \d+ seeds x envs.num_envs=8"):
        trainer.train_group(fast_cfg("envs.backend=async"), list(range(too_many)),
                            [tmp_path / f"s{i}" for i in range(too_many)])
    status = json.loads((tmp_path / "s0" / m.STATUS_FILE).read_text())
    assert status["status"] == "not_started"


GROUPED = [
    ("agent=split",),
    ("network=trunk_tanh64",),
    ("experiment=notebook_split",),
    ("network=towers_tanh64_ortho", "agent.optimizer=rmsprop", "agent.max_grad_norm=0.5", "agent.lr_schedule=linear"),
    ("advantage=td",),
    ("advantage=nstep", "advantage.value_target=estimator"),
    ("envs.backend=sync", "envs.num_envs=1"),
    ("envs.backend=async", "envs.num_envs=2"),
    ("envs.num_envs=64",),
    ("task=acrobot", "envs.num_envs=2"),
]


@pytest.mark.parametrize("overrides", GROUPED, ids=lambda o: " ".join(o))
def test_every_setting_trains_grouped(tmp_path, fast_cfg, overrides):
    cfg = fast_cfg(*overrides, "eval.interval=400", "eval.episodes=2")
    total = max(800, 2 * cfg.n_steps * cfg.envs.num_envs)
    cfg.total_steps = total
    trainer.train_group(cfg, [0, 1, 2], [tmp_path / str(i) for i in range(3)])
    finals = []
    for i in range(3):
        run_dir = tmp_path / str(i)
        assert json.loads((run_dir / m.STATUS_FILE).read_text())["status"] == "finished"
        updates = read_csv(run_dir / m.UPDATES_FILE)
        assert updates[-1][m.ENV_STEP] >= total and read_csv(run_dir / m.EVAL_FILE)
        finals.append(updates[-1][m.POLICY_LOSS])
    assert len(set(finals)) == 3  # three seeds, three runs


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_a_group_trains_on_cuda(tmp_path, fast_cfg):
    cfg = fast_cfg("device=cuda", "total_steps=800")
    trainer.train_group(cfg, [0, 1], [tmp_path / "0", tmp_path / "1"])
    cpu = fast_cfg("total_steps=800")
    trainer.train_group(cpu, [0, 1], [tmp_path / "c0", tmp_path / "c1"])
    np.testing.assert_allclose(compared(tmp_path / "0", 3), compared(tmp_path / "c0", 3), rtol=1e-3, atol=1e-5)
