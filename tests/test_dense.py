"""Tests of rlbits.dense (chapter 10): the T-step chain learners, the rollout-cut accounting and the Goodhart flow."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbits import dense


def gens(seed, n):
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def brute_force_outcome(T, p0, alpha, target, rng, max_episodes=10**6):
    """The outcome learner simulated episode by episode, with a separate logit per step (no event-driven shortcut)."""
    theta = np.full(T, math.log(p0 / (1 - p0)))
    for n in range(max_episodes):
        p = 1 / (1 + np.exp(-theta))
        if np.prod(p) >= target:
            return n
        x = rng.random(T) < p
        R = float(x.all())
        theta += alpha * R * (x - p)
    raise AssertionError("did not converge")


def test_outcome_schedule_stops_at_target():
    J = dense.outcome_schedule(10, 0.8, 0.5, 0.9)
    assert J[0] == pytest.approx(0.8**10)
    assert np.all(np.diff(J) > 0) and J[-1] < 0.9
    # one more pass would cross the target
    p = J[-1] ** 0.1
    theta = math.log(p / (1 - p)) + 0.5 * (1 - p)
    assert (1 / (1 + math.exp(-theta))) ** 10 >= 0.9
    assert dense.outcome_schedule(2, 0.99, 0.5, 0.9).size == 0


def test_event_driven_outcome_matches_brute_force():
    T, p0, alpha, target = 4, 0.6, 0.7, 0.8
    exact = dense.outcome_mean_episodes(T, p0, alpha, target)
    rngs = gens(1, 3000)
    brute = np.array([brute_force_outcome(T, p0, alpha, target, r) for r in rngs])
    assert brute.mean() == pytest.approx(exact, abs=5 * brute.std() / math.sqrt(brute.size))
    ev = dense.outcome_episodes(T, p0, alpha, target, gens(2, 3000))
    assert ev.mean() == pytest.approx(exact, abs=5 * ev.std() / math.sqrt(ev.size))


def test_process_equals_outcome_for_one_step():
    # with T = 1 the step reward is the outcome: the two learners are the same process
    exact = dense.outcome_mean_episodes(1, 0.3, 0.5, 0.9)
    pr = dense.process_episodes(1, 0.3, 0.5, 0.9, gens(3, 2000))
    assert pr.mean() == pytest.approx(exact, abs=5 * pr.std() / math.sqrt(pr.size))


def test_process_mean_field_closed_form():
    # antiderivative of 1/(p^2 (1-p)^2) derived in chapter 10
    F = lambda p: 2 * math.log(p / (1 - p)) + 1 / (1 - p) - 1 / p
    T, p0, alpha, target = 10, 0.8, 0.5, 0.9
    closed = (F(target ** (1 / T)) - F(p0)) / alpha
    assert dense.ode_episodes(T, p0, alpha, target, "process") == pytest.approx(closed, rel=1e-6)
    pr = dense.process_episodes(T, p0, alpha, target, gens(4, 64))
    assert pr.mean() == pytest.approx(closed, rel=0.05)


def test_runs_do_not_depend_on_batch_size():
    g4 = gens(5, 4)
    g2 = gens(5, 2)
    a = dense.process_episodes(6, 0.8, 0.5, 0.9, g4)
    b = dense.process_episodes(6, 0.8, 0.5, 0.9, g2)
    assert np.array_equal(a[:2], b)
    ea, sa = dense.value_episodes(6, 0.8, 0.5, 0.9, gens(6, 4))
    eb, sb = dense.value_episodes(6, 0.8, 0.5, 0.9, gens(6, 2))
    assert np.array_equal(ea[:2], eb) and np.array_equal(sa[:2], sb)


def test_value_learner_steps_are_bounded():
    T = 8
    ep, steps = dense.value_episodes(T, 0.8, 0.5, 0.9, gens(7, 16))
    assert np.all(ep > 0)
    assert np.all(steps >= ep) and np.all(steps <= T * ep)


def test_expected_steps_cut_monte_carlo():
    p = np.array([0.9, 0.5, 0.7, 0.8])
    rng = np.random.default_rng(8)
    x = rng.random((200_000, p.size)) < p
    steps = np.where(x.all(axis=1), p.size, np.argmin(x, axis=1) + 1)
    assert steps.mean() == pytest.approx(dense.expected_steps_cut(p), rel=0.01)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.01, 0.99), min_size=1, max_size=30))
def test_expected_steps_cut_bounds(ps):
    e = dense.expected_steps_cut(ps)
    assert 1 - 1e-12 <= e <= len(ps) + 1e-12


def test_cut_rollouts_cost_between_one_and_T_steps_per_episode():
    for T in (3, 10, 30):
        eps = dense.outcome_mean_episodes(T, 0.8, 0.5, 0.9)
        cut = dense.outcome_mean_steps_cut(T, 0.8, 0.5, 0.9)
        assert eps <= cut <= T * eps


def test_goodhart_flow():
    out = dense.goodhart_flow([0.5, 0.1, 0.4], [0.8, 1.0, 0.0], 400, 1.0, T=10)
    assert np.all(np.diff(out["proxy"]) > -1e-12)
    assert out["right"].argmax() > 0 and out["right"][-1] < 0.05
    assert out["pass_rate"] == pytest.approx(out["right"] ** 10)
    honest = dense.goodhart_flow([0.5, 0.1, 0.4], [1.0, 0.0, 0.0], 400, 1.0)
    assert np.all(np.diff(honest["right"]) > 0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.05, 1.0), min_size=2, max_size=5), st.lists(st.floats(-2, 2), min_size=5, max_size=5))
def test_goodhart_proxy_never_falls(w, proxy):
    pi0 = np.array(w) / np.sum(w)
    out = dense.goodhart_flow(pi0, proxy[: pi0.size], 50, 0.5)
    assert np.all(np.diff(out["proxy"]) > -1e-9)


@pytest.mark.parametrize("kwargs, word", [
    (dict(T=0, p0=0.5, alpha=0.5, target=0.9), "T=0"),
    (dict(T=5, p0=1.2, alpha=0.5, target=0.9), "p0=1.2"),
    (dict(T=5, p0=0.5, alpha=-1.0, target=0.9), "alpha=-1.0"),
    (dict(T=5, p0=0.5, alpha=0.5, target=1.0), "target=1.0"),
])
def test_bad_inputs(kwargs, word):
    with pytest.raises(ValueError, match=word):
        dense.outcome_schedule(**kwargs)
    with pytest.raises(ValueError, match=word):
        dense.ode_episodes(signal="process", **kwargs)


def test_bad_goodhart_inputs():
    with pytest.raises(ValueError, match="pi0"):
        dense.goodhart_flow([0.5, 0.6], [1, 0], 10, 1.0)
    with pytest.raises(ValueError, match="signal"):
        dense.ode_episodes(5, 0.5, 0.5, 0.9, "value")


def test_run_chain_adds_runs_without_changing_old_ones():
    small = dense.run_chain([3, 6], 0.8, 0.5, 0.9, np.random.SeedSequence(9), 2, T_value_max=3)
    big = dense.run_chain([3, 6], 0.8, 0.5, 0.9, np.random.SeedSequence(9), 5, T_value_max=3)
    assert set(small["value"]) == {3}
    for name in ("outcome", "process", "value", "value_steps"):
        for T in small[name]:
            assert np.array_equal(small[name][T], big[name][T][:2])


def test_run_chain_streams_do_not_depend_on_the_list_of_lengths():
    a = dense.run_chain([4, 8], 0.8, 0.5, 0.9, np.random.SeedSequence(10), 3, T_value_max=8)
    b = dense.run_chain([8], 0.8, 0.5, 0.9, np.random.SeedSequence(10), 3, T_value_max=8)
    for name in ("outcome", "process", "value"):
        assert np.array_equal(a[name][8], b[name][8])


def test_noisy_process_judge_slows_by_one_minus_two_eps():
    """A judge that flips each step's reward with probability eps shrinks the expected update by 1 - 2 eps."""
    T, p0, alpha, target = 10, 0.7, 0.5, 0.9
    base = dense.ode_episodes(T, p0, alpha, target, "process")
    seeds = np.random.SeedSequence(3).spawn(200)
    for eps in (0.1, 0.3):
        ep = dense.process_episodes(T, p0, alpha, target, [np.random.default_rng(s) for s in seeds], flip=eps)
        assert ep.mean() == pytest.approx(base / (1 - 2 * eps), rel=0.08)
    # flip = 0 is the exact judge, stream for stream
    a = dense.process_episodes(T, p0, alpha, target, [np.random.default_rng(s) for s in seeds[:8]])
    b = dense.process_episodes(T, p0, alpha, target, [np.random.default_rng(s) for s in seeds[:8]], flip=0.0)
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="flip"):
        dense.process_episodes(T, p0, alpha, target, [np.random.default_rng(0)], flip=0.5)


