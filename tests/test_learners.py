"""The fast engine (rlbits.learners) against the plain reference (rlbits.reference): exact shortcuts pathwise,
exact-in-distribution shortcuts by two-sample Kolmogorov-Smirnov tests with fixed seeds."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp

from rlbits import learners as L
from rlbits import reference as ref
from rlbits.validate import ParameterError


def ks_pvalue(a, b):
    """Two-sample KS statistic and p-value (:func:`scipy.stats.ks_2samp`; conservative for discrete data)."""
    res = ks_2samp(a, b)
    return float(res.statistic), float(res.pvalue)


THR = [0.5, 0.9]


# ------------------------------------------------------------------------------------------------ pass rate, SL

@given(st.floats(-50, 80), st.integers(2, 10**7))
@settings(max_examples=200, deadline=None)
def test_pass_rate_complementary_and_accurate(gap, V):
    p, q = L.pass_rate(gap, V)
    assert 0 <= p <= 1 and 0 <= q <= 1
    assert p + q == pytest.approx(1.0, abs=4e-16)
    mpmath.mp.dps = 40
    exact_q = (V - 1) * mpmath.e ** (-mpmath.mpf(gap)) / (1 + (V - 1) * mpmath.e ** (-mpmath.mpf(gap)))
    assert q == pytest.approx(float(exact_q), rel=1e-13)
    assert p == pytest.approx(float(1 - exact_q), rel=1e-13)


def test_q_not_rounded_near_one():
    p, q = L.pass_rate(60.0, 10)
    assert q > 0 and q == pytest.approx(9 * math.exp(-60), rel=1e-12)


def test_sl_two_logits_equal_reference_pathwise():
    for V, eta in [(7, 1.0), (1000, 0.5)]:
        gaps = L.sl_gaps(V, 0.99, eta)
        p_engine, _ = L.pass_rate(gaps, V)
        z = np.zeros(V)
        for k in range(1, len(gaps)):
            z = ref.update(z, [0], [1.0], eta)
            assert ref.softmax(z)[0] == pytest.approx(p_engine[k], rel=1e-12)
        rs, _ = ref.run("sl", V, [0.5, 0.99], np.random.default_rng(0), eta=eta)
        assert list(rs) == list(L.sl_samples_to(V, [0.5, 0.99], eta))


def test_sl_per_efold_is_one_over_eta():
    # early steps change the gap by eta * V/(V-1) * q ~ eta: samples to 1/2 grow by ~1/eta per e-fold of V
    s = [L.sl_samples_to(V, [0.5], 1.0)[0] for V in (10**4, 10**6)]
    assert (s[1] - s[0]) / math.log(100) == pytest.approx(1.0, abs=0.15)


# ---------------------------------------------------------------------------- REINFORCE without baseline, eliminator

def test_reinforce_after_k_successes_equals_sl_after_k_steps():
    """The event-driven shortcut: failures leave the logits unchanged, a success is an SL step (pathwise)."""
    V, eta = 9, 1.0
    z_rl, z_sl = np.zeros(V), np.zeros(V)
    rng = np.random.default_rng(3)
    for _ in range(300):
        y = int(rng.integers(V))
        z_new = ref.update(z_rl, [y], [1.0 if y == 0 else 0.0], eta)
        if y == 0:
            z_sl = ref.update(z_sl, [0], [1.0], eta)
        else:
            assert np.array_equal(z_new, z_rl)
        z_rl = z_new
        assert np.allclose(z_rl, z_sl, atol=1e-13)


@pytest.mark.parametrize("V,batch", [(8, 1), (5, 3)])
def test_reinforce_event_engine_matches_reference_in_distribution(V, batch):
    ss = np.random.SeedSequence(11)
    a, b = ss.spawn(2)
    n = 1500
    engine = L.reinforce_samples_to(V, THR, a, n, eta=1.0, batch=batch)
    plain = ref.samples_to("rl", V, THR, b, n, eta=1.0, batch=batch)
    for j in range(len(THR)):
        D, pval = ks_pvalue(engine[:, j], plain[:, j])
        assert pval > 1e-3, (j, D, pval)
        se = math.sqrt(engine[:, j].var() / n + plain[:, j].var() / n)
        assert abs(engine[:, j].mean() - plain[:, j].mean()) < 4.5 * se


def test_reinforce_mean_matches_exact_expectation():
    # E[samples to threshold] = sum over the SL levels of 1/p_k (geometric waiting times)
    V = 1000
    gaps = L.sl_gaps(V, 0.5)
    p, _ = L.pass_rate(gaps, V)
    expected = np.sum(1 / p[:-1])
    sd = math.sqrt(np.sum((1 - p[:-1]) / p[:-1] ** 2))
    s = L.reinforce_samples_to(V, [0.5], 5, 4000)[:, 0]
    assert abs(s.mean() - expected) < 4 * sd / math.sqrt(4000)


def test_engine_detects_a_wrong_distribution():
    """The KS check has power: halving the learning rate of the engine is detected."""
    ss = np.random.SeedSequence(12)
    a, b = ss.spawn(2)
    engine = L.reinforce_samples_to(8, THR, a, 1500, eta=0.5)
    plain = ref.samples_to("rl", 8, THR, b, 1500, eta=1.0)
    assert ks_pvalue(engine[:, 1], plain[:, 1])[1] < 1e-6


def test_eliminator_matches_reference_and_closed_forms():
    ss = np.random.SeedSequence(13)
    a, b = ss.spawn(2)
    V, n = 12, 2000
    engine = L.eliminator_samples_to(V, [0.5, 0.99], a, n)
    plain = ref.samples_to("eliminator", V, [0.5, 0.99], b, n)
    for j in range(2):
        assert ks_pvalue(engine[:, j], plain[:, j])[1] > 1e-3
    # expected pass rate after n samples is (n + 1)/V: Monte Carlo over runs
    T = np.array([g.integers(1, V + 1) for g in L.generators(7, 20000)])
    for m in (0, 3, 7):
        mc = np.mean(np.where(T <= m, 1.0, 1.0 / (V - m)))
        assert mc == pytest.approx(L.eliminator_expected_pass_rate(V, m), abs=0.01)
    m = np.arange(2, 50)  # candidates left: p = 1/m; success drops -log2 p to 0, failure p -> 1/(m - 1)
    p = 1.0 / m
    drop = p * np.log2(m) + (1 - p) * (np.log2(m) - np.log2(m - 1))
    assert np.allclose(L.eliminator_expected_bits(p), drop, rtol=1e-12)


# -------------------------------------------------------------------------------------------- the dense engine

def test_dense_update_equals_reference_update_pathwise():
    """Prescribed actions: the fused kernel's weights follow the plain logit update to ~1e-12, across degrees."""
    rng = np.random.default_rng(4)
    for V, eta, batch in [(6, 1.0, 1), (50, 0.7, 3), (3000, 1.0, 2), (5000, 1.0, 1)]:
        w0, w = 1.0, np.ones(V - 1)
        z = np.zeros(V)
        degrees = set()
        for _ in range(200):
            pi = ref.softmax(z)
            ys = rng.choice(V, size=batch, p=pi)
            ys[rng.random(batch) < 0.3] = 0
            adv = (ys == 0) - pi[0]
            w0, _, d = L.dense_update(w0, w, eta, ys, adv)
            degrees.add(d)
            z = ref.update(z, ys, adv, eta)
            S = w0 + w.sum()
            assert np.allclose(np.concatenate([[w0], w]) / S, ref.softmax(z), rtol=1e-12, atol=0)
        assert len(degrees) >= 2


