"""The RL Zoo's A2C table with many seeds, and parity with Stable-Baselines3 (issue 20).

The table: each ``experiment=zoo_<task>`` preset trained at the Zoo's budget as one grouped,
resumable multirun into ``<runs>/table/<task>``; each seed's number is its last greedy
evaluation (the Zoo's ``benchmark.md`` evaluates one trained agent greedily), reported as the IQM
across seeds with a 95% CI and the range, beside the Zoo's published mean +- std.

Parity, at identical settings, whole runs, seed by seed:

a2c-lab trains each task as one grouped Hydra multirun (``python -m a2c_lab.run -m ...``, resumable
with ``resume=auto``); SB3's A2C trains each seed in a process of its own, which writes the seed's
episode returns to ``<runs>/sb3/<task>/<seed>.csv`` (a seed already there is skipped, so an
interrupted parity run continues). Both sides: gymnasium's envs, no greedy evaluation, and the
final return is the mean of the last 100 training episodes (the env's own rewards: SB3's Monitor
sits inside VecNormalize, a2c-lab logs raw returns).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from a2c_lab.analysis import load_runs
from a2c_lab.analysis.run_reader import NoRunsError, read_run
from a2c_lab.runs import metrics as M
from a2c_lab.analysis.statistics import bootstrap_ci, iqm, probability_of_improvement

FINAL = 100  # episodes in the final return


@dataclass(frozen=True)
class ParityTask:
    env_id: str
    steps: int
    overrides: tuple[str, ...]  # a2c-lab's side
    sb3: dict  # SB3 A2C's keyword arguments besides its defaults
    n_envs: int
    normalize: bool  # SB3 side: VecNormalize (observations and rewards), gamma as the run's


PARITY = {
    # SB3's defaults with VecNormalize on 8 envs (one env trains SB3 too slowly here: ~330 steps/s)
    "halfcheetah": ParityTask("HalfCheetah-v5", 500_000, (
        "experiment=sb3_a2c", "task=halfcheetah", "obs_norm=obs_reward", "envs=vectorized", "envs.backend=sync",
        "total_steps=500000"), {}, 8, True),
    # the Zoo's LunarLander settings (zoo_lunarlander), on LunarLander-v3
    "lunarlander": ParityTask("LunarLander-v3", 200_000, ("experiment=zoo_lunarlander", "envs.backend=sync"),
                              {"gamma": 0.995, "n_steps": 5, "ent_coef": 1e-5, "learning_rate": ("linear", 8.3e-4)},
                              8, False),
}
COMMON = ("eval.interval=0", "logger=none", "progress=false", "checkpoint.interval=100000")


def a2c_lab_command(task: str, seeds: list[int], runs: Path) -> list[str]:
    return [sys.executable, "-m", "a2c_lab.run", "-m", *PARITY[task].overrides, *COMMON,
            f"seed={','.join(map(str, seeds))}", f"hydra.sweep.dir={runs / 'a2c-lab' / task}"]


def sb3_returns_file(runs: Path, task: str, seed: int) -> Path:
    return runs / "sb3" / task / f"{seed}.csv"


def train_sb3(task: str, seed: int, out: Path) -> None:
    """One SB3 A2C run; writes its episode returns (env step, return) to ``out`` when it ends."""
    from stable_baselines3 import A2C  # noqa: PLC0415 (the [bench] extra)
    from stable_baselines3.common.callbacks import BaseCallback  # noqa: PLC0415
    from stable_baselines3.common.env_util import make_vec_env  # noqa: PLC0415
    from stable_baselines3.common.vec_env import VecNormalize  # noqa: PLC0415

    spec = PARITY[task]
    kwargs = dict(spec.sb3)
    if isinstance(kwargs.get("learning_rate"), tuple):  # the Zoo's lin_<x>: x * progress_remaining
        start = kwargs["learning_rate"][1]
        kwargs["learning_rate"] = lambda progress_remaining: progress_remaining * start
    env = make_vec_env(spec.env_id, n_envs=spec.n_envs, seed=seed)
    if spec.normalize:
        env = VecNormalize(env, gamma=kwargs.get("gamma", 0.99))
    rows: list[tuple[int, float]] = []

    class Episodes(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:  # Monitor's record: the env's own rewards
                    rows.append((self.num_timesteps, float(info["episode"]["r"])))
            return True

    A2C("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **kwargs).learn(spec.steps, callback=Episodes())
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".part")
    with open(partial, "w", newline="") as f:
        csv.writer(f).writerows([("env_step", "return"), *rows])
    partial.replace(out)  # a finished seed's file, never a half-written one


def run_parity(task: str, seeds: list[int], runs: Path, cwd: Path) -> int:
    """a2c-lab's grouped sweep, then each SB3 seed not yet done, one process each."""
    code = subprocess.call(a2c_lab_command(task, seeds, runs), cwd=cwd)
    for seed in seeds:
        out = sb3_returns_file(runs, task, seed)
        if not out.exists():
            code = max(code, subprocess.call([sys.executable, "-c", "import sys; from pathlib import Path; "
                                              "from a2c_lab.study.zoo import train_sb3; "
                                              "train_sb3(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))",
                                              task, str(seed), str(out)], cwd=cwd))
    return code


