"""The fast paths give the numbers of the plain ones: flat-tensor optimizers against
torch.optim step by step, flat clipping against clip_grad_norm_, parameters sharing the flat
tensor's memory, and the agent's sampler against the categorical distribution."""

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
def test_flat_optimizers_match_torch_optim_bit_for_bit(kind):
    shapes = [(64, 4), (64,), (2, 64), (2,)]
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
            assert torch.equal(a.detach(), b.detach())


@pytest.mark.parametrize("max_norm", [None, 0.5, 1e3])
def test_flat_clipping_matches_clip_grad_norm(max_norm):
    shapes = [(64, 4), (64,), (1, 64), (1,)]
    grads = gradients(2, shapes, steps=1)[0]
    group = ParameterGroup([torch.nn.Parameter(torch.zeros(shape)) for shape in shapes], lr=1.0)
    for p, grad in zip(group.params, grads):
        p.grad.copy_(grad)
    norm = group.clip_grad(max_norm)
    reference = [torch.nn.Parameter(torch.zeros(shape)) for shape in shapes]
    for p, grad in zip(reference, grads):
        p.grad = grad.clone()
    expected_norm = torch.nn.utils.get_total_norm([p.grad for p in reference])
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(reference, max_norm)
    torch.testing.assert_close(norm, expected_norm)
    torch.testing.assert_close(group.grad, torch.cat([p.grad.flatten() for p in reference]))


def test_backward_leaves_the_whole_gradient_in_the_flat_grad():
    """Each parameter's .grad is a view of group.grad: after zeroing and a backward pass it
    holds exactly what autograd.grad computes on an independent copy, twice in a row."""
    torch.manual_seed(0)
    model = ActorCritic(4, 2, NetworkConfig())
    reference = ActorCritic(4, 2, NetworkConfig())
    reference.load_state_dict(model.state_dict())
    group = ParameterGroup(list(model.parameters()), lr=1.0)
    for seed in (1, 2):
        obs = torch.randn(10, 4, generator=torch.Generator().manual_seed(seed))
        loss_of = lambda m: sum(out.square().sum() for out in m(obs))  # noqa: E731
        group.grad.zero_()
        loss_of(model).backward()
        expected = torch.autograd.grad(loss_of(reference), list(reference.parameters()))
        assert torch.equal(group.grad, torch.cat([g.flatten() for g in expected]))
        storage = group.grad.untyped_storage().data_ptr()
        assert all(p.grad.untyped_storage().data_ptr() == storage for p in group.params)


def test_parameters_share_the_flat_tensor_and_state_dict_round_trips(tmp_path):
    model = ActorCritic(4, 2, NetworkConfig(init=Init.orthogonal))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    agent = A2C(model, AgentConfig(optimizer=OptimizerKind.rmsprop))
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # same values, new memory
    agent.groups[0].flat.add_(1.0)
    assert torch.equal(model.policy_out.bias, before["policy_out.bias"] + 1.0)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    fresh = ActorCritic(4, 2, NetworkConfig(init=Init.orthogonal))
    fresh.load_state_dict(torch.load(tmp_path / "model.pt"))
    assert all(torch.equal(a, b) for a, b in zip(fresh.parameters(), model.parameters()))
