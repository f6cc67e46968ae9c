"""obs_norm=obs_reward's statistics are Stable-Baselines3's VecNormalize's (issue 18).

One stream of observations, rewards and episode ends (200 steps of 4 envs, synthesised with a
fixed numpy generator: scales that differ per dimension, several episode ends, an observation
and a reward far outside the rest, so both clips act) goes to SB3's own ``VecNormalize`` with
its defaults (through a VecEnv that replays it) and to a2c-lab's ``Normalizer`` in the order
a2c-lab's Collector feeds it (rollout.py: ``observe`` the reset observations at construction;
then each step ``normalize`` the current observations to act, step, ``observe`` the new ones
and ``scale_rewards``). After every step both hold the same observation and return statistics
(mean, var, count), the same per-env discounted returns, the same normalised observations (what
the policy acts on next) and the same scaled rewards.

Cases: one seed; two seeds in one Normalizer, each with its own stream, against two
VecNormalize (a seed never sees the other's data); and rows that are not real transitions
(``valid`` False: NEXT_STEP autoreset's reset step after an episode end), which must leave the
statistics as VecNormalize's fed the stream without those rows. VecNormalize has no such rows:
it steps on the valid rows alone, with the per-env returns of those envs (a seed whose rows are
all invalid at a step is not stepped at all).
"""

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
from stable_baselines3.common.vec_env import VecEnv, VecNormalize  # noqa: E402

from a2c_lab.config import ObsNorm, ObsNormConfig  # noqa: E402
from a2c_lab.training.normalization import Normalizer  # noqa: E402

# Statistics: both sides do the same float64 arithmetic (SB3's RunningMeanStd.update_from_moments
# and a2c-lab's batched copy), differing only in summation order (np.var vs a weighted sum): a
# few float64 ulps (~1e-16 relative). 1e-10 relative still catches any missed or extra update.
STATS = dict(rtol=1e-10, atol=1e-12)
# Normalised observations and scaled rewards are float32 on both sides (cast from those float64
# numbers): equal, or one float32 ulp apart (~1.2e-7 relative) where the cast rounds differently.
OUTPUTS = dict(rtol=1e-6, atol=1e-9)
STEPS, N, D = 200, 4, 3
GAMMA, CLIP, EPSILON = 0.99, 10.0, 1e-8


def stream(seed, masked, all_masked_at=None):
    """One seed's stream: obs [STEPS + 1, N, D] (obs[0] from reset, obs[t + 1] after step t),
    rewards, dones and valid [STEPS, N]. With ``masked``, the step after each episode end is
    NEXT_STEP's reset step (valid False, reward 0); ``all_masked_at``: every env ends at that
    step, so the next has no valid row at all."""
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(STEPS + 1, N, D)) * np.array([1e-3, 5.0, 40.0]) + np.array([0.0, -3.0, 100.0])
    rewards = rng.normal(1.0, 2.0, size=(STEPS, N))
    dones = rng.random((STEPS, N)) < 0.05
    if all_masked_at is not None:
        dones[all_masked_at - 1], dones[all_masked_at] = False, True
    valid = np.ones((STEPS, N), dtype=bool)
    if masked:
        for t in range(1, STEPS):
            valid[t] = ~dones[t - 1]
            dones[t] &= valid[t]  # a reset step does not end an episode
        # gymnasium's reset step gives reward 0; any other number must be ignored as well
    obs[120, np.argmax(valid[119]), 1] = 1e3  # far outside: normalised to beyond +10, clipped
    rewards[100, np.argmax(valid[100])] = 1e4  # scaled to beyond +10, clipped
    return obs, rewards, dones, valid


class Replay(VecEnv):
    """A VecEnv that gives back what the test hands it: ``reset`` the stream's first
    observations, ``step`` the rows in ``self.next`` (obs, rewards, dones)."""

    def __init__(self, first_obs):
        super().__init__(len(first_obs), gym.spaces.Box(-np.inf, np.inf, (D,), np.float64), gym.spaces.Discrete(2))
        self.first_obs, self.next = first_obs, None

    def reset(self):
        return self.first_obs.copy()

    def step_async(self, actions):
        pass

    def step_wait(self):
        obs, rewards, dones = self.next
        return obs.copy(), rewards.copy(), dones.copy(), [{} for _ in dones]

    def close(self):
        pass

    def get_attr(self, attr_name, indices=None):
        return [None] * self.num_envs

    def set_attr(self, attr_name, value, indices=None):
        pass

    def env_method(self, method_name, *args, indices=None, **kwargs):
        return [None] * self.num_envs

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False] * self.num_envs


def close(actual, expected, tolerance, what):
    np.testing.assert_allclose(actual, expected, **tolerance, err_msg=what)


