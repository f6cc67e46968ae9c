"""Slow: a small slice of the reference study, re-run, stays inside a band derived from the study.

The slice: the study's base config on CartPole-v1 (`cartpole/base`: today's defaults without
their gradient clipping, which the study chose after it ran), 5 seeds it never used
(100-104), 100k env steps each, trained as one group. The statistic: the mean over the 5 seeds of
each seed's last-100-episode mean return. The reference: the same per-seed number at 100k for
the study's 20 base seeds (`results/study/guard_reference.csv`, written by
`python scripts/study.py report`; the lr is constant and evaluation draws no training random
numbers, so a 500k run's first 100k steps are a 100k run).

The band is one-sided (a regression learns less): the 5-seed mean must be at least LOWER, the
1st percentile of 5-seed means drawn from the 20 reference seeds, or of a normal with their mean
and standard deviation / sqrt(5), whichever is lower. So a correct learner fails it about 1 run
in 100 or less (a CPU whose rounding differs only draws other trajectories from the same
distribution). The second test shows the band has teeth: the same slice with the policy loss's
sign flipped (advantages negated before the update) ends far below it.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from a2c_lab.runs import metrics as m
from a2c_lab.training import agents
from a2c_lab.training.trainer import train_group

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "results" / "study" / "guard_reference.csv"
SEEDS = [100, 101, 102, 103, 104]
STEPS = 100_000
FALSE_FAIL_RATE = 0.01


def lower_bound(reference: np.ndarray, n: int = len(SEEDS), rate: float = FALSE_FAIL_RATE) -> float:
    rng = np.random.default_rng(0)
    means = rng.choice(reference, size=(200_000, n), replace=True).mean(axis=1)
    bootstrap = float(np.quantile(means, rate))
    normal = float(reference.mean() + stats.norm.ppf(rate) * reference.std(ddof=1) / np.sqrt(n))
    return min(bootstrap, normal)


def run_slice(tmp_path: Path, fast_cfg) -> np.ndarray:
    cfg = fast_cfg("task=cartpole", "agent.max_grad_norm=null", f"total_steps={STEPS}")  # the study's base
    train_group(cfg, SEEDS, [tmp_path / str(s) for s in SEEDS])
    finals = [pd.read_csv(tmp_path / str(s) / m.EPISODES_FILE)[m.EPISODE_RETURN].tail(100).mean() for s in SEEDS]
    return np.array(finals)


def reference() -> np.ndarray:
    values = pd.read_csv(REFERENCE)["return_at_100k"].to_numpy()
    assert len(values) >= 10, "the band needs the study's base seeds"
    return values


def test_the_band_is_below_the_reference_and_above_a_random_policy():
    """Hand-checkable sanity of the derivation: the bound sits under the reference mean by about
    2.3 standard errors, and far above CartPole's random policy (about 22)."""
    ref = reference()
    low = lower_bound(ref)
    standard_error = ref.std(ddof=1) / np.sqrt(len(SEEDS))
    assert ref.mean() - 3.5 * standard_error < low < ref.mean() - 1.5 * standard_error
    assert low > 50


@pytest.mark.slow
def test_the_base_config_stays_in_the_studys_band(tmp_path, fast_cfg):
    finals, low = run_slice(tmp_path, fast_cfg), lower_bound(reference())
    print(f"guard: 5-seed mean {finals.mean():.1f} (per seed {np.round(finals, 1)}), band >= {low:.1f}")
    assert finals.mean() >= low, (finals, low)


@pytest.mark.slow
def test_the_band_catches_a_sign_flipped_policy_loss(tmp_path, fast_cfg, monkeypatch):
    update = agents.A2C.update

    def flipped(self, rollout, out, advantages, value_targets, normalize, progress):
        return update(self, rollout, out, -advantages, value_targets, normalize, progress)

    monkeypatch.setattr(agents.A2C, "update", flipped)
    finals, low = run_slice(tmp_path, fast_cfg), lower_bound(reference())
    print(f"broken learner: 5-seed mean {finals.mean():.1f}, band >= {low:.1f}")
    assert finals.mean() < low
