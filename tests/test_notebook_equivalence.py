"""One update of each notebook preset equals the notebook's own code on the same batch.

The reference below follows the notebook's train()/compute_gae()/compute_advantages() line
by line (softmax + Categorical, v2[-1] bootstrap, torch.std normalisation, F.mse_loss,
two backward passes for the split agent), applied to copies of the same initial weights.

The two are different computations of the same update, so weights are compared with a
stated tolerance (TOLERANCE), never bit for bit.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical

from a2c_lab.config import Activation
from a2c_lab.training.agents import A2C
from a2c_lab.training.networks import ActorCritic
from a2c_lab.training.rollout import Rollout
from a2c_lab.training.trainer import learn
from a2c_lab.validation import validate
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
    """A consistent rollout of one seed: inside an episode next_obs[t] is obs[t + 1]. [T, N]."""
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


def grouped(rollouts):
    """Per-seed [T, N] rollouts -> one [T, S, N] rollout, as the collector gives a group."""
    return Rollout(*(torch.stack(parts, dim=1) for parts in zip(*rollouts)))


def notebook_towers(model, seed_index):
    """One seed's towers as the notebook builds them: nn.Sequential of Linear and activation
    modules, holding a copy of that seed's weights."""
    def tower(name):
        modules = []
        for weight, bias, activation in model.layers[name]:
            linear = nn.Linear(weight.shape[1], weight.shape[2])  # a2c-lab stores [S, in, out]
            linear.weight.data.copy_(weight[seed_index].detach().T)
            linear.bias.data.copy_(bias[seed_index, 0].detach())
            modules.append(linear)
            if activation is not None:
                modules.append(nn.Tanh() if activation is Activation.tanh else nn.ReLU())
        return nn.Sequential(*modules)
    return tower("actor"), tower("critic")


def seed_weights(model, seed_index):
    """One seed's weights in nn.Linear's layout (weight [out, in])."""
    return [p.detach().clone() for name in ("actor", "critic") for layer in model.layers[name]
            for p in (layer.weight[seed_index].T, layer.bias[seed_index, 0])]


def harness_update(cfg, model, rollout):
    """What the trainer does with one rollout."""
    return learn(A2C(model, cfg.agent), rollout, cfg, progress=0.0)


SEEDS = [[0], [3, 1, 4]]  # one run alone, and a group of three (the grouped path)


@pytest.mark.parametrize("init_seeds", SEEDS, ids=["alone", "group"])
@pytest.mark.parametrize("experiment,envs", [("notebook_shared", 1), ("notebook_vectorized", 8)])
def test_shared_agent_matches_notebook(experiment, envs, init_seeds):
    cfg = validate(make_cfg(f"experiment={experiment}"))
    model = ActorCritic(4, 2, cfg.network, init_seeds=init_seeds)
    references = [notebook_towers(model, s) for s in range(len(init_seeds))]
    initial = [seed_weights(model, s) for s in range(len(init_seeds))]
    rollouts = [random_rollout(cfg.n_steps, envs, 4, seed=1 + s) for s in range(len(init_seeds))]
    harness_update(cfg, model, grouped(rollouts))

    for s, ((actor, critic), rollout) in enumerate(zip(references, rollouts)):
        # --- the notebook's SharedA2C.train, on seed s's weights and rollout alone ---
        optimizer = torch.optim.Adam([*actor.parameters(), *critic.parameters()], lr=7e-4)
        states, next_states = rollout.obs, rollout.next_obs
        rewards, dones = rollout.rewards.unsqueeze(-1), rollout.dones.unsqueeze(-1)
        probs = Categorical(F.softmax(actor(states), dim=-1))
        v = critic(states)
        with torch.no_grad():
            v2 = critic(next_states)
        advantages, returns = notebook_returns_and_advantages(rewards, dones, v, v2, 0.99, 0.95)
        logp = -probs.log_prob(rollout.actions.float())
        policy_loss = (logp.unsqueeze(-1) * advantages.detach()).mean()
        value_loss = 0.5 * F.mse_loss(v, returns.detach())
        entropy_loss = -0.005 * probs.entropy().mean()
        optimizer.zero_grad()
        (policy_loss + entropy_loss + value_loss).backward()
        optimizer.step()

        theirs = [p.detach() for p in (*actor.parameters(), *critic.parameters())]
        for k, (ours, reference) in enumerate(zip(seed_weights(model, s), theirs)):
            torch.testing.assert_close(ours, reference, **TOLERANCE, msg=f"seed {s}, tensor {k}")
        # The update moved the weights by far more than the tolerance (or the check above means nothing).
        assert all(not torch.allclose(a, b, **TOLERANCE) for a, b in zip(seed_weights(model, s), initial[s]))


@pytest.mark.parametrize("init_seeds", SEEDS, ids=["alone", "group"])
def test_split_agent_matches_notebook(init_seeds):
    cfg = validate(make_cfg("experiment=notebook_split"))
    model = ActorCritic(4, 2, cfg.network, init_seeds=init_seeds)
    references = [notebook_towers(model, s) for s in range(len(init_seeds))]
    rollouts = [random_rollout(cfg.n_steps, 1, 4, seed=2 + s) for s in range(len(init_seeds))]
    harness_update(cfg, model, grouped(rollouts))

    for s, ((actor, critic), rollout) in enumerate(zip(references, rollouts)):
        # --- the notebook's A2C.train: two networks, two optimizers, two backward passes ---
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

        theirs = [p.detach() for p in (*actor.parameters(), *critic.parameters())]
        for k, (ours, reference) in enumerate(zip(seed_weights(model, s), theirs)):
            torch.testing.assert_close(ours, reference, **TOLERANCE, msg=f"seed {s}, tensor {k}")
