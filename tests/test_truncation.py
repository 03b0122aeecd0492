"""Tests of rlbits.truncation (chapter 3): the top-k / tempered learner, event by event against a per-sample loop."""

import math

import numpy as np
import pytest

from rlbits import truncation


# ---------------------------------------------------------------- truncated support
def _start(V=60, rank=40, seed=0):
    theta = np.random.default_rng(seed).normal(size=V)
    return theta, int(np.argsort(-theta, kind="stable")[rank - 1])


def test_sampling_policy():
    theta, answer = _start()
    pol = truncation.sampling_policy(theta, 10, 1.0)
    assert np.count_nonzero(pol) == 10 and pol.sum() == pytest.approx(1.0)
    assert pol[answer] == 0.0
    full = truncation.sampling_policy(theta, theta.size, 0.5)
    z = np.exp(2 * (theta - theta.max()))
    assert np.allclose(full, z / z.sum())


def test_excluded_answer_never_learns():
    theta, answer = _start()
    for n in (10, 10**6, 10**12):
        t, r = truncation.truncated_reinforce_run(theta, answer, 10, 1.0, 0.5, n, np.random.default_rng(1))
        assert list(t) == [0] and list(r) == [0.0]


def test_kept_answer_learns_and_event_sim_matches_per_sample_loop():
    theta, answer = _start()
    k, lr, T = 50, 1.0, 1.0
    reach = [truncation.samples_to_reach(*truncation.truncated_reinforce_run(theta, answer, k, T, lr, 10**6,
                                                                         np.random.default_rng(s)), 0.5)
             for s in range(200)]
    assert all(np.isfinite(reach))

    # an independent per-sample loop (no event skipping), same learner
    def per_sample(seed):
        th = theta.copy()
        rng = np.random.default_rng(seed)
        for n in range(1, 10**6):
            pol = truncation.sampling_policy(th, k, T)
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
    assert list(truncation.pass_rate_at(times, rates, [0, 4, 5, 8, 9, 100])) == [0.1, 0.1, 0.4, 0.4, 0.8, 0.8]
    assert truncation.samples_to_reach(times, rates, 0.5) == 9
    assert truncation.samples_to_reach(times, rates, 0.9) == math.inf


def test_penalised_run_cannot_depend_on_an_excluded_answer():
    theta, _ = _start(V=80)
    order = np.argsort(-theta, kind="stable")
    runs = [truncation.penalised_topk_run(theta, int(order[r]), 10, 0.5, 400, np.random.default_rng(4))
            for r in (60, 79)]
    (e1, a1, t1), (e2, a2, t2) = runs
    assert e1 is None and e2 is None
    assert np.array_equal(a1, a2) and np.array_equal(t1, t2)
    # with reward 0 for a fail (no penalty) nothing moves at all
    e0, a0, t0 = truncation.penalised_topk_run(theta, int(order[60]), 10, 0.5, 400, np.random.default_rng(4),
                                             fail_reward=0.0)
    assert e0 is None and np.array_equal(t0, theta)


def test_penalised_run_lets_a_near_answer_in():
    theta, _ = _start(V=80)
    order = np.argsort(-theta, kind="stable")
    entries = [truncation.penalised_topk_run(theta, int(order[10]), 10, 0.5, 5000, np.random.default_rng(s))[0]
               for s in range(5)]
    assert all(e is not None for e in entries)
    # the logits' sum over the kept set is conserved by each update (the score sums to zero)
    e, a, th = truncation.penalised_topk_run(theta, int(order[70]), 10, 0.5, 50, np.random.default_rng(0))
    assert th.sum() == pytest.approx(theta.sum(), abs=1e-9)
