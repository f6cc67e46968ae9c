"""The only module that knows gymnasium's and envpool's APIs: vector envs, autoreset and seeding.

Whatever the backend, ``VectorEnv.step`` returns a ``VecStep`` in which every row is one
env's transition with its *true* next observation, and ``valid`` marks the rows that are
real transitions:

* ``sync`` / ``async`` run with SAME_STEP autoreset: the step that ends an episode already
  returns the reset observation, the real final one comes from ``info["final_obs"]``.
  Every row is valid (as in old gym, which the notebook used).
* ``native`` (the env's own vector implementation, e.g. CartPole's) only knows NEXT_STEP
  autoreset: the step that ends an episode returns the final observation, and the *next*
  step returns the reset observation with reward 0 and ignores the action. That row is
  not a transition: ``valid`` is False there, it is neither trained on nor counted.
* ``envpool`` (opt-in, the ``[fast]`` extra): one C++ pool for all of a group's S x N envs, each
  env seeded from its own seed's stream (a seed's episodes do not depend on its group). It
  autoresets as ``native`` does: the step after an episode's end returns the reset observation
  with reward 0, both flags False and ``elapsed_step`` 0, and ignores the action (masked); a
  truncation returns the final observation with ``truncated`` True.

``GroupEnvs`` steps a group's envs as one: [S, N, ...] in, [S, N, ...] out (``make_group_envs``).

Box actions are clipped to the space's bounds here, before the env steps; the policy's sample
(what its log-probability is of) stays unclipped in the rollout.
"""

from __future__ import annotations

import copy
import logging
import warnings
from typing import NamedTuple

import gymnasium as gym
import numpy as np

from a2c_lab.config import Backend, ConfigError
from a2c_lab.training.distributions import ActionSpec
from a2c_lab.training.seeding import env_seeds

log = logging.getLogger(__name__)


class VecStep(NamedTuple):
    obs: np.ndarray  # [N, D] observation to act on next (a reset observation where an episode ended)
    next_obs: np.ndarray  # [N, D] true next observation of this transition (final one at episode ends)
    reward: np.ndarray  # [N] float32
    terminated: np.ndarray  # [N] bool: next_obs is terminal
    truncated: np.ndarray  # [N] bool: the episode was cut (time limit); next_obs is not terminal
    valid: np.ndarray  # [N] bool: a real transition (False for NEXT_STEP's reset step)


def has_native_vector_env(env_id: str) -> bool:
    return gym.spec(env_id).vector_entry_point is not None


def resolve_backend(env_id: str, backend: Backend) -> Backend:
    if backend is Backend.envpool:
        _check_envpool(env_id)
        return backend
    if backend is Backend.auto:
        return Backend.native if has_native_vector_env(env_id) else Backend.sync
    if backend is Backend.native and not has_native_vector_env(env_id):
        raise ConfigError(
            f"invalid config: envs.backend=native; {env_id} has no native vector env in gymnasium, "
            "allowed: auto, sync, async")
    return backend


def _quiet_mujoco(env_id: str) -> None:
    """Route MuJoCo's C-level warnings to Python logging: its default handler prints to stdout and
    appends to MUJOCO_LOG.TXT in the working folder. Walker2d's model makes MuJoCo 4 warn that
    ``settotalmass`` is deprecated at every compile after the first model: logged at debug level;
    any other MuJoCo warning at warning level."""
    if "mujoco" not in str(gym.spec(env_id).entry_point):
        return
    import mujoco  # noqa: PLC0415 (only for MuJoCo tasks; the [mujoco] extra)

    def handler(message: str) -> None:
        log.log(logging.DEBUG if "settotalmass" in message else logging.WARNING, "MuJoCo: %s", message)
    mujoco.set_mju_user_warning(handler)


def action_spec(space: gym.Space) -> ActionSpec | None:
    """The policy's view of an action space: Discrete, or a flat Box with finite bounds; None otherwise."""
    if isinstance(space, gym.spaces.Discrete):
        return ActionSpec(True, int(space.n))
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 1 and np.all(np.isfinite(space.low)) \
            and np.all(np.isfinite(space.high)):
        return ActionSpec(False, int(space.shape[0]), space.low.astype(np.float32), space.high.astype(np.float32))
    return None


