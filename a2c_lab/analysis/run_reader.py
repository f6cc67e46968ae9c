"""One run folder -> what the comparison can use of it, or why it cannot use it.

The analysis side's reader of the run-folder format (``a2c_lab.runs.run_folder`` defines it and
reads ``status.json``; this module reads the config and the metric files).

**Which folders.** A folder is a run folder when it holds ``run_config.yaml``,
``.hydra/config.yaml``, ``episodes.csv`` or ``status.json``; folders below a run are not
searched. Every folder found is reported, used or not.

**Which config.** ``run_config.yaml``, written by the run itself, is the config its metrics
belong to. ``.hydra/config.yaml`` is read only when there is none (runs older than it):
Hydra rewrites it for every command, refused ones included. The config is merged into the
schema (``a2c_lab.config.Config``): a key the schema lacks, a value of the wrong type or an
unknown enum value make the folder unusable, with the file and the key named; a key the
schema has and the file lacks (a run older than the key) takes the schema's default. Range
checks (``a2c_lab.validation``) are not applied: a run that ran keeps its results.

**Which runs.** ``finished`` and ``diverged`` runs are usable (a diverged run's files end at
its last good update). Every other status is a reason to leave the run out, in the words of
``RunStatus.describe``: ``running`` with its lock held is still running, ``running`` with a
free lock was killed. Old runs' ``status.json`` (``{"status", "error"}``) read the same, the
error as the reason.

**Which rows.** A metrics file that does not end in a newline was cut inside a line (a
killed run, a full disk): that partial line is dropped with a ``RunWarning`` and the rest is
used. Anything else unreadable leaves the run out.
"""

from __future__ import annotations

import functools
import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd
import yaml
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from a2c_lab.config import Config
from a2c_lab.runs import metrics as M
from a2c_lab.runs import run_folder
from a2c_lab.runs.run_folder import RUN_CONFIG_FILE, RunStatus, Status

HYDRA_CONFIG_FILE = Path(".hydra") / "config.yaml"  # Hydra's copy; authoritative only for older runs
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's is ~10x faster when present
USABLE = (Status.finished.value, Status.diverged.value)  # statuses whose metrics are results


class RunWarning(UserWarning):
    """A run folder that is skipped, or whose files disagree; the message names it."""


class NoRunsError(ValueError):
    """Nothing to compare: no run folders, or none that finished cleanly."""


class BadRun(Exception):
    """Why one run folder cannot be used (the message, without the folder's name)."""


def warn(message: str) -> None:
    warnings.warn(message, RunWarning, stacklevel=3)


def find_run_dirs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Run folders under ``paths`` (each path a run, a sweep, or any folder above them)."""
    found = []
    for path in map(Path, paths):
        if not path.is_dir():
            raise NoRunsError(f"{path}: no such folder")
        for dirpath, dirnames, filenames in os.walk(path):
            here = Path(dirpath)
            if ((here / HYDRA_CONFIG_FILE).is_file()
                    or {RUN_CONFIG_FILE, M.EPISODES_FILE, M.STATUS_FILE}.intersection(filenames)):
                found.append(here)
                dirnames.clear()
            else:
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    unique = {p.resolve(): p for p in found}  # nested or repeated paths name a folder once
    return sorted(unique.values())


def flatten_config(config: Mapping, prefix: str = "") -> dict:
    """{"agent": {"name": "split"}} -> {"agent.name": "split"}; lists become their str()."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value) if isinstance(value, list) else value
    return flat


@functools.lru_cache(maxsize=1)
def _schema():
    return OmegaConf.structured(Config)


def _merge(raw: Mapping) -> dict:
    merged = OmegaConf.merge(_schema(), raw)  # a new config: the cached schema is not changed
    return OmegaConf.to_container(merged, resolve=True, enum_to_str=True)


def _config_problem(error: Exception, raw: Mapping, name: str) -> str:
    """The merge error as one line naming the file and the key."""
    key = getattr(error, "full_key", "") or ""
    if not key:  # a whole section of the wrong type: find the top-level key that fails alone
        key = next((k for k, v in raw.items() if not _merges(k, v)), "")
    what = str(getattr(error, "msg", error)).splitlines()[0]
    if isinstance(error, ConfigKeyError) and " not in " in what:
        return (f"{name}: key {key!r} is not in a2c-lab's config schema "
                "(another project's config, or a key this version does not have)")
    return f"{name}: bad value for key {key!r}: {what}"


def _merges(key, value) -> bool:
    try:
        _merge({key: value})
    except (OmegaConfBaseException, ValueError, TypeError):
        return False
    return True


def config_path(run_dir: Path) -> Path:
    """The config file the run's metrics belong to (see the module docstring)."""
    own = run_dir / RUN_CONFIG_FILE
    return own if own.is_file() else run_dir / HYDRA_CONFIG_FILE


