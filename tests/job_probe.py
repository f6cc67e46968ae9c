"""Test-only Hydra callback and task: a job that crashes mid-run, and which process ran it.

``A2cLabCrash-v0`` is CartPole whose ``step`` raises after ``crash_after`` steps of one env;
``A2cLabCrashSecond-v0`` does so only in the second env built in its process.
Gymnasium's registry lives in each process, and Hydra's launchers run jobs in other
processes (joblib's workers, submitit's jobs), so the job's process must register the id
itself: pass this module's callback to Hydra, which sends it with the job wherever it runs
and calls it there before the task function:

    +hydra.callbacks.probe._target_=job_probe.JobProbe task.id=A2cLabCrash-v0

(with this folder on PYTHONPATH). The callback also writes the job's process id into its run
folder (``job_pid.txt``), so a test can tell which jobs shared a worker process. Nothing in
a2c_lab knows about any of this.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium.envs.classic_control import CartPoleEnv
from hydra.experimental.callback import Callback

CRASH_ID = "A2cLabCrash-v0"
CRASH_SECOND_ID = "A2cLabCrashSecond-v0"  # only the second env built in a process crashes
PID_FILE = "job_pid.txt"
CRASH_AFTER = 100  # steps of one env: with 8 envs, about 800 env steps into the run


class CrashingCartPole(CartPoleEnv):
    def __init__(self, crash_after: int = CRASH_AFTER, **kwargs: Any):
        super().__init__(**kwargs)
        self.crash_after = crash_after
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps > self.crash_after:
            raise RuntimeError(f"{CRASH_ID} crashed on purpose after {self.crash_after} steps")
        return super().step(action)


class SecondCrashes(CartPoleEnv):
    """Only the second instance to take a step in its process crashes (after ``CRASH_AFTER`` steps).
    Instances that never step (the task check's, a vector env's probe) do not count: in a group of
    seeds with one env each, trained in seed order, exactly the second seed fails."""

    stepped = 0  # instances of this process that have taken a step

    def step(self, action):
        if not hasattr(self, "order"):
            SecondCrashes.stepped += 1
            self.order, self.steps = SecondCrashes.stepped, 0
        self.steps += 1
        if self.order == 2 and self.steps > CRASH_AFTER:
            raise RuntimeError(f"{CRASH_SECOND_ID} crashed on purpose after {CRASH_AFTER} steps")
        return super().step(action)


def register() -> None:
    if CRASH_ID not in gym.registry:
        gym.register(CRASH_ID, entry_point=f"{__name__}:CrashingCartPole", max_episode_steps=500,
                     kwargs={"crash_after": CRASH_AFTER})
    if CRASH_SECOND_ID not in gym.registry:
        gym.register(CRASH_SECOND_ID, entry_point=f"{__name__}:SecondCrashes", max_episode_steps=500)


class JobProbe(Callback):
    """Runs in the job's own process: registers the crashing task, records the process id."""

    def on_job_start(self, config: Any, **kwargs: Any) -> None:
        register()
        (Path(config.hydra.runtime.output_dir) / PID_FILE).write_text(str(os.getpid()))
