"""Chapter 4's recorded results against expectations computed here by enumeration (not with rlbits.noise)."""

import mpmath
import numpy as np
import pytest

from rlbits.language import make_language

pytestmark = pytest.mark.book
STEM = "04_pretraining_inverse_problem"




@pytest.fixture(scope="module")
def lang(r):
    # the chapter's default language (the chapter records K, support and the deterministic share)
    return make_language(K=r["K"], frac_deterministic=r["frac_deterministic_contexts"], support=r["support"], seed=0)


def stationary_by_power_iteration(P):
    pi = np.full(P.shape[0], 1.0 / P.shape[0])
    for _ in range(20_000):
        pi = 0.5 * pi + 0.5 * pi @ P  # lazy chain: same fixed point, no periodicity
    return pi / pi.sum()


def test_irreducible_entropy_and_floor(r, lang):
    P = lang.P
    pi = stationary_by_power_iteration(P)
    with np.errstate(divide="ignore", invalid="ignore"):
        H = -np.nansum(np.where(P > 0, P * np.log2(P), 0.0), axis=1)
    assert r["irreducible_entropy"] == pytest.approx(pi @ H, rel=1e-8)
    # random contexts: uniform over `support` tokens, so 1 - |P_c|^2 = 1 - 1/support
    random_mass = pi[~lang.deterministic].sum()
    assert r["trace_floor"] == pytest.approx(random_mass * (1 - 1 / r["support"]), rel=1e-8)
    assert r["irreducible_entropy"] == pytest.approx(random_mass * np.log2(r["support"]), rel=1e-8)


def test_noise_scale_at_the_uniform_start(r, lang):
    """At W = 0 every prediction is uniform: enumerate all examples for G and tr Sigma."""
    K, P = lang.K, lang.P
    pi = stationary_by_power_iteration(P)
    q = np.full(K, 1.0 / K)
    G = pi[:, None] * (q - P)
    second = sum(pi[c] * P[c, y] * np.sum((q - np.eye(K)[y]) ** 2) for c in range(K) for y in range(K))
    trace = second - np.sum(G**2)
    assert r["trace_start"] == pytest.approx(trace, rel=1e-8)
    assert r["noise_scale_start"] == pytest.approx(trace / np.sum(G**2), rel=1e-8)
    assert r["excess_loss_start"] == pytest.approx(np.log2(K) - r["irreducible_entropy"], rel=1e-8)


def test_noise_scale_rises_as_the_loss_falls(r):
    assert r["excess_loss_end"] < r["excess_loss_start"] / 30
    assert r["noise_scale_end"] > 300 * r["noise_scale_start"]
    assert r["noise_scale_growth"] == pytest.approx(r["noise_scale_end"] / r["noise_scale_start"])
    # the trace falls to its floor, the signal collapses
    assert r["trace_end"] < r["trace_start"]
    assert 1.0 <= r["trace_end_over_floor"] < 1.01
    assert r["signal_drop"] > 300
    assert r["noise_share_random_end"] > 0.99
    # the estimator agrees with the exact values within its standard errors
    assert r["estimator_max_abs_z"] < 5 and r["estimator_n_checks"] >= 40


def test_zero_entropy_control(r):
    assert r["control_entropy"] == 0.0
    assert r["control_noise_scale_min"] == pytest.approx(r["K"] - 1, rel=1e-9)
    assert r["control_noise_scale_max"] == pytest.approx(r["K"] - 1, rel=1e-9)
    assert r["control_excess_end"] < 0.05


def test_batch_size_tradeoff(r):
    # steps fall with the batch size, by much more than 10x over the range, and level off at S_min
    assert r["steps_smallest_batch"] > 10 * r["steps_largest_batch"]
    assert r["tradeoff_fit_max_rel_err"] < 0.3
    assert r["e_min_fit"] == pytest.approx(r["s_min_fit"] * r["b_crit_fit"], rel=1e-9)
    # the fitted critical batch lies between the noise scale at the start and at the target
    assert r["noise_scale_start"] < r["b_crit_fit"] < 3 * r["b_simple_at_target"]
    # the small-batch end is in the linear-scaling regime: steps ~ S_min B_crit / B
    predicted = r["s_min_fit"] * (1 + r["b_crit_fit"] / r["tradeoff_b_min"])
    assert r["steps_smallest_batch"] == pytest.approx(predicted, rel=0.3)


