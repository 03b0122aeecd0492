"""Chapter 6's recorded results against expectations computed here independently (plain recursions, not rlbits)."""

import math

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
    ps = sl_levels(V, eta, 0.5)[:-1]
    mean = sum(1 / p for p in ps)
    sd = math.sqrt(sum((1 - p) / p**2 for p in ps))
    assert r["rl_samples_to_half_exact_mean"] == pytest.approx(mean, rel=1e-9)
    assert abs(r["rl_samples_to_half"] - mean) < 5 * sd / math.sqrt(n)
    assert 0.95 < r["rl_samples_to_half_slope"] < 1.05
    assert r["rl_over_sl_samples_to_half"] > V / math.log(V) / 2


def test_eliminator(r):
    V, n = r["V_report"], r["n_runs"]
    # min(T, V - 2) with T uniform on 1..V: mean about (V + 1)/2, sd about V/sqrt(12)
    assert abs(r["eliminator_samples_to_half"] - (V + 1) / 2) < 5 * V / math.sqrt(12 * n)
    assert 0.97 < r["eliminator_samples_to_half_slope"] < 1.03


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


def test_mean_baseline_and_verdicts(r):
    assert 0.7 < r["rl_mean_over_none_min"] <= r["rl_mean_over_none_max"] < 1.3
    assert r["rl_all_runs_reached_099"] == 1.0
    assert r["verdict_C26"] == "holds"
    assert r["verdict_C08"] in ("holds", "holds with a caveat")
    for c in ("C08", "C26"):
        assert r[f"verdict_{c}_quantity"] in r
    assert r["init_median_pass_rate_times_V"] == pytest.approx(math.exp(-r["init_sigma"] ** 2 / 2), rel=0.4)
