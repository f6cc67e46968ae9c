"""How much wall time W&B tracking costs: logger=wandb (offline) against logger=none.

    PYTHONPATH=. python scripts/wandb_overhead.py [--repeats 5] [--steps 200000] [key=value ...]

Runs the command line (``a2c_lab.run`` as ``python -m`` runs it, a fresh process each time) at the default
config, the two loggers alternating in pairs whose order flips every pair (so a drift in
machine load hits both alike), the same seed in every run (the same training work).
Extra ``key=value`` arguments go to every run; run folders go to a temporary directory.

Two figures, because on a shared machine the difference of two wall times is noisy (other
jobs' load moves a 20 s run by several seconds):

* **measured**: each run timed end to end (process start to exit) and by its training loop
  (``summary/wall_time``); the overhead is the median of the per-pair ratios wandb/none - 1.
* **attributed**: inside each wandb run, the wall time spent in W&B itself: ``import wandb``,
  the sink's init, its logging calls, its finish; plus, as an upper bound, the CPU time of
  W&B's own threads and service process, which run beside the training on an idle second
  core but take from it on a busy machine. Divided by the median logger=none run.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from a2c_lab.bench.runners import ROOT
from a2c_lab.runs import metrics as m

SCRIPT = ROOT / "scripts" / "wandb_overhead.py"  # its --one runs ``run_one`` in a fresh process
LOGGERS = ("none", "wandb")
SINK_CALLS = ("log_episodes", "log_update", "log_eval")
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(stat_path: str) -> tuple[str, int, float]:
    """(name, parent pid, user+system seconds) from a /proc stat file."""
    text = Path(stat_path).read_text()
    name, fields = text[text.index("(") + 1:text.rindex(")")], text.rsplit(")", 1)[1].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def background_cpu() -> float:
    """CPU seconds of this process's threads other than the main one, and of its children."""
    total = 0.0
    main = threading.main_thread().native_id
    for tid in os.listdir("/proc/self/task"):
        if int(tid) != main:
            total += _cpu_of(f"/proc/self/task/{tid}/stat")[2]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            _, parent, cpu = _cpu_of(f"/proc/{pid}/stat")
        except (OSError, ValueError):
            continue
        if parent == os.getpid():
            total += cpu
    return total


def run_one(out_file: Path, overrides: list[str]) -> None:
    """One run of the command line in this process; with W&B on, time what W&B itself costs.

    The command line runs as ``python -m a2c_lab.run`` would (``runpy``), not through an import."""
    timings = {"import": 0.0, "init": 0.0, "calls": 0.0, "n_calls": 0, "finish": 0.0, "background_cpu": 0.0}
    if "logger=wandb" in overrides:
        start = time.perf_counter()
        importlib.import_module("wandb")  # timed here; wandb_sink then finds it imported

        timings["import"] = time.perf_counter() - start
        from a2c_lab.runs import wandb_sink

        sink = wandb_sink.WandbSink

        def timed(name, key, method):
            def wrapper(*args, **kwargs):
                begin = time.perf_counter()
                try:
                    return method(*args, **kwargs)
                finally:
                    timings[key] += time.perf_counter() - begin
                    timings["n_calls"] += key == "calls"
                    if name == "finish":
                        timings["background_cpu"] = background_cpu()
            return wrapper

        sink.__init__ = timed("__init__", "init", sink.__init__)
        sink.finish = timed("finish", "finish", sink.finish)
        for name in SINK_CALLS:
            setattr(sink, name, timed(name, "calls", getattr(sink, name)))
    sys.argv = ["a2c_lab.run", *overrides]
    try:
        runpy.run_module("a2c_lab.run", run_name="__main__", alter_sys=True)  # as `python -m a2c_lab.run`
    finally:
        out_file.write_text(json.dumps(timings))


def one_run(logger: str, run_dir: Path, steps: int, extra: list[str]) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}  # offline, as configured
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    timing_file = run_dir.with_suffix(".json")
    overrides = [f"logger={logger}", f"total_steps={steps}", "progress=false", f"hydra.run.dir={run_dir}", *extra]
    args = [sys.executable, str(SCRIPT), "--one", str(timing_file), *overrides]
    start = time.perf_counter()
    out = subprocess.run(args, cwd=run_dir.parent, env=env, capture_output=True, text=True)
    total = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"run failed ({' '.join(args)}):\n{out.stderr[-3000:]}")
    if logger == "wandb":
        assert list((run_dir / "wandb").glob("offline-run-*")), "no offline W&B run was written"
    loop = json.loads((run_dir / m.SUMMARY_FILE).read_text())[m.TOTAL_WALL_TIME]
    return {"total": total, "loop": loop, **json.loads(timing_file.read_text())}


def measure(repeats: int, steps: int, overrides: list[str]) -> dict[str, list[dict[str, float]]]:
    """``repeats`` pairs of runs, the loggers' order flipping every pair; each run printed as it ends."""
    runs: dict[str, list[dict[str, float]]] = {lg: [] for lg in LOGGERS}
    with tempfile.TemporaryDirectory(prefix="wandb_overhead_") as tmp:
        for pair in range(repeats):
            for logger in LOGGERS if pair % 2 == 0 else LOGGERS[::-1]:
                r = one_run(logger, Path(tmp) / f"{pair}_{logger}", steps, overrides)
                runs[logger].append(r)
                own = r["import"] + r["init"] + r["calls"] + r["finish"]
                print(f"pair {pair} {logger:>5}: end to end {r['total']:6.2f} s, loop {r['loop']:6.2f} s"
                      + (f", in W&B {own:5.2f} s (+{r['background_cpu']:4.2f} s CPU beside)" if own else ""),
                      flush=True)
    return runs


def print_summary(runs: dict[str, list[dict[str, float]]], repeats: int, steps: int, overrides: list[str]) -> None:
    """The two figures: measured (per-pair ratios) and attributed (seconds in W&B itself)."""

    def med(logger: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[logger])

    print(f"\n{repeats} pairs, total_steps={steps}, overrides={overrides or 'none'}, "
          f"{os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.2f}")
    print("measured (median of per-pair ratios wandb/none - 1, with the range of pairs):")
    for key, label in (("total", "end to end"), ("loop", "training loop")):
        ratios = [w[key] / n[key] - 1 for w, n in zip(runs["wandb"], runs["none"])]
        print(f"  {label:>13}: none {med('none', key):6.2f} s, wandb {med('wandb', key):6.2f} s (medians); "
              f"overhead {100 * statistics.median(ratios):+.1f}% "
              f"(range {100 * min(ratios):+.1f}% .. {100 * max(ratios):+.1f}%)")
    none = med("none", "total")
    parts = {key: med("wandb", key) for key in ("import", "init", "calls", "finish", "background_cpu")}
    own = parts["import"] + parts["init"] + parts["calls"] + parts["finish"]
    print(f"attributed (medians over the wandb runs, as a share of the median logger=none run, {none:.2f} s):")
    print(f"  import {parts['import']:.2f} s + init {parts['init']:.2f} s + "
          f"{med('wandb', 'n_calls'):.0f} sink calls {parts['calls']:.2f} s + finish {parts['finish']:.2f} s "
          f"= {own:.2f} s: {100 * own / none:.1f}%")
    print(f"  + W&B's threads and service process, CPU {parts['background_cpu']:.2f} s: "
          f"at most {100 * (own + parts['background_cpu']) / none:.1f}%")
