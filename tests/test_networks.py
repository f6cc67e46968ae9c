"""The numpy acting forward against the torch forward, and the sampler's distribution."""

from pathlib import Path

import numpy as np
import pytest
import torch

from a2c_lab.agents import A2C
from a2c_lab.config import Activation, AgentConfig, HeadConfig, NetworkConfig, validate
from a2c_lab.networks import ActorCritic, NumpyPolicy
from conftest import CONF_DIR, make_cfg

NETWORKS = sorted(p.stem for p in (Path(CONF_DIR) / "network").glob("*.yaml"))


def network_config(name: str) -> NetworkConfig:
    overrides = [f"network={name}"] + (["agent=shared"] if name.startswith("trunk") else [])
    return validate(make_cfg(*overrides)).network


@pytest.mark.parametrize("name", NETWORKS + ["relu_trunk"])
def test_numpy_policy_gives_the_torch_logits(name):
    if name == "relu_trunk":
        cfg = NetworkConfig(trunk=HeadConfig(hidden=[32], activation=Activation.relu),
                            actor=HeadConfig(hidden=[16], activation=Activation.relu))
    else:
        cfg = network_config(name)
    model = ActorCritic(6, 3, cfg, init_seeds=[0, 1, 2])  # three seeds' networks, stacked
    obs = torch.randn(3, 50, 6)
    expected = model.policy_logits(obs).detach().numpy()
    # numpy's matmul against torch's: float32 sums in other orders, logits of size ~1.
    np.testing.assert_allclose(NumpyPolicy(model).logits(obs.numpy()), expected, rtol=1e-5, atol=1e-6)
    bias = np.random.default_rng(0).standard_normal((3, 50, 3)).astype(np.float32)
    out_bias = model.layers["actor"][-1].bias.detach().numpy()  # [S, 1, A]
    np.testing.assert_allclose(NumpyPolicy(model).logits(obs.numpy(), out_bias=bias),
                               expected - out_bias + bias, rtol=1e-5, atol=1e-5)
    one = NumpyPolicy(model).select(1)  # one seed alone: the same numbers as inside the stack
    np.testing.assert_allclose(one.logits(obs[1:2].numpy()), expected[1:2], rtol=1e-5, atol=1e-6)


def test_agents_numpy_policy_follows_the_optimizer():
    """On the CPU the agent keeps one NumpyPolicy whose arrays are views of the parameters:
    after an in-place step (what the optimizers do) it gives the new logits."""
    torch.manual_seed(0)
    model = ActorCritic(4, 2, NetworkConfig())
    agent = A2C(model, AgentConfig())
    policy = agent.numpy_policy()
    obs = np.ones((1, 1, 4), dtype=np.float32)
    before = policy.logits(obs).copy()
    with torch.no_grad():  # an in-place step, as torch.optim takes one
        for p in agent.groups[0]:
            p.add_(0.1)
    assert agent.numpy_policy() is policy
    assert not np.allclose(policy.logits(obs), before)
    # numpy against torch (see above); atol for logits near 0, where rtol alone allows nothing.
    np.testing.assert_allclose(policy.logits(obs), model.policy_logits(torch.from_numpy(obs)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_gumbel_max_sampler_draws_from_the_softmax():
    """Every step of a rollout's sampler draws from softmax(logits) of that step's obs."""
    torch.manual_seed(0)
    model = ActorCritic(3, 4, NetworkConfig())
    agent = A2C(model, AgentConfig())
    obs = [np.repeat(torch.randn(1, 1, 3).numpy(), 100_000, axis=1) for _ in range(3)]
    sample = agent.sampler(n_steps=3, num_envs=100_000)
    for step_obs in obs:
        actions = sample(step_obs)[0]
        probs = model.policy_logits(torch.from_numpy(step_obs[:, :1])).softmax(-1)[0, 0].detach().numpy()
        freq = np.bincount(actions, minlength=4) / len(actions)
        np.testing.assert_allclose(freq, probs, atol=6e-3)  # about 4 standard errors


def test_greedy_takes_the_most_likely_action():
    torch.manual_seed(0)
    model = ActorCritic(4, 3, NetworkConfig())
    obs = torch.randn(200, 4)
    logits = model.policy_logits(obs[None])[0].detach().numpy()
    chosen = A2C(model, AgentConfig()).greedy(0)(obs.numpy())
    # Greedy acts on numpy's logits, the reference is torch's: where two actions tie to within
    # rounding either argmax is right, so the chosen action's logit must be the maximum up to a
    # tolerance (and differ from it clearly nowhere).
    np.testing.assert_allclose(logits[np.arange(len(obs)), chosen], logits.max(-1), rtol=0, atol=1e-5)
    assert (chosen == logits.argmax(-1)).mean() > 0.95  # and it is not, say, always action 0
