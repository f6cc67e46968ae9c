"""scripts/benchmark.py runs and writes its report; no timing is asserted (it prints what it
measured). The SB3 sections need the [bench] extra and are exercised by running the script."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from a2c_lab.bench import runners as bench
from a2c_lab.runs import metrics as m

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "benchmark.py"


def test_env_section_writes_markdown_and_csv(tmp_path):
    subprocess.run([sys.executable, str(SCRIPT), "--quick", "--only", "env", "--out", str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True)
    markdown = (tmp_path / "benchmark.md").read_text()
    assert "## Targets (issues 5 and 19)" in markdown and "native vector env, 64 envs" in markdown
    assert "Machine speed in this run: native vector env, 8 envs" in markdown  # against issue 5's reference
    rows = (tmp_path / "benchmark.csv").read_text().splitlines()
    assert rows[0] == "section,case,metric,repeat,value,unit" and len(rows) == 1 + 2 * 2  # 2 repeats x 8, 64 envs


def test_unknown_section_is_refused(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPT), "--only", "envs", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode != 0 and "unknown sections ['envs']" in out.stderr


def test_time_to_solve_reads_the_first_crossing_of_the_last_100_mean(tmp_path):
    returns = np.concatenate([np.full(100, 100.0), np.full(300, 500.0)])  # last-100 mean crosses 475 at episode 193
    steps = np.arange(1, 401) * 100
    with open(tmp_path / m.EPISODES_FILE, "w") as f:
        f.write(",".join(m.EPISODE_COLUMNS) + "\n")
        for i, (step, ret) in enumerate(zip(steps, returns)):
            f.write(f"{step},{i * 0.01},{ret},{int(ret)}\n")
    step, wall = bench.time_to_solve(tmp_path)
    crossing = np.flatnonzero(np.convolve(returns, np.ones(100) / 100, mode="valid") >= 475)[0] + 99
    assert step == steps[crossing] and np.isclose(wall, crossing * 0.01)
    (tmp_path / m.EPISODES_FILE).write_text(",".join(m.EPISODE_COLUMNS) + "\n10,0.1,20.0,20\n")
    assert bench.time_to_solve(tmp_path) is None


def test_every_target_names_cases_the_sections_write():
    """A target whose case names no section writes would always read n/a: it could never fail."""
    from a2c_lab.bench import report, scale_sections, sections

    settings = sections.Settings()
    written = {("jax", scale_sections.jax_case(side, settings.jax_seeds)) for side in ("a2c-lab", "peer")}
    written |= {("mujoco", scale_sections.cheetah_case(e, settings.mujoco_seeds, n))
                for e in ("envpool", "gymnasium") for n in (8, 1)}
    for target in report.load_targets()["targets"]:
        if target["section"] in ("jax", "mujoco"):
            assert (target["section"], target["a"]) in written and (target["section"], target["b"]) in written


def quick_rows(section: str, out) -> list[dict]:
    """``scripts/benchmark.py --quick --only SECTION``'s rows of benchmark.csv."""
    subprocess.run([sys.executable, str(SCRIPT), "--quick", "--only", section, "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    with open(out / "benchmark.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_mujoco_section_times_both_engines_at_8_and_1_envs(tmp_path):
    pytest.importorskip("envpool")
    pytest.importorskip("mujoco")
    rows = quick_rows("mujoco", tmp_path)
    cases = {row["case"] for row in rows}
    assert len(rows) == 4 and all(float(row["value"]) > 0 for row in rows)  # 1 repeat x 2 engines x 2 env counts
    assert any("envpool" in c for c in cases) and any("gymnasium" in c for c in cases)
    assert "| mujoco | HalfCheetah-v5, envpool, 2 seeds x 8 envs, grouped: env_steps_per_s |" in (
        tmp_path / "benchmark.md").read_text()


@pytest.mark.slow
def test_jax_section_times_both_sides_end_to_end(tmp_path):
    pytest.importorskip("jax")
    pytest.importorskip("gymnax")
    walls = {row["case"]: float(row["value"]) for row in quick_rows("jax", tmp_path) if row["metric"] == "wall_s"}
    assert set(walls) == {"a2c-lab sweep, 2 seeds", "JAX peer, 2 seeds", "JAX peer, 1 seed"}
    assert all(w > 0 for w in walls.values())
