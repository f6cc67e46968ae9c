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


def test_the_zoo_table_takes_each_seeds_last_greedy_evaluation(tmp_path):
    from a2c_lab.runs import metrics as M
    last = [-300.0, -200.0, -100.0, -150.0, -250.0]
    for seed, value in enumerate(last):
        run_dir = synthetic.write_run(tmp_path / "table" / "pendulum" / str(seed), np.full(60, -999.0),
                                      {"task.id": "Pendulum-v1", "task.threshold": None, "seed": seed,
                                       "total_steps": 4000})
        rows = [",".join(M.EVAL_COLUMNS), "2000,1.0,-5000.0,1.0,200", f"4000,2.0,{value},1.0,200"]
        (run_dir / M.EVAL_FILE).write_text("\n".join(rows) + "\n")
    table = zoo.zoo_table(tmp_path)
    assert list(table.columns) == ["task", "budget", "zoo_mean", "zoo_std", "seeds", "iqm", "ci_low", "ci_high",
                                   "min", "max"]
    row = table.iloc[0]
    assert (row.task, row.budget, row.zoo_mean, row.seeds) == ("pendulum", 4000, -163.0, 5)
    assert row.iqm == pytest.approx(-200.0) and (row["min"], row["max"]) == (-300.0, -100.0)  # IQM trims -300, -100
    assert zoo.table_command("hopper", tmp_path)[4:6] == ["experiment=zoo_hopper", "logger=none"]


def test_a_task_with_no_finished_run_is_left_out_of_the_table(tmp_path):
    synthetic.write_run(tmp_path / "table" / "acrobot" / "0", np.full(20, -500.0),
                        {"task.id": "Acrobot-v1", "seed": 0, "total_steps": 4000}, status="interrupted")
    assert zoo.zoo_table(tmp_path).empty
