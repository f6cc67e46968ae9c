"""The analysis half: run folders -> tidy frame -> statistics -> figures and tables.

Training writes run folders (``a2c_lab.runs.run_folder`` defines the format); this package only
reads them. One module per step:

==============  ===================================================================
module          job
==============  ===================================================================
run_reader      one run folder -> its config, status and metric frames, or why not
labels          which config keys tell variants apart (``config.AXES`` first), and labels
load            every run folder under some paths -> ``LoadedRuns`` (tidy frame, run table)
statistics      pure functions across seeds: IQM, bootstrap CI, probability of improvement
comparison      ``LoadedRuns`` -> ``Comparison``: final performance, pairs, learning curves
tables          ``Comparison`` -> CSV and Markdown tables
report          ``Comparison`` -> figures (and the tables, through ``tables``)
==============  ===================================================================

Imports: ``a2c_lab.runs`` (the run-folder format, metric names, episode statistics) and
``a2c_lab.config`` only; never ``training`` or ``sweeps``, and nothing that needs torch
(``tests/test_layout.py`` holds these rules).

The names below are the package's interface (``scripts/compare.py`` and the tests use them);
importing it loads neither matplotlib nor seaborn: ``a2c_lab.analysis.report`` does, and
changes no global matplotlib setting when it does.
"""

from a2c_lab.analysis.comparison import (Comparison, compare, curve_on_grid, final_performance, learning_curves,
                                         pairwise_improvement)
from a2c_lab.analysis.labels import KEY_ALIASES, is_axis, varying_keys
from a2c_lab.analysis.load import CURVE_WINDOW, FINAL_WINDOW, RUN_COLUMNS, TIDY_COLUMNS, LoadedRuns, load_runs
from a2c_lab.analysis.run_reader import NoRunsError, RunWarning, find_run_dirs, flatten_config
from a2c_lab.analysis.statistics import N_BOOT, STATISTICS, bootstrap_ci, iqm, probability_of_improvement
from a2c_lab.runs.episode_stats import steps_to_threshold, trailing_mean  # per-run curves, shared with the trainer

__all__ = [
    "Comparison", "compare", "curve_on_grid", "final_performance", "learning_curves", "pairwise_improvement",
    "KEY_ALIASES", "is_axis", "varying_keys",
    "CURVE_WINDOW", "FINAL_WINDOW", "RUN_COLUMNS", "TIDY_COLUMNS", "LoadedRuns", "load_runs",
    "NoRunsError", "RunWarning", "find_run_dirs", "flatten_config",
    "N_BOOT", "STATISTICS", "bootstrap_ci", "iqm", "probability_of_improvement",
    "steps_to_threshold", "trailing_mean",
]
