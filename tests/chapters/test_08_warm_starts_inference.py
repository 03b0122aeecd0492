"""Chapter 8's recorded results against expectations computed here independently (plain Python, math, mpmath)."""

import math

import mpmath
import pytest

pytestmark = pytest.mark.book
STEM = "08_warm_starts_inference"




def sl_path(V, lr, p_start, p_target):
    """SL on the two-logit state, written out from scratch: gap += lr (1 - p) V / (V - 1)."""
    gap = math.log(p_start / (1 - p_start)) + math.log(V - 1)
    p = lambda g: 1 / (1 + (V - 1) * math.exp(-g))  # noqa: E731
    path = [p(gap)]
    while path[-1] < p_target:
        gap += lr * (1 - path[-1]) * V / (V - 1)
        path.append(p(gap))
    return path


def test_warm_start_levels_recomputed(r):
    V, lr, target = r["V"], r["lr"], r["p_target"]
    assert (V, lr, target) == (100_000, 0.1, 0.9)
    previous = None
    for j in range(r["n_warm_levels"]):
        p0 = r[f"warm{j}_p0"]
        path = sl_path(V, lr, p0, target)
        mean = sum(1 / q for q in path[:-1])
        var = sum((1 - q) / q**2 for q in path[:-1])
        assert r[f"warm{j}_rl_samples_to_target"] == pytest.approx(mean, rel=1e-9)
        # the Monte Carlo mean of n_runs independent runs is within 5 standard errors
        assert abs(r[f"warm{j}_rl_samples_mc_mean"] - mean) < 5 * math.sqrt(var / r["n_runs"])
        # the SFT phase: the number of SL steps from 1/V to the level
        sft = r[f"warm{j}_sft_samples"]
        if j == 0:
            assert sft == 0 and p0 == pytest.approx(1 / V)
        else:
            assert len(sl_path(V, lr, 1 / V, p0 * (1 - 1e-12))) - 1 == sft
        assert r[f"warm{j}_total_samples"] == pytest.approx(sft + mean, rel=1e-9)
        bits = math.log2(path[-1] * V)
        assert r[f"warm{j}_bits_per_flop"] == pytest.approx(bits / (6 * V * (sft + mean)), rel=1e-9)
        if previous is not None:
            assert r[f"warm{j}_total_samples"] < previous  # every warmer start is cheaper in total
        previous = r[f"warm{j}_total_samples"]
    # cold start: about 1/(lr p0) samples
    assert r["rl_scratch_times_p0_lr"] == pytest.approx(1.0, abs=0.1)
    assert r["warm_speedup_best"] > 1000
    assert r["sl_only_samples_to_target"] == len(sl_path(V, lr, 1 / V, target)) - 1


def test_passk_estimators(r):
    n, p, k = r["n_attempts"], r["p_single"], r["k_half"]
    exact = 1 - (1 - p) ** k
    assert r["passk_exact_at_k_half"] == pytest.approx(exact, rel=1e-12)
    # the plug-in estimator's exact mean, by summing the binomial pmf with exact integers
    naive = sum(math.comb(n, c) * p**c * (1 - p) ** (n - c) * (1 - (1 - c / n) ** k) for c in range(n + 1))
    assert r["passk_naive_mean_at_k_half"] == pytest.approx(naive, rel=1e-9)
    assert r["passk_naive_rel_bias_at_k_half"] == pytest.approx(1 - naive / exact, rel=1e-9)
    assert r["passk_unbiased_mc_at_k_half"] == pytest.approx(exact, abs=0.02)


def test_any_of_k(r):
    p = r["p_single"]
    assert r["k_star"] == pytest.approx(math.log(2) / -math.log1p(-p), rel=1e-12)
    H = lambda q: -q * math.log2(q) - (1 - q) * math.log2(1 - q)  # noqa: E731
    k = round(r["k_star"])
    assert r["any_of_k_bits_per_episode"] == pytest.approx(H(1 - (1 - p) ** k), rel=1e-9)
    assert r["any_of_k_bits_per_attempt"] == pytest.approx(H(1 - (1 - p) ** k) / k, rel=1e-9)
    assert r["single_attempt_bits"] == pytest.approx(H(p), rel=1e-12)
    assert r["any_of_k_attempt_over_single"] < 1


def test_beta_population(r):
    a, b = r["beta_a"], r["beta_b"]
    assert r["passk_fitted_exponent"] == pytest.approx(a, abs=0.02)
    assert r["passk_theory_prefactor"] == pytest.approx(math.gamma(a + b) / math.gamma(b), rel=1e-12)
    # the fitted prefactor is near the asymptotic one (finite-k corrections allowed)
    assert r["passk_fit_prefactor"] == pytest.approx(r["passk_theory_prefactor"], rel=0.15)
    assert r["beta_sim_max_z"] < 5
    assert r["passk_exponent_max_abs_error_sweep"] < 0.05
    # independent check of the local slope at k = 1e6 in high precision
    mpmath.mp.dps = 40
    f = lambda kk: -mpmath.log(1 - mpmath.beta(a, b + kk) / mpmath.beta(a, b))  # noqa: E731
    slope = -(mpmath.log(f(mpmath.mpf(2e6))) - mpmath.log(f(mpmath.mpf(5e5)))) / mpmath.log(4)
    assert float(slope) == pytest.approx(a, abs=0.02)


def test_verdicts(r):
    assert r["verdict_C12"] == "depends on the definition"
    assert r["verdict_C24"] == "holds"
    for claim in ("C12", "C24"):
        assert r[f"verdict_{claim}_quantity"] in r


def test_any_of_k_costs(r):
    V, lr, target = r["V"], r["lr"], r["p_target"]
    path = sl_path(V, lr, r["warm0_p0"], target)[:-1]
    single = sum(1 / q for q in path)
    assert r["anyk_episodes_k1"] == pytest.approx(single, rel=1e-9)
    for k in (100, 10_000):
        episodes = sum(1 / (1 - (1 - q) ** k) for q in path)
        assert r[f"anyk_episodes_k{k}"] == pytest.approx(episodes, rel=1e-9)
        assert r[f"anyk_attempts_over_single_k{k}"] == pytest.approx(k * episodes / single, rel=1e-9)
        assert r[f"anyk_attempts_over_single_k{k}"] >= 1
    assert r["anyk_mc_episodes_mean"] == pytest.approx(r["anyk_exact_episodes_mean"], rel=0.02)


def test_best_level_aliases_follow_the_level_list(r):
    """The prose quotes the highest warm start as warmbest_*, whatever the number of levels."""
    last = r["n_warm_levels"] - 1
    assert r["warmbest_p0"] == r[f"warm{last}_p0"]
    assert r["warmbest_sft_samples"] == r[f"warm{last}_sft_samples"]
    assert r["warmbest_p0"] == max(r[f"warm{j}_p0"] for j in range(last + 1))
