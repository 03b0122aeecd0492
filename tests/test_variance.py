"""Unit and property tests for rlbits.variance (chapter 3): closed forms against brute-force sums and Monte Carlo."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbits import variance
from rlbits.validate import ParameterError


# ---------------------------------------------------------------- waiting times
@settings(max_examples=200, deadline=None, derandomize=True)
@given(p=st.floats(min_value=1e-7, max_value=0.99), c=st.floats(min_value=0.01, max_value=0.999))
def test_samples_for_success_is_the_smallest_n(p, c):
    n = variance.samples_for_success(p, c)
    assert 1 - (1 - p) ** n >= c - 1e-12
    if n > 1:
        assert 1 - (1 - p) ** (n - 1) < c + 1e-12


def test_essay_numbers_and_rule_of_thumb():
    p = 1e-5
    assert variance.samples_for_success(p, 0.95) == 299_572
    assert variance.samples_for_success(p, 0.90) == 230_258
    assert variance.samples_for_success(p, 0.99) == 460_515
    assert variance.rule_of_thumb(p, 0.95) == pytest.approx(math.log(20) / p, rel=1e-14)
    # the exact answer is within one sample of ln(1/(1-c)) / (p + p^2/2 + ...) and below the rule
    for c in (0.9, 0.95, 0.99):
        exact = variance.samples_for_success(p, c)
        assert exact <= variance.rule_of_thumb(p, c) + 1
        assert abs(exact - math.log1p(-c) / math.log1p(-p)) <= 1


def test_waiting_time_simulation_is_geometric_and_stream_stable():
    p = 0.01
    w = variance.simulate_waiting_times(p, np.random.SeedSequence(11), 20_000)
    assert abs(w.mean() * p - 1) < 5 * math.sqrt(1 - p) / math.sqrt(w.size)
    n = variance.samples_for_success(p, 0.95)
    assert abs(np.mean(w <= n) - variance.prob_at_least_one(p, n)) < 5 * math.sqrt(0.05 * 0.95 / w.size)
    # run i does not depend on how many runs are simulated
    w_small = variance.simulate_waiting_times(p, np.random.SeedSequence(11), 100)
    assert np.array_equal(w_small, w[:100])


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
       baseline=st.sampled_from(variance.BASELINES))
def test_closed_forms_match_brute_force(p, V, baseline):
    s = variance.reinforce_stats(p, V, baseline)
    m2, tr = _brute(p, V, s["b"])
    assert s["mean_norm2"] == pytest.approx(m2, rel=1e-9, abs=1e-15)
    assert s["trace_cov"] == pytest.approx(tr, rel=1e-8, abs=1e-14)


def test_noise_scale_without_baseline_is_exact():
    p = np.logspace(-8, -1e-3, 200)
    for V in (2, 10, 10**6):
        assert np.allclose(variance.reinforce_stats(p, V, "none")["noise_scale"], (1 - p) / p, rtol=1e-9)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(p=st.floats(min_value=1e-4, max_value=0.999), V=st.integers(min_value=2, max_value=10**6))
def test_optimal_baseline_is_optimal(p, V):
    best = variance.reinforce_stats(p, V, "optimal")["trace_cov"]
    for name in ("none", "mean"):
        assert best <= variance.reinforce_stats(p, V, name)["trace_cov"] * (1 + 1e-12)
    b = variance.optimal_baseline(p, V)
    # perturbing the optimum raises the trace: evaluate E|G|^2 by brute force on a small V
    if V <= 30:
        _, t0 = _brute(p, V, b)
        _, t1 = _brute(p, V, b + 0.01)
        _, t2 = _brute(p, V, b - 0.01)
        assert t0 <= t1 and t0 <= t2


def test_large_V_limits():
    p = np.array([1e-4, 0.1, 0.5, 0.9])
    V = 10**12
    assert np.allclose(variance.reinforce_stats(p, V, "mean")["noise_scale"],
                       (1 - 3 * p + 4 * p**2) / (p * (1 - p)), rtol=1e-6)
    assert np.allclose(variance.reinforce_stats(p, V, "optimal")["noise_scale"], (1 - p) / (p * (1 + p)), rtol=1e-6)
    assert np.allclose(variance.optimal_baseline(p, V), p * (1 - p) / (1 + p), rtol=1e-6)


@pytest.mark.parametrize("baseline", variance.BASELINES)
@pytest.mark.parametrize("p", [0.02, 0.5, 0.95])
def test_monte_carlo_matches_closed_form(baseline, p):
    V = 30
    est = variance.reinforce_gradient_mc(p, V, baseline, 400_000, np.random.default_rng(5))
    exact = variance.reinforce_stats(p, V, baseline)
    assert abs(est["mean_norm2"] - exact["mean_norm2"]) < 5 * est["mean_norm2_se"]
    assert abs(est["trace_cov"] - exact["trace_cov"]) < 5 * est["trace_cov_se"]
    assert est["trace_cov_se"] < 0.05 * exact["trace_cov"]  # the check has teeth


def test_monte_carlo_detects_a_wrong_baseline():
    # the estimator with b = 0 must disagree with the closed form for the mean baseline at p = 0.9
    est = variance.reinforce_gradient_mc(0.9, 30, "none", 400_000, np.random.default_rng(6))
    wrong = variance.reinforce_stats(0.9, 30, "mean")
    assert abs(est["trace_cov"] - wrong["trace_cov"]) > 20 * est["trace_cov_se"]


# ---------------------------------------------------------------- GRPO
def test_grpo_signal_prob_brute_force():
    from math import comb
    for G in (1, 2, 8, 33):
        for p in (0.0, 1e-5, 0.3, 0.5, 1.0):
            brute = sum(comb(G, k) * p**k * (1 - p) ** (G - k) for k in range(1, G))
            assert variance.grpo_signal_prob(p, G) == pytest.approx(brute, rel=1e-10, abs=1e-300)
    assert variance.grpo_signal_prob(1e-5, 8) == pytest.approx(8e-5, rel=1e-4)
    k = np.random.default_rng(3).binomial(8, 0.05, size=200_000)
    est = np.mean((k > 0) & (k < 8))
    exact = variance.grpo_signal_prob(0.05, 8)
    assert abs(est - exact) < 5 * math.sqrt(exact * (1 - exact) / k.size)


# ---------------------------------------------------------------- truncated support
def _start(V=60, rank=40, seed=0):
    theta = np.random.default_rng(seed).normal(size=V)
    return theta, int(np.argsort(-theta, kind="stable")[rank - 1])


def test_sampling_policy():
    theta, answer = _start()
    pol = variance.sampling_policy(theta, 10, 1.0)
    assert np.count_nonzero(pol) == 10 and pol.sum() == pytest.approx(1.0)
    assert pol[answer] == 0.0
    full = variance.sampling_policy(theta, theta.size, 0.5)
    z = np.exp(2 * (theta - theta.max()))
    assert np.allclose(full, z / z.sum())


def test_excluded_answer_never_learns():
    theta, answer = _start()
    for n in (10, 10**6, 10**12):
        t, r = variance.truncated_reinforce_run(theta, answer, 10, 1.0, 0.5, n, np.random.default_rng(1))
        assert list(t) == [0] and list(r) == [0.0]


def test_kept_answer_learns_and_event_sim_matches_per_sample_loop():
    theta, answer = _start()
    k, lr, T = 50, 1.0, 1.0
    reach = [variance.samples_to_reach(*variance.truncated_reinforce_run(theta, answer, k, T, lr, 10**6,
                                                                         np.random.default_rng(s)), 0.5)
             for s in range(200)]
    assert all(np.isfinite(reach))

    # an independent per-sample loop (no event skipping), same learner
    def per_sample(seed):
        th = theta.copy()
        rng = np.random.default_rng(seed)
        for n in range(1, 10**6):
            pol = variance.sampling_policy(th, k, T)
            if pol[answer] >= 0.5:
                return n - 1
            a = rng.choice(th.size, p=pol)
            if a == answer:
                keep = pol > 0
                step = -pol[keep]
                step[np.flatnonzero(keep) == answer] += 1.0
                th[keep] += lr * step / T
        return math.inf

    loop = [per_sample(1000 + s) for s in range(40)]
    # same distribution: compare means within a few standard errors of the difference
    se = math.sqrt(np.var(reach, ddof=1) / len(reach) + np.var(loop, ddof=1) / len(loop))
    assert abs(np.mean(reach) - np.mean(loop)) < 4 * se


def test_pass_rate_at_and_samples_to_reach():
    times, rates = np.array([0, 5, 9]), np.array([0.1, 0.4, 0.8])
    assert list(variance.pass_rate_at(times, rates, [0, 4, 5, 8, 9, 100])) == [0.1, 0.1, 0.4, 0.4, 0.8, 0.8]
    assert variance.samples_to_reach(times, rates, 0.5) == 9
    assert variance.samples_to_reach(times, rates, 0.9) == math.inf


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("call, match", [
    (lambda: variance.samples_for_success(0.0, 0.95), "p=0"),
    (lambda: variance.samples_for_success(0.1, 1.0), "c=1"),
    (lambda: variance.reinforce_stats(0.1, 1), "V=1"),
    (lambda: variance.reinforce_stats(0.1, 10, "median"), "baseline='median'"),
    (lambda: variance.grpo_signal_prob(0.1, 0), "G=0"),
    (lambda: variance.grpo_signal_prob(1.2, 8), "p=1.2"),
    (lambda: variance.sampling_policy(np.zeros(5), 6, 1.0), "k=6"),
    (lambda: variance.sampling_policy(np.zeros(5), 2, 0.0), "temperature=0"),
    (lambda: variance.prob_at_least_one(0.1, -1), "n=-1"),
])
def test_bad_inputs_raise(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_penalised_run_cannot_depend_on_an_excluded_answer():
    theta, _ = _start(V=80)
    order = np.argsort(-theta, kind="stable")
    runs = [variance.penalised_topk_run(theta, int(order[r]), 10, 0.5, 400, np.random.default_rng(4))
            for r in (60, 79)]
    (e1, a1, t1), (e2, a2, t2) = runs
    assert e1 is None and e2 is None
    assert np.array_equal(a1, a2) and np.array_equal(t1, t2)
    # with reward 0 for a fail (no penalty) nothing moves at all
    e0, a0, t0 = variance.penalised_topk_run(theta, int(order[60]), 10, 0.5, 400, np.random.default_rng(4),
                                             fail_reward=0.0)
    assert e0 is None and np.array_equal(t0, theta)


def test_penalised_run_lets_a_near_answer_in():
    theta, _ = _start(V=80)
    order = np.argsort(-theta, kind="stable")
    entries = [variance.penalised_topk_run(theta, int(order[10]), 10, 0.5, 5000, np.random.default_rng(s))[0]
               for s in range(5)]
    assert all(e is not None for e in entries)
    # the logits' sum over the kept set is conserved by each update (the score sums to zero)
    e, a, th = variance.penalised_topk_run(theta, int(order[70]), 10, 0.5, 50, np.random.default_rng(0))
    assert th.sum() == pytest.approx(theta.sum(), abs=1e-9)


def test_samples_for_success_finishes_at_the_edges_of_the_range():
    """Issue 11 item 1: at p <= ~1e-21 the old correction loop decremented a float that no longer changed (a hang).

    Run in a subprocess with a time limit, so a regression fails instead of hanging the suite.
    """
    import subprocess
    import sys

    code = ("from rlbits import variance as v\n"
            "for p in (1e-300, 5e-324, 1e-21, 1 - 1e-16):\n"
            "    for c in (1e-300, 0.5, 0.95, 0.99, 1 - 1e-16):\n"
            "        print(p, c, v.samples_for_success(p, c))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    got = {(float(p), float(c)): int(n) for p, c, n in (line.split() for line in proc.stdout.splitlines())}
    # the small-p limit ln(1/(1-c))/p, to 1e-12 relative
    assert got[(1e-300, 0.95)] == pytest.approx(-math.log1p(-0.95) / 1e-300, rel=1e-12)
    assert got[(1e-21, 0.99)] == pytest.approx(-math.log1p(-0.99) / 1e-21, rel=1e-12)
    assert got[(1 - 1e-16, 0.95)] == 1 and got[(1 - 1e-16, 1 - 1e-16)] <= 3
    assert got[(1e-300, 1e-300)] == 1
    # exact smallest integers where floats can tell n from n - 1 (the values chapter 3 records)
    assert variance.samples_for_success(1e-5, 0.95) == 299_572
    assert variance.samples_for_success(1e-21, 0.5) > variance.samples_for_success(1e-21, 0.5 - 1e-9)
