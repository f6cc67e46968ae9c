"""Variant labels: which config keys tell the loaded runs apart, and the label each run gets.

A run's config is read flattened to dotted keys (``run_reader.flatten_config``). Labels are
built from the keys whose values differ between runs of the same task, never from folder
names; the design axes come first, in ``config.AXES`` order (the order W&B's job_type uses),
then the experiment preset's name, then any other key alphabetically.
"""

from __future__ import annotations

from typing import Sequence

from a2c_lab.config import AXES, BOOKKEEPING_KEYS, under

# Config keys that identify a run's place in the comparison, in the order labels use them.
AXIS_PRIORITY = (*AXES, "experiment_name")
# Config keys (each with its subtree) that are never design axes: the seed is the replicate,
# the task is the panel, evaluation and the bookkeeping keys do not change what is learned.
NOT_AXES = ("seed", "task", "eval", *BOOKKEEPING_KEYS)
# Short names the command line accepts for --hue: each axis by its group's name, and a few more.
KEY_ALIASES = {
    **{key.split(".")[0]: key for key in AXES},
    "num_envs": "envs.num_envs", "lam": "advantage.lam", "experiment": "experiment_name",
}


def is_axis(key: str) -> bool:
    """False for NOT_AXES keys and their subtrees (``logger`` covers ``logger.mode``)."""
    return not under(key, NOT_AXES)


def varying_keys(configs: Sequence[dict]) -> list[str]:
    """Config keys (flattened, dotted) whose values differ between runs of the same task.

    Keys that differ only from one task to another (total_steps, say) are not axes: tasks
    are never compared with each other. The seed, the task, and settings that do not
    change what is learned (logger, eval, device...) are never axes. Keys are ordered by
    AXIS_PRIORITY, then alphabetically.
    """
    keys = {k for c in configs for k in c if is_axis(k)}
    by_task: dict = {}
    for c in configs:
        by_task.setdefault(c.get("task.id"), []).append(c)
    varying = [k for k in keys if any(len({repr(c.get(k)) for c in group}) > 1 for group in by_task.values())]
    rank = {k: i for i, k in enumerate(AXIS_PRIORITY)}
    return sorted(varying, key=lambda k: (rank.get(k, len(rank)), k))


def _partition_size(configs: Sequence[dict], keys: Sequence[str]) -> int:
    """How many groups the runs fall into when split by task and ``keys``."""
    return len({tuple(repr(c.get(k)) for k in ("task.id", *keys)) for c in configs})


def distinguishing_keys(configs: Sequence[dict], candidates: Sequence[str], start: Sequence[str] = ()) -> list[str]:
    """The keys from ``candidates`` (in order) that, added to ``start``, split each task's
    runs into as many groups as all candidates do: a short label that still tells every
    distinct configuration apart (``advantage.lam`` adds nothing once ``advantage.name``
    says td, nstep or gae)."""
    target = _partition_size(configs, [*start, *candidates])
    chosen: list[str] = []
    for key in candidates:
        current = _partition_size(configs, [*start, *chosen])
        if current == target:
            break
        if _partition_size(configs, [*start, *chosen, key]) > current:
            chosen.append(key)
    return chosen


def label(config: dict, keys: Sequence[str]) -> str:
    """A run's label: the values of ``keys`` in its (flattened) config, comma-separated. A
    preset's name speaks for itself; any other key needs its name beside the value."""
    return ", ".join(str(config.get(k)) if k.endswith(".name") or k == "experiment_name" else f"{k}={config.get(k)}"
                     for k in keys)


def resolve_key(key: str, configs: Sequence[dict]) -> str:
    """A --hue name (``agent``, ``num_envs``, or a dotted config key) -> the config key."""
    full = KEY_ALIASES.get(key, key)
    if full.startswith("task."):
        raise ValueError(f"{key}: tasks are always separate panels, not variants")
    if not any(full in c for c in configs):
        known = sorted({k for c in configs for k in c if is_axis(k)})
        raise ValueError(f"unknown config key {key!r}; keys in these runs: {', '.join(known)}")
    return full
