"""Tests of rlbits.sightings (chapter 3): waiting times and GRPO's signal chance against brute force and Monte Carlo;
argument checks of the chapter-3 modules."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbits import reinforce_gradient, sightings, truncation
from rlbits.validate import ParameterError


# ---------------------------------------------------------------- waiting times
@settings(max_examples=200, deadline=None, derandomize=True)
@given(p=st.floats(min_value=1e-7, max_value=0.99), c=st.floats(min_value=0.01, max_value=0.999))
def test_samples_for_success_is_the_smallest_n(p, c):
    n = sightings.samples_for_success(p, c)
    assert 1 - (1 - p) ** n >= c - 1e-12
    if n > 1:
        assert 1 - (1 - p) ** (n - 1) < c + 1e-12


def test_essay_numbers_and_rule_of_thumb():
    p = 1e-5
    assert sightings.samples_for_success(p, 0.95) == 299_572
    assert sightings.samples_for_success(p, 0.90) == 230_258
    assert sightings.samples_for_success(p, 0.99) == 460_515
    assert sightings.rule_of_thumb(p, 0.95) == pytest.approx(math.log(20) / p, rel=1e-14)
    # the exact answer is within one sample of ln(1/(1-c)) / (p + p^2/2 + ...) and below the rule
    for c in (0.9, 0.95, 0.99):
        exact = sightings.samples_for_success(p, c)
        assert exact <= sightings.rule_of_thumb(p, c) + 1
        assert abs(exact - math.log1p(-c) / math.log1p(-p)) <= 1


def test_waiting_time_simulation_is_geometric_and_stream_stable():
    p = 0.01
    w = sightings.simulate_waiting_times(p, np.random.SeedSequence(11), 20_000)
    assert abs(w.mean() * p - 1) < 5 * math.sqrt(1 - p) / math.sqrt(w.size)
    n = sightings.samples_for_success(p, 0.95)
    assert abs(np.mean(w <= n) - sightings.prob_at_least_one(p, n)) < 5 * math.sqrt(0.05 * 0.95 / w.size)
    # run i does not depend on how many runs are simulated
    w_small = sightings.simulate_waiting_times(p, np.random.SeedSequence(11), 100)
    assert np.array_equal(w_small, w[:100])


# ---------------------------------------------------------------- GRPO
def test_grpo_signal_prob_brute_force():
    from math import comb
    for G in (1, 2, 8, 33):
        for p in (0.0, 1e-5, 0.3, 0.5, 1.0):
            brute = sum(comb(G, k) * p**k * (1 - p) ** (G - k) for k in range(1, G))
            assert sightings.grpo_signal_prob(p, G) == pytest.approx(brute, rel=1e-10, abs=1e-300)
    assert sightings.grpo_signal_prob(1e-5, 8) == pytest.approx(8e-5, rel=1e-4)
    k = np.random.default_rng(3).binomial(8, 0.05, size=200_000)
    est = np.mean((k > 0) & (k < 8))
    exact = sightings.grpo_signal_prob(0.05, 8)
    assert abs(est - exact) < 5 * math.sqrt(exact * (1 - exact) / k.size)


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("call, match", [
    (lambda: sightings.samples_for_success(0.0, 0.95), "p=0"),
    (lambda: sightings.samples_for_success(0.1, 1.0), "c=1"),
    (lambda: reinforce_gradient.reinforce_stats(0.1, 1), "V=1"),
    (lambda: reinforce_gradient.reinforce_stats(0.1, 10, "median"), "baseline='median'"),
    (lambda: sightings.grpo_signal_prob(0.1, 0), "G=0"),
    (lambda: sightings.grpo_signal_prob(1.2, 8), "p=1.2"),
    (lambda: truncation.sampling_policy(np.zeros(5), 6, 1.0), "k=6"),
    (lambda: truncation.sampling_policy(np.zeros(5), 2, 0.0), "temperature=0"),
    (lambda: sightings.prob_at_least_one(0.1, -1), "n=-1"),
])
def test_bad_inputs_raise(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_samples_for_success_finishes_at_the_edges_of_the_range():
    """Issue 11 item 1: at p <= ~1e-21 the old correction loop decremented a float that no longer changed (a hang).

    Run in a subprocess with a time limit, so a regression fails instead of hanging the suite.
    """
    import subprocess
    import sys

    code = ("from rlbits import sightings as v\n"
            "for p in (1e-300, 5e-324, 1e-21, 1 - 1e-16):\n"
            "    for c in (1e-300, 0.5, 0.95, 0.99, 1 - 1e-16):\n"
            "        print(p, c, v.samples_for_success(p, c))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    got = {(float(p), float(c)): int(n) for p, c, n in (line.split() for line in proc.stdout.splitlines())}
    # the small-p limit ln(1/(1-c))/p, to 1e-12 relative
    assert got[(1e-300, 0.95)] == pytest.approx(-math.log1p(-0.95) / 1e-300, rel=1e-12)
    assert got[(1e-21, 0.99)] == pytest.approx(-math.log1p(-0.99) / 1e-21, rel=1e-12)
    assert got[(1 - 1e-16, 0.95)] == 1 and got[(1 - 1e-16, 1 - 1e-16)] <= 3
    assert got[(1e-300, 1e-300)] == 1
    # exact smallest integers where floats can tell n from n - 1 (the values chapter 3 records)
    assert sightings.samples_for_success(1e-5, 0.95) == 299_572
    assert sightings.samples_for_success(1e-21, 0.5) > sightings.samples_for_success(1e-21, 0.5 - 1e-9)
