"""Sweeps: many jobs of a Hydra multirun, the seeds of a variant trained as one group.

==============  ===================================================================
module          job
==============  ===================================================================
sweeper         the grouping sweeper: expand, validate, group, launch, end
jobs            the ``Job`` and ``Group`` records the sweeper and the summary share
groups          a group job: each seed's folder and Hydra files, then ``train_group``
summary         the sweep's end: each job's outcome, the summary, the exit code
==============  ===================================================================

Imports: ``a2c_lab.config``, ``a2c_lab.runs`` and ``a2c_lab.training``. Only ``a2c_lab.run``
(the command line) and the Hydra plugin (``hydra_plugins/a2c_lab_sweeper``) import this package
(``tests/test_layout.py`` holds these rules).
"""
