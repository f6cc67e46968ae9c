"""scripts/jax_peer.py, the benchmark's JAX A2C peer: its update math against hand-computed
numbers, and one end-to-end run of its command line (slow). Needs the ``[jax]`` extra."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")
pytest.importorskip("gymnax")
pytest.importorskip("optax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "jax_peer.py"


@pytest.fixture(scope="module")
def peer():
    spec = importlib.util.spec_from_file_location("jax_peer", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rollout():
    """T=4 steps, 2 envs, reward 1 each step, gamma 0.9.
    env 0: values 0.5 0.4 0.3 0.2; terminated at t=1; truncated (only) at t=2 with
           V(final obs) = 2.0; V(obs after the rollout) = 10.
    env 1: values 1 1 1 1; terminated and truncated together at t=0 (V(final obs) = 5.0, unused:
           a termination bootstraps nothing); V(obs after the rollout) = 0."""
    f = jnp.float32
    rewards = jnp.ones((4, 2), f)
    values = jnp.array([[0.5, 1.0], [0.4, 1.0], [0.3, 1.0], [0.2, 1.0]], f)
    term = jnp.array([[0, 1], [1, 0], [0, 0], [0, 0]], bool)
    trunc = jnp.array([[0, 1], [0, 0], [1, 0], [0, 0]], bool)
    final_values = jnp.array([[0.0, 5.0], [0.0, 0.0], [2.0, 0.0], [0.0, 0.0]], f)
    last_value = jnp.array([10.0, 0.0], f)
    return rewards, values, term, trunc, final_values, last_value


def test_nstep_returns_with_a_termination_and_a_truncation_lambda_1(peer):
    # env 0, backwards: t3 1 + 0.9 * 10 = 10.0; t2 (truncated) 1 + 0.9 * 2.0 = 2.8;
    #   t1 (terminated) 1; t0 1 + 0.9 * 1 = 1.9. Advantages: minus the values.
    # env 1: t3 1; t2 1 + 0.9 * 1 = 1.9; t1 1 + 0.9 * 1.9 = 2.71; t0 (terminated) 1.
    adv, ret = peer.compute_advantages(*rollout(), gamma=0.9, lam=1.0)
    np.testing.assert_allclose(ret, [[1.9, 1.0], [1.0, 2.71], [2.8, 1.9], [10.0, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(adv, [[1.4, 0.0], [0.6, 1.71], [2.5, 0.9], [9.8, 0.0]], rtol=1e-6, atol=1e-6)


def test_gae_lambda_below_1(peer):
    # env 0, lambda 0.5: deltas t3 1 + 0.9 * 10 - 0.2 = 9.8; t2 2.8 - 0.3 = 2.5 (episode ends);
    #   t1 1 - 0.4 = 0.6 (ends); t0 1 + 0.9 * 0.4 - 0.5 = 0.86, A0 = 0.86 + 0.9 * 0.5 * 0.6 = 1.13.
    # env 1: deltas t3 1 + 0 - 1 = 0; t2 1 + 0.9 - 1 = 0.9; t1 0.9; t0 (ends) 0.
    #   A2 = 0.9 + 0.45 * 0 = 0.9; A1 = 0.9 + 0.45 * 0.9 = 1.305; A0 = 0.
    adv, ret = peer.compute_advantages(*rollout(), gamma=0.9, lam=0.5)
    np.testing.assert_allclose(adv, [[1.13, 0.0], [0.6, 1.305], [2.5, 0.9], [9.8, 0.0]], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ret, adv + rollout()[1], rtol=1e-6)


def test_clipping_takes_each_seeds_own_global_norm(peer):
    # seed 0: leaves [3, 0] and [[0, 4]]: norm 5 > 0.5, scaled by 0.5 / (5 + 1e-6) -> [0.3, 0], [[0, 0.4]].
    # seed 1: leaves [0.1, 0.2] and [[0, 0]]: norm sqrt(0.05) = 0.2236 < 0.5, unchanged.
    # (One norm over both seeds, sqrt(25.05), would have scaled seed 1 too.)
    grads = dict(a=jnp.array([[3.0, 0.0], [0.1, 0.2]]), b=jnp.array([[[0.0, 4.0]], [[0.0, 0.0]]]))
    clipped, norms = jax.vmap(lambda g: peer.clip_grads(g, 0.5))(grads)
    np.testing.assert_allclose(norms, [5.0, math.sqrt(0.05)], rtol=1e-6)
    scale = 0.5 / (5.0 + 1e-6)
    np.testing.assert_allclose(clipped["a"], [[3.0 * scale, 0.0], [0.1, 0.2]], rtol=1e-6)
    np.testing.assert_allclose(clipped["b"], [[[0.0, 4.0 * scale]], [[0.0, 0.0]]], rtol=1e-6)


def test_episode_window_and_first_step_at_target(peer):
    """Window 2, 3 envs: episodes enter the ring buffer in env order; the first env step count
    at which the window's mean reaches 475 is kept, later dips do not move it."""
    t = dict(running=jnp.array([470.0, 0.0, 10.0]), buf=jnp.zeros(2), count=jnp.int32(0),
             mean=jnp.float32(0.0), first_hit=jnp.int32(-1))
    ones = jnp.ones(3)
    t = peer.record_episodes(t, ones, jnp.array([True, False, False]), 3, window=2)  # 471 ends
    assert int(t["count"]) == 1 and float(t["mean"]) == 471.0 and int(t["first_hit"]) == -1
    np.testing.assert_allclose(t["running"], [0.0, 1.0, 11.0])
    t = dict(t, running=jnp.array([480.0, 478.0, 20.0]))
    t = peer.record_episodes(t, ones, jnp.array([True, True, False]), 6, window=2)  # 481, 479 end
    assert int(t["count"]) == 3 and float(t["mean"]) == 480.0 and int(t["first_hit"]) == 6
    t = peer.record_episodes(t, ones, jnp.array([False, False, True]), 9, window=2)  # 20 + 1 + 1 ends
    assert float(t["mean"]) == (479.0 + 22.0) / 2 and int(t["first_hit"]) == 6


@pytest.mark.slow
def test_cli_two_seeds_learn(tmp_path):
    """2 seeds x 100k env steps, about 10 s on 2 cores (6 of them compiling)."""
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, str(SCRIPT), "--seeds", "2", "--steps", "100000", "--json"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    out = json.loads(lines[0])
    assert set(out) == {"seeds", "total_steps", "num_envs", "wall_s", "compile_s", "train_s",
                        "env_steps_per_s", "steps_to_475", "final_return", "jax_version",
                        "gymnax_version"}
    assert (out["seeds"], out["total_steps"], out["num_envs"]) == (2, 100_000, 8)
    assert 0 < out["compile_s"] < out["wall_s"] and 0 < out["train_s"] < out["wall_s"]
    assert len(out["steps_to_475"]) == len(out["final_return"]) == 2
    assert all(isinstance(r, float) and math.isfinite(r) for r in out["final_return"])
    # A random policy's episodes average about 22 steps. At 100k, A2C's last-100 mean still swings
    # widely (seeds 0-9, jax 0.10.2: 75-397 at 100k, and 68-396 anywhere from 20k to 100k, as
    # seeds collapse and recover), so the bar is 50 for the better of the two seeds: learning,
    # without betting on where a swing stands.
    assert max(out["final_return"]) > 50, out
