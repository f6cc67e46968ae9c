"""What the benchmarks run: one a2c-lab run in this process, Stable-Baselines3's A2C at the
matched settings, the time to solve read from a run's episodes, and the raw env's throughput.

The matched settings are RL-Zoo's CartPole-v1 A2C (``experiment=sb3_matched``: 8 envs, n_steps 5,
tanh 64-64 towers, RMSprop, clipping 0.5). SB3's ``learn()`` evaluates nothing, so neither does
a2c-lab here (``MATCHED``). Stable-Baselines3 is the ``[bench]`` extra:
``pip install -e ".[bench]"``; torch, SB3, gymnasium and Hydra are imported when first used.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from a2c_lab.runs import metrics as m
from a2c_lab.runs.episode_stats import trailing_mean

ROOT = Path(__file__).resolve().parents[2]  # the checkout: conf/, scripts/
TASK = "CartPole-v1"
THRESHOLD = 475.0
# The matched settings. SB3's learn() evaluates nothing, so neither does a2c-lab here; the
# sps section also times a2c-lab with its default greedy evaluation (every 25k steps).
MATCHED = ["experiment=sb3_matched", "progress=false", "eval.interval=0"]


def compose(overrides: list[str]):
    """The config ``python -m a2c_lab.run`` would compose from conf/ with these overrides."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from a2c_lab.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return hydra_compose("config", overrides=overrides)


def run_a2c_lab(overrides: list[str]) -> tuple[dict, Path, float]:
    """One a2c-lab run in this process: (summary plus ``cpu_s``, run folder, whole-call wall seconds)."""
    from a2c_lab.training.trainer import train

    cfg = compose(overrides)
    run_dir = Path(tempfile.mkdtemp(prefix="a2c_lab_bench_"))
    start, cpu = time.perf_counter(), time.process_time()
    summary = train(cfg, run_dir=run_dir)
    summary["cpu_s"] = time.process_time() - cpu  # the whole call, setup included
    return summary, run_dir, time.perf_counter() - start


def grouped_sps(overrides: list[str], seeds: list[int]) -> float:
    """All seeds' env steps per second of one grouped training call (``train_group``) in this
    process, with the config ``overrides`` compose; the run folders are temporary."""
    from a2c_lab.training.trainer import train_group

    cfg = compose(overrides)
    folder = Path(tempfile.mkdtemp(prefix="a2c_lab_group_"))
    try:
        start = time.perf_counter()
        summaries = train_group(cfg, seeds, [folder / str(s) for s in seeds])
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(folder)
    return sum(s["summary/env_steps"] for s in summaries) / wall


def sb3_model(num_envs: int, seed: int):
    """SB3 A2C with RL-Zoo's CartPole-v1 settings, matched to ``experiment=sb3_matched``."""
    import torch
    from stable_baselines3 import A2C
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(TASK, n_envs=num_envs, seed=seed)
    return A2C("MlpPolicy", env, n_steps=5, gamma=0.99, gae_lambda=1.0, ent_coef=0.0, vf_coef=0.5,
               max_grad_norm=0.5, learning_rate=7e-4, use_rms_prop=True, rms_prop_eps=1e-5,
               normalize_advantage=False, seed=seed, device="cpu", verbose=0,
               policy_kwargs=dict(net_arch=dict(pi=[64, 64], vf=[64, 64]), activation_fn=torch.nn.Tanh,
                                  ortho_init=True))


def run_sb3(steps: int, seed: int = 0, stop_at: float | None = None) -> dict:
    """Train SB3 A2C for ``steps``; with ``stop_at``, stop when the last-100 mean reaches it.

    The mean is checked once per rollout (every 5 vector steps) from SB3's own episode buffer,
    which holds the last 100 episodes.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    class SolveWatch(BaseCallback):
        def __init__(self):
            super().__init__()
            self.solved_at: tuple[int, float] | None = None  # (env steps, loop seconds)
            self.start = time.perf_counter()

        def _on_step(self) -> bool:
            return stop_at is None or self.solved_at is None

        def _on_rollout_end(self) -> None:
            buffer = self.model.ep_info_buffer
            if stop_at is not None and self.solved_at is None and buffer:
                if np.mean([info["r"] for info in buffer]) >= stop_at:
                    self.solved_at = (self.num_timesteps, time.perf_counter() - self.start)

    model = sb3_model(8, seed)
    watch = SolveWatch()
    cpu = time.process_time()
    model.learn(total_timesteps=steps, callback=watch)
    wall, cpu = time.perf_counter() - watch.start, time.process_time() - cpu
    return {"env_steps": model.num_timesteps, "wall": wall, "sps": model.num_timesteps / wall,
            "cpu_sps": model.num_timesteps / cpu, "solved_at": watch.solved_at}


def time_to_solve(run_dir: Path) -> tuple[int, float] | None:
    """(env step, loop seconds) when the last-100 mean of a2c-lab's episodes first reached 475."""
    data = np.genfromtxt(run_dir / m.EPISODES_FILE, delimiter=",", names=True, deletechars="")
    data = np.atleast_1d(data)
    if data.size == 0:
        return None
    reached = np.flatnonzero(trailing_mean(data[m.EPISODE_RETURN], 100) >= THRESHOLD)
    if not reached.size:
        return None
    return int(data[m.ENV_STEP][reached[0]]), float(data[m.WALL_TIME][reached[0]])


def raw_env_sps(num_envs: int, vector_steps: int, seed: int) -> float:
    """gymnasium's native vector env stepping random actions (drawn beforehand): env steps/s."""
    import gymnasium as gym

    env = gym.make_vec(TASK, num_envs=num_envs, vectorization_mode="vector_entry_point")
    env.reset(seed=seed)
    actions = np.random.default_rng(seed).integers(0, 2, size=(vector_steps, num_envs))
    start = time.perf_counter()
    for a in actions:
        env.step(a)
    wall = time.perf_counter() - start
    env.close()
    return vector_steps * num_envs / wall


def wandb_available() -> bool:
    try:
        importlib.import_module("a2c_lab.runs.wandb_sink")
    except ImportError:
        return False
    return True
