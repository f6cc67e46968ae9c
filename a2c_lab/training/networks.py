"""obs -> (policy logits, value) for S seeds at once: one definition of the network, every
weight stacked over seeds ([S, in, out]), used alike for acting and for learning.

Acting in numpy (a second forward, on views of the weights) was measured at the grouped setting
(8 seeds x 8 envs, ``scripts/benchmark_groups.py``): worth +9% (1.04-1.18, 5 alternating
repeats) and +10% (0.86-1.30, 3 repeats) over this torch forward, not more than the 10% a
second implementation must gain to stay, so acting runs this forward too.

A group of seeds trains as one computation: each layer is one batched matmul (``baddbmm``)
over the seeds, so an op does S seeds' work for one dispatch. The seeds share nothing: seed s
reads and writes only slice s of every tensor, and its initial weights come from its own
generator (``init_seeds``), so they do not depend on which other seeds share the group.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence

import torch
from torch import nn

from a2c_lab.config import Activation, HeadConfig, Init, NetworkConfig

_TORCH = {Activation.tanh: torch.tanh, Activation.relu: torch.relu}


class Layer(NamedTuple):
    weight: nn.Parameter  # [S, in, out]: x @ weight, no transpose on the hot path
    bias: nn.Parameter  # [S, 1, out]: broadcast over the batch, no unsqueeze on the hot path
    activation: Optional[Activation]  # after the affine map; None for an output layer


def _affine(in_dim: int, out_dim: int, init: Init, gain: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One seed's layer, initialised from torch's global generator (seeded by the caller)."""
    linear = nn.Linear(in_dim, out_dim)  # torch's default init
    if init is Init.orthogonal:
        nn.init.orthogonal_(linear.weight, gain=gain)
        nn.init.zeros_(linear.bias)
    return linear.weight.detach(), linear.bias.detach()


def _sizes(in_dim: int, head: Optional[HeadConfig]) -> list[tuple[int, int, Optional[Activation]]]:
    sizes = []
    for size in head.hidden if head is not None else ():
        sizes.append((in_dim, size, head.activation))
        in_dim = size
    return sizes


