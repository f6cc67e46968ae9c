"""Advantage estimators: pure functions with one keyword signature on [T, ...] tensors.

Arguments (all float tensors of one shape [T, *batch]: T rollout steps by any batch of
trajectories, e.g. [T, N] for N envs or [T, S, N] for S seeds of N envs each):

``rewards[t]``       reward of step t.
``values[t]``        V(s_t), detached.
``next_values[t]``   V of the true next state of step t: V(s_{t+1}) inside an episode, V(final
                     observation) where the episode was truncated after step t.
``terminated[t]``    1 where that next state is terminal: no bootstrap from it.
``dones[t]``         1 where the trajectory ends after step t for any reason (terminated,
                     truncated, or a masked row): the backward recursion stops there.

All return ``(advantages, returns)`` with ``returns = advantages + values``. Nothing is
normalised here.

GAE (Schulman et al. 2016):
    delta_t = r_t + gamma (1 - terminated_t) next_values_t - values_t
    A_t     = delta_t + gamma lam (1 - dones_t) A_{t+1},   A_T = 0
lam = 0 gives the one-step TD error (``td``); lam = 1 gives the n-step bootstrapped return
minus V, bootstrapped from V of the rollout's last next state (``nstep``).
"""

from __future__ import annotations

import torch

from a2c_lab.config import AdvantageConfig, Estimator, ValueTarget


def gae(*, rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor,
        terminated: torch.Tensor, dones: torch.Tensor, gamma: float, lam: float
        ) -> tuple[torch.Tensor, torch.Tensor]:
    _check_shapes(rewards, values, next_values, terminated, dones)
    deltas = torch.addcmul(rewards, 1.0 - terminated, next_values, value=gamma).sub_(values)
    carry = (1.0 - dones).mul_(gamma * lam)  # how much of A_{t+1} flows back into A_t
    # The recursion over rows, on row views unbound once: one op a step (T is small).
    delta_rows, carry_rows = deltas.unbind(0), carry.unbind(0)
    future = delta_rows[-1]
    rows = [future]
    for t in range(len(delta_rows) - 2, -1, -1):
        future = torch.addcmul(delta_rows[t], carry_rows[t], future)  # delta + carry * future
        rows.append(future)
    advantages = torch.stack(rows[::-1])
    return advantages, advantages + values


def td(*, rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor,
       terminated: torch.Tensor, dones: torch.Tensor, gamma: float
       ) -> tuple[torch.Tensor, torch.Tensor]:
    """One-step TD error; equals ``gae(lam=0)``. ``dones`` is accepted for the common signature."""
    _check_shapes(rewards, values, next_values, terminated, dones)
    advantages = torch.addcmul(rewards, 1.0 - terminated, next_values, value=gamma).sub_(values)
    return advantages, advantages + values


def nstep(*, rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor,
          terminated: torch.Tensor, dones: torch.Tensor, gamma: float
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """n-step bootstrapped return minus V over the rollout; equals ``gae(lam=1)``."""
    return gae(rewards=rewards, values=values, next_values=next_values,
               terminated=terminated, dones=dones, gamma=gamma, lam=1.0)


def _check_shapes(*tensors: torch.Tensor) -> None:
    shape = tensors[0].shape
    if len(shape) < 2 or any(t.shape != shape for t in tensors):
        raise ValueError(f"estimators take [T, ...] tensors of one shape, got {[tuple(t.shape) for t in tensors]}")


def estimate(cfg: AdvantageConfig, gamma: float, **tensors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The configured estimator's advantages and the critic's regression target.

    ``tensors`` are the estimators' keyword arguments. The value target is either the
    estimator's own returns or, as the notebook does whatever the actor's estimator, the
    n-step bootstrapped return.
    """
    if cfg.name is Estimator.gae:
        advantages, returns = gae(**tensors, gamma=gamma, lam=cfg.lam)
    else:
        advantages, returns = (td if cfg.name is Estimator.td else nstep)(**tensors, gamma=gamma)
    if cfg.value_target is ValueTarget.nstep and cfg.name is not Estimator.nstep:
        _, returns = nstep(**tensors, gamma=gamma)
    return advantages, returns
