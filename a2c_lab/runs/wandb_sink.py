"""W&B as an extra output of the Tracker (the local files stay the source of truth).

Only this module imports ``wandb``, and ``tracking.make_tracker`` imports this module only
when ``logger=wandb``: with ``logger=none`` W&B is never loaded.

How a run is organised in W&B (its id, group, job type, name, tags and config): see
a2c_lab.runs.wandb_names.

What is logged, every chart against ``env_step``:

* one point per ``logger.log_interval`` updates (a window), at the window's last env step
  and wall time, holding the mean of each update metric over the window and the mean
  return and length of the episodes that ended in it (none if no episode ended);
  with ``logger.episode_points=each``, every episode instead gets a point of its own at
  the env step where it ended;
* every evaluation; the end-of-run summary as the W&B summary. The partial window is
  flushed at the end, on success or failure.

Why windows: a ``wandb.log`` call costs about 0.45 ms of CPU (0.25 in this process, 0.2 in
W&B's service process) and blocks until W&B's I/O thread has taken the point: inside the
training loop it measured 0.9 ms of wall time a call. At the default config (5,000 updates,
1,300 episodes) on a shared 2-core machine, a point per episode plus one per window cost
about 22% of the wall time. Windows of 10 updates cost about 4% of the training loop once
the loop ran at 25k env steps/s, hence the default of 50 (about 1%).
``scripts/wandb_overhead.py`` and the benchmark's tracking section measure it. The local
files keep every update and episode.

A failing W&B call never costs the local files: the Tracker drops a sink that raises, and
this sink closes its W&B run as failed before re-raising, so the run is never left open.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, Iterator

import wandb
from omegaconf import DictConfig

from a2c_lab.config import Config, EpisodePoints
from a2c_lab.runs import metrics as m
from a2c_lab.runs.episode_stats import Episodes
from a2c_lab.runs.outcomes import outcome_of
from a2c_lab.runs.run_folder import Status
from a2c_lab.runs.wandb_names import group_name, run_config, run_id, run_name, run_tags, variant

log = logging.getLogger(__name__)

# Legacy spellings W&B still accepts in WANDB_MODE.
_MODE_ALIASES = {"dryrun": "offline", "run": "online"}
_MODES = ("offline", "online", "disabled")
# The default Hydra folders start with ${now:%Y-%m-%d_%H-%M-%S} (conf/config.yaml).
# Update metrics are averaged over a log window; env_step and wall_time are the window's last.
_LAST = (m.ENV_STEP, m.WALL_TIME)
ERROR_KEY = "error"  # summary key: why the run did not finish (status.json's reason)
STATUS_KEY = "status"  # summary key: the run's status, as in status.json


class WandbStartError(RuntimeError):
    """W&B cannot start the run as configured; raised before training starts."""


def resolve_mode(configured: Any) -> str:
    """``WANDB_MODE`` if set, else ``logger.mode``; one of offline, online, disabled."""
    raw = os.environ.get("WANDB_MODE") or (configured.value if isinstance(configured, Enum) else str(configured))
    mode = _MODE_ALIASES.get(raw.strip().lower(), raw.strip().lower())
    if mode not in _MODES:
        raise WandbStartError(f"W&B mode {raw!r} (from WANDB_MODE or logger.mode); allowed: {', '.join(_MODES)}")
    return mode


def require_credentials() -> None:
    """Fail now, not after training, when an online run has no W&B credentials."""
    # Reads WANDB_API_KEY, W&B's settings files and .netrc; never prompts, no network call.
    if not wandb.login(prompt=False, verify=False):
        raise WandbStartError(
            "W&B online mode was asked for (logger.mode=online or WANDB_MODE=online) but no W&B "
            "credentials were found. Set WANDB_API_KEY or run `wandb login`; or keep the run local: "
            "logger.mode=offline (the default; upload later with `wandb sync`) or logger=none (W&B off).")


class WandbSink:
    """One W&B run per a2c-lab run; implements ``tracking.Sink``."""

    def __init__(self, cfg: Config, raw_cfg: DictConfig, run_dir: Path, meta: dict[str, Any]):
        self.interval = cfg.logger.log_interval
        self.each_episode = cfg.logger.episode_points is EpisodePoints.each
        self._closed = False
        self._reset_window()
        mode = resolve_mode(cfg.logger.mode)
        if mode == "online":
            require_credentials()
        try:
            self.run = wandb.init(
                project=cfg.logger.project, entity=cfg.logger.entity,
                group=group_name(cfg, Path(meta.get("launch_dir") or run_dir)),
                job_type=variant(cfg), name=run_name(cfg), tags=run_tags(cfg), config=run_config(raw_cfg, meta),
                id=run_id(run_dir), resume="allow", dir=str(run_dir), mode=mode,
                # Several live runs in one process (a group's seeds), each used through its own
                # run object; a reused worker process still never mixes two jobs into one run.
                reinit="create_new",
            )
            self.run.define_metric(m.ENV_STEP)
            self.run.define_metric("*", step_metric=m.ENV_STEP)
        except Exception as err:
            raise WandbStartError(
                f"W&B could not start a {mode} run ({type(err).__name__}: {err}). "
                "Use logger.mode=offline (no account or network needed) or logger=none (W&B off).") from err

    # --- events -----------------------------------------------------------------------------

    def log_episodes(self, episodes: Episodes) -> None:
        if self.each_episode:
            with self._closing_on_error():
                for values in zip(episodes.env_step.tolist(), episodes.wall_time.tolist(),
                                  episodes.returns.tolist(), episodes.lengths.tolist()):
                    self.run.log(dict(zip(m.EPISODE_COLUMNS, values)))
        else:
            self._episodes += len(episodes.returns)
            self._return_sum += float(episodes.returns.sum())
            self._length_sum += float(episodes.lengths.sum())

    def log_update(self, row: dict[str, float]) -> None:
        sums = self._sums
        for key, value in row.items():
            if key not in _LAST:
                sums[key] = sums.get(key, 0.0) + value
        self._updates += 1
        self._last = row
        if self._updates >= self.interval:
            with self._closing_on_error():
                self._flush_window()

    def log_eval(self, row: dict[str, float]) -> None:
        with self._closing_on_error():
            self.run.log({c: row[c] for c in m.EVAL_COLUMNS})

    def finish(self, summary: dict[str, Any], ended: Any = None) -> None:
        if self._closed:
            return
        with self._closing_on_error():  # a W&B error here still marks the W&B run failed
            self._flush_window()
            self.run.summary.update(summary)
            self.run.summary[STATUS_KEY] = Status.finished.value
        self._closed = True
        self.run.finish()

    def fail(self, error: BaseException, ended: Any = None) -> None:
        """Close the W&B run as failed, with the run's exit code (diverged 3, a signal 128 + n,
        an error 1) and its status and reason in the summary, as in status.json."""
        if self._closed:
            return
        self._closed = True
        outcome = outcome_of(error)
        try:
            try:
                self._flush_window()  # the updates since the last point are real data too
                if ended is not None and ended.summary:
                    self.run.summary.update(ended.summary)
            finally:
                self.run.summary[ERROR_KEY] = outcome.reason
                self.run.summary[STATUS_KEY] = outcome.status.value
        finally:
            self.run.finish(exit_code=outcome.exit_code or 1)

    # --- internals --------------------------------------------------------------------------

    def _reset_window(self) -> None:
        self._sums: dict[str, float] = {}
        self._updates = 0
        self._episodes = 0
        self._return_sum = 0.0
        self._length_sum = 0.0

    def _flush_window(self) -> None:
        """Log one point summarising the window, at its last update's env step and wall time."""
        if not self._updates:  # the trainer logs an update after every rollout's episodes
            return
        n, sums = self._updates, self._sums
        point = {m.ENV_STEP: self._last[m.ENV_STEP], m.WALL_TIME: self._last[m.WALL_TIME]}
        point.update((key, total / n) for key, total in sums.items())
        if self._episodes:
            point[m.EPISODE_RETURN] = self._return_sum / self._episodes
            point[m.EPISODE_LENGTH] = self._length_sum / self._episodes
        self._reset_window()
        self.run.log(point)

    @contextmanager
    def _closing_on_error(self) -> Iterator[None]:
        """On a W&B error: close the W&B run as failed, then re-raise (the Tracker drops this sink).

        Without this the W&B run would stay open until the process exits or the next job's
        init finishes it.
        """
        try:
            yield
        except Exception as err:
            if not self._closed:
                self._closed = True
                try:
                    self.run.summary[ERROR_KEY] = f"W&B logging failed: {type(err).__name__}: {err}"
                    self.run.finish(exit_code=1)
                except Exception as close_err:  # noqa: BLE001 - already failing; report the first error
                    log.warning("could not close the W&B run after an error (%s: %s)",
                                type(close_err).__name__, close_err)
            raise
