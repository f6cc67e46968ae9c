"""One tracking facade: local files always (the source of truth), W&B as an extra output.

``Tracker`` fans every event out to its sinks. The local-files sink is written first and
flushed after every update, so a run killed with SIGKILL keeps every row up to its last
completed update. An extra sink (W&B) that raises is reported once and dropped: it never
costs the local metrics.
"""

from __future__ import annotations

import csv
import logging
import platform
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from omegaconf import DictConfig

from a2c_lab.config import Config, LoggerKind
from a2c_lab.runs import metrics as m
from a2c_lab.runs.episode_stats import Episodes
from a2c_lab.runs.outcomes import Interrupted, outcome_of
from a2c_lab.runs.run_folder import Status, write_json, write_status

log = logging.getLogger(__name__)


@dataclass
class Ended:
    """Where the run stood when it ended: counts done, and the summary up to there (None
    where the run has none: only finished and diverged runs get a summary)."""

    env_step: int = 0
    update: int = 0
    wall_time: float = 0.0  # seconds of training
    summary: dict[str, Any] | None = None
    update_rows: int | None = None  # rows in updates.csv up to here; None = one per update


class Sink(Protocol):
    def log_episodes(self, episodes: Episodes) -> None: ...
    def log_update(self, row: dict[str, float]) -> None: ...  # includes env_step and wall_time
    def log_eval(self, row: dict[str, float]) -> None: ...
    def finish(self, summary: dict[str, Any], ended: Ended | None = None) -> None: ...
    def fail(self, error: BaseException, ended: Ended | None = None) -> None: ...


class LocalFiles:
    """CSV files per event type plus status and summary JSON (see a2c_lab.runs.metrics and
    a2c_lab.runs.run_folder)."""

    def __init__(self, run_dir: Path, resume_at: Ended | None = None, update_rows: int = 1,
                 update_columns: tuple[str, ...] = m.UPDATE_COLUMNS):
        """``resume_at``: continue a resumed run's files (already cut to its checkpoint,
        a2c_lab.runs.resume) in append mode, from that update and env step. ``update_rows``:
        updates.csv gets the row of every ``update_rows``-th update (counted over the whole run)
        and of the run's last one; the rows between are dropped (W&B still sees every update).
        ``update_columns``: the columns of updates.csv (the policy's distribution adds some)."""
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self._files = []
        append = resume_at is not None
        self._every = update_rows
        self.updates = resume_at.update if resume_at else 0
        self.update_rows = resume_at.update if resume_at and resume_at.update_rows is None else \
            (resume_at.update_rows if resume_at else 0)
        self._unwritten: dict[str, float] | None = None  # the last update's row, where it was dropped
        self._episodes = self._open(m.EPISODES_FILE, m.EPISODE_COLUMNS, append)
        self._update_columns = update_columns
        self._updates = self._open(m.UPDATES_FILE, update_columns, append)
        self._evals = self._open(m.EVAL_FILE, m.EVAL_COLUMNS, append)
        at = resume_at or Ended()
        write_status(run_dir, Status.running, env_step=at.env_step, update=at.update)

    def _open(self, name: str, columns: tuple[str, ...], append: bool = False) -> csv.writer:
        f = open(self.run_dir / name, "a" if append else "w", newline="")
        self._files.append(f)
        writer = csv.writer(f)
        if not append:
            writer.writerow(columns)
        f.flush()
        return writer

    def flush(self) -> None:
        """Every row logged so far on disk (before a checkpoint records how far they go)."""
        for f in self._files:
            f.flush()

    def log_episodes(self, episodes: Episodes) -> None:
        self._episodes.writerows(zip(episodes.env_step.tolist(), episodes.wall_time.tolist(),
                                     episodes.returns.tolist(), episodes.lengths.tolist()))

    def log_update(self, row: dict[str, float]) -> None:
        self.updates += 1
        if self.updates % self._every:
            self._unwritten = row
            return
        self._write_update(row)

    def _write_update(self, row: dict[str, float]) -> None:
        self._updates.writerow([row[c] for c in self._update_columns])
        self.update_rows += 1
        self._unwritten = None
        for f in self._files:
            f.flush()

    def log_eval(self, row: dict[str, float]) -> None:
        self._evals.writerow([row[c] for c in m.EVAL_COLUMNS])

    def _close(self) -> list[OSError]:
        """Close every file, even when one fails (a full disk fails the flush inside close)."""
        errors = []
        for f in self._files:
            try:
                f.close()
            except OSError as err:
                errors.append(err)
        return errors

    def finish(self, summary: dict[str, Any], ended: Ended | None = None) -> None:
        ended = ended or Ended()
        if self._unwritten is not None:  # the run's last update always has its row
            self._write_update(self._unwritten)
        errors = self._close()
        if errors:  # the metrics did not all reach the disk: this run did not finish cleanly
            raise errors[0]
        write_json(self.run_dir / m.SUMMARY_FILE, summary)
        write_status(self.run_dir, Status.finished, env_step=ended.env_step, update=ended.update)

    def fail(self, error: BaseException, ended: Ended | None = None) -> None:
        """Record how the run stopped. The status is written even when closing the metric files
        fails (a full disk), since a run must never be left saying ``running``."""
        ended = ended or Ended()
        errors = self._close()
        outcome = outcome_of(error)
        reason = outcome.reason
        if errors:
            reason = f"{reason}; and writing the metric files failed: {errors[0]}"
        if ended.summary is not None:
            try:
                write_json(self.run_dir / m.SUMMARY_FILE, ended.summary)
            except OSError:
                pass  # the status below matters more
        write_status(self.run_dir, outcome.status, reason, outcome.signal, ended.env_step, ended.update)

    def signalled(self, signal: Interrupted, ended: Ended) -> None:
        """Called from the signal handler, before anything else: the status says interrupted
        (or preempted) at once, so a launcher that kills the process right after still leaves
        the truth behind."""
        outcome = outcome_of(signal)
        write_status(self.run_dir, outcome.status, outcome.reason, outcome.signal, ended.env_step, ended.update)


