"""Inverse-CDF sampling's count by the first index that reaches the draw (no chapter: the samplers of bigram, mlp_lm).

Sampling a token by inverse CDF counts, per row, the cumulative sums that lie below a uniform draw ``u``. The sums
of non-negative terms never decrease, so that count is the first index at which a sum reaches ``u``, and
``argmax`` finds it without comparing and counting the whole row as ``(cdf < u).sum(axis=1)`` does. Rows where
no sum reaches ``u`` (``u`` above the total, or a ``nan`` in the row) fall back to the plain count, so the result
equals it on every input whose rows are non-decreasing up to any ``nan``. :func:`count_at_or_below` is the same for
the sums at or below ``u`` (the first that exceeds it).
"""

from __future__ import annotations

import numpy as np


def count_below(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``(cdf < u).sum(axis=1)`` for rows ``cdf`` that never decrease, and ``u`` of shape ``(rows, 1)``."""
    reach = cdf >= u
    first = reach.argmax(axis=1)
    none = ~reach[np.arange(len(cdf)), first]  # no sum reaches u: the plain count
    if none.any():
        first[none] = (cdf[none] < u[none]).sum(axis=1)
    return first


def count_at_or_below(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``(cdf <= u).sum(axis=1)`` for rows ``cdf`` that never decrease, and ``u`` of shape ``(rows, 1)``: the first
    index at which a sum exceeds ``u`` (the plain count where none does)."""
    above = cdf > u
    first = above.argmax(axis=1)
    none = ~above[np.arange(len(cdf)), first]
    if none.any():
        first[none] = (cdf[none] <= u[none]).sum(axis=1)
    return first
