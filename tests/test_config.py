"""Every group option and experiment composes and validates; bad input fails early with the key's name."""

import json
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException

from a2c_lab.config import AgentKind, Backend, ConfigError, Estimator
from a2c_lab.training.trainer import train
from a2c_lab.validation import validate
from conftest import CONF_DIR, UNSUPPORTED_ID, make_cfg

GROUPS = {group: sorted(p.stem for p in (Path(CONF_DIR) / group).glob("*.yaml"))
          for group in ("agent", "network", "advantage", "envs", "task", "logger", "experiment")}


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_option_composes_and_validates(group, option):
    overrides = [f"{group}={option}"]
    if group == "network" and option == "trunk_tanh64":
        overrides.append("agent=shared")
    validate(make_cfg(*overrides))


def test_defaults_are_the_studys_choice():
    """The notebook's vectorized settings plus clipping at 0.5 (results/study/, README "Findings"):
    changing a default is a decision the study has to support; this test makes it a deliberate one."""
    c = validate(make_cfg())
    assert c.agent.name is AgentKind.shared and c.agent.lr == 7e-4 and c.agent.ent_coef == 0.005
    assert c.agent.vf_coef == 0.5 and c.agent.max_grad_norm == 0.5 and c.agent.optimizer.value == "adam"
    assert c.advantage.value_target.value == "nstep" and c.bootstrap_truncated and c.total_steps == 500_000
    assert c.network.actor.hidden == [64, 64] and c.network.critic.hidden == [64, 64] and c.network.trunk is None
    assert c.advantage.name is Estimator.gae and c.advantage.lam == 0.95 and c.advantage.normalize
    assert c.envs.num_envs == 8 and c.n_steps == 5 and c.gamma == 0.99 and c.seed == 0
    split = validate(make_cfg("agent=split"))
    assert split.agent.lr == 7e-4 and split.agent.critic_lr is None  # 7e-4 on both optimizers


@pytest.mark.parametrize("name,agent,lr,critic_lr,vf,adv,envs,steps,hidden", [
    ("notebook_split", AgentKind.split, 5e-4, 7e-4, 1.0, Estimator.td, 1, 75_000, [128, 128]),
    ("notebook_shared", AgentKind.shared, 7e-4, None, 0.5, Estimator.gae, 1, 75_000, [64, 64]),
    ("notebook_vectorized", AgentKind.shared, 7e-4, None, 0.5, Estimator.gae, 8, 125_000, [64, 64]),
])
def test_notebook_presets(name, agent, lr, critic_lr, vf, adv, envs, steps, hidden):
    c = validate(make_cfg(f"experiment={name}"))
    assert (c.agent.name, c.agent.lr, c.agent.critic_lr, c.agent.vf_coef) == (agent, lr, critic_lr, vf)
    assert c.agent.ent_coef == 0.005 and c.agent.eps == 1e-8 and c.agent.max_grad_norm is None
    assert c.advantage.name is adv and c.advantage.normalize and c.advantage.value_target.value == "nstep"
    assert (c.envs.num_envs, c.total_steps, c.network.actor.hidden) == (envs, steps, hidden)
    assert c.envs.backend is Backend.sync  # same-step autoreset, as old gym
    assert c.bootstrap_truncated is False and c.n_steps == 5 and c.network.init.value == "default"
    assert c.experiment_name == name


@pytest.mark.parametrize("overrides,allowed", [
    (("advantage=td", "advantage.lam=0.5"), "0.0 with advantage=td"),
    (("advantage=nstep", "advantage.lam=0.95"), "1.0 with advantage=nstep"),
    (("advantage.name=td",), "0.0 with advantage=td"),  # the gae preset's lambda left behind
])
def test_lambda_with_td_or_nstep_is_an_error(overrides, allowed):
    """td is GAE with lambda 0 and nstep GAE with lambda 1: another lam would do nothing."""
    with pytest.raises(ConfigError) as err:
        validate(make_cfg(*overrides))
    assert "advantage.lam=" in str(err.value) and allowed in str(err.value)


def test_td_and_nstep_presets_fix_lambda():
    assert validate(make_cfg("advantage=td")).advantage.lam == 0.0
    assert validate(make_cfg("advantage=nstep")).advantage.lam == 1.0
    assert validate(make_cfg("advantage=td", "advantage.lam=0")).advantage.lam == 0.0


def test_group_files_hold_only_what_differs_from_the_schema():
    """agent=shared/split and logger=none are the schema's defaults but for their name."""
    assert validate(make_cfg("agent=split")).agent.lr == validate(make_cfg("agent=shared")).agent.lr == 7e-4
    none = validate(make_cfg("logger=none")).logger
    assert none.name.value == "none" and none.log_interval == 50


