"""Per-seed checkpoints: everything a seed needs to continue its run exactly where it stopped.

A seed's checkpoint lives in its own run folder (``checkpoint.pt``; the one before it is kept
as ``checkpoint.prev.pt``), even when seeds train grouped: a resumed sweep may group its seeds
differently, and each seed resumes from its own file. It holds, for that seed alone:

* its slice of every model parameter ([S, ...] stacked -> [...]);
* its slice of every optimizer state tensor (Adam's exp_avg and exp_avg_sq, RMSprop's
  square_avg) and the optimizer's step count (the group's update count: one per group);
* its acting generator's state (numpy's ``bit_generator.state``: a dict of ints and a string);
* its observation and reward normalisation statistics (``normalizer``: float64 tensors; empty
  with ``obs_norm=none``);
* the number of rows in its updates.csv (``update_rows``: one per update unless
  ``logger.update_rows`` drops some), where resume cuts the file;
* env_step, update (which also gives the learning-rate schedule's progress), wall_time, the
  env step of its next evaluation, and the segment that wrote it (0 for the first run, then
  one more per resume; the envs of segment k are reset from their own child stream).

The envs' own state is not saved: a resumed segment resets its envs, so episodes in progress
at the checkpoint are cut, not counted. The episode history is read back from episodes.csv.

Written atomically (temp file, fsync, rename), so a half-written file is never the latest;
loaded with ``torch.load(weights_only=True)`` (a checkpoint is data, never code). A latest
file that cannot be read falls back to the previous one, with a warning naming the file.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import torch

from a2c_lab.runs.run_folder import write_atomic

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
PREVIOUS_FILE = "checkpoint.prev.pt"
FORMAT = 2  # 2: the normalisation statistics; a Gaussian policy's log_std among the params
KEYS = ("format", "params", "optimizers", "rng", "normalizer", "env_step", "update", "update_rows", "wall_time",
        "next_eval", "segment")


class CheckpointError(RuntimeError):
    """No readable checkpoint where one was expected; the message names the files."""


def seed_state(agent: Any, s: int, *, env_step: int, update: int, wall_time: float, next_eval: int | None,
               segment: int, update_rows: int | None = None, normalizer: Any = None) -> dict[str, Any]:
    """Seed ``s``'s share of the group's state, as plain tensors, ints, floats, strings and dicts.
    ``update_rows``: rows of its updates.csv (None: one per update)."""
    params = [p.detach()[s].cpu().clone() for p in agent.model.weights]
    optimizers = []
    for optimizer, params_of_group in zip(agent.optimizers, agent.groups):
        states = []
        for p in params_of_group:
            state = optimizer.state.get(p, {})
            states.append({key: (value[s].cpu().clone() if torch.is_tensor(value) and value.shape == p.shape else
                                 (value.cpu().clone() if torch.is_tensor(value) else value))
                           for key, value in state.items()})
        optimizers.append(states)
    return {"format": FORMAT, "params": params, "optimizers": optimizers,
            "rng": agent.rngs[s].bit_generator.state,
            "normalizer": {} if normalizer is None else
            {k: torch.from_numpy(v) for k, v in normalizer.seed_state(s).items()},
            "env_step": int(env_step), "update": int(update), "update_rows": int(update if update_rows is None else update_rows),
            "wall_time": float(wall_time), "next_eval": None if next_eval is None else int(next_eval),
            "segment": int(segment)}


def save(run_dir: Path, state: dict[str, Any]) -> None:
    """Write ``checkpoint.pt`` atomically; the one it replaces becomes ``checkpoint.prev.pt``."""
    run_dir = Path(run_dir)
    latest = run_dir / CHECKPOINT_FILE
    buffer = io.BytesIO()
    torch.save(state, buffer)
    if latest.exists():  # a crash from here on leaves the previous one, which load() falls back to
        os.replace(latest, run_dir / PREVIOUS_FILE)
    write_atomic(latest, buffer.getvalue())
    _fsync_dir(run_dir)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class OldFormat(CheckpointError):
    """A checkpoint an earlier a2c-lab wrote, which this one cannot continue."""


def _read(path: Path) -> dict[str, Any]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("format"), int) and state["format"] < FORMAT:
        raise OldFormat(
            f"{path} is a checkpoint of format {state['format']}, written by an earlier a2c-lab; this one "
            f"writes format {FORMAT} (it adds the normalisation statistics) and cannot continue it: finish the "
            "run with the a2c-lab that started it, or start it again (overwrite=true, or a new folder)")
    if not isinstance(state, dict) or state.get("format") != FORMAT or any(k not in state for k in KEYS):
        raise ValueError(f"not an a2c-lab checkpoint of format {FORMAT}")
    return state


def exists(run_dir: Path) -> bool:
    return any((Path(run_dir) / name).exists() for name in (CHECKPOINT_FILE, PREVIOUS_FILE))


def load(run_dir: Path) -> dict[str, Any] | None:
    """The newest readable checkpoint of the folder; None when it has none. A latest file that
    cannot be read falls back to the previous one with a warning; CheckpointError if neither reads."""
    errors = []
    for name in (CHECKPOINT_FILE, PREVIOUS_FILE):
        path = Path(run_dir) / name
        if not path.exists():
            continue
        try:
            state = _read(path)
        except OldFormat:
            raise
        except Exception as err:  # noqa: BLE001 - any unreadable file: try the previous one
            errors.append(f"{path}: {type(err).__name__}: {err}")
            log.warning("checkpoint %s cannot be read (%s: %s); trying the previous one", path, type(err).__name__, err)
            continue
        if errors:
            log.warning("resuming from the previous checkpoint %s (update %d)", path, state["update"])
        return state
    if errors:
        raise CheckpointError("no readable checkpoint: " + "; ".join(errors))
    return None


def restore(agent: Any, states: list[dict[str, Any]], normalizer: Any = None) -> None:
    """Put each seed's saved state into its slice of the agent (model, optimizers, acting
    generator) and of the normalizer. The seeds' step counts must agree: a group shares its
    optimizers' step."""
    updates = {st["update"] for st in states}
    if len(updates) != 1:
        raise ValueError(f"seeds of one group must resume from the same update; got {sorted(updates)}")
    with torch.no_grad():
        for k, p in enumerate(agent.model.weights):
            p.copy_(torch.stack([st["params"][k] for st in states]).to(p.device))
    for o, (optimizer, params) in enumerate(zip(agent.optimizers, agent.groups)):
        saved = optimizer.state_dict()
        state = {}
        for i, p in enumerate(params):
            per_seed = [st["optimizers"][o][i] for st in states]
            if not per_seed[0]:
                continue  # no step taken yet
            entry = {}
            for key, value in per_seed[0].items():
                if torch.is_tensor(value) and value.dim() > 0 and value.shape == p.shape[1:]:
                    entry[key] = torch.stack([ps[key] for ps in per_seed]).to(p.device)
                else:
                    entry[key] = value  # the step count, shared by the group
            state[i] = entry
        saved["state"] = state
        optimizer.load_state_dict(saved)
    for rng, st in zip(agent.rngs, states):
        rng.bit_generator.state = st["rng"]
    if normalizer is not None:
        for s, st in enumerate(states):
            normalizer.load_seed_state(s, {k: v.numpy() for k, v in st["normalizer"].items()})
