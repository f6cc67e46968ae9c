"""How much wall time W&B tracking costs: logger=wandb (offline) against logger=none.

    PYTHONPATH=. python scripts/wandb_overhead.py [--repeats 5] [--steps 200000] [key=value ...]

What it runs and the two figures it reports (measured, attributed): the docstring of
``a2c_lab/bench/wandb_overhead.py``, which ``--help`` prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from a2c_lab.bench import wandb_overhead  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=wandb_overhead.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="pairs of runs (default 5)")
    parser.add_argument("--steps", type=int, default=200_000, help="total_steps of every run (default 200000)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # internal: one timed run in this process
    parser.add_argument("overrides", nargs="*", help="extra key=value overrides for every run")
    opts = parser.parse_args()
    if opts.one:
        wandb_overhead.run_one(opts.one, opts.overrides)
        return
    runs = wandb_overhead.measure(opts.repeats, opts.steps, opts.overrides)
    wandb_overhead.print_summary(runs, opts.repeats, opts.steps, opts.overrides)


if __name__ == "__main__":
    main()
