"""The REINFORCE gradient of a softmax policy with a 0/1 reward, as a random vector (chapters 3, 4 and 6).

- its mean is ``p`` times the supervised gradient: exactly, by enumerating every action
  (:func:`reinforce_expected_gradient`), and by Monte Carlo for any logits (:func:`reinforce_gradient_monte_carlo`);
- its mean, the trace of its covariance and the noise scale in closed form for chapter 3's policy model, for no
  baseline, the mean-reward baseline and the variance-optimal constant baseline (:func:`reinforce_stats`,
  :func:`optimal_baseline`), with a Monte-Carlo estimator to check them (:func:`reinforce_gradient_mc`).

The policy model of the closed forms is chapter 2's: probability ``p`` on the answer, the rest spread evenly over
``V - 1`` wrong ones. With logits theta and pi = softmax(theta), the score is grad log pi(a) = e_a - pi, so with
``S2 = sum pi^2``, ``|e_a - pi|^2 = 1 - 2 pi_a + S2``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import softmax

from rlbits.measures import _pv  # p and V validated and broadcast (the belief model of chapter 2)
from rlbits.validate import ParameterError, integer, one_of, probability

BASELINES = ("none", "mean", "optimal")


# ---------------------------------------------------------------- the gradient identity (chapter 6)

def reinforce_expected_gradient(logits, answer: int = 0):
    """Exact E_y[r(y) grad_z log pi_y] for 0/1 reward r(y) = [y == answer], by enumerating all V actions,
    and p * grad_z log pi_answer (p times the SL gradient). Chapter 6 checks that the two are equal."""
    z = np.asarray(logits, dtype=float)
    if z.ndim != 1 or len(z) < 2 or not np.all(np.isfinite(z)):
        raise ParameterError(f"logits must be a finite vector of length >= 2, got shape {z.shape}")
    answer = integer("answer", answer, minimum=0, maximum=len(z) - 1)
    pi = softmax(z)
    rewards = (np.arange(len(z)) == answer).astype(float)
    weights = pi * rewards  # pi_y r_y for every action y
    expected = weights - weights.sum() * pi  # sum_y pi_y r_y (e_y - pi), all V terms at once
    sl = -pi
    sl[answer] += 1.0
    return expected, pi[answer] * sl


def reinforce_gradient_monte_carlo(logits, n_samples: int, rng: np.random.Generator, answer: int = 0):
    """Monte Carlo estimate of E[r grad log pi_y] from ``n_samples`` sampled actions, with its standard error
    per coordinate (chapter 6)."""
    z = np.asarray(logits, dtype=float)
    n_samples = integer("n_samples", n_samples, minimum=2)
    pi = softmax(z)
    ys = rng.choice(len(z), size=n_samples, p=pi)  # sampled actions; r = 1 only where y == answer
    hits = int(np.count_nonzero(ys == answer))  # sum_i r_i (e_{y_i} - pi) = hits * (e_answer - pi)
    sl = -pi
    sl[answer] += 1.0
    mean = hits / n_samples * sl
    f = hits / n_samples
    return mean, np.sqrt(f * (1 - f) / (n_samples - 1)) * np.abs(sl)


# ---------------------------------------------------------------- REINFORCE gradient statistics
def _norms(p, V):
    """k1 = |e_* - pi|^2 (the answer's score), k0 = |e_a - pi|^2 for a wrong a, and q."""
    q = (1.0 - p) / (V - 1.0)
    s2 = p * p + (1.0 - p) * q
    return 1.0 - 2.0 * p + s2, 1.0 - 2.0 * q + s2, q


def optimal_baseline(p, V):
    """The constant baseline minimising the trace of the covariance: E[r |g|^2] / E[|g|^2] (Greensmith et al.)."""
    p, V = _pv(p, V, open_low=True)
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
    p, V = _pv(p, V, open_low=True)
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
