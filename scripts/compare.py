"""Compare the runs of one or more sweeps: figures (PNG, PDF) and a summary table.

    python scripts/compare.py [SWEEP_DIR ...] [--out OUT_DIR] [--hue KEYS] [--threshold [TASK=]VALUE]
                              [--survivors-only]

With no SWEEP_DIR it takes the newest folder under runs/sweeps/. A SWEEP_DIR may also be
a single run folder or any folder above run folders. Finished and diverged runs are results
(a diverged run with what it reached before diverging); every other folder is listed with
the reason it was left out, and the rest are still reported. The logic lives in a2c_lab.analysis
(loading, labels and statistics) and a2c_lab.analysis.report (figures and tables); this is the
command line.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from a2c_lab import analysis as results  # noqa: E402
from a2c_lab.analysis import report  # noqa: E402


def newest_sweep(root: Path) -> Path:
    """The newest sweep folder: names start with the sweep's start time, so the last by name."""
    sweeps = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not sweeps:
        raise results.NoRunsError(f"no SWEEP_DIR given and no sweep folders under {root}")
    return sweeps[-1]


def parse_thresholds(values: list[str]) -> dict:
    """["475", "Acrobot-v1=-100", "CartPole-v1=none"] -> {None: 475.0, "Acrobot-v1": -100.0, ...}"""
    thresholds = {}
    for value in values:
        task, _, number = value.rpartition("=")
        thresholds[task or None] = None if number.lower() in ("none", "null") else float(number)
    return thresholds


def default_out(sweeps: list[Path]) -> Path:
    if len(sweeps) == 1:
        return sweeps[0] / "report"
    return Path("reports") / f"{sweeps[0].resolve().name}_and_{len(sweeps) - 1}_more"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweeps", nargs="*", type=Path, metavar="SWEEP_DIR",
                        help="sweep or run folders (default: the newest under --sweeps-root)")
    parser.add_argument("--out", type=Path, help="output folder (default: SWEEP_DIR/report for one "
                        "folder, reports/<first>_and_<k>_more for several)")
    parser.add_argument("--hue", help="comma-separated config keys that name the variants, e.g. agent or "
                        "agent,num_envs or advantage.lam (default: the config keys that differ across the "
                        "runs); differing keys left out become separate panels")
    parser.add_argument("--threshold", action="append", default=[], metavar="[TASK=]VALUE",
                        help="solved threshold overriding task.threshold, for one task or all; 'none' for "
                        "none (repeatable)")
    parser.add_argument("--statistic", choices=sorted(results.STATISTICS), default="mean",
                        help="learning-curve line across seeds (both are in the CSV; default: mean)")
    parser.add_argument("--metric", action="append", default=[], metavar="NAME",
                        help="also draw curves of this logged metric vs env steps, e.g. losses/entropy or "
                        "eval/return_mean (repeatable)")
    parser.add_argument("--points", type=int, default=101, help="learning-curve grid points (default: 101)")
    parser.add_argument("--n-boot", type=int, default=results.N_BOOT, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap random seed")
    parser.add_argument("--formats", default="png,pdf", help="figure formats (default: png,pdf)")
    parser.add_argument("--survivors-only", action="store_true",
                        help="leave diverged runs out of the statistics (by default they count with the final "
                        "return they reached before diverging); every title then says how many were left out")
    parser.add_argument("--no-figures", action="store_true", help="tables only")
    parser.add_argument("--sweeps-root", type=Path, default=Path("runs/sweeps"),
                        help="where to look for the newest sweep (default: runs/sweeps)")
    args = parser.parse_args(argv)
    warnings.showwarning = lambda message, *_, **__: print(f"warning: {message}", file=sys.stderr)

    try:
        sweeps = args.sweeps or [newest_sweep(args.sweeps_root)]
        hue = [k.strip() for k in args.hue.split(",") if k.strip()] if args.hue else None
        loaded = results.load_runs(sweeps, hue=hue, thresholds=parse_thresholds(args.threshold),
                                    survivors_only=args.survivors_only)
        comparison = results.compare(loaded, n_boot=args.n_boot, seed=args.seed, points=args.points,
                                     metrics=args.metric)
    except (results.NoRunsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or default_out(sweeps)
    report.write_tables(comparison, out)
    if not args.no_figures:
        report.write_figures(comparison, out, args.statistic, [f.strip() for f in args.formats.split(",")])
    print(report.summary_markdown(comparison))
    print(f"report written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
