"""Slow: a small slice of the reference study, re-run, stays inside a band derived from the study.

Two slices, one per part:
- CartPole-v1: the study's base config (`cartpole/base`: today's defaults without their gradient
  clipping, which the study chose after it ran), 100k env steps, against the 20 base seeds'
  per-seed number at 100k (`results/study/guard_reference.csv`).
- HalfCheetah-v5 (continuous control; needs the mujoco and fast extras): part 2's base
  (`experiment=study_mujoco`: SB3's A2C, obs_reward, 8 envs, envpool), 150k env steps, against its
  20 base seeds at 150k (`results/study/guard_reference_halfcheetah.csv`). At 150k the base's seeds
  have left the random policy (about -283) behind: the 20 seeds' mean is about 200.

Each trains 5 seeds the study never used (100-104) as one group; the statistic is the mean over
the 5 seeds of each seed's last-100-episode mean return. The references are written by
`python scripts/study.py report` (the lr is constant and evaluation draws no training random
numbers, so a 500k run's first 100k or 150k steps are a run of that length).

The band is one-sided (a regression learns less): the 5-seed mean must be at least LOWER, the
1st percentile of 5-seed means drawn from the 20 reference seeds, or of a normal with their mean
and standard deviation / sqrt(5), whichever is lower. So a correct learner fails it about 1 run
in 100 or less (a CPU whose rounding differs only draws other trajectories from the same
distribution). The second test of each shows the band has teeth: the same slice with the policy
loss's sign flipped (advantages negated before the update) ends far below it.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from a2c_lab.runs import metrics as m
from a2c_lab.study.tables import GUARDS as STUDY_GUARDS
from a2c_lab.training import agents
from a2c_lab.training.trainer import train_group

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [100, 101, 102, 103, 104]
FALSE_FAIL_RATE = 0.01


@dataclass(frozen=True)
class Guard:
    part: str  # the study's base part: its reference file and env step are the report's (tables.GUARDS)
    overrides: tuple[str, ...]
    floor: float  # the band must sit above this: well above the task's random policy
    needs: tuple[str, ...] = ()  # modules the slice needs (extras)

    @property
    def reference(self) -> str:
        return STUDY_GUARDS[self.part][0]

    @property
    def steps(self) -> int:
        return STUDY_GUARDS[self.part][1]


GUARDS = {
    "cartpole": Guard("cartpole/base", ("task=cartpole", "agent.max_grad_norm=null"), 50.0),  # random: about 22
    "halfcheetah": Guard("halfcheetah/base", ("experiment=study_mujoco", "task=halfcheetah"), -100.0,
                         ("mujoco", "envpool")),  # random: about -283
}


def lower_bound(reference: np.ndarray, n: int = len(SEEDS), rate: float = FALSE_FAIL_RATE) -> float:
    rng = np.random.default_rng(0)
    means = rng.choice(reference, size=(200_000, n), replace=True).mean(axis=1)
    bootstrap = float(np.quantile(means, rate))
    normal = float(reference.mean() + stats.norm.ppf(rate) * reference.std(ddof=1) / np.sqrt(n))
    return min(bootstrap, normal)


def run_slice(tmp_path: Path, fast_cfg, guard: Guard) -> np.ndarray:
    for module in guard.needs:
        pytest.importorskip(module)
    cfg = fast_cfg(*guard.overrides, f"total_steps={guard.steps}")
    train_group(cfg, SEEDS, [tmp_path / str(s) for s in SEEDS])
    finals = [pd.read_csv(tmp_path / str(s) / m.EPISODES_FILE)[m.EPISODE_RETURN].tail(100).mean() for s in SEEDS]
    return np.array(finals)


def reference(guard: Guard) -> np.ndarray:
    values = pd.read_csv(ROOT / "results" / "study" / guard.reference)[f"return_at_{guard.steps // 1000}k"].to_numpy()
    assert len(values) >= 10, "the band needs the study's base seeds"
    return values


@pytest.mark.parametrize("task", sorted(GUARDS))
def test_the_band_is_below_the_reference_and_above_a_random_policy(task):
    """Hand-checkable sanity of the derivation: the bound sits under the reference mean by about
    2.3 standard errors, and far above the task's random policy."""
    guard = GUARDS[task]
    ref = reference(guard)
    low = lower_bound(ref)
    standard_error = ref.std(ddof=1) / np.sqrt(len(SEEDS))
    assert ref.mean() - 3.5 * standard_error < low < ref.mean() - 1.5 * standard_error
    assert low > guard.floor


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(GUARDS))
def test_the_base_config_stays_in_the_studys_band(tmp_path, fast_cfg, task):
    guard = GUARDS[task]
    finals, low = run_slice(tmp_path, fast_cfg, guard), lower_bound(reference(guard))
    print(f"guard {task}: 5-seed mean {finals.mean():.1f} (per seed {np.round(finals, 1)}), band >= {low:.1f}")
    assert finals.mean() >= low, (finals, low)


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(GUARDS))
def test_the_band_catches_a_sign_flipped_policy_loss(tmp_path, fast_cfg, monkeypatch, task):
    update = agents.A2C.update

    def flipped(self, rollout, out, advantages, value_targets, normalize, progress):
        return update(self, rollout, out, -advantages, value_targets, normalize, progress)

    monkeypatch.setattr(agents.A2C, "update", flipped)
    guard = GUARDS[task]
    finals, low = run_slice(tmp_path, fast_cfg, guard), lower_bound(reference(guard))
    print(f"broken learner, {task}: 5-seed mean {finals.mean():.1f}, band >= {low:.1f}")
    assert finals.mean() < low
