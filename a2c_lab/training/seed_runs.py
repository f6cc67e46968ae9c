"""Each seed of a training group: its tracker, episode history, counts, checkpoints and result,
and which seeds still train. The loop (``a2c_lab.training.trainer``) reads and updates it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from a2c_lab.runs import checkpoint
from a2c_lab.runs import metrics as m
from a2c_lab.runs.episode_stats import EpisodeHistory
from a2c_lab.runs.outcomes import Diverged, Interrupted
from a2c_lab.runs.tracking import Ended, Tracker
from a2c_lab.training.agents import A2C
from a2c_lab.training.normalization import Normalizer
from a2c_lab.training.policy import saved_policy
from a2c_lab.training.seeding import Streams


class SeedRuns:
    """Each seed's tracker, episode history, counts, checkpoints and result; which seeds still train."""

    def __init__(self, trackers: list[Tracker], seed_streams: list[Streams], threshold: float | None,
                 segments: list[int], run_dirs: list[Path]):
        self.normalizer: Normalizer | None = None  # the group's, once its envs are built
        self.trackers = trackers
        self.streams = seed_streams
        self.threshold = threshold
        self.segments = segments
        self.run_dirs = run_dirs
        self.histories = [EpisodeHistory() for _ in trackers]
        self.ended = [Ended() for _ in trackers]
        self.next_eval: list[int | None] = [None] * len(trackers)
        self.results: list[dict[str, Any] | Diverged | None] = [None] * len(trackers)
        self.checkpoint_seconds: list[float] = []  # time of each checkpoint of the group

    @property
    def active(self) -> list[int]:
        return [s for s, result in enumerate(self.results) if result is None]

    def summary(self, s: int) -> dict[str, Any]:
        ended = self.ended[s]
        return self.histories[s].summary(ended.env_step, ended.wall_time, self.threshold)

    def checkpoint(self, agent: A2C, seeds: list[int]) -> None:
        """Each seed's state after its last logged update, with every row up to it on disk."""
        began = time.perf_counter()
        for s in seeds:
            self.trackers[s].local.flush()
            ended = self.ended[s]
            checkpoint.save(self.run_dirs[s], checkpoint.seed_state(
                agent, s, env_step=ended.env_step, update=ended.update, wall_time=ended.wall_time,
                next_eval=self.next_eval[s], segment=self.segments[s], update_rows=self.trackers[s].local.update_rows,
                normalizer=self.normalizer))
        self.checkpoint_seconds.append(time.perf_counter() - began)

    def finish(self, s: int, agent: A2C) -> None:
        self.checkpoint(agent, [s])
        summary = self.summary(s)
        torch.save(saved_policy(agent, s, self.normalizer), self.run_dirs[s] / m.MODEL_FILE)
        self.trackers[s].finish(summary, self.ended[s])
        self.results[s] = summary

    def diverge(self, s: int, err: Diverged) -> None:
        self.ended[s].summary = self.summary(s)  # a result: the performance reached before it
        self.trackers[s].fail(err, self.ended[s])
        self.results[s] = err

    def fail_active(self, err: BaseException) -> None:
        for s in self.active:
            self.trackers[s].fail(err, self.ended[s])

    def signalled(self, signal: Interrupted) -> None:
        for s in self.active:
            self.trackers[s].signalled(signal, self.ended[s])
