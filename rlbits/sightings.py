"""Waiting for the first success, and the chance a group of samples carries any signal (chapter 3).

- the geometric waiting time to the first success at pass rate ``p``: the chance of at least one success in ``n``
  samples (:func:`prob_at_least_one`), the samples needed for a given chance (:func:`samples_for_success`, exact, and
  its small-``p`` rule of thumb :func:`rule_of_thumb`), and simulated waiting times (:func:`simulate_waiting_times`);
- the chance that a group of G samples with group-normalised advantages (GRPO) carries any signal
  (:func:`grpo_signal_prob`): not all pass and not all fail.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from rlbits.validate import ParameterError, integer, probability


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
