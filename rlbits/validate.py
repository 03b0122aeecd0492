"""Parameter checks with messages that name the parameter, the value and the allowed range.

Every chapter's ``parameters`` cell is followed by calls to these functions, so a reader who re-runs a chapter
with ``-p NAME VALUE`` gets a clear error instead of a silent wrong answer.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Iterable

import numpy as np


class ParameterError(ValueError):
    """A chapter or helper parameter is outside its allowed range."""


def _is_real(value) -> bool:
    return isinstance(value, (Real, np.floating, np.integer)) and not isinstance(value, bool)


def probability(name: str, value, *, open_low: bool = False, open_high: bool = False):
    """Check that ``value`` is a probability (scalar or array) in [0, 1] (optionally open at either end).

    Returns the value (as float or float64 array). NaN is rejected.
    """
    arr = np.asarray(value, dtype=float) if not isinstance(value, str) else None
    if arr is None or arr.dtype.kind not in "fiu":
        raise ParameterError(f"{name}={value!r} is not a number; allowed: a probability in [0, 1]")
    lo = "(0" if open_low else "[0"
    hi = "1)" if open_high else "1]"
    bad = np.isnan(arr) | (arr < 0) | (arr > 1)
    if open_low:
        bad |= arr == 0
    if open_high:
        bad |= arr == 1
    if np.any(bad):
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        raise ParameterError(f"{name}={first!r} is outside the allowed range {lo}, {hi}")
    return float(arr) if arr.ndim == 0 else arr


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Check that ``value`` is an integer in [minimum, maximum]; floats equal to an integer (1e5) are accepted."""
    if isinstance(value, bool) or not _is_real(value):
        raise ParameterError(f"{name}={value!r} is not an integer; allowed: {_range(minimum, maximum)}")
    if not isinstance(value, (Integral, np.integer)):
        if not math.isfinite(value) or float(value) != int(value):
            raise ParameterError(f"{name}={value!r} is not an integer; allowed: {_range(minimum, maximum)}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ParameterError(f"{name}={value!r} is outside the allowed range {_range(minimum, maximum)}")
    return value


def real(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
         open_low: bool = False) -> float:
    """Check that ``value`` is a finite real number in [minimum, maximum] ((minimum, maximum] if open_low)."""
    if not _is_real(value) or not math.isfinite(float(value)):
        raise ParameterError(f"{name}={value!r} is not a finite number; allowed: {_range(minimum, maximum, open_low)}")
    value = float(value)
    too_low = minimum is not None and (value <= minimum if open_low else value < minimum)
    if too_low or (maximum is not None and value > maximum):
        raise ParameterError(f"{name}={value!r} is outside the allowed range {_range(minimum, maximum, open_low)}")
    return value


def one_of(name: str, value, choices: Iterable):
    """Check that ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise ParameterError(f"{name}={value!r} is not allowed; choose one of {choices}")
    return value


def generators(name: str, value) -> list:
    """One random generator per run: ``value`` as a non-empty list (a clear error when it is empty)."""
    rngs = list(value)
    if not rngs:
        raise ParameterError(f"{name} is empty; allowed: one generator per run, at least one")
    return rngs


def _range(lo, hi, open_low: bool = False) -> str:
    left = "(" if open_low else "["
    return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