def test_noisy_update_expectation_by_enumeration():
    """E[reward (x - p)] over x ~ Bernoulli(p) and the flip, enumerated: (1 - 2 eps) p (1 - p)."""
    for p in (0.2, 0.7):
        for eps in (0.0, 0.15, 0.4):
            e = sum(px * pf * (x ^ f) * (x - p) for x, px in ((1, p), (0, 1 - p)) for f, pf in ((1, eps), (0, 1 - eps)))
            assert e == pytest.approx((1 - 2 * eps) * p * (1 - p), rel=1e-12)


def test_proxy_correlation_matches_a_weighted_sample_correlation():
    pi0, proxy = np.array([0.5, 0.1, 0.4]), np.array([0.8, 1.0, 0.0])
    # draw moves from pi0 and correlate their scores with the indicator of the right move
    moves = np.random.default_rng(0).choice(3, size=400_000, p=pi0)
    mc = np.corrcoef(proxy[moves], (moves == 0).astype(float))[0, 1]
    assert abs(dense.proxy_correlation(pi0, proxy) - mc) < 0.005
    # a proxy that scores only the right move is perfectly correlated with it; one that inverts it, perfectly against
    assert dense.proxy_correlation(pi0, [1.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert dense.proxy_correlation(pi0, [0.0, 1.0, 1.0]) == pytest.approx(-1.0)


def test_proxy_correlation_refuses_a_constant_proxy_or_bad_policy():
    with pytest.raises(ValueError, match="constant"):
        dense.proxy_correlation([0.5, 0.5], [1.0, 1.0])
    with pytest.raises(ValueError, match="pi0"):
        dense.proxy_correlation([1.0, 0.0], [1.0, 0.0])
