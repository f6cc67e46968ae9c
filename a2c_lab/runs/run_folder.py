"""The run folder: its status schema, the lock that says a run is alive, and the rule that one
folder holds one run.

``status.json`` is the run's own account of itself (``STATUS_KEYS``):

==========  ================================================================================
key         meaning
==========  ================================================================================
status      one of ``Status``: running, finished, diverged, interrupted, preempted, failed,
            not_started
reason      why the run is not finished (the error, the divergence, the signal), else null
signal      the signal's name (``SIGTERM``) for interrupted and preempted runs, else null
env_step    env steps done when the status was written (null before training)
update      updates done when the status was written (null before training)
host, pid   the process that wrote it
time        when it was written (ISO 8601, local time with offset)
==========  ================================================================================

A live run holds an exclusive ``flock`` on ``<run>/.lock`` for its whole life; the kernel
drops the lock when the process dies, however it dies. So a folder whose status says
``running`` while nobody holds its lock belongs to a dead run (SIGKILL, out of memory, a lost
machine): ``read_status`` reports that as ``live=False``.

``run_config.yaml`` is the config the run's metrics belong to, written by the run itself once it
has claimed its folder. Hydra writes ``.hydra/config.yaml`` before any a2c-lab code runs, also
for a command that is then refused, so only ``run_config.yaml`` is authoritative.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from a2c_lab.runs import metrics as M

RUN_CONFIG_FILE = "run_config.yaml"  # the authoritative config of the run's metrics
LOCK_FILE = ".lock"
WANDB_DIR = "wandb"
CHECKPOINT_FILES = ("checkpoint.pt", "checkpoint.prev.pt")  # a2c_lab.runs.checkpoint's (which imports torch)


class Status(str, Enum):
    running = "running"  # training, or killed without a chance to say so (see read_status)
    finished = "finished"  # reached total_steps; summary.json and model.pt are written
    diverged = "diverged"  # a non-finite loss, gradient norm or parameter stopped it
    interrupted = "interrupted"  # a signal (SIGINT, SIGTERM, SIGHUP) stopped it
    preempted = "preempted"  # the scheduler's preemption signal stopped it (to be requeued)
    failed = "failed"  # an error stopped it
    not_started = "not_started"  # refused before training (a config error)


# Exit codes of a single run (``python -m a2c_lab.run ...``), by outcome.
EXIT_FAILED = 1
EXIT_CONFIG_ERROR = 2
EXIT_DIVERGED = 3
EXIT_SIGNAL_BASE = 128  # a signal n exits with 128 + n, as a shell reports it

STATUS_KEYS = ("status", "reason", "signal", "env_step", "update", "host", "pid", "time")

# Files a run writes into its folder; any of them present means the folder holds a run.
RUN_FILES = (M.STATUS_FILE, M.EPISODES_FILE, M.UPDATES_FILE, M.EVAL_FILE, M.SUMMARY_FILE, M.META_FILE,
             M.MODEL_FILE, RUN_CONFIG_FILE)


class FolderTaken(RuntimeError):
    """The run folder already holds another run; the message says what to do."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write atomically (temp file, fsync, rename): a reader sees the old file or the new one,
    never half of one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, (json.dumps(data, indent=2, default=str) + "\n").encode())


def status_record(status: Status, reason: str | None = None, signal: str | None = None,
                  env_step: int | None = None, update: int | None = None) -> dict[str, Any]:
    return {"status": status.value, "reason": reason, "signal": signal, "env_step": env_step, "update": update,
            "host": socket.gethostname(), "pid": os.getpid(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def write_status(run_dir: Path, status: Status, reason: str | None = None, signal: str | None = None,
                 env_step: int | None = None, update: int | None = None) -> None:
    write_json(Path(run_dir) / M.STATUS_FILE, status_record(status, reason, signal, env_step, update))


@dataclass
class RunStatus:
    """What a folder's status.json says, and whether a live process holds the folder."""

    status: str | None  # as recorded; None when there is no readable status.json
    record: dict[str, Any]  # the whole status.json ({} when none)
    live: bool  # a process holds the folder's lock now

    @property
    def dead(self) -> bool:
        """Says running, but no process holds the lock: killed without a chance to say so."""
        return self.status == Status.running.value and not self.live

    def describe(self) -> str:
        if self.status is None:
            return "no status.json"
        if self.dead:
            return ("status 'running' but no live process holds the folder: the run was killed "
                    "(SIGKILL, out of memory or a lost machine) after its last flushed update")
        reason = self.record.get("reason")
        return f"status {self.status!r}" + (f": {reason}" if reason else "")


def lock_is_held(run_dir: Path) -> bool:
    """True when a live process holds ``<run_dir>/.lock`` (this one included, through another handle)."""
    path = Path(run_dir) / LOCK_FILE
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)  # closing drops the lock if we took it
    return False


def read_status(run_dir: Path) -> RunStatus:
    """The folder's status.json (``{}`` when missing or unreadable) and whether its run is alive."""
    path = Path(run_dir) / M.STATUS_FILE
    record: dict[str, Any] = {}
    try:
        loaded = json.loads(path.read_text())
        if isinstance(loaded, dict):
            record = loaded
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    status = record.get("status")
    return RunStatus(str(status) if status is not None else None, record, lock_is_held(run_dir))


class RunLock:
    """The exclusive lock a live run holds on its folder, from ``claim`` to process exit."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            return False
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def holds_a_run(run_dir: Path) -> bool:
    """Whether the folder holds a run's files. A refused command's ``not_started`` status alone
    is no run: the next command may use the folder."""
    run_dir = Path(run_dir)
    if any((run_dir / name).exists() for name in RUN_FILES if name != M.STATUS_FILE) or (run_dir / WANDB_DIR).exists():
        return True
    return (run_dir / M.STATUS_FILE).exists() and read_status(run_dir).status != Status.not_started.value


def claim(run_dir: Path, overwrite: bool = False, keep_run: bool = False) -> RunLock:
    """Take ``run_dir`` for a new run and return its lock (hold it until the run ends).

    Refuses a folder in which a live process runs, and a folder that holds another run
    (finished, failed, killed...) unless ``keep_run`` (``resume=auto``: the caller decides,
    a2c_lab.runs.resume, whether that run is this config's, to resume or skip) or
    ``overwrite``; overwriting removes that run's files and its ``wandb/`` folder (W&B's run
    id is a hash of the folder's path, so the old offline run would otherwise be merged with
    the new one at upload). Hydra's own ``.hydra/`` files and
    logs are left alone: Hydra rewrote them for this command.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_dir)
    if not lock.acquire():
        record = read_status(run_dir).record
        raise FolderTaken(
            f"run folder {run_dir} is in use by a live run (pid {record.get('pid')} on {record.get('host')}); "
            "choose another folder (hydra.run.dir=...) or stop that run first")
    if holds_a_run(run_dir) and not keep_run:
        if not overwrite:
            lock.release()
            raise FolderTaken(
                f"run folder {run_dir} already holds a run ({read_status(run_dir).describe()}); "
                "a folder holds one run: choose another folder (hydra.run.dir=...), or pass overwrite=true "
                "to delete that run and start again in it")
        for name in RUN_FILES + CHECKPOINT_FILES:
            (run_dir / name).unlink(missing_ok=True)
        shutil.rmtree(run_dir / WANDB_DIR, ignore_errors=True)
    return lock
