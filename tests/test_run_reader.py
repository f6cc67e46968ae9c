"""Bad, foreign, old and unfinished run folders: each is listed with a reason naming it, and
the good runs are still reported (issue 9, items 5 and 6).

Floats are compared with pytest.approx (rel 1e-6 by default): hand values vs the code.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from a2c_lab import analysis as R
from a2c_lab.runs import metrics as M
import synthetic_runs as synthetic

from a2c_lab.config import BOOKKEEPING_KEYS
from a2c_lab.runs import run_folder
from a2c_lab.runs.run_folder import RUN_CONFIG_FILE, RunLock

COMPARE = Path(__file__).resolve().parent.parent / "scripts" / "compare.py"


def compare_main(argv) -> int:
    spec = importlib.util.spec_from_file_location("compare", COMPARE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


def load_with_warnings(*paths, **kwargs):
    with pytest.warns(R.RunWarning) as caught:
        loaded = R.load_runs(list(paths), **kwargs)
    return loaded, "\n".join(str(w.message) for w in caught)


def row(loaded, path):
    return loaded.runs.set_index("run_dir").loc[str(path)]


# ---------------------------------------------------------------- configs

BAD_CONFIGS = {
    "valid YAML, not a2c-lab's": ("a: 1\n", "run_config.yaml: key 'a' is not in a2c-lab's config schema"),
    "seed: zero": ("seed: zero\n", "run_config.yaml: bad value for key 'seed': Value 'zero' of type 'str' "
                   "could not be converted to Integer"),
    "unknown enum value": ("agent:\n  name: splitt\n", "run_config.yaml: bad value for key 'agent.name': "
                           "Invalid value 'splitt', expected one of [split, shared]"),
    "a section of the wrong type": ("agent: 3\n", "run_config.yaml: bad value for key 'agent'"),
    "not a mapping": ("- 1\n- 2\n", "run_config.yaml is not an a2c-lab config: not a mapping of keys"),
    "empty": ("", "run_config.yaml is not an a2c-lab config: not a mapping of keys"),
    "not YAML": ("seed: [1, 2\n", "unreadable run_config.yaml: while parsing a flow sequence"),
}


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_a_bad_config_skips_its_folder_with_the_key_named(constant_sweep, case):
    text, reason = BAD_CONFIGS[case]
    (constant_sweep / "0" / RUN_CONFIG_FILE).write_text(text)
    loaded, messages = load_with_warnings(constant_sweep)
    assert f"{constant_sweep / '0'}: left out: {reason}" in messages
    assert not row(loaded, constant_sweep / "0")["included"]
    assert row(loaded, constant_sweep / "0")["reason"].startswith(reason)
    assert len(loaded.included) == 9  # the good runs are all there
    with pytest.warns(R.RunWarning, match=r"unequal seed counts \(shared: 5, split: 4\)"):
        assert R.final_performance(loaded, n_boot=50).set_index("variant").loc["shared", "seeds"] == 5


@pytest.mark.parametrize("case", ["valid YAML, not a2c-lab's", "seed: zero", "unknown enum value"])
def test_compare_reports_the_good_runs_beside_a_bad_config(constant_sweep, tmp_path, capsys, case):
    (constant_sweep / "0" / RUN_CONFIG_FILE).write_text(BAD_CONFIGS[case][0])
    assert compare_main([str(constant_sweep), "--out", str(tmp_path / "out"), "--no-figures", "--n-boot", "50"]) == 0
    captured = capsys.readouterr()
    assert f"warning: {constant_sweep / '0'}: left out: {BAD_CONFIGS[case][1]}" in captured.err
    assert "Runs left out of the statistics (1)" in captured.out
    assert "| CartPole-v1 | split\N{DAGGER} | 4 | 0 |" in captured.out and "| CartPole-v1 | shared | 5 | 0 |" in captured.out


def test_another_hydra_projects_output_in_the_tree_is_listed_as_foreign(constant_sweep, tmp_path, capsys):
    other = constant_sweep / "other_project" / "outputs" / "2026-01-01" / "12-00-00"
    (other / ".hydra").mkdir(parents=True)
    (other / ".hydra" / "config.yaml").write_text("model:\n  lr: 0.1\ntrainer:\n  epochs: 3\n")
    (other / "train.log").write_text("epoch 1\n")
    loaded, messages = load_with_warnings(constant_sweep)
    assert (f"{other}: left out: .hydra/config.yaml: key 'model' is not in a2c-lab's config schema "
            "(another project's config, or a key this version does not have)") in messages
    assert len(loaded.included) == 10
    assert compare_main([str(constant_sweep), "--out", str(tmp_path / "out"), "--no-figures", "--n-boot", "50"]) == 0
    assert "Runs left out of the statistics (1)" in capsys.readouterr().out


def test_an_older_run_without_later_keys_takes_the_schemas_defaults(constant_sweep):
    """An a2c-lab run from before run_config.yaml, status reasons and the keys added since."""
    old = constant_sweep / "0"
    (old / RUN_CONFIG_FILE).unlink()
    config = yaml.safe_load((old / ".hydra" / "config.yaml").read_text())
    for key in ("overwrite", "torch_threads", "progress"):
        del config[key]
    del config["agent"]["rmsprop_alpha"], config["advantage"]["value_target"], config["logger"]
    (old / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    (old / M.STATUS_FILE).write_text(json.dumps({"status": "finished", "error": None}))
    loaded = R.load_runs([constant_sweep])
    assert loaded.variant_keys == ["agent.name"] and loaded.differing_keys == ["agent.name"]
    assert row(loaded, old)["included"] and row(loaded, old)["final_return"] == pytest.approx(100.0)


def test_an_old_failed_status_gives_its_error_as_the_reason(constant_sweep):
    (constant_sweep / "0" / M.STATUS_FILE).write_text(json.dumps({"status": "failed", "error": "CUDA out of memory"}))
    loaded, messages = load_with_warnings(constant_sweep)
    assert f"{constant_sweep / '0'}: left out: status 'failed': CUDA out of memory" in messages


def test_run_config_is_preferred_over_what_hydra_rewrote(constant_sweep):
    """A refused second command into the folder rewrote .hydra/config.yaml (issue 9, item 4):
    the metrics still belong to the config the run wrote itself."""
    hydra_config = constant_sweep / "0" / ".hydra" / "config.yaml"
    config = yaml.safe_load(hydra_config.read_text())
    hydra_config.write_text(yaml.safe_dump({**config, "seed": 7, "gamma": 1.5}))
    loaded = R.load_runs([constant_sweep])
    assert row(loaded, constant_sweep / "0")["seed"] == 0
    assert loaded.differing_keys == ["agent.name"]  # gamma 1.5 never reaches the comparison


def test_bookkeeping_keys_never_split_variants(tmp_path):
    bookkeeping = [{"logger.mode": "online", "progress": False}, {"device": "cuda", "torch_threads": 4},
                   {"overwrite": True, "logger.name": "none"}, {"eval.interval": 0, "logger.log_interval": 7}]
    for job, overrides in enumerate(bookkeeping):
        synthetic.write_run(tmp_path / "s" / str(job), [10.0] * 5, {**overrides, "seed": job, "total_steps": 200})
    loaded = R.load_runs([tmp_path / "s"])
    assert loaded.differing_keys == [] and set(loaded.runs["variant"]) == {"default"}
    for key in BOOKKEEPING_KEYS:  # whatever config.py lists, subtrees included
        assert not R.is_axis(key) and not R.is_axis(f"{key}.anything")
    assert R.is_axis("agent.lr") and R.is_axis("total_steps")


# ---------------------------------------------------------------- statuses


@pytest.mark.parametrize("status, reason", [
    ("failed", "status 'failed': boom"),
    ("interrupted", "status 'interrupted': SIGTERM"),
    ("preempted", "status 'preempted': SIGUSR2"),
    ("running", "status 'running' but no live process holds the folder: the run was killed"),
])
def test_statuses_other_than_finished_and_diverged_are_listed_with_their_reason(constant_sweep, status, reason):
    synthetic.write_run(constant_sweep / "10", [1000.0] * 5, {"agent.name": "split", "seed": 10}, status=status)
    loaded, messages = load_with_warnings(constant_sweep)
    assert f"{constant_sweep / '10'}: left out: {reason}" in messages
    assert row(loaded, constant_sweep / "10")["status"] == status
    assert len(loaded.included) == 10


def test_a_running_run_whose_lock_is_held_is_still_running(constant_sweep):
    synthetic.write_run(constant_sweep / "10", [1000.0] * 5, {"agent.name": "split", "seed": 10}, status="running")
    lock = RunLock(constant_sweep / "10")
    assert lock.acquire()
    try:
        loaded, messages = load_with_warnings(constant_sweep)
    finally:
        lock.release()
    assert f"{constant_sweep / '10'}: left out: still running (a live process holds its lock)" in messages


def test_a_refused_command_is_listed_with_its_not_started_reason(constant_sweep):
    refused = constant_sweep / "10"
    (refused / ".hydra").mkdir(parents=True)
    (refused / ".hydra" / "config.yaml").write_text(yaml.safe_dump(synthetic.make_config({"gamma": 1.5})))
    run_folder.write_status(refused, run_folder.Status.not_started, "invalid config: gamma=1.5; allowed: (0, 1]")
    loaded, messages = load_with_warnings(constant_sweep)
    assert f"{refused}: left out: status 'not_started': invalid config: gamma=1.5; allowed: (0, 1]" in messages
    assert row(loaded, refused)["status"] == "not_started"


def test_an_unknown_status_is_listed(constant_sweep):
    (constant_sweep / "0" / M.STATUS_FILE).write_text(json.dumps({"status": "done"}))
    _, messages = load_with_warnings(constant_sweep)
    assert f"{constant_sweep / '0'}: left out: unknown status 'done' in status.json" in messages


# ---------------------------------------------------------------- metrics files


def test_a_partial_last_line_of_updates_csv_is_dropped(constant_sweep):
    updates = constant_sweep / "2" / M.UPDATES_FILE
    updates.write_bytes(updates.read_bytes() + b"4040,4.04,0.1")  # a full disk mid-row
    loaded, messages = load_with_warnings(constant_sweep)
    assert (f"{constant_sweep / '2'}: updates.csv ends inside a line (a killed run or a full disk); "
            "dropped that incomplete last line (13 bytes)") in messages
    assert row(loaded, constant_sweep / "2")["included"]
    assert row(loaded, constant_sweep / "2")["env_steps"] == 4000  # not 4040: that row was dropped


def test_a_metrics_file_cut_inside_its_header_leaves_the_run_out(constant_sweep):
    (constant_sweep / "2" / M.EPISODES_FILE).write_text("env_st")
    loaded, messages = load_with_warnings(constant_sweep)
    assert f"{constant_sweep / '2'}: left out: episodes.csv has no complete line, not even its header" in messages
    assert len(loaded.included) == 9
