"""Tests of rlbits.reinforce_gradient (chapters 3, 4, 6): closed forms against brute-force sums and Monte Carlo."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbits import reinforce_gradient
from rlbits.validate import ParameterError


# ---------------------------------------------------------------- REINFORCE statistics
def _brute(p, V, b):
    """Exact expectation over A by explicit summation with dense vectors."""
    pi = np.full(V, (1 - p) / (V - 1))
    pi[0] = p
    grads = np.array([((1.0 if a == 0 else 0.0) - b) * (np.eye(V)[a] - pi) for a in range(V)])
    mean = pi @ grads
    second = pi @ np.sum(grads**2, axis=1)
    return mean @ mean, second - mean @ mean


@settings(max_examples=60, deadline=None, derandomize=True)
@given(p=st.floats(min_value=1e-4, max_value=0.999), V=st.integers(min_value=2, max_value=40),
       baseline=st.sampled_from(reinforce_gradient.BASELINES))
def test_closed_forms_match_brute_force(p, V, baseline):
    s = reinforce_gradient.reinforce_stats(p, V, baseline)
    m2, tr = _brute(p, V, s["b"])
    assert s["mean_norm2"] == pytest.approx(m2, rel=1e-9, abs=1e-15)
    assert s["trace_cov"] == pytest.approx(tr, rel=1e-8, abs=1e-14)


def test_noise_scale_without_baseline_is_exact():
    p = np.logspace(-8, -1e-3, 200)
    for V in (2, 10, 10**6):
        assert np.allclose(reinforce_gradient.reinforce_stats(p, V, "none")["noise_scale"], (1 - p) / p, rtol=1e-9)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(p=st.floats(min_value=1e-4, max_value=0.999), V=st.integers(min_value=2, max_value=10**6))
def test_optimal_baseline_is_optimal(p, V):
    best = reinforce_gradient.reinforce_stats(p, V, "optimal")["trace_cov"]
    for name in ("none", "mean"):
        assert best <= reinforce_gradient.reinforce_stats(p, V, name)["trace_cov"] * (1 + 1e-12)
    b = reinforce_gradient.optimal_baseline(p, V)
    # perturbing the optimum raises the trace: evaluate E|G|^2 by brute force on a small V
    if V <= 30:
        _, t0 = _brute(p, V, b)
        _, t1 = _brute(p, V, b + 0.01)
        _, t2 = _brute(p, V, b - 0.01)
        assert t0 <= t1 and t0 <= t2


def test_large_V_limits():
    p = np.array([1e-4, 0.1, 0.5, 0.9])
    V = 10**12
    assert np.allclose(reinforce_gradient.reinforce_stats(p, V, "mean")["noise_scale"],
                       (1 - 3 * p + 4 * p**2) / (p * (1 - p)), rtol=1e-6)
    assert np.allclose(reinforce_gradient.reinforce_stats(p, V, "optimal")["noise_scale"], (1 - p) / (p * (1 + p)),
                       rtol=1e-6)
    assert np.allclose(reinforce_gradient.optimal_baseline(p, V), p * (1 - p) / (1 + p), rtol=1e-6)


@pytest.mark.parametrize("baseline", reinforce_gradient.BASELINES)
@pytest.mark.parametrize("p", [0.02, 0.5, 0.95])
def test_monte_carlo_matches_closed_form(baseline, p):
    V = 30
    est = reinforce_gradient.reinforce_gradient_mc(p, V, baseline, 400_000, np.random.default_rng(5))
    exact = reinforce_gradient.reinforce_stats(p, V, baseline)
    assert abs(est["mean_norm2"] - exact["mean_norm2"]) < 5 * est["mean_norm2_se"]
    assert abs(est["trace_cov"] - exact["trace_cov"]) < 5 * est["trace_cov_se"]
    assert est["trace_cov_se"] < 0.05 * exact["trace_cov"]  # the check has teeth


def test_monte_carlo_detects_a_wrong_baseline():
    # the estimator with b = 0 must disagree with the closed form for the mean baseline at p = 0.9
    est = reinforce_gradient.reinforce_gradient_mc(0.9, 30, "none", 400_000, np.random.default_rng(6))
    wrong = reinforce_gradient.reinforce_stats(0.9, 30, "mean")
    assert abs(est["trace_cov"] - wrong["trace_cov"]) > 20 * est["trace_cov_se"]


# ---------------------------------------------------------------- the gradient identity (chapter 6)
def test_gradient_identity():
    rng = np.random.default_rng(0)
    for V in (2, 10, 1000):
        z = rng.normal(size=V) * 3
        a, b = reinforce_gradient.reinforce_expected_gradient(z, answer=V // 2)
        assert np.max(np.abs(a - b)) < 1e-15


def test_gradient_identity_by_monte_carlo():
    """The sampled estimate agrees with the exact mean within a few standard errors, and a wrong answer does not."""
    z = np.random.default_rng(1).normal(size=20) * 2
    mc, se = reinforce_gradient.reinforce_gradient_monte_carlo(z, 200_000, np.random.default_rng(2), answer=3)
    exact, _ = reinforce_gradient.reinforce_expected_gradient(z, answer=3)
    assert np.all(np.abs(mc - exact) <= 5 * se + 1e-12)
    wrong, _ = reinforce_gradient.reinforce_expected_gradient(z, answer=4)
    assert np.max(np.abs(mc - wrong) / (se + 1e-12)) > 10


def test_gradient_identity_rejects_bad_logits():
    with pytest.raises(ParameterError, match="logits"):
        reinforce_gradient.reinforce_expected_gradient([1.0])
