"""rlbits.bigram (chapter 7): the batched trainer against the plain per-sample loop, exact curves and gradient moments
against brute force and Monte Carlo, stream independence, and input validation."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlbits import bigram
from rlbits.language import log_softmax_rows, make_language, softmax_rows
from rlbits.validate import ParameterError


@pytest.fixture(scope="module")
def lang():
    return make_language(K=12, frac_deterministic=0.5, support=4, seed=5, concentration=1.0)


def _seeds(n, root=11):
    return np.random.SeedSequence(root).spawn(n)


@pytest.mark.parametrize("method,baseline", [("SL", "expected"), ("RL", "expected"), ("RL", "running"),
                                             ("RL", "none")])
def test_batched_equals_reference(lang, method, baseline):
    seeds = _seeds(3)
    init = np.random.default_rng(0).normal(scale=0.5, size=(lang.K, lang.K))
    kw = dict(lr=0.7, batch=16, baseline=baseline, baseline_rate=0.2, init=init)
    curves = bigram.train(lang, method, seeds, 16 * 150, **kw)
    for i, s in enumerate(seeds):
        ref = bigram.train_reference(lang, method, s, 16 * 150, **kw)
        assert np.abs(curves.final_logits[i] - ref).max() < 1e-9
        assert np.abs(ref - init).max() > 0.1  # the runs did move


def test_runs_independent_of_batching(lang):
    """Run i's trajectory does not change with the number of runs trained together."""
    seeds = _seeds(4)
    both = bigram.train(lang, "RL", seeds, 4000, batch=8, baseline="running")
    alone = bigram.train(lang, "RL", seeds[2:3], 4000, batch=8, baseline="running")
    assert np.array_equal(both.final_logits[2], alone.final_logits[0])
    assert np.allclose(both.excess[2], alone.excess[0], rtol=1e-13, atol=0)  # summation order may differ


def test_sl_and_rl_share_data_but_not_guesses(lang):
    """Same seed: SL and RL consume the same pairs; two RL runs with different seeds differ."""
    seeds = _seeds(2)
    a = bigram.train(lang, "SL", seeds, 640, batch=64)
    b = bigram.train(lang, "SL", seeds, 640, batch=64)
    assert np.array_equal(a.final_logits, b.final_logits)
    assert not np.allclose(a.final_logits[0], a.final_logits[1])
    # the streams of a run are derived, not spawned: using a SeedSequence again gives the same data and guesses
    (d1, p1), = bigram._streams(seeds[:1])
    (d2, p2), = bigram._streams(seeds[:1])
    assert np.array_equal(d1.random(5), d2.random(5)) and np.array_equal(p1.random(5), p2.random(5))
    (d3, p3), = bigram._streams(seeds[1:2])
    assert not np.array_equal(d3.random(5), p3.random(5))


def test_sampler_matches_language(lang):
    """The O(support) pair sampler draws from pi(s) P(y|s) (chi-square-sized tolerance)."""
    sampler = bigram._Sampler(lang)
    ctx, y = sampler.pairs(np.random.default_rng(3), 400_000)
    joint = np.bincount(ctx * lang.K + y, minlength=lang.K**2).reshape(lang.K, lang.K) / len(ctx)
    expected = lang.stationary[:, None] * lang.P
    assert np.all(joint[expected == 0] == 0)
    assert np.abs(joint - expected).max() < 5 * np.sqrt(expected.max() / len(ctx))


def test_table_stats_against_language(lang):
    rng = np.random.default_rng(4)
    W = rng.normal(size=(3, lang.K, lang.K))
    st_ = bigram.table_stats(lang, W)
    for i in range(3):
        assert st_["excess"][i] == pytest.approx(lang.excess_loss(W[i]), rel=1e-12)
        assert st_["cross_entropy"][i] == pytest.approx(lang.cross_entropy(W[i]), rel=1e-12)
        kl = lang.excess_loss(W[i], by_context=True)
        assert st_["table_excess"][i] == pytest.approx(kl.sum(), rel=1e-12)
        d = lang.deterministic
        pi = lang.stationary
        assert st_["excess_det"][i] == pytest.approx(pi[d] @ kl[d] / pi[d].sum(), rel=1e-12)
        assert st_["excess_rand"][i] == pytest.approx(pi[~d] @ kl[~d] / pi[~d].sum(), rel=1e-12)
        # type-conditional cross-entropy = type-conditional entropy + excess
        H = lang.context_entropy()
        assert st_["ce_rand"][i] == pytest.approx(pi[~d] @ H[~d] / pi[~d].sum() + st_["excess_rand"][i], rel=1e-12)
        q = softmax_rows(W[i])
        p = (lang.P * q).sum(axis=1)
        assert st_["match"][i] == pytest.approx(pi @ p, rel=1e-12)
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
        assert st_["reward_entropy"][i] == pytest.approx(pi @ h, rel=1e-10)
    one = bigram.table_stats(lang, W[0])
    assert isinstance(one["excess"], float) and one["excess"] == pytest.approx(st_["excess"][0])


