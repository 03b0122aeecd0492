"""Tests of rlbits.distill (chapter 11): exact and simulated KL of one-hot students, soft labels, SGD students."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbits import distill


def compositions(n, V):
    for cut in itertools.combinations(range(n + V - 1), V - 1):
        c = np.diff(np.concatenate([[-1], cut, [n + V - 1]])) - 1
        yield c


def multinomial_pmf(c, q):
    n = int(c.sum())
    logp = math.lgamma(n + 1) - sum(math.lgamma(k + 1) for k in c) + sum(k * math.log(x) for k, x in zip(c, q))
    return math.exp(logp)


@pytest.mark.parametrize("q, n", [([0.2, 0.3, 0.5], 5), ([0.05, 0.15, 0.3, 0.5], 7)])
def test_exact_expectations_by_enumeration(q, n):
    q = np.array(q)
    V = q.size
    e_mle = e_sm = total = 0.0
    for c in compositions(n, V):
        w = multinomial_pmf(c, q)
        total += w
        e_mle += w * distill.kl(c / n, q)
        e_sm += w * distill.kl(q, (c + 0.5) / (n + V * 0.5))
    assert total == pytest.approx(1.0)
    assert distill.expected_kl_mle(q, n) == pytest.approx(e_mle, rel=1e-10)
    assert distill.expected_kl_smoothed(q, n, 0.5) == pytest.approx(e_sm, rel=1e-10)


def test_monte_carlo_matches_exact():
    q = distill.teacher(20, 1.0, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    for est, exact in (("smoothed", distill.expected_kl_smoothed(q, 200)), ("mle", distill.expected_kl_mle(q, 200))):
        x = distill.sample_kl(q, 200, rng, 20_000, est)
        assert x.mean() == pytest.approx(exact, abs=5 * x.std() / math.sqrt(x.size))


def test_first_order_is_the_large_n_limit():
    q = distill.teacher(30, 1.0, np.random.default_rng(3))
    n = 200_000
    first = distill.kl_first_order(30, n)
    assert first == pytest.approx(29 / (2 * n))
    assert distill.expected_kl_mle(q, n) == pytest.approx(first, rel=0.01)
    assert distill.expected_kl_smoothed(q, n) == pytest.approx(first, rel=0.01)
    # at moderate n the second-order term of the ML student closes most of the gap
    n = 2000
    exact = distill.expected_kl_mle(q, n)
    assert abs(distill.kl_mle_second_order(q, n) - exact) < abs(first * 2000 / n - exact)


def test_entropy_and_kl():
    q = np.array([0.5, 0.25, 0.25])
    assert distill.entropy(q) == pytest.approx(1.5)
    assert distill.entropy(q, "nats") == pytest.approx(1.5 * math.log(2))
    assert distill.kl(q, q) == pytest.approx(0.0)
    assert distill.kl(np.array([1.0, 0.0, 0.0]), q) == pytest.approx(math.log(2))
    assert distill.kl(q, np.array([1.0, 0.0, 0.0])) == math.inf


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1e-6, 1e6), min_size=1, max_size=20), st.integers(2, 30))
def test_round_significant_relative_error(xs, bits):
    x = np.array(xs)
    r = distill.round_significant(x, bits)
    assert np.all(np.abs(r - x) <= x * 2.0 ** (-bits) + 1e-300)


def test_soft_label_students():
    q = distill.teacher(40, 1.0, np.random.default_rng(4))
    assert distill.soft_label_student(q, top_k=40) == pytest.approx(q)
    assert abs(distill.kl(q, distill.soft_label_student(q, bits=52))) < 1e-15
    kls = [distill.kl(q, distill.soft_label_student(q, top_k=k)) for k in (1, 5, 10, 20, 39)]
    assert np.all(np.diff(kls) < 0)
    kb = [distill.kl(q, distill.soft_label_student(q, bits=b)) for b in (4, 8, 11)]
    assert np.all(np.diff(kb) < 0)


def test_train_student_properties():
    q = distill.teacher(10, 1.0, np.random.default_rng(5))
    gens = lambda n: [np.random.default_rng(s) for s in np.random.SeedSequence(6).spawn(n)]
    ch = np.array([0, 1, 10, 100, 1000])
    soft, _ = distill.train_student(q, 1000, "soft", 0.5, gens(3), ch)
    assert np.ptp(soft, axis=0).max() == 0 and np.all(np.diff(soft[0]) < 0) and soft[0, -1] < 1e-4
    # one run's trajectory does not depend on how many runs are batched with it
    a, _ = distill.train_student(q, 1000, "onehot", 0.5, gens(4), ch)
    b, _ = distill.train_student(q, 1000, "onehot", 0.5, gens(1), ch)
    assert np.array_equal(a[:1], b)
    # RL with a pass/fail reward raises the pass rate p.q towards the teacher's mode
    kl_rl, match = distill.train_student(q, 1000, "rl", 1.0, gens(8), ch)
    assert match[:, -1].mean() > match[:, 0].mean() and match[:, -1].mean() > q @ q


def test_one_hot_step_is_an_unbiased_soft_step():
    # from the uniform start, E[z after one one-hot step] = the soft step: check KL of the mean logits
    q = np.array([0.1, 0.2, 0.7])
    rng = np.random.default_rng(7)
    y = rng.choice(3, size=200_000, p=q)
    mean_step = np.bincount(y, minlength=3) / y.size - 1 / 3
    assert mean_step == pytest.approx(q - 1 / 3, abs=0.005)


def test_bad_inputs():
    with pytest.raises(ValueError, match="q"):
        distill.expected_kl_mle(np.array([0.5, 0.6]), 10)
    with pytest.raises(ValueError, match="n=0"):
        distill.expected_kl_smoothed(np.array([0.5, 0.5]), 0)
    with pytest.raises(ValueError, match="method"):
        distill.train_student(np.array([0.5, 0.5]), 10, "magic", 0.1, [np.random.default_rng(0)], [0, 10])
    with pytest.raises(ValueError, match="temperature"):
        distill.teacher(10, 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="estimator"):
        distill.sample_kl(np.array([0.5, 0.5]), 10, np.random.default_rng(0), 10, "map")


def test_crossing():
    x = np.array([1.0, 10.0, 100.0])
    assert distill.crossing(x, 1.0 / x, 0.1) == pytest.approx(10.0)
    assert distill.crossing(x, 1.0 / x, 10**-1.5) == pytest.approx(10**1.5)  # exact for a power law
    assert distill.crossing(x, x, 31.6227766) == pytest.approx(31.6227766)  # rising curves cross from below
    assert math.isnan(distill.crossing(x, 1.0 / x, 1e-3))
    assert distill.crossing(x, 1.0 / x, 1.0) == 1.0  # already at the level
    with pytest.raises(ValueError, match="positive"):
        distill.crossing(x, -x, 0.1)


def test_train_student_rejects_a_negative_learning_rate():
    with pytest.raises(ValueError, match="lr=-0.1"):
        distill.train_student(np.array([0.5, 0.5]), 10, "soft", -0.1, [np.random.default_rng(0)], [0, 10])


def test_windowed_exact_kl_equals_the_full_sum_and_the_series():
    q = distill.teacher(30, 1.0, np.random.default_rng(3))
    for n in (1, 7, 100, 2000):
        assert distill.expected_kl_smoothed_windowed(q, n) == pytest.approx(distill.expected_kl_smoothed(q, n),
                                                                            rel=1e-9)
    # where answers are expected >= series_from times the moment series replaces the window
    for n in (10**5, 10**6):
        a = distill.expected_kl_smoothed_windowed(q, n, series_from=1e30)
        b = distill.expected_kl_smoothed_windowed(q, n)  # the default: the series from 1e4 expected sightings
        assert a == pytest.approx(b, rel=1e-7)
        c = distill.expected_kl_smoothed_windowed(q, n, series_from=1e2)  # too early: its (nq)^-2 error shows
        assert abs(c / a - 1) > abs(b / a - 1)


def test_equivalent_samples_inverts_the_exact_curve():
    q = distill.teacher(20, 1.0, np.random.default_rng(4))
    for target in (0.3, 0.05, 0.004):
        n = distill.equivalent_samples(q, target)
        lo, hi = math.floor(n), math.ceil(n)
        assert distill.expected_kl_smoothed(q, hi) <= target <= distill.expected_kl_smoothed(q, max(lo, 1)) + 1e-15
    # far out the exact inverse approaches the first order (V - 1)/(2 KL); at few samples per answer it is below it
    assert distill.equivalent_samples(q, 1e-6) == pytest.approx(19 / 2e-6, rel=1e-3)
    assert distill.equivalent_samples(q, 0.3) < 19 / 0.6
    # the exact curve is decreasing, so a smaller target needs more samples
    ns = [distill.equivalent_samples(q, t) for t in (0.2, 0.1, 0.05, 0.01)]
    assert ns == sorted(ns)
    assert distill.equivalent_samples(q, 0.0) == math.inf
    assert distill.equivalent_samples(q, 10.0) == 0.0  # the uniform student is already that close
