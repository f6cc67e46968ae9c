"""JAX peer for the throughput benchmark: PureJaxRL-style A2C on gymnax CartPole-v1.

    python scripts/jax_peer.py --seeds 10 --steps 500000 [--num-envs 8] [--json]

A2C at Stable-Baselines3's / RL Zoo's CartPole-v1 settings (a2c-lab's ``experiment=sb3_matched``):
8 envs per seed, n_steps 5, gamma 0.99, GAE lambda 1.0, no advantage normalisation, vf_coef 0.5,
ent_coef 0.0, gradients clipped to global norm 0.5 per seed (torch's ``clip_grad_norm_``),
RMSprop lr 7e-4, decay 0.99, eps 1e-5 outside the sqrt (torch), separate actor and critic MLPs
64-64 tanh, orthogonal init (sqrt 2 hidden, 0.01 policy head, 1.0 value head, zero biases), one
optimizer on the combined loss, one gradient step per 5-step rollout.

gymnax resets an env inside ``step``; it returns ``terminated`` and ``truncated`` apart (truncated:
the 500-step time limit) and the pre-reset observation in ``info["final_observation"]``. A
termination bootstraps nothing; a truncation that is not also a termination adds
gamma * V(final observation) to its reward, as SB3 does.

The whole run of one seed is one function (a ``lax.scan`` over updates); seeds are ``vmap``ped and
the lot is ``jit``ted, compiled ahead of time (``lower().compile()``) so that compile_s and
train_s are apart. Seed s starts from ``jax.random.PRNGKey(s)``; a run repeats exactly for the
same --seeds, but seed s in a batch of another size can part ways after about 100k steps
(rounding differs between batch sizes and one flipped action sample changes the rest). Per seed, a ring buffer of the
last 100 finished episode returns (SB3's ``ep_info_buffer``) is checked after every vector step:
``steps_to_475`` is the first env step count (per seed) at which its mean reaches 475.
Runs on CPU unless JAX_PLATFORMS says otherwise. Needs the ``[jax]`` extra.
"""

import time

T_START = time.perf_counter()  # wall_s counts from here: imports, compiling and the run

import argparse  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from importlib.metadata import version  # noqa: E402

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import gymnax  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

SETTINGS = dict(n_steps=5, gamma=0.99, gae_lambda=1.0, vf_coef=0.5, ent_coef=0.0,
                max_grad_norm=0.5, lr=7e-4, rms_decay=0.99, rms_eps=1e-5)
HIDDEN = (64, 64)
WINDOW = 100    # episodes in the moving mean (SB3's ep_info_buffer)
TARGET = 475.0  # CartPole-v1's reward threshold


# ---- networks: plain parameter lists, [(W, b), ...] per MLP --------------------------------

def init_mlp(key, sizes, head_scale):
    """Orthogonal weights (gain sqrt 2 for hidden layers, head_scale for the last), zero biases."""
    keys = jax.random.split(key, len(sizes) - 1)
    layers = []
    for i, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:])):
        gain = head_scale if i == len(sizes) - 2 else math.sqrt(2.0)
        w = jax.nn.initializers.orthogonal(gain)(k, (n_in, n_out), jnp.float32)
        layers.append((w, jnp.zeros(n_out, jnp.float32)))
    return layers


