"""Tests of rlbits.observation_bits, the experiments of chapter 13, against rlbits.worldmodel computed directly."""

import numpy as np
import pytest

from rlbits import observation_bits as ob
from rlbits import worldmodel as wm
from rlbits.validate import ParameterError


def _locks(n=32, depth=3, actions=3, slip=0.05, seed=0):
    return wm.make_locks(np.random.SeedSequence(seed).spawn(n), depth, actions, slip)


def test_race_matches_the_learners_run_directly():
    P = _locks()
    goal = 0.9 * wm.optimal_success(P, 9)
    mf, mb, ep_mf, ep_mb = ob.race(P, 9, 200, np.random.SeedSequence(1), np.random.SeedSequence(2), 1.0, 0.1, goal)
    mb_direct = wm.run_model_based(P, 9, 200, np.random.SeedSequence(2).spawn(32), alpha=0.1)
    assert np.array_equal(mb.success, mb_direct.success)
    assert np.array_equal(ep_mb, wm.episodes_to_reach(mb_direct.success, goal))
    assert ep_mf.shape == ep_mb.shape == (32,)


def test_race_refuses_too_few_episodes():
    P = _locks(depth=4, actions=4)
    with pytest.raises(ParameterError, match="episodes=10"):
        ob.race(P, 12, 10, np.random.SeedSequence(1), np.random.SeedSequence(2), 1.0, 0.1,
                0.9 * wm.optimal_success(P, 12))


def test_bits_until_counts_the_episodes_before_the_target():
    bits = np.arange(12, dtype=float).reshape(4, 3)  # 4 episodes, 3 runs
    # run 0 reached the target at episode 1 (nothing before), run 1 at 3 (episodes 1-2), run 2 never (5 > 4)
    assert np.array_equal(ob.bits_until(bits, np.array([1, 3, 5])), [0.0, 1 + 4, 2 + 5 + 8 + 11])


def test_first_episodes_information_is_positive_and_outcome_below_its_entropy():
    p, log, i_obs, i_out, se = ob.first_episodes(np.random.SeedSequence(3), np.random.SeedSequence(4), 50, 2, 2,
                                                 0.05, 6, 3, 0.1)
    assert p.shape == (50,) and i_obs.shape == (50,)
    assert np.all(i_obs >= -1e-9) and i_obs.mean() > 0
    assert i_out <= 3 * 1.0 + 3 * se


def test_alpha_sensitivity_reuses_the_chapter_run_and_summarises_each_row():
    P = _locks()
    goal = 0.9 * wm.optimal_success(P, 9)
    mf, mb, ep_mf, ep_mb = ob.race(P, 9, 200, np.random.SeedSequence(1), np.random.SeedSequence(2), 1.0, 0.1, goal)
    rows, ratios, by_alpha = ob.alpha_sensitivity(P, 9, 200, mb, ep_mb, 0.1, [0.1, 1.0], np.random.SeedSequence(5),
                                                  goal, 0.5)
    assert len(rows) == len(ratios) == 2 and set(by_alpha) == {0.1, 1.0}
    assert by_alpha[0.1] == ob.alpha_summary(mb, ep_mb)
    assert rows[0].startswith(f"| 0.1 | {np.median(ep_mb):.0f} |")
    assert ratios[0] == pytest.approx(ob.value_ratio(mb, ep_mb, 0.5)[3])
    assert ob.ALPHA_TABLE_HEAD.count("\n") == 1


def test_horizon_sweep_waits_grow_with_depth():
    sweep = ob.horizon_sweep(np.random.SeedSequence(6), [1, 3], 8, 3, 0.05, 3, 0.1, 0.9)
    assert sweep.shape == (2, 3) and list(sweep[:, 0]) == [1, 3]
    assert sweep[1, 1] > sweep[0, 1] >= 1.0
