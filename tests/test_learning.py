"""Slow: the notebook's vectorized preset learns CartPole in most seeds within its budget.

Measured on the development machine with this code (numpy acting): 14 of seeds 0-14
reached a last-20-episode mean of 475 within 125k env steps (the other peaked at 414);
earlier versions with other action samplers (so other random streams) got 13 and 11 of 15.
The test asks for a majority, 8 of 15: a CPU whose float rounding differs reshuffles which
seeds succeed, and at a success rate near 0.84 (38 of 45) fewer than 8 of 15 has a
probability under 0.1%.
"""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from a2c_lab.runs import metrics as m
from a2c_lab.runs.episode_stats import trailing_mean

ROOT = Path(__file__).resolve().parents[1]
SEEDS = 15
REQUIRED = 8


@pytest.mark.slow
def test_notebook_vectorized_reaches_475_in_most_seeds(tmp_path):
    sweep = tmp_path / "sweep"
    subprocess.run(
        [sys.executable, "-m", "a2c_lab.run", "-m", "experiment=notebook_vectorized",
         f"seed={','.join(map(str, range(SEEDS)))}", "logger=none", "eval.interval=0",
         "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"],
        cwd=ROOT, check=True, capture_output=True)
    peaks = {}
    for seed in range(SEEDS):
        episodes = pd.read_csv(sweep / str(seed) / m.EPISODES_FILE)
        assert episodes[m.ENV_STEP].iloc[-1] <= 125_000
        peaks[seed] = float(trailing_mean(episodes[m.EPISODE_RETURN].to_numpy(), 20).max())
    reached = [seed for seed, peak in peaks.items() if peak >= 475]
    print(f"notebook_vectorized: {len(reached)}/{SEEDS} seeds reached a last-20 mean of 475; peaks {peaks}")
    assert len(reached) >= REQUIRED, peaks
