"""How many bootstrap resamples the study's printed intervals need: the evidence for
``a2c_lab.study.tables.STUDY_N_BOOT``.

    python scripts/study_resamples.py [--n 2000 20000 50000 100000 200000] [--seeds 0 1 2]

Recomputes every interval findings.md prints (pairs.csv's P on final return and AUC, variants.csv's
IQM of final return and AUC, notebook_effects.csv's P, the Zoo table's IQMs) from the committed
per-run tables under results/study/ (``<comparison>/runs.csv`` and the top-level ``runs.csv``),
through the report's own functions, at each N with each bootstrap seed. For each N it prints how
many endpoints, at the digits findings.md prints them (P: 2 decimals; IQM: 1), differ between the
seeds, how many differ from the largest N's (seed 0), and the seconds one set of tables takes;
then each endpoint that still moves at the N the study uses, with its unrounded values.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import pandas as pd  # noqa: E402

from a2c_lab.study.committed import comparison_runs  # noqa: E402
from a2c_lab.study.comparisons import COMPARISONS, NOTEBOOK  # noqa: E402
from a2c_lab.study.tables import (STUDY_N_BOOT, notebook_effects, pair_rows, per_variant,  # noqa: E402
                                  variant_rows, zoo_table)

OUT = ROOT / "results" / "study"


def endpoints(values: list, n_boot: int, seed: int) -> dict[tuple, float]:
    """Every printed interval endpoint -> (unrounded value, digits printed)."""
    found = {}
    for comparison, finals, aucs in values:
        for row in pair_rows(comparison, finals, aucs, n_boot, seed):
            for what in ("", "auc_"):
                for end in ("low", "high"):
                    if f"{what}{end}" in row:
                        found[(comparison.key, f"P {row['x']} > {row['y']}", what + end)] = (row[f"{what}{end}"], 2)
        for row in variant_rows(comparison, finals, aucs, {}, n_boot, seed):
            for column in ("iqm_low", "iqm_high", "auc_low", "auc_high"):
                if column in row:
                    found[(comparison.key, f"IQM {row['variant']}", column)] = (row[column], 1)
        if comparison is NOTEBOOK:
            for row in notebook_effects(finals, n_boot, seed).itertuples():
                for end in ("low", "high"):
                    found[("notebook effects", f"{row.change} at {row.at}", end)] = (getattr(row, end), 2)
    zoo = zoo_table(pd.read_csv(OUT / "runs.csv"), n_boot, seed)
    for row in zoo.to_dict("records"):
        for column, text in row.items():
            if "[95% CI]" in column and "[" in text:
                low, high = text.split("[")[1].rstrip("]").split(", ")
                found[("zoo", row["task"], f"{column} low")] = (float(low), 1)
                found[("zoo", row["task"], f"{column} high")] = (float(high), 1)
    return found


def printed(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[2000, 20_000, 50_000, 100_000, 200_000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    values = []  # (comparison, finals, aucs)
    for comparison in COMPARISONS:
        runs = comparison_runs(OUT, comparison)
        if runs is not None:
            values.append((comparison, per_variant(runs, "final_return"), per_variant(runs, "auc")))
    results, seconds = {}, {}
    for n in args.n:
        for seed in args.seeds:
            start = time.perf_counter()
            results[n, seed] = endpoints(values, n, seed)
            seconds[n, seed] = time.perf_counter() - start
    reference = results[max(args.n), args.seeds[0]]
    print(f"{len(reference)} printed endpoints ({len(values)} comparisons with committed runs); "
          f"seeds {args.seeds}; reference: N = {max(args.n):,}, seed {args.seeds[0]}\n")
    kinds = {"P (2 decimals)": 2, "IQM (1 decimal)": 1}
    print("| N | kind | endpoints | differing between seeds | differing from seed "
          f"{args.seeds[0]}, per seed | differing from N = {max(args.n):,} (seed {args.seeds[0]}) | seconds |")
    print("|---|---|---|---|---|---|---|")
    for n in args.n:
        mean_seconds = sum(seconds[n, s] for s in args.seeds) / len(args.seeds)
        for kind, digits in kinds.items():
            keys = [k for k, (_, d) in reference.items() if d == digits]
            text = {s: {k: printed(results[n, s][k][0], digits) for k in keys} for s in args.seeds}
            moved = sum(len({text[s][k] for s in args.seeds}) > 1 for k in keys)
            per_seed = ", ".join(str(sum(text[s][k] != text[args.seeds[0]][k] for k in keys)) for s in args.seeds[1:])
            off = sum(text[args.seeds[0]][k] != printed(reference[k][0], digits) for k in keys)
            print(f"| {n:,} | {kind} | {len(keys)} | {moved} | {per_seed} | {off} | {mean_seconds:.1f} |")
    if STUDY_N_BOOT in args.n:
        print(f"\nEndpoints that differ between seeds at STUDY_N_BOOT = {STUDY_N_BOOT:,} (unrounded, per seed):")
        for key, (_, digits) in reference.items():
            texts = [results[STUDY_N_BOOT, s][key][0] for s in args.seeds]
            if len({printed(v, digits) for v in texts}) > 1:
                print(f"- {' / '.join(key)}: " + ", ".join(f"{v:.5f}" for v in texts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
