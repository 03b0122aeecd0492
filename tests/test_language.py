"""The synthetic language: exact entropy rate and excess loss against brute-force estimates from samples."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlbits.language import log_softmax_rows, make_language, softmax_rows, stationary_distribution
from rlbits.validate import ParameterError


@pytest.fixture(scope="module")
def lang():
    return make_language(K=24, frac_deterministic=0.5, support=6, seed=3)


def test_rows_are_distributions_and_kinds(lang):
    assert np.allclose(lang.P.sum(axis=1), 1.0)
    H = lang.context_entropy()
    assert np.allclose(H[lang.deterministic], 0.0)
    assert np.allclose(H[~lang.deterministic], np.log2(6))
    assert lang.deterministic.sum() == 12


def test_stationary_is_fixed_point(lang):
    pi = lang.stationary
    assert pi.min() > 0 and pi.sum() == pytest.approx(1.0)
    assert np.allclose(pi @ lang.P, pi, atol=1e-12)
    # against the long-run frequencies of a simulated sequence
    seq = lang.sample_sequence(np.random.default_rng(0), 200_000)
    freq = np.bincount(seq, minlength=lang.K) / len(seq)
    assert np.abs(freq - pi).max() < 0.01


def test_entropy_rate_matches_sample_estimate(lang):
    rng = np.random.default_rng(1)
    ctx, nxt = lang.sample_pairs(rng, 400_000)
    est = -np.mean(np.log2(lang.P[ctx, nxt]))
    assert est == pytest.approx(lang.entropy_rate(), abs=0.01)
    assert lang.entropy_rate("nats") == pytest.approx(lang.entropy_rate() * np.log(2))


def test_cross_entropy_decomposes(lang):
    rng = np.random.default_rng(2)
    W = rng.normal(size=(lang.K, lang.K))
    assert lang.cross_entropy(W) == pytest.approx(lang.entropy_rate() + lang.excess_loss(W), rel=1e-12)
    assert lang.excess_loss(W) > 0
    # a Monte-Carlo estimate of the cross-entropy from sampled pairs
    ctx, nxt = lang.sample_pairs(rng, 400_000)
    est = -np.mean(log_softmax_rows(W)[ctx, nxt]) / np.log(2)
    assert est == pytest.approx(lang.cross_entropy(W), rel=0.01)
    # the true table has zero excess loss
    logP = np.log(np.where(lang.P > 0, lang.P, 1e-300))
    assert lang.excess_loss(logP) == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-700, 700), min_size=2, max_size=8))
def test_softmax_stable(row):
    z = np.array([row])
    p = softmax_rows(z)
    assert np.all(np.isfinite(p)) and p.sum() == pytest.approx(1.0)
    assert np.allclose(np.exp(log_softmax_rows(z)), p, atol=1e-12)
    assert np.all(np.isfinite(log_softmax_rows(z)))


def test_stationary_of_two_state_chain():
    P = np.array([[0.9, 0.1], [0.3, 0.7]])
    assert np.allclose(stationary_distribution(P), [0.75, 0.25])


def test_bad_inputs_name_the_value():
    with pytest.raises(ParameterError, match="support=1"):
        make_language(K=8, support=1)
    with pytest.raises(ParameterError, match="frac_deterministic=1.5"):
        make_language(frac_deterministic=1.5)
    with pytest.raises(ParameterError, match="K=-3"):
        make_language(K=-3)
    with pytest.raises(ParameterError, match="unit='bytes'"):
        make_language(K=8, support=2).entropy_rate("bytes")


def test_softmax_rows_is_scipys_softmax_bit_for_bit():
    from scipy import special

    rng = np.random.default_rng(4)
    for z in (rng.normal(0, 5, (512, 64)), rng.normal(0, 30, (3, 7, 16)), np.array([[0.0, -np.inf, 2.0]])):
        assert np.array_equal(softmax_rows(z), special.softmax(z, axis=-1))
