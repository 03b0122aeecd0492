"""Chapter 6's recorded results against expectations computed here independently (plain recursions, not rlbits)."""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.book
STEM = "06_the_sky_is"




def sl_levels(V, eta, thr):
    """Pass rates along SL's trajectory from a uniform start, by iterating all-logit softmax on two logit values."""
    u, w = 0.0, 0.0
    ps = []
    while True:
        p = math.exp(u) / (math.exp(u) + (V - 1) * math.exp(w))
        ps.append(p)
        if p >= thr:
            return ps
        u, w = u + eta * (1 - p), w - eta * (1 - p) / (V - 1)


def test_sl_samples(r):
    V, eta = r["V_report"], r["eta"]
    assert r["sl_samples_to_half"] == len(sl_levels(V, eta, 0.5)) - 1
    assert r["sl_samples_to_099"] == len(sl_levels(V, eta, 0.99)) - 1
    if eta == 1.0:
        assert r["sl_samples_to_half_per_efold"] == pytest.approx(1.0, abs=0.1)


def test_rl_samples_against_geometric_sum(r):
    V, eta, n = r["V_report"], r["eta"], r["n_runs"]
    for t, tag in ((0.5, "half"), (0.99, "099")):
        ps = sl_levels(V, eta, t)[:-1]
        mean = sum(1 / p for p in ps)
        sd = math.sqrt(sum((1 - p) / p**2 for p in ps))
        assert r[f"rl_samples_to_{tag}"] == pytest.approx(mean, rel=1e-9)  # the exact value is what the table quotes
        assert r[f"rl_samples_to_{tag}_se"] == pytest.approx(sd / math.sqrt(n), rel=1e-9)
        assert abs(r[f"rl_samples_to_{tag}_mc"] - mean) < 5 * sd / math.sqrt(n)
        assert r[f"rl_samples_to_{tag}_z"] == pytest.approx((r[f"rl_samples_to_{tag}_mc"] - mean) / (sd / math.sqrt(n)))
    assert 0.95 < r["rl_samples_to_half_slope"] < 1.05
    assert r["rl_over_sl_samples_to_half"] > V / math.log(V) / 2
    assert r["rl_over_eliminator_leading_order"] == pytest.approx(2 / (1 - math.exp(-eta)), rel=1e-12)
    assert r["mc_max_abs_z_samples"] < 5


def test_eliminator(r):
    V, n = r["V_report"], r["n_runs"]
    # min(T, m) with T uniform on 1..V: m = V - 2 for 1/2, V - 1 for 0.99 (summed here term by term)
    for m, tag in ((V - 2, "half"), (V - 1, "099")):
        mean = (sum(range(1, m + 1)) + (V - m) * m) / V
        var = (sum(t * t for t in range(1, m + 1)) + (V - m) * m * m) / V - mean**2
        assert r[f"eliminator_samples_to_{tag}"] == pytest.approx(mean, rel=1e-12)
        assert r[f"eliminator_samples_to_{tag}_se"] == pytest.approx(math.sqrt(var / n), rel=1e-9)
        assert abs(r[f"eliminator_samples_to_{tag}_mc"] - mean) < 5 * math.sqrt(var / n)
    assert r["eliminator_099_minus_half"] == pytest.approx(2 / V, rel=1e-6)
    assert 0.97 < r["eliminator_samples_to_half_slope"] < 1.03


def share_within_budget(ps, budget, n=200_000, seed=20261130):
    """P(sum of independent geometric(p) waits <= budget), by this test's own Monte Carlo (numpy draws of the waits,
    not the chapter's engine), with its standard error."""
    rng = np.random.default_rng(seed)
    total = np.zeros(n)
    for p in ps:
        total += rng.geometric(p, size=n)
    f = float(np.mean(total <= budget))
    return f, math.sqrt(max(f * (1 - f), 1 / n) / n)


