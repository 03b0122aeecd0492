"""Tests of rlbits.passk: estimators against exact rational arithmetic, closed forms against quadrature and Monte
Carlo."""

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbits import info, passk
from rlbits.validate import ParameterError


def exact_unbiased(n, c, k):
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 80), st.data())
def test_unbiased_matches_binomial_ratio(n, data):
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    assert passk.pass_at_k_unbiased(n, c, k) == pytest.approx(exact_unbiased(n, c, k), rel=1e-12, abs=1e-15)


def test_unbiased_large_n_no_overflow():
    # C(100000, 1000) has thousands of digits; the product form must still be accurate
    n, c, k = 100_000, 37, 1000
    mpmath.mp.dps = 50
    ref = 1 - mpmath.binomial(n - c, k) / mpmath.binomial(n, k)
    assert passk.pass_at_k_unbiased(n, c, k) == pytest.approx(float(ref), rel=1e-12)


def test_unbiased_vectorised_and_edges():
    n = np.array([10, 10, 10, 10])
    c = np.array([0, 1, 5, 10])
    out = passk.pass_at_k_unbiased(n, c, 6)
    assert out[0] == 0.0 and out[3] == 1.0 and out[2] == 1.0  # n - c = 5 < k = 6: every 6-subset holds a pass
    assert out[1] == pytest.approx(exact_unbiased(10, 1, 6))


@pytest.mark.parametrize("n,p,k", [(20, 0.05, 10), (200, 0.01, 100), (50, 0.3, 7), (5, 0.5, 5)])
def test_unbiased_in_expectation_naive_biased_low(n, p, k):
    exact = passk.pass_at_k(p, k)
    assert passk.expected_estimate(passk.pass_at_k_unbiased, n, p, k) == pytest.approx(exact, abs=1e-12)
    naive = passk.expected_estimate(passk.pass_at_k_naive, n, p, k)
    if k > 1:
        assert naive < exact - 1e-6
    # k = 1: the plug-in is the sample mean, unbiased
    assert passk.expected_estimate(passk.pass_at_k_naive, n, p, 1) == pytest.approx(p, abs=1e-12)


def test_unbiased_monte_carlo():
    rng = np.random.default_rng(123)
    n, p, k = 100, 0.02, 40
    c = rng.binomial(n, p, size=40_000)
    est = passk.pass_at_k_unbiased(n, c, k)
    se = est.std() / math.sqrt(est.size)
    assert abs(est.mean() - passk.pass_at_k(p, k)) < 4 * se


def test_pass_at_k_precision_and_values():
    assert passk.pass_at_k(1e-300, 10) == pytest.approx(1e-299, rel=1e-12)
    assert passk.pass_at_k(0.5, 3) == pytest.approx(0.875)
    assert passk.pass_at_k(1.0, 3) == 1.0
    assert passk.pass_at_k(0.3, 0) == 0.0


def test_beta_closed_form_against_quadrature():
    mpmath.mp.dps = 30
    for a, b, k in [(0.3, 3.0, 1), (0.3, 3.0, 17), (1.5, 0.7, 250), (2.0, 2.0, 1000), (0.05, 3.0, 50)]:
        # x = u^(1/a): integral of x^(a-1) (1-x)^(b+k-1) dx = (1/a) integral of (1 - u^(1/a))^(b+k-1) du, no singularity
        integral = mpmath.quad(lambda u: (1 - u ** (1 / mpmath.mpf(a))) ** (b + k - 1), [0, 0.5, 1])
        ref = 1 - integral / (a * mpmath.beta(a, b))
        assert passk.beta_pass_at_k(k, a, b) == pytest.approx(float(ref), rel=1e-9)


def test_beta_closed_form_monte_carlo():
    rng = np.random.default_rng(7)
    a, b = 0.5, 2.0
    p = rng.beta(a, b, size=200_000)
    for k in [1, 10, 100]:
        vals = passk.pass_at_k(p, k)
        se = vals.std() / math.sqrt(vals.size)
        assert abs(vals.mean() - passk.beta_pass_at_k(k, a, b)) < 4 * se


def test_beta_power_law_asymptote_and_fit():
    a, b = 0.4, 2.5
    k = 1e12
    ratio = passk.beta_neg_log_pass_at_k(k, a, b) / (passk.beta_power_law_prefactor(a, b) * k ** -a)
    assert ratio == pytest.approx(1.0, abs=1e-3)
    ks = np.logspace(6, 10, 30)
    expo, pref = passk.fit_power_law(ks, passk.beta_neg_log_pass_at_k(ks, a, b))
    assert expo == pytest.approx(a, abs=5e-3)
    # a pure power law is recovered exactly
    e2, p2 = passk.fit_power_law(ks, 3.0 * ks ** -0.7)
    assert e2 == pytest.approx(0.7, rel=1e-10) and p2 == pytest.approx(3.0, rel=1e-8)
    # the large-k prefactor is Gamma(a+b)/Gamma(b)
    assert passk.beta_power_law_prefactor(a, b) == pytest.approx(math.gamma(a + b) / math.gamma(b), rel=1e-12)