def parity_rows(runs: Path) -> pd.DataFrame:
    """One row per finished run: task, library (a2c-lab or sb3), seed, final_return."""
    rows = []
    for task in PARITY:
        sweep = runs / "a2c-lab" / task
        if sweep.is_dir():
            loaded = load_runs([sweep])
            for run in loaded.included.itertuples():
                rows.append(dict(task=task, library="a2c-lab", seed=int(run.seed), final_return=float(run.final_return)))
        for path in sorted((runs / "sb3" / task).glob("*.csv")):
            returns = pd.read_csv(path)["return"].to_numpy()
            rows.append(dict(task=task, library="sb3", seed=int(path.stem), final_return=float(returns[-FINAL:].mean())))
    return pd.DataFrame(rows, columns=["task", "library", "seed", "final_return"]).sort_values(["task", "library", "seed"])


def parity_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per task and library: seeds, IQM [95% CI], min-max; and P(a2c-lab > SB3) with its CI."""
    out = []
    for task, group in rows.groupby("task"):
        finals = {lib: g["final_return"].to_numpy() for lib, g in group.groupby("library")}
        p = probability_of_improvement(finals["a2c-lab"], finals["sb3"]) if len(finals) == 2 else (np.nan,) * 3
        for library, values in finals.items():
            low, high = bootstrap_ci(values, iqm)
            out.append(dict(task=task, library=library, seeds=len(values), iqm=float(iqm(values)), ci_low=float(low),
                            ci_high=float(high), min=float(values.min()), max=float(values.max()),
                            p_a2c_lab_better=p[0], p_low=p[1], p_high=p[2]))
    return pd.DataFrame(out)


# task -> (seeds, the Zoo's benchmark.md mean and std: one agent, greedy, over its evaluation episodes)
ZOO_TABLE = {
    "cartpole": (5, 500.0, 0.0), "acrobot": (5, -83.4, 17.2), "lunarlander": (10, 155.8, 80.4),
    "pendulum": (5, -163.0, 103.2), "halfcheetah": (5, 3041.0, 157.0), "hopper": (5, 733.0, 377.0),
    "walker2d": (5, 582.0, 128.0),
}


def table_command(task: str, runs: Path, seeds: int | None = None) -> list[str]:
    n = seeds or ZOO_TABLE[task][0]
    return [sys.executable, "-m", "a2c_lab.run", "-m", f"experiment=zoo_{task}", "logger=none", "progress=false",
            f"seed={','.join(map(str, range(n)))}", f"hydra.sweep.dir={runs / 'table' / task}"]


def table_runs(runs: Path) -> pd.DataFrame:
    """One row per finished (or diverged) run of the table: task, seed, status, env_steps, its last
    greedy evaluation and its final training return (last-100 mean)."""
    rows = []
    for task in ZOO_TABLE:
        sweep = runs / "table" / task
        try:
            loaded = load_runs([sweep]) if sweep.is_dir() else None
        except NoRunsError:  # none finished yet
            loaded = None
        if loaded is None:
            continue
        for run in loaded.included[loaded.included["status"].isin(["finished", "diverged"])].itertuples():
            rows.append(dict(task=task, seed=int(run.seed), status=run.status, env_steps=int(run.env_steps),
                             greedy_return=float(read_run(Path(run.run_dir)).evals[M.EVAL_RETURN_MEAN].iloc[-1]),
                             final_return=float(run.final_return)))
    return pd.DataFrame(rows, columns=["task", "seed", "status", "env_steps", "greedy_return", "final_return"])


def zoo_table(runs: Path) -> pd.DataFrame:
    """One row per task with finished runs: task, budget, zoo_mean, zoo_std, seeds, iqm, ci_low,
    ci_high, min, max (of each seed's last greedy evaluation)."""
    rows = []
    per_run = table_runs(runs)
    for task, (_, zoo_mean, zoo_std) in ZOO_TABLE.items():
        done = per_run[per_run["task"] == task]
        if done.empty:
            continue
        greedy = done["greedy_return"].to_numpy()
        low, high = bootstrap_ci(greedy, iqm)
        rows.append(dict(task=task, budget=int(done["env_steps"].max()), zoo_mean=zoo_mean, zoo_std=zoo_std,
                         seeds=len(greedy), iqm=float(iqm(greedy)), ci_low=float(low), ci_high=float(high),
                         min=float(greedy.min()), max=float(greedy.max())))
    return pd.DataFrame(rows, columns=["task", "budget", "zoo_mean", "zoo_std", "seeds", "iqm", "ci_low", "ci_high",
                                       "min", "max"])
