"""The grouping sweeper: which jobs a multirun has, which of them train together, and the sweep's
end. Hydra's plugin class (``hydra_plugins/a2c_lab_sweeper``) only calls ``run_sweep``.

1. **Jobs.** The command line expands exactly as ``hydra/sweeper=basic`` expands it (its own
   ``split_arguments``), so job ``n`` has the overrides, the config and the run folder
   (``hydra.sweep.dir``/``hydra.sweep.subdir`` with ``hydra.job.num=n``) that a basic sweep gives.
2. **Validation.** Every job's config is composed and checked with ``a2c_lab.validation.validate``
   before anything runs; one bad value fails the sweep (exit code 2) listing every bad job.
3. **Groups.** Jobs whose overrides differ only in ``seed`` are one *variant*. Each variant's
   jobs are split into groups of near-equal size (``groups_per_variant``), and each group is one
   Hydra job, launched by whatever launcher is configured. The contract with the group job
   (``a2c_lab.sweeps.groups``) is its overrides: the variant's overrides with ``seed=<s>`` replaced by
   ``seeds=[s1,...]`` at the same place, then ``group.jobs=[n1,...]``,
   ``group.run_dirs=['<run folder of n1>',...]`` and ``hydra.sweep.subdir=.groups/<g>`` (the
   group job's own Hydra folder, never a run folder).
4. **The end.** The plan (every job: number, seed, overrides, run folder, group) is written to
   ``<sweep>/sweep_plan.yaml`` before launching. No job's failure stops the others (Hydra's
   launchers run every job of a batch; this sweeper does not re-raise). At the end it prints a
   one-screen summary read from each run folder's ``status.json`` and writes it to
   ``<sweep>/sweep_summary.txt``. Exit code: 0 only if every job finished, else 1.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from a2c_lab.config import ConfigError
from a2c_lab.runs.run_folder import EXIT_CONFIG_ERROR
from a2c_lab.sweeps.groups import GROUPS_DIR, override_key
from a2c_lab.sweeps.jobs import Group, Job
from a2c_lab.sweeps.summary import PLAN_FILE, SUMMARY_FILE, group_errors, summary_text
from a2c_lab.validation import validate


@dataclass
class SweepOutcome:
    exit_code: int
    returns: Any = None  # the launcher's JobReturns of the group jobs


# --- jobs ------------------------------------------------------------------------------------

def expand(arguments: Sequence[str], config_loader: Any = None) -> list[list[str]]:
    """Every job's overrides, in the order hydra/sweeper=basic launches them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create(config_loader=config_loader).parse_overrides(list(arguments))
    return BasicSweeper.split_arguments(parsed, None)[0]


