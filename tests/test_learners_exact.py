"""Chapter 6's exact helpers in rlbits.learners: the eliminator's expectations and quantiles, and the Wilson interval,
against brute force and simulation."""

import math

import numpy as np
import pytest

from rlbits import learners
from rlbits.validate import ParameterError


@pytest.mark.parametrize("V", [3, 7, 50])
def test_eliminator_expectations_by_enumeration(V):
    # T uniform on 1..V; samples to threshold t are min(T, m)
    for m in (0, 1, V - 2, V - 1, V):
        vals = [min(T, m) for T in range(1, V + 1)]
        mean, var = learners.eliminator_samples_expected(V, m)
        assert mean == pytest.approx(np.mean(vals), rel=1e-12, abs=1e-12)
        assert var == pytest.approx(np.var(vals), rel=1e-9, abs=1e-9)


def test_eliminator_expectations_match_the_engine():
    V, n = 1000, 20_000
    s = learners.eliminator_samples_to(V, [0.5, 0.99], 3, n)
    for j, m in enumerate((V - 2, V - 1)):
        mean, var = learners.eliminator_samples_expected(V, m)
        assert abs(s[:, j].mean() - mean) < 5 * math.sqrt(var / n)


def test_eliminator_quantiles_against_simulated_runs():
    V, n = 40, 4000
    T = np.array([g.integers(1, V + 1) for g in learners.generators(5, n)])
    grid = np.arange(0, V + 1)
    p = np.where(T[:, None] <= grid[None, :], 1.0, 1.0 / np.maximum(V - grid[None, :], 1))
    for q in (0.1, 0.5, 0.9):
        exact = learners.eliminator_pass_rate_quantile(V, grid, q)
        sim = np.quantile(p, q, axis=0, method="inverted_cdf")
        # away from the jump (where n/V is within sampling noise of 1 - q) the two agree exactly
        far = np.abs(grid / V - (1 - q)) > 4 * math.sqrt(q * (1 - q) / n) + 1 / V
        assert np.array_equal(exact[far], sim[far])
    assert learners.eliminator_pass_rate_quantile(V, 0, 0.5) == pytest.approx(1 / V)
    assert learners.eliminator_pass_rate_quantile(V, V, 0.01) == 1.0
    with pytest.raises(ParameterError):
        learners.eliminator_pass_rate_quantile(V, -1, 0.5)


def test_wilson_interval_coverage_and_edges():
    lo, hi = learners.wilson_interval(0, 100)
    assert lo == 0.0 and 0 < hi < 0.05
    lo, hi = learners.wilson_interval(100, 100)
    assert hi == 1.0 and 0.95 < lo < 1
    lo, hi = learners.wilson_interval(50, 100)
    assert lo < 0.5 < hi and hi - 0.5 == pytest.approx(0.5 - lo)
    # coverage of the 95% interval by simulation, at a true proportion near the edge
    rng = np.random.default_rng(0)
    p, n = 0.97, 200
    ks = rng.binomial(n, p, size=4000)
    cover = np.mean([lo <= p <= hi for lo, hi in (learners.wilson_interval(int(k), n) for k in ks)])
    assert 0.93 < cover < 0.975
    with pytest.raises(ParameterError):
        learners.wilson_interval(5, 4)
