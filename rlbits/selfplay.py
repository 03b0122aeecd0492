"""Self-play under an Elo model (chapter 9).

- :func:`elo_win_prob`: the Elo model, ``P(win) = 1 / (1 + 10^(-delta/400))`` for a rating advantage ``delta``.
- :func:`elo_fisher_info`: the Fisher information one game carries about ``delta``,
  ``(ln 10 / 400)^2 P (1 - P)``, largest for an even match.
- :func:`elo_mle` and :func:`elo_mle_spread`: the maximum-likelihood estimate of ``delta`` from ``n`` games, to check
  the information by Monte Carlo (its variance approaches ``1 / (n I)``).
- :func:`play_and_learn`: a toy learner whose skill is a policy over ``V`` moves at each of ``K`` decision points
  (one move right at each); its performance rating in a game is ``elo_per_move`` times the number of right moves it
  samples, and the game is won with the Elo probability against the opponent's performance. It learns by REINFORCE
  from the 0/1 game outcome (without a baseline, or minus the exact expected win rate), either against a frozen copy
  of itself (self-play) or against a fixed opponent of given rating.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numba import njit
from scipy.special import softmax

from rlbits import info
from rlbits.validate import ParameterError, generators, integer, one_of, real

ELO_SCALE = math.log(10.0) / 400.0  # d/d(delta) of the log-odds of winning


def elo_win_prob(delta):
    """Probability of winning with a rating advantage ``delta`` (Elo points) under the logistic Elo model."""
    delta = np.asarray(delta, dtype=float)
    if np.any(np.isnan(delta)):
        raise ParameterError(f"delta={delta!r} contains NaN; allowed: real rating differences")
    out = 1.0 / (1.0 + np.power(10.0, -delta / 400.0))
    return float(out) if out.ndim == 0 else out


def elo_fisher_info(delta):
    """Fisher information of one game's outcome about the rating difference, per Elo point squared:
    ``(ln 10 / 400)^2 P (1 - P)``."""
    P = np.asarray(elo_win_prob(delta))
    out = ELO_SCALE**2 * P * (1.0 - P)
    return float(out) if out.ndim == 0 else out


def elo_outcome_bits(delta):
    """Entropy (bits) of one game's win/loss outcome at rating advantage ``delta``."""
    return info.binary_entropy(elo_win_prob(delta))


def elo_mle(wins, n):
    """Maximum-likelihood rating difference from ``wins`` of ``n`` games: ``400 log10(w / (n - w))`` (infinite at 0
    or n wins)."""
    wins = np.asarray(wins, dtype=float)
    with np.errstate(divide="ignore"):
        return 400.0 * (np.log10(wins) - np.log10(n - wins))


def elo_mle_spread(delta, n, reps, rng):
    """Monte Carlo variance of the MLE of ``delta`` from ``n`` games, over ``reps`` repetitions that have neither
    0 nor n wins (the estimate is finite), and the fraction of repetitions kept."""
    n = integer("n", n, minimum=2)
    reps = integer("reps", reps, minimum=2)
    wins = rng.binomial(n, elo_win_prob(delta), size=reps)
    keep = (wins > 0) & (wins < n)
    return float(np.var(elo_mle(wins[keep], n), ddof=1)), float(keep.mean())


@dataclass
class SelfPlayRun:
    """Skill (expected performance rating, Elo) and win rate against games played, for R runs."""

    games: np.ndarray  # (n_points,)
    rating: np.ndarray  # (n_points, R) expected rating: elo_per_move * sum_i pi_i(right move)
    win_rate: np.ndarray  # (n_points, R) expected win probability of the next game against the opponent
    wins: np.ndarray  # (R,) games won in total
    games_to_target: np.ndarray  # (R,) first game count with expected rating >= target_rating (inf if never)


def expected_rating(logits, elo_per_move):
    """Expected performance rating ``elo_per_move * sum_i pi_i(right)``; the right move is index 0."""
    return elo_per_move * softmax(logits, axis=-1)[..., 0].sum(axis=-1)


def _perf_distribution(pi0):
    """Distribution of the number of right moves (Poisson-binomial over the K positions) for each run: (R, K+1).

    Computed from the characteristic function, ``prod_i (1 - p_i + p_i w^j)`` at the K+1 roots of unity, by one
    inverse FFT (exact up to rounding)."""
    R, K = pi0.shape
    w = np.exp(-2j * np.pi * np.arange(K + 1) / (K + 1))
    phi = np.prod(1.0 - pi0[:, :, None] + pi0[:, :, None] * w[None, None, :], axis=1)
    return np.clip(np.fft.ifft(phi, axis=1).real, 0.0, 1.0)


