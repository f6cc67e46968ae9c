"""Time the comparison report on a sweep-sized set of runs (``scripts/benchmark_report.py``).

    python scripts/benchmark_report.py [--runs 100] [--steps 500000] [--variants 4] [--keep DIR]

The script writes --runs synthetic run folders (8 envs, n_steps 5: steps / 40 update rows each,
1-3k CartPole-like episodes; ``tests/synthetic_runs.py`` writes them) into a temporary folder;
``time_report`` then times the aggregation (loading, statistics, tables) and, separately, the
figures. The aggregation budget is 30 s for 100 runs of 500k steps. pandas and matplotlib are
imported when the timing starts, outside the timed parts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUDGET_S = 30.0


@dataclass
class Timing:
    """Wall seconds of each part; ``loaded``: the runs the aggregation loaded."""

    loaded: Any  # a2c_lab.analysis.LoadedRuns
    loading: float
    statistics: float
    tables: float
    aggregation: float
    aggregation_cpu: float
    figures: float


def time_report(sweep: Path, out: Path) -> Timing:
    """Load the runs under ``sweep``, compare them and write the tables, then the figures, into ``out``."""
    from a2c_lab import analysis as results
    from a2c_lab.analysis import report

    start, cpu_start = time.perf_counter(), time.process_time()
    loaded = results.load_runs([sweep])
    loading = time.perf_counter() - start
    comparison = results.compare(loaded)
    statistics = time.perf_counter() - start - loading
    report.write_tables(comparison, out)
    aggregation = time.perf_counter() - start
    aggregation_cpu = time.process_time() - cpu_start
    tables = aggregation - loading - statistics

    start = time.perf_counter()
    report.write_figures(comparison, out)
    figures = time.perf_counter() - start
    return Timing(loaded, loading, statistics, tables, aggregation, aggregation_cpu, figures)


def print_timing(t: Timing) -> bool:
    """Print the timings; whether the aggregation stayed under ``BUDGET_S``."""
    runs = t.loaded.included
    print(f"tidy frame: {len(t.loaded.tidy):,} rows, {t.loaded.tidy.memory_usage(deep=True).sum() / 2**20:.0f} MiB; "
          f"episodes per run {runs['episodes'].min()}-{runs['episodes'].max()}")
    print(f"aggregation (load + statistics + tables): {t.aggregation:.1f} s "
          f"(load {t.loading:.1f} s, statistics {t.statistics:.1f} s, tables {t.tables:.1f} s; "
          f"CPU time {t.aggregation_cpu:.1f} s, which other load on the machine does not inflate)")
    print(f"figures (6 figures, PNG and PDF): {t.figures:.1f} s")
    within = t.aggregation < BUDGET_S
    print(f"under {BUDGET_S:.0f} s: {'yes' if within else 'NO'}")
    return within
