"""The reference study (results/study/): its parts, its comparisons and its report.

==============  ===================================================================
module          job
==============  ===================================================================
parts           each part's Hydra multirun (``python -m a2c_lab.run -m ...``), in order
comparisons     which runs form each comparison, its reference, its headline pairs
tables          runs, variants, pairs, the notebook's effects, the Zoo table, the guards' references
equivalence     grouped vs separate: the design's margin, rule and verdict rows
findings        ``findings.md``'s Markdown from those rows
committed       what results/study/ already holds (part 1's run folders are not kept)
figures         the overview figures (P(improvement), the notebook factorial)
report          ``write_report``: results/study/ from the run folders and the committed rows
zoo             the RL Zoo table with many seeds, and parity with SB3 (results/zoo/)
==============  ===================================================================

Imports: ``a2c_lab.analysis``, ``a2c_lab.runs`` and ``a2c_lab.config`` only (it trains through the
command line, never by importing ``training`` or ``sweeps``), and nothing that needs torch
(``tests/test_layout.py`` holds these rules).
"""
