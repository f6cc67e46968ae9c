"""The benchmark's sections at scale (issue 19), run by ``scripts/benchmark.py`` after the others:

jax       10 seeds x 500k env steps of CartPole at ``sb3_matched``'s settings, end to end:
          a2c-lab's sweep command (``python -m a2c_lab.run -m ... seed=0,...,9``: the grouping
          sweeper on both cores through ``hydra/launcher=local``, start-up included) against
          ``scripts/jax_peer.py`` (a PureJaxRL-style A2C on gymnax's CartPole-v1: the whole
          training one jitted ``lax.scan``, seeds ``vmap``ped; compile included), alternating,
          each timed from outside as one command. Both sides' steps to a last-100 mean of 475
          are recorded, to show that the two learn alike. Then the peer at one seed (its env
          steps/s after compiling). The peer needs the ``[jax]`` extra; without it the section
          is skipped with a note. A peer start that hangs (seen about once in 5 starts here,
          after compiling, using no CPU) is killed at ``jax_timeout_s`` and retried; only the try
          that finished is timed, and the hung tries are counted in a note.
mujoco    HalfCheetah-v5 at SB3's A2C settings with VecNormalize's normalisation
          (``experiment=sb3_a2c task=halfcheetah obs_norm=obs_reward``), 10 seeds as one group
          in this process: ``envs.backend=envpool`` (one pool for the group's envs) against
          gymnasium's backend (a vector env per seed), at 8 envs per seed and at 1 (the RL Zoo's
          MuJoCo setting), alternating. Throughput is all seeds' env steps over the wall time of
          the training call.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from a2c_lab.bench.runners import ROOT, grouped_sps, time_to_solve

PEER = ROOT / "scripts" / "jax_peer.py"
SWEEP = ["experiment=sb3_matched", "logger=none", "progress=false", "eval.interval=0", "torch_threads=1",
         "hydra/launcher=local"]
CHEETAH = ["experiment=sb3_a2c", "task=halfcheetah", "obs_norm=obs_reward", "logger=none", "progress=false",
           "eval.interval=0", "torch_threads=1"]


def installed(*modules: str) -> bool:
    """Whether every module can be imported here (the optional extras: [jax], [fast], [mujoco])."""
    return all(importlib.util.find_spec(name) is not None for name in modules)


def run_sweep(seeds: int, steps: int) -> tuple[float, list[int | None]]:
    """a2c-lab's sweep command as a user runs it: (wall seconds, each seed's steps to 475)."""
    sweep_dir = Path(tempfile.mkdtemp(prefix="a2c_lab_jaxcmp_"))
    command = [sys.executable, "-m", "a2c_lab.run", "-m", *SWEEP, f"total_steps={steps}",
               "seed=" + ",".join(map(str, range(seeds))), f"hydra.sweep.dir={sweep_dir}"]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    runs = sorted(path.parent for path in sweep_dir.rglob("episodes.csv"))
    if len(runs) != seeds:
        raise RuntimeError(f"the sweep in {sweep_dir} wrote {len(runs)} runs, not {seeds}")
    solved = [hit[0] if hit else None for hit in map(time_to_solve, runs)]
    shutil.rmtree(sweep_dir)
    return wall, solved


def run_peer(seeds: int, steps: int, timeout_s: float, tries: int = 3) -> tuple[float, dict, int]:
    """The JAX peer as one command: (wall seconds of the try that finished, its JSON, hung tries)."""
    hung = 0
    for _ in range(tries):
        start = time.perf_counter()
        try:
            out = subprocess.run([sys.executable, str(PEER), "--seeds", str(seeds), "--steps", str(steps), "--json"],
                                 cwd=ROOT, check=True, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            hung += 1
            continue
        wall = time.perf_counter() - start
        return wall, json.loads(out.stdout.strip().splitlines()[-1]), hung
    raise RuntimeError(f"the JAX peer did not finish in {tries} tries of {timeout_s:.0f} s each")


def jax_case(side: str, seeds: int) -> str:
    """The case name of one side of the jax section (benchmark_targets.yaml names it)."""
    return f"a2c-lab sweep, {seeds} seeds" if side == "a2c-lab" else f"JAX peer, {seeds} seeds"


def cheetah_case(engine: str, seeds: int, num_envs: int) -> str:
    """The case name of one engine of the mujoco section (benchmark_targets.yaml names it)."""
    return f"HalfCheetah-v5, {engine}, {seeds} seeds x {num_envs} env{'s' if num_envs > 1 else ''}, grouped"


def _steps_summary(steps: list[int | None]) -> str:
    reached = sorted(s for s in steps if s is not None)
    if not reached:
        return "no seed reached 475"
    return f"{len(reached)}/{len(steps)} seeds reached 475, at {reached[0]:,}-{reached[-1]:,} steps"


def section_jax(s, res) -> None:
    if not installed("jax", "gymnax", "optax", "flax"):
        res.notes.append("jax: skipped, the JAX peer needs the [jax] extra (pip install -e '.[jax]').")
        print("  skipped: jax, gymnax, optax or flax is not installed (the [jax] extra)", flush=True)
        return
    hung = 0
    for r in range(s.jax_repeats):
        for side in ("a2c-lab", "peer") if r % 2 == 0 else ("peer", "a2c-lab"):
            if side == "a2c-lab":
                wall, solved = run_sweep(s.jax_seeds, s.jax_steps)
                case = jax_case("a2c-lab", s.jax_seeds)
            else:
                wall, out, hung_now = run_peer(s.jax_seeds, s.jax_steps, s.jax_timeout_s)
                hung += hung_now
                solved = out["steps_to_475"]
                case = jax_case("peer", s.jax_seeds)
                res.add("jax", case, "compile_s", out["compile_s"], "s", r)
                res.add("jax", case, "env_steps_per_s_after_compile", out["env_steps_per_s"], "steps/s", r)
            res.add("jax", case, "wall_s", wall, "s", r)
            reached = [x for x in solved if x is not None]
            res.add("jax", case, "seeds_reaching_475", len(reached), "seeds", r)
            res.add("jax", case, "median_env_steps_to_475", statistics.median(reached) if reached else None,
                    "steps", r)
            print(f"  [jax r{r}] {case}: {wall:.1f} s end to end; {_steps_summary(solved)}", flush=True)
    wall, out, hung_now = run_peer(1, s.jax_steps, s.jax_timeout_s)
    hung += hung_now
    res.add("jax", "JAX peer, 1 seed", "wall_s", wall, "s")
    res.add("jax", "JAX peer, 1 seed", "env_steps_per_s_after_compile", out["env_steps_per_s"], "steps/s")
    print(f"  [jax] JAX peer, 1 seed: {out['env_steps_per_s']:,.0f} env steps/s after compiling, {wall:.1f} s end to end",
          flush=True)
    res.notes.append(f"jax: jax {out.get('jax_version')}, gymnax {out.get('gymnax_version')}; "
                     f"{hung} peer start(s) hung and were retried (timeout {s.jax_timeout_s:.0f} s).")


def cheetah_sps(backend: str, num_envs: int, seeds: int, steps: int) -> float:
    """All seeds' env steps per second of one grouped training call on HalfCheetah-v5."""
    return grouped_sps([*CHEETAH, f"envs.backend={backend}", f"envs.num_envs={num_envs}", f"total_steps={steps}"],
                       list(range(seeds)))


def section_mujoco(s, res) -> None:
    if not installed("envpool", "mujoco"):
        res.notes.append("mujoco: skipped, it needs the [fast] and [mujoco] extras.")
        print("  skipped: envpool or mujoco is not installed (the [fast] and [mujoco] extras)", flush=True)
        return
    cheetah_sps("envpool", 8, 2, 2_000)  # warm-up: first-call costs outside the timed runs
    cheetah_sps("auto", 8, 2, 2_000)
    for r in range(s.mujoco_repeats):
        cases = [(backend, n) for n in (8, 1) for backend in ("envpool", "auto")]
        for backend, n in cases if r % 2 == 0 else cases[::-1]:
            steps = s.mujoco_steps if n == 8 else s.mujoco_steps_1env
            value = cheetah_sps(backend, n, s.mujoco_seeds, steps)
            case = cheetah_case("envpool" if backend == "envpool" else "gymnasium", s.mujoco_seeds, n)
            res.add("mujoco", case, "env_steps_per_s", value, "steps/s", r)
            print(f"  [mujoco r{r}] {case}: {value:,.0f} env steps/s", flush=True)
