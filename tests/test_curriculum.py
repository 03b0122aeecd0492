"""Tests of rlbits.curriculum: the logit-gap reduction against a full softmax, the exact RL waiting times against
brute-force sampling, and the event-driven task-family simulator against a per-sample simulation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbits import curriculum as cu
from rlbits.validate import ParameterError


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 500), st.floats(-5, 20), st.floats(0.01, 3))
def test_sl_increment_matches_full_softmax_step(V, gap, lr):
    z = np.zeros(V)
    z[0] = gap
    pi = softmax(z)
    assert cu.pass_rate(gap, V) == pytest.approx(pi[0], rel=1e-12)
    z_new = z + lr * (np.eye(V)[0] - pi)  # SL step = rewarded REINFORCE step on the right token
    assert np.allclose(z_new[1:], z_new[1])  # the wrong logits stay equal
    assert z_new[0] - z_new[1] - gap == pytest.approx(cu.sl_increment(gap, V, lr), rel=1e-10, abs=1e-14)


def test_gap_round_trip_and_uniform_start():
    for V in [2, 10, 100_000]:
        assert cu.pass_rate(0.0, V) == pytest.approx(1 / V)
        for p in [1e-6, 0.3, 0.99]:
            assert cu.pass_rate(cu.gap_for_pass_rate(p, V), V) == pytest.approx(p, rel=1e-12)


def test_sl_path_monotone_and_reaches_target():
    path = cu.sl_path(1000, 0.5, 1e-3, 0.95)
    assert np.all(np.diff(path) > 0)
    assert path[-1] >= 0.95 > path[-2]
    assert cu.sl_steps_to(1000, 0.5, 1e-3, 0.95) == len(path) - 1


def brute_force_rl_samples(V, lr, p_target, rng):
    """REINFORCE (0/1 reward, no baseline) on a full V-logit softmax, one sampled token per step."""
    z = np.zeros(V)
    n = 0
    while True:
        pi = softmax(z)
        if pi[0] >= p_target:
            assert np.allclose(z[1:], z[1])
            return n
        a = rng.choice(V, p=pi)
        n += 1
        if a == 0:
            z += lr * (np.eye(V)[0] - pi)


def test_rl_waiting_times_match_brute_force():
    V, lr, target = 6, 0.7, 0.9
    path = cu.sl_path(V, lr, 1 / V, target)
    mean, var = cu.rl_expected_samples(path)
    ss = np.random.SeedSequence(5)
    brute = np.array([brute_force_rl_samples(V, lr, target, np.random.default_rng(s)) for s in ss.spawn(1500)])
    assert abs(brute.mean() - mean) < 4 * math.sqrt(var / brute.size)
    assert brute.var(ddof=1) == pytest.approx(var, rel=0.2)
    exact = cu.rl_samples_on_path(path, [np.random.default_rng(s) for s in ss.spawn(3000)])
    assert abs(exact.mean() - mean) < 4 * math.sqrt(var / exact.size)


def test_rl_expected_samples_formula():
    path = np.array([0.1, 0.5, 0.95])
    mean, var = cu.rl_expected_samples(path)
    assert mean == pytest.approx(10 + 2)
    assert var == pytest.approx(0.9 / 0.01 + 0.5 / 0.25)


def test_warm_start_levels():
    V = 1000
    cold = cu.warm_start(V, 1.0, 1e-4, 0.9)  # below 1/V: no SFT
    assert cold.sft_steps == 0 and cold.p0 == pytest.approx(1 / V)
    warm = cu.warm_start(V, 1.0, 0.05, 0.9)
    assert warm.p0 >= 0.05 and warm.sft_steps == cu.sl_steps_to(V, 1.0, 1 / V, 0.05)
    assert warm.rl_mean < cold.rl_mean / 10
    assert warm.rl_path[0] == pytest.approx(warm.p0) and warm.rl_path[-1] >= 0.9


def test_sampler_weights():
    P = np.array([[0.95, 0.5, 1e-3], [0.2, 0.01, 1e-4], [0.99, 0.95, 0.92]])
    for s in cu.SAMPLERS:
        q = cu.sampler_weights(s, P, 0.9)
        assert q.shape == P.shape and np.allclose(q.sum(axis=1), 1)
    e2h = cu.sampler_weights("easy-to-hard", P, 0.9)
    assert list(e2h.argmax(axis=1)) == [1, 0, 2]
    pq = cu.sampler_weights("p(1-p)", P, 0.9)
    assert np.allclose(pq[0], P[0] * (1 - P[0]) / np.sum(P[0] * (1 - P[0])))
    assert np.all(cu.sampler_weights("hardest only", P, 0.9)[:, -1] == 1)


def per_sample_curriculum(mode, sampler, V, D, lr, mastery, rng):
    """Reference: one sample at a time, tokens actually sampled from each position's softmax."""
    gaps = np.zeros(D)
    n = 0
    while cu.task_pass_rates(gaps, V)[-1] < mastery:
        P = cu.task_pass_rates(gaps, V)
        q = cu.sampler_weights(sampler, P[None, :], mastery)[0]
        d = rng.choice(D, p=q)
        n += 1
        if mode == "RL":
            p = cu.pass_rate(gaps, V)
            if not np.all(rng.random(d + 1) < p[: d + 1]):
                continue
        gaps[: d + 1] += cu.sl_increment(gaps[: d + 1], V, lr)
    return n