def _plain_update(w0, w, eta, ys, adv):
    """The same update in plain numpy with np.exp: weights times exp(logit change), pi before the update."""
    S = w0 + w.sum()
    dz = np.zeros(len(w) + 1)
    np.add.at(dz, ys, eta / len(ys) * adv)
    dz -= eta / len(ys) * adv.sum() * np.concatenate([[w0], w]) / S
    new = np.concatenate([[w0], w]) * np.exp(dz)
    return new[0], new[1:]


@pytest.mark.parametrize("scale", [1e-12, 1e-7, 1e-4, 1e-3, 3e-2, 0.4])
def test_fused_kernel_equals_plain_numpy(scale):
    """The numba kernel (Taylor polynomial, sampled tokens and answer by exp, block sums, W, M in one pass) equals
    a plain numpy evaluation of the same update to ~1e-14 relative, elementwise, at every polynomial degree."""
    rng = np.random.default_rng(int(-math.log10(scale) * 7))
    V = 5000
    w = np.exp(rng.normal(size=V - 1) * 2)  # weights over several orders of magnitude
    w0 = float(w.sum()) * 0.3
    p = w0 / (w0 + w.sum())
    wmax = w.max() / (w0 + w.sum())
    ys = np.array([0, 17, 17, 4998, int(np.argmax(w)) + 1, 1, 0])
    adv = ((ys == 0) - p) * scale / wmax  # scaled so that the largest argument |c| max pi is about `scale`
    eta = 1.0
    expect0, expect = _plain_update(w0, w, eta, ys, adv)
    got = w.copy()
    got0, W, deg = L.dense_update(w0, got, eta, ys, adv)
    need = L.exp_poly_degree(abs(eta / len(ys) * adv.sum()) * wmax)
    assert deg == (-1 if need < 0 else min(d for d in L._DEGREES if d >= need))
    assert np.max(np.abs(got / expect - 1)) < 1e-14
    assert got0 == pytest.approx(expect0, rel=1e-14)
    assert W == pytest.approx(expect.sum(), rel=1e-14)