class Tracker:
    """Fans events out to the local files and any extra sinks."""

    def __init__(self, local: LocalFiles, extras: list[Sink] | None = None):
        self.local = local
        self.sinks: list[Sink] = [local, *(extras or [])]

    def _each(self, event: Callable[[Sink], None], name: str) -> None:
        """``event`` on every sink; an extra sink that raises is reported once and dropped."""
        for sink in list(self.sinks):
            try:
                event(sink)
            except Exception as err:  # noqa: BLE001 - an extra output must not end the run
                if sink is self.local:
                    raise
                log.warning("%s failed in %s (%s: %s); continuing with local files only",
                            type(sink).__name__, name, type(err).__name__, err)
                self.sinks.remove(sink)

    def log_episodes(self, episodes: Episodes) -> None:
        if len(episodes.returns):
            self._each(lambda sink: sink.log_episodes(episodes), "log_episodes")

    def log_update(self, row: dict[str, float]) -> None:
        self._each(lambda sink: sink.log_update(row), "log_update")

    def log_eval(self, row: dict[str, float]) -> None:
        self._each(lambda sink: sink.log_eval(row), "log_eval")

    def finish(self, summary: dict[str, Any], ended: Ended | None = None) -> None:
        self._each(lambda sink: sink.finish(summary, ended or Ended()), "finish")

    def fail(self, error: BaseException, ended: Ended | None = None) -> None:
        """Every sink records the failure, the local files first; one sink failing to (a full
        disk, W&B down) never stops the others."""
        for sink in self.sinks:
            try:
                sink.fail(error, ended or Ended())
            except Exception as err:  # noqa: BLE001 - already failing; report, go on
                log.warning("%s could not record the failure (%s: %s)", type(sink).__name__, type(err).__name__, err)

    def signalled(self, signal: Interrupted, ended: Ended) -> None:
        self.local.signalled(signal, ended)  # one small atomic write


def make_tracker(cfg: Config, raw_cfg: DictConfig, run_dir: Path, meta: dict, resume_at: Ended | None = None,
                 update_columns: tuple[str, ...] = m.UPDATE_COLUMNS) -> Tracker:
    local = LocalFiles(run_dir, resume_at, cfg.logger.update_rows, update_columns)
    extras: list[Sink] = []
    if cfg.logger.name is LoggerKind.wandb:
        try:
            from a2c_lab.runs.wandb_sink import WandbSink  # imported only when W&B is on

            extras.append(WandbSink(cfg, raw_cfg, run_dir, meta))
        except BaseException as err:  # e.g. online without credentials: the run never starts
            local.fail(err, Ended())  # status.json says failed, not running forever
            raise
    return Tracker(local, extras)


def _git(*args: str, cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def run_metadata(overrides: list[str]) -> dict[str, Any]:
    """Git commit and dirty flag of the a2c-lab source, package versions, host, command line."""
    source = Path(__file__).resolve().parent
    commit = _git("rev-parse", "HEAD", cwd=source)
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=source) if commit else None
    versions = {}
    for package in ("a2c-lab", "torch", "numpy", "gymnasium", "hydra-core", "wandb"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    versions["python"] = platform.python_version()
    return {
        "git_commit": commit,
        "git_dirty": bool(status) if commit else None,
        "versions": versions,
        "overrides": list(overrides),
        "command": sys.argv,
        "host": socket.gethostname(),
        "start_time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