@pytest.mark.parametrize("sampler", ["uniform", "p(1-p)", "easy-to-hard"])
def test_event_driven_rl_matches_per_sample_simulation(sampler):
    V, D, lr, mastery = 3, 3, 1.0, 0.8
    ss = np.random.SeedSequence(11)
    ref = np.array([per_sample_curriculum("RL", sampler, V, D, lr, mastery, np.random.default_rng(s))
                    for s in ss.spawn(400)])
    ev = cu.run_curriculum("RL", sampler, V, D, lr, mastery, [np.random.default_rng(s) for s in ss.spawn(2000)])
    se = math.sqrt(ref.var(ddof=1) / ref.size + ev.samples.var(ddof=1) / ev.samples.size)
    assert abs(ref.mean() - ev.samples.mean()) < 4 * se


def test_sl_uniform_matches_per_sample_simulation():
    V, D, lr, mastery = 4, 3, 1.0, 0.8
    ss = np.random.SeedSequence(12)
    ref = np.array([per_sample_curriculum("SL", "uniform", V, D, lr, mastery, np.random.default_rng(s))
                    for s in ss.spawn(400)])
    ev = cu.run_curriculum("SL", "uniform", V, D, lr, mastery, [np.random.default_rng(s) for s in ss.spawn(1000)])
    se = math.sqrt(ref.var(ddof=1) / ref.size + ev.samples.var(ddof=1) / ev.samples.size)
    assert abs(ref.mean() - ev.samples.mean()) < 4 * se


def test_runs_independent_of_batch_size():
    ss = np.random.SeedSequence(3).spawn(5)
    big = cu.run_curriculum("RL", "uniform", 5, 4, 1.0, 0.9, [np.random.default_rng(s) for s in ss], block=7)
    small = cu.run_curriculum("RL", "uniform", 5, 4, 1.0, 0.9, [np.random.default_rng(s) for s in ss[:2]], block=7)
    assert np.array_equal(big.samples[:2], small.samples)
    assert np.array_equal(big.mean_bits_per_sample[:2], small.mean_bits_per_sample)