def mlp(layers, x):
    for w, b in layers[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = layers[-1]
    return x @ w + b


def init_params(key, obs_dim, n_actions):
    k_pi, k_v = jax.random.split(key)
    return dict(actor=init_mlp(k_pi, (obs_dim, *HIDDEN, n_actions), 0.01),
                critic=init_mlp(k_v, (obs_dim, *HIDDEN, 1), 1.0))


def value_of(params, obs):
    return mlp(params["critic"], obs)[..., 0]


# ---- the update's math (tested in tests/test_jax_peer.py) ---------------------------------

def compute_advantages(rewards, values, terminated, truncated, final_values, last_value, gamma, lam):
    """GAE(lambda) advantages and returns (advantage + value) of a rollout, SB3's way.

    rewards, values, terminated, truncated, final_values: (T, N); last_value: (N,), the value of
    the observation after the rollout. A truncation that is not a termination adds
    gamma * final_values to its reward; either ends the episode (no bootstrap across it)."""
    timeout = jnp.logical_and(truncated, jnp.logical_not(terminated))
    rewards = rewards + gamma * final_values * timeout
    not_done = 1.0 - jnp.logical_or(terminated, truncated).astype(jnp.float32)

    def backward(carry, step):
        next_adv, next_value = carry
        reward, value, live = step
        delta = reward + gamma * next_value * live - value
        adv = delta + gamma * lam * live * next_adv
        return (adv, value), adv

    start = (jnp.zeros_like(last_value), last_value)
    _, adv = jax.lax.scan(backward, start, (rewards, values, not_done), reverse=True)
    return adv, adv + values


def clip_grads(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1,
    the norm taken over every leaf together (one seed's whole gradient)."""
    norm = optax.global_norm(grads)
    scale = jnp.minimum(1.0, max_norm / (norm + 1e-6))
    return jax.tree.map(lambda g: g * scale, grads), norm


def a2c_loss(params, obs, actions, advantages, returns, vf_coef, ent_coef):
    logp_all = jax.nn.log_softmax(mlp(params["actor"], obs))
    logp = jnp.take_along_axis(logp_all, actions[..., None], axis=-1)[..., 0]
    entropy = -jnp.sum(jnp.exp(logp_all) * logp_all, axis=-1)
    policy_loss = -jnp.mean(advantages * logp)
    value_loss = jnp.mean((returns - value_of(params, obs)) ** 2)
    return policy_loss + vf_coef * value_loss - ent_coef * jnp.mean(entropy)


def record_episodes(tracker, rewards, done, env_steps, window=WINDOW):
    """Add one vector step's rewards; finished episodes go into the ring buffer in env order;
    the first env step count at which the buffer's mean reaches TARGET is kept. Needs
    num_envs <= window (at most one write per slot per step)."""
    running = tracker["running"] + rewards
    slot = (tracker["count"] + jnp.cumsum(done) - 1) % window
    slot = jnp.where(done, slot, window)  # out of range: dropped
    buf = tracker["buf"].at[slot].set(running, mode="drop")
    count = tracker["count"] + jnp.sum(done, dtype=jnp.int32)
    mean = jnp.sum(buf) / jnp.maximum(jnp.minimum(count, window), 1)
    reached = (tracker["first_hit"] < 0) & (count > 0) & (mean >= TARGET)
    return dict(running=jnp.where(done, 0.0, running), buf=buf, count=count, mean=mean,
                first_hit=jnp.where(reached, env_steps, tracker["first_hit"]))


def rmsprop(s):
    if "eps_in_sqrt" in inspect.signature(optax.rmsprop).parameters:
        return optax.rmsprop(s["lr"], decay=s["rms_decay"], eps=s["rms_eps"], eps_in_sqrt=False)
    print("warning: this optax has no eps_in_sqrt; eps sits inside the sqrt (not torch's RMSprop)",
          file=sys.stderr)
    return optax.rmsprop(s["lr"], decay=s["rms_decay"], eps=s["rms_eps"])


# ---- one seed's whole run ------------------------------------------------------------------

def make_train(num_envs, total_steps, s=SETTINGS):
    """train(key) -> dict(first_hit, final_mean, episodes, curve) for one seed."""
    env, env_params = gymnax.make("CartPole-v1")
    n_actions = env.action_space(env_params).n
    obs_dim = env.observation_space(env_params).shape[0]
    n_steps, gamma = s["n_steps"], s["gamma"]
    n_updates = total_steps // (num_envs * n_steps)
    optimizer = rmsprop(s)
    reset_all = jax.vmap(env.reset, in_axes=(0, None))
    step_all = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def train(key):
        key, k_params, k_reset = jax.random.split(key, 3)
        params = init_params(k_params, obs_dim, n_actions)
        opt_state = optimizer.init(params)
        obs, env_state = reset_all(jax.random.split(k_reset, num_envs), env_params)
        tracker = dict(running=jnp.zeros(num_envs), buf=jnp.zeros(WINDOW), count=jnp.int32(0),
                       mean=jnp.float32(0.0), first_hit=jnp.int32(-1))

        def one_update(carry, _):
            params, opt_state, obs, env_state, tracker, key, env_steps = carry

            def one_step(inner, _):
                obs, env_state, tracker, key, env_steps = inner
                key, k_act, k_env = jax.random.split(key, 3)
                action = jax.random.categorical(k_act, mlp(params["actor"], obs))
                next_obs, env_state, reward, term, trunc, info = step_all(
                    jax.random.split(k_env, num_envs), env_state, action, env_params)
                env_steps = env_steps + num_envs
                tracker = record_episodes(tracker, reward, term | trunc, env_steps)
                out = (obs, action, reward, term, trunc, info["final_observation"])
                return (next_obs, env_state, tracker, key, env_steps), out

            (obs, env_state, tracker, key, env_steps), rollout = jax.lax.scan(
                one_step, (obs, env_state, tracker, key, env_steps), None, n_steps)
            r_obs, r_act, r_rew, r_term, r_trunc, r_final = rollout
            adv, ret = compute_advantages(r_rew, value_of(params, r_obs), r_term, r_trunc,
                                          value_of(params, r_final), value_of(params, obs),
                                          gamma, s["gae_lambda"])
            grads = jax.grad(a2c_loss)(params, r_obs, r_act, adv, ret, s["vf_coef"], s["ent_coef"])
            grads, _ = clip_grads(grads, s["max_grad_norm"])
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            return (params, opt_state, obs, env_state, tracker, key, env_steps), tracker["mean"]

        carry = (params, opt_state, obs, env_state, tracker, key, jnp.int32(0))
        carry, curve = jax.lax.scan(one_update, carry, None, n_updates)
        tracker = carry[4]
        final = jnp.where(tracker["count"] > 0, tracker["mean"], jnp.nan)
        return dict(first_hit=tracker["first_hit"], final_mean=final,
                    episodes=tracker["count"], curve=curve)

    return train, n_updates * num_envs * n_steps


# ---- command line --------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..S-1, vmapped in one program")
    p.add_argument("--steps", type=int, default=500_000, help="env steps per seed")
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    a = p.parse_args(argv)
    if not 1 <= a.num_envs <= WINDOW:
        p.error(f"--num-envs must be 1..{WINDOW}")
    train, steps_per_seed = make_train(a.num_envs, a.steps)
    if steps_per_seed == 0:
        p.error("--steps is below one rollout (num_envs * 5)")
    keys = jnp.stack([jax.random.PRNGKey(seed) for seed in range(a.seeds)])

    t0 = time.perf_counter()
    compiled = jax.jit(jax.vmap(train)).lower(keys).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = jax.block_until_ready(compiled(keys))
    train_s = time.perf_counter() - t0

    hits = [int(h) if h >= 0 else None for h in jax.device_get(out["first_hit"])]
    finals = [round(float(f), 2) if math.isfinite(f) else None
              for f in jax.device_get(out["final_mean"])]
    result = dict(seeds=a.seeds, total_steps=steps_per_seed, num_envs=a.num_envs,
                  wall_s=round(time.perf_counter() - T_START, 3), compile_s=round(compile_s, 3),
                  train_s=round(train_s, 3),
                  env_steps_per_s=round(a.seeds * steps_per_seed / train_s, 1),
                  steps_to_475=hits, final_return=finals,
                  jax_version=jax.__version__, gymnax_version=version("gymnax"))
    if not a.json:
        print(f"{a.seeds} seeds x {steps_per_seed} env steps ({a.num_envs} envs each) on "
              f"{jax.devices()[0]}: compile {compile_s:.1f} s, run {train_s:.1f} s "
              f"({result['env_steps_per_s']:,.0f} env steps/s), wall {result['wall_s']:.1f} s")
        print(f"episodes per seed: {jax.device_get(out['episodes']).tolist()}")
        print(f"env steps to a last-{WINDOW} mean of {TARGET:g}: {hits}")
        print(f"final last-{WINDOW} mean return: {finals}")
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
