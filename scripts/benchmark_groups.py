"""Batched seeds (issue 10): what training S seeds as one computation buys.

    python scripts/benchmark_groups.py              # about 6 minutes on 2 cores
    python scripts/benchmark_groups.py --quick      # a smoke run

The cases (grouped, one at a time, SB3 A2C) and how they are measured, and the two speed pieces
measured here and removed: the docstring of ``a2c_lab/bench/groups.py``.

Prints the medians and the ratio, and writes results/benchmark_groups.md and .csv.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from a2c_lab.bench import groups  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=8, help="seeds per group (default 8)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40_000, help="env steps per seed (default 40k)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmark_groups")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.steps = 1, 4_000
    cases = groups.available_cases()
    seeds = list(range(args.seeds))
    rows = groups.measure(cases, seeds, args.repeats, args.steps)
    report = groups.report(rows, cases, len(seeds), args.repeats, args.steps)
    print(report)
    if not args.quick:
        groups.write(rows, report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
