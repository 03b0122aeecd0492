"""Unit tests of rlbits.worldmodel (chapter 13: outcome bits vs observation bits in a combination lock)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as hst

from rlbits import worldmodel as wm
from rlbits.validate import ParameterError


def simulate(P, policy, horizon, episodes, rng):
    """Plain-Python Monte Carlo of the success probability (independent of the batched code)."""
    n_states = P.shape[0]
    wins = 0
    for _ in range(episodes):
        s = 0
        for t in range(horizon):
            if s == n_states - 1:
                break
            if policy.dtype.kind in "iu":
                a = policy[t, s]
            else:
                a = rng.choice(P.shape[1], p=policy[s])
            s = rng.choice(n_states, p=P[s, a])
        wins += s == n_states - 1
    return wins / episodes


def test_lock_structure():
    P = wm.make_lock(np.random.default_rng(0), depth=5, n_actions=3, slip=0.1)
    assert P.shape == (6, 3, 6)
    assert np.allclose(P.sum(axis=2), 1.0)
    assert np.all(P[5, :, 5] == 1.0)  # the goal is absorbing
    for s in range(5):
        forward = P[s, :, s + 1]
        assert np.sum(forward > 0.5) == 1 and forward.max() == pytest.approx(0.9)  # exactly one right action
        assert np.all(P[s, :, s + 2:] == 0)  # nothing ever jumps ahead
        wrong = np.argsort(forward)[:-1]
        assert np.all(P[s, wrong, s + 1] == 0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(depth=0, n_actions=2, slip=0.1), "depth=0"),
    (dict(depth=3, n_actions=1, slip=0.1), "n_actions=1"),
    (dict(depth=3, n_actions=2, slip=1.0), "slip=1.0"),
])
def test_lock_validation(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        wm.make_lock(np.random.default_rng(0), **kwargs)


def test_success_probability_depth_one_closed_form():
    """Depth 1 without slips: every wrong action stays at 0, so p = 1 - (1 - 1/A)^T."""
    A, T = 4, 7
    P = wm.make_locks(np.random.SeedSequence(1).spawn(3), 1, A, 0.0)
    p = wm.success_probability(P, np.full(P.shape[:3], 1 / A), T)
    assert np.allclose(p, 1 - (1 - 1 / A) ** T, rtol=1e-12)
    assert np.allclose(wm.optimal_success(P, T), 1.0)


def test_success_probability_by_monte_carlo():
    rng = np.random.default_rng(3)
    P = wm.make_locks(np.random.SeedSequence(4).spawn(1), 3, 3, 0.2)
    T = 8
    pi = rng.dirichlet(np.ones(3), size=4)[None]
    exact = wm.success_probability(P, pi, T)[0]
    mc = simulate(P[0], pi[0], T, 20_000, rng)
    assert abs(mc - exact) < 4 * math.sqrt(exact * (1 - exact) / 20_000)
    actions, planned = wm.plan(P, T)
    exact_plan = wm.success_probability(P, actions, T)[0]
    assert exact_plan == pytest.approx(planned[0], rel=1e-12)  # planning on the true kernel predicts itself
    mc_plan = simulate(P[0], actions[:, 0], T, 20_000, rng)
    assert abs(mc_plan - exact_plan) < 4 * math.sqrt(exact_plan * (1 - exact_plan) / 20_000) + 1e-3
    assert exact_plan >= exact


def test_success_probability_validation():
    P = wm.make_locks(np.random.SeedSequence(0).spawn(2), 2, 2, 0.0)
    with pytest.raises(ParameterError, match="stochastic policy"):
        wm.success_probability(P, np.full((2, 3, 3), 0.5), 4)
    with pytest.raises(ParameterError, match="deterministic policy"):
        wm.success_probability(P, np.zeros((3, 2, 3), dtype=int), 4)
    with pytest.raises(ParameterError, match="P must have shape"):
        wm.success_probability(P[:, :, :, :2], np.full((2, 3, 2), 0.5), 4)


def test_predictive_kl_entropy():
    counts = np.array([[3.0, 0.0, 1.0]])
    q = wm.predictive(counts, 0.5)
    assert np.allclose(q, [[3.5 / 5.5, 0.5 / 5.5, 1.5 / 5.5]])
    with pytest.raises(ParameterError, match="alpha=0"):
        wm.predictive(counts, 0.0)


def test_deterministic_lock_bits_identities():
    """Without slips the truth predicts every observation, so all cross-entropy is learnable: ce = excess."""
    P = wm.make_locks(np.random.SeedSequence(5).spawn(4), 3, 3, 0.0)
    for log in (wm.run_model_free(P, 9, 30, np.random.SeedSequence(6).spawn(4)),
                wm.run_model_based(P, 9, 30, np.random.SeedSequence(6).spawn(4))):
        assert np.allclose(log.noise_bits, 0.0)
        assert np.allclose(log.ce_bits, log.excess_bits, atol=1e-9)
        assert np.allclose(log.excess_bits_realised, log.excess_bits, atol=1e-9)
        assert np.all(log.outcome_bits <= 1.0) and np.all(log.outcome_bits >= 0.0)


def test_first_sighting_costs_log2_n_bits():
    """Depth 1, A = 2, no slips: the model-based learner's first step sees a new transition among n = 2 states."""
    P = wm.make_locks(np.random.SeedSequence(8).spawn(3), 1, 2, 0.0)
    log = wm.run_model_based(P, 4, 1, np.random.SeedSequence(9).spawn(3), alpha=0.1)
    # the plan tries action 0 in state 0 for the whole first episode; its j-th sighting costs log2((j + 2a)/(j + a))
    steps = log.steps[0].astype(int)
    want = [sum(math.log2((j + 0.2) / (j + 0.1)) for j in range(k)) for k in steps]
    assert np.allclose(log.excess_bits[0], want, rtol=1e-12)