def policy_actions(env_id: str, space: gym.Space) -> ActionSpec:
    """The action space as the policy sees it, or ConfigError naming the task and what is allowed."""
    spec = action_spec(space)
    if spec is None:
        raise ConfigError(
            f"invalid config: task.id={env_id!r} has action space {space}; allowed: a Discrete "
            "space (e.g. CartPole-v1) or a flat Box with finite bounds (e.g. Pendulum-v1, HalfCheetah-v5)")
    return spec


def check_task(env_id: str) -> ActionSpec:
    """The task's action space as the policy sees it; ConfigError before training on an unknown
    id or a task this A2C cannot do."""
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as err:
        raise ConfigError(f"invalid config: task.id={env_id!r} is not a registered gymnasium id ({err})") from None
    _quiet_mujoco(spec.id)
    env = gym.make(spec.id)
    try:
        actions = policy_actions(env_id, env.action_space)
        space = env.observation_space
        if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
            raise ConfigError(
                f"invalid config: task.id={env_id!r} has observation space {space}; allowed: a flat Box")
        return actions
    finally:
        env.close()


def _check_envpool(env_id: str) -> None:
    try:
        import envpool  # noqa: PLC0415 (the [fast] extra)
    except ImportError:
        raise ConfigError("invalid config: envs.backend=envpool needs envpool: pip install -e \".[fast]\"; "
                          "allowed without it: auto, sync, async, native") from None
    if env_id not in envpool.list_all_envs():
        raise ConfigError(f"invalid config: envs.backend=envpool; envpool has no {env_id}, allowed: auto, sync, "
                          "async, native (envpool has e.g. CartPole-v1, Acrobot-v1, Pendulum-v1, HalfCheetah-v5)")


def _trust_actions(env: gym.vector.VectorEnv) -> None:
    """Skip a native vector env's per-step ``assert action_space.contains(action)``: on CartPole
    it was a quarter of the env's step time (48 of 174 us, profiled), and the actions it checks
    are ours by construction (the policy's samples or argmax over exactly the space's actions).
    Only the check goes: the space the policy is built from (``single_action_space``) is untouched."""
    trusted = copy.copy(env.unwrapped.action_space)
    trusted.contains = lambda action: True
    env.unwrapped.action_space = trusted


