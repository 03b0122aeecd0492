"""Chapter 1's recorded results against expectations computed here independently (with mpmath, not rlbits)."""

import math

import mpmath
import pytest

pytestmark = pytest.mark.book
STEM = "01_bits_per_sample"




def test_crossover_and_maximum(r):
    assert r["crossover_p"] == 0.5
    assert r["argmax_rl_p"] == 0.5
    assert r["max_rl_bits"] == pytest.approx(1.0, abs=1e-15)


def test_untrained_model_values(r):
    V = r["V"]
    assert V == 100_000
    mpmath.mp.dps = 50
    p = mpmath.mpf(1) / V
    sl = -mpmath.log(p, 2)
    rl = -p * mpmath.log(p, 2) - (1 - p) * mpmath.log(1 - p, 2)
    assert r["sl_bits_at_1_over_V"] == pytest.approx(float(sl), rel=1e-14)
    assert r["rl_bits_at_1_over_V"] == pytest.approx(float(rl), rel=1e-12)
    assert r["sl_over_rl_at_1_over_V"] == pytest.approx(float(sl / rl), rel=1e-12)
    # roughly 1/p: the ratio is within 10% of V
    assert 0.9 * V < r["sl_over_rl_at_1_over_V"] < V


def test_log_axis_share_and_means(r):
    V = r["V"]
    assert r["log_axis_share_rl_above_sl"] == pytest.approx(math.log10(2) / math.log10(V), rel=1e-12)
    assert r["mean_bits_sl_log_uniform"] == pytest.approx(math.log2(V) / 2, rel=1e-12)
    # RL mean by brute-force quadrature over ln p, in high precision, independent of the closed form
    mpmath.mp.dps = 30
    H = lambda q: -q * mpmath.log(q, 2) - (1 - q) * mpmath.log(1 - q, 2)
    mean_rl = mpmath.quad(lambda u: H(mpmath.e ** u), [-math.log(V), -5, -1, 0]) / math.log(V)
    assert r["mean_bits_rl_log_uniform"] == pytest.approx(float(mean_rl), rel=1e-9)


def _H2(x):
    return -x * mpmath.log(x, 2) - (1 - x) * mpmath.log(1 - x, 2)


def test_label_entropy_split(r):
    """A label uniform over k answers under the uniform untrained model: log2 V = log2 k + log2(V / k)."""
    V, k = r["V"], r["label_support"]
    assert r["label_expected_surprisal"] == pytest.approx(math.log2(V), rel=1e-14)
    assert r["label_entropy"] == pytest.approx(math.log2(k), abs=1e-14)
    assert r["label_divergence"] == pytest.approx(math.log2(V) - math.log2(k), rel=1e-12)
    assert r["label_learnable_share"] == pytest.approx(1 - math.log(k) / math.log(V), rel=1e-12)
    assert r["label_identity_error"] < 1e-12


def test_h_bound_counterexamples(r):
    """The gain given the truth, from its definition in 40-digit arithmetic: above H(p) below 1/V, and bits per
    sample for a belief concentrated on a wrong answer; the mutual information stays within one bit."""
    mpmath.mp.dps = 40
    V = r["V"]
    p = mpmath.mpf(r["p_off"])
    assert r["p_off"] < 1 / V
    q = (1 - p) / (V - 1)
    gain = -p * mpmath.log(p, 2) - (V - 1) * q * mpmath.log(1 - q, 2)
    assert r["ig_at_p_off"] == pytest.approx(float(gain), rel=1e-9)
    assert r["entropy_at_p_off"] == pytest.approx(float(_H2(p)), rel=1e-9)
    assert r["ig_over_entropy_off"] == pytest.approx(float(gain / _H2(p)), rel=1e-9)
    d = mpmath.mpf(r["decoy"])
    rest = (1 - p - d) / (V - 2)
    gain_d = -p * mpmath.log(p, 2) - d * mpmath.log(1 - d, 2) - (V - 2) * rest * mpmath.log(1 - rest, 2)
    mi_d = p * _H2(p) + d * _H2(d) + (V - 2) * rest * _H2(rest)
    assert r["ig_decoy_bits"] == pytest.approx(float(gain_d), rel=1e-9)
    assert r["mi_decoy_bits"] == pytest.approx(float(mi_d), rel=1e-9)
    assert r["ig_decoy_bits"] > 1 > r["mi_decoy_bits"]
    # the largest mutual information on the grid: at most one bit, and close to it (p = 1/2 is on the grid's edge)
    assert 0.99 < r["mi_grid_max_bits"] <= 1 + 1e-12


def test_verdicts_follow_the_rules(r):
    from rlbits.verdicts import evaluate, load_claims

    claims = load_claims()
    for claim in ("C03", "C04", "C07"):
        assert r[f"verdict_{claim}"] == evaluate(claims[claim], r).verdict
        assert r[f"verdict_{claim}_quantity"] in r
        assert r[f"verdict_{claim}_premise"] == 1