def _win_tables(K, elo_per_move, fixed):
    m = np.arange(K + 1) * elo_per_move
    W = elo_win_prob(m[:, None] - m[None, :])
    table = elo_win_prob(m[None, :] - np.asarray(fixed, dtype=float)[:, None])
    return W, table


def _win_rate(pi0, W, table, is_self):
    dist = _perf_distribution(pi0)
    vs_self = np.einsum("ri,ij,rj->r", dist, W, dist)
    vs_fixed = np.sum(dist * table, axis=1)
    return np.where(is_self, vs_self, vs_fixed)


def expected_win_rate(logits, elo_per_move, is_self, fixed):
    """Exact probability that each run wins its next game: against a frozen copy of itself where ``is_self``, else
    against the fixed rating ``fixed``; sums the Elo win probability over the distribution of right moves."""
    pi0 = softmax(logits, axis=-1)[..., 0]
    W, table = _win_tables(pi0.shape[1], elo_per_move, np.broadcast_to(fixed, pi0.shape[:1]))
    return _win_rate(pi0, W, table, np.broadcast_to(np.asarray(is_self), pi0.shape[:1]))


def _checked_play_args(opponents, K, V, elo_per_move, lr, n_games, rngs, target_rating, baseline):
    """The arguments of :func:`play_and_learn` (and its reference), checked: one opponent per run, ratings and the
    default target (80% of the maximum rating)."""
    one_of("baseline", baseline, ("none", "mean"))
    K = integer("K", K, minimum=1)
    V = integer("V", V, minimum=2)
    elo_per_move = real("elo_per_move", elo_per_move, minimum=0, open_low=True)
    lr = real("lr", lr, minimum=0, open_low=True)
    n_games = integer("n_games", n_games, minimum=1)
    rngs = generators("rngs", rngs)
    R = len(rngs)
    if isinstance(opponents, str) or np.ndim(opponents) == 0:
        opponents = [opponents] * R
    if len(opponents) != R:
        raise ParameterError(f"opponents has {len(opponents)} entries for {R} runs; allowed: one per run")
    is_self = np.array([o == "self" for o in opponents])
    fixed = np.array([0.0 if o == "self" else real("opponent", o) for o in opponents])
    if target_rating is None:
        target_rating = 0.8 * K * elo_per_move
    return K, V, elo_per_move, lr, n_games, rngs, R, is_self, fixed, target_rating


def play_and_learn(opponents, K, V, elo_per_move, lr, n_games, rngs, target_rating=None, baseline="none",
                   n_points=60, block=1024):
    """Train the toy learner by REINFORCE from game outcomes (reward 1 for a win, 0 for a loss, no baseline).

    ``opponents`` holds one entry per generator in ``rngs`` (or one entry for all): ``"self"`` (the learner plays a
    frozen copy of its current policy and learns from its own moves) or a fixed rating in Elo points. Each run uses
    only its own generator (consumed in order, ``block`` games of ``2K + 1`` uniforms at a time), so its result does
    not depend on how many runs are batched. ``games_to_target`` is the exact number of games after which the expected
    rating first reaches ``target_rating`` (default: 80% of the maximum, ``0.8 K elo_per_move``). Returns a
    :class:`SelfPlayRun` sampled at ``n_points`` game counts spaced logarithmically from 1 to ``n_games``.
    ``baseline="mean"`` subtracts the exact expected win probability of the current policy (1/2 in self-play, by
    symmetry) from the reward. A compiled kernel plays one run at a time; it makes the same moves and updates as
    :func:`play_and_learn_reference` (the mean baseline's distribution of right moves is summed by a recursion
    instead of an FFT, equal to rounding).
    """
    K, V, elo_per_move, lr, n_games, rngs, R, is_self, fixed, target_rating = _checked_play_args(
        opponents, K, V, elo_per_move, lr, n_games, rngs, target_rating, baseline)
    points = np.unique(np.concatenate([[0], np.round(np.logspace(0, math.log10(n_games), n_points)).astype(int)]))
    W, table = _win_tables(K, elo_per_move, fixed)
    snaps = np.zeros((len(points), R, K))
    wins = np.zeros(R, dtype=np.int64)
    to_target = np.full(R, np.inf)
    for r, rng in enumerate(rngs):
        logits = np.zeros((K, V))
        state = np.array([np.inf, 0.0, 0.0])  # games to target, wins, next snapshot index
        snap_r = np.zeros((len(points), K))
        for g0 in range(0, n_games, block):
            u = rng.random((block, 2 * K + 1))
            _play_games(logits, u, g0, min(g0 + block, n_games), bool(is_self[r]), float(fixed[r]), table[r],
                        elo_per_move, lr, baseline == "mean", float(target_rating), points, snap_r, state)
        _play_games(logits, np.empty((0, 2 * K + 1)), n_games, n_games, bool(is_self[r]), float(fixed[r]), table[r],
                    elo_per_move, lr, baseline == "mean", float(target_rating), points, snap_r, state)
        snaps[:, r] = snap_r
        to_target[r], wins[r] = state[0], int(state[1])
    rating = elo_per_move * snaps.sum(axis=2)
    win = np.array([_win_rate(snaps[i], W, table, is_self) for i in range(len(points))])
    return SelfPlayRun(points.copy(), rating, win, wins, to_target)


