"""The grouping sweeper (``a2c_lab.sweeps.sweeper``, Hydra plugin in ``hydra_plugins/a2c_lab_sweeper``)
and the group job (``a2c_lab.sweeps.groups``).

Real multiruns through ``python -m a2c_lab.run -m`` in subprocesses, compared with what
``hydra/sweeper=basic`` writes for the same command. Each takes seconds: the fast tier keeps a
sweep the sweeper refuses before any job starts and a hand-written group of two seeds from the
command line; the sweeps themselves (against the basic sweeper's folders, under every launcher,
from an installed copy, with W&B, with a crash, in the default folder) are ``slow``: the full
suite, which CI runs. The sweeper's pure functions (group sizes, grouping, the override
contract, the summary) are tested in ``tests/test_sweeper_plan.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from a2c_lab.runs import metrics as M

try:
    from job_probe import CRASH_SECOND_ID
    from wandb_files import LAUNCHERS, check_finished, only, read_all, wandb_runs
except ImportError:  # tests/ imported as a package
    from tests.job_probe import CRASH_SECOND_ID
    from tests.wandb_files import LAUNCHERS, check_finished, only, read_all, wandb_runs

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
SMALL = ["total_steps=400", "logger=none", "eval.interval=0", "progress=false"]  # about a second a seed
SWEEP = ["agent=shared,split", "seed=0,1,2"]
PROBE = "+hydra.callbacks.probe._target_=job_probe.JobProbe"


def job_env(pythonpath: list[Path] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (pythonpath or [REPO, TESTS]))
    return env


def a2c(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "a2c_lab.run", *args], cwd=cwd, env=job_env(),
                          capture_output=True, text=True, timeout=timeout)


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def summary_lines(stdout: str) -> list[str]:
    start = stdout.index("Sweep summary:")
    return stdout[start:].splitlines()


# --- real sweeps ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def basic_sweep(tmp_path_factory) -> Path:
    """The reference: the same command under hydra/sweeper=basic (one job per seed)."""
    tmp = tmp_path_factory.mktemp("basic")
    out = a2c("-m", "hydra/sweeper=basic", *SWEEP, *SMALL, f"hydra.sweep.dir={tmp}/sweep", cwd=tmp)
    assert out.returncode == 0, out.stderr
    return tmp / "sweep"


@pytest.mark.slow  # two sweeps of six jobs (this one and the basic sweeper's), a process each
@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_grouped_sweep_writes_the_run_folders_basic_writes(tmp_path, basic_sweep, launcher):
    sweep = tmp_path / "sweep"
    out = a2c("-m", *SWEEP, *SMALL, *LAUNCHERS[launcher], f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr

    # what the user sees at the end
    lines = summary_lines(out.stdout)
    assert lines[0] == f"Sweep summary: 6 jobs in 2 groups; run folders under {sweep}/ (plan: sweep_plan.yaml)"
    assert lines[1].split() == ["finished", "6", "0-5"]
    assert [line.split()[-1] for line in lines[2:6]] == ["0"] * 4  # diverged ... never started: none
    assert lines[-1] == "Exit code 0: every job finished."
    assert (sweep / "sweep_summary.txt").read_text().splitlines() == lines

    # each seed's folder is the one the basic sweeper gives, with the same files and config
    assert sorted(p.name for p in sweep.iterdir()) == sorted(
        [".groups", "multirun.yaml", "sweep_plan.yaml", "sweep_summary.txt"] + [str(n) for n in range(6)])
    for n in range(6):
        job, ref = sweep / str(n), basic_sweep / str(n)
        assert files(job) == files(ref)
        for name in ("config.yaml", "overrides.yaml"):
            assert (job / ".hydra" / name).read_text() == (ref / ".hydra" / name).read_text(), (n, name)
        assert json.loads((job / M.STATUS_FILE).read_text())["status"] == "finished"
        meta = json.loads((job / M.META_FILE).read_text())
        assert meta["overrides"] == json.loads((ref / M.META_FILE).read_text())["overrides"]
        assert meta["group"]["folder"] == str(sweep / ".groups" / str(n // 3))
        assert meta["group"]["jobs"] == [n // 3 * 3 + i for i in range(3)] and meta["group"]["seeds"] == [0, 1, 2]

    # the group jobs live in .groups/, apart from the run folders
    assert sorted(p.name for p in (sweep / ".groups").iterdir()) == ["0", "1"]
    for g, agent in enumerate(["shared", "split"]):
        group_cfg = OmegaConf.load(sweep / ".groups" / str(g) / ".hydra" / "config.yaml")
        assert group_cfg.agent.name == agent and list(group_cfg.seeds) == [0, 1, 2]
        assert list(group_cfg.group.run_dirs) == [str(sweep / str(g * 3 + i)) for i in range(3)]
        assert not (files(sweep / ".groups" / str(g)) & {M.STATUS_FILE, M.EPISODES_FILE, M.META_FILE})

    plan = yaml.safe_load((sweep / "sweep_plan.yaml").read_text())
    assert plan["launcher_slots"] == (2 if launcher == "joblib" else 1)
    assert [(j["job"], j["seed"], j["group"], j["run_dir"]) for j in plan["jobs"]] == [
        (n, n % 3, n // 3, str(sweep / str(n))) for n in range(6)]
    assert [j["overrides"] for j in plan["jobs"]] == [
        OmegaConf.load(basic_sweep / str(n) / ".hydra" / "overrides.yaml") for n in range(6)]
    assert [g["jobs"] for g in plan["groups"]] == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.slow  # a whole sweep; the fast tier: tests/test_groups.py's crash in a group, in process
def test_a_crash_in_a_group_marks_every_seed(tmp_path):
    """Three seeds in one group; the second one's env crashes mid-run. The seeds train as one
    computation in one process, so the crash stops the group and every unfinished seed's folder
    says so (a seed that diverges, by contrast, is frozen alone: tests/test_groups.py)."""
    sweep = tmp_path / "sweep"
    out = a2c("-m", "seed=0,1,2", f"task.id={CRASH_SECOND_ID}", "envs=single", *SMALL, PROBE,
              f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert out.returncode == 1
    lines = summary_lines(out.stdout)
    assert lines[0].startswith("Sweep summary: 3 jobs in 1 group;")
    assert lines[1].split() == ["finished", "0"]
    failed = lines.index(next(line for line in lines if line.startswith("  failed")))
    assert lines[failed].split() == ["failed", "3", "0-2"]
    for n in range(3):
        assert lines[failed + 1 + n] == f"      {n} (seed {n}): RuntimeError: {CRASH_SECOND_ID} crashed on purpose after 100 steps"
    assert lines[-1] == "Exit code 1: 3 of 3 jobs did not finish."
    for n in range(3):
        status = json.loads((sweep / str(n) / M.STATUS_FILE).read_text())
        assert status["status"] == "failed" and "crashed on purpose" in status["reason"]
        assert not (sweep / str(n) / M.MODEL_FILE).exists()


def test_a_bad_value_fails_the_sweep_before_any_job_starts(tmp_path):
    sweep = tmp_path / "sweep"
    out = a2c("-m", "agent.lr=0.001,-1", "seed=0,1", *SMALL, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.splitlines()[-3:] == [
        "The sweep did not start: 2 of 4 jobs have an invalid config.",
        "  job 2 (agent.lr=-1 seed=0 total_steps=400 logger=none eval.interval=0 progress=False): "
        "invalid config: agent.lr=-1.0; allowed: a finite number > 0 and <= 3.4e+37 (larger overflows float32 in "
        "adam's step)",
        "  job 3 (agent.lr=-1 seed=1 total_steps=400 logger=none eval.interval=0 progress=False): "
        "invalid config: agent.lr=-1.0; allowed: a finite number > 0 and <= 3.4e+37 (larger overflows float32 in "
        "adam's step)",
    ]
    assert not sweep.exists()  # nothing ran, nothing was written


def test_hand_written_group_in_a_single_run(tmp_path):
    """``seeds=[3,7]`` without -m: the run folder reads like a sweep of the two seeds."""
    from a2c_lab.analysis import find_run_dirs

    run = tmp_path / "run"
    out = a2c("seeds=[3,7]", *SMALL, f"hydra.run.dir={run}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert find_run_dirs([run]) == [run / "0", run / "1"]  # the report sees two runs, not the group
    assert (run / ".groups" / "0" / ".hydra" / "config.yaml").is_file() and not (run / ".hydra").exists()
    for index, seed in enumerate([3, 7]):
        cfg = OmegaConf.load(run / str(index) / ".hydra" / "config.yaml")
        assert cfg.seed == seed and list(cfg.seeds) == [] and isinstance(cfg.seed, int)
        assert list(OmegaConf.load(run / str(index) / ".hydra" / "overrides.yaml"))[0] == f"seed={seed}"
        assert json.loads((run / str(index) / M.STATUS_FILE).read_text())["status"] == "finished"


@pytest.mark.slow  # a launcher's processes
def test_submitit_local_runs_a_group_as_one_task(tmp_path):
    sweep = tmp_path / "sweep"
    out = a2c("-m", "seed=0,1", *SMALL, *LAUNCHERS["submitit_local"], f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert summary_lines(out.stdout)[1].split() == ["finished", "2", "0-1"]
    plan = yaml.safe_load((sweep / "sweep_plan.yaml").read_text())
    assert plan["launcher_slots"] == 1 and [g["jobs"] for g in plan["groups"]] == [[0, 1]]
    assert (sweep / ".submitit").is_dir() and (sweep / ".groups" / "0" / ".hydra").is_dir()
    for n in range(2):
        assert OmegaConf.load(sweep / str(n) / ".hydra" / "config.yaml").seed == n


@pytest.mark.slow  # a pip install and a sweep
def test_plugin_is_discovered_from_an_installed_copy(tmp_path):
    """A non-editable install (no source tree on the path), run from another folder."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for name in ("a2c_lab", "hydra_plugins"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--target", str(site), str(src)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    assert (site / "hydra_plugins" / "a2c_lab_sweeper" / "__init__.py").is_file()
    assert not (site / "hydra_plugins" / "__init__.py").exists()  # a namespace package, shared with others

    work = tmp_path / "work"
    work.mkdir()
    (work / "app.py").write_text(textwrap.dedent(f"""
        import hydra
        import a2c_lab.run
        import hydra_plugins.a2c_lab_sweeper as plugin
        print("modules:", a2c_lab.run.__file__, plugin.__file__)
        # conf/ is not packaged: the installed code with the repository's config files
        hydra.main(version_base="1.3", config_path={str(REPO / "conf")!r}, config_name="config")(
            a2c_lab.run.main.__wrapped__)()
    """))
    out = subprocess.run([sys.executable, "app.py", "-m", "seed=0,1", *SMALL, "hydra.sweep.dir=sweep"], cwd=work,
                         env=job_env([site]), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    modules = out.stdout.splitlines()[0].split()[1:]
    assert all(m.startswith(str(site)) for m in modules), modules
    assert summary_lines(out.stdout)[1].split() == ["finished", "2", "0-1"]
    assert (work / "sweep" / ".groups" / "0").is_dir()


@pytest.mark.slow  # W&B runs in a subprocess
def test_grouped_seeds_each_get_their_own_wandb_run(tmp_path):
    """Default logger (W&B offline): one run per seed folder, finished, in the sweep's W&B group."""
    from a2c_lab.runs.wandb_names import run_id

    sweep = tmp_path / "sweep"
    out = a2c("-m", "seed=0,1", "total_steps=400", "eval.interval=0", "progress=false", f"hydra.sweep.dir={sweep}",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    runs = [only(wandb_runs(sweep / str(n))) for n in range(2)]
    read_all(runs)
    assert not list((sweep / ".groups").rglob("offline-run-*"))
    for n, run in enumerate(runs):
        check_finished(run, sweep / str(n))
        assert run.run["run_id"] == run_id(sweep / str(n)) and run.run["run_group"] == "default-sweep"
        assert run.info["config"]["seed"] == n and run.info["config"]["seeds"] == []


@pytest.mark.slow  # a sweep and compare.py, each a process
@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_the_default_sweep_folder_is_one_folder(tmp_path, launcher):
    """With the default hydra.sweep.dir (a time stamp to the microsecond), every job, every group
    job, the plan and the summary land in one sweep folder, and compare.py finds the runs there
    (each job's config reading the clock again once gave every job a folder of its own)."""
    out = a2c("-m", *SWEEP, *SMALL, *LAUNCHERS[launcher], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    [sweep] = list((tmp_path / "runs" / "sweeps").iterdir())
    assert sorted(p.name for p in sweep.iterdir() if p.name.isdigit()) == [str(n) for n in range(6)]
    assert (sweep / "sweep_plan.yaml").is_file() and (sweep / "sweep_summary.txt").is_file()
    assert f"run folders under {sweep.relative_to(tmp_path)}/" in summary_lines(out.stdout)[0]
    report = subprocess.run([sys.executable, str(REPO / "scripts" / "compare.py"), "--no-figures"], cwd=tmp_path,
                            env=job_env(), capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-3000:]
