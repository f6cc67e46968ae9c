"""The RL Zoo's A2C numbers with many seeds, and whole-run parity with Stable-Baselines3 (issue 20).

    python scripts/zoo.py table [TASK ...] [--runs DIR]                 # the zoo_<task> presets, resumable
    python scripts/zoo.py table-report [--runs DIR]                     # results/zoo/zoo.csv and .md
    python scripts/zoo.py parity [TASK ...] [--seeds 10] [--runs DIR]   # train both libraries, resumable
    python scripts/zoo.py parity-report [--runs DIR]                    # results/zoo/parity.csv and .md

Run folders go to --runs (default: ../a2c-lab-runs/zoo beside the checkout, outside its work
tree); running the same command again resumes a2c-lab's sweeps and skips the SB3 seeds already
done. The logic is ``a2c_lab/study/zoo.py``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from a2c_lab.analysis import tables  # noqa: E402
from a2c_lab.study.zoo import (PARITY, ZOO_TABLE, parity_rows, parity_summary, run_parity,  # noqa: E402
                               table_command, table_runs, zoo_table)

RUNS = ROOT.parent / "a2c-lab-runs" / "zoo"
OUT = ROOT / "results" / "zoo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["table", "table-report", "parity", "parity-report"])
    parser.add_argument("tasks", nargs="*", default=[], help="default: every task of the command")
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1 (default: parity 10 a side; table per task)")
    parser.add_argument("--runs", type=Path, default=RUNS, help=f"run folders (default {RUNS})")
    args = parser.parse_args(argv)
    known = PARITY if args.command.startswith("parity") else ZOO_TABLE
    if any(task not in known for task in args.tasks):
        parser.error(f"unknown task in {args.tasks}; allowed: {', '.join(known)}")
    OUT.mkdir(parents=True, exist_ok=True)
    if args.command == "table":
        return max(subprocess.call(table_command(task, args.runs.resolve(), args.seeds), cwd=ROOT)
                   for task in args.tasks or ZOO_TABLE)
    if args.command == "table-report":
        table_runs(args.runs).to_csv(OUT / "table_runs.csv", index=False)  # one row per run
        table = zoo_table(args.runs)
        table.to_csv(OUT / "zoo.csv", index=False)
        print(tables.markdown(table.round(1)))
        return 0
    if args.command == "parity":
        seeds = list(range(args.seeds or 10))
        return max(run_parity(task, seeds, args.runs.resolve(), ROOT) for task in args.tasks or PARITY)
    rows = parity_rows(args.runs)
    rows.to_csv(OUT / "parity.csv", index=False)
    summary = parity_summary(rows)
    (OUT / "parity.md").write_text(tables.markdown(summary.round(3)) + "\n")
    print(tables.markdown(summary.round(3)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
