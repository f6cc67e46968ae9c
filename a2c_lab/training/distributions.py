"""The policy's action distribution, decided in one place from the task's action space.

* ``Categorical`` (Discrete actions): the actor's output is the logits.
* ``DiagGaussian`` (Box actions): the actor's output is the mean; the log standard deviation is a
  learned parameter per action dimension that does not depend on the state (Stable-Baselines3's
  ``DiagGaussianDistribution``, CleanRL's ``actor_logstd``), stacked per seed ([S, 1, A]).

Both give the log-probability of an action and the entropy as sums over action dimensions, so the
update asks the distribution and never branches on the action type. Sampling takes noise drawn
beforehand from each seed's own numpy generator (a seed's actions never depend on its group):
Gumbel noise for the Categorical (argmax(logits + g) is an exact sample), standard normal noise
for the Gaussian (mean + std * z). A Gaussian sample is not clipped here: the env clips it to the
Box (``a2c_lab.training.envs``), and the log-probability is of the unclipped sample, as in SB3
and CleanRL. The greedy action is the mode: the argmax, or the mean.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from a2c_lab.runs import metrics as m

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class ActionSpec(NamedTuple):
    """What the policy needs to know of a task's action space (``a2c_lab.training.envs`` reads it)."""

    discrete: bool
    size: int  # number of actions (Discrete), or action dimensions (Box)
    low: np.ndarray | None = None  # [A] Box bounds; None for Discrete
    high: np.ndarray | None = None


class Categorical:
    """Discrete actions, int64 [...]; the actor's output is logits [..., A]."""

    learns_log_std = False

    def __init__(self, num_actions: int):
        self.size = num_actions

    def noise(self, rng: np.random.Generator, n_steps: int, num_envs: int) -> np.ndarray:
        return rng.gumbel(size=(n_steps, num_envs, self.size))

    def sample(self, logits: torch.Tensor, log_std: torch.Tensor | None, noise: torch.Tensor) -> torch.Tensor:
        return (logits + noise).argmax(-1)

    def mode(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.argmax(-1)

    def log_prob_and_entropy(self, logits: torch.Tensor, log_std: torch.Tensor | None, actions: torch.Tensor,
                             entropy_grad: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """log pi(a|s) and the entropy, each [...]; the entropy carries a gradient only if asked."""
        log_probs = logits.log_softmax(-1)
        action_log_prob = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        with torch.set_grad_enabled(entropy_grad and torch.is_grad_enabled()):
            entropy = -(log_probs.exp() * log_probs).sum(-1)
        return action_log_prob, entropy

    update_columns = m.UPDATE_COLUMNS

    def metrics(self, log_std: torch.Tensor | None, seeds: int) -> list[dict[str, float]]:
        """The update's metrics of the distribution itself, per seed: none for a Categorical."""
        return [{} for _ in range(seeds)]


class DiagGaussian:
    """Box actions, float32 [..., A]; the actor's output is the mean [..., A]."""

    learns_log_std = True

    def __init__(self, spec: ActionSpec):
        self.spec = spec  # the Box's bounds: a saved policy clips its greedy action to them
        self.size = spec.size

    def noise(self, rng: np.random.Generator, n_steps: int, num_envs: int) -> np.ndarray:
        return rng.standard_normal(size=(n_steps, num_envs, self.size))

    def sample(self, mean: torch.Tensor, log_std: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return mean + log_std.exp() * noise

    def mode(self, mean: torch.Tensor) -> torch.Tensor:
        return mean

    def log_prob_and_entropy(self, mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor,
                             entropy_grad: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Sums over the action dimensions of Normal(mean, exp(log_std)); ``log_std`` [S, 1, A]
        broadcasts against [..., S, N, A]. The entropy does not depend on the state."""
        z = (actions - mean) * (-log_std).exp()
        log_prob = (-0.5 * z.square() - log_std - _LOG_SQRT_2PI).sum(-1)
        with torch.set_grad_enabled(entropy_grad and torch.is_grad_enabled()):
            entropy = (0.5 + _LOG_SQRT_2PI + log_std).sum(-1).expand(log_prob.shape)
        return log_prob, entropy

    update_columns = m.GAUSSIAN_UPDATE_COLUMNS

    def metrics(self, log_std: torch.Tensor, seeds: int) -> list[dict[str, float]]:
        """Per seed: its standard deviation, averaged over action dimensions."""
        return [{m.POLICY_STD: std} for std in log_std.detach().exp().reshape(seeds, -1).mean(-1).tolist()]


Distribution = Categorical | DiagGaussian


def for_actions(spec: ActionSpec) -> Distribution:
    """The distribution of a task's action space: the one place that decides it."""
    return Categorical(spec.size) if spec.discrete else DiagGaussian(spec)
