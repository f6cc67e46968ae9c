"""Autoreset and truncation handling: no transition crosses an episode boundary.

Observations, rewards, lengths and counts here are small integers that the envs produce
(or sums of them), exact on any CPU, so they are compared exactly; the reference episode
lengths come from the same gymnasium code the collector steps.
"""

import gymnasium as gym
import numpy as np
import pytest

from a2c_lab.config import Backend, ConfigError
from a2c_lab.training.envs import VectorEnv, check_task, resolve_backend
from a2c_lab.training.rollout import Collector
from conftest import COUNTER_ID, UNSUPPORTED_ID


@pytest.mark.parametrize("backend", [Backend.sync, Backend["async"]])
def test_same_step_autoreset_reports_final_obs_and_truncation(backend):
    envs = VectorEnv(COUNTER_ID, 2, backend, 0)
    try:
        obs = envs.reset()
        assert obs.tolist() == [[0, 0], [0, 0]]
        rows = [envs.step(np.array([0, 0])) for _ in range(4)]
    finally:
        envs.close()
    # step 3 hits the 3-step time limit: truncated, not terminated; next_obs is the final obs [3, 0],
    # obs to act on is the reset obs [0, 0]; every row is a real transition.
    third = rows[2]
    assert third.truncated.tolist() == [True, True] and third.terminated.tolist() == [False, False]
    assert third.next_obs.tolist() == [[3, 0], [3, 0]]
    assert third.obs.tolist() == [[0, 0], [0, 0]]
    assert all(r.valid.all() for r in rows)
    assert rows[3].next_obs.tolist() == [[1, 0], [1, 0]]  # the new episode's first transition


def test_native_next_step_autoreset_masks_the_reset_step():
    envs = VectorEnv("CartPole-v1", 4, Backend.native, 0)
    try:
        assert envs.next_step_autoreset
        envs.reset()
        ended_before = np.zeros(4, dtype=bool)
        seen_end = False
        for _ in range(200):
            step = envs.step(np.zeros(4, dtype=np.int64))  # always push left: short episodes
            # a row is fake exactly when that env's episode ended on the previous step
            assert step.valid.tolist() == (~ended_before).tolist()
            assert (step.reward[~step.valid] == 0).all()
            ended_before = step.terminated | step.truncated
            seen_end |= ended_before.any()
    finally:
        envs.close()
    assert seen_end


def first_episode_lengths(backend, reset_seeds, num_envs):
    """Independent reference: count each env's first episode with gymnasium directly, each env
    seeded with the seed a2c-lab's VectorEnv gave it."""
    if backend is Backend.sync:  # a seed per env
        lengths = []
        for i in range(num_envs):
            env = gym.make("CartPole-v1")
            env.reset(seed=reset_seeds[i])
            length, done = 0, False
            while not done:
                _, _, term, trunc, _ = env.step(0)
                length, done = length + 1, term or trunc
            lengths.append(length)
        return lengths
    env = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    env.reset(seed=reset_seeds[0])  # one generator for all envs
    length, running = np.zeros(num_envs, dtype=int), np.ones(num_envs, dtype=bool)
    while running.any():
        _, _, term, trunc, _ = env.step(np.zeros(num_envs, dtype=np.int64))
        length += running
        running &= ~(term | trunc)
    return length.tolist()


@pytest.mark.parametrize("backend", [Backend.native, Backend.sync])
def test_collector_counts_real_transitions_and_episode_lengths(backend):
    """Episode lengths and env steps match a plain single-env loop with the same actions, for
    each seed of a group of two."""
    envs = [VectorEnv("CartPole-v1", 3, backend, seed) for seed in (5, 6)]
    collector = Collector(envs, start_time=0.0)
    always_left = lambda obs: np.zeros(obs.shape[:2], dtype=np.int64)  # noqa: E731
    lengths, masked = [[], []], np.zeros(2, dtype=int)
    for _ in range(20):
        rollout, episodes = collector.collect(always_left, n_steps=5)
        for s in range(2):
            lengths[s] += episodes[s].lengths.tolist()
            np.testing.assert_array_equal(episodes[s].returns, episodes[s].lengths)  # CartPole: reward 1 a step
        masked += (rollout.mask == 0).sum(dim=(0, 2)).numpy()
        assert (rollout.dones[rollout.mask == 0] == 1).all()
    for e in envs:
        e.close()
    for s in range(2):
        assert sorted(lengths[s][:3]) == sorted(first_episode_lengths(backend, envs[s].reset_seeds, num_envs=3))
    assert collector.env_steps.tolist() == (20 * 5 * 3 - masked).tolist()
    assert lengths[0] != lengths[1]  # two seeds, two streams
    if backend is Backend.sync:
        assert masked.sum() == 0
    else:
        assert masked.sum() > 0


def test_truncated_rows_bootstrap_from_final_obs_in_a_rollout():
    envs = VectorEnv(COUNTER_ID, 1, Backend.sync, 0)
    collector = Collector([envs], start_time=0.0)
    rollout, [episodes] = collector.collect(lambda o: np.zeros((1, 1), dtype=np.int64), n_steps=4)
    envs.close()
    assert rollout.obs[:, 0, 0, 0].tolist() == [0, 1, 2, 0]
    assert rollout.next_obs[:, 0, 0, 0].tolist() == [1, 2, 3, 1]
    assert rollout.truncated[:, 0, 0].tolist() == [0, 0, 1, 0]
    assert rollout.terminated.sum() == 0
    assert episodes.lengths.tolist() == [3] and episodes.env_step.tolist() == [3]


def test_backend_resolution_and_task_checks():
    assert resolve_backend("CartPole-v1", Backend.auto) is Backend.native
    assert resolve_backend("Acrobot-v1", Backend.auto) is Backend.sync
    with pytest.raises(ConfigError, match="envs.backend=native"):
        resolve_backend("Acrobot-v1", Backend.native)
    check_task("Pendulum-v1")  # Box actions train since continuous control (a Gaussian policy)
    with pytest.raises(ConfigError, match=f"task.id='{UNSUPPORTED_ID}'.*Discrete space.*flat Box"):
        check_task(UNSUPPORTED_ID)
    with pytest.raises(ConfigError, match="task.id='NoSuchEnv-v0'"):
        check_task("NoSuchEnv-v0")


def test_native_env_drops_only_its_per_step_action_check():
    """The native vector env's ``assert action_space.contains(action)`` is skipped (our actions
    are valid by construction); the spaces the policy is built from stay as gymnasium made them."""
    env = VectorEnv("CartPole-v1", 3, Backend.native, 0)
    assert env.env.single_action_space == gym.spaces.Discrete(2)
    assert env.env.action_space == gym.spaces.MultiDiscrete([2, 2, 2])
    assert env.env.action_space.contains(np.array([7, 7, 7]))  # not checked any more
    assert not gym.spaces.MultiDiscrete([2, 2, 2]).contains(np.array([7, 7, 7]))
    env.reset()
    step = env.step(np.array([0, 1, 1]))
    assert step.obs.shape == (3, 4) and step.valid.all()
    env.close()
