"""Tests of rlbits.samples_to_pass (chapter 6): exact expectations against plain loops and Monte Carlo, the fits on
synthetic power laws, the report's z-scores and the budget shares."""

import math

import numpy as np
import pytest

from rlbits import learners, samples_to_pass as stp


def test_reinforce_exact_by_a_plain_loop():
    V, eta = 50, 0.7
    d, mean, var = 0.0, 0.0, 0.0
    while True:
        p = 1 / (1 + (V - 1) * math.exp(-d))
        if p >= 0.5:
            break
        mean += 1 / p
        var += (1 - p) / p**2
        d += eta * V / (V - 1) * (1 - p)
    m, v = stp.reinforce_exact(V, 0.5, eta)
    assert m == pytest.approx(mean, rel=1e-12) and v == pytest.approx(var, rel=1e-12)


def test_reinforce_expected_from_a_warm_start():
    V, eta = 1000, 1.0
    assert stp.reinforce_expected_from(V, 1 / V, 0.5, eta) == pytest.approx(stp.reinforce_exact(V, 0.5, eta)[0],
                                                                            rel=1e-9)
    warm = stp.reinforce_expected_from(V, 10 / V, 0.5, eta)
    # the first wait dominates: about V/10 / (1 - e^-eta), ten times less than from the uniform start
    assert warm == pytest.approx(V / 10 / (1 - math.exp(-eta)), rel=0.05)
    assert stp.reinforce_expected_from(V, 0.6, 0.5, eta) == 0.0  # already there


def test_eliminator_exact_by_simulation():
    V, rng = 20, np.random.default_rng(3)
    found = rng.integers(1, V + 1, size=200_000)  # the sample that finds the answer, uniform on 1..V
    for t in (0.5, 0.99):
        m = V - math.floor(1 / t)
        mean, var = stp.eliminator_exact(V, t)
        draws = np.minimum(found, m)
        assert mean == pytest.approx(draws.mean(), abs=5 * draws.std() / math.sqrt(len(draws)))
        assert var == pytest.approx(draws.var(), rel=0.02)


class _Dense:
    def __init__(self, samples_to):
        self.samples_to = samples_to


def test_loglog_fits_recover_synthetic_laws():
    V_grid, V_dense = [10, 100, 1000, 10_000], [10, 100]
    half = {"RL": 3.0 * np.array(V_grid, float) ** 1.2, "SL": 2.5 * np.log(V_grid) + 1.0,
            "eliminator": 0.5 * np.array(V_grid, float), "RL (mean baseline)": np.array(V_dense, float) ** 0.9}
    fit = stp.loglog_fits(V_grid, V_dense, half)
    assert fit["rl_slope"] == pytest.approx(1.2) and math.exp(fit["rl_icpt"]) == pytest.approx(3.0)
    assert fit["sl_efold"] == pytest.approx(2.5) and fit["el_slope"] == pytest.approx(1.0)
    assert fit["mb_slope"] == pytest.approx(0.9)


def test_report_and_mc_z_on_runs_that_sit_on_their_expectations():
    V_grid, V_dense, thr, eta, n = [10, 20, 40], [10, 20], [0.5, 0.99], 1.0, 400
    sl = {V: learners.sl_samples_to(V, thr, eta) for V in V_grid}
    # runs whose mean is exactly the expectation (two values symmetric about it): z = 0 everywhere
    rl = {V: np.column_stack([np.repeat(stp.reinforce_exact(V, t, eta)[0], n) for t in thr]) for V in V_grid}
    el = {V: np.column_stack([np.repeat(stp.eliminator_exact(V, t)[0], n) for t in thr]) for V in V_grid}
    dense = {V: _Dense(2 * rl[V]) for V in V_dense}
    half = stp.samples_to_half(V_grid, V_dense, sl, dense, eta)
    assert stp.mc_max_abs_z(V_grid, thr, rl, el, n, eta) == pytest.approx(0.0, abs=1e-9)
    rep = stp.report(40, V_grid, V_dense, thr, sl, rl, el, half, n, eta)
    assert rep["rl_samples_to_half_z"] == pytest.approx(0.0, abs=1e-9)
    assert rep["rl_mean_over_none_min"] == pytest.approx(2.0) and rep["rl_mean_over_none_max"] == pytest.approx(2.0)
    assert rep["rl_mean_baseline_samples_to_half_extrapolated"] == pytest.approx(2 * rep["rl_samples_to_half"])
    assert rep["rl_over_eliminator_leading_order"] == pytest.approx(2 / (1 - math.exp(-1)))
    assert rep["rl_first_wait_share_of_half"] == pytest.approx(40 / rep["rl_samples_to_half"])
    # a shifted Monte Carlo mean is caught
    rl[20][:, 1] += 10 * math.sqrt(stp.reinforce_exact(20, 0.99, eta)[1] / n)
    assert stp.mc_max_abs_z(V_grid, thr, rl, el, n, eta) == pytest.approx(10.0)


def test_budget_rows():
    rl = {10: np.array([[1, 5], [1, 50], [1, 500], [1, 5000]])}
    [(V, share, lo, hi)] = stp.budget_rows([10], rl, 4, budget=50)
    assert (V, share) == (10, 0.5) and lo < 0.5 < hi
