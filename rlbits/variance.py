"""Sightings, gradient noise and truncated support (introduced in chapter 3, "Seeing the right answer at all").

Four pieces:

- the geometric waiting time to the first success at pass rate ``p`` (:func:`samples_for_success`);
- the REINFORCE gradient of a softmax policy with 0/1 reward, as a random vector: its mean, the trace of its
  covariance and the noise scale, for no baseline, the mean-reward baseline and the variance-optimal constant
  baseline (:func:`reinforce_stats`), with a Monte-Carlo estimator to check them (:func:`reinforce_gradient_mc`);
- the chance that a group of G samples with group-normalised advantages (GRPO) carries any signal
  (:func:`grpo_signal_prob`);
- a small per-sample REINFORCE learner whose sampling distribution may be truncated by top-k or tempered
  (:func:`truncated_reinforce_run`), simulated exactly event by event.

The policy model is chapter 2's: probability ``p`` on the answer, the rest spread evenly over ``V - 1`` wrong ones.
With logits theta and pi = softmax(theta), the score is grad log pi(a) = e_a - pi, so with ``S2 = sum pi^2``,
``|e_a - pi|^2 = 1 - 2 pi_a + S2``.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from rlbits.validate import ParameterError, integer, one_of, probability, real

BASELINES = ("none", "mean", "optimal")


# ---------------------------------------------------------------- waiting for the first success
def prob_at_least_one(p, n):
    """1 - (1 - p)^n: the chance of at least one success in ``n`` independent samples of pass rate ``p``."""
    p = np.asarray(probability("p", p), dtype=float)
    n = np.asarray(n, dtype=float)
    bad = ~np.isfinite(n) | (n < 0)
    if np.any(bad):
        raise ParameterError(f"n={float(n[bad].flat[0]):g} is outside the allowed range [0, inf)")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p < 1, -np.expm1(n * np.log1p(-np.where(p < 1, p, 0.0))), np.where(n > 0, 1.0, 0.0))
    return float(out) if out.ndim == 0 else out


def samples_for_success(p, c) -> int:
    """The smallest n with 1 - (1 - p)^n >= c: samples needed for a chance ``c`` of seeing at least one success.

    Closed form ceil(ln(1 - c) / ln(1 - p)) with ``log1p``, so it takes the same few operations for every accepted
    ``p`` (down to the smallest positive float). Where n is an exactly representable float (below 2^52) it is
    corrected by at most a few steps either way against float rounding, so it is the exact smallest integer; above,
    the quotient is taken in decimal arithmetic (28 digits) and rounded up, since no float computation of
    (1 - p)^n could tell n from n + 1 there anyway.
    """
    p = probability("p", p, open_low=True)
    c = probability("c", c, open_high=True)
    if p == 1.0 or c == 0.0:
        return 1 if c > 0 else 0
    num, den = math.log1p(-c), math.log1p(-p)  # both <= 0; den < 0 because 0 < p < 1
    if num == 0.0:  # c below the float resolution of 1 - c: one sample is enough
        return 1
    x = num / den
    if not math.isfinite(x) or x >= 2.0 ** 52:
        return max(1, math.ceil(Decimal(num) / Decimal(den)))
    n = max(1, math.ceil(x))
    for _ in range(4):
        if n > 1 and prob_at_least_one(p, n - 1) >= c:
            n -= 1
        else:
            break
    for _ in range(4):
        if prob_at_least_one(p, n) < c:
            n += 1
        else:
            break
    return n


def rule_of_thumb(p, c):
    """ln(1 / (1 - c)) / p: the small-p approximation of :func:`samples_for_success` (about 3/p for c = 95%)."""
    p = np.asarray(probability("p", p, open_low=True), dtype=float)
    c = probability("c", c, open_high=True)
    out = -math.log1p(-c) / p
    return float(out) if np.ndim(out) == 0 else out


def simulate_waiting_times(p, seeds: np.random.SeedSequence, runs: int) -> np.ndarray:
    """Samples until the first success in each of ``runs`` simulated runs, one independent stream per run.

    Each run draws from its own generator (``seeds.spawn``), so run i's result does not depend on ``runs``.
    """
    p = probability("p", p, open_low=True)
    runs = integer("runs", runs, minimum=1)
    return np.array([np.random.default_rng(s).geometric(p) for s in seeds.spawn(runs)], dtype=np.int64)


# ---------------------------------------------------------------- REINFORCE gradient statistics
def _pv(p, V):
    p = np.asarray(probability("p", p, open_low=True), dtype=float)
    V = np.asarray(V, dtype=float)
    bad = ~np.isfinite(V) | (V < 2) | (V != np.floor(V))
    if np.any(bad):
        raise ParameterError(f"V={float(V[bad].flat[0]):g} is outside the allowed range: an integer in [2, inf)")
    return np.broadcast_arrays(p, V)


def _norms(p, V):
    """k1 = |e_* - pi|^2 (the answer's score), k0 = |e_a - pi|^2 for a wrong a, and q."""
    q = (1.0 - p) / (V - 1.0)
    s2 = p * p + (1.0 - p) * q
    return 1.0 - 2.0 * p + s2, 1.0 - 2.0 * q + s2, q


def optimal_baseline(p, V):
    """The constant baseline minimising the trace of the covariance: E[r |g|^2] / E[|g|^2] (Greensmith et al.)."""
    p, V = _pv(p, V)
    k1, k0, _ = _norms(p, V)
    out = p * k1 / (p * k1 + (1.0 - p) * k0)
    return float(out) if out.ndim == 0 else out


def reinforce_stats(p, V, baseline: str = "none") -> dict:
    """Closed forms for the one-sample REINFORCE gradient G = (r - b)(e_A - pi), A ~ pi, r = 1[A = answer].

    Returns ``mean_norm2`` (|E G|^2 = p^2 |e_* - pi|^2, the same for every constant baseline), ``second_moment``
    (E|G|^2), ``trace_cov`` (E|G|^2 - |E G|^2), ``noise_scale`` (trace_cov / mean_norm2) and ``b``.
    ``baseline``: ``"none"`` (b = 0), ``"mean"`` (b = p, the expected reward) or ``"optimal"``.
    """
    one_of("baseline", baseline, BASELINES)
    p, V = _pv(p, V)
    k1, k0, _ = _norms(p, V)
    b = {"none": np.zeros_like(p), "mean": p, "optimal": optimal_baseline(p, V) * np.ones_like(p)}[baseline]
    mean_norm2 = p * p * k1
    second = p * (1.0 - b) ** 2 * k1 + (1.0 - p) * b * b * k0
    trace = second - mean_norm2
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = np.where(mean_norm2 > 0, trace / np.where(mean_norm2 > 0, mean_norm2, 1.0), np.inf)
    f = (lambda x: float(x)) if p.ndim == 0 else (lambda x: x)
    return {"mean_norm2": f(mean_norm2), "second_moment": f(second), "trace_cov": f(trace),
            "noise_scale": f(noise), "b": f(b)}


def reinforce_gradient_mc(p, V: int, baseline: str, n: int, rng: np.random.Generator, batches: int = 20) -> dict:
    """Monte-Carlo estimates of |E G|^2 (unbiased), tr Cov G and their standard errors, from ``n`` sampled gradients.

    Samples A ~ pi exactly (answer with probability p, else a uniform wrong answer), forms each gradient's
    contribution with ``bincount`` (so V can be large), and splits the n samples into ``batches`` to estimate
    standard errors. The baseline value is the closed-form one of :func:`reinforce_stats`.
    """
    p = probability("p", p, open_low=True)
    V = integer("V", V, minimum=2, maximum=10**7)
    n = integer("n", n, minimum=2 * batches)
    batches = integer("batches", batches, minimum=2)
    b = reinforce_stats(p, V, baseline)["b"]
    pi = np.full(V, (1.0 - p) / (V - 1.0))
    pi[0] = p
    s2 = float(np.einsum("i,i->", pi, pi))  # einsum, not BLAS: no thread start-up per call
    m = n // batches
    means, traces = [], []
    for _ in range(batches):
        hit = rng.random(m) < p
        a = np.where(hit, 0, rng.integers(1, V, size=m))
        c = hit.astype(float) - b  # r - b
        g_mean = (np.bincount(a, weights=c, minlength=V) - c.sum() * pi) / m
        sq = c * c * (1.0 - 2.0 * pi[a] + s2)  # |G_i|^2
        g2 = float(np.einsum("i,i->", g_mean, g_mean))
        tr = (sq.mean() - g2) * m / (m - 1)
        means.append(g2 - tr / m)  # unbiased for |E G|^2
        traces.append(tr)
    means, traces = np.array(means), np.array(traces)
    return {"mean_norm2": float(means.mean()), "mean_norm2_se": float(means.std(ddof=1) / math.sqrt(batches)),
            "trace_cov": float(traces.mean()), "trace_cov_se": float(traces.std(ddof=1) / math.sqrt(batches))}


# ---------------------------------------------------------------- group-normalised advantages
def grpo_signal_prob(p, G):
    """P(a group of G samples has a nonzero advantage) = 1 - (1 - p)^G - p^G: not all pass and not all fail."""
    p = np.asarray(probability("p", p), dtype=float)
    G = np.asarray(G, dtype=float)
    bad = ~np.isfinite(G) | (G < 1) | (G != np.floor(G))
    if np.any(bad):
        raise ParameterError(f"G={float(G[bad].flat[0]):g} is outside the allowed range: an integer in [1, inf)")
    with np.errstate(divide="ignore"):
        out = np.maximum(-np.expm1(G * np.log1p(-p)) - p**G, 0.0)
    return float(out) if np.ndim(out) == 0 else out


# ---------------------------------------------------------------- the truncated-support learner
def _softmax(x):
    z = np.exp(x - x.max())
    return z / z.sum()


def sampling_policy(theta, k: int, temperature: float) -> np.ndarray:
    """The distribution the learner samples from: softmax(theta / T) restricted to the top-k logits (ties by index)."""
    theta = np.asarray(theta, dtype=float)
    V = theta.size
    k = integer("k", k, minimum=1, maximum=V)
    temperature = real("temperature", temperature, minimum=0.0, open_low=True)
    keep = np.arange(V) if k == V else np.argsort(-theta, kind="stable")[:k]
    out = np.zeros(V)
    out[keep] = _softmax(theta[keep] / temperature)
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
        x = theta[keep]
        z = np.exp(x - x.max())
        pol = z / z.sum()
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
