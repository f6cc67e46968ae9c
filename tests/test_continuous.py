"""Continuous control: the Gaussian policy against torch.distributions.Normal, clipping, each seed's
noise and normalisation statistics independent of its group, the statistics through checkpoints,
evaluation and the saved policy, and short runs on Box and discrete tasks with obs_norm."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from a2c_lab.config import Backend, ObsNorm, ObsNormConfig
from a2c_lab.runs import checkpoint
from a2c_lab.runs import metrics as m
from a2c_lab.runs.run_folder import RUN_CONFIG_FILE
from a2c_lab.training import trainer
from a2c_lab.training.agents import A2C
from a2c_lab.training.distributions import ActionSpec, Categorical, DiagGaussian, for_actions
from a2c_lab.training.envs import VectorEnv
from a2c_lab.training.evaluation import evaluate_greedy
from a2c_lab.training.networks import ActorCritic
from a2c_lab.training.normalization import Normalizer
from a2c_lab.training.policy import load_policy, saved_policy
from a2c_lab.training.rollout import Collector
from a2c_lab.validation import validate
from conftest import ECHO_ID

BOX = ActionSpec(False, 3, np.full(3, -1.0, np.float32), np.full(3, 1.0, np.float32))


def gaussian_agent(cfg, seeds, obs_dim=4, spec=BOX):
    model = ActorCritic(obs_dim, spec.size, cfg.network, init_seeds=seeds, log_std=True)
    return A2C(model, cfg.agent, acting_streams=[np.random.SeedSequence(s) for s in seeds],
               distribution=for_actions(spec))


def test_gaussian_log_prob_and_entropy_match_torch_normal():
    gen = torch.Generator().manual_seed(0)
    mean = torch.randn(5, 2, 4, 3, generator=gen)  # [T, S, N, A]
    log_std = torch.randn(2, 1, 3, generator=gen)  # [S, 1, A]
    actions = torch.randn(5, 2, 4, 3, generator=gen) * 2
    log_prob, entropy = DiagGaussian(BOX).log_prob_and_entropy(mean, log_std, actions, entropy_grad=True)
    normal = torch.distributions.Normal(mean, log_std.exp())
    # the same float32 numbers by two formulas: agree to float32 rounding
    torch.testing.assert_close(log_prob, normal.log_prob(actions).sum(-1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(entropy, normal.entropy().sum(-1), rtol=1e-5, atol=1e-5)
    assert log_prob.shape == entropy.shape == (5, 2, 4)


def test_categorical_keeps_its_log_prob_and_entropy():
    logits = torch.randn(5, 2, 4, 3)
    actions = torch.randint(0, 3, (5, 2, 4))
    log_prob, entropy = Categorical(3).log_prob_and_entropy(logits, None, actions, entropy_grad=False)
    reference = torch.distributions.Categorical(logits=logits)
    torch.testing.assert_close(log_prob, reference.log_prob(actions), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(entropy, reference.entropy(), rtol=1e-5, atol=1e-6)


def test_the_action_space_decides_the_distribution():
    assert isinstance(for_actions(ActionSpec(True, 2)), Categorical)
    assert isinstance(for_actions(BOX), DiagGaussian)
    env = VectorEnv("Pendulum-v1", 2, Backend.sync, 0)
    assert not env.actions.discrete and env.actions.size == 1 and env.actions.high[0] == 2.0
    env.close()


def test_log_std_is_an_actor_parameter_initialised_from_the_config(fast_cfg):
    cfg = validate(fast_cfg("agent=split", "network.log_std_init=-0.7", "network.policy_gain=1.0",
                            "network.init=orthogonal"))
    agent = gaussian_agent(cfg, [0, 1])
    log_std = agent.model.log_std
    assert log_std.shape == (2, 1, 3) and torch.all(log_std == -0.7)
    assert any(p is log_std for p in agent.groups[0]) and not any(p is log_std for p in agent.groups[1])
    # policy_gain: the output layer's orthogonal gain (rows orthogonal with norm = gain)
    weight = agent.model.layers["actor"][-1].weight[0]  # [in, out]
    torch.testing.assert_close(weight.T @ weight, torch.eye(3), rtol=1e-5, atol=1e-5)


def test_actions_are_clipped_to_the_box_and_the_rollout_keeps_the_sample():
    env = VectorEnv(ECHO_ID, 2, Backend.sync, 0)
    collector = Collector([env], 0.0)
    wild = np.array([[[3.0, -0.5], [-7.0, 0.25]]], dtype=np.float32)  # [S, N, A], outside [-1, 1]
    rollout, _ = collector.collect(lambda obs: wild, 2)
    np.testing.assert_array_equal(rollout.actions[0].numpy(), wild)  # the unclipped sample
    np.testing.assert_array_equal(rollout.next_obs[0].numpy(), np.clip(wild, -1, 1))  # what the env got
    env.close()


def test_a_seeds_gaussian_noise_does_not_depend_on_its_group(fast_cfg):
    cfg = validate(fast_cfg())
    group, alone = gaussian_agent(cfg, [4, 7, 9]), gaussian_agent(cfg, [7])
    obs = np.random.default_rng(0).normal(size=(3, 5, 4)).astype(np.float32)
    a_group = group.sampler(2, 5)(obs)
    a_alone = alone.sampler(2, 5)(obs[1:2])
    assert a_group.shape == (3, 5, 3) and a_group.dtype == np.float32
    # the same numbers computed in batches of different size: float32 rounding apart
    np.testing.assert_allclose(a_group[1:2], a_alone, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a_group[0], a_group[1])


def feed(normalizer, streams, valid=None):
    """Feed each seed its own stream of raw observations [T, S, N, D] and rewards [T, S, N]."""
    obs, rewards, dones = streams
    normalizer.observe(obs[0], np.ones(obs.shape[1:3], bool))
    scaled = []
    for t in range(1, len(obs)):
        ok = np.ones(obs.shape[1:3], bool) if valid is None else valid[t]
        normalizer.observe(obs[t], ok)
        scaled.append(normalizer.scale_rewards(rewards[t], dones[t], ok))
    return np.stack(scaled)


def random_streams(seeds, rng):
    obs = rng.normal(loc=np.arange(3), scale=np.arange(1, 4), size=(40, seeds, 4, 3))
    return obs, rng.normal(size=(40, seeds, 4)), rng.random((40, seeds, 4)) < 0.1


def test_a_seeds_statistics_see_its_own_rows_only():
    cfg = ObsNormConfig(name=ObsNorm.obs_reward)
    streams = random_streams(3, np.random.default_rng(1))
    group = Normalizer(cfg, 0.99, 3, 3, 4)
    scaled_group = feed(group, streams)
    alone = Normalizer(cfg, 0.99, 1, 3, 4)
    scaled_alone = feed(alone, tuple(x[:, 1:2] for x in streams))
    # the same float64 arithmetic on differently shaped arrays: agree to rounding
    for a, b in ((group.obs_rms, alone.obs_rms), (group.ret_rms, alone.ret_rms)):
        np.testing.assert_allclose(a.mean[1:2], b.mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.var[1:2], b.var, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.count[1:2], b.count, rtol=0, atol=0)
    np.testing.assert_allclose(scaled_group[:, 1:2], scaled_alone, rtol=1e-6, atol=1e-7)
    assert not np.allclose(group.obs_rms.mean[0], group.obs_rms.mean[1])


def test_masked_rows_never_enter_the_statistics():
    cfg = ObsNormConfig(name=ObsNorm.obs_reward)
    obs, rewards, dones = random_streams(1, np.random.default_rng(2))
    valid = np.ones(obs.shape[:3], bool)
    valid[5:9, 0, 2] = False
    masked = Normalizer(cfg, 0.99, 1, 3, 4)
    feed(masked, (obs, rewards, dones), valid)
    poisoned = obs.copy()
    poisoned[5:9, 0, 2] = 1e6  # what a masked row holds must not matter
    other = Normalizer(cfg, 0.99, 1, 3, 4)
    feed(other, (poisoned, rewards, dones), valid)
    np.testing.assert_array_equal(masked.obs_rms.mean, other.obs_rms.mean)
    np.testing.assert_array_equal(masked.obs_rms.count, [1e-4 + 4 * 40 - 4])


def test_the_statistics_go_through_a_checkpoint_exactly(tmp_path, fast_cfg):
    cfg = validate(fast_cfg("obs_norm=obs_reward"))
    agent = gaussian_agent(cfg, [1, 2])
    normalizer = Normalizer(cfg.obs_norm, cfg.gamma, 2, 3, 4)
    feed(normalizer, random_streams(2, np.random.default_rng(3)))
    for s in range(2):
        (tmp_path / str(s)).mkdir()
        checkpoint.save(tmp_path / str(s), checkpoint.seed_state(agent, s, env_step=10, update=1, wall_time=1.0,
                                                                 next_eval=None, segment=0, normalizer=normalizer))
    restored = Normalizer(cfg.obs_norm, cfg.gamma, 2, 3, 4)
    checkpoint.restore(gaussian_agent(cfg, [1, 2]), [checkpoint.load(tmp_path / str(s)) for s in range(2)], restored)
    for a, b in ((normalizer.obs_rms, restored.obs_rms), (normalizer.ret_rms, restored.ret_rms)):
        for key in ("mean", "var", "count"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))  # the same numbers, stored


def test_an_old_checkpoint_is_refused_with_a_message(tmp_path):
    torch.save({"format": 1, "params": []}, tmp_path / checkpoint.CHECKPOINT_FILE)
    with pytest.raises(checkpoint.CheckpointError, match="format 1, written by an earlier a2c-lab"):
        checkpoint.load(tmp_path)


def test_evaluation_uses_the_statistics_frozen(fast_cfg):
    cfg = validate(fast_cfg(f"task.id={ECHO_ID}", "task.threshold=null", "envs.backend=sync", "eval.episodes=3"))
    spec = ActionSpec(False, 2, np.full(2, -1.0, np.float32), np.full(2, 1.0, np.float32))
    agent = gaussian_agent(cfg, [0, 1], obs_dim=2, spec=spec)
    normalizer = Normalizer(ObsNormConfig(name=ObsNorm.obs), cfg.gamma, 2, 2, 4)
    normalizer.observe(np.full((2, 4, 2), 3.0), np.ones((2, 4), bool))
    before = (normalizer.obs_rms.mean.copy(), normalizer.obs_rms.var.copy(), normalizer.obs_rms.count.copy())
    seen = []
    greedy = agent.greedy
    agent.greedy = lambda s: (lambda obs: (seen.append(obs.copy()), greedy(s)(obs))[1])
    result = evaluate_greedy(agent, cfg, 1, np.random.SeedSequence(0), normalizer)
    assert result[m.EVAL_LENGTH_MEAN] == 4.0
    for saved, now in zip(before, (normalizer.obs_rms.mean, normalizer.obs_rms.var, normalizer.obs_rms.count)):
        np.testing.assert_array_equal(saved, now)
    np.testing.assert_allclose(seen[0], normalizer.normalize_seed(1, np.zeros((3, 2))), rtol=1e-6)


@pytest.mark.parametrize("obs_norm,gaussian", [("obs_reward", True), ("obs", False), ("none", True)])
def test_the_saved_policy_reproduces_the_agents_greedy_actions(tmp_path, fast_cfg, obs_norm, gaussian):
    raw = fast_cfg(f"obs_norm={obs_norm}")
    cfg = validate(raw)
    spec = BOX if gaussian else ActionSpec(True, 3)
    model = ActorCritic(4, spec.size, cfg.network, init_seeds=[5, 6], log_std=gaussian)
    agent = A2C(model, cfg.agent, distribution=for_actions(spec))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))  # not the initial weights
    normalizer = None if obs_norm == "none" else Normalizer(cfg.obs_norm, cfg.gamma, 2, 4, 4)
    obs = np.random.default_rng(4).normal(size=(20, 4)).astype(np.float32) * 3
    if normalizer is not None:
        normalizer.observe(np.stack([obs[:4], obs[4:8]]) + 1.0, np.ones((2, 4), bool))
    torch.save(saved_policy(agent, 1, normalizer), tmp_path / m.MODEL_FILE)
    OmegaConf.save(raw, tmp_path / RUN_CONFIG_FILE)
    act = load_policy(tmp_path)
    seen = obs if normalizer is None else normalizer.normalize_seed(1, obs)
    expected = agent.greedy(1)(seen)
    if gaussian:
        expected = np.clip(expected, -1, 1)
        assert np.any(np.abs(agent.greedy(1)(seen)) > 1)  # the clipping is exercised
    # the same network evaluated in a 1-seed and a 2-seed stack: float32 rounding apart
    np.testing.assert_allclose(act(obs), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(act(obs[0]), expected[0], rtol=1e-5, atol=1e-6)


def test_a_diverging_log_std_is_reported(fast_cfg):
    cfg = validate(fast_cfg("agent.max_grad_norm=null"))
    agent = gaussian_agent(cfg, [0, 1])
    with torch.no_grad():
        agent.model.log_std[1].fill_(math.inf)
    from a2c_lab.training.rollout import Rollout
    t, s, n = 2, 2, 3
    rollout = Rollout(torch.zeros(t, s, n, 4), torch.zeros(t, s, n, 3), torch.ones(t, s, n), torch.zeros(t, s, n, 4),
                      torch.zeros(t, s, n), torch.zeros(t, s, n), torch.ones(t, s, n))
    update = trainer.learn(agent, rollout, cfg, 0.0)
    assert 1 in update.diverged and 0 not in update.diverged


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_a_box_task_trains_with_normalisation_and_keeps_raw_returns(tmp_path, fast_cfg):
    cfg = fast_cfg(f"task.id={ECHO_ID}", "task.threshold=null", "envs.backend=sync", "envs.num_envs=2",
                   "obs_norm=obs_reward", "total_steps=400", "logger.update_rows=3", "network.log_std_init=-1")
    results = trainer.train_group(cfg, [0, 1], [tmp_path / "a", tmp_path / "b"])
    assert all(isinstance(r, dict) for r in results)
    episodes = read(tmp_path / "a" / m.EPISODES_FILE)
    assert {float(e[m.EPISODE_RETURN]) for e in episodes} == {4.0}  # the env's own rewards, not scaled ones
    updates = read(tmp_path / "a" / m.UPDATES_FILE)
    assert list(updates[0]) == list(m.GAUSSIAN_UPDATE_COLUMNS)
    assert len(updates) == 400 // 10 // 3 + 1 and int(float(updates[-1][m.ENV_STEP])) == 400  # every 3rd, and the last
    assert float(updates[0][m.POLICY_STD]) == pytest.approx(math.exp(-1), rel=0.05)
    state = torch.load(tmp_path / "a" / m.MODEL_FILE, weights_only=True)
    assert {"actor.log_std", "action.low", "obs_norm.obs.mean", "obs_norm.return.var"} <= set(state)
    assert json.loads((tmp_path / "b" / m.STATUS_FILE).read_text())["status"] == "finished"


def test_a_discrete_task_trains_with_normalisation(tmp_path, fast_cfg):
    cfg = fast_cfg("obs_norm=obs_reward", "total_steps=800", "eval.interval=400", "eval.episodes=2")
    summary = trainer.train(cfg, tmp_path)
    episodes = read(tmp_path / m.EPISODES_FILE)
    assert all(float(e[m.EPISODE_RETURN]) == float(e[m.EPISODE_LENGTH]) for e in episodes)  # CartPole: 1 a step
    assert list(read(tmp_path / m.UPDATES_FILE)[0]) == list(m.UPDATE_COLUMNS)
    assert summary[m.EPISODES] == len(episodes) and len(read(tmp_path / m.EVAL_FILE)) == 2
    act = load_policy(tmp_path)
    assert act(np.zeros(4, np.float32)) in (0, 1)
