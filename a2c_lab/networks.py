"""obs -> (policy logits, value) for S seeds at once: one definition of the network, every
weight stacked over seeds ([S, out, in]), and its policy forward in numpy for acting.

A group of seeds trains as one computation: each layer is one batched matmul (``baddbmm``)
over the seeds, so an op does S seeds' work for one dispatch. The seeds share nothing: seed s
reads and writes only slice s of every tensor, and its initial weights come from its own
generator (``init_seeds``), so they do not depend on which other seeds share the group.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional, Sequence

import numpy as np
import torch
from torch import nn

from a2c_lab.config import Activation, HeadConfig, Init, NetworkConfig

_TORCH = {Activation.tanh: torch.tanh, Activation.relu: torch.relu}
_NUMPY_IN_PLACE = {Activation.tanh: lambda x: np.tanh(x, out=x), Activation.relu: lambda x: np.maximum(x, 0, out=x)}


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
    Orthogonal init follows Stable-Baselines3: gain sqrt(2) hidden, 0.01 policy, 1 value.
    """

    def __init__(self, obs_dim: int, num_actions: int, cfg: NetworkConfig, init_seeds: Sequence[int] | None = None):
        super().__init__()
        trunk = _sizes(obs_dim, cfg.trunk)
        feature_dim = trunk[-1][1] if trunk else obs_dim
        actor = _sizes(feature_dim, cfg.actor)
        critic = _sizes(feature_dim, cfg.critic)
        actor.append((actor[-1][1] if actor else feature_dim, num_actions, None))
        critic.append((critic[-1][1] if critic else feature_dim, 1, None))
        towers = {"trunk": trunk, "actor": actor, "critic": critic}
        gains = {("actor", len(actor) - 1): 0.01, ("critic", len(critic) - 1): 1.0}

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

    @staticmethod
    def _forward_layers(layers: list[Layer], x: torch.Tensor) -> torch.Tensor:
        for weight, bias, activation in layers:
            x = torch.baddbmm(bias, x, weight)
            if activation is not None:
                x = _TORCH[activation](x)
        return x

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """obs [S, B, D] -> (logits [S, B, A], value [S, B])."""
        features = self._forward_layers(self.layers["trunk"], obs)
        return self._forward_layers(self.layers["actor"], features), self._forward_layers(self.layers["critic"], features).squeeze(-1)

    def policy_logits(self, obs: torch.Tensor) -> torch.Tensor:
        return self._forward_layers(self.layers["actor"], self._forward_layers(self.layers["trunk"], obs))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self._forward_layers(self.layers["critic"], self._forward_layers(self.layers["trunk"], obs)).squeeze(-1)

    def actor_parameters(self) -> list[nn.Parameter]:
        return [p for layer in self.layers["trunk"] + self.layers["actor"] for p in layer[:2]]

    def critic_parameters(self) -> list[nn.Parameter]:
        return [p for layer in self.layers["critic"] for p in layer[:2]]

    def seed_state_dict(self, seed_index: int) -> dict[str, torch.Tensor]:
        """One seed's weights, named ``<tower>.<layer>.weight|bias`` and shaped as an nn.Linear
        stack holds them (weight [out, in])."""
        return {f"{name}.{k}.{part}": tensor.detach().cpu().clone()
                for name, layers in self.layers.items() for k, layer in enumerate(layers)
                for part, tensor in (("weight", layer.weight[seed_index].T), ("bias", layer.bias[seed_index, 0]))}


class NumpyPolicy:
    """The policy's forward (trunk, actor tower) in numpy, for every seed at once, on the
    weights the model has when this is built.

    Why: acting runs one forward per env step on a handful of observations per seed. There
    torch's per-op dispatch (about 4 us an op here) is nearly the whole cost and numpy's is about
    1 us. Measured at the grouped benchmark setting (see scripts/benchmark.py and the comment
    at ``A2C.numpy_policy``). tests/test_networks.py checks it against the torch forward.

    On the CPU the arrays are views of the parameters' memory (no copy), so they follow every
    in-place update of the parameters; elsewhere they are copies of the weights at build time.
    """

    def __init__(self, model: ActorCritic):
        layers = model.layers["trunk"] + model.layers["actor"]
        self.hidden: list[tuple[np.ndarray, np.ndarray, Callable | None]] = [
            (weight.detach().cpu().numpy(), bias.detach().cpu().numpy(),
             _NUMPY_IN_PLACE[activation]) for weight, bias, activation in layers[:-1]]
        out = layers[-1]
        self.out_weight = out.weight.detach().cpu().numpy()  # [S, in, A]
        self.out_bias = out.bias.detach().cpu().numpy()  # [S, 1, A]

    def select(self, seed_index: int) -> "NumpyPolicy":
        """The same forward for one seed alone (views, no copy)."""
        one = object.__new__(NumpyPolicy)
        keep = slice(seed_index, seed_index + 1)
        one.hidden = [(w[keep], b[keep], activation) for w, b, activation in self.hidden]
        one.out_weight, one.out_bias = self.out_weight[keep], self.out_bias[keep]
        return one

    def logits(self, obs: np.ndarray, out_bias: np.ndarray | None = None) -> np.ndarray:
        """obs [S, B, D] float32 -> logits [S, B, A]; ``out_bias`` [S, B, A] replaces the output bias."""
        x = obs
        for weight, bias, activation in self.hidden:
            x = np.matmul(x, weight)
            x += bias
            activation(x)
        x = np.matmul(x, self.out_weight)
        x += self.out_bias if out_bias is None else out_bias
        return x
