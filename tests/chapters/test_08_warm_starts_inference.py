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


def _neg_log_pass(kk, a, b):
    """-log pass@k of the Beta(a, b) population in high precision, straight from the Beta functions."""
    with mpmath.workdps(60 + int(math.log10(kk + 1))):
        kk = mpmath.mpf(kk)
        F = mpmath.exp(mpmath.loggamma(b + kk) - mpmath.loggamma(a + b + kk) - mpmath.loggamma(b)
                       + mpmath.loggamma(a + b))
        return -mpmath.log(1 - F)


def _local_slope(kk, a, b, h=1e-6):
    """-d log(-log pass@k) / d log k by a central difference in log k."""
    with mpmath.workdps(60 + int(math.log10(kk + 1))):
        up, down = _neg_log_pass(kk * mpmath.exp(h), a, b), _neg_log_pass(kk * mpmath.exp(-h), a, b)
        return float(-(mpmath.log(up) - mpmath.log(down)) / (2 * h))


def _lsq_slope(xs, ys):
    """Least-squares slope of ys on xs, written out."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def test_beta_population(r):
    a, b = r["beta_a"], r["beta_b"]
    assert r["passk_theory_prefactor"] == pytest.approx(math.gamma(a + b) / math.gamma(b), rel=1e-12)
    assert r["beta_sim_max_z"] < 5
    # the fit over [1e4, 1e8] and over the simulated range [1, n], recomputed from the Beta functions
    ks = [10 ** (4 + 4 * i / 40) for i in range(41)]
    slope = _lsq_slope([math.log(k) for k in ks], [float(mpmath.log(_neg_log_pass(k, a, b))) for k in ks])
    assert r["passk_fitted_exponent"] == pytest.approx(-slope, rel=1e-6)
    assert r["passk_exponent_rel_error"] == pytest.approx(abs(-slope / a - 1), rel=1e-6)
    n = r["n_attempts"]
    ks = [10 ** (math.log10(n) * i / 24) for i in range(25)]
    slope_lo = _lsq_slope([math.log(k) for k in ks], [float(mpmath.log(_neg_log_pass(k, a, b))) for k in ks])
    assert r["passk_exponent_simulated_range"] == pytest.approx(-slope_lo, rel=1e-6)
    # at the default Beta(0.3, 3) the simulated range is far from the law: the review's 0.39
    assert r["passk_exponent_simulated_range"] == pytest.approx(0.388, abs=0.005)


def test_power_law_onset(r):
    """The onset: the local exponent is within 5% of a from there on, and not one grid step (10^0.2) below."""
    a, b, onset = r["beta_a"], r["beta_b"], r["passk_law_onset_k"]
    for kk in (onset, onset * 10, onset * 1e3, onset * 1e6):
        assert abs(_local_slope(kk, a, b) / a - 1) <= 0.05 + 1e-6
    assert abs(_local_slope(onset / 10**0.2, a, b) / a - 1) > 0.05
    assert r["passk_pass_at_onset"] == pytest.approx(float(mpmath.exp(-_neg_log_pass(onset, a, b))), rel=1e-9)
    # the sweep's smallest a (0.05) begins far out; the largest (2) within a few hundred attempts
    assert r["passk_sweep_onset_at_a_min"] > 1e15 and r["passk_sweep_onset_at_a_max"] < 1e3
    assert abs(_local_slope(r["passk_sweep_onset_at_a_min"], 0.05, b) / 0.05 - 1) <= 0.05 + 1e-6


def test_verdict_inputs(r):
    """The quantities C12 and C24 are decided on, recomputed (no verdict literal is compared)."""
    p = r["p_single"]
    H = lambda q: -q * math.log2(q) - (1 - q) * math.log2(1 - q)  # noqa: E731
    k = round(math.log(2) / -math.log1p(-p))
    assert r["any_of_k_episode_over_single"] == pytest.approx(H(1 - (1 - p) ** k) / H(p), rel=1e-9)
    assert r["any_of_k_attempt_over_single"] == pytest.approx(H(1 - (1 - p) ** k) / k / H(p), rel=1e-9)
    last = r["n_warm_levels"] - 1
    assert r["warm_speedup_best"] == pytest.approx(r["warm0_total_samples"] / r[f"warm{last}_total_samples"],
                                                   rel=1e-12)
    V, lr, target = r["V"], r["lr"], r["p_target"]
    gain = []
    for j in (0, last):
        path = sl_path(V, lr, r[f"warm{j}_p0"], target)
        gain.append(math.log2(path[-1] / path[0]) / sum(1 / q for q in path[:-1]))
    assert r["rl_bits_per_sample_gain_best"] == pytest.approx(gain[1] / gain[0], rel=1e-6)
    for claim in ("C12", "C24"):
        assert r[f"verdict_{claim}_quantity"] in r
        assert r[f"verdict_{claim}_premise"] == 1  # the default run is at the claims' premise


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


def test_exercise_solutions(r):
    """The numbers the exercises' solutions quote, recomputed at the exercises' settings."""
    V, target = r["V"], r["p_target"]
    # exercise 1: lr = 1 from scratch; the exact mean is the sum of 1/p_j along SL's path
    path = sl_path(V, 1.0, 1.0 / V, target)
    exact = sum(1 / p for p in path[:-1])
    assert r["ex1_rl_samples"] == pytest.approx(exact, rel=1e-9)
    assert r["ex1_rl_waits"] == len(path) - 1
    assert r["ex1_geometric_sum"] == pytest.approx(V / (1 - math.exp(-1.0)))
    assert r["ex1_first_wait_share"] == pytest.approx(V / exact, rel=1e-9)
    # the integral of eq-n-rl written out: (V-1)/(eta V) [F(p_T) - F(p_0)], F(p) = -1/p + 1/(1-p) + 2 log(p/(1-p))
    F = lambda p: -1 / p + 1 / (1 - p) + 2 * math.log(p / (1 - p))  # noqa: E731
    integral = (V - 1) / V * (F(path[-1]) - F(path[0]))
    assert r["ex1_integral_over_exact"] == pytest.approx(integral / exact, rel=1e-6)
    assert r["ex1_integral_over_exact"] == pytest.approx(1 - math.exp(-1.0), rel=0.01)  # the step's share, near V
    # exercise 2: in the law's regime, halving -log pass@k takes k times 2^(1/a)
    assert r["ex2_halving_factor_law"] == 2**20
    b = r["beta_b"]
    for k, name in ((r["ex2_halving_k_from_1"], "from 1"), (r["ex2_halving_factor_from_n"] * r["n_attempts"], "n")):
        k0 = 1.0 if name == "from 1" else float(r["n_attempts"])
        assert _neg_log_pass(k, 0.05, b) == pytest.approx(_neg_log_pass(k0, 0.05, b) / 2, rel=1e-6)
    assert r["ex2_onset_small"] > 1e8 and r["ex2_onset_one"] < 1e4
    # exercise 3: k* = ln 2 / -ln(1 - p); one bit per episode over k* attempts
    p = r["ex3_p"]
    k_star = math.log(2) / -math.log1p(-p)
    assert r["ex3_k_star"] == pytest.approx(k_star)
    k = round(k_star)
    q = 1 - (1 - p) ** k
    h = lambda x: -x * math.log2(x) - (1 - x) * math.log2(1 - x)  # noqa: E731
    assert r["ex3_bits_per_episode"] == pytest.approx(h(q), rel=1e-9)
    assert r["ex3_bits_per_attempt"] == pytest.approx(h(q) / k, rel=1e-9)
    assert r["ex3_attempt_over_single"] == pytest.approx(h(q) / k / h(p), rel=1e-9)
