"""A group: several seeds of one config, trained by one process, each in its own run folder.

A group job is an ordinary Hydra job whose config sets ``seeds=[s1, s2, ...]``. The grouping
sweeper (``a2c_lab.sweeps.sweeper``) also passes ``group.run_dirs`` and ``group.jobs``: the run folder
and job number that ``hydra/sweeper=basic`` would give each seed. A hand-written group
(``python -m a2c_lab.run 'seeds=[0,1,2,3]'``) has neither; its seeds then go to
``<output>/0``, ``<output>/1``, ... and the group's own Hydra files move from ``<output>/.hydra``
to ``<output>/.groups/0/.hydra``, so that ``<output>`` reads like a sweep folder and the report
never takes the group's folder for a run.

Each seed's folder gets what a one-seed run writes: ``.hydra/`` (its config with its scalar
seed, its overrides, Hydra's config), the job log, and everything ``train`` writes. Its
``meta.json`` names the group. The seeds train as one batched computation
(``trainer.train_group``).
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from omegaconf import DictConfig, OmegaConf

from a2c_lab.config import seed_config
from a2c_lab.runs.outcomes import Diverged

log = logging.getLogger(__name__)

GROUPS_DIR = ".groups"  # a group job's own Hydra folder lives in <sweep>/.groups/<g>/
_GROUP_KEYS = ("seed", "seeds", "group")  # overrides a seed's own override list leaves out


@dataclass
class SeedRun:
    seed: int
    job: int  # the sweep's job number (hydra.job.num of a basic sweep)
    run_dir: Path
    overrides: list[str]  # the overrides hydra/sweeper=basic would give this job
    cfg: DictConfig  # the group's config with this seed, and no group keys set


def override_key(override: str) -> str:
    """``+a.b=1`` -> ``a.b``."""
    return override.split("=", 1)[0].lstrip("~+")


def seed_overrides(group_overrides: list[str], seed: int) -> list[str]:
    """A seed's own overrides: ``seed=<s>`` where the group had ``seeds=[...]``, group keys dropped."""
    out = []
    for override in group_overrides:
        key = override_key(override)
        if key == "seeds":
            out.append(f"seed={seed}")
        elif key.split(".")[0] not in _GROUP_KEYS:
            out.append(override)
    return out


def plan_seeds(cfg: DictConfig, output_dir: Path, task_overrides: list[str]) -> list[SeedRun]:
    seeds = list(cfg.seeds)
    run_dirs = list(cfg.group.run_dirs) or [str(output_dir / str(i)) for i in range(len(seeds))]
    jobs = list(cfg.group.jobs) or list(range(len(seeds)))
    runs = []
    for seed, job, run_dir in zip(seeds, jobs, run_dirs):
        runs.append(SeedRun(seed, job, Path(run_dir), seed_overrides(task_overrides, seed), seed_config(cfg, seed)))
    return runs


def run_group(cfg: DictConfig, launch_dir: str | Path | None = None) -> list[dict[str, Any] | Diverged]:
    """Train every seed of the group as one batched computation (``trainer.train_group``);
    return each seed's summary, or the ``Diverged`` that stopped it.

    Every seed's config is validated, and every seed's folder claimed, before any seed trains.
    A diverged seed is recorded in its folder and the others go on; a signal or an error stops
    the group and is recorded in every unfinished seed's folder (``train_group``).
    """
    from hydra.core.hydra_config import HydraConfig

    from a2c_lab.training.trainer import train_group  # torch is imported only in the process that trains

    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    runs = plan_seeds(cfg, output_dir, list(hydra_cfg.overrides.task))
    group_dir = output_dir
    if not cfg.group.run_dirs:
        group_dir = _move_hydra_files(output_dir, hydra_cfg.output_subdir)
    log.info("group of %d seeds %s in %s", len(runs), [r.seed for r in runs], group_dir)
    for run in runs:
        _write_hydra_files(run, hydra_cfg)
    group = {"folder": str(group_dir), "seeds": [r.seed for r in runs], "jobs": [r.job for r in runs],
             "run_dirs": [str(r.run_dir) for r in runs]}
    with _job_logs([run.run_dir / f"{hydra_cfg.job.name}.log" for run in runs]):
        return train_group(cfg, [r.seed for r in runs], [r.run_dir for r in runs], [r.overrides for r in runs],
                           group=group, launch_dir=launch_dir or output_dir)


def _move_hydra_files(output_dir: Path, output_subdir: str | None) -> Path:
    """A hand-written group: ``<output>/.hydra`` -> ``<output>/.groups/0/.hydra``."""
    group_dir = output_dir / GROUPS_DIR / "0"
    if output_subdir is not None and (output_dir / output_subdir).is_dir():
        group_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(str(output_dir / output_subdir), str(group_dir / output_subdir))
    return group_dir


def _write_hydra_files(run: SeedRun, group_hydra: DictConfig) -> None:
    """The ``.hydra/`` files Hydra writes for a one-seed job, with this seed's values."""
    if group_hydra.output_subdir is None:
        return
    hydra = OmegaConf.create(OmegaConf.to_container(group_hydra, resolve=False))
    hydra.runtime.output_dir = str(run.run_dir.resolve())
    hydra.job.num = run.job
    hydra.job.id = str(run.job)
    hydra.job.override_dirname = _override_dirname(run.overrides, hydra.job.config.override_dirname)
    hydra.overrides.task = run.overrides
    hydra.overrides.hydra = [o for o in hydra.overrides.hydra if not o.startswith("hydra.sweep.subdir=")]
    try:
        hydra.sweep.subdir = os.path.relpath(run.run_dir.resolve(), Path(group_hydra.sweep.dir).resolve())
    except ValueError:  # another drive (Windows): keep Hydra's value
        pass
    folder = run.run_dir / group_hydra.output_subdir
    folder.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(run.cfg, folder / "config.yaml")
    OmegaConf.save(OmegaConf.create({"hydra": hydra}), folder / "hydra.yaml")
    OmegaConf.save(OmegaConf.create(run.overrides), folder / "overrides.yaml")


def _override_dirname(overrides: list[str], how: DictConfig) -> str:
    """``hydra.job.override_dirname`` as Hydra computes it from these overrides."""
    from hydra._internal.config_loader_impl import get_overrides_dirname
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    return get_overrides_dirname(parsed, list(how.exclude_keys), how.item_sep, how.kv_sep)


@contextmanager
def _job_logs(paths: list[Path]) -> Iterator[None]:
    """Copy the root logger into each seed's own log file while the group trains, as Hydra does
    per job (the seeds train together, so each log holds the group's lines)."""
    handlers = []
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
        handlers.append(handler)
    root = logging.getLogger()
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