def test_c26_budget_share(r):
    """The share of runs within the budget against an independent Monte Carlo of the waits, and its interval."""
    eta, n, B = r["eta"], r["n_runs"], r["sample_budget"]
    for tag, V in (("V_report", r["V_report"]), ("V_max", r["V_max"])):
        ref, ref_se = share_within_budget(sl_levels(V, eta, 0.99)[:-1], B)
        f = r[f"budget_frac_{tag}"]
        assert abs(f - ref) <= 5 * math.hypot(math.sqrt(max(ref * (1 - ref), 1 / n) / n), ref_se), (tag, f, ref)
        # Wilson's 95% interval, recomputed
        z = 1.959963984540054
        c = (f + z * z / (2 * n)) / (1 + z * z / n)
        h = z / (1 + z * z / n) * math.sqrt(f * (1 - f) / n + z * z / (4 * n * n))
        assert r[f"budget_frac_{tag}_lo"] == pytest.approx(max(0.0, c - h), abs=1e-12)
        assert r[f"budget_frac_{tag}_hi"] == pytest.approx(min(1.0, c + h), abs=1e-12)
    ps = sl_levels(r["V_report"], eta, 0.99)
    assert r["rl_over_sl_samples_to_099"] == pytest.approx(sum(1 / p for p in ps[:-1]) / (len(ps) - 1), rel=1e-9)


def test_gradient_identity_and_bits(r):
    assert r["reinforce_sl_grad_identity_max_err"] < 1e-15
    assert r["reinforce_sl_grad_mc_max_z"] < 5
    V = r["V_report"]
    p0 = 1 / V
    ps = sl_levels(V, r["eta"], 0.5)
    drop = -math.log2(ps[0]) + math.log2(ps[1])
    assert r["sl_bits_per_sample_at_start"] == pytest.approx(drop, rel=1e-9)
    assert r["rl_bits_per_sample_at_start"] == pytest.approx(p0 * drop, rel=1e-9)
    H = -p0 * math.log2(p0) - (1 - p0) * math.log2(1 - p0)
    assert r["rl_bound_at_start"] == pytest.approx(H, rel=1e-12)


def test_mean_baseline_and_init(r):
    assert 0.7 < r["rl_mean_over_none_min"] <= r["rl_mean_over_none_max"] < 1.3
    for c in ("C08", "C26"):
        assert r[f"verdict_{c}_quantity"] in r
    # the median of 100 random inits against log-normal theory (V >> e^(sigma^2) at the defaults)
    assert r["init_median_pass_rate_times_V"] == pytest.approx(math.exp(-r["init_sigma"] ** 2 / 2), rel=0.4)
    assert r["init_lognormal_median_times_V"] == pytest.approx(math.exp(-r["init_sigma"] ** 2 / 2), rel=1e-12)


def test_exercise_solutions(r):
    """The solutions' numbers, at the exercises' own settings, recomputed by plain recursions."""
    V = 100_000
    for eta, tag in ((1.0, "eta1"), (0.3, "eta0_3")):
        ps = sl_levels(V, eta, 0.5)
        assert r[f"ex1_rl_half_over_V_{tag}"] == pytest.approx(sum(1 / p for p in ps[:-1]) / V, rel=1e-9)
        grid = [10, 100, 1_000, 10_000, 100_000, 1_000_000]
        steps = [len(sl_levels(v, eta, 0.5)) - 1 for v in grid]
        assert r[f"ex1_sl_per_efold_{tag}"] == pytest.approx(np.polyfit(np.log(grid), steps, 1)[0], rel=1e-9)
    # exercise 2: the waits from a warm start at 10/V, along SL's recursion started at that pass rate
    u, w, total = math.log(10 / (V - 10) * (V - 1)), 0.0, 0.0
    while True:
        p = math.exp(u) / (math.exp(u) + (V - 1) * math.exp(w))
        if p >= 0.5:
            break
        total += 1 / p
        u, w = u + (1 - p), w - (1 - p) / (V - 1)
    assert r["ex2_rl_samples_warm"] == pytest.approx(total, rel=1e-9)
    assert r["ex2_cold_over_warm"] == pytest.approx(r["ex2_rl_samples_cold"] / total, rel=1e-9)
    # exercise 3: batch 1's Monte Carlo mean near its exact expectation; batch 8 several times costlier
    exact_b1 = sum(1 / p for p in sl_levels(r["ex3_V"], 1.0, 0.5)[:-1])
    assert abs(r["ex3_mean_B1"] - exact_b1) < 5 * r["ex3_se_B1"]
    assert r["ex3_ratio"] > 2
