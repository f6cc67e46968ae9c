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

import math
from typing import NamedTuple

import numpy as np
import torch
from torch.nn import functional as F

from a2c_lab import metrics as m
from a2c_lab.config import AgentConfig, AgentKind, OptimizerKind, Schedule
from a2c_lab.flat_params import FlatAdam, FlatRMSprop, ParameterGroup
from a2c_lab.networks import ActorCritic, NumpyPolicy
from a2c_lab.outcomes import Diverged
from a2c_lab.rollout import Policy, Rollout


class Forward(NamedTuple):
    logits: torch.Tensor  # [T*N, A] policy logits on rollout.obs (flattened), with grad
    values: torch.Tensor  # [T*N] V(obs), with grad
    next_values: torch.Tensor  # [T, N] V(true next obs), detached


def batch_statistics(adv: torch.Tensor, targets: torch.Tensor, values: torch.Tensor,
                     mask: torch.Tensor) -> tuple[float, float, float]:
    """Over the real rows (``mask`` 1) of [B] tensors: the advantages' mean and standard
    deviation (unbiased, as torch.std's default) and the critic's explained variance
    1 - Var(targets - values) / Var(targets) (nan where the targets do not vary).

    Computed in numpy on the detached numbers: on a few dozen samples torch's per-op dispatch
    made the same dot products three times as slow.
    """
    with torch.no_grad():
        adv, targets, values, mask = torch.stack([adv, targets, values, mask]).cpu().numpy()
    count = mask.sum()
    x = np.stack([adv, targets - values, targets])
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging update: update() reports it
        mean = x @ mask / count
        var = (np.square(x - mean[:, None]) @ mask / max(count - 1, 1)).tolist()
    explained_variance = 1.0 - var[1] / var[2] if var[2] > 0 else float("nan")
    return float(mean[0]), var[0] ** 0.5, explained_variance