def compose_jobs(job_overrides: list[list[str]], master: DictConfig, config_loader: Any) -> tuple[list[Job], list[str]]:
    """Compose and validate each job; return the jobs and one message per bad job."""
    jobs, bad = [], []
    for num, overrides in enumerate(job_overrides):
        cfg = config_loader.load_sweep_config(master, list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.num = num
            cfg.hydra.job.id = num
        run_dir = os.path.abspath(os.path.join(str(cfg.hydra.sweep.dir), str(cfg.hydra.sweep.subdir)))
        with read_write(cfg), open_dict(cfg):
            del cfg["hydra"]
        try:
            checked = validate(cfg)
            _check_not_grouped_by_hand(checked)
        except ConfigError as err:
            bad.append(f"job {num} ({' '.join(overrides)}): {err}")
        jobs.append(Job(num, list(overrides), int(cfg.seed), run_dir))
    return jobs, bad


def _check_not_grouped_by_hand(cfg: Any) -> None:
    if cfg.seeds or cfg.group.run_dirs or cfg.group.jobs:
        raise ConfigError("invalid config: seeds/group.* in a sweep; allowed: sweep seed=0,1,2 (the grouping "
                          "sweeper groups the seeds itself), or hydra/sweeper=basic to run hand-written groups")


def seed_position(overrides: Sequence[str]) -> int | None:
    found = [i for i, o in enumerate(overrides) if override_key(o) == "seed"]
    return found[-1] if found else None


def variant_key(job: Job) -> tuple[str, ...]:
    pos = seed_position(job.overrides)
    return tuple(o for i, o in enumerate(job.overrides) if i != pos)


# --- group sizes -------------------------------------------------------------------------------

def launcher_slots(launcher_cfg: Any) -> int:
    """How many jobs the launcher runs at once.

    basic: 1 (one job after another). joblib: ``n_jobs`` as joblib counts it (-1 = every CPU,
    -2 = all but one, null = 1). submitit (local or SLURM): 1, because a group is one task:
    each variant's seeds become one task, and the scheduler runs the variants' tasks side by
    side. Any other launcher: 1 (set ``hydra.sweeper.group_size`` to choose).
    """
    target = str(OmegaConf.select(launcher_cfg, "_target_", default="") or "")
    if target.endswith("JoblibLauncher"):
        n = OmegaConf.select(launcher_cfg, "n_jobs", default=None)
        if n is None:
            return 1
        return max(1, (os.cpu_count() or 1) + 1 + n) if n < 0 else max(1, n)
    return 1


def groups_per_variant(n_seeds: int, n_variants: int, slots: int, group_size: int | None) -> int:
    """Into how many groups each variant's seeds are split.

    ``group_size`` set: as few groups as keep each at most ``group_size`` seeds.
    Auto (null): enough groups that the sweep's first wave fills the launcher's slots,
    ``ceil(slots / variants)`` per variant, never more than one per seed. 10 seeds on 2 slots
    make 2 groups of 5; two variants of 10 seeds on 2 slots make one group of 10 each (both
    slots busy, more seeds per batch).
    """
    if n_seeds < 1:
        return 0
    if group_size is not None:
        return math.ceil(n_seeds / group_size)
    return min(n_seeds, max(1, math.ceil(slots / max(1, n_variants))))


def split_evenly(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """``parts`` consecutive chunks whose sizes differ by at most one, larger ones first."""
    size, extra = divmod(len(items), parts)
    chunks, start = [], 0
    for i in range(parts):
        end = start + size + (i < extra)
        chunks.append(list(items[start:end]))
        start = end
    return chunks


def make_groups(jobs: list[Job], slots: int, group_size: int | None) -> list[Group]:
    """Group jobs that differ only in ``seed``; variants in order of their first job."""
    variants: dict[tuple[str, ...], list[Job]] = {}
    for job in jobs:
        variants.setdefault(variant_key(job), []).append(job)
    groups: list[Group] = []
    for members in variants.values():
        for chunk in split_evenly(members, groups_per_variant(len(members), len(variants), slots, group_size)):
            group = Group(len(groups), chunk)
            for job in chunk:
                job.group = group.num
            group.overrides = group_overrides(group)
            groups.append(group)
    return groups


# --- the contract with the group job -----------------------------------------------------------

def quote(value: str) -> str:
    """A string as a quoted element of a Hydra override list.

    In Hydra's grammar a backslash is literal unless it comes before a quote: so a quote
    becomes ``\\'`` and any backslashes before a quote (or before the closing one) are doubled.
    """
    escaped = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", value)
    return "'" + re.sub(r"(\\+)$", lambda m: m.group(1) * 2, escaped) + "'"


def group_overrides(group: Group) -> list[str]:
    first = group.jobs[0].overrides
    seeds = "seeds=[" + ",".join(str(job.seed) for job in group.jobs) + "]"
    pos = seed_position(first)
    overrides = list(first) + ([] if pos is not None else [seeds])
    if pos is not None:
        overrides[pos] = seeds
    return overrides + [
        "group.jobs=[" + ",".join(str(job.num) for job in group.jobs) + "]",
        "group.run_dirs=[" + ",".join(quote(job.run_dir) for job in group.jobs) + "]",
        f"hydra.sweep.subdir={GROUPS_DIR}/{group.num}",
    ]


# --- the plan and the end ---------------------------------------------------------------------

def plan_record(jobs: list[Job], groups: list[Group], sweep_dir: Path, slots: int,
                group_size: int | None) -> dict[str, Any]:
    return {
        "sweep_dir": str(sweep_dir),
        "launcher_slots": slots,
        "group_size": group_size if group_size is not None else "auto",
        "jobs": [{"job": j.num, "seed": j.seed, "group": j.group, "run_dir": j.run_dir, "overrides": j.overrides}
                 for j in jobs],
        "groups": [{"group": g.num, "folder": str(sweep_dir / GROUPS_DIR / str(g.num)),
                    "jobs": [j.num for j in g.jobs], "overrides": g.overrides} for g in groups],
    }


# --- the sweep ---------------------------------------------------------------------------------

def run_sweep(arguments: Sequence[str], *, config: DictConfig, config_loader: Any, launcher: Any,
              group_size: int | None = None, params: dict[str, str] | None = None) -> SweepOutcome:
    """Plan, validate, write the plan, launch the groups, summarise. Nothing runs if a job is bad."""
    if group_size is not None and group_size < 1:
        print(f"invalid config: hydra.sweeper.group_size={group_size!r}; allowed: null (auto) or an integer >= 1",
              file=sys.stderr)
        return SweepOutcome(EXIT_CONFIG_ERROR)
    # Resolve the sweep folder once, first: Hydra copies the master config's resolver cache into
    # every job's config, so ``${now:...}`` in hydra.sweep.dir then names one folder for all jobs
    # and groups (left unresolved, each job's config would read the clock again).
    sweep_dir = Path(str(config.hydra.sweep.dir))
    args = [f"{k}={v}" for k, v in (params or {}).items()] + list(arguments)
    jobs, bad = compose_jobs(expand(args, config_loader), config, config_loader)
    if bad:
        print(f"The sweep did not start: {len(bad)} of {len(jobs)} jobs have an invalid config.", file=sys.stderr)
        for message in bad:
            print(f"  {message}", file=sys.stderr)
        return SweepOutcome(EXIT_CONFIG_ERROR)

    slots = launcher_slots(config.hydra.launcher)
    groups = make_groups(jobs, slots, group_size)
    for group in groups:  # the contract must compose: a bug here fails now, not in every job
        config_loader.load_sweep_config(config, list(group.overrides))

    sweep_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(config, sweep_dir / "multirun.yaml")
    (sweep_dir / PLAN_FILE).write_text(
        yaml.safe_dump(plan_record(jobs, groups, sweep_dir, slots, group_size), sort_keys=False, width=1000))

    returns: Sequence[Any] = []
    try:
        returns = launcher.launch([g.overrides for g in groups], initial_job_idx=0)
    finally:  # also after Ctrl-C: say what ran
        text, code = summary_text(jobs, sweep_dir, len(groups), group_errors(groups, returns))
        (sweep_dir / SUMMARY_FILE).write_text(text + "\n")
        print(text, flush=True)
    return SweepOutcome(code, returns)