def test_match_rate_by_monte_carlo(lang):
    """The expected reward of a table equals the frequency of sampled guesses matching data tokens."""
    rng = np.random.default_rng(5)
    W = rng.normal(size=(lang.K, lang.K))
    ctx, y = lang.sample_pairs(rng, 200_000)
    q = softmax_rows(W)
    a = (rng.random(len(ctx))[:, None] > np.cumsum(q[ctx], axis=1)).sum(axis=1)
    p = bigram.table_stats(lang, W)["match"]
    assert np.mean(a == y) == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / len(ctx)))


@pytest.mark.parametrize("method", ["SL", "RL"])
def test_gradient_moments_by_monte_carlo(lang, method):
    rng = np.random.default_rng(6)
    W = rng.normal(size=(lang.K, lang.K))
    G, m2 = bigram.gradient_moments(lang, W, method)
    q = softmax_rows(W)
    n = 400_000
    ctx, y = lang.sample_pairs(rng, n)
    if method == "SL":
        coef, tok = np.ones(n), y
    else:
        a = (rng.random(n)[:, None] > np.cumsum(q[ctx], axis=1)).sum(axis=1)
        p = (lang.P * q).sum(axis=1)
        coef, tok = (a == y) - p[ctx], a
    g = -coef[:, None] * q[ctx]
    g[np.arange(n), tok] += coef
    Gmc = np.zeros_like(W)
    np.add.at(Gmc, ctx, g)
    Gmc /= n
    m2mc = np.mean((g * g).sum(axis=1))
    se = np.sqrt(m2 / n)
    assert np.abs(Gmc - G).max() < 5 * se
    assert m2mc == pytest.approx(m2, rel=0.02)


def test_rl_mean_gradient_identity(lang):
    """RL's mean gradient is sum_y P(y) q(y) (e_y - q): SL's per-token gradient scaled by q(y)."""
    W = np.random.default_rng(7).normal(size=(lang.K, lang.K))
    q = softmax_rows(W)
    G, _ = bigram.gradient_moments(lang, W, "RL")
    eye = np.eye(lang.K)
    for s in range(lang.K):
        per_token = sum(lang.P[s, y] * q[s, y] * (eye[y] - q[s]) for y in range(lang.K))
        assert np.allclose(G[s], lang.stationary[s] * per_token, atol=1e-15)


def test_noise_scale_at_optimum_is_infinite_and_uniform_start(lang):
    logP = np.log(np.where(lang.P > 0, lang.P, 1e-300))
    # at the true table SL's mean gradient is zero (to rounding): the noise scale is huge
    assert bigram.noise_scale(lang, logP, "SL") > 1e12
    # at the uniform start SL's mean gradient is pi_s (P_s - 1/K): check against a direct computation
    K = lang.K
    G = lang.stationary[:, None] * (lang.P - 1 / K)
    m2 = 1 - 2 / K + 1 / K
    assert bigram.noise_scale(lang, np.zeros((K, K)), "SL") == pytest.approx((m2 - (G**2).sum()) / (G**2).sum())