@njit(cache=True)
def _softmax_into(logits, pi):
    """Softmax of every decision point of ``logits`` into ``pi``; returns the expected number of right moves.

    Written out because it runs inside the compiled learner (numba cannot call scipy.special.softmax); the Python-level
    code of this module uses scipy's."""
    K, V = logits.shape
    s0 = 0.0
    for k in range(K):
        mx = logits[k, 0]
        for v in range(1, V):
            mx = max(mx, logits[k, v])
        tot = 0.0
        for v in range(V):
            e = math.exp(logits[k, v] - mx)
            pi[k, v] = e
            tot += e
        for v in range(V):
            pi[k, v] /= tot
        s0 += pi[k, 0]
    return s0


@njit(cache=True)
def _observe(g, s0, pi, elo_per_move, target_rating, points, snaps, state):
    """At game count ``g``: record the first game count at the target rating, and the snapshot if ``g`` is a point."""
    if elo_per_move * s0 >= target_rating and state[0] == np.inf:
        state[0] = g
    j = int(state[2])
    if j < points.size and g == points[j]:
        for k in range(pi.shape[0]):
            snaps[j, k] = pi[k, 0]
        state[2] = j + 1


@njit(cache=True)
def _play_games(logits, u, g0, g1, is_self, fixed, table_row, elo_per_move, lr, mean_baseline, target_rating,
                points, snaps, state):
    """Games ``g0 .. g1 - 1`` of one run (uniforms ``u[g - g0]``: the learner's K moves, the copy's K moves, the
    outcome), updating ``logits`` in place by REINFORCE; with ``g0 == g1`` it only observes the state at ``g0``."""
    K, V = logits.shape
    pi = np.empty((K, V))
    a = np.empty(K, dtype=np.int64)
    dist = np.empty(K + 1)
    s0 = _softmax_into(logits, pi)
    if g0 == g1:
        _observe(g0, s0, pi, elo_per_move, target_rating, points, snaps, state)
        return
    for g in range(g0, g1):
        _observe(g, s0, pi, elo_per_move, target_rating, points, snaps, state)
        ug = u[g - g0]
        m, mo = 0, 0
        for k in range(K):
            c, ia, io = 0.0, 0, 0
            for v in range(V):  # inverse CDF: the number of cumulative probabilities below the uniform
                c += pi[k, v]
                if c < ug[k]:
                    ia += 1
                if c < ug[K + k]:
                    io += 1
            a[k] = min(ia, V - 1)
            m += a[k] == 0
            mo += min(io, V - 1) == 0
        delta = elo_per_move * m - (elo_per_move * mo if is_self else fixed)
        win = 1.0 if ug[2 * K] < 1.0 / (1.0 + 10.0 ** (-delta / 400.0)) else 0.0
        state[1] += win
        b = 0.0
        if mean_baseline:
            if is_self:
                b = 0.5
            else:  # distribution of the number of right moves (Poisson-binomial), then the expected win rate
                dist[:] = 0.0
                dist[0] = 1.0
                for k in range(K):
                    q = pi[k, 0]
                    for j in range(k + 1, 0, -1):
                        dist[j] = dist[j] * (1.0 - q) + dist[j - 1] * q
                    dist[0] *= 1.0 - q
                for j in range(K + 1):
                    b += dist[j] * table_row[j]
        adv = win - b
        if adv != 0.0:  # a zero advantage (a lost game without a baseline) leaves the policy as it is
            for k in range(K):
                for v in range(V):
                    grad = -pi[k, v] + (1.0 if v == a[k] else 0.0)
                    logits[k, v] += lr * adv * grad
            s0 = _softmax_into(logits, pi)


