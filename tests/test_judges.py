"""Tests of rlbits.judges (chapter 10): information in graded judgements and the revision loop."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbits import judges


@pytest.mark.parametrize("K", [2, 3, 7])
def test_noiseless_judge(K):
    g = judges.grade_information(K, 0.0, n_grid=8001)
    assert g["H_grade"] == pytest.approx(math.log2(K), abs=2e-3)
    assert g["I_quality"] == pytest.approx(g["H_grade"], abs=1e-9)  # a deterministic grade
    assert g["I_better"] == pytest.approx(1 - 1 / K, abs=2e-3)  # ties (prob 1/K) leave B a coin flip


@pytest.mark.parametrize("K, sigma", [(2, 0.5), (5, 1.0)])
def test_quadrature_matches_monte_carlo(K, sigma):
    g = judges.grade_information(K, sigma)
    g1, g2, b = judges.simulate_grades(K, sigma, 400_000, np.random.default_rng(1))
    assert judges.plugin_mutual_information(g1 * K + g2, b) == pytest.approx(g["I_better"], abs=0.006)
    assert np.bincount(g1, minlength=K) / g1.size == pytest.approx(np.full(K, 1 / K), abs=0.005)


def test_information_falls_with_noise_and_obeys_bounds():
    for K in (2, 4):
        prev = None
        for s in (0.0, 0.3, 1.0, 3.0):
            g = judges.grade_information(K, s, n_grid=2001)
            assert g["I_better"] <= 1.0 and g["I_quality"] <= g["H_grade"] + 1e-9
            if prev is not None:
                assert g["I_better"] < prev
            prev = g["I_better"]


def test_plugin_mutual_information_independent_and_copy():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, 100_000)
    assert judges.plugin_mutual_information(x, x) == pytest.approx(2.0, abs=0.01)
    assert judges.plugin_mutual_information(x, rng.integers(0, 4, 100_000)) < 0.001


def score_rounds_markov(m, d0, d):
    """Expected rounds of the score hill-climber by solving the absorbing chain on the number of defects."""
    # E_k = 1 + P(down) E_{k-1} + (1 - P(down)) E_k  =>  E_k = E_{k-1} + 1/P(down)
    E = [0.0]
    for k in range(1, m + 1):
        E.append(E[-1] + m / (k * (1 - d)))
    pmf = [math.comb(m, k) * d0**k * (1 - d0) ** (m - k) for k in range(m + 1)]
    return sum(p * e for p, e in zip(pmf, E))


def rubric_rounds_direct(m, d0, d, r_max=2000):
    # P(rounds <= r) = P(each item clean by round r) = (1 - d0 d^r)^m
    return sum(1 - (1 - d0 * d**r) ** m for r in range(r_max))


@pytest.mark.parametrize("m, d0, d", [(1, 0.5, 0.3), (6, 0.4, 0.2), (12, 0.9, 0.5)])
def test_expected_rounds_closed_forms(m, d0, d):
    assert judges.revision_expected_rounds(m, d0, d, "passfail") == pytest.approx((1 - (1 - d0) ** m) / (1 - d) ** m)
    assert judges.revision_expected_rounds(m, d0, d, "score") == pytest.approx(score_rounds_markov(m, d0, d))
    assert judges.revision_expected_rounds(m, d0, d, "rubric") == pytest.approx(rubric_rounds_direct(m, d0, d))


@pytest.mark.parametrize("feedback", judges.FEEDBACK)
def test_simulated_revision_matches_exact(feedback):
    m, d0, d = 8, 0.5, 0.3
    r, w, b = judges.simulate_revision(m, d0, d, feedback, np.random.default_rng(3), 20_000)
    exact = judges.revision_expected_rounds(m, d0, d, feedback)
    assert r.mean() == pytest.approx(exact, abs=5 * r.std() / math.sqrt(r.size))
    per_round = b.sum() / r.sum()
    bound = {"passfail": 1.0, "score": math.log2(3), "rubric": m}[feedback]
    assert 0 < per_round <= bound
    assert np.all(w >= r)  # at least one item rewrite per round


def test_rubric_rewrites_expectation():
    # each initially defective item needs a geometric(1 - d) number of rewrites
    m, d0, d = 10, 0.5, 0.3
    _, w, _ = judges.simulate_revision(m, d0, d, "rubric", np.random.default_rng(4), 20_000)
    assert w.mean() == pytest.approx(m * d0 / (1 - d), abs=5 * w.std() / math.sqrt(w.size))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.floats(0.0, 1.0), st.floats(0.0, 0.95))
def test_rubric_never_slower_than_passfail(m, d0, d):
    assert judges.revision_expected_rounds(m, d0, d, "rubric") <= \
        judges.revision_expected_rounds(m, d0, d, "passfail") + 1e-9


def test_bad_inputs():
    with pytest.raises(ValueError, match="feedback"):
        judges.revision_expected_rounds(5, 0.5, 0.3, "vibes")
    with pytest.raises(ValueError, match="d=1.0"):
        judges.revision_expected_rounds(5, 0.5, 1.0, "rubric")
    with pytest.raises(ValueError, match="K=1"):
        judges.grade_information(1, 0.5)
    with pytest.raises(ValueError, match="sigma=-1"):
        judges.grade_information(3, -1.0)


def test_simulate_grades_validates():
    with pytest.raises(ValueError, match="n=0"):
        judges.simulate_grades(3, 0.5, 0, np.random.default_rng(0))
