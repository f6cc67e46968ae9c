"""Each optimizer's parameters as views of one tensor, a row per seed; clipping and the step act on it.

Why: on CartPole-sized networks (two 64-64 towers: 12 tensors, about 9k numbers) an update
costs per-op dispatch, not arithmetic. ``torch.optim`` and ``clip_grad_norm_`` run a few ops
per tensor plus per-call bookkeeping (hooks, profiler scopes, grad-mode switches), which
took about as long as the backward pass. On one flat tensor, clipping is three ops and an
RMSprop or Adam step five or six.

``FlatRMSprop`` and ``FlatAdam`` are ``torch.optim``'s single-tensor algorithms for the
options a2c-lab uses (no momentum, not centred, no weight decay, no amsgrad), written with the
same ops in the same order; tests/test_flat_params.py checks them against ``torch.optim`` step
by step. Both act element by element, so on a [S, P] tensor they are S independent
optimizers; Adam's step count (its bias correction) is the group's update count, the same
for every seed.
"""

from __future__ import annotations

import warnings

import torch

# A parameter here is a strided view of its seeds' rows of ``flat`` (not dense: the other
# parameters' numbers lie between its seeds). Autograd then warns, once, that the gradient's
# layout differs from the one it prefers, which "may impair performance"; it still accumulates
# into the views in place (tests/test_flat_params.py checks the numbers), and at these sizes the
# layout costs nothing measurable.
warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout contract")


class ParameterGroup:
    """Parameters stacked over S seeds ([S, ...]) stored as views of one tensor ``flat`` [S, P]
    (seed s's numbers in row s), and their gradients as views of another, ``grad``.

    After construction the parameters live in ``flat``'s memory: stepping ``flat`` in place
    updates the module. Each parameter's ``.grad`` is its slice of ``grad``, where a backward
    pass accumulates in place: zero ``grad``, call ``backward()``, and the whole gradient is
    there in one tensor. Build the group after moving the module to its device (``.to()``
    would give the parameters new memory again), and never set ``.grad`` to None
    (``zero_grad()``) on these parameters.
    """

    def __init__(self, params: list[torch.nn.Parameter], lr: float):
        self.params = params
        self.lr = lr  # base learning rate, before any schedule
        seeds = params[0].shape[0]
        self.flat = torch.cat([p.detach().reshape(seeds, -1) for p in params], dim=1)
        self.grad = torch.zeros_like(self.flat)
        offset = 0
        for p in params:
            size = p[0].numel()
            p.data = self.flat[:, offset:offset + size].view(p.shape)
            p.grad = self.grad[:, offset:offset + size].view(p.shape)
            offset += size

    def clip_grad(self, max_norm: float | None) -> torch.Tensor:
        """Scale each seed's row of ``grad`` in place to L2 norm at most ``max_norm``, as
        ``torch.nn.utils.clip_grad_norm_`` does for one network; returns the norms [S] before
        clipping. Each seed is clipped by its own norm, never one across seeds."""
        norms = torch.linalg.vector_norm(self.grad, dim=1)
        if max_norm is not None:
            scale = (max_norm / (norms + 1e-6)).clamp_(max=1.0)
            self.grad.mul_(scale.unsqueeze(1))
        return norms


class FlatRMSprop:
    """``torch.optim.RMSprop(lr, alpha, eps)``: v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps)."""

    def __init__(self, param: torch.Tensor, lr: float, alpha: float, eps: float):
        self.param, self.lr, self.alpha, self.eps = param, lr, alpha, eps
        self.square_avg = torch.zeros_like(param)

    def step(self, grad: torch.Tensor) -> None:
        self.square_avg.mul_(self.alpha).addcmul_(grad, grad, value=1 - self.alpha)
        self.param.addcdiv_(grad, self.square_avg.sqrt().add_(self.eps), value=-self.lr)


class FlatAdam:
    """``torch.optim.Adam(lr, betas, eps)``, with its bias corrections."""

    def __init__(self, param: torch.Tensor, lr: float, eps: float, betas: tuple[float, float] = (0.9, 0.999)):
        self.param, self.lr, self.eps, self.betas = param, lr, eps, betas
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        self.steps = 0

    def step(self, grad: torch.Tensor) -> None:
        beta1, beta2 = self.betas
        self.steps += 1
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** self.steps
        bias_correction2_sqrt = (1 - beta2 ** self.steps) ** 0.5
        denom = (self.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
        self.param.addcdiv_(self.exp_avg, denom, value=-(self.lr / bias_correction1))
