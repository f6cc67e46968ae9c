"""W&B tracking end to end: real offline W&B runs, read back from the files W&B wrote.

Every run goes through the command line (``python -m a2c_lab.run``) in a subprocess with no
W&B variables set, then is read back from W&B's files (``tests/wandb_files.py``). Nothing is mocked, except one injected W&B failure in
``test_wandb_error_mid_run_keeps_local_files``.

The multirun tests (``slow``) sweep ``seed=0,1`` x ``task.id=CartPole-v1,A2cLabCrash-v0``
under the basic, joblib and submitit_local launchers; the crashing task and a probe that
records each job's process id come from ``tests/job_probe.py`` through a Hydra callback.

Each W&B process takes seconds: the whole-process runs are ``slow`` too (the full suite, which
CI runs); the fast tier keeps a real offline W&B run in process, read back from its files
(``test_wandb_error_mid_run_keeps_local_files``), and the parts that need no run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from a2c_lab.runs import metrics as m

try:
    from job_probe import CRASH_ID, PID_FILE
    from wandb_files import (LAUNCHERS, REPO, a2c, check_failed, check_finished, check_matches_local_files, job_env,
                             only, read_all, read_csv, read_json, wandb_runs)
except ImportError:  # tests/ imported as a package
    from tests.job_probe import CRASH_ID, PID_FILE
    from tests.wandb_files import (LAUNCHERS, REPO, a2c, check_failed, check_finished, check_matches_local_files,
                                   job_env, only, read_all, read_csv, read_json, wandb_runs)

# Seconds per job; 50 updates in windows of 7: several points and a partial last window.
QUICK = ["total_steps=2000", "eval.interval=0", "logger.log_interval=7"]
PROBE = "+hydra.callbacks.probe._target_=job_probe.JobProbe"
STAMPED = "${now:%Y-%m-%d_%H-%M-%S}_${experiment_name}"  # the default folder name (conf/config.yaml)
VARIANT = "shared-towers_tanh64-gae-vectorized-none"  # the default agent, network, advantage, envs, obs_norm (config.AXES)


# --- one run ------------------------------------------------------------------------------------

@pytest.mark.slow  # a W&B run in a subprocess
def test_single_run_offline(tmp_path):
    """Default logger: one offline run in the run folder, env_step x-axis, config and summary."""
    out = a2c("total_steps=2000", "eval.interval=1000", "logger.tags=[smoke]", f"hydra.run.dir={tmp_path}/runs/{STAMPED}",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    run_dir = only(list((tmp_path / "runs").iterdir()))
    run = only(wandb_runs(run_dir))
    read_all([run])

    check_finished(run, run_dir)
    check_matches_local_files(run, run_dir)
    # every chart against env_step
    metric_defs = run.of_type("metric")
    assert {"name": m.ENV_STEP, "options": {"defined": True}} in metric_defs
    assert any(d.get("glob_name") == "*" and d.get("step_metric") == m.ENV_STEP for d in metric_defs)
    keys = set().union(*run.history)
    assert set(m.EPISODE_COLUMNS + m.UPDATE_COLUMNS + m.EVAL_COLUMNS) <= keys
    # organisation: project, group from the folder's start time, variant, seed, tags
    record = run.run
    assert record["project"] == "a2c-lab"
    assert record["run_group"] == f"default-{run_dir.name.removesuffix('_default')}"
    assert record["job_type"] == VARIANT and record["display_name"] == f"{VARIANT}-seed0"
    assert {"shared", "gae", "vectorized", "towers_tanh64", "CartPole-v1", "smoke"} <= set(record["tags"])
    # config: the resolved config nested, the overrides, git and versions
    config = run.info["config"]
    assert config["agent"]["name"] == "shared" and config["network"]["actor"]["hidden"] == [64, 64]
    assert config["total_steps"] == 2000 and config["logger"]["mode"] == "offline"
    assert "total_steps=2000" in config["overrides"]
    local_meta = (run_dir / m.META_FILE).read_text()
    assert config["meta"]["git_commit"] and config["meta"]["git_commit"] in local_meta
    assert isinstance(config["meta"]["git_dirty"], bool)
    for package in ("python", "torch", "gymnasium", "a2c-lab"):
        assert package in config["meta"]["versions"]
    for package in ("python", "torch", "gymnasium"):
        assert config["meta"]["versions"][package]


@pytest.mark.slow  # a run in a fresh interpreter
def test_logger_none_writes_no_wandb_files(tmp_path):
    """logger=none: no W&B folder anywhere, W&B never imported, the local files complete."""
    script = textwrap.dedent(f"""
        import json, sys
        from hydra import compose, initialize_config_dir
        from a2c_lab.config import register_configs
        from a2c_lab.training.trainer import train
        register_configs()
        overrides = ["logger=none", "total_steps=2000", "eval.interval=1000"]
        with initialize_config_dir(config_dir={str(REPO / "conf")!r}, version_base="1.3"):
            cfg = compose("config", overrides=overrides)
        train(cfg, run_dir={str(tmp_path / "run")!r}, overrides=overrides)
        print(json.dumps({{"wandb_imported": "wandb" in sys.modules}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=job_env(),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"wandb_imported": False}
    assert not [p for p in tmp_path.rglob("*") if "wandb" in p.name]
    run_dir = tmp_path / "run"
    assert read_json(run_dir / m.STATUS_FILE)["status"] == "finished"
    assert read_csv(run_dir / m.EPISODES_FILE) and read_csv(run_dir / m.UPDATES_FILE) and read_csv(run_dir / m.EVAL_FILE)


@pytest.mark.slow  # a process each
@pytest.mark.parametrize("ask", ["config", "env"])
def test_online_without_credentials_fails_at_start(tmp_path, ask):
    """Online with no key, no .netrc and no W&B settings: a clear error before any training."""
    env = job_env(HOME=str(tmp_path), NETRC=str(tmp_path / "no-netrc"), WANDB_CONFIG_DIR=str(tmp_path / "wandb-config"))
    args = [f"hydra.run.dir={tmp_path}/run"]  # the default 200k steps: failing late would show
    if ask == "config":
        args.append("logger.mode=online")
    else:
        env["WANDB_MODE"] = "online"  # wins over logger.mode (offline by default)
    out = a2c(*args, cwd=tmp_path, env=env)
    assert out.returncode != 0
    for hint in ("WANDB_API_KEY", "wandb login", "logger.mode=offline", "logger=none"):
        assert hint in out.stderr, out.stderr
    assert read_csv(tmp_path / "run" / m.UPDATES_FILE) == []  # not one update
    assert read_json(tmp_path / "run" / m.STATUS_FILE)["status"] == "failed"


@pytest.mark.slow  # a W&B run in a subprocess
def test_crashed_run_is_marked_failed(tmp_path):
    """A run that raises mid-training: its W&B run failed with a non-zero exit code, its data kept.

    Also the one run here with ``logger.episode_points=each``: a W&B point per episode.
    """
    out = a2c(f"task.id={CRASH_ID}", *QUICK, "logger.episode_points=each", PROBE, f"hydra.run.dir={tmp_path}/run",
              cwd=tmp_path)
    assert out.returncode != 0 and "crashed on purpose" in out.stderr
    run_dir = tmp_path / "run"
    run = only(wandb_runs(run_dir))
    read_all([run])
    check_failed(run, run_dir, "crashed on purpose")
    check_matches_local_files(run, run_dir, each_episode=True)  # the partial window is flushed too


def test_wandb_error_mid_run_keeps_local_files(tmp_path, monkeypatch):
    """A W&B call that raises: the sink closes its run as failed, the Tracker goes on locally."""
    import numpy as np

    from a2c_lab.config import Config

    from a2c_lab.validation import validate
    from a2c_lab.runs.episode_stats import Episodes
    from a2c_lab.runs.tracking import LocalFiles, Tracker
    from a2c_lab.runs.wandb_sink import WandbSink

    monkeypatch.delenv("WANDB_MODE", raising=False)
    raw = OmegaConf.merge(OmegaConf.structured(Config), {"logger": {"log_interval": 2}})
    run_dir = tmp_path / "run"
    local = LocalFiles(run_dir)
    sink = WandbSink(validate(raw), raw, run_dir, {"overrides": []})
    tracker = Tracker(local, [sink])

    def broken(*args, **kwargs):
        raise OSError("W&B is broken")

    monkeypatch.setattr(sink.run, "log", broken)
    row = {key: 1.0 for key in m.UPDATE_COLUMNS}
    tracker.log_episodes(Episodes(np.array([100]), np.array([1.0]), np.array([9.0]), np.array([9])))
    for step in (40, 80, 120, 160, 200):  # every second update hands a window to W&B
        tracker.log_update({**row, m.ENV_STEP: step})
    tracker.finish({key: 0.0 for key in m.SUMMARY_KEYS})  # the error surfaces by now at the latest
    assert tracker.sinks == [local]  # dropped

    assert [u[m.ENV_STEP] for u in read_csv(run_dir / m.UPDATES_FILE)] == [40, 80, 120, 160, 200]
    assert read_csv(run_dir / m.EPISODES_FILE) == [{m.ENV_STEP: 100, m.WALL_TIME: 1.0, m.EPISODE_RETURN: 9.0,
                                                      m.EPISODE_LENGTH: 9}]
    assert read_json(run_dir / m.STATUS_FILE)["status"] == "finished"
    run = only(wandb_runs(run_dir))
    assert run.info["state"] == "failed" and "W&B is broken" in run.info["summary"]["error"]


# --- the parts of the scheme that need no W&B run -----------------------------------------------

def test_mode_from_environment_wins(monkeypatch):
    from a2c_lab.config import WandbMode
    from a2c_lab.runs.wandb_sink import WandbStartError, resolve_mode

    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert resolve_mode(WandbMode.offline) == "offline"
    monkeypatch.setenv("WANDB_MODE", "online")
    assert resolve_mode(WandbMode.offline) == "online"
    monkeypatch.setenv("WANDB_MODE", "dryrun")  # W&B's old name for offline
    assert resolve_mode(WandbMode.online) == "offline"
    monkeypatch.setenv("WANDB_MODE", "sometimes")
    with pytest.raises(WandbStartError, match="sometimes"):
        resolve_mode(WandbMode.offline)


def test_group_names_the_launch():

    from a2c_lab.config import Config

    from a2c_lab.validation import validate
    from a2c_lab.runs.wandb_names import group_name

    cfg = validate(OmegaConf.merge(OmegaConf.structured(Config), {"experiment_name": "abl"}))
    assert group_name(cfg, Path("runs/single/2026-01-02_03-04-05_abl")) == "abl-2026-01-02_03-04-05"
    assert group_name(cfg, Path("/tmp/my_sweep")) == "abl-my_sweep"  # no time stamp: the folder's name
    cfg.logger.group = "mine"
    assert group_name(cfg, Path("runs/single/2026-01-02_03-04-05_abl")) == "mine"


def test_run_id_is_stable_per_folder(tmp_path, monkeypatch):
    from a2c_lab.runs.wandb_names import run_id

    monkeypatch.chdir(tmp_path)
    assert run_id(Path("a/0")) == run_id(tmp_path / "a" / "0") != run_id(tmp_path / "a" / "1")


# --- multirun under each launcher ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_multirun_one_run_per_job(tmp_path, launcher):
    """Four jobs, two of them crashing: four W&B runs, one per job, grouped, none mixed.

    ``hydra/sweeper=basic``: one Hydra job per seed, so the process probe tells how each launcher
    runs jobs. Grouped seeds' W&B runs: ``tests/test_sweeper.py``.
    """
    out = a2c("-m", "hydra/sweeper=basic", "seed=0,1", f"task.id=CartPole-v1,{CRASH_ID}", *QUICK, PROBE, *LAUNCHERS[launcher],
              f"hydra.sweep.dir={tmp_path}/sweeps/{STAMPED}", cwd=tmp_path)
    assert out.returncode != 0 and "crashed on purpose" in out.stderr  # Hydra re-raises after the sweep
    sweep_dir = only(list((tmp_path / "sweeps").iterdir()))
    job_dirs = sorted((p for p in sweep_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    assert [p.name for p in job_dirs] == ["0", "1", "2", "3"]
    runs = [only(wandb_runs(job_dir)) for job_dir in job_dirs]  # exactly one W&B run per job
    read_all(runs)

    pids = [int((job_dir / PID_FILE).read_text()) for job_dir in job_dirs]
    if launcher == "basic":
        assert len(set(pids)) == 1  # all jobs in one process, one after the other
    elif launcher == "joblib":
        assert len(set(pids)) < len(pids)  # workers reused: some jobs shared a process
    else:
        assert len(set(pids)) == len(pids)  # submitit: a process per job

    groups = {run.run["run_group"] for run in runs}
    assert groups == {f"default-{sweep_dir.name.removesuffix('_default')}"}  # one group: the sweep
    assert len({run.run["run_id"] for run in runs}) == len(runs)
    for job_dir, run in zip(job_dirs, runs):
        task_id = run.info["config"]["task"]["id"]
        seed = run.info["config"]["seed"]
        job_cfg = (job_dir / ".hydra" / "config.yaml").read_text()
        assert f"id: {task_id}" in job_cfg and f"seed: {seed}" in job_cfg  # its own job's config
        assert run.run["job_type"] == VARIANT and run.run["display_name"] == f"{VARIANT}-seed{seed}"
        check_matches_local_files(run, job_dir)
        if task_id == CRASH_ID:
            check_failed(run, job_dir, "crashed on purpose")
        else:
            check_finished(run, job_dir)
    assert sorted(run.info["config"]["task"]["id"] for run in runs) == sorted(["CartPole-v1", CRASH_ID] * 2)
