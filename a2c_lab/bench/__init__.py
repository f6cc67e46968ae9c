"""Benchmarks: the logic behind ``scripts/benchmark*.py`` and ``scripts/wandb_overhead.py``,
whose scripts keep only their command lines.

==============  ===================================================================
module          job
==============  ===================================================================
runners         one a2c-lab run in this process, SB3's A2C at the matched settings,
                time to solve, the raw env's throughput
sections        ``benchmark.py``'s sections (env, sps, tracking, solve, sweep, memory),
                their settings and results
report          ``benchmark.py``'s report: targets, ratios, machine speed, environment
groups          ``benchmark_groups.py``: batched seeds against one at a time and SB3
wandb_overhead  ``wandb_overhead.py``: what W&B costs whole runs, measured and attributed
report_timing   ``benchmark_report.py``: the comparison report timed on many runs
==============  ===================================================================

Imports: ``a2c_lab.config``, ``a2c_lab.runs``, ``a2c_lab.training`` and ``a2c_lab.analysis``
only; never ``sweeps`` (the sweep section runs ``python -m a2c_lab.run -m`` as a subprocess
command; ``tests/test_layout.py`` holds these rules). Nothing imports this package. torch,
Stable-Baselines3, W&B, gymnasium, Hydra and matplotlib are imported where they are used, not
when a module is imported; importing the package imports none of its modules.
"""