def test_fused_kernel_block_sums_and_bound():
    rng = np.random.default_rng(8)
    degrees = set()
    for V in (3, 1025, 3000):
        for c in (-3.0, -0.3, 0.2):
            w, bsum, st = L._fresh_state(V)
            w *= np.exp(rng.normal(size=V - 1) * 0.01)
            S = 1.0 + w.sum()
            idx = np.unique(rng.integers(0, V - 1, size=3))
            M = w.max()
            w0n, W, Mn, deg = L._dense_update(w, bsum, 1.0, S, M, c, 0.0, idx, np.full(len(idx), -0.3))
            degrees.add(deg)
            blocks = [w[i:i + L._BLOCK].sum() for i in range(0, V - 1, L._BLOCK)]
            assert np.allclose(bsum, blocks, rtol=1e-14) and W == pytest.approx(sum(blocks), rel=1e-14)
            assert Mn >= w.max()  # an upper bound on the wrong weights (the degree of the next step depends on it)
            if deg == -1:
                assert Mn == w.max()  # the exp pass computes it exactly
    assert -1 in degrees and len(degrees) >= 3


def test_exp_polynomial_is_float64_exact():
    for xmax in (1e-12, 1e-9, 1e-6, 1e-4, 1e-2, 0.049):
        need = L.exp_poly_degree(xmax)
        assert need == L._exp_poly_degree_nb(xmax)
        deg = min(d for d in L._DEGREES if d >= need)
        for sign in (1.0, -1.0):
            w = np.linspace(1e-3, 1.0, 1001)  # x = a w spans (0, xmax]
            out = w.copy()
            L._scale_block(out, 0, len(w), sign * xmax, deg)
            assert np.max(np.abs(out / (w * np.exp(sign * xmax * w)) - 1)) <= 4.5e-16
    assert L.exp_poly_degree(0.0) == 0 and L.exp_poly_degree(0.5) == -1
    # the degree is the lowest that suffices: one less leaves a truncation error above 2^-53 at x = xmax
    for xmax in (1e-6, 1e-3, 0.04):
        n = L.exp_poly_degree(xmax)
        assert xmax ** n / math.factorial(n) > 2.0 ** -53


@pytest.mark.parametrize("baseline", ["mean", "none"])
def test_dense_engine_matches_reference_in_distribution(baseline):
    ss = np.random.SeedSequence(21)
    a, b = ss.spawn(2)
    V, n = 8, 1500
    engine = L.reinforce_dense(V, THR, a, n, baseline=baseline).samples_to
    plain = ref.samples_to("rl_mean" if baseline == "mean" else "rl", V, THR, b, n)
    for j in range(len(THR)):
        assert ks_pvalue(engine[:, j], plain[:, j])[1] > 1e-3


def test_dense_no_baseline_matches_event_engine():
    ss = np.random.SeedSequence(22)
    a, b = ss.spawn(2)
    dense = L.reinforce_dense(200, THR, a, 300, baseline="none").samples_to
    event = L.reinforce_samples_to(200, THR, b, 3000)
    for j in range(len(THR)):
        assert ks_pvalue(dense[:, j], event[:, j])[1] > 1e-3


def test_dense_curves_and_budget():
    r = L.reinforce_dense(20, [0.5, 0.99], 3, 10, n_grid=[0, 5, 50, 10**5], max_samples=400)
    assert np.all(r.curves[:, 0] == 1 / 20)
    assert np.all((r.samples_to[:, 1] == -1) | (r.samples_to[:, 1] <= 400))
    assert np.all(np.isfinite(r.curves[:, :3]) | (r.samples_to[:, 1] == -1)[:, None])


# ------------------------------------------------------------------------------------------ reproducibility, API

def test_run_i_independent_of_number_of_runs():
    a = L.reinforce_samples_to(300, THR, 9, 5)
    b = L.reinforce_samples_to(300, THR, 9, 12)
    assert np.array_equal(a, b[:5])
    a = L.eliminator_samples_to(300, THR, 9, 5)
    assert np.array_equal(a, L.eliminator_samples_to(300, THR, 9, 9)[:5])
    a = L.reinforce_dense(30, THR, 9, 4).samples_to
    assert np.array_equal(a, L.reinforce_dense(30, THR, 9, 7).samples_to[:4])
    ss = np.random.SeedSequence(5)
    ss.spawn(3)  # earlier spawns do not change the children
    assert np.array_equal(L.reinforce_samples_to(50, THR, ss, 3), L.reinforce_samples_to(50, THR, 5, 3))


def test_curve_from_success_times():
    times, p = L.reinforce_success_times(100, 1, 50, 0.5)
    c = L.curve_from_success_times(times, p, [0, times[0, 0] - 1, times[0, 0], 10**9])
    assert np.all(c[:, 0] == p[0]) and c[0, 1] == p[0] and c[0, 2] == p[1] and np.all(c[:, -1] == p[-1])


@pytest.mark.parametrize("call", [
    lambda: L.pass_rate(0.0, 1), lambda: L.sl_gaps(10, 1.0), lambda: L.sl_gaps(10, 0.5, eta=0),
    lambda: L.reinforce_samples_to(10, [0.9, 0.5], 1, 3), lambda: L.reinforce_dense(10, [0.5], 1, 2, baseline="x"),
    lambda: L.eliminator_samples_to(10, [0.5], 1, 0),
    lambda: L.eliminator_expected_pass_rate(10, -1),
])
def test_bad_inputs_raise(call):
    with pytest.raises(ParameterError):
        call()
