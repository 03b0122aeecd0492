"""The AlphaGo recipe in miniature: a policy trained on search visit counts, moves or outcomes (chapter 11).

The game: a position is a feature vector ``x ~ N(0, I_d)``; each of ``K`` moves wins with probability
``v(x, a) = sigmoid(scale * w_a . x)`` (a hidden ``K x d`` matrix ``W``). A search spends ``n_sims`` noisy playouts on a
position (each playout of move ``a`` is a Bernoulli(``v(x, a)``) win), choosing playouts by UCB1, and returns its
visit counts; it plays the most visited move. The policy is a linear softmax ``pi(a | x) = softmax(Theta x)``:

- ``visits``: fit by cross-entropy to the visit distribution (the soft target AlphaGo Zero trains on);
- ``chosen``: fit by cross-entropy to the one-hot move the search played;
- ``outcome``: REINFORCE from the win or loss of the policy's own move, one game per position (and
  ``outcome_batch``: the same with ``n_sims`` games per position, the search's playout budget).

Quality is measured on held-out positions as ``(E_pi v - mean_a v) / (max_a v - mean_a v)``: 0 for a uniform
policy, 1 for always playing the best move.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, softmax

from rlbits.validate import integer, probability, real


def make_game(K, d, scale, rng):
    """The hidden move-value matrix ``W`` (``K x d``, entries ``N(0, 1/d)``) times ``scale``."""
    K = integer("K", K, minimum=2, maximum=1000)
    d = integer("d", d, minimum=1, maximum=1000)
    scale = real("scale", scale, minimum=0.0)
    return scale * rng.standard_normal((K, d)) / math.sqrt(d)


def win_prob(W, X, bias=0.0):
    """``v(x, a) = sigmoid(w_a . x + bias)`` for every row of ``X``: shape ``(len(X), K)``. A negative ``bias``
    makes wins rare."""
    return expit(X @ W.T + bias)


def ucb_search(values, n_sims, rng, c=math.sqrt(2.0)):
    """UCB1 search with ``n_sims`` Bernoulli playouts per position, batched over positions (rows of ``values``).

    Every move is played once, then the move maximising ``mean + c sqrt(ln N / n_a)`` (ties to the lowest index).
    Returns the visit counts, shape ``values.shape``.
    """
    N, K = values.shape
    n_sims = integer("n_sims", n_sims, minimum=K)
    U = rng.random((n_sims, N))
    visits = np.zeros((N, K))
    wins = np.zeros((N, K))
    rows = np.arange(N)
    for s in range(n_sims):
        if s < K:
            a = np.full(N, s)
        else:
            score = wins / visits + c * np.sqrt(math.log(s) / visits)
            a = score.argmax(axis=1)
        visits[rows, a] += 1.0
        wins[rows, a] += U[s] < values[rows, a]
    return visits


def fit_policy(X, targets, l2=1e-3, iters=400, tol=1e-7, theta0=None):
    """Minimise ``mean_n CE(targets_n, softmax(Theta x_n)) + l2/2 ||Theta||^2``; returns ``Theta`` (``K x d``).

    ``targets`` rows are distributions over the ``K`` moves (visit frequencies or one-hot moves). The solver is
    Boehning's bound (the softmax Hessian is at most ``(I - 11'/K)/2`` times ``X'X/N``) used as a fixed
    preconditioner, with Nesterov momentum and a restart whenever the objective rises; it stops when the gradient's
    norm is below ``tol`` (``theta0``: a warm start). It needs only ``K x d`` sized solves, so it stays fast without a multithreaded BLAS.
    """
    X = np.asarray(X, dtype=float)
    T = np.asarray(targets, dtype=float)
    N, d = X.shape
    K = T.shape[1]
    l2 = real("l2", l2, minimum=0.0, open_low=True)
    s, Us = np.linalg.eigh(X.T @ X / N)
    a, Ua = np.linalg.eigh(0.5 * (np.eye(K) - 1.0 / K))
    denom = np.maximum(a, 0.0)[:, None] * np.maximum(s, 0.0)[None, :] + l2

    def f_grad(th):
        # loss and gradient share one exp: a fused log-sum-exp and softmax, written out because
        # scipy.special.logsumexp made each fit 2-4 times slower here (measured: 44 against 12 ms at N = 10)
        Z = X @ th.T
        Zm = Z.max(axis=1, keepdims=True)
        E = np.exp(Z - Zm)
        S = E.sum(axis=1, keepdims=True)
        f = float(np.mean(Zm[:, 0] + np.log(S[:, 0]) - (T * Z).sum(axis=1)) + 0.5 * l2 * np.sum(th * th))
        return f, (E / S - T).T @ X / N + l2 * th

    theta = prev = np.zeros((K, d)) if theta0 is None else np.array(theta0, dtype=float)
    f_prev = np.inf
    k = 0
    for _ in range(iters):
        y = theta + (k / (k + 3.0)) * (theta - prev)
        f, g = f_grad(y)
        if f > f_prev:  # restart the momentum
            k = 0
            y = theta
            f, g = f_grad(y)
        if np.sqrt(np.sum(g * g)) < tol:
            return y
        prev, theta = theta, y - Ua @ ((Ua.T @ g @ Us) / denom) @ Us.T
        f_prev = f
        k += 1
    return theta


def reinforce_policy(W, X, lr, rngs, checkpoints, games=1, bias=0.0):
    """Online REINFORCE, one pass over each run's positions, ``games`` games per position, reward 1 for a win.

    ``X`` has shape ``(runs, N, d)`` (one set of positions per run) and ``rngs`` one generator per run. The baseline
    is a running mean of the reward. Returns the policies after each number of positions in ``checkpoints``:
    shape ``(runs, len(checkpoints), K, d)``.
    """
    lr = real("lr", lr, minimum=0.0, open_low=True)
    games = integer("games", games, minimum=1)
    S, N, d = X.shape
    K = W.shape[0]
    checkpoints = np.asarray(checkpoints, dtype=int)
    if checkpoints.min() < 0 or checkpoints.max() > N:
        raise ValueError(f"checkpoints must lie in [0, N={N}]")
    V = win_prob(W, X, bias)  # (S, N, K)
    U = np.stack([rng.random((N, games, 2)) for rng in rngs], axis=1)  # (N, S, games, 2)
    theta = np.zeros((S, K, d))
    base = np.zeros(S)
    out = np.empty((S, checkpoints.size, K, d))
    runs = np.arange(S)[:, None]
    eye = np.eye(K)
    for n in range(N + 1):
        hit = checkpoints == n
        if hit.any():
            out[:, hit] = theta[:, None]
        if n == N:
            break
        x = X[:, n]  # (S, d)
        pi = softmax(np.einsum("skd,sd->sk", theta, x), axis=-1)
        a = np.minimum((np.cumsum(pi, axis=1)[:, None, :] < U[n, :, :, 0:1]).sum(axis=2), K - 1)  # (S, games)
        r = (U[n, :, :, 1] < V[runs, n, a]).astype(float)
        adv = r - base[:, None]
        g = np.einsum("sg,sgk->sk", adv, eye[a]) - adv.sum(axis=1)[:, None] * pi
        theta += (lr / games) * g[:, :, None] * x[:, None, :]
        base += 0.05 * (r.mean(axis=1) - base)
    return out


def policy_quality(theta, W, X, greedy=True, bias=0.0):
    """Normalised value of the policy on positions ``X``: 0 for uniform play, 1 for the best move everywhere.

    ``greedy``: play the policy's most probable move (as a trained policy is used to play); else sample from it.
    """
    V = win_prob(W, X, bias)
    Z = X @ np.asarray(theta).T
    P = np.eye(V.shape[1])[Z.argmax(axis=1)] if greedy else softmax(Z, axis=-1)
    mean, best = V.mean(axis=1), V.max(axis=1)
    return float(np.mean((P * V).sum(axis=1) - mean) / np.mean(best - mean))


def target_quality(targets, W, X, bias=0.0):
    """Normalised value of playing from given distributions (rows of ``targets``) on positions ``X``."""
    V = win_prob(W, X, bias)
    T = np.asarray(targets, dtype=float)
    T = T / T.sum(axis=1, keepdims=True)
    mean, best = V.mean(axis=1), V.max(axis=1)
    return float(np.mean((T * V).sum(axis=1) - mean) / np.mean(best - mean))


def run_recipe(W, Xs, gens_search, gens_games, positions, n_sims, X_test, c=1.0, rl_lr=1.0, bias=0.0):
    """The chapter-11 experiment: for each run (a set of positions ``Xs[r]`` and its generators), search every
    position, fit policies on the visit distributions and on the chosen moves after each number of ``positions``
    (warm-started from the previous fit), and train REINFORCE with one game and with ``n_sims`` games per position.
    ``bias`` is added to every move's win logit (see :func:`win_prob`).

    Returns ``(quality, search_quality)``: a dict of ``(runs, len(positions))`` arrays of held-out policy quality
    (keys ``visits``, ``chosen``, ``outcome``, ``outcome_sims``) and the mean quality of the search's own moves.
    """
    runs, _, _ = Xs.shape
    K = W.shape[0]
    quality = {k: np.zeros((runs, len(positions))) for k in ("visits", "chosen")}
    search_q = []
    for r in range(runs):
        X = Xs[r]
        visits = ucb_search(win_prob(W, X, bias), n_sims, gens_search[r], c=c)
        chosen = np.eye(K)[visits.argmax(axis=1)]
        search_q.append(target_quality(chosen, W, X, bias))
        th_v = th_c = None
        for j, n in enumerate(positions):
            th_v = fit_policy(X[:n], visits[:n] / n_sims, theta0=th_v)
            th_c = fit_policy(X[:n], chosen[:n], theta0=th_c)
            quality["visits"][r, j] = policy_quality(th_v, W, X_test, bias=bias)
            quality["chosen"][r, j] = policy_quality(th_c, W, X_test, bias=bias)
    for key, games, gens in (("outcome", 1, gens_games[0]), ("outcome_sims", n_sims, gens_games[1])):
        policies = reinforce_policy(W, Xs, rl_lr, gens, positions, games=games, bias=bias)
        quality[key] = np.array([[policy_quality(p, W, X_test, bias=bias) for p in run] for run in policies])
    return quality, float(np.mean(search_q))


def paired_gap(a, b, level=0.95):
    """Mean and ``level`` t-interval of ``a - b`` over paired runs (rows: runs; columns: e.g. numbers of positions).

    Returns ``(mean, lo, hi)`` arrays; with a single run the interval is infinite (no evidence of a difference).
    """
    from scipy.stats import t as student_t

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim < 1:
        raise ValueError(f"a and b must have one shape with runs on the first axis, got {a.shape} and {b.shape}")
    level = probability("level", level, open_low=True, open_high=True)
    d = a - b
    n = d.shape[0]
    mean = d.mean(axis=0)
    if n < 2:
        inf = np.full_like(mean, np.inf)
        return mean, mean - inf, mean + inf
    half = student_t.ppf(0.5 + level / 2, n - 1) * d.std(axis=0, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def below_saturation(curves, positions, level):
    """The index of the largest number of positions at which every curve in ``curves`` (mean qualities, one array
    per method, aligned with ``positions``) is at most ``level``: where a comparison is not read at the ceiling.
    ``None`` if there is none (every size tried is saturated for at least one method)."""
    level = real("level", level, minimum=0.0, maximum=1.0)
    ok = np.all(np.asarray(curves, dtype=float) <= level, axis=0)
    if len(ok) != len(positions):
        raise ValueError("curves and positions must align")
    idx = np.nonzero(ok)[0]
    return int(idx[-1]) if idx.size else None