def test_rl_mirror(r):
    assert r["rl_noise_scale_at_1_over_V"] == pytest.approx(99_999.0)
    p = r["rl_check_p"]
    assert r["rl_noise_scale_enumerated"] == pytest.approx((1 - p) / p, rel=1e-10)


def test_tradeoff_fits_at_each_target(r):
    """Refit S = S_min (1 + B_crit / B) to the recorded steps of each target, independently (weighted normal
    equations solved by hand), and check the trend the chapter reports."""
    B = np.array([4, 16, 64, 256, 1024, 4096, 16384], dtype=float)
    n_t = r["tradeoff_n_targets"]
    crit = []
    for k in range(n_t):
        S = np.array([r[f"tradeoff_steps_t{k}_b{j}"] for j in range(B.size)])
        # minimise sum ((a + c / B) / S - 1)^2 over a, c: 2x2 normal equations
        x1, x2 = 1 / S, 1 / (B * S)
        M = np.array([[x1 @ x1, x1 @ x2], [x1 @ x2, x2 @ x2]])
        a, c = np.linalg.solve(M, np.array([x1.sum(), x2.sum()]))
        crit.append(c / a)
    assert r["b_crit_fit"] == pytest.approx(crit[0], rel=1e-8)
    assert r["b_crit_first"] == pytest.approx(crit[0], rel=1e-8)
    assert r["b_crit_last"] == pytest.approx(crit[-1], rel=1e-8)
    assert r["b_crit_growth"] == pytest.approx(crit[-1] / crit[0], rel=1e-8)
    # the trend the issue describes: B_crit grows, its ratio to the noise scale at the target falls
    assert r["b_crit_growth_z"] > 2
    assert r["b_crit_over_b_simple_last"] < r["b_crit_over_b_simple_first"]
    assert r["b_simple_last"] > r["b_simple_first"]
    targets = [r[f"tradeoff_target_t{k}"] for k in range(n_t)]
    assert targets == sorted(targets, reverse=True)


def test_sympy_b_simple_and_estimator_intervals(r):
    assert r["b_simple_sympy_vs_enumeration"] < 1e-12
    assert r["b_simple_sympy_vs_package"] < 1e-12
    # two-standard-error intervals: most contain the exact value (an interval that never missed would be suspect too)
    assert r["b_intervals_covering_exact"] >= r["n_checkpoints"] - 3


def test_mirror_with_mean_baseline(r):
    """RL's noise scale with the mean-reward baseline at the end of the mirror figure, from explicit sums: about
    2 / (1 - p), far above the no-baseline (1 - p) / p."""
    mpmath.mp.dps = 50
    V = r["rl_V"]
    P = mpmath.mpf(2) ** (-mpmath.mpf(r["rl_mirror_ell_end"]))
    q = (1 - P) / (V - 1)
    s2 = P**2 + (V - 1) * q**2
    k1, k0 = 1 - 2 * P + s2, 1 - 2 * q + s2
    mean2 = P**2 * k1
    second = P * (1 - P) ** 2 * k1 + (1 - P) * P**2 * k0
    assert r["rl_mean_noise_end"] == pytest.approx(float((second - mean2) / mean2), rel=1e-8)
    assert r["rl_mean_noise_end_over_2_over_1mp"] == pytest.approx(float((second - mean2) / mean2 * (1 - P) / 2),
                                                                   rel=1e-8)
    assert r["rl_none_noise_end"] == pytest.approx(float((1 - P) / P), rel=1e-8)


def test_verdict_follows_the_rule(r):
    from rlbits.verdicts import evaluate, load_claims

    assert r["verdict_C11"] == evaluate(load_claims()["C11"], r).verdict
    assert r["verdict_C11_quantity"] in r
