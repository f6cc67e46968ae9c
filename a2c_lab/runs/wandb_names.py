"""How an a2c-lab run is named and organised in W&B; pure functions, no W&B import.

* **id**: a hash of the run folder's absolute path, so a run restarted in the same folder
  maps onto the same W&B run (``resume="allow"``); W&B's files go inside that folder
  (``<run_dir>/wandb/``).
* **group**: ``logger.group``, or ``<experiment_name>-<start time>`` where the start time
  comes from the launch folder (the sweep folder in a multirun, the run folder otherwise),
  whose default name begins with it. Every job of one multirun resolves the same folder,
  whichever launcher and process runs it, so they share one group.
* **job_type**: the variant, ``<agent>-<network>-<advantage>-<envs>`` (``config.AXES``); **name**:
  ``<variant>-seed<seed>``; **tags**: the same axes, the task id and ``logger.tags``.
* **config**: the resolved config as a nested dict, plus ``overrides`` (the command-line
  overrides) and ``meta`` (git commit and dirty flag, package versions, host, command).
"""

from __future__ import annotations

import hashlib
import re
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from a2c_lab.config import AXES, Config, axis_value

# The default Hydra folders start with ${now:%Y-%m-%d_%H-%M-%S_%f} (conf/config.yaml).
_START_TIME = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}(_\d{6})?")
_MAX_LEN = 64  # W&B's limit for job_type and tags


def run_id(run_dir: Path) -> str:
    """Stable W&B id of the run folder: the same folder always maps onto the same run."""
    return hashlib.sha256(str(Path(run_dir).resolve()).encode()).hexdigest()[:16]


def group_name(cfg: Config, launch_dir: Path) -> str:
    """``logger.group``, else ``<experiment_name>-<start time of the launch>``: the launch folder
    (the sweep folder of a multirun, else the run's output folder) is named by its start time."""
    if cfg.logger.group:
        return cfg.logger.group
    folder = Path(launch_dir).resolve().name
    found = _START_TIME.search(folder)
    # A folder without a time stamp (a custom hydra.sweep.dir) names the launch itself.
    return f"{cfg.experiment_name}-{found.group(0) if found else folder}"


def variant(cfg: Config) -> str:
    """The axes a comparison varies (``config.AXES``, in the order the report's labels use)."""
    return "-".join(axis_value(cfg, key) for key in AXES)[:_MAX_LEN]


def run_name(cfg: Config) -> str:
    return f"{variant(cfg)}-seed{cfg.seed}"


def run_tags(cfg: Config) -> list[str]:
    """The axes' values (``config.AXES``), the task id and ``logger.tags``."""
    tags = [*(axis_value(cfg, key) for key in AXES), cfg.task.id, *cfg.logger.tags]
    return [t[:_MAX_LEN] for t in dict.fromkeys(str(t) for t in tags if str(t))]


def _plain(value: Any) -> Any:
    """Enums as the strings users type (``async``, not ``async_``), recursively."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def run_config(raw_cfg: DictConfig, meta: dict[str, Any]) -> dict[str, Any]:
    """Resolved config as a nested dict, plus the overrides and the run's metadata."""
    config = _plain(OmegaConf.to_container(raw_cfg, resolve=True))
    config["overrides"] = list(meta.get("overrides", []))
    config["meta"] = {k: v for k, v in meta.items() if k != "overrides"}
    return config