def test_bits_absorbed_and_halving():
    samples = np.array([0, 10, 100, 1000])
    T = np.array([[8.0, 6.0, 2.0, 1.0], [8.0, 6.0, 4.0, 3.0]])
    fake = bigram.Curves("SL", samples, *([T] * 11), final_logits=np.zeros((2, 2, 2)))
    mid, ab = bigram.bits_absorbed(fake)
    assert np.allclose(ab, [(8 - 6) / 10, (6 - 3) / 90, (3 - 2) / 900])  # the mean table excess is 8, 6, 3, 2
    assert np.allclose(mid, [np.sqrt(10), np.sqrt(1000), np.sqrt(100_000)])
    # halving: 8 -> 4 between 10 and 100 for the second curve, log-linear interpolation
    x = bigram.samples_to_fraction(samples, T[1], 0.5)
    assert x == pytest.approx(np.exp(np.log(10) + (4 - 6) / (4 - 6) * np.log(10)))
    assert bigram.samples_to_fraction(samples, T[0], 0.5) == pytest.approx(np.exp(np.log(10) + 0.5 * np.log(10)))
    assert bigram.samples_to_fraction(samples, T[1], 0.1) == np.inf


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 50), st.floats(0.01, 0.99))
def test_samples_to_fraction_is_bracketed(seed, frac):
    rng = np.random.default_rng(seed)
    samples = np.concatenate([[0], np.cumsum(rng.integers(1, 100, size=20))])
    curve = np.concatenate([[1.0], np.sort(rng.random(20))[::-1]])
    x = bigram.samples_to_fraction(samples, curve, frac)
    below = np.nonzero(curve <= frac)[0]
    if len(below) == 0:
        assert x == np.inf
    else:
        i = below[0]
        assert samples[i - 1] <= x <= samples[i]


def test_checkpoints():
    cp = bigram.checkpoints(10_000, 10)
    assert cp[0] == 0 and cp[-1] == 10_000 and np.all(cp % 10 == 0) and np.all(np.diff(cp) > 0)


def test_rl_learns_deterministic_and_seeks_the_mode():
    """A short run: RL's expected reward rises above SL's, and it puts more mass on the mode of random contexts."""
    lang = make_language(K=8, frac_deterministic=0.5, support=4, seed=1, concentration=1.0)
    seeds = _seeds(4, root=3)
    sl = bigram.train(lang, "SL", seeds, 60_000, lr=0.5, batch=32)
    rl = bigram.train(lang, "RL", seeds, 60_000, lr=0.5, batch=32, baseline="running")
    assert rl.match[:, -1].mean() > sl.match[:, -1].mean()
    assert rl.excess_rand[:, -1].mean() > 3 * sl.excess_rand[:, -1].mean()
    assert rl.excess_det[:, -1].mean() < 0.1 * rl.excess_det[:, 0].mean()


def test_validation(lang):
    with pytest.raises(ParameterError, match="method"):
        bigram.train(lang, "DPO", _seeds(1), 100)
    with pytest.raises(ParameterError, match="baseline"):
        bigram.train(lang, "RL", _seeds(1), 100, baseline="median")
    with pytest.raises(ParameterError, match="lr"):
        bigram.train(lang, "SL", _seeds(1), 100, lr=-1.0)
    with pytest.raises(ParameterError, match="batch"):
        bigram.train(lang, "SL", _seeds(1), 100, batch=1000)
    with pytest.raises(ParameterError, match="seeds"):
        bigram.train(lang, "SL", [1, 2], 100)
    with pytest.raises(ParameterError, match="checkpoint"):
        bigram.train(lang, "SL", _seeds(1), 100, batch=10, checkpoint_samples=[0, 15])
    with pytest.raises(ParameterError, match="shape"):
        bigram.table_stats(lang, np.zeros((3, 3)))
    with pytest.raises(ParameterError, match="fraction"):
        bigram.samples_to_fraction([0, 1], [1.0, 0.5], 1.5)
    with pytest.raises(ParameterError, match="lang"):
        bigram.train("english", "SL", _seeds(1), 100)


def test_bits_absorbed_coarse_intervals():
    samples = np.array([0, 10, 15, 20, 40, 50, 100])
    T = np.array([[10.0, 9.0, 8.5, 8.0, 7.0, 6.5, 5.0]])
    fake = bigram.Curves("SL", samples, *([T] * 11), final_logits=np.zeros((1, 2, 2)))
    mid, ab = bigram.bits_absorbed(fake, min_ratio=2.0)  # checkpoints 0, 10, 20, 40, 100
    assert np.allclose(ab, [0.1, 1.0 / 10, 1.0 / 20, 2.0 / 60])
    assert np.allclose(mid, [np.sqrt(10), np.sqrt(200), np.sqrt(800), np.sqrt(4000)])
    with pytest.raises(ParameterError, match="min_ratio"):
        bigram.bits_absorbed(fake, min_ratio=0.5)
