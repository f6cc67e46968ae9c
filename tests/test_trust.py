"""What a run records about itself is true (issue 9): divergence, signals, one run per folder,
full disks and config errors, each checked where the user sees it: the exit code, the message,
status.json, the W&B run's state and the files that survive.

Most checks here start whole a2c-lab processes (a signal, SIGKILL, a full disk, W&B), seconds
each: those marked ``slow`` run in the full suite (CI runs it). The fast tier keeps divergence
in process, SIGKILL (one killed run, shared with tests/test_trainer.py), one config error and a
Hydra error from the command line."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from a2c_lab.runs import metrics as m
from a2c_lab.runs.outcomes import Diverged
from a2c_lab.runs.run_folder import RUN_CONFIG_FILE, read_status
from a2c_lab.training.trainer import train

try:
    from wandb_files import LAUNCHERS, a2c, job_env, only, read_all, read_csv, read_json, wandb_runs
except ImportError:  # tests/ imported as a package
    from tests.wandb_files import LAUNCHERS, a2c, job_env, only, read_all, read_csv, read_json, wandb_runs

REPO = Path(__file__).resolve().parents[1]
FOREVER = "total_steps=1000000000"
QUIET = ["eval.interval=0", "progress=false"]


def start(*args: str, cwd: Path) -> subprocess.Popen:
    """a2c-lab in its own process group (so a signal to the group never reaches pytest)."""
    return subprocess.Popen([sys.executable, "-m", "a2c_lab.run", *args], cwd=cwd, env=job_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_updates(run_dir: Path, rows: int = 3, timeout: float = 120) -> None:
    path = run_dir / m.UPDATES_FILE
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.read_text().count("\n") > rows:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {rows} updates in {run_dir} after {timeout} s")


def all_finite_rows(path: Path) -> list[dict[str, float]]:
    rows = read_csv(path)
    assert all(math.isfinite(v) for row in rows for k, v in row.items() if k != m.EXPLAINED_VARIANCE)
    return rows


# --- divergence -------------------------------------------------------------------------------

def test_divergence_stops_at_the_bad_update_and_keeps_the_good_ones(tmp_path, fast_cfg):
    with pytest.raises(Diverged) as err:
        train(fast_cfg("agent.lr=1e20", "total_steps=4000"), run_dir=tmp_path)
    status = read_json(tmp_path / m.STATUS_FILE)
    assert status["status"] == "diverged"
    bad = err.value.update
    assert bad is not None and bad >= 1 and f"at update {bad} (env step {err.value.env_step})" in status["reason"]
    assert status["update"] == bad - 1  # the last good update
    updates = all_finite_rows(tmp_path / m.UPDATES_FILE)  # nothing non-finite reached the files
    assert len(updates) == bad - 1 and updates[-1][m.ENV_STEP] == status["env_step"]
    assert not (tmp_path / m.MODEL_FILE).exists()
    # The performance reached before it diverged is a result: the summary is computed up to there.
    summary = read_json(tmp_path / m.SUMMARY_FILE)
    episodes = read_csv(tmp_path / m.EPISODES_FILE)
    assert summary[m.EPISODES] == len(episodes) and summary[m.TOTAL_ENV_STEPS] == status["env_step"]
    if episodes:
        last = [e[m.EPISODE_RETURN] for e in episodes[-100:]]
        assert summary[m.LAST100_RETURN] == pytest.approx(sum(last) / len(last))


@pytest.mark.slow  # a W&B run in a subprocess; the fast tier checks divergence in process (above)
def test_divergence_from_the_command_line(tmp_path):
    """Exit code 3, one message naming the update, and the W&B run failed with that code."""
    run_dir = tmp_path / "run"
    out = a2c("agent.lr=1e20", "total_steps=4000", *QUIET, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert re.search(r"diverged at update \d+ \(env step \d+\)", out.stderr) and "Traceback" not in out.stderr
    assert read_json(run_dir / m.STATUS_FILE)["status"] == "diverged"
    run = only(wandb_runs(run_dir))
    read_all([run])
    assert run.info["state"] == "failed" and run.info["exit_code"] == 3
    assert run.info["summary"]["status"] == "diverged" and "diverged at update" in run.info["summary"]["error"]


# --- signals ----------------------------------------------------------------------------------

@pytest.mark.slow  # three runs with W&B
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_marks_the_run_interrupted(tmp_path, sig):
    run_dir = tmp_path / "run"
    proc = start(FOREVER, *QUIET, "logger.log_interval=5", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    wait_for_updates(run_dir, rows=20)
    os.kill(proc.pid, sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, stderr
    assert f"interrupted by {sig.name}" in stderr and "Traceback" not in stderr
    status = read_json(run_dir / m.STATUS_FILE)
    assert status["status"] == "interrupted" and status["signal"] == sig.name
    updates = all_finite_rows(run_dir / m.UPDATES_FILE)
    assert status["update"] >= len(updates) - 1 and status["env_step"] > 0
    assert not (run_dir / m.SUMMARY_FILE).exists() and not read_status(run_dir).live
    run = only(wandb_runs(run_dir))
    read_all([run])
    assert run.info["state"] == "failed" and run.info["exit_code"] == 128 + sig
    assert run.info["summary"]["status"] == "interrupted"


SWEEPS = {**LAUNCHERS, "basic sweeper": ["hydra/sweeper=basic"]}  # the others group seeds (the default)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["group", "parent"])
@pytest.mark.parametrize("launcher", list(SWEEPS))
def test_a_signal_stops_a_sweep_under_every_launcher(tmp_path, launcher, target):
    """SIGTERM to the process group (a terminal, SLURM) or to the launching process alone
    (``kill PID``, ``timeout``): every job that had started says interrupted, its W&B run is
    failed with exit code 143, and the sweep exits with 143. Grouped (the default), both seeds
    train at once: in one group job (basic, submitit_local) or in two (joblib, 2 slots). With
    ``hydra/sweeper=basic`` and the basic launcher, one job at a time."""
    sweep = tmp_path / "sweep"
    proc = start("-m", "seed=0,1", FOREVER, *QUIET, "logger.log_interval=5", *SWEEPS[launcher],
                 f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    running = [sweep / "0"] if launcher == "basic sweeper" else [sweep / "0", sweep / "1"]
    for run_dir in running:
        wait_for_updates(run_dir, rows=10, timeout=180)
    if target == "group":
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    if launcher == "basic sweeper":
        assert not (sweep / "1").exists()  # the sweep stopped: the second job never started
    for run_dir in running:
        status = read_json(run_dir / m.STATUS_FILE)
        assert status["status"] == "interrupted" and status["signal"] == "SIGTERM", (run_dir, status)
        assert not read_status(run_dir).live
        all_finite_rows(run_dir / m.UPDATES_FILE)
    runs = [only(wandb_runs(run_dir)) for run_dir in running]
    read_all(runs)
    for run in runs:
        assert run.info["state"] == "failed" and run.info["exit_code"] == 143, run.info


# --- one run per folder -----------------------------------------------------------------------

@pytest.mark.slow  # four commands, two of them W&B runs
def test_one_folder_holds_one_run(tmp_path):
    run_dir = tmp_path / "reuse"
    first = a2c("seed=0", "total_steps=400", *QUIET, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    updates = (run_dir / m.UPDATES_FILE).read_bytes()

    # A config error in a folder that holds a run: refused, and the run's record is untouched,
    # although Hydra has already rewritten .hydra/config.yaml with the refused command's config.
    refused = a2c("seed=7", "gamma=1.5", *QUIET, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert refused.returncode == 2 and "invalid config: gamma=1.5; allowed: (0, 1]" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert OmegaConf.load(run_dir / ".hydra" / "config.yaml").seed == 7  # Hydra's copy is not to be trusted
    assert OmegaConf.load(run_dir / RUN_CONFIG_FILE).seed == 0  # the run's own record is
    assert read_json(run_dir / m.STATUS_FILE)["status"] == "finished"

    # A valid second run: refused with what to do; nothing of the first run changes.
    second = a2c("seed=7", "total_steps=400", *QUIET, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert second.returncode == 2 and "already holds a run" in second.stderr and "overwrite=true" in second.stderr
    assert (run_dir / m.UPDATES_FILE).read_bytes() == updates
    assert OmegaConf.load(run_dir / RUN_CONFIG_FILE).seed == 0
    assert len(wandb_runs(run_dir)) == 1

    # overwrite=true: the old run goes, W&B's folder with it (its id is a hash of the path).
    third = a2c("seed=7", "total_steps=400", "overwrite=true", *QUIET, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert OmegaConf.load(run_dir / RUN_CONFIG_FILE).seed == 7
    assert read_json(run_dir / m.STATUS_FILE)["status"] == "finished"
    run = only(wandb_runs(run_dir))
    read_all([run])
    assert run.info["config"]["seed"] == 7


@pytest.mark.slow  # a run and a second command while it lives, then SIGTERM
def test_a_live_run_keeps_its_folder(tmp_path):
    run_dir = tmp_path / "live"
    proc = start(FOREVER, *QUIET, "logger=none", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    try:
        wait_for_updates(run_dir)
        assert read_status(run_dir).live
        out = a2c("overwrite=true", "logger=none", *QUIET, f"hydra.run.dir={run_dir}", cwd=tmp_path)
        assert out.returncode == 2 and "in use by a live run" in out.stderr and str(proc.pid) in out.stderr
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=120)
    assert read_json(run_dir / m.STATUS_FILE)["status"] == "interrupted"


def test_sigkill_leaves_a_dead_run_that_says_so(killed_run):
    """A run killed by SIGKILL part-way (the session's ``killed_run``, tests/conftest.py)."""
    status = read_status(killed_run)
    assert status.status == "running" and not status.live and status.dead
    assert "killed" in status.describe()


@pytest.mark.slow  # two whole runs from the command line
def test_default_folders_are_unique_to_the_microsecond(tmp_path):
    for _ in range(2):
        out = a2c("total_steps=40", "logger=none", *QUIET, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    folders = sorted(p.name for p in (tmp_path / "runs" / "single").iterdir())
    assert len(folders) == 2
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_\d{6}_default", f) for f in folders), folders


# --- a full disk --------------------------------------------------------------------------------

@pytest.mark.slow  # a whole process under ulimit -f
def test_a_full_disk_still_leaves_a_true_status(tmp_path):
    """``ulimit -f`` stops every file at 100 KiB part-way: the run says failed and why."""
    run_dir = tmp_path / "full"
    command = (f"ulimit -f 100; exec {sys.executable} -m a2c_lab.run {FOREVER} logger=none eval.interval=0 "
               f"progress=false envs=single hydra.run.dir={run_dir}")
    out = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=job_env(), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 1
    status = read_json(run_dir / m.STATUS_FILE)
    assert status["status"] == "failed" and "File too large" in status["reason"], status
    assert (run_dir / m.UPDATES_FILE).stat().st_size > 50_000


# --- config errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("override,message", [
    ("gamma=1.5", "invalid config: gamma=1.5; allowed: (0, 1]"),
    # a process each: the fast tier keeps one (tests/test_config.py checks every refusal in process)
    pytest.param("seed=-1", "invalid config: seed=-1; allowed: an integer in [0, 2**32 - 1]", marks=pytest.mark.slow),
    pytest.param("agent.ent_coef=inf", "invalid config: agent.ent_coef=inf", marks=pytest.mark.slow),
])
def test_a_config_error_is_one_message_and_exit_code_2(tmp_path, override, message):
    run_dir = tmp_path / "run"
    out = a2c(override, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr, out.stderr
    status = read_json(run_dir / m.STATUS_FILE)
    assert status["status"] == "not_started" and message in status["reason"]
    assert not (run_dir / m.UPDATES_FILE).exists() and not (run_dir / "wandb").exists()


def test_hydra_composition_errors_keep_hydras_message(tmp_path):
    out = a2c("agent.lrr=1", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert out.returncode == 1 and "agent.lrr" in out.stderr
