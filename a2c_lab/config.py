"""Typed config schema: one dataclass per Hydra group, one line of doc per field.

YAML files under ``conf/`` are the user's surface; these dataclasses are registered in
Hydra's ConfigStore as the schema those files merge into, so an unknown key or a wrong
type fails at composition time with the key's full name. ``a2c_lab.validation`` adds the
range checks that a type cannot express. Derived values (batch size, number of updates) are
computed where they are needed and never written back into the config.

It is the whole schema (one dataclass per group) and the one list of axes and of bookkeeping
keys, and it stays importable without torch or gymnasium (the sweeper validates every job in
the launching process).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf, open_dict


class ConfigError(ValueError):
    """A config value that composes but makes no sense; the message names the key."""


# Enum members are spelled as users type them, so OmegaConf's error lists the allowed values.
class AgentKind(Enum):
    split = "split"  # actor and critic each with their own optimizer and loss
    shared = "shared"  # one optimizer over all parameters, one combined loss


class OptimizerKind(Enum):
    adam = "adam"
    rmsprop = "rmsprop"


class Schedule(Enum):
    constant = "constant"
    linear = "linear"  # decays linearly to 0 at total_steps


class Activation(Enum):
    tanh = "tanh"
    relu = "relu"


class Init(Enum):
    default = "default"  # torch's nn.Linear default
    orthogonal = "orthogonal"  # gain sqrt(2) hidden, network.policy_gain policy output, 1 value output


class Estimator(Enum):
    td = "td"  # one-step TD error
    nstep = "nstep"  # n-step bootstrapped return minus V (GAE with lambda 1)
    gae = "gae"  # generalized advantage estimation


class ValueTarget(Enum):
    estimator = "estimator"  # the estimator's own returns (advantages + values)
    nstep = "nstep"  # the n-step bootstrapped return, as the notebook uses for every estimator


# Built with the functional API because ``async`` is a Python keyword: users type
# ``envs.backend=async``, OmegaConf matches member names, and ``Backend["async"]`` needs one.
Backend = Enum("Backend", [
    ("auto", "auto"),  # native where gymnasium has a vector implementation, else sync
    ("sync", "sync"),  # SyncVectorEnv, same-step autoreset
    ("async", "async"),  # AsyncVectorEnv (one process per env), same-step autoreset
    ("native", "native"),  # the env's own vector implementation (NEXT_STEP autoreset, masked)
    ("envpool", "envpool"),  # one envpool pool (C++) for all of a group's envs (NEXT_STEP autoreset, masked)
])


class LoggerKind(Enum):
    wandb = "wandb"  # W&B as an extra output beside the local files
    none = "none"  # local files only


class WandbMode(Enum):
    offline = "offline"
    online = "online"
    disabled = "disabled"


class ResumeMode(Enum):
    auto = "auto"  # a folder holding this config's unfinished run resumes from its checkpoint; a finished one is skipped
    never = "never"  # a folder that holds a run is refused (overwrite=true deletes it)


class ObsNorm(Enum):
    none = "none"  # the env's own observations and rewards
    obs = "obs"  # observations by per-seed running mean and variance, clipped (SB3 VecNormalize's defaults)
    obs_reward = "obs_reward"  # and rewards divided by the std of the discounted return, clipped


class EpisodePoints(Enum):
    window = "window"  # the mean of the episodes that ended in each log_interval window, in its point
    each = "each"  # one W&B point per episode, at the env step where it ended (one wandb.log call each)


@dataclass
class AgentConfig:
    name: AgentKind = AgentKind.shared  # split: two optimizers and losses; shared: one of each
    optimizer: OptimizerKind = OptimizerKind.adam  # optimizer type (for split: both of them)
    lr: float = 7e-4  # learning rate (shared), or the actor's (split)
    critic_lr: Optional[float] = None  # split only: the critic's learning rate; null = lr
    lr_schedule: Schedule = Schedule.constant  # constant, or linear decay to 0 over total_steps
    eps: float = 1e-8  # optimizer epsilon (Adam's eps, RMSprop's eps)
    rmsprop_alpha: float = 0.99  # RMSprop smoothing constant
    ent_coef: float = 0.005  # entropy bonus weight (on the actor's loss)
    vf_coef: float = 0.5  # value-loss weight (split: scales the critic's own loss)
    max_grad_norm: Optional[float] = 0.5  # clip the gradient L2 norm (shared: global; split: per network); null = off


@dataclass
class HeadConfig:
    hidden: List[int] = field(default_factory=lambda: [64, 64])  # hidden layer sizes
    activation: Activation = Activation.tanh  # activation after each hidden layer


@dataclass
class NetworkConfig:
    name: str = "towers_tanh64"  # preset name, used as the label in comparisons
    actor: HeadConfig = field(default_factory=HeadConfig)  # policy tower (on top of the trunk, if any)
    critic: HeadConfig = field(default_factory=HeadConfig)  # value tower (on top of the trunk, if any)
    trunk: Optional[HeadConfig] = None  # shared torso feeding both towers; shared agent only
    init: Init = Init.default  # weight initialisation
    policy_gain: float = 0.01  # orthogonal init's gain of the policy's output layer (SB3's 0.01)
    log_std_init: float = 0.0  # Box actions: initial log standard deviation of the Gaussian policy


@dataclass
class AdvantageConfig:
    name: Estimator = Estimator.gae  # td, nstep or gae
    lam: float = 0.95  # GAE lambda; td must have 0 and nstep 1 (what they are), as their presets set
    normalize: bool = True  # per-batch (a - mean) / (std + 1e-8), unbiased std over real rows
    value_target: ValueTarget = ValueTarget.nstep  # the critic's regression target


@dataclass
class EnvsConfig:
    name: str = "vectorized"  # preset name, used as the label in comparisons
    num_envs: int = 8  # parallel training environments
    backend: Backend = Backend.auto  # vectorization backend


@dataclass
class ObsNormConfig:
    name: ObsNorm = ObsNorm.none  # none, obs, or obs_reward (a2c_lab.training.normalization)
    clip: float = 10.0  # normalised observations and rewards are clipped to [-clip, clip]
    epsilon: float = 1e-8  # added to the variance before its square root


@dataclass
class TaskConfig:
    id: str = "CartPole-v1"  # a gymnasium id with a flat Box observation and a Discrete or Box action space
    threshold: Optional[float] = 475.0  # "solved" last-100 mean return; null = none


@dataclass
class EvalConfig:
    interval: int = 25_000  # env steps between greedy evaluations; 0 = off
    episodes: int = 10  # episodes per evaluation


@dataclass
class LoggerConfig:
    name: LoggerKind = LoggerKind.wandb  # wandb, or none (local files only)
    mode: WandbMode = WandbMode.offline  # W&B mode; the WANDB_MODE variable overrides it
    project: str = "a2c-lab"  # W&B project
    entity: Optional[str] = None  # W&B entity (user or team); null = the default one
    group: Optional[str] = None  # W&B group; null = experiment name + sweep start time
    tags: List[str] = field(default_factory=list)  # extra W&B tags
    log_interval: int = 50  # updates per W&B point (each summarising those updates); local files keep all
    update_rows: int = 1  # updates.csv keeps every update_rows-th update's row (and the last); 1 = every one
    episode_points: EpisodePoints = EpisodePoints.window  # window (cheap) or each episode; episodes.csv keeps all


@dataclass
class CheckpointConfig:
    interval: int = 50_000  # env steps per seed between checkpoints; 0 = only at the end and at a signal


@dataclass
class GroupConfig:
    """Where a group's seeds write; set by the grouping sweeper (a2c_lab.sweeps.sweeper), not by hand."""

    run_dirs: List[str] = field(default_factory=list)  # one run folder per entry of seeds; empty = <output>/<i>
    jobs: List[int] = field(default_factory=list)  # the sweep's job number of each seed; empty = 0, 1, ...


