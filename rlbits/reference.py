"""Plain per-sample versions of the engine's learners (no chapter: the tests and the benchmark).

The learners of :mod:`rlbits.learners` (chapter 6), written the plain way, kept for tests and the benchmark.

Nothing clever in :func:`run`: every sample recomputes the full softmax over V logits, draws a token by inverse CDF
and applies the textbook update. :mod:`rlbits.learners` must agree with these in distribution
(tests/test_learners.py), and ``python -m rlbits bench`` times both on the same workload.

:func:`run_skip_failures` is the middle rung of the Performance page: REINFORCE without a baseline, still drawing
every sample (one uniform each, which decides by inverse CDF whether it is the answer), but skipping the update of a
failed sample, whose gradient is exactly zero (so the softmax is recomputed only after a success). It isolates how much of the engine's speed comes from
not updating after failures; the rest comes from not drawing them (the event-driven engine draws the geometric
waiting time instead).
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from rlbits.validate import integer, one_of, probability, real

METHODS = ("sl", "rl", "rl_mean", "eliminator")


def update(z: np.ndarray, ys, advantages, eta: float) -> np.ndarray:
    """The REINFORCE / SL update ``z + eta * mean_b adv_b (e_{y_b} - softmax(z))`` (returns a new array)."""
    pi = softmax(z)
    g = -np.mean(advantages) * pi
    for y, a in zip(ys, advantages):
        g[y] += a / len(ys)
    return z + eta * g


def run(method: str, V: int, thresholds, rng: np.random.Generator, eta: float = 1.0, batch: int = 1,
        max_samples: int = 10**6, record_every: int = 0):
    """One run of ``method`` from a uniform start (answer = token 0) until the pass rate reaches the last threshold.

    Returns ``(samples_to, trace)``: samples at which each threshold was first reached (-1 if not within
    ``max_samples``), and, if ``record_every`` > 0, the pass rate after every ``record_every`` samples.
    """
    one_of("method", method, METHODS)
    V = integer("V", V, minimum=2)
    thr = np.atleast_1d(probability("thresholds", np.asarray(thresholds, dtype=float), open_low=True))
    eta = real("eta", eta, minimum=0.0, open_low=True)
    batch = integer("batch", batch, minimum=1)
    z = np.zeros(V)
    alive = np.ones(V, dtype=bool)  # the eliminator's candidates
    samples_to = np.full(len(thr), -1, dtype=np.int64)
    trace = []
    n = 0
    while n < max_samples and samples_to[-1] < 0:
        if method == "eliminator":
            cand = np.flatnonzero(alive)
            y = cand[rng.integers(len(cand))]
            if y == 0:
                alive[:] = False
                alive[0] = True
            else:
                alive[y] = False
            p = 1.0 / alive.sum()
            n += 1
        else:
            pi = softmax(z)
            if method == "sl":
                ys = [0] * batch
                adv = [1.0] * batch
            else:
                cdf = np.cumsum(pi)
                ys = [min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), V - 1)
                      for _ in range(batch)]
                r = np.array([1.0 if y == 0 else 0.0 for y in ys])
                adv = r - pi[0] if method == "rl_mean" else r
            z = update(z, ys, adv, eta)
            p = softmax(z)[0]
            n += batch
        for j, t in enumerate(thr):
            if samples_to[j] < 0 and p >= t:
                samples_to[j] = n
        if record_every and n % record_every == 0:
            trace.append(p)
    return samples_to, np.array(trace)


def run_skip_failures(V: int, thresholds, rng: np.random.Generator, eta: float = 1.0,
                      max_samples: int = 10**9) -> np.ndarray:
    """REINFORCE (0/1 reward, no baseline, batch 1) from a uniform start, answer token 0, drawing every sample but
    skipping the updates of failed samples (their gradient is exactly zero).

    Each sample is one uniform ``u``, which fixes its token by inverse CDF over the current softmax, with the answer
    first: the sample is the answer exactly when ``u < p``. Which wrong token a failure drew is not located, because
    its gradient is zero whichever it is. After a success the textbook update is applied to all V logits and the
    softmax recomputed. Uniforms are drawn in chunks; those after a success in a chunk are discarded. Returns the
    samples at which each threshold was first reached (-1 if not within ``max_samples``); same distribution as
    :func:`run` with ``method="rl"``.
    """
    V = integer("V", V, minimum=2)
    thr = np.atleast_1d(probability("thresholds", np.asarray(thresholds, dtype=float), open_low=True))
    eta = real("eta", eta, minimum=0.0, open_low=True)
    max_samples = integer("max_samples", max_samples, minimum=1)
    z = np.zeros(V)
    samples_to = np.full(len(thr), -1, dtype=np.int64)
    n = 0
    p = softmax(z)[0]
    while n < max_samples and samples_to[-1] < 0:
        chunk = int(min(max(16, 2.0 / p), max_samples - n))
        hits = np.flatnonzero(rng.random(chunk) < p)
        if not hits.size:  # every sample in the chunk failed: zero gradient, nothing to update
            n += chunk
            continue
        n += int(hits[0]) + 1
        z = update(z, [0], [1.0], eta)
        p = softmax(z)[0]
        for j, t in enumerate(thr):
            if samples_to[j] < 0 and p >= t:
                samples_to[j] = n
    return samples_to


def samples_to(method: str, V: int, thresholds, seed, n_runs: int, **kwargs) -> np.ndarray:
    """``run`` for ``n_runs`` independent runs (child i of ``seed``): array (n_runs, n_thresholds)."""
    from rlbits.learners import generators

    return np.stack([run(method, V, thresholds, g, **kwargs)[0] for g in generators(seed, n_runs)])