def test_model_based_learns_a_deterministic_lock():
    P = wm.make_locks(np.random.SeedSequence(10).spawn(8), 4, 3, 0.0)
    log = wm.run_model_based(P, 12, 40, np.random.SeedSequence(11).spawn(8))
    assert np.allclose(log.success[-1], 1.0)
    assert np.all(wm.episodes_to_reach(log.success, 0.99) <= 4 * 3 + 2)


def test_model_free_is_frozen_until_its_first_success():
    """With a zero baseline and zero rewards, REINFORCE's update is exactly zero."""
    P = wm.make_locks(np.random.SeedSequence(12).spawn(6), 4, 4, 0.0)
    log = wm.run_model_free(P, 6, 60, np.random.SeedSequence(13).spawn(6))
    for j in range(6):
        first = np.argmax(log.reached[:, j]) if log.reached[:, j].any() else 60
        assert np.all(log.success[: first + 1, j] == log.success[0, j])
        if first < 59:
            assert log.success[first + 1, j] != log.success[0, j]


def test_runs_do_not_depend_on_batching():
    ss_env = np.random.SeedSequence(14).spawn(3)
    ss_run = np.random.SeedSequence(15).spawn(3)
    P = wm.make_locks(ss_env, 3, 3, 0.1)
    both = wm.run_model_free(P, 9, 25, ss_run)
    alone = wm.run_model_free(P[2:], 9, 25, ss_run[2:])
    assert np.array_equal(both.success[:, 2], alone.success[:, 0])
    assert np.array_equal(both.ce_bits[:, 2], alone.ce_bits[:, 0])
    with pytest.raises(ParameterError, match="one seed per environment"):
        wm.run_model_free(P, 9, 5, ss_run[:2])


def test_episodes_to_reach():
    s = np.array([[0.1, 0.1], [0.5, 0.2], [0.95, 0.3]])
    assert list(wm.episodes_to_reach(s, 0.9)) == [3, 4]
    assert list(wm.episodes_to_reach(s, np.array([0.5, 0.2]))) == [2, 2]


@settings(max_examples=40, deadline=None)
@given(depth=hst.integers(1, 8), n_actions=hst.integers(2, 6), slip=hst.floats(0.0, 0.9), seed=hst.integers(0, 10**6))
def test_lock_properties(depth, n_actions, slip, seed):
    P = wm.make_lock(np.random.default_rng(seed), depth, n_actions, slip)
    assert np.allclose(P.sum(axis=2), 1.0) and np.all(P >= 0)
    assert np.all(np.triu(P.transpose(1, 0, 2), k=2) == 0)  # never more than one step forward
    Pm = P[None]
    pi = np.full((1, depth + 1, n_actions), 1.0 / n_actions)
    # success within a longer horizon is never less likely (the goal is absorbing), and the optimum beats uniform
    p = [wm.success_probability(Pm, pi, T)[0] for T in (depth, depth + 3, 3 * depth + 3)]
    assert p[0] <= p[1] + 1e-12 <= p[2] + 2e-12
    assert wm.optimal_success(Pm, 3 * depth + 3)[0] >= p[2] - 1e-12
    # fewer than depth steps can never reach the goal
    if depth > 1:
        assert wm.success_probability(Pm, pi, depth - 1)[0] == 0.0


