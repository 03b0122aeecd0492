"""Chapter 5's recorded results against expectations computed here independently (mpmath and plain loops)."""

import math

import mpmath
import pytest

pytestmark = pytest.mark.book
STEM = "05_samples_per_flop"




def gap(p, T):
    mpmath.mp.dps = 40
    p = mpmath.mpf(p)
    H = -p * mpmath.log(p, 2) - (1 - p) * mpmath.log(1 - p, 2)
    return float(mpmath.mpf(4) * T / 3 * (-mpmath.log(p, 2)) / H)


def test_flop_ratios(r):
    assert r["samples_ratio_T1e4"] == pytest.approx(40_000 / 3, rel=1e-12)
    assert r["samples_ratio_T1e5"] == pytest.approx(400_000 / 3, rel=1e-12)
    assert r["T_for_million_samples_ratio"] == pytest.approx(750_000)
    # attention: sum over the episode's tokens of 8N + 8 L t d, against an SL token of 6N + 6 L n_ctx d
    N, L, d, ctx = r["N_params"], r["n_layer"], r["d_model"], r["sl_context"]
    sl = 6 * N + 6 * L * ctx * d
    for T, key in ((10_000, "samples_ratio_attention_T1e4"), (100_000, "samples_ratio_attention_T1e5")):
        rl = 8 * N * T + 8 * L * d * T * (T + 1) / 2
        assert r[key] == pytest.approx(rl / sl, rel=1e-12)
    assert r["samples_ratio_attention_T1e5"] > r["samples_ratio_T1e5"]


def test_bits_per_flop_gap(r):
    assert r["rl_vs_sl_bits_per_flop_gap_T1e4_p0_5"] == pytest.approx(40_000 / 3, rel=1e-12)
    assert r["rl_vs_sl_bits_per_flop_gap_T1e4_p1e_5"] == pytest.approx(gap(1e-5, 10_000), rel=1e-10)
    assert r["rl_vs_sl_bits_per_flop_gap_T1e4_p1e_5"] > 1e9
    for T in (1, 10_000, 100_000):
        pt = r[f"gap_million_p_threshold_T{T}"]
        assert gap(pt, T) == pytest.approx(1e6, rel=1e-8)
    assert r["gap_per_demonstration_p1e_5"] == pytest.approx(gap(1e-5, 1), rel=1e-10)


def test_compute_shares_closed_forms(r):
    V, p_end = r["V"], r["p_end"]
    u0, u_half, u_end = math.log(V), math.log(2), -math.log(p_end)
    assert r["compute_share_above_half_equal_per_decade"] == pytest.approx(
        math.log(p_end / 0.5) / math.log(p_end * V), rel=1e-12)
    for k, key in ((0.3, "gpt4_k0_3"), (1.0, "gpt4_k1"), (3.0, "gpt4_k3")):
        end, half = (u0 / u_end) ** (1 / k), (u0 / u_half) ** (1 / k)
        assert r[f"compute_share_above_half_{key}"] == pytest.approx((end - half) / (end - 1), rel=1e-10)
    for a, key in ((0.5, "power_law_a0_5"), (1.0, "power_law_a1")):
        end, half = (p_end * V) ** (1 / a), (0.5 * V) ** (1 / a)
        assert r[f"compute_share_above_half_{key}"] == pytest.approx((end - half) / (end - 1), rel=1e-10)
    assert r["equal_per_decade_share_first_decade"] == pytest.approx(1 / math.log10(p_end * V), rel=1e-12)
    # equal per decade: chapter 1's averages over [1/V, p_end]
    assert r["mean_bits_sl_equal_per_decade"] == pytest.approx((math.log2(V) - math.log2(p_end)) / 2, rel=1e-6)


def test_learning_dynamics_by_a_plain_loop(r):
    V, eta, p_end = r["V"], r["eta"], r["p_end"]
    d, p, rates = 0.0, 1 / V, []
    while p < p_end:
        rates.append(p)
        d += eta * V / (V - 1) * (1 - p)
        p = 1 / (1 + (V - 1) * math.exp(-d))
    sl_total, rl_total = len(rates), sum(1 / q for q in rates)
    assert r["dynamics_samples_sl"] == sl_total
    assert r["dynamics_samples_rl"] == pytest.approx(rl_total, rel=1e-10)
    assert r["compute_share_above_half_sl_dynamics"] == pytest.approx(sum(q >= 0.5 for q in rates) / sl_total)
    assert r["compute_share_above_half_rl_dynamics"] == pytest.approx(
        sum(1 / q for q in rates if q >= 0.5) / rl_total, rel=1e-10)
    cost = [2 * (1 / q - 1) + 8 for q in rates]  # failures sample only (2NT), successes also train (6NT)
    assert r["compute_share_above_half_rl_dynamics_skip_backward"] == pytest.approx(
        sum(c for c, q in zip(cost, rates) if q >= 0.5) / sum(cost), rel=1e-10)
    first = sum(1 / q for q in rates if q < 10 / V) / rl_total
    assert r["rl_dynamics_share_first_decade"] == pytest.approx(first, rel=1e-10)
    H = lambda q: -q * math.log2(q) - (1 - q) * math.log2(1 - q)
    assert r["total_bits_rl_dynamics"] == pytest.approx(sum(H(q) / q for q in rates), rel=1e-10)
    assert r["total_bits_sl_dynamics"] == pytest.approx(sum(-math.log2(q) for q in rates), rel=1e-10)
    # the continuum limit is within O(eta)
    assert abs(r["dynamics_samples_rl"] / r["dynamics_samples_rl_continuum"] - 1) < eta
    # the simulation agrees with the geometric waiting times
    assert abs(r["mc_rl_samples_z"]) < 4 and r["mc_max_abs_z_per_success"] < 5
    dof = r["mc_successes"]
    assert r["mc_chi2_per_success"] < dof + 5 * math.sqrt(2 * dof)


