"""Throughput benchmark: a2c-lab against Stable-Baselines3's A2C on CartPole-v1 (issue 5).

    python scripts/benchmark.py                     # every section, about 14 minutes on 2 cores (816 s measured)
    python scripts/benchmark.py --quick             # short runs, few repeats: checks it all works
    python scripts/benchmark.py --only sps,memory   # a subset of: env, sps, tracking, solve, sweep, memory

How each section measures: the docstring of ``a2c_lab/bench/sections.py`` (the runs themselves:
``a2c_lab/bench/runners.py``; the targets: ``scripts/benchmark_targets.yaml``).

Writes results/benchmark.md (the table the README shows) and results/benchmark.csv (every
repeat). Stable-Baselines3 is the ``[bench]`` extra: ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from a2c_lab.bench.report import write_report  # noqa: E402
from a2c_lab.bench.sections import QUICK, SECTIONS, Settings, child_memory, run_sections  # noqa: E402


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
    write_report(run_sections(settings, only), settings, args.quick, args.out)


if __name__ == "__main__":
    main()
