"""Whether a run folder starts a run, resumes one, or is left as it is (``resume=auto``).

A folder that holds a run is resumed only when the run's config (its ``run_config.yaml``) is the
new one, ``config.BOOKKEEPING_KEYS`` aside; any other difference is refused naming the keys.
Then: a finished (or diverged) run is skipped and its result returned, nothing rewritten; an
unfinished one continues from its checkpoint (a2c_lab.runs.checkpoint), or starts again from update 0
in its folder when it was stopped before its first checkpoint.

Exactly once in the local files: before a resumed segment appends to them, ``updates.csv`` is
cut to the checkpoint's update count and ``episodes.csv`` and ``eval.csv`` to the rows at or
before its env step: what the stopped segment logged after its checkpoint is dropped and
computed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from omegaconf import DictConfig, OmegaConf

from a2c_lab.config import BOOKKEEPING_KEYS, under
from a2c_lab.runs import checkpoint
from a2c_lab.runs import metrics as m
from a2c_lab.runs.outcomes import Diverged
from a2c_lab.runs.run_folder import RUN_CONFIG_FILE, FolderTaken, Status, holds_a_run, read_status, write_atomic


@dataclass
class Plan:
    kind: str  # "fresh" (start at update 0), "resume" (from ``state``) or "skip" (``result``)
    state: dict[str, Any] | None = None
    result: dict[str, Any] | Diverged | None = None

    @property
    def update(self) -> int:
        return self.state["update"] if self.state else 0


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out if out or not prefix else {prefix[:-1]: {}}
    return {prefix[:-1]: tree}


def config_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The dotted keys whose values differ (``key: old -> new``), bookkeeping keys left out."""
    a, b = _flat(old), _flat(new)
    return [f"{k}: {a.get(k, '<absent>')} -> {b.get(k, '<absent>')}" for k in sorted(set(a) | set(b))
            if not under(k, BOOKKEEPING_KEYS) and a.get(k, "<absent>") != b.get(k, "<absent>")]


def _as_saved(cfg: DictConfig) -> dict[str, Any]:
    """The config as run_config.yaml holds it (resolved, enums as their names)."""
    return OmegaConf.to_container(OmegaConf.create(OmegaConf.to_yaml(cfg, resolve=True)))  # type: ignore[return-value]


def plan(run_dir: Path, raw_cfg: DictConfig) -> Plan:
    """What to do in a folder that this process has claimed, with ``resume=auto``."""
    run_dir = Path(run_dir)
    if not holds_a_run(run_dir):
        return Plan("fresh")
    saved = run_dir / RUN_CONFIG_FILE
    if not saved.exists():
        raise FolderTaken(f"run folder {run_dir} holds a run without its {RUN_CONFIG_FILE} "
                          f"({read_status(run_dir).describe()}), so it cannot be resumed; choose another folder "
                          "(hydra.run.dir=...), or pass overwrite=true to delete that run and start again in it")
    differences = config_differences(OmegaConf.to_container(OmegaConf.load(saved)), _as_saved(raw_cfg))
    if differences:
        raise FolderTaken(
            f"run folder {run_dir} already holds a run of another config, so resume=auto cannot continue it; "
            "differing keys: "
            + "; ".join(differences) + ". Run the same config to resume it (only "
            + ", ".join(BOOKKEEPING_KEYS) + " may differ), choose another folder (hydra.run.dir=...), "
            "or pass overwrite=true to delete that run")
    status = read_status(run_dir)
    if status.status == Status.finished.value:
        return Plan("skip", result=json.loads((run_dir / m.SUMMARY_FILE).read_text()))
    if status.status == Status.diverged.value:
        return Plan("skip", result=Diverged(f"recorded before in {run_dir}: {status.record.get('reason')}"))
    state = checkpoint.load(run_dir)
    return Plan("resume", state) if state is not None else Plan("fresh")


def _rewrite(path: Path, header: tuple[str, ...], keep: Callable[[int, bytes], bool]) -> int:
    """Keep the header and the complete rows (ending in a newline) that ``keep(index, row)``
    accepts; written atomically. Returns the rows kept."""
    lines = path.read_bytes().splitlines(keepends=True) if path.exists() else []
    head = lines[0] if lines and lines[0].endswith(b"\n") else (",".join(header) + "\r\n").encode()
    rows = [line for i, line in enumerate(lines[1:]) if line.endswith(b"\n") and keep(i, line)]
    write_atomic(path, head + b"".join(rows))
    return len(rows)


def _env_step(row: bytes) -> float:
    return float(row.split(b",", 1)[0])


def cut_metrics(run_dir: Path, update_rows: int, env_step: int) -> None:
    """Cut the metric files back to a checkpoint taken with ``update_rows`` rows in updates.csv
    (one per update unless ``logger.update_rows`` dropped some), at ``env_step``."""
    run_dir = Path(run_dir)
    kept = _rewrite(run_dir / m.UPDATES_FILE, m.UPDATE_COLUMNS, lambda i, _: i < update_rows)
    if kept != update_rows:
        raise checkpoint.CheckpointError(
            f"{run_dir / m.UPDATES_FILE} holds {kept} complete rows, fewer than the checkpoint's {update_rows}")
    _rewrite(run_dir / m.EPISODES_FILE, m.EPISODE_COLUMNS, lambda _, row: _env_step(row) <= env_step)
    _rewrite(run_dir / m.EVAL_FILE, m.EVAL_COLUMNS, lambda _, row: _env_step(row) <= env_step)


def episode_history(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The env steps and returns of the episodes in a (cut) episodes.csv."""
    import csv

    with open(Path(run_dir) / m.EPISODES_FILE, newline="") as file:
        rows = list(csv.DictReader(file))
    return (np.array([int(float(r[m.ENV_STEP])) for r in rows], dtype=np.int64),
            np.array([float(r[m.EPISODE_RETURN]) for r in rows]))
