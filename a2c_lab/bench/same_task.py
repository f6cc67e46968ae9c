"""Is envpool's task the same as gymnasium's? envpool's envs are C++ reimplementations, so for each
task it serves, episodes are collected on both engines under the same policy (fixed seeds) and
their returns and lengths compared with a two-sample Kolmogorov-Smirnov test at alpha 0.01
(``scipy.stats.ks_2samp``).

* Each env of the 16 contributes the same number of episodes (its first ones), so short episodes
  are not over-represented by the order in which episodes end.
* Policies: uniform random actions (each engine its own numpy generator, seeded), or a trained
  seed's greedy policy (``a2c_lab.training.policy.load_policy``, deterministic).
* What the test could detect: the smallest location shift of the returns that the KS test would
  reject at alpha 0.01, from its critical distance and the returns' highest density
  (``detectable_shift``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

ALPHA = 0.01
NUM_ENVS = 16
ENGINES = ("sync", "envpool")  # gymnasium's own vector env (SAME_STEP autoreset), and envpool


def episodes(task: str, engine: str, count: int, policy: Callable[[np.ndarray], np.ndarray] | None,
             seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` episodes' (returns, lengths) on ``engine``; ``policy`` None: uniform random actions."""
    from a2c_lab.config import Backend  # noqa: PLC0415
    from a2c_lab.training.envs import make_group_envs  # noqa: PLC0415

    envs = make_group_envs(task, NUM_ENVS, Backend[engine], [np.random.SeedSequence(seed)])
    rng = np.random.default_rng(seed)
    quota = -(-count // NUM_ENVS)
    returns, lengths = np.zeros(NUM_ENVS), np.zeros(NUM_ENVS, dtype=np.int64)
    done: list[list[tuple[float, int]]] = [[] for _ in range(NUM_ENVS)]
    spec = envs.actions
    try:
        obs = envs.reset()[0]
        while min(map(len, done)) < quota:
            if policy is not None:
                action = policy(obs)
            elif spec.discrete:
                action = rng.integers(0, spec.size, NUM_ENVS)
            else:
                action = rng.uniform(spec.low, spec.high, (NUM_ENVS, spec.size)).astype(np.float32)
            step = envs.step(np.asarray(action)[None])
            valid = step.valid[0]
            returns += step.reward[0] * valid
            lengths += valid
            for i in np.flatnonzero((step.terminated[0] | step.truncated[0]) & valid).tolist():
                if len(done[i]) < quota:
                    done[i].append((float(returns[i]), int(lengths[i])))
                returns[i], lengths[i] = 0.0, 0
            obs = step.obs[0]
    finally:
        envs.close()
    pairs = np.array([p for env in done for p in env[:quota]])[:count]
    return pairs[:, 0], pairs[:, 1].astype(np.int64)


def detectable_shift(a: np.ndarray, b: np.ndarray, alpha: float = ALPHA) -> float:
    """The smallest location shift of one sample that the KS test would detect at ``alpha``: a shift
    by delta moves the empirical CDFs apart by about delta * f(x) where the returns' density f is
    highest, and the test rejects once that passes its critical distance
    c(alpha) * sqrt((n + m) / (n m)), c(alpha) = sqrt(-ln(alpha / 2) / 2). f from a Gaussian KDE of
    both samples pooled. (Shifting the sample itself and re-testing is fooled by ties: integer
    returns, such as CartPole's, "differ" after any shift, however small.)"""
    from scipy.stats import gaussian_kde  # noqa: PLC0415

    n, m = len(a), len(b)
    critical = np.sqrt(-np.log(alpha / 2) / 2) * np.sqrt((n + m) / (n * m))
    pooled = np.concatenate([a, b]).astype(float)
    if np.ptp(pooled) == 0:
        return float("nan")
    grid = np.linspace(pooled.min(), pooled.max(), 512)
    return float(critical / gaussian_kde(pooled)(grid).max())


def compare(task: str, label: str, count: int, policy: Callable | None, seed: int) -> list[dict]:
    """One row per metric (return, length): the two engines' samples and the KS test."""
    from scipy.stats import ks_2samp  # noqa: PLC0415

    samples = {engine: episodes(task, engine, count, policy, seed + k) for k, engine in enumerate(ENGINES)}
    rows = []
    for index, metric in enumerate(("return", "length")):
        gym, pool = samples["sync"][index].astype(float), samples["envpool"][index].astype(float)
        test = ks_2samp(gym, pool)
        rows.append(dict(task=task, policy=label, metric=metric, episodes=len(gym), gym_mean=gym.mean(),
                         envpool_mean=pool.mean(), gym_std=gym.std(), envpool_std=pool.std(),
                         ks_statistic=float(test.statistic), p_value=float(test.pvalue),
                         same_at_alpha=bool(test.pvalue >= ALPHA),
                         detectable_shift=detectable_shift(gym, pool) if metric == "return" else np.nan))
    return rows


def learning_rows(sweeps: list[Path]) -> pd.DataFrame:
    """Runs that differ in ``envs.backend`` (one sweep over it, or one sweep per backend): one row
    per run with its backend (as the run recorded it), seed, steps to the task's threshold (NaN:
    never, or a task without one) and final return."""
    from a2c_lab.analysis import load_runs  # noqa: PLC0415

    runs = load_runs(list(sweeps)).included
    return runs[["backend", "seed", "steps_to_threshold", "final_return"]].sort_values(["backend", "seed"])


def learning_summary(rows: pd.DataFrame) -> dict:
    """P(envpool's run beats gymnasium's) on final return and, where the task has a threshold, on
    steps to it (fewer is better; never = infinitely many), each with its 95% bootstrap CI."""
    from a2c_lab.analysis import probability_of_improvement  # noqa: PLC0415

    pool, gym = rows[rows["backend"] == "envpool"], rows[rows["backend"] != "envpool"]
    out = {"final_return": probability_of_improvement(pool["final_return"].to_numpy(), gym["final_return"].to_numpy())}
    if rows["steps_to_threshold"].notna().any():
        steps = [np.nan_to_num(-g["steps_to_threshold"].to_numpy(), nan=-np.inf) for g in (pool, gym)]
        out = {"steps_to_threshold": probability_of_improvement(*steps), **out}
    return out
