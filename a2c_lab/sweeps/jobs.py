"""A sweep's jobs and the groups they train in: the two records the sweeper builds and the
sweep's end reads. They live below both so that neither module imports the other."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Job:
    num: int  # the job number hydra/sweeper=basic gives it
    overrides: list[str]
    seed: int
    run_dir: str  # absolute
    group: int | None = None


@dataclass
class Group:
    num: int  # also its launcher job number and its folder: <sweep>/.groups/<num>
    jobs: list[Job]
    overrides: list[str] = field(default_factory=list)
