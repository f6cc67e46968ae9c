"""Batched seeds (issue 10): what training S seeds as one computation buys. Run by
``scripts/benchmark_groups.py``:

    python scripts/benchmark_groups.py              # about 6 minutes on 2 cores
    python scripts/benchmark_groups.py --quick      # a smoke run

Every case trains the same S seeds of ``experiment=sb3_matched`` (8 envs per seed, RMSprop,
clipping 0.5, W&B off) in this process, one torch thread; throughput is the env steps of all
seeds over the wall time of the training call. The cases alternate within each repeat
(reversed in odd repeats), so drift hits all of them:

grouped            ``train_group``: the S seeds as one batched computation (the default).
one at a time      ``train`` per seed, one after the other: what ``hydra/sweeper=basic`` does
                   in one process (the peer).
SB3 A2C            Stable-Baselines3's A2C at the same settings (RL-Zoo's CartPole A2C), the
                   same seeds one after the other, ``learn()`` timed (the ``[bench]`` extra;
                   skipped without it).
Two hand-written speed pieces of the unbatched loop were measured here at this setting, against
the plain PyTorch they replaced (the same alternating design), and removed, since neither
gained more than the 10% a second implementation must: acting in numpy (``NumpyPolicy``) +9%
(1.04-1.18, 5 repeats; +10%, 0.86-1.30, in an earlier run of 3), and a flat-tensor optimizer
(``flat_params``) +3% (0.89-1.38, 3 repeats) over ``torch.optim(foreach=True)``.

Prints the medians and the ratio, and writes results/benchmark_groups.md and .csv.
"""

from __future__ import annotations

import csv
import importlib
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from a2c_lab.bench.runners import compose, grouped_sps, run_sb3

OVERRIDES = ["experiment=sb3_matched", "logger=none", "eval.interval=0", "progress=false", "torch_threads=1"]
CASES = ("grouped", "one at a time", "SB3 A2C")


def available_cases() -> tuple[str, ...]:
    """``CASES``, less SB3's where Stable-Baselines3 is not installed (said once, here)."""
    try:
        importlib.import_module("stable_baselines3")
    except ImportError:
        print("  Stable-Baselines3 is not installed (pip install -e '.[bench]'): its case is skipped")
        return CASES[:2]
    return CASES


def run_case(case: str, seeds: list[int], total_steps: int) -> float:
    """Env steps of all seeds per second of the training call."""
    from a2c_lab.training import trainer

    overrides = [*OVERRIDES, f"total_steps={total_steps}"]
    if case == "grouped":
        return grouped_sps(overrides, seeds)
    start = time.perf_counter()
    if case == "SB3 A2C":  # the same SB3 setup as scripts/benchmark.py
        return sum(run_sb3(total_steps, seed=s)["env_steps"] for s in seeds) / (time.perf_counter() - start)
    cfg = compose(overrides)
    folder = Path(tempfile.mkdtemp(prefix="a2c_lab_groups_"))
    try:
        start = time.perf_counter()
        summaries = [trainer.train(trainer.seed_config(cfg, s), folder / str(s)) for s in seeds]
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(folder)
    return sum(s["summary/env_steps"] for s in summaries) / wall


def measure(cases: tuple[str, ...], seeds: list[int], repeats: int, steps: int) -> list[dict]:
    """One row per repeat and case, the cases alternating (reversed in odd repeats), after a warm-up."""
    import torch

    torch.set_num_threads(1)
    run_case("grouped", seeds[:2], 2_000)  # warm-up: first-call costs outside the timed runs
    rows = []
    for r in range(repeats):
        for case in cases if r % 2 == 0 else cases[::-1]:
            sps = run_case(case, seeds, steps)
            rows.append({"repeat": r, "case": case, "seeds": len(seeds), "env_steps_per_s": sps})
            print(f"  [r{r}] {case}: {sps:,.0f} env steps/s (all seeds)", flush=True)
    return rows


def report(rows: list[dict], cases: tuple[str, ...], seeds: int, repeats: int, steps: int) -> str:
    """The Markdown table: medians, and grouped / case per repeat (median, range)."""
    import numpy as np
    import torch

    medians = {c: statistics.median(row["env_steps_per_s"] for row in rows if row["case"] == c) for c in cases}
    ratios = {c: [g["env_steps_per_s"] / o["env_steps_per_s"] for g, o in zip(
        [row for row in rows if row["case"] == "grouped"], [row for row in rows if row["case"] == c])] for c in cases}
    lines = [f"# Batched seeds: {seeds} seeds x 8 envs, experiment=sb3_matched, {steps:,} env steps per seed",
             "",
             f"{platform.processor() or platform.machine()}, torch {torch.__version__}, numpy {np.__version__}, "
             f"{repeats} alternating repeats; `python scripts/benchmark_groups.py`.",
             "",
             "| case | env steps/s, all seeds (median) | grouped / case (median, range) | verdict |",
             "|---|---:|---:|---|"]
    for case in cases:
        ratio = ratios[case]
        spread = f"{statistics.median(ratio):.2f} ({min(ratio):.2f}-{max(ratio):.2f})"
        verdict = {"grouped": "", "one at a time": "what grouping buys",
                   "SB3 A2C": "against Stable-Baselines3, seed after seed"}[case]
        lines.append(f"| {case} | {medians[case]:,.0f} | {spread} | {verdict} |")
    return "\n".join(lines) + "\n"


def write(rows: list[dict], report_text: str, out: Path) -> None:
    """``out``.md (the table) and ``out``.csv (every repeat)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(report_text)
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
