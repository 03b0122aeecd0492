"""Surprisal, binary entropy, entropy and KL divergence (chapters 1, 2, 5, 6, 8, 9, 10, 13 and 14).

Information measures for one sample of feedback (introduced in chapter 1, "Bits per sample"); the canonical
entropy and divergence of rlbits.

All functions are vectorised over ``p``, validate it (a probability in [0, 1], NaN rejected, with a message naming
the value), and take ``unit="bits"`` (log base 2) or ``unit="nats"`` (natural log).
Numerics: ``log1p`` is used for ``log(1 - p)``, so ``binary_entropy(1e-300)`` and ``binary_entropy(1 - 1e-16)`` are
accurate to a few ulps rather than rounded to zero.
"""

from __future__ import annotations

import math

import numpy as np

from rlbits.validate import ParameterError, one_of, probability

_LN2 = math.log(2.0)


def _scale(unit: str) -> float:
    one_of("unit", unit, ("bits", "nats"))
    return 1.0 / _LN2 if unit == "bits" else 1.0


def _out(x):
    return float(x) if np.ndim(x) == 0 else x


def surprisal(p, unit: str = "bits"):
    """-log p: the information in observing an event of probability ``p`` (what an SL label carries).

    ``surprisal(0)`` is ``inf``.
    """
    p = np.asarray(probability("p", p), dtype=float)
    with np.errstate(divide="ignore"):
        return _out(-np.log(p) * _scale(unit))


def binary_entropy(p, unit: str = "bits"):
    """H(p) = -p log p - (1-p) log(1-p): the most a pass/fail outcome of pass rate ``p`` can carry."""
    p = np.asarray(probability("p", p), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        b = np.where(p < 1, -(1.0 - p) * np.log1p(-np.where(p < 1, p, 0.0)), 0.0)
    return _out((a + b) * _scale(unit))


def sl_over_rl_ratio(p):
    """Surprisal over binary entropy, -log p / H(p) (unit-free); ``inf`` at p = 0 and ``nan`` at p = 1 (0/0)."""
    p = np.asarray(probability("p", p), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _out(surprisal(p, "nats") / binary_entropy(p, "nats"))


def mean_bits_log_uniform(V, measure: str = "sl"):
    """Average bits per sample when the pass rate is log-uniform on [1/V, 1] (equal samples per decade).

    Closed forms derived in chapter 1 (with L = ln V):

    - SL: (1/L) * integral of -log2 p d(ln p) = log2(V) / 2;
    - RL: (pi^2/6 - H(1/V) - Li2(1/V)) / (L ln 2), with H in nats and Li2 the dilogarithm.
    """
    from mpmath import polylog

    one_of("measure", measure, ("sl", "rl"))
    V = float(V)
    if not V > 1:
        raise ValueError(f"V={V!r} is outside the allowed range (1, inf)")
    L = math.log(V)
    if measure == "sl":
        return math.log2(V) / 2.0
    a = 1.0 / V
    return (math.pi**2 / 6 - binary_entropy(a, "nats") - float(polylog(2, a))) / (L * _LN2)


def log_axis_share_rl_above_sl(V):
    """Share of the log pass-rate axis [1/V, 1] on which H(p) > -log2 p, i.e. p in (1/2, 1): ln 2 / ln V."""
    V = float(V)
    if not V > 2:
        raise ValueError(f"V={V!r} is outside the allowed range (2, inf)")
    return _LN2 / math.log(V)


def _distribution(name: str, dist, axis):
    """``dist`` as a float array of probability vectors along ``axis`` (``None``: the whole array is one
    distribution): finite entries in [0, 1], each vector summing to 1 within 1e-9; the error names the offending
    value. Entries down to ``-1e-12`` are accepted as rounding residue of a difference (they count as 0)."""
    d = np.asarray(dist, dtype=float) if not isinstance(dist, str) else None
    if d is None or d.dtype.kind not in "fiu":
        raise ParameterError(f"{name}={dist!r} is not a number; allowed: probability vectors")
    bad = np.isnan(d) | (d < -1e-12) | (d > 1 + 1e-12)
    if np.any(bad):
        raise ParameterError(f"{name} has the entry {float(d[bad].flat[0])!r}; allowed: probabilities in [0, 1]")
    if d.ndim == 0:
        raise ParameterError(f"{name}={dist!r} is a scalar; allowed: an array of probability vectors")
    total = d.sum(axis=axis)
    bad = np.abs(total - 1.0) > 1e-9
    if np.any(bad):
        raise ParameterError(f"{name} sums to {float(np.ravel(total)[np.ravel(bad)][0])!r} along axis={axis}; "
                             "allowed: probability vectors summing to 1 (within 1e-9)")
    return d


def entropy(dist, unit: str = "bits", axis=-1):
    """Shannon entropy ``-sum_i p_i log p_i`` of the probability vectors of ``dist`` along ``axis`` (``None``: the
    whole array is one joint distribution), with ``0 log 0 = 0``; vectorised over the other axes.

    The canonical entropy of a discrete distribution in rlbits (chapter 1); the logarithm is taken in the unit's base
    directly (``log2`` for bits), so no rescaling rounds. ``0 <= H <= log K`` for ``K`` outcomes.
    """
    one_of("unit", unit, ("bits", "nats"))
    p = _distribution("dist", dist, axis)
    log = np.log2 if unit == "bits" else np.log
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, -p * log(np.where(p > 0, p, 1.0)), 0.0)
    return _out(t.sum(axis=axis))


def kl_divergence(p, q, unit: str = "nats", axis=-1):
    """``KL(p || q) = sum_i p_i log(p_i / q_i)`` of the probability vectors of ``p`` and ``q`` along ``axis``
    (broadcast together; ``None``: whole arrays), with ``0 log 0 = 0`` and ``inf`` where ``q_i = 0 < p_i``.

    The canonical divergence of two discrete distributions in rlbits (chapter 1); ``KL >= 0``, with equality iff
    ``p = q``.
    """
    one_of("unit", unit, ("bits", "nats"))
    p = _distribution("p", p, axis)
    q = _distribution("q", q, axis)
    log = np.log2 if unit == "bits" else np.log
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * log(np.where(p > 0, p, 1.0) / q), 0.0)  # log of the ratio: exact when p ~ q
    return _out(t.sum(axis=axis))
