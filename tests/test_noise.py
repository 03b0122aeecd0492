"""rlbits.noise: exact gradient statistics against brute force, the two-batch estimator against Monte Carlo, SGD."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlbits import noise
from rlbits.language import make_language, softmax_rows
from rlbits.validate import ParameterError


@pytest.fixture(scope="module")
def lang():
    return make_language(K=6, frac_deterministic=0.5, support=3, seed=2)


def brute_force(lang, W):
    """Enumerate every (context, next token) pair: mean gradient, covariance, Hessian by finite differences."""
    K = lang.K
    Q = softmax_rows(W)
    grads, weights = [], []
    for c in range(K):
        for y in range(K):
            w = lang.stationary[c] * lang.P[c, y]
            if w == 0:
                continue
            g = np.zeros((K, K))
            g[c] = Q[c] - np.eye(K)[y]
            grads.append(g.ravel())
            weights.append(w)
    grads, weights = np.array(grads), np.array(weights)
    G = weights @ grads
    Sigma = (grads * weights[:, None]).T @ grads - np.outer(G, G)

    def mean_grad(w_flat):
        Qw = softmax_rows(w_flat.reshape(K, K))
        return (lang.stationary[:, None] * (Qw - lang.P)).ravel()

    h, n = 1e-5, K * K
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (mean_grad(W.ravel() + e) - mean_grad(W.ravel() - e)) / (2 * h)
    return G, Sigma, H


def test_exact_stats_match_brute_force(lang):
    W = np.random.default_rng(0).normal(size=(lang.K, lang.K))
    G, Sigma, H = brute_force(lang, W)
    s = noise.exact_gradient_stats(lang, W, by_context=True)
    assert s["G2"] == pytest.approx(G @ G, rel=1e-12)
    assert s["trace"] == pytest.approx(np.trace(Sigma), rel=1e-12)
    assert s["b_simple"] == pytest.approx(np.trace(Sigma) / (G @ G), rel=1e-12)
    assert s["b_noise"] == pytest.approx(np.trace(H @ Sigma) / (G @ H @ G), rel=1e-6)
    assert s["G2_rows"].sum() == pytest.approx(s["G2"]) and s["trace_rows"].sum() == pytest.approx(s["trace"])
    assert s["excess"] == pytest.approx(lang.excess_loss(W))


def test_trace_floor_is_the_trace_at_the_optimum(lang):
    W = np.log(np.maximum(lang.P, 1e-300))
    s = noise.exact_gradient_stats(lang, W)
    assert s["G2"] < 1e-20
    assert s["trace"] == pytest.approx(noise.trace_floor(lang), rel=1e-9)
    # uniform choice among `support` tokens in the random contexts: 1 - 1/support there, 0 elsewhere
    expected = lang.stationary[~lang.deterministic].sum() * (1 - 1 / 3)
    assert noise.trace_floor(lang) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(K=st.integers(2, 12), seed=st.integers(0, 10**6))
def test_control_language_noise_scale_is_K_minus_1(K, seed):
    ctrl = noise.deterministic_language(K, seed)
    assert np.allclose(ctrl.P.sum(axis=1), 1) and set(np.unique(ctrl.P)) == {0.0, 1.0}
    assert ctrl.entropy_rate() == 0.0 and np.allclose(ctrl.stationary, 1 / K)
    assert noise.trace_floor(ctrl) == 0.0
    W = np.random.default_rng(seed).normal(size=(K, K)) * 3
    assert noise.exact_gradient_stats(ctrl, W)["b_simple"] == pytest.approx(K - 1, rel=1e-9)


def test_batch_gradient_is_mean_of_per_example_gradients(lang):
    rng = np.random.default_rng(1)
    W = rng.normal(size=(lang.K, lang.K))
    Q = softmax_rows(W)
    ctx, nxt = lang.sample_pairs(rng, 50)
    direct = np.zeros_like(W)
    for c, y in zip(ctx, nxt):
        direct[c] += Q[c] - np.eye(lang.K)[y]
    N = np.zeros_like(W)
    np.add.at(N, (ctx, nxt), 1.0)
    assert np.allclose(noise.batch_gradient(Q, N), direct / 50, atol=1e-14)


@pytest.mark.parametrize("batch", [20, 1000])  # below and above the number of cells: inverse CDF, multinomial
def test_sample_counts_distribution(lang, batch):
    rng = np.random.default_rng(2)
    joint = noise.joint_distribution(lang)
    total = np.zeros(joint.size)
    for _ in range(200_000 // batch):
        N = noise.sample_counts(rng, joint, batch)
        assert N.sum() == batch and np.all(N.ravel()[joint == 0] == 0)
        total += N.ravel()
    freq = total / total.sum()
    se = np.sqrt(joint * (1 - joint) / total.sum())
    assert np.all(np.abs(freq - joint) <= 5 * se + 1e-12)


@settings(max_examples=50, deadline=None)
@given(G2=st.floats(0, 10), tr=st.floats(0, 100), bs=st.integers(1, 100), extra=st.integers(1, 1000))
def test_two_batch_formulas_invert_the_expectation(G2, tr, bs, extra):
    bb = bs + extra
    out = noise.two_batch_estimates(G2 + tr / bs, G2 + tr / bb, bs, bb)
    assert out["G2"] == pytest.approx(G2, abs=1e-9 * (1 + tr))
    assert out["trace"] == pytest.approx(tr, abs=1e-9 * (1 + tr + G2 * bb))


def test_estimator_is_unbiased(lang):
    W = np.random.default_rng(3).normal(size=(lang.K, lang.K))
    exact = noise.exact_gradient_stats(lang, W)
    est = noise.estimate_noise_scale(np.random.default_rng(4), lang, W, 8, 128, 3000)
    assert abs(est["G2"] - exact["G2"]) < 4 * est["G2_se"]
    assert abs(est["trace"] - exact["trace"]) < 4 * est["trace_se"]
    assert est["trace_se"] < 0.05 * exact["trace"]


def test_sgd_learns_and_respects_budget(lang):
    steps = noise.sgd_steps_to_target(np.random.default_rng(5), lang, 256, 20.0, 0.3, 5000)
    assert steps > 0
    again = noise.sgd_steps_to_target(np.random.default_rng(5), lang, 256, 20.0, 0.3, 5000)
    assert again == steps
    assert noise.sgd_steps_to_target(np.random.default_rng(5), lang, 256, 20.0, 1e-6, 3) == -1
    Ws = noise.sgd_path(np.random.default_rng(6), lang, 64, 5.0, [0, 10, 1000], decay_steps=50)
    ex = [lang.excess_loss(W) for W in Ws]
    assert np.allclose(Ws[0], 0) and ex[2] < ex[1] < ex[0]


def test_tradeoff_fit_recovers_parameters():
    B = np.array([1, 4, 16, 64, 256, 1024], dtype=float)
    S = noise.tradeoff_steps(B, 7.0, 300.0)
    fit = noise.fit_tradeoff(B, S)
    assert fit["s_min"] == pytest.approx(7.0) and fit["b_crit"] == pytest.approx(300.0)
    assert fit["e_min"] == pytest.approx(2100.0)
    with pytest.raises(ParameterError):
        noise.fit_tradeoff([1.0], [2.0])


def test_tradeoff_experiment_streams_and_search(lang):
    lrs = [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    small = noise.tradeoff_experiment(np.random.SeedSequence(9), lang, [16, 256], lrs, 0.5, 2, 5000)
    more = noise.tradeoff_experiment(np.random.SeedSequence(9), lang, [16, 256, 1024], lrs, 0.5, 2, 5000)
    assert np.array_equal(small["best_steps"], more["best_steps"][:2])
    # the full grid, run without caps on the same streams: the local search finds its minimum
    streams = np.random.SeedSequence(9).spawn(2)
    for i, B in enumerate([16, 256]):
        per_lr = streams[i].spawn(len(lrs))
        full = []
        for j, lr in enumerate(lrs):
            runs = [noise.sgd_steps_to_target(np.random.default_rng(r), lang, B, lr, 0.5, 5000)
                    for r in per_lr[j].spawn(2)]
            full.append(np.mean(runs) if min(runs) > 0 else np.inf)
        assert small["best_steps"][i] == min(full)
        assert small["best_lr"][i] == lrs[int(np.argmin(full))]
        # every evaluated score is the uncapped one or worse than the best
        ev = small["evaluated"][i]
        assert np.all((small["steps"][i][ev] == np.array(full)[ev]) | (small["steps"][i][ev] >= min(full)))
        assert ev.sum() < len(lrs) or i == 0


def test_reinforce_noise_scale_by_enumeration():
    rng = np.random.default_rng(7)
    for _ in range(5):
        q = rng.dirichlet(np.ones(20))
        grads = np.eye(20) - q
        grads[1:] = 0.0
        mean = q @ grads
        trace = q @ (grads**2).sum(axis=1) - mean @ mean
        assert noise.reinforce_noise_scale(q[0]) == pytest.approx(trace / (mean @ mean), rel=1e-10)
    assert noise.reinforce_noise_scale(1.0) == 0.0
    assert np.allclose(noise.reinforce_noise_scale(np.array([0.5, 0.25])), [1.0, 3.0])


def test_reinforce_matches_chapter_3_module():
    from rlbits import reinforce_gradient

    for p, V in [(0.01, 100), (0.3, 10), (0.9, 1000)]:
        assert noise.reinforce_noise_scale(p) == pytest.approx(reinforce_gradient.reinforce_stats(p, V)["noise_scale"])


def test_validation(lang):
    with pytest.raises(ParameterError, match="logit table"):
        noise.exact_gradient_stats(lang, np.zeros((3, 3)))
    with pytest.raises(ParameterError, match="b_big"):
        noise.two_batch_estimates(1.0, 1.0, 8, 8)
    with pytest.raises(ParameterError, match="lr"):
        noise.sgd_steps_to_target(np.random.default_rng(0), lang, 8, 0.0, 0.1, 10)
    with pytest.raises(ParameterError, match="p="):
        noise.reinforce_noise_scale(0.0)
    with pytest.raises(ParameterError, match="increasing"):
        noise.sgd_path(np.random.default_rng(0), lang, 8, 1.0, [5, 5])
    with pytest.raises(ParameterError, match="K="):
        noise.deterministic_language(1)


def test_b_simple_standard_error_matches_the_spread_of_repeats(lang):
    """The delta-method standard error of the two-batch B_simple against the spread of independent estimates."""
    W = np.random.default_rng(11).normal(size=(lang.K, lang.K))
    reps = [noise.estimate_noise_scale(np.random.default_rng(s), lang, W, 8, 128, 400) for s in range(60)]
    b = np.array([r["b_simple"] for r in reps])
    se = np.array([r["b_simple_se"] for r in reps])
    assert np.isfinite(se).all() and (se > 0).all()
    # the typical reported error is within 35% of the standard deviation of 60 independent estimates
    assert np.median(se) == pytest.approx(b.std(ddof=1), rel=0.35)


def test_tradeoff_fit_standard_error():
    B = np.array([1, 4, 16, 64, 256, 1024], dtype=float)
    exact = noise.fit_tradeoff(B, noise.tradeoff_steps(B, 7.0, 300.0))
    assert exact["b_crit_se"] == pytest.approx(0.0, abs=1e-6)  # a perfect fit has no residuals
    # multiplicative noise of 5% on the steps: the reported error covers the scatter of B_crit over repeats
    rng = np.random.default_rng(12)
    fits = [noise.fit_tradeoff(B, noise.tradeoff_steps(B, 7.0, 300.0) * np.exp(0.05 * rng.normal(size=B.size)))
            for _ in range(400)]
    b = np.array([f["b_crit"] for f in fits])
    assert np.median([f["b_crit_se"] for f in fits]) == pytest.approx(b.std(ddof=1), rel=0.35)
    assert np.isnan(noise.fit_tradeoff(B[:2], noise.tradeoff_steps(B[:2], 7.0, 300.0))["b_crit_se"])


@pytest.mark.parametrize("batch,lr,budget", [(16, 8.0, 4000), (4, 1.0, 2000), (4096, 64.0, 3000), (16, 256.0, 500),
                                             (64, 16.0, 600), (64, 16.0, 300), (64, 16.0, 1)])
def test_runs_in_lockstep_total_what_the_runs_in_turn_total(batch, lr, budget):
    lang = make_language(K=32, frac_deterministic=0.5, support=8, seed=0)
    seeds = np.random.SeedSequence(3).spawn(4)
    total = 0
    for r in seeds:  # the runs in turn, each capped at what is left of the budget
        s = noise.sgd_steps_to_target(np.random.default_rng(r), lang, batch, lr, 0.15, max(budget - total, 1))
        if s < 0:
            total = -1
            break
        total += s
    got = noise.sgd_total_steps_to_target([np.random.default_rng(r) for r in seeds], lang, batch, lr, 0.15, budget)
    assert got == total
    with pytest.raises(ParameterError, match="rngs"):
        noise.sgd_total_steps_to_target([], lang, batch, lr, 0.15, budget)