class VectorEnv:
    """N copies of one task behind one interface, whatever gymnasium's autoreset mode."""

    def __init__(self, env_id: str, num_envs: int, backend: Backend, seeds: np.random.SeedSequence | int):
        self.backend = resolve_backend(env_id, backend)
        self.num_envs = num_envs
        sequence = seeds if isinstance(seeds, np.random.SeedSequence) else np.random.SeedSequence(seeds)
        # The native vector env draws all its envs from one generator (one seed); the others
        # take a seed per env.
        self.reset_seeds = env_seeds(sequence, 1 if self.backend is Backend.native else num_envs)
        _quiet_mujoco(env_id)
        if self.backend is Backend.native:
            self.env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
            _trust_actions(self.env)
        else:
            self.env = gym.make_vec(
                env_id, num_envs=num_envs, vectorization_mode=self.backend.value,
                vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
        self.next_step_autoreset = self.backend is Backend.native
        self.obs_dim = int(np.prod(self.env.single_observation_space.shape))
        self.actions = policy_actions(env_id, self.env.single_action_space)
        self.num_actions = self.actions.size  # the policy's output size
        self._after_episode_end = np.zeros(num_envs, dtype=bool)

    def reset(self) -> np.ndarray:
        """Seed the envs from the stream given at construction; the first observations [N, D]."""
        seed = self.reset_seeds[0] if self.backend is Backend.native else self.reset_seeds
        obs, _ = self.env.reset(seed=seed)
        self._after_episode_end[:] = False
        return np.asarray(obs, dtype=np.float32)

    def step(self, actions: np.ndarray) -> VecStep:
        if not self.actions.discrete:
            actions = np.clip(actions, self.actions.low, self.actions.high)
        obs, reward, terminated, truncated, info = self.env.step(actions)
        obs = np.asarray(obs, dtype=np.float32)
        reward = np.asarray(reward, dtype=np.float32)
        if self.next_step_autoreset:
            valid = ~self._after_episode_end
            self._after_episode_end = terminated | truncated
            next_obs = obs  # at an episode end this *is* the final observation
        else:
            valid = np.ones(self.num_envs, dtype=bool)
            next_obs = obs
            if "_final_obs" in info and info["_final_obs"].any():
                next_obs = obs.copy()
                ended = np.flatnonzero(info["_final_obs"])
                next_obs[ended] = np.stack(info["final_obs"][ended]).astype(np.float32)
        return VecStep(obs, next_obs, reward, terminated, truncated, valid)

    def close(self) -> None:
        self.env.close()


class GroupEnvs:
    """A group's envs as one: each seed's ``VectorEnv`` (gymnasium's backends), stepped in turn."""

    def __init__(self, envs: list[VectorEnv]):
        self.envs = envs
        self.num_seeds, self.num_envs = len(envs), envs[0].num_envs
        self.obs_dim, self.actions, self.num_actions = envs[0].obs_dim, envs[0].actions, envs[0].num_actions

    def reset(self) -> np.ndarray:
        return np.stack([e.reset() for e in self.envs])  # [S, N, D]

    def step(self, actions: np.ndarray) -> VecStep:
        """actions [S, N, ...] -> every field [S, N, ...]."""
        if self.num_seeds == 1:
            return VecStep(*(x[None] for x in self.envs[0].step(actions[0])))
        # np.array of a list of equal arrays stacks them as np.stack does, at a quarter of its
        # per-call cost on these small arrays (6 fields a step)
        return VecStep(*(np.array(x) for x in zip(*(e.step(a) for e, a in zip(self.envs, actions)))))

    def close(self) -> None:
        """Close every seed's envs, even when one fails (after a signal, workers may be gone)."""
        errors = []
        for env in self.envs:
            try:
                env.close()
            except Exception as err:  # noqa: BLE001 - close the others, then report it
                errors.append(err)
        if errors:
            raise errors[0]


class EnvPool:
    """All of a group's S x N envs in one envpool pool; seed s's envs take reset seeds from its
    own stream, so its episodes are the same in any group."""

    def __init__(self, env_id: str, num_envs: int, streams: list[np.random.SeedSequence]):
        import envpool  # noqa: PLC0415 (the [fast] extra)

        _check_envpool(env_id)
        self.num_seeds, self.num_envs = len(streams), num_envs
        # envpool takes int32 seeds: each env's 32-bit reset seed without its top bit
        seeds = [seed >> 1 for stream in streams for seed in env_seeds(stream, num_envs)]
        with warnings.catch_warnings():  # its spaces' float64 bounds, which gymnasium casts to float32
            warnings.filterwarnings("ignore", message=".*precision lowered by casting", category=UserWarning)
            self.env = envpool.make_gymnasium(env_id, num_envs=len(seeds), seed=seeds)
            self.obs_dim = int(np.prod(self.env.observation_space.shape))
            self.actions = policy_actions(env_id, self.env.action_space)
        self.num_actions = self.actions.size
        self._after_episode_end = np.zeros(len(seeds), dtype=bool)

    def _grouped(self, x: np.ndarray, dtype) -> np.ndarray:
        return np.asarray(x, dtype=dtype).reshape(self.num_seeds, self.num_envs, *x.shape[1:])

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset()
        self._after_episode_end[:] = False
        return self._grouped(obs, np.float32)

    def step(self, actions: np.ndarray) -> VecStep:
        flat = actions.reshape(self.num_seeds * self.num_envs, *actions.shape[2:])
        if self.actions.discrete:
            flat = flat.astype(np.int32)
        else:
            flat = np.clip(flat, self.actions.low, self.actions.high).astype(np.float64)
        obs, reward, terminated, truncated, _ = self.env.step(flat)
        valid = ~self._after_episode_end
        self._after_episode_end = terminated | truncated
        obs = self._grouped(obs, np.float32)  # at an episode end this *is* the final observation
        return VecStep(obs, obs, self._grouped(reward, np.float32), self._grouped(terminated, bool),
                       self._grouped(truncated, bool), self._grouped(valid, bool))

    def close(self) -> None:
        self.env.close()


def make_group_envs(env_id: str, num_envs: int, backend: Backend,
                    streams: list[np.random.SeedSequence]) -> GroupEnvs | EnvPool:
    """One seed's ``num_envs`` envs per stream, stepped as one group."""
    if resolve_backend(env_id, backend) is Backend.envpool:
        return EnvPool(env_id, num_envs, streams)
    return GroupEnvs([VectorEnv(env_id, num_envs, backend, stream) for stream in streams])