def _enumerate_posterior_entropy(counts, slip, depth, A):
    """Brute force over every lock structure (right action and wrong destinations in every state)."""
    import itertools

    n = depth + 1
    per_state = []
    for s in range(depth):
        options = []
        for r in range(A):
            for dests in itertools.product(range(s + 1), repeat=A - 1):
                row = np.zeros((A, n))
                it = iter(dests)
                for a in range(A):
                    row[a, s + 1 if a == r else next(it)] = 1.0
                row = (1 - slip) * row
                row[:, : s + 1] += slip / (s + 1)
                with np.errstate(divide="ignore"):
                    ll = np.where(counts[s] > 0, counts[s] * np.log(np.where(row > 0, row, 1e-300)), 0.0).sum()
                options.append((r, ll))
        per_state.append(options)
    logs, rights = [], []
    for combo in itertools.product(*per_state):
        logs.append(sum(ll for _, ll in combo))
        rights.append(tuple(r for r, _ in combo))
    w = np.exp(np.array(logs) - max(logs))
    w /= w.sum()
    H = -(w[w > 0] * np.log2(w[w > 0])).sum()
    marg = {}
    for wi, r in zip(w, rights):
        marg[r] = marg.get(r, 0.0) + wi
    v = np.array(list(marg.values()))
    return H, -(v[v > 0] * np.log2(v[v > 0])).sum()


@pytest.mark.parametrize("depth, A, slip, seed", [(2, 2, 0.1, 0), (3, 2, 0.05, 1), (2, 3, 0.2, 2), (2, 2, 0.0, 3)])
def test_lock_posterior_entropy_matches_enumeration(depth, A, slip, seed):
    rng = np.random.default_rng(seed)
    P = wm.make_lock(rng, depth, A, slip)
    counts = np.zeros((1, depth + 1, A, depth + 1))
    for s in range(depth):
        for a in range(A):
            counts[0, s, a] = rng.multinomial(rng.integers(0, 4), P[s, a])
    H, Hr = wm.lock_posterior_entropy(counts, slip)
    He, Hre = _enumerate_posterior_entropy(counts[0], slip, depth, A)
    assert H[0] == pytest.approx(He, abs=1e-9)
    assert Hr[0] == pytest.approx(Hre, abs=1e-9)
    # no data: the prior
    H0, Hr0 = wm.lock_posterior_entropy(np.zeros_like(counts), slip)
    assert (H0[0], Hr0[0]) == pytest.approx(wm.lock_prior_entropy(depth, A), abs=1e-12)


def test_outcome_information_of_a_two_point_mixture():
    # half the locks succeed with 0.1, half with 0.5; one episode: I = H(0.3) - (H(0.1) + H(0.5)) / 2
    def h(p):
        return -p * math.log2(p) - (1 - p) * math.log2(1 - p)

    info, se = wm.outcome_information([0.1, 0.5] * 500, 1)
    assert info == pytest.approx(h(0.3) - (h(0.1) + h(0.5)) / 2, abs=1e-12)
    same, _ = wm.outcome_information([0.3] * 100, 10)
    assert same == pytest.approx(0.0, abs=1e-12)  # every lock alike: the outcomes say nothing about which
    assert wm.outcome_information([0.1, 0.5] * 500, 20)[0] > info


def test_run_logs_information_that_sums_to_the_posterior_drop():
    P = wm.make_locks(np.random.SeedSequence(5).spawn(4), 3, 3, 0.05)
    log = wm.run_model_based(P, 9, 30, np.random.SeedSequence(6).spawn(4))
    prior, prior_right = wm.lock_prior_entropy(3, 3)
    total = log.info_bits.sum(axis=0)
    assert np.all(total <= prior + 1e-9) and np.all(total > 0.5 * prior)
    assert np.all(log.info_right_bits.sum(axis=0) <= prior_right + 1e-9)
    off = wm.run_model_based(P, 9, 30, np.random.SeedSequence(6).spawn(4), track_info=False)
    np.testing.assert_array_equal(off.success, log.success)
    assert not off.info_bits.any()
