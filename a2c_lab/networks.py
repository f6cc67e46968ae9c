"""obs -> (policy logits, value): towers, or a shared trunk with two heads; and the policy's
forward in numpy, for acting."""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from a2c_lab.config import Activation, HeadConfig, Init, NetworkConfig

_ACTIVATIONS = {Activation.tanh: nn.Tanh, Activation.relu: nn.ReLU}
_FUNCTIONS = {nn.Tanh: torch.tanh, nn.ReLU: torch.relu}
_NUMPY_IN_PLACE = {torch.tanh: lambda x: np.tanh(x, out=x), torch.relu: lambda x: np.maximum(x, 0, out=x)}

# (weight, bias, activation or None) per Linear layer
Layers = list[tuple[nn.Parameter, nn.Parameter, Optional[Callable[[torch.Tensor], torch.Tensor]]]]


def mlp(in_dim: int, head: HeadConfig) -> tuple[nn.Sequential, int]:
    """Hidden layers with an activation after each; returns the module and its output size."""
    layers: list[nn.Module] = []
    for size in head.hidden:
        layers += [nn.Linear(in_dim, size), _ACTIVATIONS[head.activation]()]
        in_dim = size
    return nn.Sequential(*layers), in_dim


def linear_layers(seq: nn.Sequential) -> Layers:
    """A Sequential of Linear layers, each optionally followed by an activation, as
    (weight, bias, activation function or None) triples for ``apply_layers``.

    The triples hold the Parameter objects themselves, which stay the module's parameters
    when their memory moves (``.to()``, ``flat_params.ParameterGroup``)."""
    layers: Layers = []
    for module in seq:
        if isinstance(module, nn.Linear):
            layers.append((module.weight, module.bias, None))
        else:
            layers[-1] = (*layers[-1][:2], _FUNCTIONS[type(module)])
    return layers


def apply_layers(layers: Layers, x: torch.Tensor) -> torch.Tensor:
    """The Sequential's forward, calling ``F.linear`` and the activation directly.

    Same numbers as calling the modules; skipping ``nn.Module.__call__`` (and its attribute
    lookups) saves about 4 us per layer, which on CartPole-sized batches is about half the
    cost of a forward pass.
    """
    for weight, bias, activation in layers:
        x = F.linear(x, weight, bias)
        if activation is not None:
            x = activation(x)
    return x


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
        self._trunk_layers = linear_layers(self.trunk)
        self._actor_layers = linear_layers(self.actor)
        self._critic_layers = linear_layers(self.critic)

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
        features = apply_layers(self._trunk_layers, obs)
        return apply_layers(self._actor_layers, features), apply_layers(self._critic_layers, features).squeeze(-1)

    def policy_logits(self, obs: torch.Tensor) -> torch.Tensor:
        return apply_layers(self._actor_layers, apply_layers(self._trunk_layers, obs))


    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return apply_layers(self._critic_layers, apply_layers(self._trunk_layers, obs)).squeeze(-1)

    def actor_parameters(self) -> list[nn.Parameter]:
        return list(self.trunk.parameters()) + list(self.actor.parameters())

    def critic_parameters(self) -> list[nn.Parameter]:
        return list(self.critic.parameters())


class NumpyPolicy:
    """The policy's forward (trunk, actor tower, policy_out) in numpy, on the weights the
    model has when this is built.

    Why: acting runs one forward per env step on a handful of observations. There torch's
    per-op dispatch (about 4 us an op here) is nearly the whole cost, and numpy's is about
    1 us: acting in numpy made training at 8 envs about 7% faster. The learner keeps the
    torch forward; tests/test_networks.py checks both give the same logits for every network.

    On the CPU the arrays are views of the parameters' memory (no copy), so they follow every
    in-place update of the parameters; elsewhere they are copies of the weights at build time.
    """

    def __init__(self, model: ActorCritic):
        *self.hidden, (self.out_weight_t, self.out_bias, _) = [
            (weight.detach().cpu().numpy().T, bias.detach().cpu().numpy(),
             None if activation is None else _NUMPY_IN_PLACE[activation])
            for weight, bias, activation in model._trunk_layers + model._actor_layers]

    def logits(self, obs: np.ndarray, out_bias: np.ndarray | None = None) -> np.ndarray:
        """obs [B, D] float32 -> logits [B, A]; ``out_bias`` [B, A] replaces policy_out's bias."""
        x = obs
        for weight_t, bias, activation in self.hidden:
            x = x @ weight_t
            x += bias
            if activation is not None:
                activation(x)
        x = x @ self.out_weight_t
        x += self.out_bias if out_bias is None else out_bias
        return x
