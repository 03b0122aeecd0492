"""REINFORCE from a truncated or tempered sampler: what happens when the answer is outside the support (chapter 3).

A small per-sample REINFORCE learner samples from ``softmax(theta / T)`` restricted to the top-k logits
(:func:`sampling_policy`). With a 0/1 reward it is simulated exactly event by event (:func:`truncated_reinforce_run`;
:func:`pass_rate_at` and :func:`samples_to_reach` read its curve); with a penalty for a failure the kept set can
change, and :func:`penalised_topk_run` finds when the answer enters it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import softmax

from rlbits.validate import integer, probability, real


# ---------------------------------------------------------------- the truncated-support learner
def sampling_policy(theta, k: int, temperature: float) -> np.ndarray:
    """The distribution the learner samples from: softmax(theta / T) restricted to the top-k logits (ties by index)."""
    theta = np.asarray(theta, dtype=float)
    V = theta.size
    k = integer("k", k, minimum=1, maximum=V)
    temperature = real("temperature", temperature, minimum=0.0, open_low=True)
    keep = np.arange(V) if k == V else np.argsort(-theta, kind="stable")[:k]
    out = np.zeros(V)
    out[keep] = softmax(theta[keep] / temperature)
    return out


def truncated_reinforce_run(theta0, answer: int, k: int, temperature: float, lr: float, n_samples: int,
                            rng: np.random.Generator, stop_at: float = 0.99):
    """One run of per-sample REINFORCE (0/1 reward, no baseline) on logits ``theta0``, sampling from the top-k
    softmax at ``temperature``; returns (sample index of each success, sampling pass rate after it), starting with
    (0, initial pass rate).

    Exact event-driven simulation: with 0/1 reward and no baseline a failed sample has zero gradient, so nothing
    changes between successes and the waiting time to the next one is geometric in the current pass rate. A success
    updates theta on the kept set S by lr (e_answer - pi_S) / T, the gradient of log pi_S(answer). If the answer is
    outside the sampling support its pass rate is exactly zero, the next success never comes, and the run ends
    with no update: the result is the same for any number of samples. The run also ends once the sampling pass
    rate reaches ``stop_at``.
    """
    theta = np.array(theta0, dtype=float)
    answer = integer("answer", answer, minimum=0, maximum=theta.size - 1)
    lr = real("lr", lr, minimum=0.0, open_low=True)
    n_samples = integer("n_samples", n_samples, minimum=1)
    stop_at = probability("stop_at", stop_at, open_low=True)
    pol = sampling_policy(theta, k, temperature)
    times, rates = [0], [pol[answer]]
    t = 0
    while pol[answer] > 0:
        t += int(rng.geometric(pol[answer]))
        if t > n_samples:
            break
        keep = pol > 0
        step = -pol[keep]
        step[np.flatnonzero(keep) == answer] += 1.0
        theta[keep] += lr * step / temperature
        pol = sampling_policy(theta, k, temperature)
        times.append(t)
        rates.append(pol[answer])
        if pol[answer] >= stop_at:
            break
    return np.array(times, dtype=np.int64), np.array(rates)


def pass_rate_at(times, rates, grid) -> np.ndarray:
    """The step function of a run (pass rate after each success) evaluated at sample counts ``grid``."""
    idx = np.searchsorted(np.asarray(times), np.asarray(grid), side="right") - 1
    return np.asarray(rates)[idx]


def samples_to_reach(times, rates, target: float) -> float:
    """First sample count at which the run's sampling pass rate is >= ``target`` (inf if never)."""
    target = probability("target", target)
    hit = np.flatnonzero(np.asarray(rates) >= target)
    return float(times[hit[0]]) if hit.size else math.inf


def penalised_topk_run(theta0, answer: int, k: int, lr: float, n_samples: int, rng: np.random.Generator,
                       fail_reward: float = -1.0):
    """Per-sample REINFORCE from a top-k sampler with reward 1 for a pass and ``fail_reward`` for a fail (no baseline).

    Unlike a 0/1 reward, a negative ``fail_reward`` moves the logits after every failure: the sampled answer is pushed
    down and the rest of the kept set up, so the kept set can change. Returns ``(entry, actions, theta)``: the sample
    index at which the answer first enters the top-k (``None`` if it never does within ``n_samples``), the sampled
    answers up to then, and the logits at that point. Until entry every reward is ``fail_reward`` whichever excluded
    answer is correct, so the sequence of updates cannot depend on the answer: runs with the same stream and different
    excluded answers are identical.
    """
    theta = np.array(theta0, dtype=float)
    V = theta.size
    answer = integer("answer", answer, minimum=0, maximum=V - 1)
    k = integer("k", k, minimum=1, maximum=V)
    lr = real("lr", lr, minimum=0.0, open_low=True)
    n_samples = integer("n_samples", n_samples, minimum=1)
    fail_reward = real("fail_reward", fail_reward)
    u = rng.random(n_samples)
    actions = []

    def top_k():
        keep = np.argpartition(-theta, k - 1)[:k] if k < V else np.arange(V)
        outside = np.ones(V, dtype=bool)
        outside[keep] = False
        return keep, (theta[outside].max() if k < V else -np.inf)

    # only the kept logits move, so the kept set can change only when one of them falls below the best outside one
    keep, out_max = top_k()
    for t in range(n_samples):
        if np.any(keep == answer):
            return t, np.array(actions, dtype=np.int64), theta
        pol = softmax(theta[keep])
        i = min(int(np.searchsorted(np.cumsum(pol), u[t])), k - 1)
        a = int(keep[i])
        actions.append(a)
        adv = 1.0 if a == answer else fail_reward
        step = -adv * pol
        step[i] += adv
        theta[keep] += lr * step
        if theta[keep].min() < out_max:
            keep, out_max = top_k()
    if np.any(keep == answer):
        return n_samples, np.array(actions, dtype=np.int64), theta
    return None, np.array(actions, dtype=np.int64), theta
