"""The grouping sweeper (``a2c_lab.sweeps.sweeper``, Hydra plugin in ``hydra_plugins/a2c_lab_sweeper``)
and the group job (``a2c_lab.sweeps.groups``).

Pure functions first (grouping, group sizes, the override contract, the summary), then real
multiruns through ``python -m a2c_lab.run -m`` in subprocesses, compared with what
``hydra/sweeper=basic`` writes for the same command. Each takes seconds: the fast tier keeps a
sweep the sweeper refuses before any job starts and a hand-written group of two seeds from the
command line; the sweeps themselves (against the basic sweeper's folders, under every launcher,
from an installed copy, with W&B, with a crash, in the default folder) are ``slow``: the full
suite, which CI runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from itertools import product
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from a2c_lab.runs import metrics as M
from a2c_lab.runs.run_folder import Status, write_status
from a2c_lab.sweeps.groups import seed_overrides
from a2c_lab.sweeps.sweeper import (Job, expand, group_overrides, groups_per_variant, launcher_slots, make_groups,
                                    split_evenly, summary_text)

try:
    from job_probe import CRASH_SECOND_ID
except ImportError:  # tests/ imported as a package
    from tests.job_probe import CRASH_SECOND_ID

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
SMALL = ["total_steps=400", "logger=none", "eval.interval=0", "progress=false"]  # about a second a seed
SWEEP = ["agent=shared,split", "seed=0,1,2"]
PROBE = "+hydra.callbacks.probe._target_=job_probe.JobProbe"
LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"],
}


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


# --- group sizes ----------------------------------------------------------------------------------

def test_split_evenly_sizes_differ_by_at_most_one():
    assert split_evenly(list(range(10)), 2) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert [len(c) for c in split_evenly(list(range(10)), 4)] == [3, 3, 2, 2]
    assert split_evenly([7], 1) == [[7]]


@pytest.mark.parametrize("seeds, variants, slots, group_size, sizes", [
    (10, 1, 2, None, [5, 5]),  # joblib with 2 jobs: two groups of 5, not 8 and 2
    (10, 1, 1, None, [10]),  # basic launcher (and submitit): one group per variant
    (10, 2, 2, None, [10]),  # two variants already fill two slots: one group each
    (10, 1, 4, None, [3, 3, 2, 2]),
    (3, 1, 8, None, [1, 1, 1]),  # never more groups than seeds
    (10, 1, 1, 8, [5, 5]),  # group_size bounds the size; the split stays even
    (10, 1, 2, 1, [1] * 10),  # group_size=1: one seed per job, as hydra/sweeper=basic
])
def test_group_sizes(seeds, variants, slots, group_size, sizes):
    groups = groups_per_variant(seeds, variants, slots, group_size)
    assert [len(c) for c in split_evenly(list(range(seeds)), groups)] == sizes


def test_launcher_slots():
    assert launcher_slots(OmegaConf.create(
        {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"})) == 1
    joblib = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
    assert launcher_slots(OmegaConf.create({"_target_": joblib, "n_jobs": 2})) == 2
    assert launcher_slots(OmegaConf.create({"_target_": joblib, "n_jobs": -1})) == os.cpu_count()
    assert launcher_slots(OmegaConf.create(
        {"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"})) == 1


# --- grouping and the contract with the group job ---------------------------------------------------

def jobs_of(arguments: list[str], sweep: str = "/s") -> list[Job]:
    jobs = []
    for num, overrides in enumerate(expand(arguments)):
        seed = next((int(o.split("=")[1]) for o in overrides if o.startswith("seed=")), 0)
        jobs.append(Job(num, overrides, seed, f"{sweep}/{num}"))
    return jobs


def test_jobs_in_basic_order_grouped_by_everything_but_seed():
    jobs = jobs_of(["agent=shared,split", "seed=0,1,2", "gamma=0.9,0.99", "total_steps=400"])
    assert [j.overrides for j in jobs] == [
        [f"agent={a}", f"seed={s}", f"gamma={g}", "total_steps=400"]
        for a, s, g in product(["shared", "split"], [0, 1, 2], [0.9, 0.99])]
    groups = make_groups(jobs, slots=1, group_size=None)
    assert [[j.num for j in g.jobs] for g in groups] == [[0, 2, 4], [1, 3, 5], [6, 8, 10], [7, 9, 11]]
    assert groups[1].overrides == [
        "agent=shared", "seeds=[0,1,2]", "gamma=0.99", "total_steps=400",
        "group.jobs=[1,3,5]", "group.run_dirs=['/s/1','/s/3','/s/5']", "hydra.sweep.subdir=.groups/1"]
    assert [j.group for j in jobs] == [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3]


def test_no_seed_override_makes_groups_of_one():
    jobs = jobs_of(["agent=shared,split"])
    groups = make_groups(jobs, slots=2, group_size=None)
    assert [g.overrides[:2] for g in groups] == [["agent=shared", "seeds=[0]"], ["agent=split", "seeds=[0]"]]


def test_run_folders_survive_the_override_grammar():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    odd = ["/tmp/a b/it's/0", "/tmp/back\\slash,x=[1]/1", "/tmp/q\\'/2", "/tmp/end\\"]
    jobs = [Job(i, ["agent=split", f"seed={i}"], i, path) for i, path in enumerate(odd)]
    overrides = group_overrides(make_groups(jobs, 1, None)[0])
    parsed = OverridesParser.create().parse_overrides(overrides)
    values = {o.get_key_element(): o.value() for o in parsed}
    assert values["group.run_dirs"] == odd and values["seeds"] == [0, 1, 2, 3]


def test_a_seed_gets_the_overrides_of_its_basic_job():
    group = ["agent=split", "seeds=[0,1]", "gamma=0.9", "group.jobs=[3,4]", "group.run_dirs=['/s/3','/s/4']"]
    assert seed_overrides(group, 1) == ["agent=split", "seed=1", "gamma=0.9"]
    assert seed_overrides(["seed=5", "seeds=[0,1]"], 0) == ["seed=0"]  # a hand-written group ignores seed


# --- the summary ------------------------------------------------------------------------------------

def test_summary_lists_every_outcome_with_its_folder(tmp_path):
    jobs = [Job(n, [f"seed={n}"], n, str(tmp_path / str(n))) for n in range(7)]
    for n in (0, 1, 3):
        (tmp_path / str(n)).mkdir()
        write_status(tmp_path / str(n), Status.finished)
    (tmp_path / "2").mkdir()
    write_status(tmp_path / "2", Status.diverged, reason="non-finite loss at update 3 (env step 120)")
    (tmp_path / "4").mkdir()
    write_status(tmp_path / "4", Status.interrupted, reason="stopped by a signal", signal="SIGTERM")
    (tmp_path / "5").mkdir()
    write_status(tmp_path / "5", Status.failed, reason="RuntimeError: boom\nsecond line")
    text, code = summary_text(jobs, tmp_path, 2, [])  # 6 never ran: no folder
    assert code == 1
    assert text.splitlines() == [
        f"Sweep summary: 7 jobs in 2 groups; run folders under {tmp_path}/ (plan: sweep_plan.yaml)",
        "  finished         3  0-1, 3",
        "  diverged         1  2",
        "      2 (seed 2): non-finite loss at update 3 (env step 120)",
        "  interrupted      1  4",
        "      4 (seed 4): interrupted SIGTERM stopped by a signal",
        "  failed           1  5",
        "      5 (seed 5): RuntimeError: boom",
        "  never started    1  6",
        "      6 (seed 6): no status.json: the job never ran",
        "Exit code 1: 4 of 7 jobs did not finish.",
    ]
    text, code = summary_text(jobs[:2], tmp_path, 1, [])
    assert code == 0 and text.endswith("Exit code 0: every job finished.")


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
    try:
        from test_wandb_tracking import check_finished, only, read_all, wandb_runs
    except ImportError:  # tests/ imported as a package
        from tests.test_wandb_tracking import check_finished, only, read_all, wandb_runs
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
