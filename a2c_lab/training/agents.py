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
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from a2c_lab.config import AgentConfig, AgentKind, OptimizerKind, Schedule
from a2c_lab.runs import metrics as m
from a2c_lab.training.distributions import Categorical, Distribution
from a2c_lab.training.networks import ActorCritic
from a2c_lab.training.rollout import Policy, Rollout


class Forward(NamedTuple):
    policy: torch.Tensor  # [T, S, N, A] the policy's output on rollout.obs (logits or mean), with grad
    values: torch.Tensor  # [T, S, N] V(obs), with grad
    next_values: torch.Tensor  # [T, S, N] V(true next obs), detached


class Update(NamedTuple):
    rows: list[dict[str, float]]  # per seed: the update's metrics (a frozen seed's are meaningless)
    diverged: dict[int, str]  # seed index -> what became non-finite, for seeds that diverged now


def batch_statistics(adv: torch.Tensor, targets: torch.Tensor, values: torch.Tensor,
                     mask: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per seed, over its real rows (``mask`` 1) of [T, S, N] tensors: the advantages' mean and
    standard deviation (unbiased, as torch.std's default) and the critic's explained variance
    1 - Var(targets - values) / Var(targets) (nan where the targets do not vary). Arrays [S].

    Computed in numpy on the detached numbers: on a few dozen samples torch's per-op dispatch
    made the same dot products three times as slow.
    """
    with torch.no_grad():
        stacked = torch.stack([adv, targets, values, mask]).transpose(1, 2).flatten(2).cpu().numpy()
    adv, targets, values, mask = stacked  # each [S, T*N]
    count = mask.sum(axis=1)  # [S]
    x = np.stack([adv, targets - values, targets])  # [3, S, B]
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging update: update() reports it
        mean = (x * mask).sum(axis=2) / count  # [3, S]
        var = (np.square(x - mean[..., None]) * mask).sum(axis=2) / np.maximum(count - 1, 1)
        explained_variance = np.where(var[2] > 0, 1.0 - var[1] / np.where(var[2] > 0, var[2], 1.0), np.nan)
    return mean[0], np.sqrt(var[0]), explained_variance


def per_seed_rows(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stacked [S, ...] tensors as one [S, P] matrix, a seed per row (one copy, one op)."""
    return torch.cat([t.reshape(t.shape[0], -1) for t in tensors], dim=1)


def clip_per_seed(params: list[torch.nn.Parameter], max_norm: float | None) -> torch.Tensor:
    """Scale each seed's gradient (its slice of every stacked [S, ...] parameter) in place to L2
    norm at most ``max_norm``, as ``torch.nn.utils.clip_grad_norm_`` does for one network; returns
    the norms [S] before clipping. Each seed is clipped by its own norm, never one across seeds.

    The norm is one ``vector_norm`` over the seed's concatenated gradient and the scaling one
    ``_foreach_mul_`` (what ``clip_grad_norm_`` itself uses): a norm per parameter and a
    multiply per parameter were 2 x (number of parameters) small ops per update.
    """
    grads = [p.grad for p in params]
    norms = torch.linalg.vector_norm(per_seed_rows(grads), dim=1)
    if max_norm is not None:
        scale = (max_norm / (norms + 1e-6)).clamp_(max=1.0)
        torch._foreach_mul_(grads, [scale.view(-1, *[1] * (g.dim() - 1)) for g in grads])
    return norms


class A2C:
    """The agent of S seeds at once: ``torch.optim`` over the model's stacked parameters (Adam and
    RMSprop act element by element, so each seed's slice is an independent optimizer; the step
    count and bias correction are the group's update count), with each seed's gradient clipped
    by its own norm. Move the model to its device before building the agent.

    A hand-written flat-tensor optimizer (flat_params.py) served here before batched seeds. At
    the grouped setting (8 seeds x 8 envs) ``scripts/benchmark_groups.py`` measured it worth +3%
    (0.89-1.38 over 3 alternating repeats) against ``torch.optim(foreach=True)``: under the 10%
    bar for a hand-written replacement, so it went.

    ``acting_streams``: one numpy seed sequence per seed for action sampling (a2c_lab.training.seeding);
    None: one stream seeded from torch's global generator (for tests and one-off use).
    ``distribution``: the task's (``a2c_lab.training.distributions.for_actions``); None: a
    Categorical over the model's outputs.
    """

    def __init__(self, model: ActorCritic, cfg: AgentConfig,
                 acting_streams: Sequence[np.random.SeedSequence] | None = None,
                 distribution: Distribution | None = None):
        self.model = model
        self.cfg = cfg
        self.dist = distribution or Categorical(model.layers["actor"][-1].bias.shape[-1])
        if cfg.name is AgentKind.split:
            critic_lr = cfg.critic_lr if cfg.critic_lr is not None else cfg.lr
            self.groups = [model.actor_parameters(), model.critic_parameters()]
            self.lrs = [cfg.lr, critic_lr]
            self.group_names = ("the actor", "the critic")
        else:
            self.groups = [list(model.parameters())]
            self.lrs = [cfg.lr]
            self.group_names = ("the network",)
        self.optimizers = [self._optimizer(params, lr) for params, lr in zip(self.groups, self.lrs)]
        self.device = self.groups[0][0].device
        self.num_seeds = model.num_seeds
        if acting_streams is None:
            acting_streams = [int(torch.randint(2**62, (1,))) for _ in range(self.num_seeds)]
        self.rngs = [np.random.default_rng(stream) for stream in acting_streams]
        self.frozen = np.zeros(self.num_seeds, dtype=bool)
        self._frozen_index: torch.Tensor | None = None
        self._frozen_rows: list[list[torch.Tensor]] = []

    def _optimizer(self, params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
        if self.cfg.optimizer is OptimizerKind.rmsprop:
            return torch.optim.RMSprop(params, lr=lr, alpha=self.cfg.rmsprop_alpha, eps=self.cfg.eps, foreach=True)
        return torch.optim.Adam(params, lr=lr, eps=self.cfg.eps, foreach=True)

    def freeze(self, seed_index: int) -> None:
        """Stop training a seed (it finished or diverged): its weights are put back after every
        later step, since a zero gradient still moves Adam's and RMSprop's weights."""
        self.frozen[seed_index] = True
        self._frozen_index = torch.from_numpy(np.flatnonzero(self.frozen)).to(self.device)
        self._frozen_rows = [[p.detach().index_select(0, self._frozen_index) for p in params] for params in self.groups]

    def sampler(self, n_steps: int, num_envs: int) -> Policy:
        """The acting policy for one rollout of ``n_steps`` steps: obs [S, N, D] -> actions [S, N]
        (or [S, N, A] for Box actions), each a sample of the policy's distribution.

        The policy does not change during a rollout, so the noise for all its steps is drawn at
        once, from each seed's own generator (a seed's actions never depend on the other seeds
        of its group); ``a2c_lab.training.distributions`` turns it into samples.
        """
        noise = np.stack([self.dist.noise(rng, n_steps, num_envs) for rng in self.rngs], axis=1)
        steps = iter(torch.from_numpy(noise.astype(np.float32)).to(self.device))  # each [S, N, A]
        log_std = self.model.log_std

        def act(obs: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                out = self.model.policy_logits(torch.from_numpy(obs).to(self.device))
                return self.dist.sample(out, log_std, next(steps)).cpu().numpy()
        return act

    def greedy(self, seed_index: int) -> Callable[[np.ndarray], np.ndarray]:
        """One seed's most likely action under its current weights: obs [E, D] -> actions [E]
        (the argmax, or a Gaussian's mean; the env clips it to its Box)."""
        def act(obs: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                out = self.model.policy_logits(torch.from_numpy(obs).to(self.device)[None], seed_index)
                return self.dist.mode(out[0]).cpu().numpy()
        return act

    def evaluate(self, rollout: Rollout) -> Forward:
        """Batched forwards over the whole rollout: logits and V(obs) with grad, and the
        bootstrap values V(true next obs) without (the backward pass never sees those rows)."""
        steps, seeds, envs, dim = rollout.obs.shape

        def per_seed(x: torch.Tensor) -> torch.Tensor:  # [T, S, N, D] -> [S, T*N, D]
            return x.transpose(0, 1).reshape(seeds, steps * envs, dim)

        def per_step(x: torch.Tensor) -> torch.Tensor:  # [S, T*N, ...] -> [T, S, N, ...] (a view)
            return x.view(seeds, steps, envs, *x.shape[2:]).transpose(0, 1)

        policy, values = self.model(per_seed(rollout.obs))
        with torch.no_grad():
            next_values = self.model.value(per_seed(rollout.next_obs))
        return Forward(per_step(policy), per_step(values), per_step(next_values))

    def update(self, rollout: Rollout, out: Forward, advantages: torch.Tensor, value_targets: torch.Tensor,
               normalize: bool, progress: float) -> Update:
        """One gradient step for every seed. ``progress`` in [0, 1] drives the learning-rate schedule.

        Each seed's loss is its own mean over its own rows; the losses are summed, so each seed's
        gradient is its own. Masked rows (NEXT_STEP's reset steps) stay out of every mean, of the
        advantage normalisation statistics and of the logged metrics: each mean below is a
        weighted sum with ``weights``, 1 / count on a seed's real rows and 0 on masked ones.

        A seed whose loss, gradient norm or largest weight after the step is not finite is
        reported in ``Update.diverged``: these numbers are already computed (or one op per
        optimizer), so the check is cheap.
        """
        cfg = self.cfg
        mask = rollout.mask
        weights = mask / mask.sum(dim=(0, 2), keepdim=True)
        values = out.values
        adv_mean, adv_std, explained_variance = batch_statistics(advantages, value_targets, values, mask)
        adv = advantages
        if normalize:
            mean = torch.from_numpy(adv_mean.astype(np.float32)).to(self.device).view(1, -1, 1)
            std = torch.from_numpy(adv_std.astype(np.float32)).to(self.device).view(1, -1, 1)
            adv = (adv - mean) / (std + 1e-8)
        # Without an entropy bonus the entropy is only a metric: leave it out of the graph.
        action_log_probs, entropies = self.dist.log_prob_and_entropy(
            out.policy, self.model.log_std, rollout.actions, entropy_grad=cfg.ent_coef > 0)
        policy_loss = (-action_log_probs * (adv * weights)).sum(dim=(0, 2))  # [S]
        value_loss = ((values - value_targets).square() * weights).sum(dim=(0, 2))
        loss = policy_loss + cfg.vf_coef * value_loss
        entropy = (entropies * weights).sum(dim=(0, 2))
        if cfg.ent_coef > 0:
            loss = loss - cfg.ent_coef * entropy

        lr_scale = 1.0 - min(progress, 1.0) if cfg.lr_schedule is Schedule.linear else 1.0
        for params in self.groups:  # what optimizer.zero_grad() does, without its per-call wrapping
            for p in params:
                p.grad = None
        loss.sum().backward()
        norms = []
        for params, optimizer, lr, frozen_rows in zip(self.groups, self.optimizers, self.lrs,
                                                      self._frozen_rows or [None] * len(self.groups)):
            norms.append(clip_per_seed(params, cfg.max_grad_norm))
            optimizer.param_groups[0]["lr"] = lr * lr_scale
            optimizer.step()
            if frozen_rows is not None:
                with torch.no_grad():
                    for p, rows in zip(params, frozen_rows):
                        p.index_copy_(0, self._frozen_index, rows)

        with torch.no_grad():
            grad_norm = norms[0] if len(norms) == 1 else torch.stack(norms).norm(dim=0)
            # The largest |weight| of each group after the step: non-finite iff a weight is.
            weight_max = [per_seed_rows(params).abs().amax(1) for params in self.groups]
            numbers = torch.stack([policy_loss, value_loss, entropy, loss, grad_norm, *weight_max]).tolist()
            extra = self.dist.metrics(self.model.log_std, self.num_seeds)
        keys = (m.POLICY_LOSS, m.VALUE_LOSS, m.ENTROPY, m.TOTAL_LOSS, m.GRAD_NORM)
        named = [*keys, *(f"largest |weight| of {name}" for name in self.group_names)]
        rows, diverged = [], {}
        for seed, column in enumerate(zip(*numbers)):
            if not self.frozen[seed] and not all(map(math.isfinite, column)):
                diverged[seed] = ", ".join(f"{k}={v}" for k, v in zip(named, column) if not math.isfinite(v))
            rows.append({**dict(zip(keys, column)), m.EXPLAINED_VARIANCE: float(explained_variance[seed]),
                         m.ADVANTAGE_MEAN: float(adv_mean[seed]), m.ADVANTAGE_STD: float(adv_std[seed]),
                         m.LEARNING_RATE: self.lrs[0] * lr_scale, **extra[seed]})
        return Update(rows, diverged)