def test_unknown_group_option_lists_the_available_ones():
    with pytest.raises(ConfigCompositionException) as err:
        make_cfg("agent=shraed")
    assert "agent" in str(err.value) and "shared" in str(err.value) and "split" in str(err.value)


def test_unknown_key_names_the_key():
    with pytest.raises(ConfigCompositionException) as err:
        make_cfg("agent.learning_rate=0.1")
    assert "learning_rate" in str(err.value.__cause__ or err.value)


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigCompositionException) as err:
        make_cfg("agent.lr=fast")
    assert "agent.lr" in str(err.value.__cause__ or err.value)


def test_bad_enum_lists_allowed_values():
    with pytest.raises(ConfigCompositionException) as err:
        make_cfg("advantage.name=vtrace")
    message = str(err.value.__cause__ or err.value)
    assert "advantage.name" in message and "gae" in message and "td" in message


@pytest.mark.parametrize("override,key,allowed", [
    ("agent.lr=0", "agent.lr", "> 0"),
    ("agent.lr=-1e-3", "agent.lr", "> 0"),
    ("gamma=0", "gamma", "(0, 1]"),
    ("gamma=1.5", "gamma", "(0, 1]"),
    ("advantage.lam=1.2", "advantage.lam", "[0, 1]"),
    ("advantage.lam=-0.1", "advantage.lam", "[0, 1]"),
    ("envs.num_envs=0", "envs.num_envs", ">= 1"),
    ("total_steps=39", "total_steps", "n_steps * envs.num_envs = 40"),
    ("agent.max_grad_norm=0", "agent.max_grad_norm", "null"),
    ("agent.critic_lr=1e-3", "agent.critic_lr", "agent=split"),
    # non-finite numbers, and numbers that overflow float32 in the optimizer (issue 9)
    ("agent.lr=nan", "agent.lr", "finite"),
    ("agent.lr=inf", "agent.lr", "finite"),
    ("agent.lr=1e38", "agent.lr", "overflows float32 in adam"),
    ("agent.optimizer=rmsprop agent.lr=1e39", "agent.lr", "overflows float32 in rmsprop"),
    ("agent=split agent.critic_lr=inf", "agent.critic_lr", "finite"),
    ("agent.ent_coef=inf", "agent.ent_coef", "finite"),
    ("agent.ent_coef=nan", "agent.ent_coef", "finite"),
    ("agent.vf_coef=1e38", "agent.vf_coef", "overflows float32"),
    ("agent.vf_coef=-inf", "agent.vf_coef", "finite"),
    ("agent.max_grad_norm=inf", "agent.max_grad_norm", "finite"),
    ("agent.eps=nan", "agent.eps", "finite"),
    ("gamma=nan", "gamma", "(0, 1]"),
    ("advantage.lam=nan", "advantage.lam", "[0, 1]"),
    ("task.threshold=inf", "task.threshold", "finite"),
    ("seed=-1", "seed", "[0, 2**32 - 1]"),
    ("seed=4294967296", "seed", "[0, 2**32 - 1]"),
    ("device=gpu", "device", "cpu, cuda, cuda:N or mps"),
    ("device=cuda:x", "device", "cpu, cuda, cuda:N or mps"),
    ("checkpoint.interval=-1", "checkpoint.interval", "0 (only at the end and at a signal)"),
])
def test_out_of_range_values(override, key, allowed):
    with pytest.raises(ConfigError) as err:
        validate(make_cfg(*override.split()))
    assert f"{key}=" in str(err.value) and allowed in str(err.value)


@pytest.mark.parametrize("override", ["agent.lr=1e20", "agent.lr=3.4e37", "agent.optimizer=rmsprop agent.lr=3.4e38",
                                      "agent.vf_coef=1e19", "seed=0", "seed=4294967295", "envs.backend=async"])
def test_extreme_but_computable_values_are_valid(override):
    """No plausibility bounds: a huge learning rate is a valid way to make a run diverge."""
    validate(make_cfg(*override.split()))


def test_resume_keys_compose_and_are_bookkeeping():
    from a2c_lab.config import BOOKKEEPING_KEYS, ResumeMode

    c = validate(make_cfg())
    assert c.resume is ResumeMode.auto and c.checkpoint.interval == 50_000
    c = validate(make_cfg("resume=never", "checkpoint.interval=0"))
    assert c.resume is ResumeMode.never and c.checkpoint.interval == 0
    assert {"resume", "checkpoint"} <= set(BOOKKEEPING_KEYS)
    with pytest.raises(ConfigCompositionException) as err:
        make_cfg("resume=sometimes")
    assert "auto" in str(err.value.__cause__) and "never" in str(err.value.__cause__)


