"""The fast paths give the numbers of the plain ones: flat-tensor optimizers against
torch.optim step by step, flat clipping against clip_grad_norm_, parameters sharing the flat
tensor's memory, and the agent's sampler against the categorical distribution.

Two different computations of the same number (a flat kernel and torch's per-tensor one)
may round differently on another CPU's kernels, so they are compared with a stated
tolerance; only copies and the same computation repeated are compared bit for bit.
"""

import pytest
import torch

from a2c_lab.agents import A2C
from a2c_lab.config import AgentConfig, Init, NetworkConfig, OptimizerKind
from a2c_lab.flat_params import FlatAdam, FlatRMSprop, ParameterGroup
from a2c_lab.networks import ActorCritic


def gradients(seed: int, shapes: list[tuple[int, ...]], steps: int) -> list[list[torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(shape, generator=g) * 0.1 for shape in shapes] for _ in range(steps)]


@pytest.mark.parametrize("kind", ["rmsprop", "adam"])
def test_flat_optimizers_match_torch_optim(kind):
    shapes = [(3, 64, 4), (3, 64), (3, 2, 64), (3, 2)]  # three seeds stacked: S independent optimizers
    g = torch.Generator().manual_seed(0)
    reference = [torch.nn.Parameter(torch.randn(shape, generator=g)) for shape in shapes]
    params = [torch.nn.Parameter(p.detach().clone()) for p in reference]
    group = ParameterGroup(params, lr=7e-4)
    if kind == "rmsprop":
        torch_opt = torch.optim.RMSprop(reference, lr=7e-4, alpha=0.99, eps=1e-5, foreach=False)
        flat_opt = FlatRMSprop(group.flat, lr=7e-4, alpha=0.99, eps=1e-5)
    else:
        torch_opt = torch.optim.Adam(reference, lr=7e-4, eps=1e-8, foreach=False)
        flat_opt = FlatAdam(group.flat, lr=7e-4, eps=1e-8)
    for step, grads in enumerate(gradients(1, shapes, steps=50)):
        lr = 7e-4 * (1 - step / 50)  # a schedule, as agent.lr_schedule=linear sets it
        torch_opt.param_groups[0]["lr"] = flat_opt.lr = lr
        for p, grad in zip(reference, grads):
            p.grad = grad.clone()
        torch_opt.step()
        for p, grad in zip(params, grads):
            p.grad.copy_(grad)
        flat_opt.step(group.grad)
        for a, b in zip(reference, params):
            # Weights of size ~1 move by ~lr = 7e-4 a step: 1e-6 allows a few float32 roundings
            # per step over 50 steps and still catches any error of the update's own size.
            torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("max_norm", [None, 0.5, 1e3])
def test_flat_clipping_matches_clip_grad_norm_seed_by_seed(max_norm):
    """Each seed is clipped by its own norm, as clip_grad_norm_ clips that seed's network alone."""
    shapes = [(3, 64, 4), (3, 64), (3, 1, 64), (3, 1)]
    grads = gradients(2, shapes, steps=1)[0]
    grads = [g * torch.tensor([0.1, 1.0, 30.0]).view(-1, *[1] * (g.dim() - 1)) for g in grads]  # seeds differ
    group = ParameterGroup([torch.nn.Parameter(torch.zeros(shape)) for shape in shapes], lr=1.0)
    for p, grad in zip(group.params, grads):
        p.grad.copy_(grad)
    norms = group.clip_grad(max_norm)
    for seed in range(3):
        reference = [torch.nn.Parameter(torch.zeros(shape[1:])) for shape in shapes]
        for p, grad in zip(reference, grads):
            p.grad = grad[seed].clone()
        expected_norm = torch.nn.utils.get_total_norm([p.grad for p in reference])
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_(reference, max_norm)
        # One flat norm against torch's norm of norms: float32 summation orders differ.
        torch.testing.assert_close(norms[seed], expected_norm, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(group.grad[seed], torch.cat([p.grad.flatten() for p in reference]),
                                   rtol=1e-6, atol=1e-7)


def test_backward_leaves_the_whole_gradient_in_the_flat_grad():
    """Each parameter's .grad is a view of group.grad: after zeroing and a backward pass it
    holds what autograd.grad computes on an independent copy, twice in a row. The two are
    different computations (accumulating into a view vs fresh tensors) that agree to ~7
    digits, not bit for bit, on some CPUs (issue 9): a lost, doubled or stale gradient is off
    by its whole size, far beyond the tolerance."""
    model = ActorCritic(4, 2, NetworkConfig(), init_seeds=[0, 1])
    reference = ActorCritic(4, 2, NetworkConfig(), init_seeds=[0, 1])
    group = ParameterGroup(list(model.parameters()), lr=1.0)
    for seed in (1, 2):
        obs = torch.randn(2, 10, 4, generator=torch.Generator().manual_seed(seed))
        loss_of = lambda m: sum(out.square().sum() for out in m(obs))  # noqa: E731
        group.grad.zero_()
        loss_of(model).backward()
        expected = torch.autograd.grad(loss_of(reference), list(reference.parameters()))
        torch.testing.assert_close(group.grad, torch.cat([g.reshape(2, -1) for g in expected], dim=1),
                                   rtol=1e-5, atol=1e-6)
        storage = group.grad.untyped_storage().data_ptr()
        assert all(p.grad.untyped_storage().data_ptr() == storage for p in group.params)


def test_parameters_share_the_flat_tensor_and_state_dict_round_trips(tmp_path):
    model = ActorCritic(4, 2, NetworkConfig(init=Init.orthogonal))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    agent = A2C(model, AgentConfig(optimizer=OptimizerKind.rmsprop))
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # copies: same values, new memory
    agent.groups[0].flat.add_(1.0)
    # The same one IEEE addition on both sides (correctly rounded on every CPU): bit for bit.
    out_bias = model.layers["actor"][-1].bias
    assert torch.equal(out_bias, before[next(k for k, v in model.named_parameters() if v is out_bias)] + 1.0)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    fresh = ActorCritic(4, 2, NetworkConfig(init=Init.orthogonal))
    fresh.load_state_dict(torch.load(tmp_path / "model.pt"))
    assert all(torch.equal(a, b) for a, b in zip(fresh.parameters(), model.parameters()))