class A2C:
    """The agent owns its model's parameter memory from construction on (see
    ``flat_params.ParameterGroup``): move the model to its device before building it."""

    def __init__(self, model: ActorCritic, cfg: AgentConfig):
        self.model = model
        self.cfg = cfg
        if cfg.name is AgentKind.split:
            critic_lr = cfg.critic_lr if cfg.critic_lr is not None else cfg.lr
            self.groups = [ParameterGroup(model.actor_parameters(), cfg.lr),
                           ParameterGroup(model.critic_parameters(), critic_lr)]
            self.group_names = ("the actor", "the critic")
        else:
            self.groups = [ParameterGroup(list(model.parameters()), cfg.lr)]
            self.group_names = ("the network",)
        self.optimizers = [self._optimizer(group) for group in self.groups]
        self.device = self.groups[0].flat.device
        # Acting samples with numpy (see ``sampler``); its stream is seeded from torch's, so
        # one seed still fixes the whole run.
        self.rng = np.random.default_rng(int(torch.randint(2**62, (1,))))
        # On the CPU the numpy arrays are views of the parameters, which the optimizers update
        # in place: one NumpyPolicy serves the whole run. Elsewhere each rollout copies.
        self._cpu_policy = NumpyPolicy(model) if self.device.type == "cpu" else None

    def numpy_policy(self) -> NumpyPolicy:
        """The policy's numpy forward on the current weights."""
        return self._cpu_policy or NumpyPolicy(self.model)

    def _optimizer(self, group: ParameterGroup) -> FlatRMSprop | FlatAdam:
        if self.cfg.optimizer is OptimizerKind.rmsprop:
            return FlatRMSprop(group.flat, lr=group.lr, alpha=self.cfg.rmsprop_alpha, eps=self.cfg.eps)
        return FlatAdam(group.flat, lr=group.lr, eps=self.cfg.eps)

    def sampler(self, n_steps: int, num_envs: int) -> Policy:
        """The acting policy for one rollout of ``n_steps`` steps: obs [N, D] -> actions [N],
        each a sample of Categorical(softmax(logits)), in numpy (see ``NumpyPolicy``).

        Gumbel-max: argmax(logits + g) with g ~ Gumbel(0, 1) drawn independently per logit is an
        exact sample of that distribution. The policy does not change during a rollout, so the
        noise for all its steps is drawn at once and folded into the output layer's bias.
        """
        policy = self.numpy_policy()
        noise = self.rng.gumbel(size=(n_steps, num_envs, len(policy.out_bias))).astype(np.float32)
        noisy_biases = iter(policy.out_bias + noise)
        return lambda obs: policy.logits(obs, out_bias=next(noisy_biases)).argmax(-1)

    def greedy(self) -> Policy:
        """The most likely action under the current weights: obs [N, D] -> actions [N]."""
        policy = self.numpy_policy()
        return lambda obs: policy.logits(obs).argmax(-1)

    def evaluate(self, rollout: Rollout) -> Forward:
        """Batched forwards over the whole rollout: logits and V(obs) with grad, and the
        bootstrap values V(true next obs) without (the backward pass never sees those rows)."""
        logits, values = self.model(rollout.obs.flatten(0, 1))
        with torch.no_grad():
            next_values = self.model.value(rollout.next_obs.flatten(0, 1))
        return Forward(logits, values, next_values.view_as(rollout.rewards))

    def update(self, rollout: Rollout, out: Forward, advantages: torch.Tensor, value_targets: torch.Tensor,
               normalize: bool, progress: float) -> dict[str, float]:
        """One gradient step. ``progress`` in [0, 1) drives the learning-rate schedule.

        Raises ``Diverged`` when a loss, the gradient norm or a weight after the step is not
        finite: these numbers are already computed (or one op each), so the check is cheap.

        Masked rows (NEXT_STEP's reset steps) stay out of every mean, of the advantage
        normalisation statistics and of the logged metrics: each mean below is a dot product
        with ``weights``, 1 / count on real rows and 0 on masked ones.
        """
        cfg = self.cfg
        mask = rollout.mask.flatten()
        weights = mask / mask.sum()
        values, targets = out.values, value_targets.flatten()
        adv = advantages.flatten()
        adv_mean, adv_std, explained_variance = batch_statistics(adv, targets, values, mask)
        if normalize:
            adv = (adv - adv_mean) / (adv_std + 1e-8)
        log_probs = out.logits.log_softmax(-1)
        neg_action_log_probs = F.nll_loss(log_probs, rollout.actions.flatten(), reduction="none")  # -log pi(a|s)
        policy_loss = neg_action_log_probs.dot(adv * weights)  # adv has no grad: one node in the graph
        value_loss = (values - targets).square().dot(weights)
        loss = policy_loss + cfg.vf_coef * value_loss
        # Without an entropy bonus the entropy is only a metric: leave it out of the graph.
        with torch.set_grad_enabled(cfg.ent_coef > 0):
            entropy = -(log_probs.exp() * log_probs).sum(-1).dot(weights)
        if cfg.ent_coef > 0:
            loss = loss - cfg.ent_coef * entropy

        lr_scale = 1.0 - progress if cfg.lr_schedule is Schedule.linear else 1.0
        for group in self.groups:
            group.grad.zero_()
        loss.backward()  # into each group's flat .grad (see ParameterGroup)
        norms = []
        for group, optimizer in zip(self.groups, self.optimizers):
            norms.append(group.clip_grad(cfg.max_grad_norm))
            optimizer.lr = group.lr * lr_scale
            optimizer.step(group.grad)

        with torch.no_grad():
            grad_norm = norms[0] if len(norms) == 1 else torch.stack(norms).norm()
            # The largest |weight| of each group after the step: non-finite iff a weight is.
            weight_max = [torch.linalg.vector_norm(group.flat, float("inf")) for group in self.groups]
            numbers = torch.stack([policy_loss, value_loss, entropy, loss, grad_norm, *weight_max]).tolist()
        keys = (m.POLICY_LOSS, m.VALUE_LOSS, m.ENTROPY, m.TOTAL_LOSS, m.GRAD_NORM)
        if not all(map(math.isfinite, numbers)):
            named = [*keys, *(f"largest |weight| of {name}" for name in self.group_names)]
            raise Diverged(", ".join(f"{k}={v}" for k, v in zip(named, numbers) if not math.isfinite(v)))
        return {**dict(zip(keys, numbers)), m.EXPLAINED_VARIANCE: explained_variance,
                m.ADVANTAGE_MEAN: adv_mean, m.ADVANTAGE_STD: adv_std,
                m.LEARNING_RATE: self.groups[0].lr * lr_scale}
