"""Chapter 3's recorded results against expectations computed here independently (mpmath, explicit sums)."""

import math

import mpmath
import pytest

pytestmark = pytest.mark.book
STEM = "03_seeing_the_answer"




def _n_exact(p, c):
    """Smallest n with 1 - (1-p)^n >= c, by bisection in 50-digit arithmetic."""
    mpmath.mp.dps = 50
    P, C = mpmath.mpf(p), mpmath.mpf(c)
    lo, hi = 1, 1
    while 1 - (1 - P) ** hi < C:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if 1 - (1 - P) ** mid >= C:
            hi = mid
        else:
            lo = mid + 1
    return lo


def test_waiting_times(r):
    p = r["p"]
    assert p == 1e-5
    for name, c in (("n90", "0.9"), ("n95", "0.95"), ("n99", "0.99")):
        assert r[name] == _n_exact(p, c)
        assert r[f"{name}_rule"] == pytest.approx(-math.log(1 - float(c)) / p, rel=1e-12)
        assert abs(r[name] - r[f"{name}_rule"]) < 3
    # the essay's figure is within 1% of the exact one
    assert abs(r["n95"] / 300_000 - 1) < 0.01
    # Monte Carlo: within 5 standard errors of 95%, and the standard error is the binomial one
    exp = float(1 - (1 - mpmath.mpf(p)) ** r["n95"])
    assert r["mc_frac_expected"] == pytest.approx(exp, rel=1e-12)
    se = math.sqrt(exp * (1 - exp) / r["mc_runs"])
    assert r["mc_frac_within_n95_se"] == pytest.approx(se, rel=1e-9)
    assert abs(r["mc_frac_within_n95"] - exp) < 5 * se
    assert abs(r["mc_mean_wait"] * p - 1) < 5 / math.sqrt(r["mc_runs"])


def test_noise_scales(r):
    p, V = r["p"], r["V"]
    assert r["noise_scale_none_at_p"] == pytest.approx((1 - p) / p, rel=1e-9)
    assert r["noise_scale_none_p0_9"] == pytest.approx(0.1 / 0.9, rel=1e-9)
    # explicit sums for the mean-reward baseline at p = 0.9: E|G|^2 over the answer and the V - 1 wrong answers
    P = mpmath.mpf("0.9")
    q = (1 - P) / (V - 1)
    s2 = P**2 + (V - 1) * q**2
    k1, k0 = 1 - 2 * P + s2, 1 - 2 * q + s2
    mean2 = P**2 * k1
    second = P * (1 - P) ** 2 * k1 + (1 - P) * P**2 * k0
    assert r["noise_scale_mean_p0_9"] == pytest.approx(float((second - mean2) / mean2), rel=1e-9)
    # the optimal baseline minimises the quadratic p (1-b)^2 k1 + (1-p) b^2 k0
    b = P * k1 / (P * k1 + (1 - P) * k0)
    assert r["b_opt_at_p0_9"] == pytest.approx(float(b), rel=1e-9)
    second_opt = P * (1 - b) ** 2 * k1 + (1 - P) * b**2 * k0
    assert r["noise_scale_optimal_p0_9"] == pytest.approx(float((second_opt - mean2) / mean2), rel=1e-9)
    # at small p no baseline beats ~1/p
    for name in ("none", "mean", "optimal"):
        assert r[f"noise_scale_{name}_at_p"] > 0.99 / p
    assert r["grad_mc_worst_z"] < 5


def test_grpo(r):
    exact = 1 - (1 - mpmath.mpf("1e-5")) ** 8 - mpmath.mpf("1e-5") ** 8
    assert r["grpo_signal_prob_G8_p1e_5"] == pytest.approx(float(exact), rel=1e-10)
    assert r["grpo_signal_prob_G8_p0_99"] == pytest.approx(1 - 0.01**8 - 0.99**8, rel=1e-10)
    assert r["grpo_mc_worst_z"] < 5


def test_truncation(r):
    assert r["trunc_topk_small_total_successes"] == 0
    assert r["trunc_topk_small_initial_pass"] == 0.0
    assert r["trunc_topk_small_frac_reach_half"] == 0.0
    for key in ("full", "topk_large", "temp"):
        assert r[f"trunc_{key}_frac_reach_half"] == 1.0
        assert r[f"trunc_{key}_total_successes"] > 0
        assert r[f"trunc_{key}_median_samples_to_half"] < r["trunc_samples"]
    # a lower temperature thins the answer (its logit is below the mean at rank 600 of 1000): longer expected waits
    waits = [r[f"trunc_expected_wait_T{t}"] for t in ("1_0", "0_5", "0_25", "0_1")]
    assert waits == sorted(waits)
    assert r["trunc_temp_initial_pass"] < r["trunc_full_initial_pass"]


def _noise_scale(p, V, baseline):
    """The noise scale from explicit sums over the answer and the V - 1 wrong answers, in 50-digit arithmetic."""
    mpmath.mp.dps = 50
    P = mpmath.mpf(p)
    q = (1 - P) / (V - 1)
    s2 = P**2 + (V - 1) * q**2
    k1, k0 = 1 - 2 * P + s2, 1 - 2 * q + s2
    b = {"none": 0, "mean": P, "optimal": P * k1 / (P * k1 + (1 - P) * k0)}[baseline]
    mean2 = P**2 * k1
    return (P * (1 - b) ** 2 * k1 + (1 - P) * b**2 * k0 - mean2) / mean2


def test_baselines_relative_change_at_p(r):
    """The digits that carry the comparison: the baselines' relative change of the noise scale at the run's p."""
    p, V = r["p"], r["V"]
    none = _noise_scale(p, V, "none")
    for name in ("mean", "optimal"):
        assert r[f"noise_change_{name}_at_p"] == pytest.approx(float(_noise_scale(p, V, name) / none - 1), rel=1e-6)
    # at the essay's p both baselines lower the noise scale by about p (1/p - 2 against 1/p - 1)
    assert r["noise_change_optimal_at_p"] == pytest.approx(-p, rel=1e-3)


def test_rule_of_thumb_deviation(r):
    p = r["p"]
    devs = [abs(_n_exact(p, c) + math.log(1 - float(c)) / p) for c in ("0.9", "0.95", "0.99")]
    assert r["rule_max_abs_dev"] == pytest.approx(max(devs), rel=1e-6)


def test_verdicts_follow_the_rules(r):
    from rlbits.verdicts import evaluate, load_claims

    claims = load_claims()
    for claim in ("C09", "C10"):
        assert r[f"verdict_{claim}"] == evaluate(claims[claim], r).verdict
        assert r[f"verdict_{claim}_quantity"] in r


def test_failure_penalty(r):
    assert r["penalty_same_updates_for_other_answer"] == 1
    assert r["penalty_compared_samples"] == r["penalty_samples"]
    assert r["penalty_near_entered"] == r["penalty_runs"]
    assert 0 < r["penalty_near_median_entry"] < r["penalty_samples"]
    assert r["penalty_far_entered"] == 0
    assert 0.5 < r["penalty_far_max_prob"] <= 1.0
    assert r["trunc_underflow_temperature"] > 0
