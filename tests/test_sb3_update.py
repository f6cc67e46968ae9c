"""One update of a2c-lab at ``experiment=sb3_a2c`` is Stable-Baselines3's A2C update (issue 18).

SB3 is the independent reference: its own ``A2C("MlpPolicy", env)`` with its defaults, its own
``RolloutBuffer.compute_returns_and_advantage`` and its own ``A2C.train()``. Both sides start
from the same weights (a2c-lab's, copied into SB3's policy with a strict ``load_state_dict``, so
every SB3 parameter has its a2c-lab counterpart) and learn from the same rollout of T=5 steps x
3 envs that holds episode ends of both kinds inside it and at its last step. SB3's buffer is
filled as its ``collect_rollouts`` fills it: the value of the step's observation, the episode
starts, and on a truncation the reward plus gamma * V(terminal observation). Compared: the
advantages and returns, the three loss terms, the gradient norm before clipping, every
gradient after clipping (what the optimizer steps on) and every parameter after the step.

A Categorical policy (CartPole-v1) and a Gaussian one (Box actions, 3 dimensions) with
``obs_norm=obs_reward`` whose statistics are frozen: both sides get the same normalised
observations and scaled rewards (the point is the update, not the wrapper:
tests/test_vecnormalize.py checks the statistics). Each with SB3's ent_coef 0 and with 0.01,
which puts the entropy's gradient into the step.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")
from stable_baselines3 import A2C as SB3A2C  # noqa: E402
from stable_baselines3.common.logger import Logger  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

from a2c_lab.runs import metrics as m  # noqa: E402
from a2c_lab.training.advantages import estimate  # noqa: E402
from a2c_lab.training.agents import A2C  # noqa: E402
from a2c_lab.training.distributions import ActionSpec, for_actions  # noqa: E402
from a2c_lab.training.networks import ActorCritic  # noqa: E402
from a2c_lab.training.normalization import make_normalizer  # noqa: E402
from a2c_lab.training.rollout import Rollout  # noqa: E402
from a2c_lab.training.trainer import learn  # noqa: E402
from a2c_lab.validation import validate  # noqa: E402
from conftest import make_cfg  # noqa: E402

# Both sides compute the same float32 numbers in a different order and with different formulas
# (baddbmm vs nn.Linear, a Normal's log_prob vs a2c-lab's, numpy vs torch recursions, a mean vs a
# weighted sum): rounding differs by a few float32 ulps (~1e-7 relative). 1e-5 relative plus
# 1e-6 absolute (for numbers near 0) allows that; one RMSprop step moves a weight by ~lr / 0.1 =
# 7e-3, so a wrong gradient's sign or a missing term is thousands of times the tolerance.
TOLERANCE = dict(rtol=1e-5, atol=1e-6)
T, N = 5, 3
GAMMA = 0.99
# Episode ends (step, env): inside the rollout and at its last step, both kinds; env 1 runs
# through its last step, so its return is bootstrapped from V(last observation).
TERMINATED = [(1, 0), (4, 0), (2, 2)]
TRUNCATED = [(3, 1), (4, 2)]
SCALE = np.array([0.5, 3.0, 0.1, 8.0, 1.0])  # observations of very different scales per dimension

# a2c-lab's seed_state_dict names -> SB3's ActorCriticPolicy names (nn.Linear layout both).
SB3_NAMES = {"actor.0": "mlp_extractor.policy_net.0", "actor.1": "mlp_extractor.policy_net.2",
             "actor.2": "action_net", "critic.0": "mlp_extractor.value_net.0",
             "critic.1": "mlp_extractor.value_net.2", "critic.2": "value_net"}


def sb3_named(state):
    """a2c-lab's ``seed_state_dict`` layout -> SB3's policy ``state_dict`` names."""
    named = {}
    for key, value in state.items():
        layer, part = key.rsplit(".", 1)
        named["log_std" if key == "actor.log_std" else f"{SB3_NAMES[layer]}.{part}"] = value
    return named


def seed_grads(model):
    """Seed 0's gradients, named and shaped as ``seed_state_dict`` names and shapes its weights."""
    grads = {f"{name}.{k}.{part}": g for name, layers in model.layers.items() for k, layer in enumerate(layers)
             for part, g in (("weight", layer.weight.grad[0].T), ("bias", layer.bias.grad[0, 0]))}
    if model.log_std is not None:
        grads["actor.log_std"] = model.log_std.grad[0, 0]
    return sb3_named(grads)


