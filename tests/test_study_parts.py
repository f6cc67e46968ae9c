"""The reference study's part 2 as designed (results/study/README.md): its base config, its parts'
commands and its comparisons. What ran is only trustworthy if the commands say what the design says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from a2c_lab.study.comparisons import PART_2
from a2c_lab.study.parts import BY_NAME, PARTS_2
from a2c_lab.validation import validate
from conftest import make_cfg

pytest.importorskip("mujoco")


@pytest.mark.parametrize("task", ["halfcheetah", "hopper"])
def test_part2_base_is_sb3s_a2c_with_obs_reward_8_envs_on_envpool_at_500k(task):
    c = validate(make_cfg("experiment=study_mujoco", f"task={task}"))
    assert (c.agent.name.value, c.agent.optimizer.value, c.agent.lr, c.agent.eps, c.agent.max_grad_norm) == \
        ("shared", "rmsprop", 7e-4, 1e-5, 0.5)
    assert (c.network.name, c.network.init.value, c.network.policy_gain, c.network.log_std_init) == \
        ("towers_tanh64_ortho", "orthogonal", 0.01, 0.0)
    assert (c.advantage.lam, c.advantage.normalize, c.advantage.value_target.value) == (1.0, False, "estimator")
    assert (c.obs_norm.name.value, c.envs.num_envs, c.envs.backend.value, c.total_steps) == \
        ("obs_reward", 8, "envpool", 500_000)


def test_the_trunk_variant_differs_from_the_base_only_in_sharing():
    base = validate(make_cfg("experiment=study_mujoco", "task=halfcheetah"))
    trunk = validate(make_cfg("experiment=study_mujoco", "task=halfcheetah", "network=trunk_tanh64_ortho"))
    assert trunk.network.trunk.hidden == [64, 64] and trunk.network.actor.hidden == []
    assert (trunk.network.init, trunk.network.policy_gain, trunk.network.log_std_init) == \
        (base.network.init, base.network.policy_gain, base.network.log_std_init)


def test_gae_variants_keep_the_bases_critic_target_and_unnormalised_advantages():
    c = validate(make_cfg("experiment=study_mujoco", "task=hopper", "advantage=gae", "advantage.lam=0.9"))
    assert (c.advantage.name.value, c.advantage.lam, c.advantage.normalize, c.advantage.value_target.value) == \
        ("gae", 0.9, False, "estimator")


def test_part2_commands_keep_the_bases_clipping_and_use_their_own_seeds():
    for part in PARTS_2:
        command = part.command(Path("/runs"), Path("/repo"))
        assert not any(arg.startswith("agent.max_grad_norm=") for arg in command), part.name  # part 1's pin
        assert part.name not in {"halfcheetah/normalize", "hopper/normalize"}  # part 1's axis name
    assert BY_NAME["halfcheetah/base"].seeds == tuple(range(20)) == BY_NAME["hopper/coupling"].seeds
    assert BY_NAME["hopper/log_std"].seeds == tuple(range(10))
    assert len(BY_NAME["acrobot/equivalence_separate"].seeds) == 60
    assert "hydra/sweeper=basic" in BY_NAME["acrobot/equivalence_separate"].command(Path("/r"), Path("/"))
    assert "hydra/sweeper=basic" not in BY_NAME["acrobot/equivalence_grouped"].command(Path("/r"), Path("/"))


def test_part2_comparisons_name_four_headline_pairs_and_select_existing_parts():
    headline = [c.key for c in PART_2 if c.headline]
    assert headline == ["halfcheetah/sharing", "halfcheetah/coupling", "hopper/sharing", "hopper/coupling"]
    for comparison in PART_2:
        for variant in comparison.variants:
            assert variant.part in BY_NAME, (comparison.key, variant.part)
    per_task = {c.key.split("/")[0] for c in PART_2}
    assert per_task == {"halfcheetah", "hopper", "acrobot"}


def test_a_full_part_name_chooses_that_part_alone_and_a_prefix_chooses_its_parts_in_order():
    from a2c_lab.study.parts import choose
    assert [p.name for p in choose(["halfcheetah/base"])] == ["halfcheetah/base"]  # not also base_separate
    assert [p.name for p in choose(["acrobot/equivalence"])] == ["acrobot/equivalence_grouped",
                                                                 "acrobot/equivalence_separate"]
    assert [p.name for p in choose([p.name for p in PARTS_2])] == [p.name for p in PARTS_2]


def test_the_equivalence_rule_as_designed():
    from a2c_lab.study.equivalence import DIFFERENT, EQUIVALENT, INCONCLUSIVE, decide, null_interval_halfwidth
    assert decide(0.40, 0.60, 0.38, 0.62) == EQUIVALENT
    assert decide(0.34, 0.60, 0.32, 0.62) == INCONCLUSIVE  # 90% interval leaves the margin, 95% holds 0.5
    assert decide(0.52, 0.80, 0.51, 0.82) == DIFFERENT  # 95% interval above 0.5
    assert decide(0.20, 0.48, 0.18, 0.499) == DIFFERENT
    # the design's power statements: under no effect the 90% interval is about +-0.124 at 30 a side (it fits
    # inside +-0.14 only if P lands within 0.016 of 0.5), +-0.087 at 60, +-0.152 at 20 (it cannot fit)
    assert round(null_interval_halfwidth(30, 30, 0.90), 3) == 0.124
    assert round(null_interval_halfwidth(60, 60, 0.90), 3) == 0.087
    assert round(null_interval_halfwidth(20, 20, 0.90), 3) == 0.152 > 0.14
    assert round(null_interval_halfwidth(20, 20, 0.95), 3) == 0.181


def test_identical_samples_give_p_one_half_and_a_shifted_sample_reads_different():
    from a2c_lab.study.equivalence import DIFFERENT, equivalence_row
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    same = equivalence_row(x, x.copy(), n_boot=2000)
    assert same["probability"] == 0.5 and same["low90"] < 0.5 < same["high90"]
    shifted = equivalence_row(x + 3.0, x, n_boot=2000)  # every separate run beats almost every grouped one
    assert shifted["probability"] > 0.95 and shifted["verdict"] == DIFFERENT


def test_equivalence_rows_read_separate_against_grouped_on_both_metrics_and_mark_the_primary():
    from a2c_lab.study.comparisons import BY_KEY
    from a2c_lab.study.equivalence import equivalence_rows
    acrobot = BY_KEY["acrobot/equivalence"]
    separate, grouped = acrobot.reported_pairs()[0]
    assert (separate, grouped) == ("one process per seed", "grouped")
    finals = {separate: np.array([1.0, 2.0, 3.0]), grouped: np.array([0.0, 0.5, 2.5])}
    aucs = {separate: np.array([5.0, 6.0]), grouped: np.array([7.0, 8.0])}
    rows = equivalence_rows(acrobot, finals, aucs, n_boot=1000)
    assert [(r["metric"], r["primary"]) for r in rows] == [("final return", False), ("AUC", True)]
    assert rows[0]["probability"] == 7 / 9  # by hand: 1, 2 and 3 beat 2, 2 and 3 of the grouped runs
    assert rows[1]["probability"] == 0.0
    assert equivalence_rows(acrobot, {separate: finals[separate]}, {}, n_boot=1000) == []  # one side not run yet
