"""Time the comparison report on a sweep-sized set of synthetic runs.

    python scripts/benchmark_report.py [--runs 100] [--steps 500000] [--variants 4] [--keep DIR]

Writes --runs synthetic run folders (8 envs, n_steps 5: steps / 40 update rows each,
1-3k CartPole-like episodes) into a temporary folder, then times the aggregation
(loading, statistics, tables) and, separately, the figures (``a2c_lab/bench/report_timing.py``).
The aggregation budget is 30 s for 100 runs of 500k steps. The runs are written here, with the
tests' run-folder fixtures (``tests/synthetic_runs.py``), which the package does not import.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(ROOT / "tests"))  # synthetic_runs: the tests' run-folder fixtures

import numpy as np  # noqa: E402

import synthetic_runs as synthetic  # noqa: E402
from a2c_lab.bench import report_timing  # noqa: E402


def write_runs(root: Path, runs: int, steps: int, variants: int) -> Path:
    """``runs`` finished runs, spread over ``variants`` agent/envs combinations."""
    sweep = root / "2026-01-01_00-00-00_benchmark"
    names = [("shared", "vectorized"), ("split", "vectorized"), ("shared", "single"), ("split", "single")]
    for job in range(runs):
        index = job % variants
        agent, envs = names[index % len(names)]
        rng = np.random.default_rng(job)
        # Episodes of 120-500 steps and a learning midpoint spread across the run give
        # 1-3k episodes over 500k steps, as a real CartPole run does.
        ends, returns = synthetic.learning_returns(steps, steps * rng.uniform(0.2, 0.6), rng, floor=120.0)
        synthetic.write_run(sweep / str(job), returns,
                            {"agent.name": agent, "envs.name": envs, "agent.lr": 7e-4 * (1 + index // len(names)),
                             "seed": job // variants, "total_steps": steps, "envs.num_envs": 8, "n_steps": 5},
                            episode_steps=ends, sps=rng.uniform(5_000, 20_000), rng=rng)
    return sweep


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=500_000)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="write the runs and the report here instead of a temp folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temp:
        root = args.keep or Path(temp)
        start = time.perf_counter()
        sweep = write_runs(root, args.runs, args.steps, args.variants)
        print(f"wrote {args.runs} runs of {args.steps:,} env steps in {time.perf_counter() - start:.1f} s (not timed)")
        timing = report_timing.time_report(sweep, root / "report")
    return 0 if report_timing.print_timing(timing) else 1


if __name__ == "__main__":
    sys.exit(main())
