"""The A2C update. Split and shared agents differ only in how parameters meet optimizers.

* ``shared``: one optimizer over every parameter, one combined loss
  ``policy + vf_coef * value - ent_coef * entropy``, clipping over all gradients.
* ``split``: the actor (policy tower) and the critic (value tower) each have their own
  optimizer, learning rate and gradient clipping; the actor minimises
  ``policy - ent_coef * entropy``, the critic ``vf_coef * value``.

Because the two towers share no parameters in the split case, one backward pass of the
summed loss gives each tower exactly the gradient of its own loss; the notebook's two
backward passes compute the same numbers with more work.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from a2c_lab import metrics as m
from a2c_lab.config import AgentConfig, AgentKind, OptimizerKind, Schedule
from a2c_lab.networks import ActorCritic
from a2c_lab.rollout import Rollout


class Forward(NamedTuple):
    logits: torch.Tensor  # [T*N, A] policy logits on rollout.obs, with grad
    values: torch.Tensor  # [T, N] V(obs), with grad
    next_values: torch.Tensor  # [T, N] V(true next obs), detached


def masked_mean(x: torch.Tensor, mask: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / count


def masked_var(x: torch.Tensor, mask: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Unbiased (n - 1) variance over the rows where mask is 1, as torch.std's default."""
    centred = x - masked_mean(x, mask, count)
    return (centred.square() * mask).sum() / (count - 1).clamp(min=1)


class A2C:
    def __init__(self, model: ActorCritic, cfg: AgentConfig):
        self.model = model
        self.cfg = cfg
        if cfg.name is AgentKind.split:
            critic_lr = cfg.critic_lr if cfg.critic_lr is not None else cfg.lr
            self.groups = [(model.actor_parameters(), cfg.lr), (model.critic_parameters(), critic_lr)]
        else:
            self.groups = [(list(model.parameters()), cfg.lr)]
        self.optimizers = [self._optimizer(params, lr) for params, lr in self.groups]

    def _optimizer(self, params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
        if self.cfg.optimizer is OptimizerKind.rmsprop:
            return torch.optim.RMSprop(params, lr=lr, alpha=self.cfg.rmsprop_alpha, eps=self.cfg.eps, foreach=True)
        return torch.optim.Adam(params, lr=lr, eps=self.cfg.eps, foreach=True)

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        """Sample actions [N] from the current policy, Categorical(softmax(logits)).

        Gumbel-max: argmax(logits + g) with g = -log(E), E ~ Exp(1), is an exact sample of
        that distribution, in three small ops instead of softmax + multinomial (about 12 us
        instead of 30 us at 8 envs).
        """
        logits = self.model.policy_logits(obs)
        return (logits - torch.empty_like(logits).exponential_().log()).argmax(-1)

    def greedy_act(self, obs: torch.Tensor) -> torch.Tensor:
        return self.model.policy_logits(obs).argmax(-1)

    def evaluate(self, rollout: Rollout) -> Forward:
        """One batched forward over obs and true next obs: logits, V(obs) and V(next obs)."""
        steps, envs = rollout.mask.shape
        obs = torch.cat([rollout.obs, rollout.next_obs]).flatten(0, 1)
        logits, values = self.model(obs)
        rows = steps * envs
        return Forward(logits[:rows], values[:rows].view(steps, envs),
                       values[rows:].detach().view(steps, envs))

    def update(self, rollout: Rollout, out: Forward, advantages: torch.Tensor, value_targets: torch.Tensor,
               normalize: bool, progress: float) -> dict[str, float]:
        """One gradient step. ``progress`` in [0, 1) drives the learning-rate schedule.

        Masked rows (NEXT_STEP's reset steps) stay out of every mean, of the advantage
        normalisation statistics and of the logged metrics.
        """
        cfg = self.cfg
        mask = rollout.mask.flatten()
        count = mask.sum()
        adv = advantages.flatten()
        adv_mean, adv_var = masked_mean(adv, mask, count), masked_var(adv, mask, count)
        if normalize:
            adv = (adv - adv_mean) / (adv_var.sqrt() + 1e-8)
        log_probs = out.logits.log_softmax(-1)
        action_log_probs = log_probs.gather(1, rollout.actions.flatten().unsqueeze(1)).squeeze(1)
        entropy = masked_mean(-(log_probs.exp() * log_probs).sum(-1), mask, count)
        policy_loss = -masked_mean(action_log_probs * adv, mask, count)
        values, targets = out.values.flatten(), value_targets.flatten()
        value_loss = masked_mean((values - targets).square(), mask, count)
        loss = policy_loss - cfg.ent_coef * entropy + cfg.vf_coef * value_loss

        lr_scale = 1.0 - progress if cfg.lr_schedule is Schedule.linear else 1.0
        for optimizer, (_, lr) in zip(self.optimizers, self.groups):
            optimizer.param_groups[0]["lr"] = lr * lr_scale
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        squared_norms = []
        for params, _ in self.groups:
            grads = [p.grad for p in params if p.grad is not None]
            if cfg.max_grad_norm is not None:
                norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm, foreach=True)
            else:
                norm = torch.nn.utils.get_total_norm(grads, foreach=True)
            squared_norms.append(norm.square())
        for optimizer in self.optimizers:
            optimizer.step()

        with torch.no_grad():
            residual_var = masked_var(targets - values, mask, count)
            explained_variance = 1.0 - residual_var / masked_var(targets, mask, count)
            numbers = torch.stack([policy_loss, value_loss, entropy, loss, sum(squared_norms).sqrt(),
                                   explained_variance, adv_mean, adv_var.sqrt()]).tolist()
        keys = (m.POLICY_LOSS, m.VALUE_LOSS, m.ENTROPY, m.TOTAL_LOSS, m.GRAD_NORM,
                m.EXPLAINED_VARIANCE, m.ADVANTAGE_MEAN, m.ADVANTAGE_STD)
        return {**dict(zip(keys, numbers)), m.LEARNING_RATE: self.groups[0][1] * lr_scale}
