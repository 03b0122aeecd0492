"""Unit and property tests of rlbits.info (chapter 1's information measures)."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlbits import info
from rlbits.validate import ParameterError

probs = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def exact_H(p, base=2):
    mpmath.mp.dps = 60
    p = mpmath.mpf(p)
    q = 1 - p
    terms = [0 if x == 0 else -x * mpmath.log(x) for x in (p, q)]
    return float(sum(terms) / mpmath.log(base))


def test_known_points():
    assert info.binary_entropy(0.5) == 1.0
    assert info.binary_entropy(0.0) == 0.0 and info.binary_entropy(1.0) == 0.0
    assert info.binary_entropy(0.5, "nats") == pytest.approx(math.log(2), rel=1e-15)
    assert info.surprisal(0.25) == 2.0
    assert info.surprisal(1.0) == 0.0
    assert info.surprisal(0.0) == math.inf
    assert info.surprisal(math.exp(-3), "nats") == pytest.approx(3.0, rel=1e-15)


@pytest.mark.parametrize("p", [1e-300, 1e-100, 1e-16, 1e-5, 0.3, 0.5, 0.9, 1 - 1e-10, 1 - 1e-16, 1 - 2**-53])
def test_binary_entropy_stable_near_edges(p):
    got = info.binary_entropy(p)
    want = exact_H(p)
    assert got > 0
    assert got == pytest.approx(want, rel=1e-13)


def test_surprisal_tiny_p_not_rounded():
    assert info.surprisal(1e-300) == pytest.approx(300 * math.log2(10), rel=1e-14)
    assert info.surprisal(1 - 1e-16) == pytest.approx(1.6017132519074588e-16, rel=1e-6)


@settings(max_examples=200, deadline=None)
@given(probs)
def test_entropy_bounds_and_symmetry(p):
    h = info.binary_entropy(p)
    assert 0.0 <= h <= 1.0
    assert info.binary_entropy(1 - p) == pytest.approx(h, abs=1e-12)
    assert info.binary_entropy(p, "nats") == pytest.approx(h * math.log(2), abs=1e-15)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-300, max_value=0.5))
def test_surprisal_exceeds_entropy_below_half(p):
    # the crossover of chapter 1: -log p >= H(p) exactly when p <= 1/2
    assert info.surprisal(p) >= info.binary_entropy(p) * (1 - 1e-12)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0.5, max_value=1.0, exclude_min=True, exclude_max=True))
def test_entropy_exceeds_surprisal_above_half(p):
    assert info.binary_entropy(p) >= info.surprisal(p) * (1 - 1e-12)


def test_vectorised_matches_scalar():
    ps = np.array([0.0, 1e-9, 0.1, 0.5, 0.99, 1.0])
    H = info.binary_entropy(ps)
    S = info.surprisal(ps)
    assert H.shape == S.shape == ps.shape
    assert np.array_equal(H, [info.binary_entropy(float(x)) for x in ps])
    assert np.array_equal(S, [info.surprisal(float(x)) for x in ps])


@pytest.mark.parametrize("bad", [-0.1, 1.0000001, math.nan, -math.inf, 2])
def test_bad_probability_names_the_value(bad):
    for f in (info.surprisal, info.binary_entropy, info.sl_over_rl_ratio):
        with pytest.raises(ValueError, match=r"p=.*allowed range \[0, 1\]"):
            f(bad)
    with pytest.raises(ParameterError, match=r"outside the allowed range"):
        info.binary_entropy(np.array([0.2, bad]))


def test_bad_unit_and_type():
    with pytest.raises(ValueError, match="unit='bytes'"):
        info.surprisal(0.5, unit="bytes")
    with pytest.raises(ValueError, match="not a number"):
        info.binary_entropy("half")


def test_ratio_small_p_is_about_one_over_p():
    for p in (1e-3, 1e-6, 1e-9):
        r = info.sl_over_rl_ratio(p)
        lead = math.log(1 / p) / (p * (1 + math.log(1 / p)))
        assert r == pytest.approx(lead, rel=2 * p)


@pytest.mark.parametrize("V", [10, 1000, 1e5, 1e8])
def test_mean_bits_closed_forms_against_quadrature(V):
    mpmath.mp.dps = 30
    L = math.log(V)
    sl = mpmath.quad(lambda u: -u / math.log(2), [-L, 0]) / L
    rl = mpmath.quad(lambda u: exact_H(float(mpmath.e ** u)), [-L, -1, 0]) / L
    assert info.mean_bits_log_uniform(V, "sl") == pytest.approx(float(sl), rel=1e-12)
    assert info.mean_bits_log_uniform(V, "rl") == pytest.approx(float(rl), rel=1e-8)


def test_log_axis_share():
    assert info.log_axis_share_rl_above_sl(1e5) == pytest.approx(math.log10(2) / 5)
    with pytest.raises(ValueError, match="V=1.0"):
        info.log_axis_share_rl_above_sl(1)
    with pytest.raises(ValueError, match="measure='kl'"):
        info.mean_bits_log_uniform(100, "kl")


# ---------------------------------------------------------------- entropy and KL of discrete distributions
from hypothesis.extra import numpy as hnp  # noqa: E402


def _dists(K):
    """Strategy: probability vectors of length K (some entries exactly 0)."""
    w = hnp.arrays(float, K, elements=st.one_of(st.just(0.0), st.floats(1e-6, 1.0)))
    return w.filter(lambda a: a.sum() > 0).map(lambda a: a / a.sum())


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 12).flatmap(lambda K: st.tuples(_dists(K), _dists(K))))
def test_kl_nonnegative_zero_on_itself_entropy_bounded(pq):
    import math as _math

    p, q = pq
    K = p.size
    kl = info.kl_divergence(p, q)
    assert kl >= -1e-12
    assert info.kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    if np.any((q == 0) & (p > 0)):
        assert kl == np.inf
    h = info.entropy(p, "nats")
    assert -1e-12 <= h <= _math.log(K) + 1e-12
    # KL to the uniform distribution is log K - H(p); bits are nats / ln 2
    assert info.kl_divergence(p, np.full(K, 1.0 / K)) == pytest.approx(_math.log(K) - h, abs=1e-12)
    assert info.entropy(p, "bits") == pytest.approx(h / _math.log(2), rel=1e-12, abs=1e-15)
    assert info.kl_divergence(p, q, "bits") == pytest.approx(kl / _math.log(2), rel=1e-12, abs=1e-15)


def test_entropy_and_kl_values_and_axes():
    assert info.entropy([0.5, 0.5]) == 1.0
    assert info.entropy([1.0, 0.0, 0.0]) == 0.0
    assert info.entropy(np.full(8, 1 / 8)) == pytest.approx(3.0, rel=1e-15)
    # binary case agrees with binary_entropy
    for p in (1e-9, 0.1, 0.5, 0.93):
        assert info.entropy([p, 1 - p]) == pytest.approx(info.binary_entropy(p), rel=1e-12)
    # vectorised over rows, or one joint distribution with axis=None
    rows = np.array([[0.5, 0.5, 0.0], [0.25, 0.25, 0.5]])
    assert np.allclose(info.entropy(rows), [1.0, 1.5])
    assert info.entropy(rows / 2, axis=None) == pytest.approx(1.0 + 1.25)
    assert np.allclose(info.entropy(rows.T, axis=0), [1.0, 1.5])
    assert info.kl_divergence([0.5, 0.5], [0.25, 0.75], "bits") == pytest.approx(
        0.5 * np.log2(2) + 0.5 * np.log2(0.5 / 0.75))
    assert np.allclose(info.kl_divergence(rows, np.array([1 / 3, 1 / 3, 1 / 3])),
                       np.log(3) - info.entropy(rows, "nats"))
    assert info.kl_divergence([0.0, 1.0], [1.0, 0.0]) == np.inf


@pytest.mark.parametrize("call, message", [
    (lambda: info.entropy([0.5, 0.6]), "sums to 1.1"),
    (lambda: info.entropy([1.5, -0.5]), "entry 1.5"),
    (lambda: info.entropy([np.nan, 1.0]), "entry nan"),
    (lambda: info.entropy(0.5), "scalar"),
    (lambda: info.entropy([0.5, 0.5], unit="dits"), "unit"),
    (lambda: info.kl_divergence([0.5, 0.5], [0.9, 0.2]), "q sums to"),
])
def test_entropy_and_kl_validation(call, message):
    with pytest.raises(ParameterError, match=message):
        call()
