"""Running a2c-lab in a subprocess and reading back the files its offline W&B runs wrote.

Shared by the tests that check W&B tracking (``test_wandb_tracking.py``), trust
(``test_trust.py``), grouped sweeps (``test_sweeper.py``) and continuous control from the command
line (``test_continuous_cli.py``). W&B's files are read with ``wandb leet inspect --json`` (every
record: run metadata, metric definitions, history rows, exit) and ``--summary --json`` (state,
config, summary).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from a2c_lab.runs import metrics as m

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
# The launchers a multirun is checked under (Hydra's basic, joblib and submitit_local plugins).
LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"],
}


# --- running a2c-lab ----------------------------------------------------------------------------

def job_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any WANDB_* variable, a2c_lab and job_probe importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), str(TESTS), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def a2c(*args: str, cwd: Path, env: dict[str, str] | None = None,
        timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "a2c_lab.run", *args], cwd=cwd, env=env or job_env(),
                          capture_output=True, text=True, timeout=timeout)


def only(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


def read_csv(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


# --- reading W&B's files back -------------------------------------------------------------------

def wandb_cli() -> str:
    beside = Path(sys.executable).with_name("wandb")
    return str(beside) if beside.exists() else shutil.which("wandb") or "wandb"


@dataclass
class WandbRun:
    """One offline W&B run, as ``wandb leet inspect`` reads it from its folder."""

    folder: Path

    def _inspect(self, *flags: str) -> str:
        out = subprocess.run([wandb_cli(), "leet", "inspect", *flags, "--json", str(self.folder)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    @cached_property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._inspect().splitlines() if line.strip()]

    @cached_property
    def info(self) -> dict[str, Any]:
        """state, exit_code, config, summary, name, run_id."""
        return json.loads(self._inspect("--summary"))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r[kind] for r in self.records if r["type"] == kind]

    @property
    def run(self) -> dict[str, Any]:
        """The run record: run_id, run_group, job_type, display_name, tags, project."""
        return only(self.of_type("run"))

    @property
    def history(self) -> list[dict[str, Any]]:
        return [h["item"] for h in self.of_type("history")]

    def rows_with(self, key: str) -> list[dict[str, Any]]:
        return [row for row in self.history if key in row]


def wandb_runs(run_dir: Path) -> list[WandbRun]:
    return [WandbRun(p) for p in sorted((run_dir / "wandb").glob("offline-run-*"))]


def read_all(runs: list[WandbRun]) -> None:
    """Run the inspect subprocesses of several runs at once."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda r: (r.records, r.info), runs))


# --- what a run's W&B data must match -----------------------------------------------------------

def check_matches_local_files(run: WandbRun, run_dir: Path, each_episode: bool = False) -> None:
    """The W&B history holds exactly this run's data: nothing missing, nothing from another job.

    One point per window of ``logger.log_interval`` updates (as the run was configured), at its
    last env step: the mean of each
    update metric, and the mean return and length of the episodes that ended in the window
    (``episode_points=window``); or one point per episode (``episode_points=each``).
    """
    from a2c_lab.runs.wandb_names import run_id

    assert run.run["run_id"] == run_id(run_dir)
    assert run.folder.name.endswith(run_id(run_dir))
    history = run.history
    assert history and all(m.ENV_STEP in row for row in history)

    episodes = read_csv(run_dir / m.EPISODES_FILE)
    updates = read_csv(run_dir / m.UPDATES_FILE)
    log_interval = OmegaConf.load(run_dir / ".hydra" / "config.yaml").logger.log_interval
    points = run.rows_with(m.POLICY_LOSS)
    windows = [updates[i:i + log_interval] for i in range(0, len(updates), log_interval)]
    assert len(points) == len(windows) == math.ceil(len(updates) / log_interval)
    start = -math.inf
    for point, window in zip(points, windows):
        end = window[-1][m.ENV_STEP]
        assert point[m.ENV_STEP] == end and point[m.WALL_TIME] == window[-1][m.WALL_TIME]
        for key in m.UPDATE_COLUMNS:
            if key not in (m.ENV_STEP, m.WALL_TIME):  # every other metric is the window's mean
                assert point[key] == pytest.approx(sum(u[key] for u in window) / len(window), rel=1e-9)
        ended = [e for e in episodes if start < e[m.ENV_STEP] <= end]
        if ended and not each_episode:
            for key in (m.EPISODE_RETURN, m.EPISODE_LENGTH):
                assert point[key] == pytest.approx(sum(e[key] for e in ended) / len(ended), rel=1e-9)
        else:
            assert m.EPISODE_RETURN not in point
        start = end
    assert episodes and episodes[-1][m.ENV_STEP] <= start  # every episode is in some window

    logged = [(r[m.ENV_STEP], r[m.EPISODE_RETURN], r[m.EPISODE_LENGTH]) for r in run.rows_with(m.EPISODE_RETURN)
              if m.POLICY_LOSS not in r]
    expected = [(e[m.ENV_STEP], e[m.EPISODE_RETURN], e[m.EPISODE_LENGTH]) for e in episodes]
    assert logged == (expected if each_episode else [])

    evals = read_csv(run_dir / m.EVAL_FILE)
    assert [r[m.EVAL_RETURN_MEAN] for r in run.rows_with(m.EVAL_RETURN_MEAN)] == [e[m.EVAL_RETURN_MEAN] for e in evals]


def check_finished(run: WandbRun, run_dir: Path) -> None:
    assert run.info["state"] == "finished" and run.info["exit_code"] == 0
    assert read_json(run_dir / m.STATUS_FILE)["status"] == "finished"
    local = read_json(run_dir / m.SUMMARY_FILE)
    for key in m.SUMMARY_KEYS:
        if local[key] is not None:
            assert run.info["summary"][key] == pytest.approx(local[key]), key


def check_failed(run: WandbRun, run_dir: Path, message: str) -> None:
    assert run.info["state"] == "failed" and run.info["exit_code"] != 0
    assert message in run.info["summary"]["error"]
    status = read_json(run_dir / m.STATUS_FILE)
    assert status["status"] == "failed" and message in status["reason"]
    assert read_csv(run_dir / m.EPISODES_FILE) and read_csv(run_dir / m.UPDATES_FILE)  # rows up to the crash