@dataclass
class Config:
    agent: AgentConfig = field(default_factory=AgentConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    advantage: AdvantageConfig = field(default_factory=AdvantageConfig)
    envs: EnvsConfig = field(default_factory=EnvsConfig)
    obs_norm: ObsNormConfig = field(default_factory=ObsNormConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    experiment_name: str = "default"  # name of the experiment preset (labels run folders and the W&B group)
    seed: int = 0  # derives every random stream of the run (a2c_lab.training.seeding)
    seeds: List[int] = field(default_factory=list)  # non-empty: train these seeds as one group (seed is then unused)
    group: GroupConfig = field(default_factory=GroupConfig)  # the group's run folders (bookkeeping)
    total_steps: int = 200_000  # env steps summed over all envs
    n_steps: int = 5  # rollout length per env (vector steps per update)
    gamma: float = 0.99  # discount factor
    device: str = "cpu"  # torch device
    bootstrap_truncated: bool = True  # bootstrap from V(final obs) on truncation; false = notebook
    torch_threads: int = 1  # torch intra-op threads for this run (0 = torch's default)
    progress: bool = True  # progress bar when stdout is a terminal
    overwrite: bool = False  # start in a run folder that holds another run, deleting that run
    resume: ResumeMode = ResumeMode.auto  # auto: continue this config's run in its folder (a2c_lab.runs.checkpoint); never: refuse
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)  # when a run saves its state to resume from


# The design axes a sweep varies, one Hydra group each (conf/<group>/), by the config key whose value
# names the chosen preset, in the order every label uses them: the comparison's variant labels
# (a2c_lab.analysis.labels) and W&B's job_type (a2c_lab.runs.wandb_sink.variant).
AXES = ("agent.name", "network.name", "advantage.name", "envs.name", "obs_norm.name")


def axis_value(cfg: Config, key: str) -> str:
    """The value of a dotted config key as users type it (an Enum as its value): the text
    labels are made of."""
    value = cfg
    for part in key.split("."):
        value = getattr(value, part)
    return str(value.value if isinstance(value, Enum) else value)


# Keys that say how a run is executed or recorded, not what it learns: they never split runs
# into different variants in a comparison, and may differ when a run is resumed in its folder. A
# key listed here covers its whole subtree (``logger`` = ``logger.*``).
BOOKKEEPING_KEYS = ("logger", "progress", "device", "torch_threads", "overwrite", "group", "resume", "checkpoint")


def under(key: str, prefixes: tuple[str, ...]) -> bool:
    """Whether a dotted key is one of ``prefixes`` or inside one (``logger`` covers ``logger.mode``)."""
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def seed_config(cfg: DictConfig, seed: int) -> DictConfig:
    """The config of a one-seed run of ``seed``, as a group trains it: what its folder records
    (its scalar seed; no group keys)."""
    one = cfg.copy()
    with open_dict(one):
        one.seed = seed
        if "seeds" in one:
            one.seeds = []
        if "group" in one:
            one.group = OmegaConf.structured(GroupConfig)
    return one


def register_configs() -> None:
    """Register the schema so that ``conf/config.yaml`` can name it in its defaults."""
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
