"""The throughput benchmark's report: results/benchmark.md (the table the README shows) and
results/benchmark.csv (every repeat).

The targets and the machine's reference speed are in ``scripts/benchmark_targets.yaml`` (issue 5).
Ratios of cases that alternate are medians of the per-repeat ratios, shown with their range.
"""

from __future__ import annotations

import csv
import os
import platform
import statistics
import subprocess
from datetime import datetime
from importlib import metadata
from pathlib import Path

from a2c_lab.bench.runners import ROOT
from a2c_lab.bench.sections import Results, Settings

TARGETS_FILE = ROOT / "scripts" / "benchmark_targets.yaml"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(x: float | None, spec: str = ",.0f") -> str:
    return "n/a" if x is None else format(x, spec)


def paired_ratios(res: Results, section: str, case_a: str, case_b: str, metric: str) -> list[float]:
    """a / b for each repeat that measured both: cases that alternate share their drift."""
    a = {r["repeat"]: r["value"] for r in res.rows if (r["section"], r["case"], r["metric"]) == (section, case_a, metric)}
    b = {r["repeat"]: r["value"] for r in res.rows if (r["section"], r["case"], r["metric"]) == (section, case_b, metric)}
    return [a[k] / b[k] for k in a if k in b and a[k] is not None and b[k]]


def fmt_ratios(values: list[float], spec: str = ".2f", suffix: str = "") -> str:
    """Median, and the range over the repeats when there are several."""
    if not values:
        return "n/a"
    text = format(statistics.median(values), spec) + suffix
    return text if len(values) == 1 else f"{text} ({min(values):{spec}}-{max(values):{spec}})"


def load_targets() -> dict:
    import yaml

    return yaml.safe_load(TARGETS_FILE.read_text())


def targets(res: Results) -> list[tuple[str, str, str, str]]:
    """(target, measured, bound, met) rows for the targets in benchmark_targets.yaml. Ratios of
    alternating cases are medians of the per-repeat ratios, with their range."""
    rows = []
    for t in load_targets()["targets"]:
        if t["kind"] in ("paired", "slowdown"):
            values = paired_ratios(res, t["section"], t["a"], t["b"], t["metric"])
            if t["kind"] == "slowdown":
                values = [v - 1 for v in values]
            value = statistics.median(values) if values else None
            text = (fmt_ratios([100 * v for v in values], ".1f", "%") if t["kind"] == "slowdown"
                    else fmt_ratios(values, suffix="x" if t["bound"].endswith("x") else ""))
        elif t["kind"] == "median":
            value = res.median(t["section"], t["a"], t["metric"])
            text = fmt(value)
        else:  # medians
            value = ratio(res.median(t["section"], t["a"], t["metric"]), res.median(t["section"], t["b"], t["metric"]))
            text = fmt(value, ".2f")
        ok = value is not None and ("min" not in t or value >= t["min"]) and ("max" not in t or value <= t["max"])
        rows.append((t["name"], text, t["bound"], "n/a" if value is None else ("yes" if ok else "no")))
    return rows


def machine_speed(res: Results) -> str | None:
    """The machine's speed against benchmark_targets.yaml's reference: it is shared, and varies."""
    parts = []
    for section, case, reference in load_targets()["reference_speed"]:
        value = res.median(section, case, "env_steps_per_s")
        if value is not None:
            parts.append(f"{case} {value:,.0f} env steps/s ({value / reference:.0%} of the {reference:,} in issue 5)")
    if not parts:
        return None
    return ("Machine speed in this run: " + "; ".join(parts) + ". The ratio targets compare runs of one "
            "session and cancel the machine's speed out; the 64-env target is absolute and moves with it.")


def environment() -> dict[str, str]:
    versions = {}
    for package in ("torch", "numpy", "gymnasium", "stable-baselines3", "hydra-core", "wandb"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"date": datetime.now().strftime("%Y-%m-%d %H:%M"), "cores": str(os.cpu_count()), "cpu": cpu,
            "python": platform.python_version(), "a2c-lab commit": commit or "unknown", **versions}


def write_report(res: Results, settings: Settings, quick: bool, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    env = environment()
    with open(out_dir / "benchmark.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["section", "case", "metric", "repeat", "value", "unit"])
        writer.writeheader()
        writer.writerows(res.rows)

    lines = ["# Throughput benchmark", "",
             f"`python scripts/benchmark.py{' --quick' if quick else ''}` on {env['date']}: {env['cores']} cores "
             f"({env['cpu']}), Python {env['python']}, torch {env['torch']}, numpy {env['numpy']}, gymnasium "
             f"{env['gymnasium']}, stable-baselines3 {env['stable-baselines3']}, wandb {env['wandb']}, "
             f"a2c-lab {env['a2c-lab commit']}. One torch thread everywhere. Medians over the repeats; every "
             "repeat is in `benchmark.csv`.", ""]
    lines += ["## Targets (issues 5 and 19)", "", "| target | measured | bound | met |", "|---|---:|---:|:---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in targets(res)]
    speed = machine_speed(res)
    if speed:
        lines += ["", speed]
    lines += ["", "## Measurements", "", "| section | case | median | repeats | unit |", "|---|---|---:|---:|---|"]
    seen = []
    for row in res.rows:
        key = (row["section"], row["case"], row["metric"])
        if key not in seen:
            seen.append(key)
    for section, case, metric in seen:
        values = res.values(section, case, metric)
        unit = next(r["unit"] for r in res.rows if (r["section"], r["case"], r["metric"]) == (section, case, metric))
        spec = ",.0f" if unit in ("steps/s", "steps", "MB") else ".2f"
        median = statistics.median(values) if values else None
        lines.append(f"| {section} | {case}: {metric} | {fmt(median, spec)} | {len(values)} | {unit} |")
    lines += ["", "Settings: " + ", ".join(f"{k}={v}" for k, v in vars(settings).items()) + "."]
    lines += ["", "How each number is measured: see the docstring of `scripts/benchmark.py`."]
    if res.loads:
        lines += ["", "Machine load (5-minute load average after each section; this benchmark itself adds "
                  "about 1, more during the joblib sweep): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in res.loads.items()) + "."]
    if res.notes:
        lines += [""] + [f"- {note}" for note in res.notes]
    (out_dir / "benchmark.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
