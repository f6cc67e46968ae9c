"""The reference study's parts: each one Hydra multirun (``python -m a2c_lab.run -m ...``) of one
axis from the base, with its seeds, in the order they ran. The design (base config, seeds,
budgets, headline comparisons) is in results/study/README.md and was fixed before the first run;
``a2c_lab.study.comparisons`` says which runs each comparison reads.

Running a part again resumes its unfinished runs from their checkpoints and skips its finished
ones (``resume=auto``), so an interrupted study is continued by the same command.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HEADLINE_SEEDS = list(range(20))  # the comparisons named before running
AXIS_SEEDS = list(range(10))  # every other variant
COMMON = ["logger=none", "progress=false"]
# The study's base is the default config as it ran (commit f4a861d): no gradient clipping. The
# defaults chosen from the study clip at 0.5, so each part pins the base's value unless it sets one.
STUDY_BASE = {"agent.max_grad_norm": "null"}


@dataclass(frozen=True)
class Part:
    """One multirun: ``overrides`` (Hydra sweep syntax) x ``seeds``, into runs/study/<name>."""

    name: str
    overrides: tuple[str, ...]
    seeds: tuple[int, ...]
    grouped: bool = True  # seeds train as one batched group; False: one process per seed (wall-clock axes)
    pin_part1_base: bool = True  # part 1's parts pin its base's unclipped gradient (STUDY_BASE); part 2's do not
    launcher: str | None = None  # e.g. "local": every core (for separate processes whose wall time is not a result)
    cores: int = 1  # cores its processes keep busy (compute = wall time x cores): 2 for envpool's threads or two jobs

    def command(self, runs: Path, cwd: Path) -> list[str]:
        """The multirun, run from ``cwd``, into ``runs``/<name> (written relative to ``cwd`` where inside it)."""
        sweeper = ([] if self.grouped else ["hydra/sweeper=basic"]) + ([f"hydra/launcher={self.launcher}"]
                                                                        if self.launcher else [])
        pins = STUDY_BASE.items() if self.pin_part1_base else ()
        pinned = [f"{k}={v}" for k, v in pins if not any(o.startswith(f"{k}=") for o in self.overrides)]
        folder = runs / self.name
        folder = folder.relative_to(cwd) if folder.is_relative_to(cwd) else folder
        return [sys.executable, "-m", "a2c_lab.run", "-m", *self.overrides, *pinned, *sweeper, *COMMON,
                f"seed={','.join(map(str, self.seeds))}", f"hydra.sweep.dir={folder}"]

    def runs(self) -> int:
        variants = 1
        for override in self.overrides:
            if "=" in override and not override.startswith("hydra"):
                variants *= len(override.split("=", 1)[1].split(","))
        return variants * len(self.seeds)


def _task_parts(task: str, eval_interval: int, headline: bool = True, axes: bool = True) -> list[Part]:
    """The one-axis-at-a-time sweeps from the base config on one task."""
    t = [f"task={task}", f"eval.interval={eval_interval}"]
    head, axis = tuple(HEADLINE_SEEDS), tuple(AXIS_SEEDS)
    parts = []
    if headline:
        parts += [
            Part(f"{task}/base", (*t,), head),
            # coupling where it can matter: one global clip vs one clip per network
            Part(f"{task}/clip", (*t, "agent=shared,split", "agent.max_grad_norm=0.5"), head),
            Part(f"{task}/estimator_td", (*t, "advantage=td"), head),
        ]
    if axes:
        parts += [
            Part(f"{task}/estimator_nstep", (*t, "advantage=nstep"), axis),
            Part(f"{task}/trunk", (*t, "network=trunk_tanh64"), axis),
            Part(f"{task}/normalize", (*t, "advantage.normalize=false"), axis),
            Part(f"{task}/value_target", (*t, "advantage.value_target=estimator"), axis),
            Part(f"{task}/optimizer", (*t, "agent.optimizer=rmsprop", "agent.eps=1e-5"), axis),
            Part(f"{task}/bootstrap", (*t, "bootstrap_truncated=false"), axis),
            # coupling where it can matter: a critic learning rate the shared agent cannot have
            Part(f"{task}/critic_lr", (*t, "agent=split", "agent.critic_lr=3.5e-4,1.4e-3"), axis),
        ]
    return parts


# The notebook taken apart: notebook_split's three changes that are not identities (actor lr,
# network, estimator) as a 2x2x2 factorial; its other two (coupling, value-loss weight) are
# identities at equal learning rates (tests/test_study_identities.py). The corners are headline.
NOTEBOOK = [
    Part("notebook/factorial", ("experiment=notebook_split", "agent.lr=5e-4,7e-4",
                                "network=notebook_split,towers_tanh64", "advantage=td,gae"), tuple(AXIS_SEEDS)),
    Part("notebook/split_extra", ("experiment=notebook_split",), tuple(range(10, 20))),
    Part("notebook/shared_extra", ("experiment=notebook_split", "agent.lr=7e-4", "network=towers_tanh64",
                                   "advantage=gae"), tuple(range(10, 20))),
]

ENVS = Part("cartpole/envs", ("task=cartpole", "eval.interval=100000", "envs.num_envs=1,8,64"),
            tuple(AXIS_SEEDS), grouped=False)

# LunarLander at the RL Zoo's own A2C budget for it (200k), not the task's default 500k: the
# study could not afford more (decided before any LunarLander run; results/study/README.md).
LUNAR = ("task=lunarlander", "total_steps=200000", "eval.interval=50000")

# In the order they run: CartPole's headline comparisons and the notebook, Acrobot's headline
# comparisons, LunarLander's base, the remaining axes (CartPole first), LunarLander's coupling.
PARTS: list[Part] = [
    Part("cartpole/base", ("task=cartpole", "eval.interval=100000"), tuple(HEADLINE_SEEDS)), ENVS,
    *_task_parts("cartpole", 100_000, axes=False)[1:], *NOTEBOOK,
    *_task_parts("acrobot", 50_000, axes=False),
    Part("lunarlander/base", LUNAR, tuple(AXIS_SEEDS)),
    *_task_parts("cartpole", 100_000, headline=False),
    *_task_parts("acrobot", 50_000, headline=False),
    Part("lunarlander/clip", (*LUNAR, "agent=shared,split", "agent.max_grad_norm=0.5"), tuple(AXIS_SEEDS)),
]

# Part 2 (MuJoCo; design in results/study/README.md, fixed before its first run): the base is
# experiment=study_mujoco (SB3's A2C as the Zoo's MuJoCo entries use it, obs_reward, 8 envs,
# envpool), each task at its conf/task/ budget; seeds 0-19 for the base and the headline
# variants (H4 sharing, H5 coupling), 0-9 for every other axis. Its parts keep the config's clipping.
def _part2(name: str, overrides: tuple[str, ...], seeds: tuple[int, ...], **kwargs) -> Part:
    """A part 2 part; on this 2-core machine one using envpool (study_mujoco) or two jobs keeps both cores busy."""
    cores = 2 if "experiment=study_mujoco" in overrides or kwargs.get("launcher") == "local" else 1
    return Part(name, overrides, seeds, pin_part1_base=False, cores=cores, **kwargs)


def _mujoco_parts(task: str, headline: bool = True, axes: bool = True) -> list[Part]:
    t = ("experiment=study_mujoco", f"task={task}")
    head, axis = tuple(HEADLINE_SEEDS), tuple(AXIS_SEEDS)
    parts = []
    if headline:
        parts += [_part2(f"{task}/base", t, head),
                  _part2(f"{task}/sharing", (*t, "network=trunk_tanh64_ortho"), head),  # H4
                  _part2(f"{task}/coupling", (*t, "agent=split"), head)]  # H5
    if axes:
        parts += [_part2(f"{task}/{name}", (*t, *overrides), axis) for name, overrides in (
            ("critic_lr", ("agent=split", "agent.critic_lr=3.5e-4,1.4e-3")),
            ("obs_norm", ("obs_norm=none,obs",)),
            ("log_std", ("network.log_std_init=-0.7",)),
            ("policy_gain", ("network.policy_gain=1.0",)),
            ("gae", ("advantage=gae", "advantage.lam=0.9,0.95")),
            ("optimizer", ("agent.optimizer=adam",)),
        )]
    return parts


# Grouped vs separate as an equivalence (item 3 of the design): the default config on Acrobot at
# 200k, seeds 0-59 one group vs one process each; HalfCheetah's 20 grouped base seeds vs the same
# seeds one process each.
EQUIVALENCE_SEEDS = tuple(range(60))
EQUIVALENCE = [
    _part2("acrobot/equivalence_grouped", ("task=acrobot", "eval.interval=50000"), EQUIVALENCE_SEEDS),
    _part2("acrobot/equivalence_separate", ("task=acrobot", "eval.interval=50000"), EQUIVALENCE_SEEDS,
           grouped=False, launcher="local"),
]


def _separate(task: str) -> Part:
    return _part2(f"{task}/base_separate", ("experiment=study_mujoco", f"task={task}"), tuple(HEADLINE_SEEDS),
                  grouped=False, launcher="local")


# In the order they run: HalfCheetah's headline, Acrobot's equivalence, Hopper's headline, the
# axes (HalfCheetah first), HalfCheetah's separate base, and last (cut first) 1 env per seed.
PARTS_2: list[Part] = [
    *_mujoco_parts("halfcheetah", axes=False), *EQUIVALENCE, *_mujoco_parts("hopper", axes=False),
    *_mujoco_parts("halfcheetah", headline=False), *_mujoco_parts("hopper", headline=False),
    _separate("halfcheetah"),
    *[_part2(f"{task}/envs", ("experiment=study_mujoco", f"task={task}", "envs.num_envs=1"), tuple(AXIS_SEEDS))
      for task in ("halfcheetah", "hopper")],
]
PARTS = PARTS + PARTS_2
BY_NAME = {p.name: p for p in PARTS}


def choose(names: list[str]) -> list[Part]:
    """The parts named (each a part's full name, or a prefix such as ``cartpole/`` for every part
    it starts), in the order given and each prefix's parts in PARTS' order; every part when
    ``names`` is empty. A full name is that part alone: ``halfcheetah/base`` is not also
    ``halfcheetah/base_separate``."""
    return list(dict.fromkeys(p for a in names or [""] for p in PARTS
                              if p.name == a or (a not in BY_NAME and p.name.startswith(a))))


def run_part(part: Part, runs: Path, cwd: Path) -> int:
    """Train one part, appending its output to ``runs``/<name>.log; prints one line (the driver's
    log, which ``tables.part_seconds`` reads the compute from)."""
    command = part.command(runs, cwd)
    log = runs / f"{part.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with open(log, "a") as out:
        out.write(f"$ {shlex.join(command)}\n")
        out.flush()
        code = subprocess.call(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    shown = log.relative_to(cwd) if log.is_relative_to(cwd) else log
    print(f"{part.name}: exit {code} after {time.time() - start:.0f} s ({shown})", flush=True)
    return code