def assert_same_statistics(norm, s, vn, t):
    for name, ours, theirs in (("obs", norm.obs_rms, vn.obs_rms), ("return", norm.ret_rms, vn.ret_rms)):
        close(ours.mean[s], theirs.mean, STATS, f"step {t}, seed {s}: {name} mean")
        close(ours.var[s], theirs.var, STATS, f"step {t}, seed {s}: {name} var")
        close(ours.count[s], theirs.count, STATS, f"step {t}, seed {s}: {name} count")


def run_both(streams):
    """Feed a2c-lab's Normalizer (one seed per stream) and one VecNormalize per stream the same
    data, comparing after every step. Returns the VecNormalize outputs (obs, rewards) seen."""
    seeds = len(streams)
    obs, rewards, dones, valid = (np.stack(parts, axis=1) for parts in zip(*streams))  # [T, S, N, ...]
    vecs = [VecNormalize(Replay(obs[0, s]), training=True, norm_obs=True, norm_reward=True, clip_obs=CLIP,
                         clip_reward=CLIP, gamma=GAMMA, epsilon=EPSILON) for s in range(seeds)]
    norm = Normalizer(ObsNormConfig(name=ObsNorm.obs_reward, clip=CLIP, epsilon=EPSILON), GAMMA, seeds, D, N)

    acting = [vn.reset() for vn in vecs]  # what each seed's policy acts on next, by VecNormalize
    norm.observe(obs[0], np.ones((seeds, N), dtype=bool))  # Collector.__init__
    for s, vn in enumerate(vecs):
        assert_same_statistics(norm, s, vn, "reset")
    seen_obs, seen_rewards = [], []
    for t in range(STEPS):
        ours = norm.normalize(obs[t])  # Collector.collect: act on the normalised observations
        for s in range(seeds):
            close(ours[s], acting[s], OUTPUTS, f"step {t}, seed {s}: the observations acted on")
        norm.observe(obs[t + 1], valid[t])
        scaled = norm.scale_rewards(rewards[t], dones[t], valid[t])
        for s, vn in enumerate(vecs):
            rows = valid[t, s]
            if rows.any():  # VecNormalize steps on the valid rows alone, with those envs' returns
                returns = vn.returns.copy()
                vn.returns = returns[rows]
                vn.venv.next = (obs[t + 1, s][rows], rewards[t, s][rows], dones[t, s][rows])
                new_obs, new_rewards, _, _ = vn.step(np.zeros(rows.sum()))
                returns[rows] = vn.returns
                vn.returns = returns
                close(scaled[s][rows], new_rewards, OUTPUTS, f"step {t}, seed {s}: scaled rewards")
                seen_obs.append(new_obs)
                seen_rewards.append(new_rewards)
            # The next observations: VecNormalize's own where it stepped, its normalize_obs for all.
            acting[s] = vn.normalize_obs(obs[t + 1, s])
            if rows.any():
                close(acting[s][rows], new_obs, OUTPUTS, f"step {t}, seed {s}: VecNormalize's two outputs")
            close(norm.returns[s], vn.returns, STATS, f"step {t}, seed {s}: discounted returns")
            assert_same_statistics(norm, s, vn, t)
    return np.concatenate(seen_obs), np.concatenate(seen_rewards)


def check_the_stream_tested_something(obs, rewards):
    """Both clips acted, and the statistics moved far from their initial (0, 1)."""
    assert np.abs(obs).max() == CLIP and np.abs(rewards).max() == CLIP
    assert np.abs(rewards).min() < 1.0 and (np.abs(obs) < CLIP).mean() > 0.99


def test_one_seed_matches_vecnormalize():
    obs, rewards = run_both([stream(1, masked=False)])
    check_the_stream_tested_something(obs, rewards)


def test_two_seeds_each_match_their_own_vecnormalize():
    """Two streams of different scales in one Normalizer: each seed's statistics are its own."""
    first, second = stream(2, masked=False), stream(3, masked=False)
    second = (second[0] * 7.0 - 50.0, second[1] * 0.1, second[2], second[3])
    obs, rewards = run_both([first, second])
    check_the_stream_tested_something(obs, rewards)


@pytest.mark.parametrize("seeds", [1, 2])
def test_invalid_rows_leave_the_statistics_alone(seeds):
    """NEXT_STEP's reset rows: VecNormalize fed the stream without them. With two seeds, the
    second has a step with no valid row at all (its statistics must not move)."""
    streams = [stream(4, masked=True), stream(5, masked=True, all_masked_at=150)][:seeds]
    assert all((~s[3]).sum() >= 10 for s in streams) and (seeds == 1 or not streams[1][3][150 + 1].any())
    obs, rewards = run_both(streams)
    check_the_stream_tested_something(obs, rewards)
