"""Where a sampled curve first crosses a level, in log coordinates (no chapter: bigram, distill, strategies).

Learning curves are recorded at checkpoints spaced evenly in log samples, so "how many samples until the curve gets
to this level" is read between two checkpoints by linear interpolation in ``log x`` (and in ``log y`` for a curve
that falls like a power law). :func:`first_crossing` is the one implementation; :func:`rlbits.distill.crossing` (chapter 11),
:func:`rlbits.bigram.samples_to_fraction` (chapter 7) and :func:`rlbits.strategies.half_point` (chapter 12) are
it with their own conventions (log-log; from sample 0; from below, ``None`` if never).
"""

from __future__ import annotations

import math

import numpy as np

from rlbits.validate import ParameterError


def first_crossing(x, y, level: float, *, log_y: bool = False, rising: bool | None = None) -> float:
    """The first ``x`` at which ``y`` reaches ``level``, interpolated linearly in ``log x`` (and ``log y`` if
    ``log_y``) between the checkpoint before and the first checkpoint at or past the level.

    ``rising``: the curve reaches the level from below (``y >= level``) or from above (``False``: ``y <= level``);
    ``None``: from whichever side ``y[0]`` is on. ``x[0]`` if ``y[0]`` is already there; ``nan`` if it never is.
    ``x`` must be positive (and ``y`` too with ``log_y``), 1-d, one ``y`` per ``x``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0 or np.any(x <= 0) or (log_y and (np.any(y <= 0) or level <= 0)):
        raise ParameterError("first_crossing needs positive 1-d x (and y and level with log_y) with one y per x")
    if rising is None:
        rising = bool(y[0] < level)
    hit = np.nonzero(y >= level if rising else y <= level)[0]
    if hit.size == 0:
        return math.nan
    j = int(hit[0])
    if j == 0:
        return float(x[0])
    lx0, lx1 = math.log(x[j - 1]), math.log(x[j])
    if log_y:
        y0, y1, target = math.log(y[j - 1]), math.log(y[j]), math.log(level)
    else:
        y0, y1, target = float(y[j - 1]), float(y[j]), float(level)
    return float(math.exp(lx0 + (target - y0) / (y1 - y0) * (lx1 - lx0)))
