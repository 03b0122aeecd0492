"""Tests of rlbits.crossings: exact on curves that are straight lines in the interpolation's coordinates."""

import math

import numpy as np
import pytest

from rlbits.crossings import first_crossing
from rlbits.validate import ParameterError


def test_exact_for_a_power_law_in_log_log():
    x = np.array([1.0, 10.0, 100.0, 1000.0])
    assert first_crossing(x, 3.0 / x**0.7, 3.0 * 50.0**-0.7, log_y=True) == pytest.approx(50.0, rel=1e-13)


def test_exact_for_a_line_in_log_x():
    x = np.array([1.0, 10.0, 100.0])
    y = np.log10(x)  # 0, 1, 2: linear in log x
    assert first_crossing(x, y, 1.5) == pytest.approx(10**1.5, rel=1e-13)
    assert first_crossing(x, -y, -0.5) == pytest.approx(10**0.5, rel=1e-13)  # falling: from above


def test_direction_start_and_never():
    x = np.array([1.0, 2.0, 4.0])
    assert first_crossing(x, [0.2, 0.6, 0.9], 0.5, rising=True) == pytest.approx(math.exp(math.log(2) * 0.75))
    assert first_crossing(x, [0.2, 0.6, 0.9], 0.3, rising=False) == 1.0  # already there
    assert first_crossing(x, [0.2, 0.6, 0.9], 0.2) == 1.0
    assert math.isnan(first_crossing(x, [0.2, 0.3, 0.4], 0.5))
    assert math.isnan(first_crossing(x, [0.6, 0.8, 0.7], 0.5))  # starts above and never falls to the level


def test_bad_inputs():
    with pytest.raises(ParameterError, match="positive"):
        first_crossing([0.0, 1.0], [1.0, 2.0], 1.5)
    with pytest.raises(ParameterError, match="positive"):
        first_crossing([1.0, 2.0], [1.0, -2.0], 0.5, log_y=True)
    with pytest.raises(ParameterError, match="one y per x"):
        first_crossing([1.0, 2.0], [1.0], 0.5)
