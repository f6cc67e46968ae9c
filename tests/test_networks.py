"""The stacked forward seed by seed, the sampler's distribution, and greedy actions."""

from pathlib import Path

import numpy as np
import pytest
import torch

from a2c_lab.config import Activation, AgentConfig, HeadConfig, NetworkConfig
from a2c_lab.training.agents import A2C
from a2c_lab.training.networks import ActorCritic
from a2c_lab.validation import validate
from conftest import CONF_DIR, make_cfg

NETWORKS = sorted(p.stem for p in (Path(CONF_DIR) / "network").glob("*.yaml"))


def network_config(name: str) -> NetworkConfig:
    overrides = [f"network={name}"] + (["agent=shared"] if name.startswith("trunk") else [])
    return validate(make_cfg(*overrides)).network


@pytest.mark.parametrize("name", NETWORKS + ["relu_trunk"])
def test_one_seed_alone_gives_its_slice_of_the_stack(name):
    """The stacked forward is S networks side by side: seed s alone (``seed_index``) gives what
    the stack gives in row s. Batched matmuls over 1 or 3 seeds may sum in other orders: a
    stated tolerance for logits of order 1."""
    if name == "relu_trunk":
        cfg = NetworkConfig(trunk=HeadConfig(hidden=[32], activation=Activation.relu),
                            actor=HeadConfig(hidden=[16], activation=Activation.relu))
    else:
        cfg = network_config(name)
    model = ActorCritic(6, 3, cfg, init_seeds=[0, 1, 2])
    obs = torch.randn(3, 50, 6)
    stacked = model.policy_logits(obs)
    for s in range(3):
        torch.testing.assert_close(model.policy_logits(obs[s:s + 1], seed_index=s), stacked[s:s + 1],
                                   rtol=1e-5, atol=1e-6)
    alone = ActorCritic(6, 3, cfg, init_seeds=[1])  # seed 1's network built alone: the same weights
    for (w, b, _), (w1, b1, _) in zip(model.layers["actor"], alone.layers["actor"]):
        assert torch.equal(w[1], w1[0]) and torch.equal(b[1], b1[0])  # the same draws, copied: exact


def test_gumbel_max_sampler_draws_from_the_softmax():
    """Every step of a rollout's sampler draws from softmax(logits) of that step's obs."""
    torch.manual_seed(0)
    model = ActorCritic(3, 4, NetworkConfig())
    agent = A2C(model, AgentConfig())
    obs = [np.repeat(torch.randn(1, 1, 3).numpy(), 100_000, axis=1) for _ in range(3)]  # [S=1, N, D]
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
    # Greedy runs one seed's slice (seed_index), the reference the stack: other batched-matmul
    # orders, so where two actions tie to within rounding either argmax is right; the chosen
    # action's logit must be the maximum up to a tolerance (and differ from it clearly nowhere).
    np.testing.assert_allclose(logits[np.arange(len(obs)), chosen], logits.max(-1), rtol=0, atol=1e-5)
    assert (chosen == logits.argmax(-1)).mean() > 0.95  # and it is not, say, always action 0
