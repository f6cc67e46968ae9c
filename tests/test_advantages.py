"""Estimator math: hand-computed cases, a plain Python reference loop, and the identities
td == gae(lam=0), nstep == gae(lam=1).

Every comparison is between two different computations (the code and a hand value, a
reference loop or another estimator), so each states its tolerance: float64 batches to
1e-10 (their errors are ~1e-15), float32 hand cases to 1e-6.
"""

import pytest
import torch

from a2c_lab.config import AdvantageConfig, Estimator, ValueTarget
from a2c_lab.training.advantages import estimate, gae, nstep, td

F64 = dict(rtol=1e-10, atol=1e-10)  # float64 batches of values ~1, sums of a few terms
F32 = dict(rtol=1e-6, atol=1e-6)  # float32 hand cases (every value here is exact in float32)


def close(actual, expected, **tolerance):
    torch.testing.assert_close(actual, torch.tensor(expected, dtype=actual.dtype), **tolerance)


def reference_gae(rewards, values, next_values, terminated, dones, gamma, lam):
    """Textbook GAE, element by element with Python floats."""
    steps, envs = len(rewards), len(rewards[0])
    adv = [[0.0] * envs for _ in range(steps)]
    for i in range(envs):
        future = 0.0
        for t in reversed(range(steps)):
            delta = rewards[t][i] + gamma * (1 - terminated[t][i]) * next_values[t][i] - values[t][i]
            future = delta + gamma * lam * (1 - dones[t][i]) * future
            adv[t][i] = future
    return adv


def random_batch(seed, steps=7, envs=3):
    g = torch.Generator().manual_seed(seed)
    rewards = torch.randn(steps, envs, generator=g, dtype=torch.float64)
    values = torch.randn(steps, envs, generator=g, dtype=torch.float64)
    next_values = torch.randn(steps, envs, generator=g, dtype=torch.float64)
    terminated = (torch.rand(steps, envs, generator=g) < 0.2).double()
    truncated = (torch.rand(steps, envs, generator=g) < 0.2).double()
    dones = torch.maximum(terminated, truncated)
    return dict(rewards=rewards, values=values, next_values=next_values, terminated=terminated, dones=dones)


def test_gae_hand_computed_single_env():
    # gamma 0.5, lam 0.5, three steps, episode terminates after step 1 (index 1).
    b = dict(rewards=torch.tensor([[1.0], [2.0], [3.0]]), values=torch.tensor([[0.5], [1.0], [2.0]]),
             next_values=torch.tensor([[1.0], [9.0], [4.0]]), terminated=torch.tensor([[0.0], [1.0], [0.0]]),
             dones=torch.tensor([[0.0], [1.0], [0.0]]))
    adv, ret = gae(**b, gamma=0.5, lam=0.5)
    # deltas: 1 + 0.5*1 - 0.5 = 1.0; 2 + 0 - 1 = 1.0; 3 + 0.5*4 - 2 = 3.0
    # A2 = 3; A1 = 1 (done cuts); A0 = 1 + 0.25 * 1 = 1.25
    close(adv.squeeze(1), [1.25, 1.0, 3.0], **F32)
    close(ret.squeeze(1), [1.75, 2.0, 5.0], **F32)


def test_truncation_bootstraps_but_stops_recursion():
    # gamma 1. Step 0 truncated: bootstrap from V(final obs)=10 but nothing flows back from step 1.
    b = dict(rewards=torch.tensor([[1.0], [1.0]]), values=torch.tensor([[0.0], [0.0]]),
             next_values=torch.tensor([[10.0], [5.0]]), terminated=torch.tensor([[0.0], [0.0]]),
             dones=torch.tensor([[1.0], [0.0]]))
    adv, _ = nstep(**b, gamma=1.0)
    close(adv.squeeze(1), [11.0, 6.0], **F32)
    # Treating the truncation as terminal (the notebook) drops the bootstrap.
    adv_nb, _ = nstep(**{**b, "terminated": b["dones"]}, gamma=1.0)
    close(adv_nb.squeeze(1), [1.0, 6.0], **F32)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("lam", [0.0, 0.5, 0.95, 1.0])
def test_gae_matches_reference_loop(seed, lam):
    b = random_batch(seed)
    adv, ret = gae(**b, gamma=0.97, lam=lam)
    expected = torch.tensor(reference_gae(*(b[k].tolist() for k in
                            ("rewards", "values", "next_values", "terminated", "dones")), 0.97, lam),
                            dtype=torch.float64)
    torch.testing.assert_close(adv, expected, **F64)
    torch.testing.assert_close(ret, expected + b["values"], **F64)


@pytest.mark.parametrize("seed", range(5))
def test_td_is_gae_lambda_0_and_nstep_is_gae_lambda_1(seed):
    b = random_batch(seed)
    for (a1, r1), (a2, r2) in [(td(**b, gamma=0.9), gae(**b, gamma=0.9, lam=0.0)),
                               (nstep(**b, gamma=0.9), gae(**b, gamma=0.9, lam=1.0))]:
        torch.testing.assert_close(a1, a2, **F64)
        torch.testing.assert_close(r1, r2, **F64)


def test_nstep_returns_equal_discounted_sum_without_ends():
    g = torch.Generator().manual_seed(0)
    steps = 5
    rewards = torch.randn(steps, 2, generator=g, dtype=torch.float64)
    values = torch.randn(steps + 1, 2, generator=g, dtype=torch.float64)
    zeros = torch.zeros(steps, 2, dtype=torch.float64)
    _, ret = nstep(rewards=rewards, values=values[:-1], next_values=values[1:], terminated=zeros,
                   dones=zeros, gamma=0.9)
    for t in range(steps):
        expected = sum(0.9 ** (k - t) * rewards[k] for k in range(t, steps)) + 0.9 ** (steps - t) * values[-1]
        torch.testing.assert_close(ret[t], expected, **F64)


def test_estimate_value_target_choice():
    b = random_batch(1)
    cfg = AdvantageConfig(name=Estimator.gae, lam=0.9, value_target=ValueTarget.estimator)
    adv, target = estimate(cfg, 0.99, **b)
    torch.testing.assert_close(target, gae(**b, gamma=0.99, lam=0.9)[1], **F64)
    cfg.value_target = ValueTarget.nstep
    adv2, target2 = estimate(cfg, 0.99, **b)
    torch.testing.assert_close(adv2, adv, **F64)
    torch.testing.assert_close(target2, nstep(**b, gamma=0.99)[1], **F64)


def test_shape_mismatch_is_an_error():
    b = random_batch(0)
    b["values"] = b["values"][:-1]
    with pytest.raises(ValueError, match=r"\[T, \.\.\.\]"):
        gae(**b, gamma=0.9, lam=0.9)
