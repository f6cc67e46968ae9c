"""The study's comparisons, fixed with its design (results/study/README.md): which runs form each
comparison (``Variant``: a part and the config values its runs must have), which variant is the
reference, which pairs are reported and which were named before running (headline); and the index
of every run folder under runs/study/ that selects them."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from a2c_lab.analysis.run_reader import RunWarning, find_run_dirs, read_config

@dataclass(frozen=True)
class Variant:
    """The runs of ``part`` whose config matches ``where`` (flattened keys), named ``name``."""

    name: str
    part: str
    where: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Comparison:
    key: str  # folder under results/study/
    title: str
    variants: tuple[Variant, ...]  # the first is the reference
    headline: bool = False
    pairs: tuple[tuple[str, str], ...] = ()  # (x, y) reported as P(x > y); default: each variant vs the first
    grouped: bool = True
    headline_pairs: int | None = None  # how many of the reported pairs, from the first, are headline; None = all
    equivalence: tuple[str, ...] = ()  # an equivalence test (study.equivalence) of the first pair; its primary metrics

    def reported_pairs(self) -> list[tuple[str, str]]:
        ref = self.variants[0].name
        return list(self.pairs) or [(v.name, ref) for v in self.variants[1:]]


def _task_comparisons(task: str, title: str) -> list[Comparison]:
    base = Variant("base (shared, GAE 0.95, Adam, no clip)", f"{task}/base")
    clip_shared = Variant("shared, clip 0.5", f"{task}/clip", (("agent.name", "shared"),))
    clip_split = Variant("split, clip 0.5", f"{task}/clip", (("agent.name", "split"),))
    return [
        Comparison(f"{task}/coupling_clip", f"{title}: optimizer coupling under gradient clipping (H2)",
                   (clip_shared, clip_split, base), headline=True, headline_pairs=1,  # the design named split vs shared only
                   pairs=((clip_split.name, clip_shared.name), (clip_shared.name, base.name))),
        Comparison(f"{task}/estimator", f"{title}: advantage estimator (H3: GAE vs TD)",
                   (base, Variant("TD(0)", f"{task}/estimator_td"), Variant("n-step", f"{task}/estimator_nstep")),
                   headline=True, headline_pairs=1),
        Comparison(f"{task}/coupling_critic_lr", f"{title}: a critic learning rate of its own (split only)",
                   (base, Variant("split, critic lr 3.5e-4", f"{task}/critic_lr", (("agent.critic_lr", 3.5e-4),)),
                    Variant("split, critic lr 1.4e-3", f"{task}/critic_lr", (("agent.critic_lr", 1.4e-3),)))),
        Comparison(f"{task}/network", f"{title}: separate towers vs a shared trunk",
                   (base, Variant("shared trunk tanh 64-64", f"{task}/trunk"))),
        Comparison(f"{task}/normalize", f"{title}: advantage normalisation",
                   (base, Variant("no advantage normalisation", f"{task}/normalize"))),
        Comparison(f"{task}/value_target", f"{title}: the critic's target",
                   (base, Variant("critic target = GAE returns", f"{task}/value_target"))),
        Comparison(f"{task}/optimizer", f"{title}: Adam vs RMSprop",
                   (base, Variant("RMSprop (eps 1e-5)", f"{task}/optimizer"))),
        Comparison(f"{task}/bootstrap", f"{title}: bootstrapping truncated episodes",
                   (base, Variant("no truncation bootstrap", f"{task}/bootstrap"))),
    ]


NB_FACTORS = (("agent.lr", 5e-4, 7e-4, "actor lr"), ("network.name", "notebook_split", "towers_tanh64", "network"),
              ("advantage.name", "td", "gae", "estimator"))


def _cell(lr: float, network: str, advantage: str) -> Variant:
    name = f"lr {lr:g}, {'ReLU 128/64' if network == 'notebook_split' else 'tanh 64 towers'}, {advantage.upper()}"
    where = (("agent.lr", lr), ("network.name", network), ("advantage.name", advantage))
    return Variant(name, "notebook/", where)  # a prefix: the factorial and the corners' extra seeds


NB_CELLS = [_cell(lr, net, adv) for lr in (5e-4, 7e-4) for net in ("notebook_split", "towers_tanh64")
            for adv in ("td", "gae")]
NOTEBOOK = Comparison(
    "notebook/factorial", "CartPole-v1, the notebook taken apart: notebook_split (first) to notebook_shared (last)",
    tuple(NB_CELLS), headline=True, pairs=((NB_CELLS[-1].name, NB_CELLS[0].name),))

ENVS = Comparison("cartpole/envs", "CartPole-v1: 1 vs 8 vs 64 envs at equal env steps (one process per seed)",
                  tuple(Variant(f"{n} env{'s' if n > 1 else ''}", "cartpole/envs", (("envs.num_envs", n),))
                        for n in (8, 1, 64)), grouped=False)
GROUPING_CHECK = Comparison(
    "cartpole/grouping_check", "CartPole-v1: the base trained as one batched group vs one process per seed",
    (Variant("base, grouped", "cartpole/base", (("seed", list(range(10))),)),
     Variant("base, one process per seed", "cartpole/envs", (("envs.num_envs", 8),))))

COMPARISONS: list[Comparison] = [
    NOTEBOOK, *_task_comparisons("cartpole", "CartPole-v1"), ENVS, GROUPING_CHECK,
    *_task_comparisons("acrobot", "Acrobot-v1"),
    Comparison("lunarlander/coupling_clip", "LunarLander-v3: optimizer coupling under gradient clipping",
               (Variant("shared, clip 0.5", "lunarlander/clip", (("agent.name", "shared"),)),
                Variant("split, clip 0.5", "lunarlander/clip", (("agent.name", "split"),)),
                Variant("base (shared, GAE 0.95, Adam, no clip)", "lunarlander/base")),
               pairs=(("split, clip 0.5", "shared, clip 0.5"), ("shared, clip 0.5", "base (shared, GAE 0.95, Adam, no clip)"))),
]


# Part 2 (MuJoCo), fixed with its design before its first run: H4 and H5 are the headline pairs.
MUJOCO_BASE = "base (SB3 A2C: shared, towers, RMSprop, clip 0.5, n-step; obs_reward, 8 envs)"


def _mujoco_comparisons(task: str, title: str) -> list[Comparison]:
    base = Variant(MUJOCO_BASE, f"{task}/base")
    split = Variant("split, critic lr = actor lr", f"{task}/coupling")
    one_variant = [("log_std", "initial policy standard deviation (1 vs 0.5)", "log_std_init -0.7 (std 0.5)"),
                   ("policy_gain", "policy output initialisation (gain 0.01 vs 1)", "policy_gain 1"),
                   ("optimizer", "RMSprop vs Adam", "Adam (eps 1e-5)"),
                   ("envs", "8 envs vs 1 (the Zoo's) at equal env steps", "1 env")]
    return [
        Comparison(f"{task}/sharing", f"{title}: parameter sharing, separate towers vs a shared trunk (H4)",
                   (base, Variant("shared trunk tanh 64-64", f"{task}/sharing")), headline=True),
        Comparison(f"{task}/coupling", f"{title}: optimizer coupling under the base's clipping (H5)",
                   (base, split), headline=True),
        Comparison(f"{task}/coupling_critic_lr", f"{title}: a critic learning rate of its own (split)",
                   (split, *[Variant(f"split, critic lr {lr:g}", f"{task}/critic_lr", (("agent.critic_lr", lr),))
                             for lr in (3.5e-4, 1.4e-3)])),
        Comparison(f"{task}/obs_norm", f"{title}: observation and reward normalisation",
                   (base, *[Variant(f"obs_norm {name}", f"{task}/obs_norm", (("obs_norm.name", name),))
                            for name in ("none", "obs")])),
        Comparison(f"{task}/estimator", f"{title}: n-step (GAE 1.0) vs GAE 0.9 and 0.95",
                   (base, *[Variant(f"GAE {lam:g}", f"{task}/gae", (("advantage.lam", lam),)) for lam in (0.9, 0.95)])),
        *[Comparison(f"{task}/{part}", f"{title}: {what}", (base, Variant(name, f"{task}/{part}")))
          for part, what, name in one_variant],
    ]


PART_2: list[Comparison] = [
    *_mujoco_comparisons("halfcheetah", "HalfCheetah-v5"), *_mujoco_comparisons("hopper", "Hopper-v5"),
    Comparison("halfcheetah/grouping_check",
               "HalfCheetah-v5: the base trained as one batched group vs one process per seed (equivalence)",
               (Variant("base, grouped", "halfcheetah/base"), Variant("base, one process per seed",
                                                                     "halfcheetah/base_separate")),
               equivalence=("final_return", "auc")),
    Comparison("acrobot/equivalence",
               "Acrobot-v1: the default config as one batched group vs one process per seed (equivalence)",
               (Variant("grouped", "acrobot/equivalence_grouped"),
                Variant("one process per seed", "acrobot/equivalence_separate")), equivalence=("auc",)),
]
COMPARISONS += PART_2
BY_KEY = {c.key: c for c in COMPARISONS}


def _matches(config: dict, where) -> bool:
    for key, value in where:
        have = config.get(key)
        if isinstance(value, list):
            if have not in value:
                return False
        elif isinstance(value, float):
            if have is None or not np.isclose(float(have), value, rtol=1e-9):
                return False
        elif have != value:
            return False
    return True


@dataclass
class RunIndex:
    """Every run folder under runs/study/, with its part and flattened config."""

    root: Path
    configs: dict = field(default_factory=dict)  # run_dir -> (part, config)

    def __post_init__(self):
        for run_dir in find_run_dirs([self.root]) if self.root.is_dir() else []:
            part = str(run_dir.parent.relative_to(self.root))
            try:
                self.configs[run_dir] = (part, read_config(run_dir))
            except Exception as error:  # noqa: BLE001 (the reader reports it again when loading)
                warnings.warn(f"{run_dir}: unreadable config: {error}", RunWarning, stacklevel=2)

    def select(self, variant: Variant) -> list[Path]:
        return sorted(d for d, (part, config) in self.configs.items()
                      if (part == variant.part or (variant.part.endswith("/") and part.startswith(variant.part)))
                      and _matches(config, variant.where))
