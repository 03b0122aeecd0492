"""Tests of rlbits.revision (chapter 13, C31): the final-answer chain, the learners' posteriors, reproducibility."""

import math

import numpy as np
import pytest

from rlbits import revision as rv
from rlbits.validate import ParameterError


def test_final_correct_probability_by_monte_carlo():
    c, R, e = 0.3, 3, 0.1
    rng = np.random.default_rng(0)
    n = 200_000
    right = rng.random(n) < c
    for _ in range(R):
        mark_right = right ^ (rng.random(n) < e)
        right = np.where(mark_right, right, rng.random(n) < c)
    x = rv.final_correct_probability(c, R, e)
    assert right.mean() == pytest.approx(x, abs=4 * math.sqrt(x * (1 - x) / n))
    assert rv.final_correct_probability(c, 0, e) == c
    assert rv.final_correct_probability(c, 50, 0.0) == pytest.approx(1.0)  # a perfect judge: everything is fixed


def test_learners_posteriors():
    seeds = np.random.SeedSequence(1).spawn(50)
    log = rv.simulate(seeds, 6, 10, 5, 0.3, 2, 0.1)
    x = rv.final_correct_probability(0.3, 2, 0.1)
    h = -x * math.log2(x) - (1 - x) * math.log2((1 - x) / 4)
    np.testing.assert_allclose(log.info_answer[0], 10 * (math.log2(5) - h))  # one final answer per position
    assert np.all(log.info_history <= log.prior_bits + 1e-9) and np.all(log.info_answer <= log.prior_bits + 1e-9)
    assert log.info_history[0].mean() > log.info_answer[0].mean()
    assert np.all(np.diff(log.acc_history.mean(axis=1)) >= -0.05)
    # without rounds of review the history is the final answer: the same information
    none = rv.simulate(seeds, 3, 10, 5, 0.3, 0, 0.1)
    np.testing.assert_allclose(none.info_history, none.info_answer)


def test_runs_are_per_seed():
    seeds = np.random.SeedSequence(2).spawn(6)
    a = rv.simulate(seeds, 4, 8, 4, 0.4, 2, 0.05)
    b = rv.simulate(seeds[:3], 4, 8, 4, 0.4, 2, 0.05)
    np.testing.assert_array_equal(a.info_history[:, :3], b.info_history)


def test_episodes_to_and_ratio_se():
    curve = np.array([[0.1, 0.5], [0.99, 0.7], [1.0, 0.8]])
    np.testing.assert_array_equal(rv.episodes_to(curve, 0.99), [2, 4])
    rng = np.random.default_rng(3)
    a, b = rng.normal(3, 0.3, 400), rng.normal(2, 0.2, 400)
    boot = [a[i].mean() / b[i].mean() for i in (rng.integers(0, 400, 400) for _ in range(2000))]
    assert rv.ratio_se(a, b) == pytest.approx(np.std(boot), rel=0.15)


def test_bad_inputs():
    with pytest.raises(ParameterError, match="judge_noise"):
        rv.simulate(np.random.SeedSequence(0).spawn(2), 2, 3, 3, 0.3, 1, 0.5)
    with pytest.raises(ParameterError, match="values"):
        rv.simulate(np.random.SeedSequence(0).spawn(2), 2, 3, 1, 0.3, 1, 0.1)


def test_sentences():
    assert rv.episodes_text(4.0, 20) == "a median of 4 episodes"
    assert rv.episodes_text(21.0, 20).startswith("more than 20 episodes")
    assert "only the final answer" in rv.items_text(0, 1.0)
    assert "7 items long" in rv.items_text(3, 0.21) and "0.21 times" in rv.items_text(3, 0.21)
