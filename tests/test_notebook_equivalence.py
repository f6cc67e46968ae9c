"""One update of each notebook preset equals the notebook's own code on the same batch.

The reference below follows the notebook's train()/compute_gae()/compute_advantages() line
by line (softmax + Categorical, v2[-1] bootstrap, torch.std normalisation, F.mse_loss,
two backward passes for the split agent), applied to copies of the same initial weights.

The two are different computations of the same update, so weights are compared with a
stated tolerance (TOLERANCE), never bit for bit.
"""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Categorical

from a2c_lab.agents import A2C
from a2c_lab.config import validate
from a2c_lab.networks import ActorCritic
from a2c_lab.rollout import Rollout
from a2c_lab.trainer import learn
from conftest import make_cfg

# One Adam step moves each weight by about lr (7e-4 or 5e-4), whatever its gradient's size;
# two computations of the same gradient give the same step up to float32 rounding of the
# weight (~1e-7). 1e-5 allows that and still catches an error of 1/50 of a step.
TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def notebook_returns_and_advantages(rewards, dones, v, v2, gamma, lam):
    """compute_gae (lam given) or compute_advantages (lam None) from the notebook, [T, N, 1]."""
    T = len(rewards)
    returns = torch.zeros_like(rewards)
    gaes = torch.zeros_like(rewards)
    future_gae = torch.tensor(0.0, dtype=rewards.dtype)
    next_return = v2[-1].clone()
    not_dones = 1 - dones
    deltas = rewards + not_dones * gamma * v2 - v
    for t in reversed(range(T)):
        returns[t] = next_return = rewards[t] + gamma * not_dones[t] * next_return
        if lam is not None:
            gaes[t] = future_gae = deltas[t] + gamma * lam * not_dones[t] * future_gae
    advantages = gaes if lam is not None else deltas
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return advantages, returns


def random_rollout(steps, envs, obs_dim, seed):
    """A consistent rollout: inside an episode next_obs[t] is obs[t + 1]."""
    g = torch.Generator().manual_seed(seed)
    terminated = (torch.rand(steps, envs, generator=g) < 0.15).float()
    truncated = (torch.rand(steps, envs, generator=g) < 0.1).float() * (1 - terminated)
    obs = torch.randn(steps + 1, envs, obs_dim, generator=g)
    final_obs = torch.randn(steps, envs, obs_dim, generator=g)
    ended = torch.maximum(terminated, truncated).unsqueeze(-1)
    next_obs = ended * final_obs + (1 - ended) * obs[1:]
    return Rollout(obs=obs[:-1], actions=torch.randint(0, 2, (steps, envs), generator=g),
                   rewards=torch.ones(steps, envs), next_obs=next_obs,
                   terminated=terminated, truncated=truncated, mask=torch.ones(steps, envs))


def harness_update(cfg, model, rollout):
    """What the trainer does with one rollout."""
    return learn(A2C(model, cfg.agent), rollout, cfg, progress=0.0)


@pytest.mark.parametrize("experiment,envs", [("notebook_shared", 1), ("notebook_vectorized", 8)])
def test_shared_agent_matches_notebook(experiment, envs):
    cfg = validate(make_cfg(f"experiment={experiment}"))
    torch.manual_seed(0)
    model = ActorCritic(4, 2, cfg.network)
    reference = copy.deepcopy(model)
    initial = copy.deepcopy(model)
    rollout = random_rollout(cfg.n_steps, envs, 4, seed=1)
    harness_update(cfg, model, rollout)

    # --- the notebook's SharedA2C.train ---
    optimizer = torch.optim.Adam(reference.parameters(), lr=7e-4)
    states, next_states = rollout.obs, rollout.next_obs
    rewards, dones = rollout.rewards.unsqueeze(-1), rollout.dones.unsqueeze(-1)
    probs = Categorical(F.softmax(reference.actor(states), dim=-1))
    v = reference.critic(states)
    with torch.no_grad():
        v2 = reference.critic(next_states)
    advantages, returns = notebook_returns_and_advantages(rewards, dones, v, v2, 0.99, 0.95)
    logp = -probs.log_prob(rollout.actions.float())
    policy_loss = (logp.unsqueeze(-1) * advantages.detach()).mean()
    value_loss = 0.5 * F.mse_loss(v, returns.detach())
    entropy_loss = -0.005 * probs.entropy().mean()
    optimizer.zero_grad()
    (policy_loss + entropy_loss + value_loss).backward()
    optimizer.step()

    for (name, ours), theirs in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(ours, theirs, **TOLERANCE, msg=name)
    # The update moved the weights by far more than the tolerance (or the check above means nothing).
    assert all(not torch.allclose(a, b, **TOLERANCE) for a, b in zip(model.parameters(), initial.parameters()))


def test_split_agent_matches_notebook():
    cfg = validate(make_cfg("experiment=notebook_split"))
    torch.manual_seed(0)
    model = ActorCritic(4, 2, cfg.network)
    reference = copy.deepcopy(model)
    rollout = random_rollout(cfg.n_steps, 1, 4, seed=2)
    harness_update(cfg, model, rollout)

    # --- the notebook's A2C.train: two networks, two optimizers, two backward passes ---
    actor, critic = reference.actor, reference.critic
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=5e-4)
    critic_optimizer = torch.optim.Adam(critic.parameters(), lr=7e-4)
    states, next_states = rollout.obs[:, 0], rollout.next_obs[:, 0]
    rewards, dones = rollout.rewards[:, 0].unsqueeze(-1), rollout.dones[:, 0].unsqueeze(-1)
    v = critic(states)
    with torch.no_grad():
        v2 = critic(next_states)
    advantages, returns = notebook_returns_and_advantages(rewards, dones, v, v2, 0.99, None)
    probs = Categorical(F.softmax(actor(states), dim=1))
    logp = -probs.log_prob(rollout.actions[:, 0].float())
    policy_loss = (logp.unsqueeze(-1) * advantages.detach()).mean()
    value_loss = F.mse_loss(v, returns.detach())
    entropy_loss = -0.005 * probs.entropy().mean()
    actor_optimizer.zero_grad()
    (policy_loss + entropy_loss).backward()
    actor_optimizer.step()
    critic_optimizer.zero_grad()
    value_loss.backward()
    critic_optimizer.step()

    for (name, ours), theirs in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(ours, theirs, **TOLERANCE, msg=name)
