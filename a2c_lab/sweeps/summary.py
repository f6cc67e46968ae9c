"""The end of a grouped sweep: each job's outcome read from its run folder, the one-screen
summary (with the jobs that were resumed, and how their earlier segment ended: preempted,
interrupted, killed), and the sweep's exit code (0 only if every job finished)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from a2c_lab.runs import metrics as M
from a2c_lab.runs.run_folder import Status, read_status
from a2c_lab.sweeps.groups import GROUPS_DIR
from a2c_lab.sweeps.jobs import Group, Job

PLAN_FILE = "sweep_plan.yaml"
SUMMARY_FILE = "sweep_summary.txt"
EXIT_INCOMPLETE = 1  # some job did not finish (failed, diverged, interrupted, never started)
CATEGORIES = ("finished", "diverged", "interrupted", "failed", "never started")
_REASONS_SHOWN = 5  # reason lines per category on screen; the folder list is always complete


def outcome(run_dir: str | Path) -> tuple[str, str | None]:
    """A run folder's category in the summary, and why it is not finished."""
    status = read_status(Path(run_dir))
    reason = status.record.get("reason")
    if status.status is None:
        return "never started", None
    if status.status == Status.not_started.value:
        return "never started", reason
    if status.status == Status.finished.value:
        return "finished", None
    if status.status == Status.diverged.value:
        return "diverged", reason
    if status.status in (Status.interrupted.value, Status.preempted.value):
        signal = status.record.get("signal")
        return "interrupted", " ".join(str(x) for x in (status.status, signal, reason) if x)
    if status.dead:
        return "failed", status.describe()
    if status.status == Status.running.value:
        return "failed", f"still running (pid {status.record.get('pid')}) when the sweep ended"
    return "failed", reason or status.describe()


def resumed_after(run_dir: str | Path) -> str | None:
    """How the segment before this one ended (preempted, interrupted, killed...) if the run in
    the folder was resumed, from its meta.json; None for a run that never stopped."""
    try:
        meta = json.loads((Path(run_dir) / M.META_FILE).read_text())
    except (OSError, ValueError):
        return None
    resumed = meta.get("resumed_from") if isinstance(meta, dict) else None
    return str(resumed.get("status") or "stopped") if isinstance(resumed, dict) else None


def folder_list(names: list[str]) -> str:
    """``0 1 2 3 5`` -> ``0-3, 5``; other names as they are."""
    parts: list[str] = []
    run: list[int] = []

    def close() -> None:
        if run:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
            run.clear()

    for name in names:
        if name.isdigit() and (not run or int(name) == run[-1] + 1):
            run.append(int(name))
            continue
        close()
        if name.isdigit():
            run.append(int(name))
        else:
            parts.append(name)
    close()
    return ", ".join(parts)


def summary_text(jobs: list[Job], sweep_dir: Path, n_groups: int, errors: list[str]) -> tuple[str, int]:
    """The one-screen summary and the sweep's exit code."""
    found: dict[str, list[tuple[Job, str | None]]] = {c: [] for c in CATEGORIES}
    for job in jobs:
        category, reason = outcome(job.run_dir)
        found[category].append((job, reason))

    def name(job: Job) -> str:
        rel = os.path.relpath(job.run_dir, sweep_dir)
        return job.run_dir if rel.startswith("..") else rel

    lines = [f"Sweep summary: {_count(len(jobs), 'job')} in {_count(n_groups, 'group')}; run folders under {sweep_dir}/ "
             f"(plan: {PLAN_FILE})"]
    for category in CATEGORIES:
        entries = found[category]
        lines.append(f"  {category:<14}{len(entries):>4}  {folder_list([name(j) for j, _ in entries])}".rstrip())
        if category == "finished":
            continue
        for job, reason in entries[:_REASONS_SHOWN]:
            first_line = (reason or "no status.json: the job never ran").strip().splitlines()[0]
            lines.append(f"      {name(job)} (seed {job.seed}): {first_line[:110]}")
        if len(entries) > _REASONS_SHOWN:
            lines.append(f"      ... and {len(entries) - _REASONS_SHOWN} more")
    resumed = [(job, after) for job in jobs if (after := resumed_after(job.run_dir)) is not None]
    if resumed:
        afters = {}
        for _, after in resumed:
            afters[after] = afters.get(after, 0) + 1
        lines.append(f"  {'resumed':<14}{len(resumed):>4}  {folder_list([name(j) for j, _ in resumed])}  (after: "
                     + ", ".join(f"{what} {n}" for what, n in sorted(afters.items())) + ")")
    lines += [f"  group job error: {e[:140]}" for e in errors]
    unfinished = len(jobs) - len(found["finished"])
    code = EXIT_INCOMPLETE if unfinished else 0
    lines.append(f"Exit code {code}: " + (f"{unfinished} of {len(jobs)} jobs did not finish." if unfinished
                                           else "every job finished."))
    return "\n".join(lines), code


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def group_errors(groups: list[Group], returns: Sequence[Any]) -> list[str]:
    """Errors of group jobs other than their seeds' own failures (those are in the run folders)."""
    from hydra.core.utils import JobStatus

    from a2c_lab.runs.outcomes import Diverged

    errors = []
    for group, ret in zip(groups, returns):
        # ``_return_value``, not ``return_value``: the property logs "Error executing job" with the
        # group's overrides and re-raises, which says nothing the summary does not say better.
        err = getattr(ret, "_return_value", None)
        if getattr(ret, "status", None) == JobStatus.FAILED and not isinstance(err, Diverged):  # seeds' own
            errors.append(f"{GROUPS_DIR}/{group.num}: {type(err).__name__}: {err}")
    return errors
