"""``validate``: the range checks a config's types cannot express, each refusal one
``ConfigError`` that names the key, its value and what is allowed. Importable without torch or
gymnasium: the sweeper validates every job in the launching process."""

from __future__ import annotations

import math
import re

from omegaconf import DictConfig, OmegaConf

from a2c_lab.config import AgentKind, Config, ConfigError, Estimator, OptimizerKind

# Every number below enters float32 arithmetic (the optimizers' state, the losses).
FLOAT32_MAX = 3.4028234663852886e38
# Adam's first step moves a weight by up to lr / (1 - beta1) (its bias correction); beyond
# this the step itself overflows float32, whatever the gradient.
ADAM_BETA1 = 0.9
MAX_LR = {OptimizerKind.adam: FLOAT32_MAX * (1 - ADAM_BETA1), OptimizerKind.rmsprop: FLOAT32_MAX}
# A loss coefficient c scales the gradient by c, and Adam's and RMSprop's second moment holds its
# square: past sqrt(float32 max) that square overflows for any gradient of order 1.
MAX_COEF = FLOAT32_MAX ** 0.5
SEED_RANGE = (0, 2**32 - 1)
# td and nstep are GAE with lambda fixed (conf/advantage/td.yaml and nstep.yaml set it): any other
# advantage.lam would be silently ignored, so it is refused.
FIXED_LAMBDA = {Estimator.td: 0.0, Estimator.nstep: 1.0}  # numpy's seeding accepts these and nothing else


def _check(ok: bool, key: str, value, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"invalid config: {key}={value!r}; allowed: {allowed}")


def _finite(x) -> bool:
    return x is not None and math.isfinite(x)


def validate(cfg: DictConfig | Config) -> Config:
    """Return the typed config, or raise ConfigError naming the first bad key.

    No plausibility bounds: ``agent.lr=1e20`` is a valid way to make a run diverge. What is
    refused is what cannot be computed at all: non-finite numbers, and learning rates and
    coefficients so large that float32 overflows in the optimizer.
    """
    if isinstance(cfg, DictConfig):
        merged = OmegaConf.merge(OmegaConf.structured(Config), cfg)
        c: Config = OmegaConf.to_object(merged)  # type: ignore[assignment]
    else:
        c = cfg
    a = c.agent
    max_lr = MAX_LR[a.optimizer]
    lr_allowed = f"a finite number > 0 and <= {max_lr:.3g} (larger overflows float32 in {a.optimizer.value}'s step)"
    _check(_finite(a.lr) and 0 < a.lr <= max_lr, "agent.lr", a.lr, lr_allowed)
    _check(a.critic_lr is None or (_finite(a.critic_lr) and 0 < a.critic_lr <= max_lr), "agent.critic_lr",
           a.critic_lr, f"null (= agent.lr) or {lr_allowed}")
    _check(a.critic_lr is None or a.name is AgentKind.split, "agent.critic_lr", a.critic_lr,
           "null unless agent=split (the shared agent has one optimizer)")
    _check(_finite(a.eps) and 0 < a.eps <= MAX_COEF, "agent.eps", a.eps, f"a finite number > 0 and <= {MAX_COEF:.3g}")
    _check(0 <= a.rmsprop_alpha < 1, "agent.rmsprop_alpha", a.rmsprop_alpha, "[0, 1)")
    coef_allowed = f"and <= {MAX_COEF:.3g} (larger overflows float32 in the optimizer's squared gradient)"
    _check(_finite(a.ent_coef) and 0 <= a.ent_coef <= MAX_COEF, "agent.ent_coef", a.ent_coef,
           f"a finite number >= 0 {coef_allowed}")
    _check(_finite(a.vf_coef) and 0 < a.vf_coef <= MAX_COEF, "agent.vf_coef", a.vf_coef,
           f"a finite number > 0 {coef_allowed}")
    _check(a.max_grad_norm is None or (_finite(a.max_grad_norm) and 0 < a.max_grad_norm <= FLOAT32_MAX),
           "agent.max_grad_norm", a.max_grad_norm, "null (off) or a finite number > 0")
    n = c.network
    for key, head in (("network.actor", n.actor), ("network.critic", n.critic), ("network.trunk", n.trunk)):
        if head is not None:
            _check(all(h >= 1 for h in head.hidden), f"{key}.hidden", head.hidden, "a list of sizes >= 1")
    _check(_finite(n.policy_gain) and n.policy_gain > 0, "network.policy_gain", n.policy_gain, "a finite number > 0")
    _check(_finite(n.log_std_init) and abs(n.log_std_init) <= 20, "network.log_std_init", n.log_std_init,
           "a finite number in [-20, 20]")
    _check(n.trunk is None or a.name is AgentKind.shared, "network.trunk", "set",
           "null with agent=split (a shared trunk needs one optimizer: use agent=shared)")
    adv = c.advantage
    _check(0 <= adv.lam <= 1, "advantage.lam", adv.lam, "[0, 1]")
    fixed = FIXED_LAMBDA.get(adv.name)
    _check(fixed is None or adv.lam == fixed, "advantage.lam", adv.lam,
           f"{fixed} with advantage={adv.name.value} (GAE with lambda fixed; use advantage=gae to vary lambda)")
    _check(c.envs.num_envs >= 1, "envs.num_envs", c.envs.num_envs, "an integer >= 1")
    _check(c.task.threshold is None or _finite(c.task.threshold), "task.threshold", c.task.threshold,
           "null (none) or a finite number")
    _check(SEED_RANGE[0] <= c.seed <= SEED_RANGE[1], "seed", c.seed, "an integer in [0, 2**32 - 1]")
    _check(0 < c.gamma <= 1, "gamma", c.gamma, "(0, 1]")
    _check(c.n_steps >= 1, "n_steps", c.n_steps, "an integer >= 1")
    rollout = c.n_steps * c.envs.num_envs
    _check(c.total_steps >= rollout, "total_steps", c.total_steps,
           f">= one rollout, n_steps * envs.num_envs = {rollout}")
    _check(c.eval.interval >= 0, "eval.interval", c.eval.interval, "0 (off) or env steps > 0")
    _check(c.eval.episodes >= 1, "eval.episodes", c.eval.episodes, "an integer >= 1")
    _check(c.checkpoint.interval >= 0, "checkpoint.interval", c.checkpoint.interval,
           "0 (only at the end and at a signal) or env steps > 0")
    _check(c.logger.log_interval >= 1, "logger.log_interval", c.logger.log_interval, "an integer >= 1")
    _check(c.logger.update_rows >= 1, "logger.update_rows", c.logger.update_rows, "an integer >= 1")
    _check(_finite(c.obs_norm.clip) and c.obs_norm.clip > 0, "obs_norm.clip", c.obs_norm.clip, "a finite number > 0")
    _check(_finite(c.obs_norm.epsilon) and c.obs_norm.epsilon > 0, "obs_norm.epsilon", c.obs_norm.epsilon,
           "a finite number > 0")
    _check(c.torch_threads >= 0, "torch_threads", c.torch_threads, "0 (torch default) or an integer >= 1")
    _check(re.fullmatch(r"cpu|mps|cuda(:\d+)?", c.device) is not None, "device", c.device,
           "cpu, cuda, cuda:N or mps")
    for key in ("run_dirs", "jobs"):
        given = getattr(c.group, key)
        _check(not given or len(given) == len(c.seeds), f"group.{key}", given,
               f"empty, or one entry per seed in seeds ({len(c.seeds)})")
    return c
