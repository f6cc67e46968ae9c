"""What is refused before a run starts, naming the key: the config's values (a2c_lab.config),
the task, the env backend, the device, and the processes a group would start.

Everything here raises ``ConfigError`` and runs before any file of the run is written.
"""

from __future__ import annotations

import logging
import os

import torch
from omegaconf import DictConfig

from a2c_lab.config import Backend, Config, ConfigError
from a2c_lab.training.distributions import ActionSpec
from a2c_lab.training.envs import check_task, resolve_backend
from a2c_lab.validation import validate

log = logging.getLogger(__name__)


def check_device(device: str) -> None:
    """Fail before training, naming the key, on a device this machine's torch cannot use."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"invalid config: device={device!r}; allowed here: cpu (this torch has no usable CUDA device)")
    if device.startswith("cuda:") and int(device.split(":")[1]) >= torch.cuda.device_count():
        raise ConfigError(f"invalid config: device={device!r}; allowed here: cpu, "
                          f"cuda:0..cuda:{torch.cuda.device_count() - 1}")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"invalid config: device={device!r}; allowed here: cpu (MPS is not available)")


def check_config(raw_cfg: DictConfig) -> tuple[Config, Backend, ActionSpec]:
    """The typed config, the env backend and the task's actions, or ConfigError naming the bad key."""
    cfg = validate(raw_cfg)
    actions = check_task(cfg.task.id)
    backend = resolve_backend(cfg.task.id, cfg.envs.backend)  # raises on a backend the task lacks
    check_device(cfg.device)
    return cfg, backend, actions


def max_async_processes() -> int:
    """Env processes the async backend may start in one group: beyond a few per core they only
    contend for the cores (and each costs a Python interpreter's memory)."""
    return max(32, 4 * (os.cpu_count() or 1))


def check_processes(cfg: Config, backend: Backend, num_seeds: int) -> None:
    """The async backend starts a process per env, for every seed of a group."""
    if backend is not Backend["async"]:
        return
    processes = num_seeds * cfg.envs.num_envs
    if processes > max_async_processes():
        raise ConfigError(
            f"invalid config: envs.backend=async with {num_seeds} seeds x envs.num_envs={cfg.envs.num_envs} = "
            f"{processes} env processes; allowed: at most {max_async_processes()} on this machine "
            "(use envs.backend=sync or native, or fewer seeds per group)")
    if processes > (os.cpu_count() or 1):
        log.warning("envs.backend=async starts %d env processes for %d cores", processes, os.cpu_count())
