"""Revision histories against final answers: what a learner learns from each (chapter 13).

The experiment behind claim C31.

A task has a hidden answer key ``y``: ``L`` positions, each one of ``A`` values (uniform prior). An episode is a
student writing a draft and revising it under a judge:

- a draft gets each position right with probability ``c`` (else a uniformly drawn wrong value);
- the judge marks every position of the draft right or wrong, and errs with probability ``e`` on each mark;
- the student keeps the positions marked right and redraws the others (right with probability ``c`` again);
- after ``R`` rounds of review and revision the last draft is the final answer.

Two learners watch ``n`` such episodes and keep the exact Bayesian posterior over the key, position by position:

- the *answer* learner sees only each episode's final answer, right with probability ``c_R`` (the chain of
  :func:`final_correct_probability`) and otherwise uniform over the wrong values;
- the *history* learner sees every draft and every review: a fresh draft is a noisy vote (``c`` against
  ``(1 - c)/(A - 1)``), a kept draft is no new vote, and every review is a noisy statement that the draft is right
  or wrong.

Both are scored the same way as the lock of chapter 13: the drop in the entropy of the posterior over the key (bits),
and the share of positions whose most probable value is right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from rlbits import info
from rlbits.validate import ParameterError, integer, probability


def final_correct_probability(c: float, rounds: int, judge_noise: float) -> float:
    """The chance that a position of the final answer is right after ``rounds`` reviews and revisions.

    ``x_{t+1} = x_t ((1 - e) + e c) + (1 - x_t) (1 - e) c`` from ``x_0 = c``: a right position survives a correct
    mark and is redrawn after a wrong one; a wrong position is redrawn after a correct mark and survives a wrong one.
    """
    c = probability("c", c, open_low=True, open_high=True)
    rounds = integer("rounds", rounds, minimum=0)
    e = probability("judge_noise", judge_noise, open_high=True)
    x = c
    for _ in range(rounds):
        x = x * ((1 - e) + e * c) + (1 - x) * (1 - e) * c
    return x


@dataclass
class RevisionLog:
    """Per-episode measurements, arrays of shape ``(episodes, runs)``: the information about the key each learner
    has received after each episode (bits, the drop of its posterior's entropy from ``L log2 A``) and the share of
    positions its most probable value gets right."""

    info_history: np.ndarray
    info_answer: np.ndarray
    acc_history: np.ndarray
    acc_answer: np.ndarray
    prior_bits: float
    final_correct: float


def _entropy_bits(logpost):
    """Entropy (bits) of the posteriors whose logs, up to a constant, are the last axis of ``logpost``."""
    return info.entropy(softmax(logpost, axis=-1), "bits")


def simulate(seeds, episodes: int, positions: int, values: int, c: float, rounds: int,
             judge_noise: float) -> RevisionLog:
    """Run both learners on ``len(seeds)`` independent tasks (one random stream per task): see the module docstring."""
    seeds = list(seeds)
    if not seeds:
        raise ParameterError("seeds is empty; allowed: at least one SeedSequence")
    episodes = integer("episodes", episodes, minimum=1, maximum=100_000)
    L = integer("positions", positions, minimum=1, maximum=10_000)
    A = integer("values", values, minimum=2, maximum=1_000)
    c = probability("c", c, open_low=True, open_high=True)
    R = integer("rounds", rounds, minimum=0, maximum=1_000)
    e = probability("judge_noise", judge_noise, open_high=True)
    if e >= 0.5:
        raise ParameterError(f"judge_noise={judge_noise!r}; allowed: [0, 0.5) (a judge wrong half the time says nothing)")
    m = len(seeds)
    rngs = [np.random.default_rng(s) for s in seeds]
    key = np.stack([g.integers(A, size=L) for g in rngs])  # (m, L)
    vals = np.arange(A)
    log_c, log_w = math.log(c), math.log((1 - c) / (A - 1))
    cR = final_correct_probability(c, R, e)
    log_cR, log_wR = math.log(cR), math.log((1 - cR) / (A - 1)) if cR < 1 else -np.inf
    log_ok, log_err = math.log(1 - e), (math.log(e) if e > 0 else -1e300)
    post_h = np.zeros((m, L, A))
    post_a = np.zeros((m, L, A))
    out = {k: np.zeros((episodes, m)) for k in ("info_history", "info_answer", "acc_history", "acc_answer")}
    prior = L * math.log2(A)

    # each task's stream: per episode and round, uniforms for (draft right?, which wrong value, judge's error)
    U = np.stack([g.random((episodes, R + 1, 3, L)) for g in rngs], axis=2)  # (episodes, R+1, m, 3, L)

    def draw(u):
        """A draft value per task and position from uniforms ``u`` (m, 3, L): the key or a uniform wrong value."""
        wrong = (key + 1 + np.minimum((u[:, 1] * (A - 1)).astype(int), A - 2)) % A
        return np.where(u[:, 0] < c, key, wrong)

    for ep in range(episodes):
        v = draw(U[ep, 0])
        fresh = np.ones((m, L), dtype=bool)
        for t in range(R + 1):
            hyp = v[:, :, None] == vals  # (m, L, A): would the draft be right if the key were each value
            post_h += np.where(fresh[:, :, None], np.where(hyp, log_c, log_w), 0.0)
            if t == R:
                break
            mark_right = (v == key) ^ (U[ep, t, :, 2] < e)  # the judge's mark, wrong with probability e
            post_h += np.where(hyp == mark_right[:, :, None], log_ok, log_err)
            fresh = ~mark_right
            v = np.where(fresh, draw(U[ep, t + 1]), v)
        post_a += np.where(v[:, :, None] == vals, log_cR, log_wR)
        out["info_history"][ep] = prior - _entropy_bits(post_h).sum(axis=1)
        out["info_answer"][ep] = prior - _entropy_bits(post_a).sum(axis=1)
        out["acc_history"][ep] = (post_h.argmax(axis=2) == key).mean(axis=1)
        out["acc_answer"][ep] = (post_a.argmax(axis=2) == key).mean(axis=1)
    return RevisionLog(prior_bits=prior, final_correct=cR, **out)


def episodes_to(curve, level) -> np.ndarray:
    """Per run (column), the first episode (1-based) at which ``curve`` reaches ``level``; episodes + 1 if never."""
    curve = np.asarray(curve, dtype=float)
    hit = curve >= level
    return np.where(hit.any(axis=0), hit.argmax(axis=0) + 1, curve.shape[0] + 1)


def ratio_se(a, b) -> float:
    """Standard error of ``mean(a) / mean(b)`` over paired runs (delta method)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ParameterError("a and b must be 1-d arrays of one length, at least 2")
    r = a.mean() / b.mean()
    d = (a - r * b) / b.mean()
    return float(d.std(ddof=1) / math.sqrt(a.size))


def episodes_text(median_episodes: float, episodes: int) -> str:
    """'a median of N episodes', or, when the median run never got there (censored), 'more than N episodes'."""
    return (f"more than {episodes:,d} episodes (the median run had not got there)" if median_episodes > episodes
            else f"a median of {median_episodes:,.0f} episodes")


def items_text(rounds: int, info_ratio_per_item: float) -> str:
    """What the reviews add, and what a history costs per item of text (chapter 13's paragraph on C31)."""
    if rounds == 0:
        return "With no round of review a history is only the final answer, so the two learners see the same thing."
    return ("The reviews are what the final answer throws away: a mark says which positions of a draft were right, "
            "while the final answer only says what survived the rounds. But a history is "
            f"{2 * rounds + 1} items long (drafts and reviews) against one final answer, so per item of text it carries "
            f"{info_ratio_per_item:.2f} times what a final answer does. Whether that trade pays depends on whether "
            "episodes or tokens are scarce, the same question as soft labels in chapter 11.")
