"""Tests of rlbits.selfplay: the Elo model and its Fisher information, the exact win rates of the toy game, and the
self-play learner's invariances."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbits import selfplay as sp
from rlbits.validate import ParameterError


def test_elo_win_prob_values():
    assert sp.elo_win_prob(0) == 0.5
    assert sp.elo_win_prob(400) == pytest.approx(10 / 11)
    assert sp.elo_win_prob(-800) == pytest.approx(1 / 101)


@settings(max_examples=100, deadline=None)
@given(st.floats(-2000, 2000))
def test_fisher_information_is_variance_of_score(delta):
    # score of one game: d/d(delta) log P(w); its variance over w ~ Bernoulli(P) is the Fisher information
    h = 1e-3
    P = sp.elo_win_prob(delta)
    dlogP = (math.log(sp.elo_win_prob(delta + h)) - math.log(sp.elo_win_prob(delta - h))) / (2 * h)
    dlog1mP = (math.log(1 - sp.elo_win_prob(delta + h)) - math.log(1 - sp.elo_win_prob(delta - h))) / (2 * h)
    var_score = P * dlogP**2 + (1 - P) * dlog1mP**2  # the score has mean 0
    assert var_score == pytest.approx(sp.elo_fisher_info(delta), rel=1e-5)
    assert sp.elo_fisher_info(delta) <= sp.elo_fisher_info(0.0) * (1 + 1e-12)
    assert sp.elo_fisher_info(delta) == pytest.approx(sp.elo_fisher_info(-delta), rel=1e-10)


def test_info_ratio_closed_form():
    for g in [200, 400, 800]:
        x = 10 ** (g / 400)
        assert sp.elo_fisher_info(0) / sp.elo_fisher_info(g) == pytest.approx((1 + x) ** 2 / (4 * x), rel=1e-12)
    assert sp.elo_fisher_info(0) / sp.elo_fisher_info(-800) == pytest.approx(101**2 / 400, rel=1e-12)


@pytest.mark.parametrize("delta", [0.0, -400.0, 300.0])
def test_mle_variance_approaches_inverse_information(delta):
    n = 3000
    var, kept = sp.elo_mle_spread(delta, n, 6000, np.random.default_rng(1))
    assert kept == 1.0
    assert var * n * sp.elo_fisher_info(delta) == pytest.approx(1.0, abs=0.08)


def test_perf_distribution_brute_force():
    rng = np.random.default_rng(0)
    p = rng.random((3, 6))
    d = sp._perf_distribution(p)
    for r in range(3):
        ref = np.zeros(7)
        for bits in itertools.product([0, 1], repeat=6):
            ref[sum(bits)] += np.prod([p[r, i] if b else 1 - p[r, i] for i, b in enumerate(bits)])
        assert np.allclose(d[r], ref, atol=1e-14)


def test_expected_win_rate_exact():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(4, 5, 3))
    # self-play is exactly even for any policy
    assert np.allclose(sp.expected_win_rate(logits, 100.0, True, 0.0), 0.5, atol=1e-12)
    # against a fixed rating: Monte Carlo over sampled moves and outcomes
    pi0 = np.exp(logits[..., 0]) / np.exp(logits).sum(axis=-1)
    exact = sp.expected_win_rate(logits, 100.0, False, 250.0)
    for r in range(4):
        m = (rng.random((200_000, 5)) < pi0[r]).sum(axis=1)
        mc = sp.elo_win_prob(100.0 * m - 250.0).mean()
        assert mc == pytest.approx(exact[r], abs=3e-3)
    assert sp.expected_rating(np.zeros((2, 5, 4)), 100.0) == pytest.approx(np.full(2, 125.0))


def test_play_and_learn_batch_invariance_and_symmetry():
    ss = np.random.SeedSequence(8).spawn(4)
    opp = ["self", 300.0, "self", 500.0]
    big = sp.play_and_learn(opp, 4, 5, 100.0, 0.3, 300, [np.random.default_rng(s) for s in ss], block=64)
    small = sp.play_and_learn(opp[:2], 4, 5, 100.0, 0.3, 300, [np.random.default_rng(s) for s in ss[:2]], block=64)
    assert np.array_equal(big.rating[:, :2], small.rating)
    assert np.array_equal(big.wins[:2], small.wins)
    assert np.allclose(big.win_rate[:, [0, 2]], 0.5, atol=1e-12)


@pytest.mark.parametrize("baseline", ["mean", "none"])
def test_learner_improves(baseline):
    ss = np.random.SeedSequence(9).spawn(8)
    run = sp.play_and_learn(["self"] * 4 + [400.0] * 4, 6, 6, 100.0, 0.3, 1500, [np.random.default_rng(s) for s in ss],
                            target_rating=300.0, baseline=baseline)
    start = 100.0 * 6 / 6
    assert run.rating[0] == pytest.approx(np.full(8, start))
    if baseline == "mean":
        assert np.all(run.rating[-1] > start + 150)
    else:  # without a baseline, wins also reinforce wrong moves; some runs lock in early, but most improve
        assert np.median(run.rating[-1]) > start + 150
    # games_to_target is the first game at which the recorded rating reaches the target
    for r in range(8):
        g = run.games_to_target[r]
        if not np.isfinite(g):
            assert np.all(run.rating[:, r] < 300.0)
            continue
        reached = run.games[run.rating[:, r] >= 300.0]
        assert reached.size == 0 or reached[0] >= g


@pytest.mark.parametrize("call,match", [
    (lambda: sp.play_and_learn(["self"], 0, 5, 100, 0.1, 10, [np.random.default_rng(0)]), "K=0"),
    (lambda: sp.play_and_learn(["self"], 3, 5, 100, 0.1, 10, [np.random.default_rng(0)], baseline="x"),
     "baseline='x'"),
    (lambda: sp.play_and_learn(["self", 100], 3, 5, 100, 0.1, 10, [np.random.default_rng(0)]), "opponents"),
    (lambda: sp.play_and_learn(["slef"], 3, 5, 100, 0.1, 10, [np.random.default_rng(0)]), "opponent='slef'"),
    (lambda: sp.play_and_learn(["self"], 3, 5, -1, 0.1, 10, [np.random.default_rng(0)]), "elo_per_move=-1"),
    (lambda: sp.elo_win_prob(float("nan")), "NaN"),
    (lambda: sp.elo_mle_spread(0.0, 1, 10, np.random.default_rng(0)), "n=1"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


@pytest.mark.parametrize("baseline", ["none", "mean"])
def test_compiled_kernel_matches_the_numpy_reference(baseline):
    """The compiled play_and_learn makes the same moves and updates as the batched-numpy reference."""
    ss = np.random.SeedSequence(11).spawn(6)
    opp = ["self", "self", 250.0, 250.0, 600.0, 40.0]
    args = (opp, 5, 4, 80.0, 0.4, 700)
    new = sp.play_and_learn(*args, [np.random.default_rng(s) for s in ss], baseline=baseline, target_rating=250.0,
                            block=128)
    ref = sp.play_and_learn_reference(*args, [np.random.default_rng(s) for s in ss], baseline=baseline,
                                      target_rating=250.0, block=128)
    assert np.array_equal(new.games, ref.games)
    assert np.array_equal(new.wins, ref.wins)
    assert np.array_equal(new.games_to_target, ref.games_to_target)
    np.testing.assert_allclose(new.rating, ref.rating, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(new.win_rate, ref.win_rate, rtol=1e-12, atol=1e-12)
