"""Tests of rlbits.search_targets (chapter 11): the search, the policy fit, REINFORCE and the quality measure."""

import numpy as np
import pytest

from rlbits import search_targets as st


@pytest.fixture(scope="module")
def game():
    rng = np.random.default_rng(0)
    W = st.make_game(5, 4, 3.0, rng)
    return W, rng.standard_normal((3000, 4))


def test_search_visits(game):
    W, X = game
    visits = st.ucb_search(st.win_prob(W, X[:500]), 40, np.random.default_rng(1))
    assert np.all(visits.sum(axis=1) == 40) and np.all(visits >= 1)
    # with many playouts the most visited move is usually the best one
    many = st.ucb_search(st.win_prob(W, X[:500]), 2000, np.random.default_rng(2))
    best = st.win_prob(W, X[:500]).argmax(axis=1)
    assert np.mean(many.argmax(axis=1) == best) > 0.8


def test_fit_policy_is_a_stationary_point_and_recovers_a_softmax(game):
    W, X = game
    Theta_true = np.random.default_rng(3).standard_normal((5, 4))
    Z = X @ Theta_true.T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    theta = st.fit_policy(X, P, l2=1e-6, iters=3000, tol=1e-9)
    Zf = X @ theta.T
    Pf = np.exp(Zf - Zf.max(axis=1, keepdims=True))
    Pf /= Pf.sum(axis=1, keepdims=True)
    assert np.abs(Pf - P).max() < 0.01
    grad = (Pf - P).T @ X / len(X) + 1e-6 * theta
    assert np.abs(grad).max() < 1e-8


def test_fit_policy_matches_plain_gradient_descent():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 3))
    T = rng.dirichlet(np.ones(4), size=200)
    theta = st.fit_policy(X, T, l2=0.1, iters=2000, tol=1e-12)
    th = np.zeros((4, 3))
    for _ in range(5000):
        Z = X @ th.T
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        th -= 0.5 * ((P - T).T @ X / 200 + 0.1 * th)
    assert theta == pytest.approx(th, abs=1e-6)


def test_reinforce_improves_and_is_per_run(game):
    W, X = game
    Xs = np.stack([X[:1500], X[1500:]])
    gens = lambda: [np.random.default_rng(s) for s in np.random.SeedSequence(5).spawn(2)]
    pol = st.reinforce_policy(W, Xs, 1.0, gens(), [0, 1500])
    assert np.all(pol[:, 0] == 0)
    assert all(st.policy_quality(pol[r, 1], W, X) > 0.3 for r in range(2))
    one = st.reinforce_policy(W, Xs[:1], 1.0, gens()[:1], [0, 1500])
    assert np.array_equal(one[0], pol[0])


def test_quality_scale(game):
    W, X = game
    V = st.win_prob(W, X)
    assert st.policy_quality(np.zeros_like(W), W, X, greedy=False) == pytest.approx(0.0, abs=1e-12)
    assert st.target_quality(np.eye(5)[V.argmax(axis=1)], W, X) == pytest.approx(1.0)
    assert st.policy_quality(W, W, X) == pytest.approx(1.0)  # argmax of W x is the best move


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_sims=3"):
        st.ucb_search(np.full((2, 5), 0.5), 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="K=1"):
        st.make_game(1, 3, 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="l2=0"):
        st.fit_policy(np.ones((3, 2)), np.full((3, 2), 0.5), l2=0.0)
    with pytest.raises(ValueError, match="checkpoints"):
        st.reinforce_policy(np.ones((2, 2)), np.ones((1, 3, 2)), 1.0, [np.random.default_rng(0)], [5])


def test_run_recipe_shapes_and_order(game):
    W, X = game
    gens = lambda seed: [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
    Xs = np.stack([X[:300], X[300:600]])
    quality, sq = st.run_recipe(W, Xs, gens(1), [gens(2), gens(3)], [30, 300], 20, X[2000:], c=1.0)
    assert set(quality) == {"visits", "chosen", "outcome", "outcome_sims"}
    assert all(v.shape == (2, 2) for v in quality.values())
    assert 0 < sq <= 1
    # more positions help every learner, and the soft target beats the one-hot one on average
    assert all(quality[k][:, 1].mean() > quality[k][:, 0].mean() for k in quality)
    assert quality["visits"].mean() > quality["chosen"].mean()


def test_paired_gap_is_a_t_interval():
    from scipy.stats import t

    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.1, (12, 3)), rng.normal(0.9, 0.1, (12, 3))
    m, lo, hi = st.paired_gap(a, b)
    d = a - b
    half = t.ppf(0.975, 11) * d.std(axis=0, ddof=1) / np.sqrt(12)
    np.testing.assert_allclose(m, d.mean(axis=0))
    np.testing.assert_allclose(hi - lo, 2 * half)
    m1, lo1, hi1 = st.paired_gap(a[:1], b[:1])
    assert np.all(np.isinf(lo1)) and np.all(np.isinf(hi1))
    with pytest.raises(ValueError):
        st.paired_gap(a, b[:, :2])


def test_below_saturation_picks_the_largest_unsaturated_size():
    assert st.below_saturation([[0.5, 0.9, 0.97], [0.4, 0.8, 0.9]], [10, 30, 100], 0.95) == 1
    assert st.below_saturation([[0.96, 0.99]], [10, 30], 0.95) is None
    assert st.below_saturation([[0.95]], [10], 0.95) == 0  # at the level counts as below


def test_win_bias_makes_wins_rare(game):
    W, X = game
    assert st.win_prob(W, X).mean() == pytest.approx(0.5, abs=0.03)
    assert st.win_prob(W, X, -4.0).mean() < 0.1
