"""Unit and property tests of rlbits.strategies (chapter 12: a shared softmax over strategies, pass@k)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as hst

from rlbits import strategies as st
from rlbits.validate import ParameterError


def brute_estimator(n, c, k):
    """1 - C(n-c, k) / C(n, k) with exact integers."""
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


# ---------------------------------------------------------------- population and policies

def test_population_structure():
    pop = st.make_population(np.random.default_rng(0), n_problems=500, heuristic_share=0.3, n_junk=3)
    assert pop.solve.shape == (5, 500) and pop.n_strategies == 5
    assert np.all(pop.solve[st.HEURISTIC][~pop.heuristic_applies] == 0)
    assert np.all(pop.solve[st.HEURISTIC][pop.heuristic_applies] > 0)
    assert np.all(pop.solve[2:] == 0)
    assert abs(pop.heuristic_applies.mean() - 0.3) < 0.07
    # Beta(7, 3) has mean 0.7
    assert abs(pop.mean_rates()[st.GENERAL] - 0.7) < 0.03
    assert np.all(pop.mean_rates(~pop.heuristic_applies)[st.HEURISTIC] == 0)
    with pytest.raises(ParameterError, match="selects no problem"):
        pop.mean_rates(np.zeros(500, dtype=bool))


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_problems=0), "n_problems=0"),
    (dict(heuristic_share=1.5), "heuristic_share=1.5"),
    (dict(n_junk=-1), "n_junk=-1"),
    (dict(general_beta=(0.0, 1.0)), "general_beta"),
])
def test_population_rejects_bad_input(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        st.make_population(np.random.default_rng(0), **kwargs)


def test_base_logits():
    pi = st.softmax(st.base_logits(0.2, 1e-3, 8))
    assert pi[0] == pytest.approx(0.2, rel=1e-12) and pi[1] == pytest.approx(1e-3, rel=1e-12)
    assert np.allclose(pi[2:], (1 - 0.201) / 8, rtol=1e-12)
    with pytest.raises(ParameterError, match="p_general=0"):
        st.base_logits(0.2, 0.0, 8)
    with pytest.raises(ParameterError, match="must be < 1"):
        st.base_logits(0.6, 0.5, 8)
    with pytest.raises(ParameterError, match="must be 1"):
        st.base_logits(0.6, 0.3, 0)


def test_entropy_gradient_matches_finite_differences():
    z = np.array([0.3, -1.2, 0.5, 2.0])

    def H(v):
        p = st.softmax(v)
        return -(p * np.log(p)).sum()

    eps = 1e-6
    fd = np.array([(H(z + eps * e) - H(z - eps * e)) / (2 * eps) for e in np.eye(4)])
    assert np.allclose(st.entropy_gradient(z), fd, atol=1e-8)


def test_warm_start_raises_the_trained_strategy():
    z = st.base_logits(0.2, 1e-3, 8)
    probs = [st.softmax(st.warm_start(z, st.GENERAL, t, 0.5))[st.GENERAL] for t in range(10)]
    assert probs[0] == pytest.approx(1e-3)
    assert all(b > a for a, b in zip(probs, probs[1:]))
    with pytest.raises(ParameterError, match="strategy=10"):
        st.warm_start(z, 10, 1, 0.5)


# ---------------------------------------------------------------- training dynamics

def test_expected_update_by_monte_carlo():
    """One REINFORCE step, averaged over many independent runs, matches lr (B-1)/B pi (R - Rbar)."""
    z0 = np.log(np.array([0.5, 0.2, 0.3]))
    R = np.array([0.6, 0.9, 0.0])
    B, lr, runs = 4, 1.0, 40_000
    res = st.train_reinforce(z0, R, seeds=np.random.SeedSequence(7).spawn(runs), steps=1, batch=B, lr=lr)
    delta = res.logits - z0
    want = st.expected_update(z0, R, lr, B)
    se = delta.std(axis=0) / math.sqrt(runs)
    assert np.all(np.abs(delta.mean(axis=0) - want) < 4 * se + 1e-12)
    # the (B - 1)/B factor matters: the update without it lies outside the error bars
    naive = lr * st.softmax(z0) * (R - st.softmax(z0) @ R)
    assert np.any(np.abs(delta.mean(axis=0) - naive) > 4 * se)
    # the advantages sum to zero, so the logits' sum never changes
    assert np.allclose(delta.sum(axis=1), 0.0, atol=1e-12)


def test_runs_do_not_depend_on_batching_or_chunking():
    z0 = st.base_logits(0.2, 0.01, 4)
    R = np.array([0.45, 0.7, 0, 0, 0, 0])
    ss = np.random.SeedSequence(3).spawn(5)
    together = st.train_reinforce(z0, R, seeds=ss, steps=120, batch=8, chunk=50)
    alone = st.train_reinforce(z0, R, seeds=[ss[3]], steps=120, batch=8, chunk=7)
    assert np.array_equal(together.logits[3], alone.logits[0])
    assert np.array_equal(together.probs[:, 3], alone.probs[:, 0])


def test_stochastic_mean_follows_mean_field():
    z0 = st.base_logits(0.3, 0.2, 2)
    R = np.array([0.5, 0.8, 0.0, 0.0])
    res = st.train_reinforce(z0, R, seeds=np.random.SeedSequence(11).spawn(400), steps=60, batch=64, lr=0.2,
                             record_every=60)
    mf = st.mean_field(z0, R, steps=60, batch=64, lr=0.2)
    assert np.allclose(res.final_probs.mean(axis=0), mf[-1, 0], atol=0.01)


def test_curriculum_and_entropy_bonus_in_mean_field():
    z0 = st.base_logits(0.2, 1e-3, 4)
    R = np.array([0.45, 0.7, 0, 0, 0, 0])
    hard = np.array([0.0, 0.7, 0, 0, 0, 0])
    plain = st.mean_field(z0, R, steps=300)[-1, 0]
    cur = st.mean_field(z0, R, steps=300, curriculum_rates=hard, curriculum_steps=300)[-1, 0]
    ent = st.mean_field(z0, R, steps=300, entropy_bonus=0.5)[-1, 0]
    assert cur[st.HEURISTIC] < st.softmax(z0)[st.HEURISTIC] < plain[st.HEURISTIC]
    assert cur[st.GENERAL] > plain[st.GENERAL] and ent[st.GENERAL] > plain[st.GENERAL]


@pytest.mark.parametrize("p_min", [1e-2, 1e-3])
def test_escape_steps_against_the_recursion(p_min):
    R = np.array([0.4, 0.7])
    lr, B = 0.5, 32
    t_closed = st.escape_steps(p_min, R[1] - R[0], lr * (B - 1) / B)
    traj = st.mean_field(np.log([1 - p_min, p_min]), R, steps=int(1.3 * t_closed), batch=B, lr=lr)
    t_rec = int(np.argmax(traj[:, 0, 1] >= 0.5))
    assert t_rec == pytest.approx(t_closed, rel=0.02)
    # the leading-order estimate 1/(2 lr' delta p_min)
    assert t_closed == pytest.approx(1 / (2 * lr * (B - 1) / B * 0.3 * p_min), rel=0.1)


def test_escape_steps_validation():
    with pytest.raises(ParameterError, match="p_min=0"):
        st.escape_steps(0.0, 0.1, 1.0)
    with pytest.raises(ParameterError, match="delta=-0.1"):
        st.escape_steps(0.1, -0.1, 1.0)


def test_train_validation():
    z0 = st.base_logits(0.2, 0.1, 2)
    R = np.array([0.4, 0.7, 0, 0])
    ss = np.random.SeedSequence(0).spawn(2)
    with pytest.raises(ParameterError, match="batch=1"):
        st.train_reinforce(z0, R, seeds=ss, steps=1, batch=1)
    with pytest.raises(ParameterError, match="rates"):
        st.train_reinforce(z0, np.array([0.4, 1.7, 0, 0]), seeds=ss, steps=1)
    with pytest.raises(ParameterError, match="curriculum_rates"):
        st.train_reinforce(z0, R, seeds=ss, steps=5, curriculum_steps=3)
    with pytest.raises(ParameterError, match="seeds is empty"):
        st.train_reinforce(z0, R, seeds=[], steps=1)


# ---------------------------------------------------------------- pass@k

@pytest.mark.parametrize("n", [1, 5, 20, 64])
def test_estimator_table_matches_exact_binomials(n):
    ks = np.arange(1, n + 1)
    for c in range(n + 1):
        got = st.pass_at_k_from_counts(n, np.array([c]), ks)
        want = [brute_estimator(n, c, int(k)) for k in ks]
        assert np.allclose(got, want, rtol=1e-12, atol=1e-14)


def test_estimator_table_matches_rlbits_passk():
    passk = pytest.importorskip("rlbits.passk")
    n = 50
    c = np.arange(n + 1)
    for k in (1, 7, 25, 50):
        want = np.mean(passk.pass_at_k_unbiased(n, c, k))
        assert st.pass_at_k_from_counts(n, c, np.array([k]))[0] == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("q", [0.01, 0.2, 0.77])
def test_estimator_is_unbiased(q):
    """Summing the estimator over the Binomial(n, q) pmf gives 1 - (1 - q)^k exactly."""
    n = 30
    pmf = np.array([math.comb(n, c) * q**c * (1 - q) ** (n - c) for c in range(n + 1)])
    table = np.array([st.pass_at_k_from_counts(n, np.array([c]), np.arange(1, n + 1)) for c in range(n + 1)])
    assert np.allclose(pmf @ table, 1 - (1 - q) ** np.arange(1, n + 1), rtol=1e-10)


def test_pass_at_k_exact_brute_force():
    rng = np.random.default_rng(5)
    solve = rng.random((3, 7))
    probs = rng.dirichlet(np.ones(3), size=4)
    ks = np.array([1, 2, 10, 100])
    q = probs @ solve
    want = [np.mean(1 - (1 - q) ** k) for k in ks]
    assert np.allclose(st.pass_at_k_exact(probs, solve, ks), want, rtol=1e-12)
    # pass@1 is the mean pass rate: sum_s pi_s R_s
    assert st.pass_at_k_exact(probs[:1], solve, [1])[0] == pytest.approx(probs[0] @ solve.mean(axis=1))


def test_sampled_counts_estimate_pass_at_k():
    pop = st.make_population(np.random.default_rng(1), n_problems=100, n_junk=2)
    probs = st.softmax(np.tile(st.base_logits(0.3, 0.05, 2), (20, 1)))
    ks = np.arange(1, 257)
    counts = st.sample_correct_counts(probs, pop.solve, 256, np.random.SeedSequence(2).spawn(20))
    est = st.pass_at_k_from_counts(256, counts, ks)
    assert np.max(np.abs(est - st.pass_at_k_exact(probs, pop.solve, ks))) < 0.02
    with pytest.raises(ParameterError, match="one seed per policy"):
        st.sample_correct_counts(probs, pop.solve, 10, np.random.SeedSequence(2).spawn(3))


@settings(max_examples=60, deadline=None)
@given(n=hst.integers(1, 200), data=hst.data())
def test_estimator_properties(n, data):
    counts = np.array(data.draw(hst.lists(hst.integers(0, n), min_size=1, max_size=20)))
    curve = st.pass_at_k_from_counts(n, counts, np.arange(1, n + 1))
    assert np.all(curve >= -1e-15) and np.all(curve <= 1 + 1e-15)
    assert np.all(np.diff(curve) >= -1e-12)  # monotone in k
    assert curve[0] == pytest.approx(counts.mean() / n, rel=1e-12, abs=1e-15)  # pass@1 = c/n
    assert curve[-1] == pytest.approx(np.mean(counts > 0))  # pass@n = any success


def test_estimator_validation():
    with pytest.raises(ParameterError, match="counts"):
        st.pass_at_k_from_counts(10, np.array([11]), np.array([1]))
    with pytest.raises(ParameterError, match="ks"):
        st.pass_at_k_from_counts(10, np.array([1]), np.array([11]))
    with pytest.raises(ParameterError, match="ks contains 0.0"):
        st.pass_at_k_exact(np.array([[1.0]]), np.array([[0.5]]), [0])


def test_crossover_k():
    ks = np.array([1, 2, 4, 8, 16])
    trained = np.array([0.5, 0.55, 0.56, 0.56, 0.56])
    base = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    assert st.crossover_k(base, trained, ks) == 8
    # base never catches up, or is ahead from the start
    assert st.crossover_k(base * 0.5, trained, ks) is None
    assert st.crossover_k(trained + 0.1, trained, ks) is None
    # a temporary lead of the base does not count: the crossover is where it stays ahead
    base2 = np.array([0.1, 0.6, 0.5, 0.7, 0.9])
    assert st.crossover_k(base2, trained, ks) == 8
    # both saturated at 1: a tie, not a crossover
    assert st.crossover_k(np.array([0.2, 1.0, 1.0]), np.array([0.9, 1.0, 1.0 - 1e-12]), np.array([1, 2, 3])) is None
    with pytest.raises(ParameterError, match="1-d arrays"):
        st.crossover_k(base, trained[:3], ks)


def test_per_run_settings_match_separate_calls():
    """Runs with different starts, entropy bonuses and curricula batched together equal separate calls."""
    R = np.array([0.45, 0.7, 0, 0, 0, 0])
    hard = np.array([0.0, 0.7, 0, 0, 0, 0])
    z_a = st.base_logits(0.2, 0.01, 4)
    z_b = st.warm_start(z_a, st.GENERAL, 3, 0.5)
    ss = np.random.SeedSequence(21).spawn(3)
    kw = dict(steps=80, batch=8, lr=0.5, curriculum_rates=hard)
    both = st.train_reinforce(np.stack([z_a, z_b, z_a]), R, seeds=ss, entropy_bonus=[0.0, 0.0, 0.3],
                              curriculum_steps=[40, 0, 0], **kw)
    sep = [st.train_reinforce(z_a, R, seeds=ss[:1], curriculum_steps=40, **kw),
           st.train_reinforce(z_b, R, seeds=ss[1:2], **kw),
           st.train_reinforce(z_a, R, seeds=ss[2:], entropy_bonus=0.3, **kw)]
    for j, res in enumerate(sep):
        assert np.array_equal(both.subset([j]).logits, res.logits)
        assert np.array_equal(both.subset(slice(j, j + 1)).rewarded, res.rewarded)
    with pytest.raises(ParameterError, match="entropy_bonus has shape"):
        st.train_reinforce(z_a, R, seeds=ss, entropy_bonus=[0.1, 0.2], **kw)
    with pytest.raises(ParameterError, match="curriculum_steps=81"):
        st.train_reinforce(z_a, R, seeds=ss, curriculum_steps=81, **kw)


def test_half_point():
    assert st.half_point([0.01, 0.1], [0.0, 1.0]) == pytest.approx(math.sqrt(0.001))
    assert st.half_point([1, 2, 4], [0.1, 0.5, 0.9]) == pytest.approx(2.0)
    assert st.half_point([1, 2], [0.1, 0.4]) is None
    assert st.half_point([1, 2], [0.6, 0.9]) is None
    with pytest.raises(ParameterError):
        st.half_point([2, 1], [0.1, 0.9])


def _reference_train(z0, rates, cur_rates, cur_steps, beta, seeds, steps, batch, lr):
    """The plain loop (one run at a time, intp counts, scipy's softmax): what train_reinforce must reproduce."""
    from scipy import special

    out = []
    for j, seed in enumerate(seeds):
        rng, z, S = np.random.default_rng(seed), np.array(z0[j], float), len(rates)
        u = rng.random((steps, batch, 2))
        for t in range(steps):
            R = cur_rates if t < cur_steps[j] else rates
            pi = special.softmax(z)
            cum = np.cumsum(pi)
            strat = np.zeros(batch, dtype=np.intp)
            for s in range(S - 1):
                strat += u[t, :, 0] >= cum[s]
            reward = (u[t, :, 1] < R[strat]).astype(float)
            adv = reward - reward.mean()
            step = np.bincount(strat, weights=adv, minlength=S) / batch
            if beta.any():
                logpi = np.log(np.maximum(pi, 1e-300))
                step = step + beta[j] * (-pi * (logpi + (-(pi * logpi).sum())))
            z = z + lr * step
        out.append(z)
    return np.array(out)


@pytest.mark.parametrize("S", [10, 300])  # 300: more strategies than a uint8 count holds
def test_train_reinforce_is_the_plain_loop_bit_for_bit(S):
    rng = np.random.default_rng(S)
    z0, rates = rng.normal(0, 1, (3, S)), rng.uniform(0, 1, S)
    cur_rates, cur_steps, beta = rates[::-1].copy(), np.array([0, 7, 30]), np.array([0.0, 0.3, 0.0])
    seeds = np.random.SeedSequence(5).spawn(3)
    res = st.train_reinforce(z0, rates, seeds=seeds, steps=30, batch=16, lr=0.5, entropy_bonus=beta,
                             curriculum_rates=cur_rates, curriculum_steps=cur_steps, chunk=7)
    ref = _reference_train(z0, rates, cur_rates, cur_steps, beta, seeds, 30, 16, 0.5)
    assert np.array_equal(res.logits, ref)
