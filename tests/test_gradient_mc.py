"""rlbits.gradient_mc: the Monte-Carlo checks of chapter 3 agree with the closed forms, and detect a wrong one."""

import numpy as np
import pytest

from rlbits import gradient_mc, reinforce_gradient, sightings


def test_reinforce_check_agrees_with_the_closed_forms():
    p_values = np.array([0.01, 0.3, 0.9])
    mc, worst = gradient_mc.reinforce_check(p_values, 50, 200_000, np.random.SeedSequence(0))
    assert set(mc) == {(b, p) for b in reinforce_gradient.BASELINES for p in p_values}
    assert worst < 5
    for (b, p), ns in mc.items():
        assert ns == pytest.approx(reinforce_gradient.reinforce_stats(p, 50, b)["noise_scale"], rel=0.1)


def test_reinforce_check_streams_are_per_point():
    # the same stream gives the same result; one baseline alone reproduces its own points (baselines outermost)
    a, _ = gradient_mc.reinforce_check([0.1, 0.5], 20, 20_000, np.random.SeedSequence(1))
    b, _ = gradient_mc.reinforce_check([0.1, 0.5], 20, 20_000, np.random.SeedSequence(1), baselines=("none",))
    assert a["none", 0.1] == b["none", 0.1] and a["none", 0.5] == b["none", 0.5]


def test_grpo_check_agrees_and_detects_a_wrong_formula(monkeypatch):
    shares, worst = gradient_mc.grpo_check([0.01, 0.5, 0.99], (2, 8), 100_000, np.random.SeedSequence(2))
    assert worst < 5
    assert shares[8, 0.5] == pytest.approx(1 - 2 * 0.5**8, abs=0.01)
    # a closed form that forgets the all-pass groups is caught at a high pass rate
    monkeypatch.setattr(sightings, "grpo_signal_prob", lambda p, G: 1 - (1 - p) ** G)
    _, worst_wrong = gradient_mc.grpo_check([0.99], (8,), 100_000, np.random.SeedSequence(2))
    assert worst_wrong > 50
