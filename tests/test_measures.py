"""Unit and property tests for rlbits.measures (chapter 2): closed forms against explicit Bayesian updates."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbits import measures
from rlbits.validate import ParameterError

probs = st.floats(min_value=1e-9, max_value=1.0 - 1e-9)
sizes = st.integers(min_value=2, max_value=60)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(p=probs, V=sizes)
def test_closed_forms_match_brute_force(p, V):
    brute = measures.brute_force_measures(measures.belief(p, V))
    closed = measures.all_measures(p, V)
    for key, value in brute.items():
        assert closed[key] == pytest.approx(value, rel=1e-9, abs=1e-13), key


@settings(max_examples=100, deadline=None, derandomize=True)
@given(p=probs, V=st.integers(min_value=2, max_value=10**9))
def test_sl_at_least_rl_and_equal_at_two(p, V):
    m = measures.all_measures(p, V)
    assert m["sl_info_gain"] >= m["rl_info_gain"] - 1e-12 * m["sl_info_gain"]
    assert m["sl_mutual_info"] >= m["rl_mutual_info"] - 1e-12 * m["sl_mutual_info"]
    if V == 2:
        assert m["rl_info_gain"] == pytest.approx(m["sl_info_gain"], rel=1e-12)
        assert m["rl_mutual_info"] == pytest.approx(m["sl_mutual_info"], rel=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(weights=st.lists(st.floats(min_value=1e-6, max_value=1.0), min_size=2, max_size=12),
       truth=st.integers(min_value=0, max_value=11))
def test_data_processing_for_any_belief(weights, truth):
    prior = np.array(weights) / np.sum(weights)
    truth = truth % prior.size
    b = measures.brute_force_measures(prior, truth)
    entropy = -np.sum(prior * np.log2(prior))
    assert b["sl_mutual_info"] == pytest.approx(entropy, rel=1e-10)
    assert b["rl_mutual_info"] <= b["sl_mutual_info"] + 1e-12
    # realised SL gain is the label's surprisal
    assert b["sl_info_gain"] == pytest.approx(-math.log2(prior[truth]), rel=1e-10)


def test_values_against_mpmath():
    mpmath.mp.dps = 40
    for p, V in [(1e-5, 100_000), (1e-2, 100_000), (0.9, 7), (0.3, 2)]:
        P, N = mpmath.mpf(p), mpmath.mpf(V)
        q = (1 - P) / (N - 1)
        H = lambda x: -x * mpmath.log(x, 2) - (1 - x) * mpmath.log(1 - x, 2)
        assert measures.rl_info_gain(p, V) == pytest.approx(float(-P * mpmath.log(P, 2) - (1 - P) * mpmath.log(1 - q, 2)),
                                                            rel=1e-12)
        assert measures.sl_mutual_info(p, V) == pytest.approx(float(H(P) + (1 - P) * mpmath.log(N - 1, 2)), rel=1e-12)
        assert measures.rl_mutual_info(p, V) == pytest.approx(float(P * H(P) + (1 - P) * H(q)), rel=1e-12)


def test_uniform_belief_gives_entropy_bound():
    # at p = 1/V the belief is uniform, q = p, and RL's gain and mutual information are both H(p)
    for V in (3, 10, 100_000):
        p = 1.0 / V
        m = measures.all_measures(p, V)
        assert m["rl_info_gain"] == pytest.approx(m["rl_entropy_bound"], rel=1e-10)
        assert m["rl_mutual_info"] == pytest.approx(m["rl_entropy_bound"], rel=1e-10)


def test_realised_information_near_success_term():
    # for 1/V << p << 1 the RL gain is -p log p plus about (1-p)^2/(V-1) nats
    V = 10**9
    for p in (1e-6, 1e-4, 1e-2):
        gain = measures.rl_info_gain(p, V, "nats")
        assert gain == pytest.approx(-p * math.log(p) + (1 - p) ** 2 / (V - 1), rel=1e-8)
        assert gain / measures.rl_success_term(p, "nats") < 1 + 1e-3
        assert measures.rl_bare_bit_entropy(p, "nats") / gain > 1 + 0.9 / math.log(1 / p)


def test_vectorised_and_units():
    p = np.array([1e-3, 0.2, 0.7])
    bits = measures.rl_info_gain(p, 50)
    nats = measures.rl_info_gain(p, 50, "nats")
    assert bits.shape == (3,)
    assert np.allclose(bits * math.log(2), nats, rtol=1e-14)
    assert measures.rl_info_gain(1.0, 5) == 0.0
    assert measures.rl_mutual_info(1.0, 5) == 0.0


def test_eliminator():
    V = 1000
    assert measures.eliminator_mean_samples(V) == 500.5
    assert measures.eliminator_samples_quantile(V, 0.95) == 950
    for n in (1, 17, 999, 1000):
        assert measures.eliminator_realised_bits(V, n) == pytest.approx(math.log2(V), rel=1e-12)
    m = np.arange(2, 50)
    assert np.allclose(measures.eliminator_gain(m), measures.rl_info_gain(1.0 / m, m), rtol=1e-12)
    rng_runs = [np.random.default_rng(s) for s in np.random.SeedSequence(7).spawn(3000)]
    found = np.array([measures.eliminator_simulate(50, r) for r in rng_runs])
    assert found.min() >= 1 and found.max() <= 50
    assert abs(found.mean() - 25.5) < 5 * found.std() / math.sqrt(found.size)
    counts = np.bincount(found, minlength=51)[1:]
    assert counts.min() > 20  # every position is reached (uniform: 60 expected each)


@pytest.mark.parametrize("call", [
    lambda: measures.rl_info_gain(1.5, 10),
    lambda: measures.rl_info_gain(0.5, 1),
    lambda: measures.rl_info_gain(0.5, 2.5),
    lambda: measures.sl_mutual_info(float("nan"), 10),
    lambda: measures.rl_info_gain(0.5, 10, unit="dits"),
    lambda: measures.belief(0.5, 1),
    lambda: measures.brute_force_measures([0.5, 0.6]),
    lambda: measures.eliminator_realised_bits(10, 11),
])
def test_bad_inputs_raise(call):
    with pytest.raises(ParameterError):
        call()


def test_error_names_the_value():
    with pytest.raises(ParameterError, match="V=1"):
        measures.rl_info_gain(0.5, 1)
    with pytest.raises(ParameterError, match="p=1.5"):
        measures.sl_info_gain(1.5, 10)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(weights=st.lists(st.floats(min_value=1e-6, max_value=1.0), min_size=2, max_size=12),
       truth=st.integers(min_value=0, max_value=11))
def test_any_belief_in_linear_time_matches_brute_force(weights, truth):
    prior = np.array(weights) / np.sum(weights)
    truth = truth % prior.size
    b = measures.brute_force_measures(prior, truth)
    assert measures.rl_info_gain_belief(prior, truth) == pytest.approx(b["rl_info_gain"], rel=1e-9, abs=1e-14)
    assert measures.rl_mutual_info_belief(prior) == pytest.approx(b["rl_mutual_info"], rel=1e-9, abs=1e-14)
    assert measures.rl_mutual_info_belief(prior) <= 1.0 + 1e-12  # the theorem behind the H(p) bound


def test_gain_given_truth_exceeds_entropy_bound_for_wrong_beliefs():
    # below the uniform guess (q > p) the gain exceeds H(p); at and above it (q <= p) it does not
    for V in (3, 10, 1000):
        for p, above in ((0.1 / V, True), (1.0 / V, False), (3.0 / V, False)):
            m = measures.all_measures(p, V)
            assert (m["rl_info_gain"] > m["rl_entropy_bound"] * (1 + 1e-12)) == above, (V, p)
    # a belief concentrated on a wrong answer: bits per sample while H(p) is ~ 0; its mutual information stays <= 1
    V, p, d = 200, 1e-7, 0.999
    prior = np.full(V, (1 - p - d) / (V - 2)); prior[0], prior[1] = p, d
    brute = measures.brute_force_measures(prior, 0)
    closed = measures.decoy_belief_measures(p, d, V)
    assert closed["rl_info_gain"] == pytest.approx(brute["rl_info_gain"], rel=1e-9)
    assert closed["rl_mutual_info"] == pytest.approx(brute["rl_mutual_info"], rel=1e-9)
    assert closed["rl_info_gain"] > 9 > 1e4 * closed["entropy_bound"]
    assert closed["rl_mutual_info"] < 1


def test_decoy_measures_at_huge_v_and_bad_inputs():
    m = measures.decoy_belief_measures(1e-14, 0.999 * (1 - 1e-14), 10**12)
    assert np.isfinite(list(m.values())).all()
    with pytest.raises(ParameterError):
        measures.decoy_belief_measures(0.5, 0.6, 10)
    with pytest.raises(ParameterError):
        measures.rl_info_gain_belief([0.5, 0.6])


def test_eliminator_simulation_with_small_chunks_is_uniform():
    # chunks smaller than the run: the draws continue across chunk boundaries with the right number of answers left
    a = np.array([measures.eliminator_simulate(30, np.random.default_rng(s), chunk=7) for s in range(6000)])
    assert a.min() >= 1 and a.max() <= 30
    assert abs(a.mean() - 15.5) < 5 * a.std() / math.sqrt(a.size)
    counts = np.bincount(a, minlength=31)[1:]
    assert counts.min() > 120  # 200 expected at each position, including those past the first chunks
    assert measures.eliminator_simulate(1, np.random.default_rng(0)) == 1
