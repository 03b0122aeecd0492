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


def test_verdicts(r):
    assert r["verdict_C04"] == "holds"
    assert r["verdict_C07"] == "holds with a caveat"
    for claim in ("C03", "C04", "C07"):
        assert r[f"verdict_{claim}_quantity"] in r