def play_and_learn_reference(opponents, K, V, elo_per_move, lr, n_games, rngs, target_rating=None, baseline="none",
                   n_points=60, block=1024):
    """The batched-numpy implementation of :func:`play_and_learn` (same streams, same updates), kept as its reference
    in the tests. Train the toy learner by REINFORCE from game outcomes (reward 1 for a win, 0 for a loss).

    ``opponents`` holds one entry per generator in ``rngs`` (or one entry for all): ``"self"`` (the learner plays a
    frozen copy of its current policy and learns from its own moves) or a fixed rating in Elo points. Each run uses
    only its own generator (consumed in order), so its result does not depend on how many runs are batched.
    ``games_to_target`` is the exact number of games after which the expected rating first reaches
    ``target_rating`` (default: 80% of the maximum, ``0.8 K elo_per_move``). Returns a :class:`SelfPlayRun` sampled at
    ``n_points`` game counts spaced logarithmically from 1 to ``n_games``. ``baseline="mean"`` subtracts the exact
    expected win probability of the current policy (1/2 in self-play, by symmetry) from the reward.
    """
    K, V, elo_per_move, lr, n_games, rngs, R, is_self, fixed, target_rating = _checked_play_args(
        opponents, K, V, elo_per_move, lr, n_games, rngs, target_rating, baseline)
    logits = np.zeros((R, K, V))
    points = np.unique(np.concatenate([[0], np.round(np.logspace(0, math.log10(n_games), n_points)).astype(int)]))
    games_out, rating_out, win_out = [], [], []
    wins = np.zeros(R, dtype=np.int64)
    to_target = np.full(R, np.inf)
    W, table = _win_tables(K, elo_per_move, fixed)
    fixed_rows = np.flatnonzero(~is_self)
    rows = np.arange(R)[:, None]
    cols = np.arange(K)[None, :]
    u = None
    for g in range(n_games + 1):
        pi = softmax(logits, axis=-1)
        reached = (elo_per_move * pi[..., 0].sum(axis=1) >= target_rating) & np.isinf(to_target)
        to_target[reached] = g
        if len(games_out) < len(points) and g == points[len(games_out)]:
            games_out.append(g)
            rating_out.append(expected_rating(logits, elo_per_move))
            win_out.append(_win_rate(pi[..., 0], W, table, is_self))
        if g == n_games:
            break
        if g % block == 0:
            u = np.stack([rng.random((block, 2 * K + 1)) for rng in rngs])
        ug = u[:, g % block]
        cdf = np.cumsum(pi, axis=-1)
        # the learner's move (uniform ug[:, i]) and the copy's move (ug[:, K + i]) at each point, by inverse CDF
        both = np.minimum((cdf[:, :, None, :] < ug[:, :2 * K].reshape(R, 2, K).transpose(0, 2, 1)[..., None])
                          .sum(axis=-1), V - 1)
        a = both[:, :, 0]
        m = (a == 0).sum(axis=1)
        delta = elo_per_move * m - np.where(is_self, elo_per_move * (both[:, :, 1] == 0).sum(axis=1), fixed)
        win = ug[:, 2 * K] < elo_win_prob(delta)
        wins += win
        grad = -pi
        grad[rows, cols, a] += 1.0
        if baseline == "mean":  # exact expected win rate; 1/2 in self-play by symmetry
            b = np.full(R, 0.5)
            if fixed_rows.size:
                b[fixed_rows] = np.sum(_perf_distribution(pi[fixed_rows, :, 0]) * table[fixed_rows], axis=1)
            adv = win - b
        else:
            adv = win.astype(float)
        logits += lr * adv[:, None, None] * grad
    return SelfPlayRun(np.array(games_out), np.array(rating_out), np.array(win_out), wins, to_target)


def games_to_reach(run: SelfPlayRun, rating):
    """First recorded game count at which each run's expected rating is ``>= rating`` (inf if never)."""
    hit = run.rating >= rating
    first = np.where(hit.any(axis=0), hit.argmax(axis=0), -1)
    return np.where(first >= 0, run.games[np.maximum(first, 0)], np.inf)
