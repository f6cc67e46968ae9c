"""obs -> (policy logits, value): towers, or a shared trunk with two heads."""

from __future__ import annotations

import math

import torch
from torch import nn

from a2c_lab.config import Activation, HeadConfig, Init, NetworkConfig

_ACTIVATIONS = {Activation.tanh: nn.Tanh, Activation.relu: nn.ReLU}


def mlp(in_dim: int, head: HeadConfig) -> tuple[nn.Sequential, int]:
    """Hidden layers with an activation after each; returns the module and its output size."""
    layers: list[nn.Module] = []
    for size in head.hidden:
        layers += [nn.Linear(in_dim, size), _ACTIVATIONS[head.activation]()]
        in_dim = size
    return nn.Sequential(*layers), in_dim


class ActorCritic(nn.Module):
    """A policy tower and a value tower, optionally on top of a shared trunk.

    Without a trunk no parameter is shared (the notebook's two networks, or its two-tower
    ActorCritic); ``actor_parameters`` and ``critic_parameters`` are then disjoint, which
    is what lets the split agent give each its own optimizer.
    """

    def __init__(self, obs_dim: int, num_actions: int, cfg: NetworkConfig):
        super().__init__()
        if cfg.trunk is not None:
            self.trunk, feature_dim = mlp(obs_dim, cfg.trunk)
        else:
            self.trunk, feature_dim = nn.Sequential(), obs_dim
        actor_body, actor_dim = mlp(feature_dim, cfg.actor)
        critic_body, critic_dim = mlp(feature_dim, cfg.critic)
        self.policy_out = nn.Linear(actor_dim, num_actions)
        self.value_out = nn.Linear(critic_dim, 1)
        self.actor = nn.Sequential(*actor_body, self.policy_out)
        self.critic = nn.Sequential(*critic_body, self.value_out)
        if cfg.init is Init.orthogonal:
            self._orthogonal_init()

    def _orthogonal_init(self) -> None:
        """Stable-Baselines3's scheme: gain sqrt(2) for hidden layers, 0.01 policy, 1 value."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.orthogonal_(module.weight, gain=math.sqrt(2))
                nn.init.zeros_(module.bias)
        nn.init.orthogonal_(self.policy_out.weight, gain=0.01)
        nn.init.orthogonal_(self.value_out.weight, gain=1.0)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """obs [B, D] -> (logits [B, A], value [B])."""
        features = self.trunk(obs)
        return self.actor(features), self.critic(features).squeeze(-1)

    def policy_logits(self, obs: torch.Tensor) -> torch.Tensor:
        return self.actor(self.trunk(obs))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(self.trunk(obs)).squeeze(-1)

    def actor_parameters(self) -> list[nn.Parameter]:
        return list(self.trunk.parameters()) + list(self.actor.parameters())

    def critic_parameters(self) -> list[nn.Parameter]:
        return list(self.critic.parameters())