def read_config(run_dir: Path) -> dict:
    """The run's config merged into the schema, flattened to dotted keys."""
    path = config_path(run_dir)
    name = str(path.relative_to(run_dir))
    if not path.is_file():
        raise BadRun(f"no {RUN_CONFIG_FILE} or {HYDRA_CONFIG_FILE}")
    try:
        raw = yaml.load(path.read_text(), Loader=YAML_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise BadRun(f"unreadable {name}: {str(error).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise BadRun(f"{name} is not an a2c-lab config: not a mapping of keys")
    try:
        return flatten_config(_merge(raw))
    except (OmegaConfBaseException, ValueError, TypeError) as error:
        raise BadRun(_config_problem(error, raw, name)) from None


def read_status(run_dir: Path) -> RunStatus:
    """``run_folder.read_status``, with the older ``{"status", "error"}`` files read alike."""
    status = run_folder.read_status(run_dir)
    if "reason" not in status.record and status.record.get("error"):
        status.record["reason"] = status.record["error"]
    return status


def _status_problem(status: RunStatus) -> str | None:
    """Why a run with this status is not a result, or None when it is one."""
    if status.status in USABLE:
        return None
    if status.status == Status.running.value and status.live:
        return "still running (a live process holds its lock)"
    if status.status not in {s.value for s in Status}:
        return f"unknown status {status.status!r} in {M.STATUS_FILE}"
    return status.describe()


def read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRun(f"unreadable {path.name}: {error}") from None
    if not isinstance(value, dict):
        raise BadRun(f"unreadable {path.name}: not a JSON object")
    return value


def read_csv(path: Path, required: Sequence[str], optional: bool = False) -> pd.DataFrame:
    """Read one metrics file, refusing anything that could silently give wrong numbers.

    The writer ends every row with a newline, so a file that does not end in one was cut
    inside a row (a killed run, a full disk): its last number may be a prefix of the true
    one. That partial line is dropped, with a warning naming the folder.
    """
    if not path.is_file() or path.stat().st_size == 0:
        if optional:
            return pd.DataFrame()
        raise BadRun(f"{path.name} is missing or empty")
    source: Path | io.BytesIO = path
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        complete = file.read(1) == b"\n"
    if not complete:
        data = path.read_bytes()
        cut = data.rfind(b"\n") + 1
        warn(f"{path.parent}: {path.name} ends inside a line (a killed run or a full disk); "
             f"dropped that incomplete last line ({len(data) - cut} bytes)")
        if cut == 0:
            if optional:
                return pd.DataFrame()
            raise BadRun(f"{path.name} has no complete line, not even its header")
        source = io.BytesIO(data[:cut])
    try:
        frame = pd.read_csv(source)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        raise BadRun(f"unreadable {path.name}: {error}") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise BadRun(f"unreadable {path.name}: no column {', '.join(missing)}")
    if len(frame) == 0:
        return frame.astype(float)
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise BadRun(f"unreadable {path.name}: non-numeric values in {', '.join(text)}")
    if frame[list(required)].isna().any().any():
        raise BadRun(f"unreadable {path.name}: empty values in {', '.join(required)}")
    return frame


@dataclass
class RunRecord:
    """One run folder as read from disk; ``problem`` says why it cannot be used."""

    run_dir: Path
    config: dict | None = None  # flattened, merged into the schema; None when unreadable
    status: str = "unknown"  # status.json's status; "unknown" when there is none
    status_text: str = ""  # RunStatus.describe() of it
    problem: str | None = None
    episodes: pd.DataFrame | None = None
    updates: pd.DataFrame | None = None
    evals: pd.DataFrame | None = None
    summary: dict | None = None
    meta: dict | None = None  # meta.json (the env backend used, versions...); None when absent or unreadable

    @property
    def diverged(self) -> bool:
        return self.status == Status.diverged.value


def read_run(run_dir: Path) -> RunRecord:
    """Read one folder; never raises for what is in the folder, but sets ``problem``."""
    run = RunRecord(run_dir)
    try:
        status = read_status(run_dir)
        run.status, run.status_text = status.status or "unknown", status.describe()
        config_problem = None
        try:
            run.config = read_config(run_dir)
        except BadRun as problem:
            config_problem = str(problem)
        if status.status is None:
            if config_problem:  # a foreign folder: its config says why better than a missing status
                raise BadRun(config_problem)
            if not run_folder.holds_a_run(run_dir):
                raise BadRun(f"only Hydra's {HYDRA_CONFIG_FILE.parent}/ and no run files: "
                             "the command was refused or never started")
            raise BadRun(f"no {M.STATUS_FILE}, so it may not have finished")
        status_problem = _status_problem(status)
        if status_problem:
            raise BadRun(status_problem)
        if config_problem:
            raise BadRun(config_problem)
        run.episodes = read_csv(run_dir / M.EPISODES_FILE, (M.ENV_STEP, M.WALL_TIME, M.EPISODE_RETURN))
        run.updates = read_csv(run_dir / M.UPDATES_FILE, (M.ENV_STEP, M.WALL_TIME))
        run.evals = read_csv(run_dir / M.EVAL_FILE, (M.ENV_STEP, M.WALL_TIME), optional=True)
        run.summary = read_json(run_dir / M.SUMMARY_FILE)
        try:
            run.meta = read_json(run_dir / M.META_FILE)
        except BadRun:  # provenance only: the run's results stand without it
            run.meta = None
        if len(run.episodes) == 0:
            raise BadRun(f"no finished episodes in {M.EPISODES_FILE}"
                         + (" (it diverged before the first episode ended)" if run.diverged else ""))
    except BadRun as problem:
        run.problem = str(problem)
    except OSError as error:  # permissions, a vanished file, an I/O error
        run.problem = f"unreadable: {error}"
    return run
