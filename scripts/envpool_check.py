"""Same task on both engines: episode returns and lengths on gymnasium's and envpool's envs under
the same policy, compared with a two-sample Kolmogorov-Smirnov test at alpha 0.01.

    python scripts/envpool_check.py [TASK ...] [--episodes 2000] [--run RUN_DIR] [--out results/envpool]
    python scripts/envpool_check.py --learning SWEEP [SWEEP ...] --csv NAME.csv

Without --run the policy is uniform random actions; with --run, that run folder's trained greedy
policy (its model.pt; the run's task). Appends rows to <out>/same_task.csv. With --learning, the
runs of those sweeps (the same config on both engines) are compared instead: one row per run in
<out>/NAME.csv, and P(envpool's run beats gymnasium's) printed. The logic is
``a2c_lab/bench/same_task.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from a2c_lab.bench.same_task import compare, learning_rows, learning_summary  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tasks", nargs="*", default=["CartPole-v1", "Acrobot-v1", "HalfCheetah-v5"])
    parser.add_argument("--episodes", type=int, default=2000, help="episodes per engine (default 2000)")
    parser.add_argument("--run", type=Path, help="a run folder whose greedy policy acts (default: random actions)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "envpool")
    parser.add_argument("--learning", type=Path, nargs="+", help="sweep folders of one config on both engines")
    parser.add_argument("--csv", default="learning.csv", help="with --learning: the file under --out")
    args = parser.parse_args(argv)
    if args.learning:
        rows = learning_rows(args.learning)
        args.out.mkdir(parents=True, exist_ok=True)
        rows.to_csv(args.out / args.csv, index=False)
        print(rows.round(1).to_string(index=False))
        for metric, (p, low, high) in learning_summary(rows).items():
            print(f"P(envpool > gymnasium) on {metric}: {p:.2f} [{low:.2f}, {high:.2f}]")
        return 0
    policy, label, tasks = None, "random", args.tasks
    if args.run is not None:
        from omegaconf import OmegaConf  # noqa: PLC0415

        from a2c_lab.training.policy import load_policy  # noqa: PLC0415
        policy, label = load_policy(args.run), f"trained ({args.run.name} of {args.run.parent.name})"
        tasks = [OmegaConf.load(args.run / "run_config.yaml").task.id]
    rows = pd.DataFrame([row for task in tasks for row in compare(task, label, args.episodes, policy, args.seed)])
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "same_task.csv"
    rows.to_csv(path, mode="a", header=not path.exists(), index=False)
    print(rows.round(4).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
