"""results/study/ from runs/study/: ``runs.csv`` (one row per run), one folder per comparison
(its tables and figures), ``variants.csv``, ``pairs.csv``, ``notebook_effects.csv``,
``findings.md`` (every comparison against its reference, with intervals) and the overview
figures. Called by ``python scripts/study.py report``.

Every number comes from the run folders through ``a2c_lab.analysis`` (the reader, the
statistics, the figures of ``scripts/compare.py``); ``a2c_lab.study.comparisons`` only says which
runs form each comparison and which variant is its reference. A comparison whose runs are not all
there is reported with the seeds it has and says so. A comparison with no run folders here but a
committed folder (``results/study/<key>/runs.csv``; part 1's run folders are not kept) keeps that
folder as it is, and its rows of the top-level tables are recomputed from the per-run values of its
``runs.csv``, by the same functions and with as many resamples (``tables.STUDY_N_BOOT``) as a
comparison whose runs are here. One with neither is listed as not run.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from a2c_lab import analysis
from a2c_lab.analysis import final_performance, learning_curves, pairwise_improvement, report
from a2c_lab.analysis.run_reader import RunWarning
from a2c_lab.runs import metrics as M
from a2c_lab.study.committed import comparison_runs, merge_by_part, not_resampled, read_text
from a2c_lab.study.comparisons import COMPARISONS, NOTEBOOK, Comparison, RunIndex
from a2c_lab.study.equivalence import equivalence_rows
from a2c_lab.study.figures import plot_notebook, plot_overview
from a2c_lab.study.parts import BY_NAME
from a2c_lab.study.findings import findings_text
from a2c_lab.study.tables import (GUARDS, NOT_RESAMPLED, STUDY_N_BOOT, guard_reference, load_comparison,
                                  notebook_effects, pair_rows, part_seconds, per_variant, runs_table, variant_rows)

FORMATS = ("png",)


def write_comparison(index: RunIndex, comparison: Comparison, out: Path, n_boot: int = STUDY_N_BOOT):
    """The comparison's folder from its run folders (the report's tables, its learning curves and
    final performance): returns its runs (``LoadedRuns.runs``, as its runs.csv) and each variant's
    ``NOT_RESAMPLED`` columns; None without runs here. The tables' intervals take ``n_boot``
    resamples; the learning-curve bands the analysis' N_BOOT (each resamples a seeds x 101 matrix:
    at STUDY_N_BOOT, gigabytes per variant)."""
    loaded = load_comparison(index, comparison)
    if loaded is None:
        return None
    result = analysis.Comparison(  # what analysis.compare gives, with the tables at n_boot
        loaded=loaded, final=final_performance(loaded, n_boot, run_metrics=("auc",)),
        improvement=pairwise_improvement(loaded, n_boot), curves_steps=learning_curves(loaded, M.ENV_STEP),
        curves_wall=learning_curves(loaded, M.WALL_TIME), metric_curves=pd.DataFrame(columns=["metric"]))
    folder = out / comparison.key
    folder.mkdir(parents=True, exist_ok=True)
    report.write_tables(result, folder)
    with warnings.catch_warnings(), report.theme():
        warnings.simplefilter("ignore", RunWarning)
        report.plot_learning_curves(result, folder, M.ENV_STEP, "iqm", FORMATS)
        if not comparison.grouped:
            report.plot_learning_curves(result, folder, M.WALL_TIME, "iqm", FORMATS)
        report.plot_final_performance(result, folder, FORMATS)
    other = {r["variant"]: {k: r[k] for k in NOT_RESAMPLED} for _, r in result.final.iterrows()}
    return loaded.runs, other


def write_report(runs_root: Path, out: Path, n_boot: int = STUDY_N_BOOT) -> int:
    """results/study/ (``out``) from the run folders under ``runs_root`` and what ``out`` holds; every
    printed interval from ``n_boot`` resamples (the study's: STUDY_N_BOOT). 0, or 2 with nothing to report."""
    warnings.simplefilter("ignore", RunWarning)
    index = RunIndex(runs_root)
    committed_runs = read_text(out / "runs.csv")
    if not index.configs and committed_runs is None:
        print(f"no study runs under {runs_root} and no committed results in {out}: "
              "run `python scripts/study.py run` first")
        return 2
    out.mkdir(parents=True, exist_ok=True)
    committed_variants = pd.read_csv(out / "variants.csv") if (out / "variants.csv").is_file() else None
    all_variants, all_pairs, missing, notebook_finals, from_folders, equivalence = [], [], [], {}, 0, []
    for comparison in COMPARISONS:
        written = write_comparison(index, comparison, out, n_boot)
        if written is not None:
            runs, other = written
            from_folders += 1
        else:  # its folder and figures stay as committed
            runs, other = comparison_runs(out, comparison), not_resampled(committed_variants, comparison)
        if runs is None:
            missing.append(comparison)
            continue
        finals, aucs = per_variant(runs, "final_return"), per_variant(runs, "auc")
        all_variants += variant_rows(comparison, finals, aucs, other, n_boot)
        all_pairs += pair_rows(comparison, finals, aucs, n_boot)
        if comparison.equivalence:
            equivalence += equivalence_rows(comparison, finals, aucs, n_boot)
        if comparison is NOTEBOOK:
            notebook_finals = finals
    pairs = pd.DataFrame(all_pairs)
    pd.DataFrame(all_variants).to_csv(out / "variants.csv", index=False)
    pairs.to_csv(out / "pairs.csv", index=False)
    equivalence = pd.DataFrame(equivalence)
    if len(equivalence):
        equivalence.to_csv(out / "equivalence.csv", index=False)
    effects = notebook_effects(notebook_finals, n_boot)
    effects.to_csv(out / "notebook_effects.csv", index=False)
    plot_overview(pairs, out)
    plot_notebook([r for r in all_variants if r["comparison"] == NOTEBOOK.key], out)

    merge_by_part(committed_runs, runs_table(index)).to_csv(out / "runs.csv", index=False)
    for part, (name, _) in GUARDS.items():
        guard = guard_reference(index, part)
        if len(guard):  # otherwise the committed one stays
            guard.to_csv(out / name, index=False)
    seconds = pd.DataFrame([(part, s, BY_NAME[part].cores if part in BY_NAME else 1)
                            for part, s in sorted(part_seconds(runs_root).items())], columns=["part", "seconds", "cores"])
    seconds = seconds if len(seconds) else seconds[["part", "seconds"]]  # nothing new: compute.csv as committed
    merge_by_part(read_text(out / "compute.csv"), seconds).to_csv(out / "compute.csv", index=False)
    runs, compute = pd.read_csv(out / "runs.csv"), pd.read_csv(out / "compute.csv")
    cores = compute["cores"].fillna(1) if "cores" in compute else 1  # part 1's rows: one core each
    seconds = dict(zip(compute["part"], compute["seconds"].astype(float) * cores))  # core-seconds
    (out / "findings.md").write_text(findings_text(runs, seconds, all_pairs, all_variants, effects, missing, n_boot,
                                                          equivalence))
    print(f"study report: {len(runs)} runs, {len(COMPARISONS) - len(missing)} of {len(COMPARISONS)} comparisons "
          f"({from_folders} from run folders here, the rest from committed per-run tables), written to {out}")
    return 0