def test_beta_neg_log_accurate_when_pass_near_one():
    # pass@k = 1 - tiny: -log pass@k must not round to 0
    val = passk.beta_neg_log_pass_at_k(1e15, 1.0, 1.0)  # Beta(1,1): fail@k = 1/(k+1)
    assert val == pytest.approx(1 / (1e15 + 1), rel=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-6, 0.999), st.integers(1, 10_000))
def test_any_of_k_bits_subadditive(p, k):
    ep, att = passk.any_of_k_bits(p, k)
    assert ep <= k * info.binary_entropy(p) * (1 + 1e-9) + 1e-15
    assert att == pytest.approx(ep / k)
    assert 0 <= ep <= 1 + 1e-12


def test_any_of_k_bits_peak():
    p = 0.003
    ks = passk.best_k_for_episode_bits(p)
    assert passk.pass_at_k(p, ks) == pytest.approx(0.5, rel=1e-12)
    assert passk.any_of_k_bits(p, ks)[0] == pytest.approx(1.0, rel=1e-12)
    assert passk.any_of_k_bits(p, 1)[0] == pytest.approx(info.binary_entropy(p))


@pytest.mark.parametrize("call,match", [
    (lambda: passk.pass_at_k_unbiased(10, 11, 2), "c=11"),
    (lambda: passk.pass_at_k_unbiased(10, 2, 11), "k=11"),
    (lambda: passk.pass_at_k_unbiased(10, -1, 2), "c=-1"),
    (lambda: passk.pass_at_k_unbiased(10, 2, 0), "k=0"),
    (lambda: passk.pass_at_k_unbiased(10.5, 2, 1), "n="),
    (lambda: passk.pass_at_k(1.5, 2), "p=1.5"),
    (lambda: passk.pass_at_k(0.5, -1), "k="),
    (lambda: passk.beta_pass_at_k(3, 0.0, 1.0), "a=0.0"),
    (lambda: passk.beta_pass_at_k(3, 1.0, -2.0), "b=-2.0"),
    (lambda: passk.fit_power_law([1, 2], [1, -1]), "positive"),
    (lambda: passk.any_of_k_bits(0.1, 0), "k=0"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_any_of_k_costs():
    path = np.array([1e-5, 1e-3, 0.1, 0.5, 0.95])
    ep1, at1 = passk.any_of_k_costs(path, 1)
    assert ep1 == at1 == pytest.approx(np.sum(1 / path[:-1]))
    prev_ep = ep1
    for k in [2, 10, 100, 1000]:
        ep, at = passk.any_of_k_costs(path, k)
        assert at == pytest.approx(k * ep)
        assert ep < prev_ep  # fewer episodes (updates are waited for less often) ...
        assert at >= at1 * (1 - 1e-12)  # ... but never fewer attempts: 1 - (1-p)^k <= k p
        prev_ep = ep
    # small-p limit: k attempts at p cost about the same as one attempt each
    ep, at = passk.any_of_k_costs(np.array([1e-9, 1.0]), 100)
    assert at == pytest.approx(1e9, rel=1e-6)
    with pytest.raises(ParameterError, match="k=0.5"):
        passk.any_of_k_costs(path, 0.5)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=30))
def test_unbiased_vectorised_over_n_c_k_matches_binomial_ratio(triples):
    # arrays of n, c and k (several distinct n and k in one call) against exact rational arithmetic, element by element
    n = np.array([t[0] for t in triples])
    c = np.array([t[1] % (t[0] + 1) for t in triples])
    k = np.array([1 + t[2] % t[0] for t in triples])
    got = passk.pass_at_k_unbiased(n, c, k)
    want = [exact_unbiased(int(a), int(b), int(d)) for a, b, d in zip(n, c, k)]
    assert got.shape == n.shape
    assert np.allclose(got, want, rtol=1e-12, atol=1e-15)
    # the same values one element at a time, and broadcasting a column of c against a row of k
    assert all(passk.pass_at_k_unbiased(int(a), int(b), int(d)) == g for a, b, d, g in zip(n, c, k, got))
    grid = passk.pass_at_k_unbiased(n.max(), np.arange(n.max() + 1)[:, None], np.arange(1, n.max() + 1)[None, :])
    assert grid.shape == (n.max() + 1, n.max())


def test_unbiased_fast_on_large_grids():
    # a full (c, k) grid at n = 1024 and a million-attempt count: no per-element Python loop
    import time

    t0 = time.perf_counter()
    grid = passk.pass_at_k_unbiased(1024, np.arange(1025)[:, None], np.arange(1, 1025)[None, :])
    big = passk.pass_at_k_unbiased(1_000_000, np.arange(0, 1_000_001, 997), 5000)
    assert time.perf_counter() - t0 < 10.0
    assert np.all(np.diff(grid, axis=1) >= 0) and np.all(np.diff(grid, axis=0) >= 0)  # monotone in k and in c
    assert grid[0].max() == 0.0 and grid[-1].min() == 1.0
    assert big[1] == pytest.approx(exact_unbiased(1_000_000, 997, 5000), rel=1e-10)


def test_log_fail_unbiased_is_minus_inf_exactly_when_every_subset_passes():
    lf = passk.log_fail_unbiased(10, np.arange(11), 4)
    assert np.all(np.isneginf(lf[7:])) and np.all(np.isfinite(lf[:7])) and lf[0] == 0.0
    with pytest.raises(ParameterError, match="k=11 exceeds n=10"):
        passk.log_fail_unbiased(np.array([10, 20]), 0, np.array([11, 11]))


def test_beta_neg_log_full_precision_where_the_fail_rate_is_tiny():
    """-log pass@k = -log1p(-fail) when the fail rate is tiny: 1.8% off before the fix at a = 2, b = 3, k = 1e8."""
    import mpmath

    for a, b, k in [(2.0, 3.0, 1e8), (2.0, 3.0, 1e6), (5.0, 0.5, 1e4), (0.3, 3.0, 1e12), (1.0, 1.0, 3.0)]:
        with mpmath.workdps(60):
            F = mpmath.beta(a, b + mpmath.mpf(k)) / mpmath.beta(a, b)
            exact = float(-mpmath.log(1 - F))
        assert passk.beta_neg_log_pass_at_k(k, a, b) == pytest.approx(exact, rel=1e-12)


def test_beta_pass_at_k_at_huge_k():
    """b + k must not be formed in float64: at k = 1e16, 1e16 + 0.05 rounds to 1e16."""
    import mpmath

    for k in (1e13, 1e16, 1e21):
        with mpmath.workdps(80):
            km = mpmath.mpf(k)
            F = mpmath.exp(mpmath.loggamma(3 + km) - mpmath.loggamma(3.05 + km) - mpmath.loggamma(3)
                           + mpmath.loggamma(mpmath.mpf("3.05")))
            exact = float(1 - F)
        assert passk.beta_pass_at_k(k, 0.05, 3.0) == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize("a,b", [(0.3, 3.0), (0.05, 3.0), (1.0, 1.0), (2.0, 0.5)])
def test_beta_local_exponent_against_finite_differences(a, b):
    import mpmath

    for k in (1.0, 50.0, 1e4, 1e9, 1e20):
        with mpmath.workdps(80):
            f = lambda kk: mpmath.log(-mpmath.log(1 - mpmath.exp(  # noqa: E731
                mpmath.loggamma(b + kk) - mpmath.loggamma(a + b + kk) - mpmath.loggamma(b) + mpmath.loggamma(a + b))))
            h = mpmath.mpf("1e-12")
            km = mpmath.mpf(k)
            fd = float(-(f(km * mpmath.exp(h)) - f(km * mpmath.exp(-h))) / (2 * h))
        assert passk.beta_local_exponent(k, a, b) == pytest.approx(fd, rel=1e-8)
    # Beta(1, 1): fail@k = 1/(k+1), so -log pass@k = log(1 + 1/k) and the exponent is 1/((k+1) log(1 + 1/k))
    for k in (1.0, 10.0, 1e6):
        assert passk.beta_local_exponent(k, 1.0, 1.0) == pytest.approx(1 / ((k + 1) * math.log1p(1 / k)), rel=1e-12)


def test_beta_power_law_onset():
    # Beta(1, 1): exponent 1/((k+1) log(1+1/k)) = 1 - 1/(2k) + ..., within 5% from k of about 10
    onset = passk.beta_power_law_onset(1.0, 1.0, tol=0.05, per_decade=10, k_max=1e6)
    grid = np.logspace(0, 6, 61)
    exact = 1 / ((grid + 1) * np.log1p(1 / grid))
    first_ok = grid[np.flatnonzero(np.abs(exact - 1) > 0.05)[-1] + 1]
    assert onset == pytest.approx(first_ok, rel=1e-12)
    # the smaller a, the later the law holds, and beyond k_max it refuses
    assert passk.beta_power_law_onset(0.05, 3.0, per_decade=5, k_max=1e40) > 1e20
    with pytest.raises(ParameterError, match="not within"):
        passk.beta_power_law_onset(0.05, 3.0, per_decade=5, k_max=1e10)
