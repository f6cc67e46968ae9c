"""The throughput benchmark's sections: a2c-lab against Stable-Baselines3's A2C on CartPole-v1
(issue 5), run by ``scripts/benchmark.py``. Each section prints as it goes:

env       gymnasium's native vector CartPole stepping random actions (drawn beforehand), 8 and
          64 envs: the ceiling a learner approaches.
sps       training throughput, alternating in one process so that drift hits every case
          (in reverse order in odd repeats):
          a2c-lab ``experiment=sb3_matched`` at 8 envs, SB3 A2C at the same settings, a2c-lab at
          64 envs, and a2c-lab at 8 envs with its default greedy evaluation every 25k steps.
          Throughput is env steps / wall time of the training loop: a2c-lab's ``summary/sps``
          (its loop, local files written and flushed every update), SB3's ``learn()``. Setup
          (building envs and networks) is outside both. Neither evaluates, except that one case.
tracking  a2c-lab at 8 envs with ``logger=wandb`` (W&B offline) against ``logger=none``,
          alternating in ABBA order (none first in even repeats, W&B first in odd ones) so that
          drift within a pair cancels: loop throughput and whole-run wall time (W&B's start and
          finish included). Runs of a few seconds vary by +-10% here, so this section repeats
          more than the others (``tracking_repeats``).
solve     time to solve at the matched settings, 500k-step budget, seeds 0-4, alternating: loop
          wall time until the mean return of the last (up to) 100 episodes first reaches 475; a
          seed that never does counts at its budget's wall time. SB3 stops when solved; a2c-lab
          runs its whole budget and its time is read from episodes.csv.
sweep     ``-m agent=shared,split seed=0,1,2 total_steps=200000`` (W&B offline, one torch thread
          per job) with Hydra's basic launcher against the joblib launcher with 2 jobs: wall time
          of the whole command. The quick start's sweep on a shorter budget (the defaults train
          500k steps since the study); since the study's defaults clip the gradient, the two
          agents are two different updates, of the same cost (one clip norm more for split).
memory    peak resident memory (VmHWM) of one a2c-lab run and one SB3 run of 100k steps, each
          in a fresh process, and of a fresh process that only imports torch and gymnasium.
jax       a2c-lab's 10-seed sweep command against a JAX peer, end to end;
mujoco    HalfCheetah-v5 grouped, envpool against gymnasium (issue 19); both in ``a2c_lab.bench.scale_sections``.

``a2c_lab.bench.report`` writes results/benchmark.md (the table the README shows) and
results/benchmark.csv (every repeat). The runs themselves are ``a2c_lab.bench.runners``.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from a2c_lab.bench.runners import (MATCHED, ROOT, THRESHOLD, raw_env_sps, run_a2c_lab, run_sb3, time_to_solve,
                                   wandb_available)
from a2c_lab.runs import metrics as m

SECTIONS = ("env", "sps", "tracking", "solve", "sweep", "memory", "jax", "mujoco")
SCRIPT = ROOT / "scripts" / "benchmark.py"  # its --child-memory runs ``child_memory`` in a fresh process


@dataclass
class Settings:
    repeats: int = 5  # alternating repeats of env and sps
    tracking_repeats: int = 10  # ABBA pairs of the tracking section
    sps_steps: int = 100_000  # env steps of one throughput run at 8 envs
    sps_steps_64: int = 300_000  # ... at 64 envs
    env_vector_steps: int = 20_000  # vector steps of one raw env measurement
    solve_seeds: int = 5
    solve_budget: int = 500_000
    sweep_steps: int = 200_000
    sweep_repeats: int = 1
    memory_steps: int = 100_000
    jax_repeats: int = 2  # alternating pairs: a2c-lab's sweep command and the JAX peer
    jax_seeds: int = 10
    jax_steps: int = 500_000
    jax_timeout_s: float = 300.0  # a peer start still running after this is taken as hung and retried
    mujoco_repeats: int = 2
    mujoco_seeds: int = 10
    mujoco_steps: int = 20_000  # env steps per seed, 8 envs per seed
    mujoco_steps_1env: int = 5_000  # ... 1 env per seed


QUICK = Settings(repeats=2, tracking_repeats=2, sps_steps=20_000, sps_steps_64=60_000, env_vector_steps=2_000, solve_seeds=2,
                 solve_budget=60_000, sweep_steps=10_000, memory_steps=20_000, jax_repeats=1, jax_seeds=2,
                 jax_steps=20_000, mujoco_repeats=1, mujoco_seeds=2, mujoco_steps=2_000, mujoco_steps_1env=1_000)


@dataclass
class Results:
    """Every measurement, one row per repeat: section, case, metric, repeat, value, unit."""

    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    loads: dict[str, float] = field(default_factory=dict)  # 5-minute load average after each section

    def add(self, section: str, case: str, metric: str, value: float | None, unit: str, repeat: int = 0) -> None:
        self.rows.append(dict(section=section, case=case, metric=metric, repeat=repeat, value=value, unit=unit))

    def values(self, section: str, case: str, metric: str) -> list[float]:
        return [r["value"] for r in self.rows
                if (r["section"], r["case"], r["metric"]) == (section, case, metric) and r["value"] is not None]

    def median(self, section: str, case: str, metric: str) -> float | None:
        values = self.values(section, case, metric)
        return statistics.median(values) if values else None


def run_sections(settings: Settings, only: list[str]) -> Results:
    """The sections named in ``only``, in their fixed order, one torch thread."""
    import torch

    torch.set_num_threads(1)
    res = Results()
    started = time.perf_counter()
    if "env" in only or "sps" in only:
        print("== env and sps (alternating)", flush=True)
        section_env_and_sps(settings, res, "env" in only, "sps" in only)
        res.loads["env/sps"] = os.getloadavg()[1]
    from a2c_lab.bench.scale_sections import section_jax, section_mujoco

    for name, section in (("tracking", section_tracking), ("solve", section_solve), ("sweep", section_sweep),
                          ("memory", section_memory), ("jax", section_jax), ("mujoco", section_mujoco)):
        if name in only:
            print(f"== {name}", flush=True)
            section(settings, res)
            res.loads[name] = os.getloadavg()[1]
    print(f"== done in {time.perf_counter() - started:.0f} s\n", flush=True)
    return res


def section_env_and_sps(s: Settings, res: Results, env: bool, sps: bool) -> None:
    """Raw env, a2c-lab at 8 and 64 envs and SB3, alternating within each repeat; the training
    cases run in reverse order in odd repeats (ABBA), so a position effect within a repeat
    cancels out of the medians."""
    if sps:  # warm-up: first-call costs (imports, allocator) land outside the timed repeats
        run_a2c_lab(MATCHED + ["logger=none", "total_steps=4000", "eval.interval=0"])
        run_sb3(4000)
    for r in range(s.repeats):
        if env:
            for n in (8, 64):
                value = raw_env_sps(n, s.env_vector_steps if n == 8 else s.env_vector_steps // 4, seed=r)
                res.add("env", f"native vector env, {n} envs", "env_steps_per_s", value, "steps/s", r)
                print(f"  [env r{r}] {n} envs, random actions: {value:,.0f} env steps/s", flush=True)
        if sps:
            cases = [lambda: sps_a2c_lab(s, res, r, "a2c-lab, 8 envs", s.sps_steps, []),
                     lambda: sps_sb3(s, res, r),
                     lambda: sps_a2c_lab(s, res, r, "a2c-lab, 64 envs", s.sps_steps_64, ["envs.num_envs=64"]),
                     lambda: sps_a2c_lab(s, res, r, "a2c-lab, 8 envs, greedy evaluation every 25k steps",
                                         s.sps_steps, ["eval.interval=25000"])]
            measured = [case() for case in (cases if r % 2 == 0 else cases[::-1])]
            print(f"  [sps r{r}] " + "  ".join(measured), flush=True)


def sps_a2c_lab(s: Settings, res: Results, r: int, case: str, steps: int, overrides: list[str]) -> str:
    summary, run_dir, _ = run_a2c_lab(MATCHED + ["logger=none", f"total_steps={steps}", f"seed={r}", *overrides])
    shutil.rmtree(run_dir)
    res.add("sps", case, "env_steps_per_s", summary[m.FINAL_SPS], "steps/s", r)
    if case == "a2c-lab, 8 envs":
        res.add("sps", case, "env_steps_per_cpu_s", summary[m.TOTAL_ENV_STEPS] / summary["cpu_s"], "steps/s", r)
    return f"{case} {summary[m.FINAL_SPS]:,.0f}"


def sps_sb3(s: Settings, res: Results, r: int) -> str:
    sb3 = run_sb3(s.sps_steps, seed=r)
    res.add("sps", "SB3 A2C, 8 envs", "env_steps_per_s", sb3["sps"], "steps/s", r)
    res.add("sps", "SB3 A2C, 8 envs", "env_steps_per_cpu_s", sb3["cpu_sps"], "steps/s", r)
    return f"SB3 A2C, 8 envs {sb3['sps']:,.0f}"


def section_tracking(s: Settings, res: Results) -> None:
    if not wandb_available():
        res.notes.append("tracking: skipped, a2c_lab.runs.wandb_sink is not in this checkout yet.")
        print("  skipped: a2c_lab.runs.wandb_sink is not in this checkout", flush=True)
        return
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    run_a2c_lab(MATCHED + ["logger=wandb", "total_steps=4000", "eval.interval=0"])  # W&B's first start in a process
    for r in range(s.tracking_repeats):
        for logger in ("none", "wandb") if r % 2 == 0 else ("wandb", "none"):
            summary, run_dir, wall = run_a2c_lab(MATCHED + [f"logger={logger}", f"total_steps={s.sps_steps}", f"seed={r}"])
            shutil.rmtree(run_dir)
            case = "W&B offline + local files" if logger == "wandb" else "local files only"
            res.add("tracking", case, "env_steps_per_s", summary[m.FINAL_SPS], "steps/s", r)
            res.add("tracking", case, "run_wall_s", wall, "s", r)
            print(f"  [tracking r{r}] logger={logger}: loop {summary[m.FINAL_SPS]:,.0f} env steps/s, "
                  f"whole run {wall:.2f} s", flush=True)


def section_solve(s: Settings, res: Results) -> None:
    for seed in range(s.solve_seeds):
        summary, run_dir, _ = run_a2c_lab(MATCHED + ["logger=none", f"total_steps={s.solve_budget}", f"seed={seed}"])
        solved = time_to_solve(run_dir)
        shutil.rmtree(run_dir)
        lab_time = solved[1] if solved else summary[m.TOTAL_WALL_TIME]
        res.add("solve", "a2c-lab", "wall_s_to_475", lab_time, "s", seed)
        res.add("solve", "a2c-lab", "env_steps_to_475", solved[0] if solved else None, "steps", seed)
        sb3 = run_sb3(s.solve_budget, seed=seed, stop_at=THRESHOLD)
        sb3_time = sb3["solved_at"][1] if sb3["solved_at"] else sb3["wall"]
        res.add("solve", "SB3 A2C", "wall_s_to_475", sb3_time, "s", seed)
        res.add("solve", "SB3 A2C", "env_steps_to_475", sb3["solved_at"][0] if sb3["solved_at"] else None, "steps", seed)
        print(f"  [solve seed {seed}] a2c-lab {lab_time:.1f} s ({solved[0] if solved else 'not solved'} steps)  "
              f"SB3 {sb3_time:.1f} s ({sb3['solved_at'][0] if sb3['solved_at'] else 'not solved'} steps)", flush=True)


def section_sweep(s: Settings, res: Results) -> None:
    """The sweep runs as its own command (``python -m a2c_lab.run -m``): this package never imports sweeps."""
    logger = "wandb" if wandb_available() else "none"
    if logger == "none":
        res.notes.append("sweep: ran with logger=none, a2c_lab.runs.wandb_sink is not in this checkout yet.")
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "PYTHONPATH": str(ROOT)}
    for r in range(s.sweep_repeats):
        for launcher in ("basic", "joblib"):
            sweep_dir = Path(tempfile.mkdtemp(prefix="a2c_lab_sweep_"))
            command = [sys.executable, "-m", "a2c_lab.run", "-m", "agent=shared,split", "seed=0,1,2",
                       f"total_steps={s.sweep_steps}", f"logger={logger}", "progress=false", "torch_threads=1",
                       f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweep_dir}",
                       "hydra/sweeper=basic"]  # one job per seed: this section compares launchers
            if launcher == "joblib":
                command.append("hydra.launcher.n_jobs=2")
            res.add("sweep", f"{launcher} launcher", "load_1min_before", os.getloadavg()[0], "", r)
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            wall = time.perf_counter() - start
            shutil.rmtree(sweep_dir)
            res.add("sweep", f"{launcher} launcher", "wall_s", wall, "s", r)
            print(f"  [sweep r{r}] {launcher} launcher: {wall:.1f} s (1-minute load before: "
                  f"{res.values('sweep', f'{launcher} launcher', 'load_1min_before')[-1]:.1f})", flush=True)


def section_memory(s: Settings, res: Results) -> None:
    for system in ("python with torch and gymnasium imported", "a2c-lab", "SB3 A2C"):
        out = subprocess.run([sys.executable, str(SCRIPT), "--child-memory", system, str(s.memory_steps)],
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout
        peak_mb = json.loads(out.strip().splitlines()[-1])["peak_mb"]
        res.add("memory", system, "peak_rss_mb", peak_mb, "MB")
        print(f"  [memory] {system}: peak RSS {peak_mb:.0f} MB", flush=True)


def child_memory(system: str, steps: int) -> None:
    """In a fresh process: one run, then print its peak resident memory."""
    import torch

    torch.set_num_threads(1)
    if system == "a2c-lab":
        _, run_dir, _ = run_a2c_lab(MATCHED + ["logger=none", f"total_steps={steps}"])
        shutil.rmtree(run_dir)
    elif system == "SB3 A2C":
        run_sb3(steps)
    else:  # the floor every run starts from
        importlib.import_module("gymnasium")
    print(json.dumps({"peak_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM where Linux has it: ru_maxrss also counts
    the parent's memory at fork time, which a child started from a big parent inherits."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
