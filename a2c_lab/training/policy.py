"""A trained seed's policy, saved and loaded: ``model.pt`` holds its weights (``seed_state_dict``:
nn.Linear layout), a Gaussian policy's ``actor.log_std`` and action bounds, and its normalisation
statistics (``obs_norm.*``, where ``obs_norm`` is on); ``load_policy`` turns a run folder back into
obs -> action.

    from a2c_lab.training.policy import load_policy
    act = load_policy("runs/sweeps/<sweep>/0")
    action = act(observation)            # one raw observation [D], or a batch [B, D]
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from omegaconf import OmegaConf

from a2c_lab.runs import metrics as m
from a2c_lab.runs.run_folder import RUN_CONFIG_FILE
from a2c_lab.training.distributions import ActionSpec, DiagGaussian, for_actions
from a2c_lab.training.networks import ActorCritic
from a2c_lab.training.normalization import Normalizer, make_normalizer
from a2c_lab.validation import validate

NORM_PREFIX = "obs_norm."


def saved_policy(agent, seed_index: int, normalizer: Normalizer | None) -> dict[str, torch.Tensor]:
    """What ``model.pt`` holds for one seed of a group (tensors only: loadable with weights_only)."""
    state = agent.model.seed_state_dict(seed_index)
    if isinstance(agent.dist, DiagGaussian):
        state["action.low"] = torch.from_numpy(np.asarray(agent.dist.spec.low))
        state["action.high"] = torch.from_numpy(np.asarray(agent.dist.spec.high))
    if normalizer is not None:
        state.update({NORM_PREFIX + k: torch.from_numpy(v) for k, v in normalizer.seed_state(seed_index).items()})
    return state


def load_policy(run_dir: str | Path) -> Callable[[np.ndarray], np.ndarray]:
    """The greedy policy of a run folder's ``model.pt``: raw observations (as the env gives them)
    -> actions (the argmax, or the Gaussian's mean clipped to the Box), normalised by the run's
    frozen statistics where it used ``obs_norm``. The config comes from the folder's own
    ``run_config.yaml``."""
    run_dir = Path(run_dir)
    cfg = validate(OmegaConf.load(run_dir / RUN_CONFIG_FILE))
    state = torch.load(run_dir / m.MODEL_FILE, map_location="cpu", weights_only=True)
    first = state["trunk.0.weight"] if "trunk.0.weight" in state else state["actor.0.weight"]
    outputs = state[f"actor.{sum(k.startswith('actor.') and k.endswith('.bias') for k in state) - 1}.bias"]
    gaussian = "actor.log_std" in state
    spec = ActionSpec(False, outputs.shape[0], state["action.low"].numpy(), state["action.high"].numpy()) \
        if gaussian else ActionSpec(True, outputs.shape[0])
    dist = for_actions(spec)
    model = ActorCritic(first.shape[1], spec.size, cfg.network, init_seeds=[0], log_std=gaussian)
    model.load_seed_state_dict(0, state)
    normalizer = make_normalizer(cfg.obs_norm, cfg.gamma, 1, first.shape[1], 1)
    if normalizer is not None:
        normalizer.load_seed_state(0, {k[len(NORM_PREFIX):]: v.numpy() for k, v in state.items()
                                       if k.startswith(NORM_PREFIX)})

    def act(obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float32)
        single = x.ndim == 1
        x = x[None] if single else x
        if normalizer is not None:
            x = normalizer.normalize_seed(0, x)
        with torch.inference_mode():
            action = dist.mode(model.policy_logits(torch.from_numpy(x)[None], 0)[0]).numpy()
        if not spec.discrete:
            action = np.clip(action, spec.low, spec.high)
        return action[0] if single else action
    return act
