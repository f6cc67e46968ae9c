"""Runs that resume where they stopped (issue 11): per-seed checkpoints, exactly-once metric files,
refusals, skipped finished runs, regrouped sweeps and submitit's preemption.

The checkpoint tests run in process (the fast tier); the runs from the command line (stopped by
a signal, started again, refused) take seconds each: ``slow``, run by the full suite (CI runs it)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from a2c_lab.runs import checkpoint
from a2c_lab.runs import metrics as m
from a2c_lab.runs.run_folder import read_status
from a2c_lab.training.trainer import train, train_group

try:
    from test_wandb_tracking import a2c, job_env, read_csv, read_json, wandb_runs
except ImportError:  # tests/ imported as a package
    from tests.test_wandb_tracking import a2c, job_env, read_csv, read_json, wandb_runs

QUIET = ["progress=false", "eval.interval=2000", "eval.episodes=2"]


def start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "a2c_lab.run", *args], cwd=cwd, env=env or job_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def rows(path: Path) -> int:
    return path.read_text().count("\n") - 1 if path.exists() else 0


def wait_until(condition, timeout: float = 180, what: str = "") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def past_a_checkpoint(run_dir: Path, beyond: int = 30) -> bool:
    """A checkpoint exists and the run has logged ``beyond`` updates after it."""
    path = run_dir / checkpoint.CHECKPOINT_FILE
    if not path.exists():
        return False
    try:
        update = checkpoint.load(run_dir)["update"]
    except Exception:  # noqa: BLE001 - being replaced right now
        return False
    return rows(run_dir / m.UPDATES_FILE) > update + beyond


def check_continuous(run_dir: Path, total_steps: int) -> list[dict[str, float]]:
    """Finished, and every metric file exactly once: env steps strictly increasing, no update
    written twice, the end at or past total_steps."""
    status = read_json(run_dir / m.STATUS_FILE)
    assert status["status"] == "finished", status
    updates = read_csv(run_dir / m.UPDATES_FILE)
    steps = np.array([u[m.ENV_STEP] for u in updates])
    assert (np.diff(steps) > 0).all() and steps[-1] >= total_steps and steps[-2] < total_steps
    assert status["update"] == len(updates) and status["env_step"] == steps[-1]
    walls = np.array([u[m.WALL_TIME] for u in updates])
    assert (np.diff(walls) > 0).all()  # the wall clock continues across segments
    episodes = np.array([e[m.ENV_STEP] for e in read_csv(run_dir / m.EPISODES_FILE)])
    assert (np.diff(episodes) >= 0).all() and episodes[-1] <= steps[-1]
    evals = np.array([e[m.ENV_STEP] for e in read_csv(run_dir / m.EVAL_FILE)])
    assert (np.diff(evals) > 0).all()
    summary = read_json(run_dir / m.SUMMARY_FILE)
    assert summary[m.EPISODES] == len(episodes) and summary[m.TOTAL_ENV_STEPS] == steps[-1]
    return updates


# --- the checkpoint file --------------------------------------------------------------------------

def test_checkpoints_are_data_and_a_corrupt_latest_falls_back(tmp_path, fast_cfg, caplog):
    cfg = fast_cfg("total_steps=2000", "checkpoint.interval=400")
    train(cfg, tmp_path)
    latest = torch.load(tmp_path / checkpoint.CHECKPOINT_FILE, weights_only=True)  # plain data
    previous = torch.load(tmp_path / checkpoint.PREVIOUS_FILE, weights_only=True)
    status = read_json(tmp_path / m.STATUS_FILE)
    assert latest["update"] == status["update"] and latest["env_step"] == status["env_step"]  # the end
    assert previous["update"] == 50 and latest["segment"] == 0  # every 400 env steps = 10 updates of 40
    assert latest["params"][0].shape == (4, 64)  # one seed's slice: [in, out] of the first layer
    adam = latest["optimizers"][0][0]
    assert adam["exp_avg"].shape == (4, 64) and float(adam["step"]) == latest["update"]
    assert latest["rng"]["bit_generator"] == "PCG64"
    (tmp_path / checkpoint.CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with caplog.at_level(logging.WARNING):
        state = checkpoint.load(tmp_path)
    assert state["update"] == 50
    assert str(tmp_path / checkpoint.CHECKPOINT_FILE) in caplog.text
    (tmp_path / checkpoint.PREVIOUS_FILE).write_bytes(b"")
    with pytest.raises(checkpoint.CheckpointError, match="checkpoint.prev.pt"):
        checkpoint.load(tmp_path)


def test_a_restored_group_continues_exactly(tmp_path, fast_cfg):
    """Saving and restoring every seed's slice gives back the same weights, optimizer state and
    acting stream: the next actions and update are those of the run that never stopped."""
    from a2c_lab.training.agents import A2C
    from a2c_lab.validation import validate
    from a2c_lab.training.networks import ActorCritic

    cfg = validate(fast_cfg("agent.optimizer=rmsprop"))

    def build():
        model = ActorCritic(4, 2, cfg.network, init_seeds=[1, 2, 3])
        return A2C(model, cfg.agent, acting_streams=[np.random.SeedSequence(s) for s in (1, 2, 3)])

    agent = build()
    for p in agent.model.parameters():  # a step, so the optimizers have state
        p.grad = torch.randn_like(p)
    agent.optimizers[0].step()
    agent.rngs[1].random(7)
    states = [checkpoint.seed_state(agent, s, env_step=10, update=1, wall_time=1.0, next_eval=None, segment=0)
              for s in range(3)]
    for s, state in enumerate(states):
        checkpoint.save(tmp_path / str(s), state) if (tmp_path / str(s)).mkdir() is None else None
    other = build()
    checkpoint.restore(other, [checkpoint.load(tmp_path / str(s)) for s in range(3)])
    for a, b in zip(agent.model.parameters(), other.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        for key in ("square_avg", "step"):
            torch.testing.assert_close(agent.optimizers[0].state[a][key], other.optimizers[0].state[b][key])
    obs = np.zeros((3, 8, 4), dtype=np.float32)
    np.testing.assert_array_equal(agent.sampler(5, 8)(obs), other.sampler(5, 8)(obs))


# --- resuming from the command line -----------------------------------------------------------------

@pytest.mark.slow  # SIGKILL, then a 60k-step run with W&B
def test_a_killed_run_started_again_resumes_exactly_once(tmp_path):
    """SIGKILL part-way, then the same command: it resumes from its checkpoint and ends with
    continuous metrics; W&B has two offline segments of one run id."""
    run_dir = tmp_path / "run"
    args = ["total_steps=60000", "checkpoint.interval=4000", *QUIET, f"hydra.run.dir={run_dir}"]
    proc = start(*args, cwd=tmp_path)
    wait_until(lambda: past_a_checkpoint(run_dir), what="a checkpoint and 30 updates after it")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert read_status(run_dir).dead
    dead_rows = rows(run_dir / m.UPDATES_FILE)
    resumed_from = checkpoint.load(run_dir)["update"]
    assert dead_rows > resumed_from

    out = a2c(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    updates = check_continuous(run_dir, 60000)
    meta = read_json(run_dir / m.META_FILE)
    assert meta["segment"] == 1 and meta["resumed_from"]["update"] == resumed_from
    # the first segment's rows up to the checkpoint are kept as they were
    assert len(updates) > resumed_from
    segments = wandb_runs(run_dir)
    assert len(segments) == 2 and len({p.folder.name.rsplit("-", 1)[1] for p in segments}) == 1


@pytest.mark.slow  # four commands, a process each
def test_finished_runs_are_skipped_and_another_config_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    args = ["total_steps=800", "logger=none", *QUIET, f"hydra.run.dir={run_dir}"]
    assert a2c(*args, cwd=tmp_path).returncode == 0
    files = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file() and p.suffix not in (".lock", ".log")}

    again = a2c(*args, "logger.log_interval=3", "checkpoint.interval=0", cwd=tmp_path)  # bookkeeping may differ
    assert again.returncode == 0, again.stderr
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file() and p.suffix not in (".lock", ".log")} == files

    changed = a2c(*args, "gamma=0.9", "agent.lr=0.001", cwd=tmp_path)
    assert changed.returncode == 2 and "Traceback" not in changed.stderr
    assert "gamma: 0.99 -> 0.9" in changed.stderr and "agent.lr: 0.0007 -> 0.001" in changed.stderr
    never = a2c(*args, "resume=never", cwd=tmp_path)
    assert never.returncode == 2 and "already holds a run" in never.stderr
    assert OmegaConf.load(run_dir / "run_config.yaml").gamma == 0.99
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file() and p.suffix not in (".lock", ".log")} == files


@pytest.mark.slow  # two runs stopped by SIGTERM, a process each; the fast tier: the checkpoint tests above
def test_seeds_stopped_at_different_updates_resume_as_one_group(tmp_path, fast_cfg):
    """Two runs stopped by SIGTERM at different points (a checkpoint at the signal: nothing logged
    after it), then resumed together: two sub-groups, one after the other, both continuous."""
    dirs = [tmp_path / "a", tmp_path / "b"]
    common = ["total_steps=20000", "checkpoint.interval=0", "logger=none", *QUIET]
    for seed, (run_dir, after) in enumerate(zip(dirs, (20, 120))):
        proc = start(f"seed={seed}", *common, f"hydra.run.dir={run_dir}", cwd=tmp_path)
        wait_until(lambda: rows(run_dir / m.UPDATES_FILE) > after, what=f"{after} updates")
        os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
        state = checkpoint.load(run_dir)
        assert read_json(run_dir / m.STATUS_FILE)["status"] == "interrupted"
        assert rows(run_dir / m.UPDATES_FILE) == state["update"]  # the signal's checkpoint: the last row
    updates = [checkpoint.load(d)["update"] for d in dirs]
    assert updates[0] != updates[1]
    results = train_group(fast_cfg(*common), [0, 1], dirs)
    for run_dir, result in zip(dirs, results):
        check_continuous(run_dir, 20000)
        assert result == read_json(run_dir / m.SUMMARY_FILE)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]],
                         ids=["basic", "joblib"])
def test_a_killed_grouped_sweep_resumes_with_another_group_size(tmp_path, launcher):
    """Killed as one group of 4 (SIGKILL), run again into its sweep folder as two groups of 2
    (under the basic launcher one after the other, under joblib side by side)."""
    sweep = tmp_path / "sweep"
    args = ["-m", "seed=0,1,2,3", "total_steps=30000", "checkpoint.interval=4000", "logger=none", *QUIET,
            f"hydra.sweep.dir={sweep}"]
    proc = start(*args, "hydra.sweeper.group_size=4", cwd=tmp_path)
    wait_until(lambda: past_a_checkpoint(sweep / "3", beyond=20), what="the group's checkpoint")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert all(read_status(sweep / str(j)).dead for j in range(4))
    out = a2c(*args, "hydra.sweeper.group_size=2", *launcher, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    for job in range(4):
        check_continuous(sweep / str(job), 30000)
        assert read_json(sweep / str(job) / m.META_FILE)["segment"] == 1
    plan = OmegaConf.load(sweep / "sweep_plan.yaml")
    assert len(plan.groups) == 2
    summary = out.stdout.splitlines()
    assert f"  {'finished':<14}{4:>4}  0-3" in summary
    assert f"  {'resumed':<14}{4:>4}  0-3  (after: killed 4)" in summary  # the sweep's end counts them


# --- launcher presets ---------------------------------------------------------------------------

@pytest.mark.parametrize("preset,target,keys", [
    ("local", "JoblibLauncher", {"n_jobs": -1}),
    ("slurm", "SlurmLauncher", {"timeout_min": 240, "cpus_per_task": 2, "mem_gb": 8, "array_parallelism": 64,
                                "max_num_timeout": 20}),
    ("slurm_local", "LocalLauncher", {"timeout_min": 60, "cpus_per_task": 1}),
])
def test_launcher_presets_compose(preset, target, keys):
    from hydra import compose, initialize_config_dir

    from conftest import CONF_DIR

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"hydra/launcher={preset}"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith(target)
    for key, value in keys.items():
        assert launcher[key] == value, key
    if preset == "slurm":
        assert launcher.partition is None  # named in the preset for the user to set (``???`` cannot override a default)


@pytest.mark.slow
def test_submitit_preemption_checkpoints_and_requeues(tmp_path):
    """A real SIGUSR2 to the submitit_local task part-way: the run checkpoints, says preempted,
    its W&B segment fails with 128 + 12, submitit requeues the task, and it resumes and finishes
    with every update exactly once."""
    sweep = tmp_path / "sweep"
    proc = start("-m", "seed=0", "total_steps=40000", "checkpoint.interval=0", *QUIET, "hydra/launcher=slurm_local",
                 f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    run_dir = sweep / "0"
    wait_until(lambda: rows(run_dir / m.UPDATES_FILE) > 100, timeout=240, what="100 updates")
    task_pid = read_json(run_dir / m.STATUS_FILE)["pid"]
    os.kill(task_pid, signal.SIGUSR2)
    wait_until(lambda: (run_dir / checkpoint.CHECKPOINT_FILE).exists(), what="the preemption checkpoint")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, (stdout[-2000:], stderr[-3000:])
    check_continuous(run_dir, 40000)
    assert read_json(run_dir / m.META_FILE)["segment"] == 1
    assert f"  {'resumed':<14}{1:>4}  0  (after: preempted 1)" in stdout.splitlines()
    first, second = wandb_runs(run_dir)
    assert first.info["state"] == "failed" and first.info["exit_code"] == 128 + signal.SIGUSR2
    assert first.info["summary"]["status"] == "preempted"
    assert second.info["state"] == "finished"
