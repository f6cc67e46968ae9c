"""Every group option and experiment composes and validates; bad input fails early with the key's name."""

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException

from a2c_lab.config import AgentKind, Backend, ConfigError, Estimator, validate
from a2c_lab.trainer import train
from conftest import CONF_DIR, make_cfg

GROUPS = {group: sorted(p.stem for p in (Path(CONF_DIR) / group).glob("*.yaml"))
          for group in ("agent", "network", "advantage", "envs", "task", "logger", "experiment")}


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_option_composes_and_validates(group, option):
    overrides = [f"{group}={option}"]
    if group == "network" and option == "trunk_tanh64":
        overrides.append("agent=shared")
    validate(make_cfg(*overrides))


def test_defaults_are_the_notebooks_vectorized_settings():
    c = validate(make_cfg())
    assert c.agent.name is AgentKind.shared and c.agent.lr == 7e-4 and c.agent.ent_coef == 0.005
    assert c.agent.vf_coef == 0.5 and c.agent.max_grad_norm is None
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
])
def test_out_of_range_values(override, key, allowed):
    with pytest.raises(ConfigError) as err:
        validate(make_cfg(override))
    assert f"{key}=" in str(err.value) and allowed in str(err.value)


def test_split_agent_with_shared_trunk_is_an_error():
    with pytest.raises(ConfigError, match=r"network.trunk.*agent=shared"):
        validate(make_cfg("agent=split", "network=trunk_tanh64"))


def test_bad_input_fails_before_training_writes_anything(tmp_path):
    with pytest.raises(ConfigError, match="task.id='Pendulum-v1'"):
        train(make_cfg("logger=none", "task.id=Pendulum-v1", "task.threshold=null"), run_dir=tmp_path / "run")
    with pytest.raises(ConfigError, match="gamma"):
        train(make_cfg("logger=none", "gamma=2"), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
