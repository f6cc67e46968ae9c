"""The reference study: which of the notebook's choices matter, one axis at a time, on three tasks.

    python scripts/study.py list                     # every part: its command and size
    python scripts/study.py run [PART ...] [--jobs 2] # train the parts (all by default), in order
    python scripts/study.py report                   # results/study/: runs.csv, tables, figures
    python scripts/study.py --runs DIR run ...        # run folders elsewhere (default: runs/study/)

Each part is one Hydra multirun into ``runs/study/<part>/`` (the run folders are not committed).
Running a part again resumes its unfinished runs from their checkpoints and skips its finished
ones (``resume=auto``), so an interrupted study is continued by the same command. The parts are
``a2c_lab/study/parts.py``, the comparisons ``a2c_lab/study/comparisons.py``; the design is in
results/study/README.md and was fixed before the first run.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from a2c_lab.study.parts import BY_NAME, PARTS, choose, run_part  # noqa: E402

RUNS = ROOT / "runs" / "study"
OUT = ROOT / "results" / "study"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=RUNS,
                        help="the study's run folders (default runs/study/; a long study keeps them outside the "
                             "work tree, which a new checkout lays anew)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every part: its command and number of runs")
    run = sub.add_parser("run", help="train parts (default: all, in order)")
    run.add_argument("parts", nargs="*", help="part names or prefixes, e.g. cartpole/ or notebook/factorial")
    run.add_argument("--jobs", type=int, default=1, help="parts trained side by side (one core each)")
    sub.add_parser("report", help="write results/study/ from runs/study/")
    args = parser.parse_args(argv)
    if args.command == "list":
        for part in PARTS:
            print(f"# {part.name}: {part.runs()} runs\npython {shlex.join(part.command(args.runs, ROOT)[1:])}")
        print(f"# {len(PARTS)} parts, {sum(p.runs() for p in PARTS)} runs")
        return 0
    if args.command == "run":
        chosen = choose(args.parts)
        if not chosen:
            parser.error(f"no part matches {args.parts}; parts: {', '.join(BY_NAME)}")
        with ThreadPoolExecutor(args.jobs) as pool:
            codes = list(pool.map(lambda part: run_part(part, args.runs, ROOT), chosen))
        return max(codes)
    from a2c_lab.study.report import write_report  # noqa: PLC0415 (pandas and matplotlib only for the report)
    return write_report(args.runs, OUT)


if __name__ == "__main__":
    sys.exit(main())
