"""Throughput benchmark: a2c-lab against Stable-Baselines3's A2C on CartPole-v1 (issue 5).

    python scripts/benchmark.py                     # every section, about 17 minutes on 2 cores
    python scripts/benchmark.py --quick             # short runs, few repeats: checks it all works
    python scripts/benchmark.py --only sps,memory   # a subset of: env, sps, tracking, solve, sweep, memory

Sections (each prints as it goes):

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

Writes results/benchmark.md (the table the README shows) and results/benchmark.csv (every
repeat). Stable-Baselines3 is the ``[bench]`` extra: ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import numpy as np  # noqa: E402
import torch  # noqa: E402

from a2c_lab.runs import metrics as m  # noqa: E402
from a2c_lab.runs.episode_stats import trailing_mean  # noqa: E402

SECTIONS = ("env", "sps", "tracking", "solve", "sweep", "memory")
TASK = "CartPole-v1"
THRESHOLD = 475.0
# The matched settings. SB3's learn() evaluates nothing, so neither does a2c-lab here; the
# sps section also times a2c-lab with its default greedy evaluation (every 25k steps).
MATCHED = ["experiment=sb3_matched", "progress=false", "eval.interval=0"]


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


QUICK = Settings(repeats=2, tracking_repeats=2, sps_steps=20_000, sps_steps_64=60_000, env_vector_steps=2_000, solve_seeds=2,
                 solve_budget=60_000, sweep_steps=10_000, memory_steps=20_000)


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


# ----------------------------------------------------------------------------- runners

def compose(overrides: list[str]):
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


def sb3_model(num_envs: int, seed: int):
    """SB3 A2C with RL-Zoo's CartPole-v1 settings, matched to ``experiment=sb3_matched``."""
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
        import a2c_lab.runs.wandb_sink  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------- sections

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
        out = subprocess.run([sys.executable, __file__, "--child-memory", system, str(s.memory_steps)],
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout
        peak_mb = json.loads(out.strip().splitlines()[-1])["peak_mb"]
        res.add("memory", system, "peak_rss_mb", peak_mb, "MB")
        print(f"  [memory] {system}: peak RSS {peak_mb:.0f} MB", flush=True)


def child_memory(system: str, steps: int) -> None:
    """In a fresh process: one run, then print its peak resident memory."""
    torch.set_num_threads(1)
    if system == "a2c-lab":
        _, run_dir, _ = run_a2c_lab(MATCHED + ["logger=none", f"total_steps={steps}"])
        shutil.rmtree(run_dir)
    elif system == "SB3 A2C":
        run_sb3(steps)
    else:  # the floor every run starts from
        import gymnasium  # noqa: F401
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


# ----------------------------------------------------------------------------- report

def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(x: float | None, spec: str = ",.0f") -> str:
    return "n/a" if x is None else format(x, spec)


def paired_ratios(res: Results, section: str, case_a: str, case_b: str, metric: str) -> list[float]:
    """a / b for each repeat that measured both: cases that alternate share their drift."""
    a = {r["repeat"]: r["value"] for r in res.rows if (r["section"], r["case"], r["metric"]) == (section, case_a, metric)}
    b = {r["repeat"]: r["value"] for r in res.rows if (r["section"], r["case"], r["metric"]) == (section, case_b, metric)}
    return [a[k] / b[k] for k in a if k in b and a[k] is not None and b[k]]


def fmt_ratios(values: list[float], spec: str = ".2f", suffix: str = "") -> str:
    """Median, and the range over the repeats when there are several."""
    if not values:
        return "n/a"
    text = format(statistics.median(values), spec) + suffix
    return text if len(values) == 1 else f"{text} ({min(values):{spec}}-{max(values):{spec}})"


TARGETS_FILE = Path(__file__).with_name("benchmark_targets.yaml")


def load_targets() -> dict:
    import yaml

    return yaml.safe_load(TARGETS_FILE.read_text())


def targets(res: Results) -> list[tuple[str, str, str, str]]:
    """(target, measured, bound, met) rows for the targets in benchmark_targets.yaml. Ratios of
    alternating cases are medians of the per-repeat ratios, with their range."""
    rows = []
    for t in load_targets()["targets"]:
        if t["kind"] in ("paired", "slowdown"):
            values = paired_ratios(res, t["section"], t["a"], t["b"], t["metric"])
            if t["kind"] == "slowdown":
                values = [v - 1 for v in values]
            value = statistics.median(values) if values else None
            text = (fmt_ratios([100 * v for v in values], ".1f", "%") if t["kind"] == "slowdown"
                    else fmt_ratios(values, suffix="x" if t["bound"].endswith("x") else ""))
        elif t["kind"] == "median":
            value = res.median(t["section"], t["a"], t["metric"])
            text = fmt(value)
        else:  # medians
            value = ratio(res.median(t["section"], t["a"], t["metric"]), res.median(t["section"], t["b"], t["metric"]))
            text = fmt(value, ".2f")
        ok = value is not None and ("min" not in t or value >= t["min"]) and ("max" not in t or value <= t["max"])
        rows.append((t["name"], text, t["bound"], "n/a" if value is None else ("yes" if ok else "no")))
    return rows


def machine_speed(res: Results) -> str | None:
    """The machine's speed against benchmark_targets.yaml's reference: it is shared, and varies."""
    parts = []
    for section, case, reference in load_targets()["reference_speed"]:
        value = res.median(section, case, "env_steps_per_s")
        if value is not None:
            parts.append(f"{case} {value:,.0f} env steps/s ({value / reference:.0%} of the {reference:,} in issue 5)")
    if not parts:
        return None
    return ("Machine speed in this run: " + "; ".join(parts) + ". The ratio targets compare runs of one "
            "session and cancel the machine's speed out; the 64-env target is absolute and moves with it.")


def environment() -> dict[str, str]:
    versions = {}
    for package in ("torch", "numpy", "gymnasium", "stable-baselines3", "hydra-core", "wandb"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"date": datetime.now().strftime("%Y-%m-%d %H:%M"), "cores": str(os.cpu_count()), "cpu": cpu,
            "python": platform.python_version(), "a2c-lab commit": commit or "unknown", **versions}


def write_report(res: Results, settings: Settings, quick: bool, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    env = environment()
    with open(out_dir / "benchmark.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["section", "case", "metric", "repeat", "value", "unit"])
        writer.writeheader()
        writer.writerows(res.rows)

    lines = ["# Throughput benchmark", "",
             f"`python scripts/benchmark.py{' --quick' if quick else ''}` on {env['date']}: {env['cores']} cores "
             f"({env['cpu']}), Python {env['python']}, torch {env['torch']}, numpy {env['numpy']}, gymnasium "
             f"{env['gymnasium']}, stable-baselines3 {env['stable-baselines3']}, wandb {env['wandb']}, "
             f"a2c-lab {env['a2c-lab commit']}. One torch thread everywhere. Medians over the repeats; every "
             "repeat is in `benchmark.csv`.", ""]
    lines += ["## Targets (issue 5)", "", "| target | measured | bound | met |", "|---|---:|---:|:---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in targets(res)]
    speed = machine_speed(res)
    if speed:
        lines += ["", speed]
    lines += ["", "## Measurements", "", "| section | case | median | repeats | unit |", "|---|---|---:|---:|---|"]
    seen = []
    for row in res.rows:
        key = (row["section"], row["case"], row["metric"])
        if key not in seen:
            seen.append(key)
    for section, case, metric in seen:
        values = res.values(section, case, metric)
        unit = next(r["unit"] for r in res.rows if (r["section"], r["case"], r["metric"]) == (section, case, metric))
        spec = ",.0f" if unit in ("steps/s", "steps", "MB") else ".2f"
        median = statistics.median(values) if values else None
        lines.append(f"| {section} | {case}: {metric} | {fmt(median, spec)} | {len(values)} | {unit} |")
    lines += ["", "Settings: " + ", ".join(f"{k}={v}" for k, v in vars(settings).items()) + "."]
    lines += ["", "How each number is measured: see the docstring of `scripts/benchmark.py`."]
    if res.loads:
        lines += ["", "Machine load (5-minute load average after each section; this benchmark itself adds "
                  "about 1, more during the joblib sweep): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in res.loads.items()) + "."]
    if res.notes:
        lines += [""] + [f"- {note}" for note in res.notes]
    (out_dir / "benchmark.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs and 2 repeats: a smoke test of the benchmark")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--repeats", type=int,
                        help="override the number of alternating repeats (env, sps; tracking gets twice as many)")
    parser.add_argument("--sweep-repeats", type=int, help="override the number of basic/joblib sweep pairs")
    parser.add_argument("--out", type=Path, default=ROOT / "results", help="folder for benchmark.md and benchmark.csv")
    parser.add_argument("--child-memory", nargs=2, metavar=("SYSTEM", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        child_memory(args.child_memory[0], int(args.child_memory[1]))
        return
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"--only: unknown sections {sorted(unknown)}; allowed: {', '.join(SECTIONS)}")
    settings = QUICK if args.quick else Settings()
    if args.repeats:
        settings.repeats = args.repeats
        settings.tracking_repeats = 2 * args.repeats
    if args.sweep_repeats:
        settings.sweep_repeats = args.sweep_repeats
    torch.set_num_threads(1)
    res = Results()
    started = time.perf_counter()
    if "env" in only or "sps" in only:
        print("== env and sps (alternating)", flush=True)
        section_env_and_sps(settings, res, "env" in only, "sps" in only)
        res.loads["env/sps"] = os.getloadavg()[1]
    for name, section in (("tracking", section_tracking), ("solve", section_solve), ("sweep", section_sweep),
                          ("memory", section_memory)):
        if name in only:
            print(f"== {name}", flush=True)
            section(settings, res)
            res.loads[name] = os.getloadavg()[1]
    print(f"== done in {time.perf_counter() - started:.0f} s\n", flush=True)
    write_report(res, settings, args.quick, args.out)


if __name__ == "__main__":
    main()
