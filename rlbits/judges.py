"""Graded feedback: what a judge's grade carries, and a revision loop (chapter 10).

**A noisy K-level judge.** Two answers have latent qualities ``q1, q2 ~ N(0, 1)``; the judge sees ``q + sigma * eps``
(``eps ~ N(0, 1)``) and reports a grade in ``0..K-1`` by thresholds at the quantiles of the score's distribution
``N(0, 1 + sigma^2)``, so every grade is equally likely and one grade has entropy exactly ``log2 K``.
:func:`grade_information` computes, by quadrature, the grade's entropy, its mutual information with the quality,
and the mutual information between the two grades and ``B = 1[q1 > q2]`` (which answer is better: at most 1 bit).

**The revision machine.** A draft has ``m`` items, each defective independently with probability ``d0``; a
rewritten item is defective with probability ``d``. A judge reports after every round, and the writer acts on it:

- ``passfail``: only "clean" or "not clean"; the writer cannot tell which items are bad nor whether a rewrite was
  better, so it rewrites the whole draft until it passes;
- ``score``: the number of defects; the writer rewrites one item chosen at random and keeps the rewrite unless the
  score got worse (a hill-climber);
- ``rubric``: which items are defective; the writer rewrites exactly those.

:func:`revision_expected_rounds` gives the expected rounds to a clean draft in closed form;
:func:`simulate_revision` simulates the loop and measures the feedback's information per round (the entropy of the
judge's report given everything the writer already knew).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri  # the standard normal CDF and its inverse
from scipy.stats import binom

from rlbits import info
from rlbits.info import binary_entropy
from rlbits.validate import integer, one_of, probability, real

FEEDBACK = ("passfail", "score", "rubric")


def _entropy_bits(P, axis=None):
    """Entropy in bits of the distribution(s) ``P`` along ``axis`` (``None``: one joint distribution):
    :func:`rlbits.info.entropy`."""
    return info.entropy(P, "bits", axis=axis)


def grade_likelihood(q, K, sigma):
    """``P(grade = i | quality q)`` for the K-level judge, shape ``(len(q), K)``."""
    K = integer("K", K, minimum=2, maximum=10_000)
    sigma = real("sigma", sigma, minimum=0.0)
    cuts = np.concatenate([[-np.inf], ndtri(np.arange(1, K) / K) * math.sqrt(1 + sigma**2), [np.inf]])
    q = np.asarray(q, dtype=float)[:, None]
    if sigma == 0:
        return ((q >= cuts[:-1]) & (q < cuts[1:])).astype(float)
    return np.diff(ndtr((cuts[None, :] - q) / sigma), axis=1)


def grade_information(K, sigma, n_grid=4001, q_max=8.0):
    """Information in a K-level grade from a judge with noise ``sigma`` (bits), by quadrature on ``n_grid`` points.

    Returns ``{"H_grade", "I_quality", "I_better"}``: the grade's entropy (``log2 K``), its mutual information with
    the answer's quality, and the mutual information between the two answers' grades and which answer is better.
    """
    n_grid = integer("n_grid", n_grid, minimum=101, maximum=10**6)
    q = np.linspace(-q_max, q_max, n_grid)
    w = np.exp(-q**2 / 2) / math.sqrt(2 * math.pi) * (q[1] - q[0])
    w /= w.sum()
    L = grade_likelihood(q, K, sigma)  # (n, K)
    pg = w @ L
    H_grade = float(_entropy_bits(pg))
    I_quality = H_grade - float(w @ _entropy_bits(L, axis=1))
    # P(g1 = i, g2 = j, q1 > q2) = sum_{q1} w P_i(q1) sum_{q2 < q1} w P_j(q2)  (ties on the grid split evenly)
    below = np.cumsum(w[:, None] * L, axis=0) - 0.5 * w[:, None] * L  # (n, K): mass of q2 < q1 with grade j
    joint_b1 = (w[:, None] * L).T @ below  # (K, K)
    joint = np.stack([pg[:, None] * pg[None, :] - joint_b1, joint_b1])  # B = 0, B = 1
    p_pair = joint.sum(axis=0)
    I_better = float(_entropy_bits(p_pair) + _entropy_bits(joint.sum(axis=(1, 2))) - _entropy_bits(joint))
    return {"H_grade": H_grade, "I_quality": I_quality, "I_better": I_better}


def simulate_grades(K, sigma, n, rng):
    """Monte-Carlo pairs: returns ``(g1, g2, better)`` arrays of length ``n`` (a check of :func:`grade_information`)."""
    K = integer("K", K, minimum=2, maximum=10_000)
    sigma = real("sigma", sigma, minimum=0.0)
    n = integer("n", n, minimum=1)
    q = rng.standard_normal((2, n))
    s = q + sigma * rng.standard_normal((2, n))
    cuts = ndtri(np.arange(1, K) / K) * math.sqrt(1 + sigma**2)
    g = np.searchsorted(cuts, s)
    return g[0], g[1], (q[0] > q[1]).astype(int)


def plugin_mutual_information(x, y):
    """Plug-in mutual information (bits) between two integer arrays."""
    x = np.asarray(x)
    y = np.asarray(y)
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    joint = np.zeros((xi.max() + 1, yi.max() + 1))
    np.add.at(joint, (xi, yi), 1.0)
    joint /= joint.sum()
    return float(_entropy_bits(joint.sum(1)) + _entropy_bits(joint.sum(0)) - _entropy_bits(joint))


def _check_revision(m, d0, d, feedback):
    m = integer("m", m, minimum=1, maximum=10_000)
    d0 = probability("d0", d0)
    d = probability("d", d, open_high=True)
    one_of("feedback", feedback, FEEDBACK)
    return m, d0, d


def revision_expected_rounds(m, d0, d, feedback):
    """Expected revision rounds until the judge reports a clean draft (0 if the first draft is clean).

    - passfail: ``(1 - (1-d0)^m) / (1-d)^m`` (every full rewrite is clean with probability ``(1-d)^m``);
    - score: ``m/(1-d) * E[H_K]``, ``K ~ Binomial(m, d0)`` defects, ``H_k`` the k-th harmonic number (from k defects
      a round removes one with probability ``k(1-d)/m``);
    - rubric: ``sum_{r >= 0} 1 - (1 - d0 d^r)^m`` (each defective item is fixed after a geometric number of rounds,
      and the draft is clean at the maximum over items).
    """
    m, d0, d = _check_revision(m, d0, d, feedback)
    if feedback == "passfail":
        return (1.0 - (1.0 - d0) ** m) / (1.0 - d) ** m
    if feedback == "score":
        k = np.arange(m + 1)
        harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, m + 1))])
        return float(m / (1.0 - d) * np.sum(binom.pmf(k, m, d0) * harmonic))
    if d == 0:
        return 1.0 - (1.0 - d0) ** m
    r_max = int(math.ceil((math.log(1e-18) - math.log(max(d0 * m, 1e-300))) / math.log(d))) + 2
    r = np.arange(max(r_max, 1))
    with np.errstate(divide="ignore"):  # d0 = 1: log1p(-1) = -inf, and the term is exactly 1
        return float(np.sum(-np.expm1(m * np.log1p(-d0 * d**r))))


def simulate_revision(m, d0, d, feedback, rng, n_runs, max_rounds=10**6):
    """Simulate ``n_runs`` revision loops; returns ``(rounds, rewrites, bits)`` arrays, one entry per run.

    ``rewrites`` counts item rewrites (the writer's samples); ``bits`` is the total information in the judge's
    reports over the run: the entropy of each report given the writer's knowledge before it (pass/fail: the entropy
    of a full rewrite passing; score: of the score's change; rubric: of the rewritten items' states).
    """
    m, d0, d = _check_revision(m, d0, d, feedback)
    n_runs = integer("n_runs", n_runs, minimum=1)
    rounds = np.zeros(n_runs, dtype=np.int64)
    rewrites = np.zeros(n_runs, dtype=np.int64)
    bits = np.zeros(n_runs)
    h_d = binary_entropy(d)
    h_full = binary_entropy((1.0 - d) ** m)
    j_all = np.arange(m, 0, -1)  # the score hill-climber's states, from m defects down to 1
    down_all, up_all = j_all / m * (1.0 - d), (m - j_all) / m * d
    h_all = _entropy_bits(np.stack([down_all, up_all, 1.0 - down_all - up_all]), axis=0)
    for i in range(n_runs):
        k = int((rng.random(m) < d0).sum())
        if k == 0:
            continue
        if feedback == "passfail":  # every round is a fresh full draft: a geometric number of rounds
            r = int(rng.geometric((1.0 - d) ** m)) if d > 0 else 1
            rounds[i], rewrites[i], bits[i] = r, m * r, r * h_full
        elif feedback == "rubric":  # item j needs a geometric number of rewrites; clean at the slowest item
            g = rng.geometric(1.0 - d, size=k)
            rounds[i], rewrites[i], bits[i] = g.max(), g.sum(), g.sum() * h_d
        else:  # from j defects, rounds until the next removal are geometric with success j (1-d) / m
            g = rng.geometric(down_all[m - k:])
            rounds[i], rewrites[i], bits[i] = g.sum(), g.sum(), float(g @ h_all[m - k:])
        if rounds[i] > max_rounds:
            raise ValueError(f"max_rounds={max_rounds} exceeded; raise it")
    return rounds, rewrites, bits
