"""The reference study (results/study/): its parts, its comparisons and its report.

==============  ===================================================================
module          job
==============  ===================================================================
parts           each part's Hydra multirun (``python -m a2c_lab.run -m ...``), in order
comparisons     which runs form each comparison, its reference, its headline pairs
tables          runs, variants, pairs, the notebook's effects, the Zoo table, Markdown
figures         the overview figures (P(improvement), the notebook factorial)
report          ``write_report``: results/study/ from the run folders
==============  ===================================================================

Imports: ``a2c_lab.analysis``, ``a2c_lab.runs`` and ``a2c_lab.config`` only (it trains through the
command line, never by importing ``training`` or ``sweeps``), and nothing that needs torch
(``tests/test_layout.py`` holds these rules).
"""