def test_the_async_backend_is_spelled_as_the_readme_says():
    assert validate(make_cfg("envs.backend=async")).envs.backend.value == "async"
    with pytest.raises(ConfigCompositionException) as err:
        make_cfg("envs.backend=async_")
    assert "async" in str(err.value.__cause__ or err.value)


def test_a_device_this_machine_lacks_is_a_config_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match=r"device='cuda'.*allowed here: cpu"):
        train(make_cfg("logger=none", "device=cuda"), run_dir=tmp_path / "run")


def test_split_agent_with_shared_trunk_is_an_error():
    with pytest.raises(ConfigError, match=r"network.trunk.*agent=shared"):
        validate(make_cfg("agent=split", "network=trunk_tanh64"))


def test_bad_input_fails_before_training_writes_anything(tmp_path):
    with pytest.raises(ConfigError, match=f"task.id='{UNSUPPORTED_ID}'"):  # an action space no policy covers
        train(make_cfg("logger=none", f"task.id={UNSUPPORTED_ID}", "task.threshold=null"), run_dir=tmp_path / "run")
    with pytest.raises(ConfigError, match="gamma"):
        train(make_cfg("logger=none", "gamma=2"), run_dir=tmp_path / "run")
    # The folder holds the refusal and nothing else: no metrics a report could mistake for a run.
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["status.json"]
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "not_started" and "gamma=2" in status["reason"] and "(0, 1]" in status["reason"]


# The RL Zoo's A2C entries (rl-baselines3-zoo hyperparams/a2c.yml) as the presets must give them:
# task, n_envs, normalize (obs and reward), learning rate and its schedule, gamma, n_steps, budget.
ZOO = {
    "cartpole": ("CartPole-v1", 8, "none", 7e-4, "constant", 0.99, 5, 500_000),
    "acrobot": ("Acrobot-v1", 16, "obs_reward", 7e-4, "constant", 0.99, 5, 500_000),
    "lunarlander": ("LunarLander-v3", 8, "none", 8.3e-4, "linear", 0.995, 5, 200_000),
    "pendulum": ("Pendulum-v1", 8, "obs_reward", 7e-4, "linear", 0.9, 8, 1_000_000),
    "halfcheetah": ("HalfCheetah-v5", 1, "obs_reward", 7e-4, "constant", 0.99, 5, 1_000_000),
    "hopper": ("Hopper-v5", 1, "obs_reward", 7e-4, "constant", 0.99, 5, 1_000_000),
    "walker2d": ("Walker2d-v5", 1, "obs_reward", 7e-4, "constant", 0.99, 5, 1_000_000),
}


@pytest.mark.parametrize("task", sorted(ZOO))
def test_the_zoo_presets_give_the_zoos_settings(task):
    c = validate(make_cfg(f"experiment=zoo_{task}"))
    got = (c.task.id, c.envs.num_envs, c.obs_norm.name.value, c.agent.lr, c.agent.lr_schedule.value, c.gamma,
           c.n_steps, c.total_steps)
    assert got == ZOO[task]
    # SB3's defaults underneath, from sb3_a2c: RMSprop eps 1e-5, clip 0.5, no advantage normalisation
    assert (c.agent.optimizer.value, c.agent.eps, c.agent.max_grad_norm, c.advantage.normalize) == \
        ("rmsprop", 1e-5, 0.5, False)
    if task == "pendulum":  # gae_lambda 0.9, vf_coef 0.4, log_std_init -2 and ortho_init False
        assert (c.advantage.lam, c.agent.vf_coef, c.network.log_std_init, c.network.init.value) == \
            (0.9, 0.4, -2.0, "default")
    else:
        assert (c.advantage.lam, c.agent.vf_coef, c.network.init.value) == (1.0, 0.5, "orthogonal")
    assert c.agent.ent_coef == (1e-5 if task == "lunarlander" else 0.0)


def test_zoo_cartpole_is_sb3_matched_on_cartpole():
    from omegaconf import OmegaConf
    zoo, matched = (OmegaConf.to_container(make_cfg(f"experiment={e}")) for e in ("zoo_cartpole", "sb3_matched"))
    assert zoo.pop("experiment_name") == "zoo_cartpole" and matched.pop("experiment_name") == "sb3_matched"
    assert zoo == matched
