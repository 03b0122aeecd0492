"""rlbits.compute: FLOP accounting by brute force, compute models by quadrature, the dynamics by simulation."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlbits import compute
from rlbits.validate import ParameterError


def test_flops_per_token_and_per_sample():
    assert compute.flops_per_token(1e9) == 2e9
    assert compute.flops_per_token(1e9, "train") == 6e9
    assert compute.flops_per_token(1e9, n_layer=10, d_model=100, n_ctx=50) == 2e9 + 2 * 10 * 50 * 100
    assert compute.sl_flops_per_sample(5.0) == 30.0
    assert compute.rl_flops_per_episode(5.0, 7) == 8 * 5 * 7
    assert compute.samples_per_flop_ratio(3) == pytest.approx(4.0)


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 300), prompt=st.integers(0, 100), L=st.integers(1, 8), d=st.integers(1, 64))
def test_rl_episode_with_attention_is_the_sum_over_tokens(T, prompt, L, d):
    N = 1e6
    brute = sum(compute.flops_per_token(N, "forward", n_layer=L, d_model=d, n_ctx=prompt + t)
                + compute.flops_per_token(N, "train", n_layer=L, d_model=d, n_ctx=prompt + t) for t in range(1, T + 1))
    assert compute.rl_flops_per_episode(N, T, n_layer=L, d_model=d, prompt=prompt) == pytest.approx(brute, rel=1e-12)


def test_bits_per_flop_and_gap():
    N, T = 1e9, 1000
    for p in (1e-6, 1e-3, 0.3, 0.5, 0.9):
        direct = compute.bits_per_flop(p, "sl", N) / compute.bits_per_flop(p, "rl", N, T)
        assert compute.bits_per_flop_gap(p, T) == pytest.approx(direct, rel=1e-12)
        H = -p * math.log2(p) - (1 - p) * math.log2(1 - p)
        assert compute.bits_per_flop(p, "rl", N, T) == pytest.approx(H / (8 * N * T), rel=1e-12)
    assert compute.bits_per_flop_gap(0.5, T) == pytest.approx(4 * T / 3, rel=1e-12)
    grid = np.logspace(-8, -1e-6, 500)
    assert np.all(np.diff(compute.bits_per_flop_gap(grid, T)) < 0)  # monotone: the threshold is well defined


@pytest.mark.parametrize("T", [1, 100, 10_000, 100_000, 10**6])
def test_gap_threshold(T):
    pt = compute.gap_threshold_p(T, 1e6)
    assert compute.bits_per_flop_gap(pt, T) == pytest.approx(1e6, rel=1e-9)
    assert compute.bits_per_flop_gap(pt * 0.99, T) > 1e6 > compute.bits_per_flop_gap(min(pt * 1.01, 0.999999), T)


def test_cumulative_compute_follows_each_law():
    p0 = 1e-5
    p = np.array([1e-4, 1e-3, 0.1, 0.5, 0.99])
    # (a) equal increments per decade
    C = compute.cumulative_compute(np.array([1e-4, 1e-3, 1e-2]), "equal_per_decade", p0)
    assert np.allclose(np.diff(np.concatenate([[0.0], C])), math.log(10))
    # (b) -ln p = -ln p0 (C/C0)^-k with C/C0 = 1 + cumulative
    for k in (0.3, 1.0, 3.0):
        Cg = 1 + compute.cumulative_compute(p, "gpt4", p0, k=k)
        assert np.allclose(-np.log(p), -math.log(p0) * Cg ** (-k), rtol=1e-12)
    # (b') p = p0 (C/C0)^a
    for a in (0.5, 2.0):
        Cp = 1 + compute.cumulative_compute(p, "power_law", p0, a=a)
        assert np.allclose(p, p0 * Cp**a, rtol=1e-12)


def _share_by_quadrature(density, p0, p_end, t=0.5):
    mpmath.mp.dps = 30
    lo, mid, hi = math.log(p0), math.log(t), math.log(p_end)
    above = mpmath.quad(density, [mid, hi])
    return float(above / (mpmath.quad(density, [lo, mid]) + above))


def test_shares_against_quadrature_of_the_density():
    p0, p_end = 1e-5, 0.99
    u0 = -math.log(p0)
    assert compute.compute_share_above("equal_per_decade", p0, p_end) == pytest.approx(
        _share_by_quadrature(lambda u: 1, p0, p_end), rel=1e-10)
    for k in (0.5, 1.0, 3.0):  # dC/dln p = (1/k) u0^(1/k) (-ln p)^(-1/k - 1)
        dens = lambda lnp, k=k: (u0 ** (1 / k) / k) * (-lnp) ** (-1 / k - 1)
        assert compute.compute_share_above("gpt4", p0, p_end, k=k) == pytest.approx(
            _share_by_quadrature(dens, p0, p_end), rel=1e-8)
    dens = lambda lnp: mpmath.e ** lnp / p0  # a = 1: dC/dln p = p / p0
    assert compute.compute_share_above("power_law", p0, p_end, a=1.0) == pytest.approx(
        _share_by_quadrature(dens, p0, p_end), rel=1e-10)


def test_compute_weighted_bits_against_quadrature():
    p0, p_end, k = 1e-4, 0.95, 1.0
    u0 = -math.log(p0)
    mpmath.mp.dps = 30
    dens = lambda lnp: (u0 / k) * (-lnp) ** (-1 / k - 1)
    H = lambda q: -q * mpmath.log(q, 2) - (1 - q) * mpmath.log(1 - q, 2)
    lo, hi = math.log(p0), math.log(p_end)
    Z = mpmath.quad(dens, [lo, -1, hi])
    sl = mpmath.quad(lambda u: dens(u) * (-u / mpmath.log(2)), [lo, -1, hi]) / Z
    rl = mpmath.quad(lambda u: dens(u) * H(mpmath.e**u), [lo, -1, hi]) / Z
    out = compute.compute_weighted_bits("gpt4", p0, p_end, k=k)
    assert out["sl"] == pytest.approx(float(sl), rel=1e-6)
    assert out["rl"] == pytest.approx(float(rl), rel=1e-6)
    # equal per decade: the SL mean is the midpoint of -log2 p over the run
    eq = compute.compute_weighted_bits("equal_per_decade", p0, p_end)
    assert eq["sl"] == pytest.approx(-(math.log2(p0) + math.log2(p_end)) / 2, rel=1e-8)


def test_dynamics_match_a_full_softmax_sl_run():
    V, eta, p_end = 50, 0.3, 0.95
    rates = compute.softmax_dynamics(V, eta, p_end)
    z = np.zeros(V)
    for k, p in enumerate(rates):
        q = np.exp(z - z.max())
        q /= q.sum()
        assert q[0] == pytest.approx(p, rel=1e-12)
        assert np.ptp(q[1:]) < 1e-15  # the wrong answers stay equal
        z += eta * (np.eye(V)[0] - q)
    assert rates[0] == 1 / V and rates[-1] >= p_end > rates[-2]
    assert np.all(np.diff(rates) > 0)


def test_continuum_limit_converges():
    V, p_end = 1000, 0.9
    errs = []
    for eta in (0.4, 0.1, 0.025):
        rates = compute.softmax_dynamics(V, eta, p_end)
        for learner in ("sl", "rl"):
            exact = compute.dynamics_spent(rates, learner).sum()
            closed = compute.dynamics_samples_closed_form(rates[-1], learner, V, eta)
            errs.append(abs(exact / closed - 1))
    errs = np.array(errs).reshape(3, 2)
    assert np.all(errs[1] < errs[0]) and np.all(errs[2] < errs[1]) and errs[2].max() < 0.03


def test_rl_dynamics_against_simulation():
    V, eta, p_end, runs = 10, 0.5, 0.9, 400
    rates = compute.softmax_dynamics(V, eta, p_end)
    expected = compute.dynamics_spent(rates, "rl")
    sims = [compute.simulate_rl_samples(V, eta, p_end, np.random.default_rng(s))
            for s in np.random.SeedSequence(11).spawn(runs)]
    totals = np.array([n for n, _ in sims], dtype=float)
    var = ((1 - rates[:-1]) / rates[:-1] ** 2).sum()
    assert abs(totals.mean() - expected.sum()) < 4 * math.sqrt(var / runs)
    waits = np.array([w for _, w in sims])
    assert waits.shape == (runs, len(expected))
    assert np.all(waits.sum(axis=1) == totals)


def test_summary_and_decades():
    V, eta, p_end = 10_000, 0.2, 0.99
    rates = compute.softmax_dynamics(V, eta, p_end)
    s = compute.dynamics_summary(V, eta, p_end)
    edges = np.concatenate([10.0 ** np.arange(-4, 0), [1.0]])
    for learner in ("sl", "rl"):
        per = compute.samples_per_decade(rates, learner, edges)
        assert per.sum() == pytest.approx(s[learner]["samples"])
        at = rates[:-1]
        spent = compute.dynamics_spent(rates, learner)
        assert s[learner]["share_above"] == pytest.approx(spent[at >= 0.5].sum() / spent.sum())
    assert s["sl"]["samples"] == s["steps"] == len(rates) - 1
    # RL's samples pile up in the first decade, SL's at the end
    assert compute.samples_per_decade(rates, "rl", edges)[0] > 0.8 * s["rl"]["samples"]
    assert s["sl"]["share_above"] > 0.5 > s["rl"]["share_above"]


def test_validation():
    with pytest.raises(ParameterError, match="N="):
        compute.flops_per_token(0)
    with pytest.raises(ParameterError, match="kind="):
        compute.flops_per_token(1.0, "backward")
    with pytest.raises(ParameterError, match="T="):
        compute.rl_flops_per_episode(1.0, 0)
    with pytest.raises(ParameterError, match="model="):
        compute.cumulative_compute(0.5, "linear", 1e-3)
    with pytest.raises(ParameterError, match="below p0"):
        compute.cumulative_compute(1e-4, "gpt4", 1e-3)
    with pytest.raises(ParameterError, match="p=1"):
        compute.cumulative_compute(1.0, "gpt4", 1e-3)
    with pytest.raises(ParameterError, match="p_end"):
        compute.compute_share_above("gpt4", 0.5, 0.4)
    with pytest.raises(ParameterError, match="p_end"):
        compute.softmax_dynamics(10, 0.1, 0.05)
    with pytest.raises(ParameterError, match="p="):
        compute.bits_per_flop_gap(1.0, 10)
    with pytest.raises(ParameterError, match="learner="):
        compute.dynamics_spent(np.array([0.1, 0.2]), "ppo")


def test_dynamics_agree_with_chapter_6_engine():
    learners = pytest.importorskip("rlbits.learners")
    for V, eta, p_end in [(10, 0.5, 0.9), (100_000, 0.1, 0.99), (1000, 1.0, 0.999)]:
        rates = compute.softmax_dynamics(V, eta, p_end)
        p, _ = learners.pass_rate(learners.sl_gaps(V, p_end, eta), V)
        assert len(p) == len(rates) and np.allclose(p, rates, rtol=1e-11)
