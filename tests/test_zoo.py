"""Parity with SB3 (a2c_lab.study.zoo): rows and summary from synthetic run folders and SB3
returns files with known values; the a2c-lab command trains what the parity task says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthetic_runs as synthetic
from a2c_lab.study import zoo

A2C = [100.0, 200.0, 300.0]
SB3 = [150.0, 250.0, 50.0]  # P(a2c-lab > sb3) = 6 / 9, counted by hand below


def write(runs):
    for seed, value in enumerate(A2C):
        synthetic.write_run(runs / "a2c-lab" / "lunarlander" / str(seed), np.full(120, value),
                            {"task.id": "LunarLander-v3", "seed": seed, "total_steps": 4000})
    for seed, value in enumerate(SB3):
        path = zoo.sb3_returns_file(runs, "lunarlander", seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        returns = np.r_[np.full(50, -1000.0), np.full(100, value)]  # the last 100 episodes count
        pd.DataFrame({"env_step": np.arange(150) * 10, "return": returns}).to_csv(path, index=False)


def test_rows_and_summary(tmp_path):
    write(tmp_path)
    rows = zoo.parity_rows(tmp_path)
    assert list(rows.columns) == ["task", "library", "seed", "final_return"] and len(rows) == 6
    assert rows[rows["library"] == "sb3"]["final_return"].tolist() == SB3
    summary = zoo.parity_summary(rows).set_index("library")
    # pairs a > s: 100>50; 200>150, 200>50; 300>150, 300>250, 300>50 -> 6 of 9
    assert summary.loc["a2c-lab", "p_a2c_lab_better"] == pytest.approx(6 / 9)
    assert summary.loc["sb3", "min"] == 50.0 and summary.loc["a2c-lab", "max"] == 300.0


def test_the_a2c_lab_side_is_the_parity_tasks_config(tmp_path):
    command = zoo.a2c_lab_command("halfcheetah", [0, 1], tmp_path)
    assert command[1:4] == ["-m", "a2c_lab.run", "-m"]
    assert "experiment=sb3_a2c" in command and "obs_norm=obs_reward" in command and "seed=0,1" in command
    assert "eval.interval=0" in command and f"hydra.sweep.dir={tmp_path / 'a2c-lab' / 'halfcheetah'}" in command
