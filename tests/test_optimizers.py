"""Stacked seeds under torch.optim: each seed's slice is an optimizer of its own, and each seed's
gradient is clipped by its own norm (a2c_lab.training.agents.clip_per_seed)."""

import pytest
import torch

from a2c_lab.training.agents import clip_per_seed

SHAPES = [(3, 4, 64), (3, 1, 64), (3, 64, 2), (3, 1, 2)]  # three seeds' layers, stacked


def gradients(seed: int, steps: int) -> list[list[torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(shape, generator=g) * 0.1 for shape in SHAPES] for _ in range(steps)]


@pytest.mark.parametrize("kind", ["rmsprop", "adam"])
def test_one_optimizer_over_stacked_seeds_is_one_per_seed(kind):
    """Adam and RMSprop act element by element: stepping the stack equals stepping each seed's
    slice with its own optimizer. Different computations (foreach over the stack vs per-seed
    tensors), so compared with a tolerance: float32 rounding of a step of size ~lr."""
    def make(params):
        if kind == "rmsprop":
            return torch.optim.RMSprop(params, lr=7e-4, alpha=0.99, eps=1e-5, foreach=True)
        return torch.optim.Adam(params, lr=7e-4, eps=1e-8, foreach=True)

    g = torch.Generator().manual_seed(0)
    stacked = [torch.nn.Parameter(torch.randn(shape, generator=g)) for shape in SHAPES]
    per_seed = [[torch.nn.Parameter(p.detach()[s].clone()) for p in stacked] for s in range(3)]
    optimizers = [make(stacked)] + [make(params) for params in per_seed]
    for grads in gradients(1, steps=30):
        for p, grad in zip(stacked, grads):
            p.grad = grad.clone()
        for s, params in enumerate(per_seed):
            for p, grad in zip(params, grads):
                p.grad = grad[s].clone()
        for optimizer in optimizers:
            optimizer.step()
    for s, params in enumerate(per_seed):
        for p, q in zip(stacked, params):
            torch.testing.assert_close(p.detach()[s], q.detach(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("max_norm", [None, 0.5, 1e3])
def test_clipping_matches_clip_grad_norm_seed_by_seed(max_norm):
    """Each seed is clipped by its own norm, as clip_grad_norm_ clips that seed's network alone."""
    grads = gradients(2, steps=1)[0]
    grads = [g * torch.tensor([0.1, 1.0, 30.0]).view(-1, 1, 1) for g in grads]  # seeds of very different norms
    params = [torch.nn.Parameter(torch.zeros(shape)) for shape in SHAPES]
    for p, grad in zip(params, grads):
        p.grad = grad.clone()
    norms = clip_per_seed(params, max_norm)
    for seed in range(3):
        reference = [torch.nn.Parameter(torch.zeros(shape[1:])) for shape in SHAPES]
        for p, grad in zip(reference, grads):
            p.grad = grad[seed].clone()
        expected_norm = torch.nn.utils.get_total_norm([p.grad for p in reference])
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_(reference, max_norm)
        # A norm of per-tensor norms on both sides, in other orders: float32 rounding.
        torch.testing.assert_close(norms[seed], expected_norm, rtol=1e-6, atol=1e-7)
        for p, q in zip(params, reference):
            torch.testing.assert_close(p.grad[seed], q.grad, rtol=1e-6, atol=1e-7)
