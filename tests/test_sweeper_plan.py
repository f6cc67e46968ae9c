"""The grouping sweeper's pure functions (``a2c_lab.sweeps.sweeper``) and the override contract
with the group job (``a2c_lab.sweeps.groups``): group sizes, grouping in the basic sweeper's
order, the overrides a group and each of its seeds get, and the sweep summary. No process is
started; the real multiruns are in ``tests/test_sweeper.py``.
"""

from __future__ import annotations

import os
from itertools import product

import pytest
from omegaconf import OmegaConf

from a2c_lab.runs.run_folder import Status, write_status
from a2c_lab.sweeps.groups import seed_overrides
from a2c_lab.sweeps.sweeper import (Job, expand, group_overrides, groups_per_variant, launcher_slots, make_groups,
                                    split_evenly, summary_text)


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