def test_deterministic_cases_and_first_wait():
    V, D = 5, 4
    sl = cu.run_curriculum("SL", "hardest only", V, D, 1.0, 0.9, [np.random.default_rng(0)])
    assert sl.samples[0] == cu.sl_steps_to(V, 1.0, 1 / V, 0.9 ** (1 / D))
    assert sl.mean_bits_per_sample[0] > 0
    ss = np.random.SeedSequence(4).spawn(4000)
    rl = cu.run_curriculum("RL", "hardest only", V, D, 1.0, 0.9, [np.random.default_rng(s) for s in ss])
    first = rl.trace_samples[1]
    assert abs(first.mean() / V**D - 1) < 4 / math.sqrt(first.size)
    assert np.all(rl.updates == sl.samples[0])  # RL takes the same steps, it only waits longer
    grid = np.array([0.0, 1e9])
    h = rl.hardest_at(grid)
    assert np.all(h[:, 0] == pytest.approx(V ** -D)) and np.all(h[:, 1] >= 0.9)


@pytest.mark.parametrize("call,match", [
    (lambda: cu.run_curriculum("RLHF", "uniform", 5, 3, 1.0, 0.9, [np.random.default_rng(0)]), "mode='RLHF'"),
    (lambda: cu.run_curriculum("RL", "random", 5, 3, 1.0, 0.9, [np.random.default_rng(0)]), "sampler='random'"),
    (lambda: cu.run_curriculum("RL", "uniform", 1, 3, 1.0, 0.9, [np.random.default_rng(0)]), "V=1"),
    (lambda: cu.run_curriculum("RL", "uniform", 5, 3, 1.0, 1.2, [np.random.default_rng(0)]), "mastery=1.2"),
    (lambda: cu.run_curriculum("RL", "uniform", 5, 3, 1.0, 0.9, []), "rngs"),
    (lambda: cu.sl_path(100, -1.0, 0.01, 0.9), "lr=-1.0"),
    (lambda: cu.warm_start(100, 1.0, 0.95, 0.9), "level=0.95"),
    (lambda: cu.gap_for_pass_rate(0.0, 10), "p=0.0"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_agrees_with_the_chapter_6_engine():
    """Two independent implementations of the same learner (rlbits.learners, chapter 6) must agree."""
    learners = pytest.importorskip("rlbits.learners")
    if not hasattr(learners, "sl_samples_to") or not hasattr(learners, "reinforce_samples_to"):
        pytest.skip("rlbits.learners has a different API")
    V, eta = 500, 0.5
    thresholds = [0.1, 0.5, 0.9]
    sl = learners.sl_samples_to(V, thresholds, eta)
    assert list(sl) == [cu.sl_steps_to(V, eta, 1 / V, t) for t in thresholds]
    rl = learners.reinforce_samples_to(V, thresholds, np.random.SeedSequence(21), 3000, eta)
    for j, t in enumerate(thresholds):
        mean, var = cu.rl_expected_samples(cu.sl_path(V, eta, 1 / V, t))
        assert abs(rl[:, j].mean() - mean) < 4 * math.sqrt(var / rl.shape[0])


def test_error_rate_counts_the_failed_samples():
    """RL: the failures are exactly the samples minus the updates; SL: the expected failures of the sampled tasks."""
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(5).spawn(6)]
    run = cu.run_curriculum("RL", "uniform", 4, 3, 1.0, 0.9, rngs)
    np.testing.assert_allclose(run.mean_error_rate, 1 - run.updates / run.samples, rtol=1e-12)
    sl = cu.run_curriculum("SL", "hardest only", 4, 3, 1.0, 0.9, [np.random.default_rng(0)])
    # SL on the hardest task: the chance of failing it at each step, averaged over the deterministic path
    p = lambda g: 1 / (1 + 3 * math.exp(-g))  # noqa: E731
    gap, fails, steps = 0.0, 0.0, 0
    while p(gap) ** 3 < 0.9:
        fails += 1 - p(gap) ** 3
        gap += 1.0 * (1 - p(gap)) * 4 / 3
        steps += 1
    assert sl.mean_error_rate[0] == pytest.approx(fails / steps, rel=1e-12)
