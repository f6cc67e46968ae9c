"""Shared test helpers: config composition, a tiny deterministic env with a time limit,
synthetic run folders with curves the tests choose, and one real run killed part-way.

Folders that cost time to make are made once per session and shared: a test that may change
its folders gets a copy (``constant_sweep``, ``learning_sweeps``); a test that only reads one
gets the folder itself (``killed_run``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import synthetic_runs as synthetic
from a2c_lab.config import register_configs
from a2c_lab.runs import metrics as M

CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")
COUNTER_ID = "A2CLabTest/Counter-v0"


class CounterEnv(gym.Env):
    """obs = [t, 0]; reward 1 per step (+10 if action 1); terminates when t reaches 5 if
    action 1 was taken at t=4; time limit (truncation) at 3 steps via max_episode_steps."""

    observation_space = gym.spaces.Box(-100, 100, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0, 0.0], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        reward = 1.0 + 10.0 * float(action)
        return np.array([self.t, 0.0], dtype=np.float32), reward, False, False, {}


if COUNTER_ID not in gym.registry:
    gym.register(COUNTER_ID, entry_point=CounterEnv, max_episode_steps=3)

ECHO_ID = "A2CLabTest/BoxEcho-v0"


class BoxEchoEnv(gym.Env):
    """Box actions in [-1, 1]^2: the observation is the action the env received (after any
    clipping), the reward 1 per step; episodes are cut at 4 steps (max_episode_steps)."""

    observation_space = gym.spaces.Box(-100, 100, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, dtype=np.float32), {}

    def step(self, action):
        return np.asarray(action, dtype=np.float32).copy(), 1.0, False, False, {}


if ECHO_ID not in gym.registry:
    gym.register(ECHO_ID, entry_point=BoxEchoEnv, max_episode_steps=4)

UNSUPPORTED_ID = "A2CLabTest/MultiDiscrete-v0"


class MultiDiscreteEnv(gym.Env):
    """An action space that neither policy (Categorical, diagonal Gaussian) covers."""

    observation_space = gym.spaces.Box(-1, 1, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.MultiDiscrete([2, 3])


if UNSUPPORTED_ID not in gym.registry:
    gym.register(UNSUPPORTED_ID, entry_point=MultiDiscreteEnv)

register_configs()


def make_cfg(*overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


FAST = ("logger=none", "eval.interval=0", "progress=false")


@pytest.fixture
def fast_cfg():
    def build(*overrides: str) -> DictConfig:
        return make_cfg(*FAST, *overrides)
    return build


# Final returns per seed, constant within each run, so every statistic is known by hand.
SPLIT_RETURNS = [100.0, 200.0, 300.0, 400.0, 500.0]  # IQM 300 (trims 100 and 500), mean 300
SHARED_RETURNS = [150.0, 250.0, 350.0, 450.0, 600.0]  # IQM 350, mean 360
EPISODES = 200
TOTAL_STEPS = 4000  # one episode every 20 env steps


@pytest.fixture(scope="session")
def constant_sweep_template(tmp_path_factory) -> Path:
    """Written once per session; tests get a copy (``constant_sweep``)."""
    sweep = tmp_path_factory.mktemp("constant_sweep") / "2026-01-01_00-00-00_agents"
    job = 0
    for agent, values in (("split", SPLIT_RETURNS), ("shared", SHARED_RETURNS)):
        for seed, value in enumerate(values):
            synthetic.write_run(sweep / str(job), np.full(EPISODES, value),
                                {"agent.name": agent, "seed": seed, "total_steps": TOTAL_STEPS,
                                 "task.threshold": 275.0},
                                sps=1000.0 * (1 + (agent == "shared")), evals=True)
            job += 1
    return sweep


@pytest.fixture
def constant_sweep(tmp_path: Path, constant_sweep_template: Path) -> Path:
    """Two variants (agent split and shared) x 5 seeds; each run's episodes all return
    the same value. Folder names say nothing about the variant: labels must come from
    the configs. A copy of the session's template, in this test's tmp_path: tests change it."""
    return Path(shutil.copytree(constant_sweep_template, tmp_path / constant_sweep_template.name))


@pytest.fixture(scope="session")
def learning_sweeps_template(tmp_path_factory) -> list[Path]:
    """Written once per session; tests get a copy (``learning_sweeps``)."""
    tmp_path = tmp_path_factory.mktemp("learning_sweeps")
    cartpole = synthetic.write_sweep(
        tmp_path / "runs" / "sweeps" / "2026-01-01_00-00-00_agents",
        {"split": {"agent.name": "split"}, "shared": {"agent.name": "shared"}}, seeds=range(3), total_steps=20_000)
    acrobot = synthetic.write_sweep(
        tmp_path / "runs" / "sweeps" / "2026-01-02_00-00-00_advantages",
        {"td": {"advantage.name": "td", "advantage.lam": 0.0, "task.id": "Acrobot-v1", "task.threshold": 400.0},
         "gae": {"advantage.name": "gae", "task.id": "Acrobot-v1", "task.threshold": 400.0}},
        seeds=range(2), total_steps=20_000)
    return [cartpole, acrobot]


@pytest.fixture
def learning_sweeps(tmp_path: Path, learning_sweeps_template: list[Path]) -> list[Path]:
    """Two small sweeps with CartPole-like learning curves: agents on CartPole (3 seeds),
    and td vs gae on Acrobot (2 seeds), under ``tmp_path/runs/sweeps/``. A copy of the
    session's template: tests change it."""
    root = learning_sweeps_template[0].parents[2]  # <template>/runs/sweeps/<sweep>
    shutil.copytree(root / "runs", tmp_path / "runs")
    return [tmp_path / sweep.relative_to(root) for sweep in learning_sweeps_template]


@pytest.fixture(scope="session")
def killed_run(tmp_path_factory) -> Path:
    """A real run (``python -m a2c_lab.run``, no W&B, one env, no end in sight) killed with
    SIGKILL once its updates.csv holds 20 kB (about a hundred updates), so it never got to say
    so. Started once per session; the tests that read it (tests/test_trust.py,
    tests/test_trainer.py) only read it."""
    tmp = tmp_path_factory.mktemp("killed")
    run_dir = tmp / "run"
    repo = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "a2c_lab.run", "logger=none", "eval.interval=0", "progress=false",
         "total_steps=1000000000", "envs=single", f"hydra.run.dir={run_dir}"],
        cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    updates = run_dir / M.UPDATES_FILE
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and (
            not updates.exists() or updates.stat().st_size < 20_000):
        time.sleep(0.1)
    if proc.poll() is None:  # a run that ended by itself is left to the tests' checks
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return run_dir