def gpt4_share(V, p_end, k):
    u0, u_half, u_end = math.log(V), math.log(2), -math.log(p_end)
    end, half = (u0 / u_end) ** (1 / k), (u0 / u_half) ** (1 / k)
    return (end - half) / (end - 1)


def power_share(V, p_end, a):
    end, half = (p_end * V) ** (1 / a), (0.5 * V) ** (1 / a)
    return (end - half) / (end - 1)


def test_models_disagree(r):
    assert r["compute_share_above_half_equal_per_decade"] < 0.1
    assert r["compute_share_above_half_gpt4_mid"] == r["compute_share_above_half_gpt4_k1"] > 0.9
    assert r["gpt4_k_mid"] == 1.0 and r["power_law_a_mid"] == 1.0
    assert r["compute_share_above_half_rl_dynamics"] < 0.01 < 0.5 < r["compute_share_above_half_sl_dynamics"]
    assert r["mean_bits_ratio_gpt4_mid"] < 1 < r["mean_bits_ratio_equal_per_decade"]


def test_form_factor_follows_the_computation(r):
    # the factor by which the GPT-4 form moves whole-run bits per FLOP: the ratio of the two run gaps
    ratio = r["run_bits_per_flop_gap_T1e4_equal_per_decade"] / r["run_bits_per_flop_gap_T1e4_gpt4_mid"]
    assert r["run_bits_form_factor"] == pytest.approx(max(ratio, 1 / ratio), rel=1e-12)
    assert r["run_bits_per_flop_gap_T1e4_equal_per_decade"] == pytest.approx(
        40_000 / 3 * r["mean_bits_ratio_equal_per_decade"], rel=1e-12)
    assert r["dynamics_samples_rl_over_V"] == pytest.approx(r["dynamics_samples_rl"] / r["V"], rel=1e-12)


def test_rule_inputs(r):
    """The quantities C02 and C06's rules read, recomputed here (the rules are unit-tested in test_rules_ch05)."""
    assert 0 <= r["bits_per_flop_identity_rel_err"] < 1e-12
    V, p_end = r["V"], r["p_end"]
    shares = [gpt4_share(V, p_end, k) for k in (0.3, 1.0, 3.0)] + [power_share(V, p_end, a) for a in (0.5, 1.0)]
    eq = math.log(p_end / 0.5) / math.log(p_end * V)
    assert r["compute_share_above_half_scaling_min"] == pytest.approx(min(shares), rel=1e-10)
    assert r["compute_share_above_half_scaling_max"] == pytest.approx(max(shares), rel=1e-10)
    assert r["scaling_share_ratio_min"] == pytest.approx(min(shares) / eq, rel=1e-10)
    assert r["scaling_share_ratio_max"] == pytest.approx(max(shares) / eq, rel=1e-10)
    assert r["gap_million_p_threshold_T10000"] > 1e-5
    for claim in ("C02", "C06"):
        assert r[f"verdict_{claim}_quantity"] in r
        assert r[f"verdict_{claim}_text"].startswith(r[f"verdict_{claim}"]) or not r[f"verdict_{claim}_premise"]


def test_exercise_solutions(r):
    """The solutions' numbers, at the exercises' own settings (the defaults), recomputed here."""
    V = 100_000
    # exercise 1: (a) moves from ln(p_end/0.5)/ln(p_end V) at 0.99 to the same at 0.9
    share = lambda p_end: math.log(p_end / 0.5) / math.log(p_end * V)  # noqa: E731
    assert r["ex1_share_equal_p0_99"] == pytest.approx(share(0.99), rel=1e-12)
    assert r["ex1_share_equal_p0_9"] == pytest.approx(share(0.9), rel=1e-12)
    assert r["ex1_move_equal_per_decade"] == pytest.approx(share(0.9) - share(0.99), rel=1e-10)
    # exercise 2: RL's waits by a plain loop at eta 1, against the continuum n_rl(x) of the chapter
    for eta, tag in ((0.1, "eta0_1"), (1.0, "eta1")):
        c = eta * V / (V - 1)
        d, p, rates = 0.0, 1 / V, []
        while p < 0.99:
            rates.append(p)
            d += c * (1 - p)
            p = 1 / (1 + (V - 1) * math.exp(-d))
        exact = sum(1 / q for q in rates)
        n_rl = lambda q: (2 * math.log(q / (1 - q)) + q / (1 - q) - (1 - q) / q) / c  # noqa: E731
        assert r[f"ex2_drift_rl_{tag}"] == pytest.approx(exact / (n_rl(p) - n_rl(1 / V)) - 1, rel=1e-6)
        assert r[f"ex2_first_decade_{tag}"] == pytest.approx(sum(1 / q for q in rates if q < 10 / V) / exact,
                                                            rel=1e-10)
        assert r[f"ex2_steps_first_decade_{tag}"] == sum(q < 10 / V for q in rates)
    # exercise 3: the gap at T = 10^6 equals a million at the recorded threshold, and is 4T/3 at p = 1/2
    assert gap(r["ex3_gap_million_p_threshold_T1e6"], 10**6) == pytest.approx(1e6, rel=1e-8)
    assert r["ex3_gap_at_half_T1e6"] == pytest.approx(4e6 / 3, rel=1e-12)
