"""Continuous control from the command line, as users run it: a grouped MuJoCo sweep with
normalisation, W&B offline, checkpoints, a stop and a resume, then the report; a one-seed
Pendulum run; Walker2d without MuJoCo's compiler notice. Whole processes: marked slow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from a2c_lab.runs import checkpoint
from a2c_lab.runs import metrics as m

try:
    from test_resume import rows, start, wait_until
    from wandb_files import a2c, job_env, wandb_runs
except ImportError:  # tests/ imported as a package
    from tests.test_resume import rows, start, wait_until
    from tests.wandb_files import a2c, job_env, wandb_runs

pytest.importorskip("mujoco")
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def status(run_dir: Path) -> dict:
    return json.loads((run_dir / m.STATUS_FILE).read_text())


def test_a_grouped_halfcheetah_sweep_stops_resumes_and_reports(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "task=halfcheetah", "obs_norm=obs_reward", "seed=0,1", "total_steps=16000",
            "checkpoint.interval=2000", "eval.interval=8000", "eval.episodes=1", "progress=false",
            f"hydra.sweep.dir={sweep}"]
    proc = start(*args, cwd=tmp_path)
    wait_until(lambda: (sweep / "0" / checkpoint.CHECKPOINT_FILE).exists() and rows(sweep / "0" / m.UPDATES_FILE) > 80,
               what="a checkpoint of the group")
    os.killpg(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=120)
    stopped = [checkpoint.load(sweep / str(s)) for s in (0, 1)]
    assert all(status(sweep / str(s))["status"] == "interrupted" for s in (0, 1))
    assert all(st["normalizer"]["obs.count"] > 1 for st in stopped)  # the statistics are in the checkpoint

    again = a2c(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    for s in (0, 1):
        run_dir = sweep / str(s)
        assert status(run_dir)["status"] == "finished"
        meta = json.loads((run_dir / m.META_FILE).read_text())
        assert meta["segment"] == 1 and meta["resumed_from"]["update"] == stopped[s]["update"]
        updates = [float(line.split(",")[0]) for line in (run_dir / m.UPDATES_FILE).read_text().splitlines()[1:]]
        assert updates == sorted(set(updates)) and updates[-1] == 16000  # continuous, each update once
        final = torch.load(run_dir / m.MODEL_FILE, weights_only=True)
        assert final["obs_norm.obs.count"] > stopped[s]["normalizer"]["obs.count"]  # went on from there
        assert len(wandb_runs(run_dir)) == 2  # two W&B segments of one run
    report = subprocess.run([sys.executable, str(ROOT / "scripts" / "compare.py"), str(sweep), "--formats", "png"],
                            cwd=tmp_path, env=job_env(), capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-3000:]
    summary = (sweep / "report" / "summary.csv").read_text()
    assert "HalfCheetah-v5" in summary and (sweep / "report" / "learning_curves_env_steps.png").stat().st_size > 0


def test_a_one_seed_pendulum_run(tmp_path):
    run_dir = tmp_path / "run"
    out = a2c("task=pendulum", "seed=3", "total_steps=3000", "eval.interval=1500", "progress=false",
              f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert status(run_dir)["status"] == "finished" and (run_dir / checkpoint.CHECKPOINT_FILE).exists()
    assert len((run_dir / m.EVAL_FILE).read_text().splitlines()) == 3
    assert len(wandb_runs(run_dir)) == 1


def test_walker2d_runs_without_mujocos_compiler_notice(tmp_path):
    """MuJoCo 4 prints a 'settotalmass is deprecated' notice (and writes MUJOCO_LOG.TXT into the
    working folder) when Walker2d's model is compiled after another model in the same process."""
    code = ("from a2c_lab.config import Backend\n"
            "from a2c_lab.training.envs import VectorEnv\n"
            "for task in ('HalfCheetah-v5', 'Hopper-v5', 'Walker2d-v5'):\n"
            "    env = VectorEnv(task, 2, Backend.sync, 0); env.reset(); env.close()\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=job_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "settotalmass" not in out.stdout + out.stderr
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
