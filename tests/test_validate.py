"""rlbits.validate: every error names the parameter, the value and the allowed range."""

import math

import numpy as np
import pytest

from rlbits import validate
from rlbits.validate import ParameterError


def test_probability():
    assert validate.probability("p", 0.3) == 0.3
    assert np.array_equal(validate.probability("p", [0, 1]), [0.0, 1.0])
    with pytest.raises(ParameterError, match=r"p=1.5 is outside the allowed range \[0, 1\]"):
        validate.probability("p", 1.5)
    with pytest.raises(ParameterError, match=r"q=0.0 is outside the allowed range \(0, 1\]"):
        validate.probability("q", 0.0, open_low=True)
    with pytest.raises(ParameterError, match="nan"):
        validate.probability("p", math.nan)


def test_integer():
    assert validate.integer("V", 1e5, minimum=2) == 100000
    assert validate.integer("V", np.int64(7)) == 7
    with pytest.raises(ParameterError, match=r"V=-1 is outside the allowed range \[2, inf\]"):
        validate.integer("V", -1, minimum=2)
    with pytest.raises(ParameterError, match="n=2.5 is not an integer"):
        validate.integer("n", 2.5)
    with pytest.raises(ParameterError, match="n=True is not an integer"):
        validate.integer("n", True)
    with pytest.raises(ParameterError, match="n='3' is not an integer"):
        validate.integer("n", "3")


def test_real_and_one_of():
    assert validate.real("lr", 0.1, minimum=0, open_low=True) == 0.1
    with pytest.raises(ParameterError, match=r"lr=0.0 is outside the allowed range \(0, inf\]"):
        validate.real("lr", 0.0, minimum=0, open_low=True)
    with pytest.raises(ParameterError, match="lr=inf is not a finite number"):
        validate.real("lr", math.inf)
    assert validate.one_of("method", "sl", ["sl", "rl"]) == "sl"
    with pytest.raises(ParameterError, match=r"method='xx' is not allowed; choose one of \['sl', 'rl'\]"):
        validate.one_of("method", "xx", ["sl", "rl"])


def test_parameter_error_is_value_error():
    assert issubclass(ParameterError, ValueError)


def test_generators_are_a_non_empty_list():
    import numpy as np

    from rlbits.validate import ParameterError, generators

    rngs = generators("rngs", (np.random.default_rng(i) for i in range(2)))
    assert isinstance(rngs, list) and len(rngs) == 2
    with pytest.raises(ParameterError, match="rngs is empty; allowed: one generator per run"):
        generators("rngs", [])
