"""The run folder: what a run writes about itself, and how it ends. Training writes through it;
the analysis reads what it defines.

==============  ===================================================================
module          job
==============  ===================================================================
run_folder      status schema, exit codes, the lock (one run per folder), atomic writes
metrics         every metric and file name, defined once
episode_stats   ``Episodes`` (the record the tracker writes) and per-run curve statistics
tracking        local files (the truth) and the extra sinks
wandb_sink      the W&B sink; ``wandb_names``: its naming rules (pure, no W&B import)
checkpoint      per-seed checkpoint files
resume          whether and where a folder's run continues
outcomes        how a run ends: exceptions, statuses, exit codes, signal handling
==============  ===================================================================

Imports: ``a2c_lab.config`` only; nothing of ``training``, ``sweeps`` or ``analysis``
(``tests/test_layout.py`` holds these rules). Importing the package imports none of its modules.
"""