class BoxSpaces(gym.Env):
    """A task with 5-d observations and 3-d Box actions: SB3 needs an env for the spaces; the
    rollout is given, never stepped (no MuJoCo needed)."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(5,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        return np.zeros(5, dtype=np.float32), {}

    def step(self, action):
        raise AssertionError("the rollout is given")


def synthetic_rollout(rng, obs_dim, spec):
    """Raw [T, N] arrays of one consistent rollout: obs[t + 1] is what env acts on after step t
    (a new episode's first observation after an end), final_obs[t] the true next one where an
    episode ended."""
    obs = (rng.normal(size=(T + 1, N, obs_dim)) * SCALE[:obs_dim]).astype(np.float32)
    final_obs = (rng.normal(size=(T, N, obs_dim)) * SCALE[:obs_dim]).astype(np.float32)
    if spec.discrete:
        actions = rng.integers(0, spec.size, size=(T, N))
    else:  # the unclipped Gaussian sample: some outside the Box, as both libraries store them
        actions = (1.5 * rng.normal(size=(T, N, spec.size))).astype(np.float32)
    rewards = rng.uniform(-1.0, 2.0, size=(T, N)).astype(np.float32)
    terminated, truncated = np.zeros((T, N), np.float32), np.zeros((T, N), np.float32)
    for t, i in TERMINATED:
        terminated[t, i] = 1.0
    for t, i in TRUNCATED:
        truncated[t, i] = 1.0
    ended = np.maximum(terminated, truncated)
    next_obs = np.where(ended[..., None] > 0, final_obs, obs[1:])
    return obs, actions, rewards, next_obs, terminated, truncated


def frozen_normalisation(cfg, rng, obs, next_obs, rewards):
    """obs_norm=obs_reward with frozen statistics: a Normalizer fed a warm-up stream, then only
    read, as VecNormalize(training=False) reads its own (normalize_obs, normalize_reward)."""
    dim = obs.shape[-1]
    norm = make_normalizer(cfg.obs_norm, cfg.gamma, 1, dim, N)
    valid = np.ones((1, N), dtype=bool)
    for _ in range(40):
        norm.observe(rng.normal(size=(1, N, dim)) * SCALE[:dim] + 1.0, valid)
        norm.scale_rewards(rng.uniform(-1.0, 2.0, size=(1, N)), rng.random((1, N)) < 0.1, valid)
    assert norm.obs_rms.count[0] > 100 and norm.ret_rms.var[0] != 1.0  # not the initial statistics
    reward_std = np.sqrt(norm.ret_rms.var[0] + cfg.obs_norm.epsilon)
    scaled = np.clip(rewards / reward_std, -cfg.obs_norm.clip, cfg.obs_norm.clip).astype(np.float32)
    return norm.normalize(obs[None])[0], norm.normalize(next_obs[None])[0], scaled


def sb3_update(sb3, obs, actions, rewards, next_obs, terminated, truncated, monkeypatch):
    """Fill SB3's RolloutBuffer as collect_rollouts does, then run its train(). Returns the
    buffer's advantages, returns and values [T, N], the losses train() logged, the gradient norm
    before clipping and the (clipped) gradients the optimizer stepped on."""
    policy, buffer = sb3.policy, sb3.rollout_buffer
    ended = np.maximum(terminated, truncated) > 0

    def value(x):
        with torch.no_grad():
            return policy.predict_values(torch.as_tensor(x))

    buffer.reset()
    for t in range(T):
        step_rewards = rewards[t].copy()
        for i in np.flatnonzero((truncated[t] > 0) & (terminated[t] == 0)):  # TimeLimit.truncated
            step_rewards[i] += GAMMA * value(next_obs[t, i][None])[0].item()
        episode_starts = ended[t - 1] if t > 0 else np.zeros(N, dtype=bool)
        buffer.add(obs[t], np.asarray(actions[t]), step_rewards, episode_starts, value(obs[t]), torch.zeros(N))
    buffer.compute_returns_and_advantage(last_values=value(obs[T]), dones=ended[T - 1])
    # [T, N] copies: train()'s buffer.get() flattens the buffer's arrays in place.
    estimated = {name: getattr(buffer, name).copy() for name in ("advantages", "returns", "values")}

    seen = {}
    clip = torch.nn.utils.clip_grad_norm_

    def recording_clip(parameters, max_norm, *args, **kwargs):
        parameters = list(parameters)
        seen["norm"] = clip(parameters, max_norm, *args, **kwargs).item()
        seen["grads"] = {name: p.grad.clone() for name, p in policy.named_parameters()}
        return seen["norm"]

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", recording_clip)
    sb3.set_logger(Logger(folder=None, output_formats=[]))
    sb3.train()
    monkeypatch.undo()
    return estimated, dict(sb3.logger.name_to_value), seen["norm"], seen["grads"]


CASES = {"categorical": ("CartPole-v1", ()), "gaussian": ("box", ("obs_norm=obs_reward",))}


@pytest.mark.parametrize("ent_coef", [0.0, 0.01])
@pytest.mark.parametrize("case", list(CASES))
def test_one_update_matches_sb3(case, ent_coef, monkeypatch):
    task, overrides = CASES[case]
    cfg = validate(make_cfg("experiment=sb3_a2c", f"envs.num_envs={N}", f"agent.ent_coef={ent_coef}", *overrides))
    env_fn = (lambda: gym.make(task)) if task != "box" else BoxSpaces
    venv = DummyVecEnv([env_fn] * N)
    space = venv.action_space
    spec = (ActionSpec(True, int(space.n)) if isinstance(space, gym.spaces.Discrete)
            else ActionSpec(False, space.shape[0], space.low, space.high))
    obs_dim = venv.observation_space.shape[0]
    rng = np.random.default_rng(18)
    obs, actions, rewards, next_obs, terminated, truncated = synthetic_rollout(rng, obs_dim, spec)
    if cfg.obs_norm.name.value == "obs_reward":
        obs, next_obs, rewards = frozen_normalisation(cfg, rng, obs, next_obs, rewards)

    # SB3's defaults, but for the entropy coefficient the case sets (also set on a2c-lab's side).
    sb3 = SB3A2C("MlpPolicy", venv, ent_coef=ent_coef, device="cpu")
    dist = for_actions(spec)
    model = ActorCritic(obs_dim, spec.size, cfg.network, init_seeds=[5], log_std=dist.learns_log_std)
    agent = A2C(model, cfg.agent, distribution=dist)
    # The initialisation the preset maps: SB3's own initial weights are orthogonal with a2c-lab's
    # gains (the same singular values: sqrt(2) hidden, 0.01 action_net, 1 value_net), biases
    # zero, log_std log_std_init. Then SB3 takes a2c-lab's weights themselves.
    fresh = sb3.policy.state_dict()
    for name, ours in sb3_named(model.seed_state_dict(0)).items():
        if ours.dim() == 2:
            torch.testing.assert_close(torch.linalg.svdvals(ours.double()), torch.linalg.svdvals(fresh[name].double()),
                                       **TOLERANCE, msg=lambda msg: f"initial {name}: {msg}")
        else:
            torch.testing.assert_close(ours, fresh[name], rtol=0, atol=0, msg=lambda msg: f"initial {name}: {msg}")
    sb3.policy.load_state_dict(sb3_named(model.seed_state_dict(0)), strict=True)
    initial = {k: v.clone() for k, v in sb3.policy.state_dict().items()}

    estimated, logged, sb3_norm, sb3_grads = sb3_update(sb3, obs, actions, rewards, next_obs, terminated, truncated,
                                                     monkeypatch)

    def per_seed(x):  # [T, N, ...] -> [T, 1, N, ...]
        return torch.as_tensor(np.asarray(x))[:, None]
    rollout = Rollout(obs=per_seed(obs[:T]), actions=per_seed(actions), rewards=per_seed(rewards),
                      next_obs=per_seed(next_obs), terminated=per_seed(terminated), truncated=per_seed(truncated),
                      mask=torch.ones(T, 1, N))
    out = agent.evaluate(rollout)  # no side effect: the estimate learn() makes, to compare it
    terminated = rollout.terminated if cfg.bootstrap_truncated else rollout.dones
    advantages, returns = estimate(cfg.advantage, cfg.gamma, rewards=rollout.rewards, values=out.values.detach(),
                                   next_values=out.next_values, terminated=terminated, dones=rollout.dones)
    row = learn(agent, rollout, cfg, progress=0.0).rows[0]

    for ours, name in ((advantages, "advantages"), (returns, "returns"), (out.values, "values")):
        torch.testing.assert_close(ours[:, 0].detach(), torch.as_tensor(estimated[name]), **TOLERANCE,
                                   msg=lambda msg: f"{name}: {msg}")

    entropy = -logged["train/entropy_loss"]
    for key, theirs in ((m.POLICY_LOSS, logged["train/policy_loss"]), (m.VALUE_LOSS, logged["train/value_loss"]),
                        (m.ENTROPY, entropy), (m.GRAD_NORM, sb3_norm)):
        assert row[key] == pytest.approx(theirs, rel=TOLERANCE["rtol"], abs=TOLERANCE["atol"]), key

    ours_grads = seed_grads(model)
    assert ours_grads.keys() == sb3_grads.keys()
    for name, grad in sb3_grads.items():
        torch.testing.assert_close(ours_grads[name], grad, **TOLERANCE, msg=lambda msg: f"gradient of {name}: {msg}")
    after = sb3_named(model.seed_state_dict(0))
    for name, param in sb3.policy.state_dict().items():
        torch.testing.assert_close(after[name], param, **TOLERANCE, msg=lambda msg: f"{name} after the step: {msg}")
        assert not torch.allclose(param, initial[name], **TOLERANCE), f"{name} did not move: the check means nothing"
