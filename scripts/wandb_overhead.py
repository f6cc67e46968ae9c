"""How much wall time W&B tracking costs: logger=wandb (offline) against logger=none.

    PYTHONPATH=. python scripts/wandb_overhead.py [--repeats 5] [--steps 200000] [key=value ...]

Runs the command line (``python -m a2c_lab.run``) at the default config, the two loggers
alternating in pairs whose order flips every pair (so a drift in machine load hits both
alike), the same seed in every run (the same training work). Each run is timed end to end
(process start to exit: W&B's import, init and finish included) and by its own loop time
(``summary/wall_time``: per-call logging cost only). The overhead is the median of the
per-pair ratios wandb/none - 1, with the medians of each side beside it. Extra
``key=value`` arguments go to every run. Run folders go to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from a2c_lab import metrics as m  # noqa: E402

LOGGERS = ("none", "wandb")


def one_run(logger: str, run_dir: Path, steps: int, extra: list[str]) -> tuple[float, float]:
    """(end-to-end seconds, loop seconds) of one run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}  # offline, as configured
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    args = [sys.executable, "-m", "a2c_lab.run", f"logger={logger}", f"total_steps={steps}", "progress=false",
            f"hydra.run.dir={run_dir}", *extra]
    start = time.perf_counter()
    out = subprocess.run(args, cwd=run_dir.parent, env=env, capture_output=True, text=True)
    total = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"run failed ({' '.join(args)}):\n{out.stderr[-3000:]}")
    loop = json.loads((run_dir / m.SUMMARY_FILE).read_text())[m.TOTAL_WALL_TIME]
    if logger == "wandb":
        assert list((run_dir / "wandb").glob("offline-run-*")), "no offline W&B run was written"
    return total, loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="pairs of runs (default 5)")
    parser.add_argument("--steps", type=int, default=200_000, help="total_steps of every run (default 200000)")
    parser.add_argument("overrides", nargs="*", help="extra key=value overrides for every run")
    opts = parser.parse_args()

    times: dict[str, dict[str, list[float]]] = {lg: {"total": [], "loop": []} for lg in LOGGERS}
    with tempfile.TemporaryDirectory(prefix="wandb_overhead_") as tmp:
        for pair in range(opts.repeats):
            order = LOGGERS if pair % 2 == 0 else LOGGERS[::-1]
            for logger in order:
                total, loop = one_run(logger, Path(tmp) / f"{pair}_{logger}", opts.steps, opts.overrides)
                times[logger]["total"].append(total)
                times[logger]["loop"].append(loop)
                print(f"pair {pair} {logger:>5}: end to end {total:7.2f} s, loop {loop:7.2f} s", flush=True)

    print(f"\n{opts.repeats} pairs, total_steps={opts.steps}, overrides={opts.overrides or 'none'}, "
          f"{os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.2f}")
    for kind, label in (("total", "end to end"), ("loop", "training loop")):
        none, wandb = times["none"][kind], times["wandb"][kind]
        ratios = [w / n - 1 for w, n in zip(wandb, none)]
        print(f"{label:>13}: none {statistics.median(none):7.2f} s, wandb {statistics.median(wandb):7.2f} s "
              f"(medians); overhead {100 * statistics.median(ratios):+.1f}% (median of pairs; "
              f"range {100 * min(ratios):+.1f}% .. {100 * max(ratios):+.1f}%)")


if __name__ == "__main__":
    main()
