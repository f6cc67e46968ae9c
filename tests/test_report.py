"""The figures, the tables and scripts/compare.py, end to end on synthetic sweeps."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from a2c_lab import analysis as results
from a2c_lab.analysis import report

ROOT = Path(__file__).resolve().parent.parent
COMPARE = ROOT / "scripts" / "compare.py"
FIGURES = ("learning_curves_env_steps", "learning_curves_wall_time", "final_performance",
           "steps_to_threshold", "probability_of_improvement", "throughput")
TABLES = ("summary.csv", "summary.md", "runs.csv", "probability_of_improvement.csv",
          "learning_curves_env_steps.csv", "learning_curves_wall_time.csv")


def _compare_main():
    spec = importlib.util.spec_from_file_location("compare", COMPARE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _environment():
    return {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}


@pytest.mark.slow  # the script in a process; the fast tier runs its main() and draws the figures in process
def test_compare_script_writes_non_empty_figures_and_tables(learning_sweeps, tmp_path):
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, str(COMPARE), *map(str, learning_sweeps), "--out", str(out), "--n-boot", "200",
         "--points", "41"],
        capture_output=True, text=True, env=_environment(), timeout=120)
    assert done.returncode == 0, done.stderr
    for stem in FIGURES:
        for suffix in ("png", "pdf"):
            assert (out / f"{stem}.{suffix}").stat().st_size > 10_000, f"{stem}.{suffix}"
    for name in TABLES:
        assert (out / name).stat().st_size > 0, name
    summary = pd.read_csv(out / "summary.csv")
    assert sorted(zip(summary["task"], summary["variant"])) == [
        ("Acrobot-v1", "shared, gae"), ("Acrobot-v1", "shared, td"), ("CartPole-v1", "shared, gae"), ("CartPole-v1", "split, gae")]
    assert "| panel | variant | seeds | diverged | IQM final return [95% CI]" in done.stdout
    assert done.stdout.strip().endswith(f"report written to {out}")
    assert "only 2 seeds" in (out / "summary.md").read_text()  # Acrobot's variants are flagged


def test_compare_without_sweep_dir_takes_the_newest_sweep(learning_sweeps, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _compare_main()(["--no-figures", "--n-boot", "100"]) == 0
    newest = learning_sweeps[1]  # 2026-01-02_... sorts after 2026-01-01_...
    assert (newest / "report" / "summary.md").is_file()
    assert not (learning_sweeps[0] / "report").exists()
    assert f"report written to {Path('runs/sweeps') / newest.name / 'report'}" in capsys.readouterr().out


def test_compare_reports_bad_runs_and_an_empty_selection_clearly(learning_sweeps, tmp_path, capsys):
    (learning_sweeps[0] / "0" / "status.json").write_text('{"status": "running", "error": null}')
    main = _compare_main()
    assert main([str(learning_sweeps[0]), "--out", str(tmp_path / "out"), "--no-figures", "--n-boot", "100"]) == 0
    captured = capsys.readouterr()
    assert (f"warning: {learning_sweeps[0] / '0'}: left out: status 'running' but no live process holds "
            "the folder: the run was killed") in captured.err
    assert "Runs left out of the statistics (1)" in captured.out
    (tmp_path / "nothing").mkdir()
    assert main([str(tmp_path / "nothing")]) == 2
    assert "error: no run folders" in capsys.readouterr().err
    assert main(["--sweeps-root", str(tmp_path / "nothing")]) == 2
    assert "error: no SWEEP_DIR given and no sweep folders" in capsys.readouterr().err


def test_compare_hue_and_threshold_options(learning_sweeps, tmp_path):
    main = _compare_main()
    out = tmp_path / "out"
    assert main([*map(str, learning_sweeps), "--out", str(out), "--no-figures", "--n-boot", "100",
                 "--hue", "agent", "--threshold", "CartPole-v1=none", "--threshold", "Acrobot-v1=100",
                 "--metric", "losses/entropy"]) == 0
    assert set(pd.read_csv(out / "metric_curves.csv")["metric"]) == {"losses/entropy"}
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs.loc[runs["task"] == "Acrobot-v1", "panel"]) == {"Acrobot-v1, gae", "Acrobot-v1, td"}
    assert runs.loc[runs["task"] == "CartPole-v1", "threshold"].isna().all()
    assert (runs.loc[runs["task"] == "Acrobot-v1", "threshold"] == 100).all()


def test_an_unknown_metric_is_a_clear_error(learning_sweeps, capsys):
    assert _compare_main()([str(learning_sweeps[0]), "--no-figures", "--metric", "eval/nothing"]) == 2
    assert "error: no metric 'eval/nothing' in these runs; they have: charts/episode_return" in capsys.readouterr().err


def test_markdown_escapes_pipes():
    table = pd.DataFrame({"a|b": ["x|y"], "c": [1.5]})
    assert report.markdown(table) == "| a\\|b | c |\n|---|---|\n| x\\|y | 1.5 |"


def test_a_task_without_threshold_and_a_single_variant_still_draw(tmp_path):
    import synthetic_runs as synthetic

    sweep = synthetic.write_sweep(tmp_path / "s", {"only": {"task.threshold": None}}, seeds=range(2), total_steps=5000)
    comparison = results.compare(results.load_runs([sweep]), n_boot=50, points=11)
    paths = report.write_figures(comparison, tmp_path / "out", formats=("png",))
    assert len(paths) == len(FIGURES) and all(p.stat().st_size > 0 for p in paths)
    assert "no threshold" in report.summary_markdown(comparison)


@pytest.mark.slow
def test_real_small_sweep_end_to_end(tmp_path):
    """A real sweep through the trainer, then the report. Runs once the trainer lands."""
    pytest.importorskip("a2c_lab.training.trainer")
    sweep = tmp_path / "sweep"
    done = subprocess.run(
        [sys.executable, "-m", "a2c_lab.run", "-m", "agent=split,shared", "seed=0,1", "total_steps=4000",
         "logger=none", f"hydra.sweep.dir={sweep}"],
        cwd=ROOT, capture_output=True, text=True, env=_environment(), timeout=600)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "report"
    done = subprocess.run([sys.executable, str(COMPARE), str(sweep), "--out", str(out)],
                          capture_output=True, text=True, env=_environment(), timeout=300)
    assert done.returncode == 0, done.stderr
    for stem in FIGURES:
        assert (out / f"{stem}.png").stat().st_size > 10_000
    assert pd.read_csv(out / "summary.csv")["seeds"].tolist() == [2, 2]


def test_importing_the_analysis_package_leaves_matplotlib_as_it_was():
    """A notebook's backend and settings survive importing the report (no matplotlib.use, no pyplot)."""
    code = (
        "import matplotlib\n"
        "matplotlib.use('svg')\n"
        "before = matplotlib.get_backend(), dict(matplotlib.rcParams)\n"
        "import a2c_lab.analysis, a2c_lab.analysis.report, a2c_lab.analysis.tables\n"
        "after = matplotlib.get_backend(), dict(matplotlib.rcParams)\n"
        "assert after[0] == before[0] == 'svg', after[0]\n"
        "assert after[1] == before[1], {k for k in before[1] if before[1][k] != after[1][k]}\n"
    )
    env = {k: v for k, v in _environment().items() if k != "MPLBACKEND"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_same_runs_draw_the_same_figure_and_leave_numpys_random_state_alone(tmp_path):
    """Strip plots jitter with numpy's global random state: the report seeds it while drawing (a
    report redrawn from unchanged runs rewrites no PNG) and gives the caller's state back."""
    import numpy as np
    import synthetic_runs as synthetic

    sweep = synthetic.write_sweep(tmp_path / "s", {"a": {}, "b": {"lr": 1e-3}}, seeds=range(3), total_steps=3000)
    comparison = results.compare(results.load_runs([sweep]), n_boot=50, points=11)
    np.random.seed(123)
    expected = np.random.random()  # the caller's next draw, had nothing been drawn in between
    np.random.seed(123)
    drawn = []
    for out in ("first", "second"):
        (tmp_path / out).mkdir()
        with report.theme():
            [png] = report.plot_final_performance(comparison, tmp_path / out, formats=("png",))
        drawn.append(png.read_bytes())
    assert drawn[0] == drawn[1]  # the same computation repeated: bit for bit
    assert np.random.random() == expected  # the whole state came back: key and position