class ActorCritic(nn.Module):
    """A policy tower and a value tower, optionally on top of a shared trunk, for S seeds.

    Without a trunk no parameter is shared between the towers (the notebook's two networks, or
    its two-tower ActorCritic): ``actor_parameters`` and ``critic_parameters`` are disjoint,
    which lets the split agent give each its own optimizer.

    ``init_seeds``: one torch seed per network; seed s's weights are drawn from
    ``torch.manual_seed(init_seeds[s])`` alone. None: one network from torch's global
    generator as it stands (what a test that calls ``torch.manual_seed`` expects).
    Orthogonal init follows Stable-Baselines3: gain sqrt(2) hidden, ``cfg.policy_gain`` (0.01)
    policy, 1 value.

    ``num_actions``: the policy's output size (logits, or a Gaussian's mean). ``log_std``: also
    learn a Gaussian policy's state-independent log standard deviation, one per action dimension
    and seed ([S, 1, A], from ``cfg.log_std_init``): an actor parameter like the policy tower's.
    """

    def __init__(self, obs_dim: int, num_actions: int, cfg: NetworkConfig, init_seeds: Sequence[int] | None = None,
                 log_std: bool = False):
        super().__init__()
        trunk = _sizes(obs_dim, cfg.trunk)
        feature_dim = trunk[-1][1] if trunk else obs_dim
        actor = _sizes(feature_dim, cfg.actor)
        critic = _sizes(feature_dim, cfg.critic)
        actor.append((actor[-1][1] if actor else feature_dim, num_actions, None))
        critic.append((critic[-1][1] if critic else feature_dim, 1, None))
        towers = {"trunk": trunk, "actor": actor, "critic": critic}
        gains = {("actor", len(actor) - 1): cfg.policy_gain, ("critic", len(critic) - 1): 1.0}

        def one_network() -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
            return {name: [_affine(i, o, cfg.init, gains.get((name, k), math.sqrt(2)))
                           for k, (i, o, _) in enumerate(sizes)] for name, sizes in towers.items()}

        if init_seeds is None:
            networks = [one_network()]
        else:
            networks = []
            for seed in init_seeds:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(int(seed))
                    networks.append(one_network())
        self.num_seeds = len(networks)
        self.weights = nn.ParameterList()
        self.layers: dict[str, list[Layer]] = {}
        for name, sizes in towers.items():
            self.layers[name] = []
            for k, (_, _, activation) in enumerate(sizes):
                weight = nn.Parameter(torch.stack([net[name][k][0].T for net in networks]))
                bias = nn.Parameter(torch.stack([net[name][k][1] for net in networks]).unsqueeze(1))
                self.weights.extend([weight, bias])
                self.layers[name].append(Layer(weight, bias, activation))
        self.log_std: nn.Parameter | None = None
        if log_std:
            self.log_std = nn.Parameter(torch.full((self.num_seeds, 1, num_actions), float(cfg.log_std_init)))
            self.weights.append(self.log_std)

    @staticmethod
    def _forward_layers(layers: list[Layer], x: torch.Tensor) -> torch.Tensor:
        for weight, bias, activation in layers:
            x = torch.baddbmm(bias, x, weight)
            if activation is not None:
                x = _TORCH[activation](x)
        return x

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """obs [S, B, D] -> (the policy's output [S, B, A], value [S, B])."""
        features = self._forward_layers(self.layers["trunk"], obs)
        value = self._forward_layers(self.layers["critic"], features).squeeze(-1)
        return self._forward_layers(self.layers["actor"], features), value

    def policy_logits(self, obs: torch.Tensor, seed_index: int | None = None) -> torch.Tensor:
        """obs [S, B, D] -> the policy's output [S, B, A] (Categorical logits, or a Gaussian's mean);
        with ``seed_index``, obs [1, B, D] for that seed alone."""
        trunk, actor = self.layers["trunk"], self.layers["actor"]
        if seed_index is not None:
            one = slice(seed_index, seed_index + 1)
            trunk, actor = ([Layer(w[one], b[one], a) for w, b, a in layers] for layers in (trunk, actor))
        return self._forward_layers(actor, self._forward_layers(trunk, obs))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self._forward_layers(self.layers["critic"], self._forward_layers(self.layers["trunk"], obs)).squeeze(-1)

    def actor_parameters(self) -> list[nn.Parameter]:
        layers = [p for layer in self.layers["trunk"] + self.layers["actor"] for p in layer[:2]]
        return layers + ([self.log_std] if self.log_std is not None else [])

    def critic_parameters(self) -> list[nn.Parameter]:
        return [p for layer in self.layers["critic"] for p in layer[:2]]

    def seed_state_dict(self, seed_index: int) -> dict[str, torch.Tensor]:
        """One seed's weights, named ``<tower>.<layer>.weight|bias`` and shaped as an nn.Linear
        stack holds them (weight [out, in]); a Gaussian policy's ``actor.log_std`` [A]."""
        state = {f"{name}.{k}.{part}": tensor.detach().cpu().clone()
                 for name, layers in self.layers.items() for k, layer in enumerate(layers)
                 for part, tensor in (("weight", layer.weight[seed_index].T), ("bias", layer.bias[seed_index, 0]))}
        if self.log_std is not None:
            state["actor.log_std"] = self.log_std[seed_index, 0].detach().cpu().clone()
        return state

    def load_seed_state_dict(self, seed_index: int, state: dict[str, torch.Tensor]) -> None:
        """Put one seed's ``seed_state_dict`` back into its slice (keys of other kinds are ignored)."""
        with torch.no_grad():
            for name, layers in self.layers.items():
                for k, layer in enumerate(layers):
                    layer.weight[seed_index].copy_(state[f"{name}.{k}.weight"].T)
                    layer.bias[seed_index, 0].copy_(state[f"{name}.{k}.bias"])
            if self.log_std is not None:
                self.log_std[seed_index, 0].copy_(state["actor.log_std"])
