"""Tests of rlbits.next_token_rl (chapter 7): halving summaries, the end state against a plain loop, every branch of
the mechanism rule, and the equal-progress interpolation."""

import math

import numpy as np
import pytest

from rlbits import next_token_rl as ntr
from rlbits.language import make_language, softmax_rows


def test_halving_summary_branches():
    med, out = ntr.halving_summary("x", np.array([100.0, 200.0, 300.0]), 1000)
    assert med == 200.0 and out["samples_to_halve_excess_x"] == 200.0
    assert out["samples_to_halve_excess_x_text"] == "200" and out["samples_to_halve_excess_x_range"] == "100 to 300"
    med, out = ntr.halving_summary("x", np.array([100.0, np.inf, np.inf]), 1000)
    assert math.isinf(med) and out["samples_to_halve_excess_x"] == 1000.0
    assert out["samples_to_halve_excess_x_text"] == "more than 1,000"
    assert out["samples_to_halve_excess_x_range"] == "100 to 100; 2 of 3 runs never did"
    _, out = ntr.halving_summary("x", np.array([np.inf]), 1000)
    assert out["samples_to_halve_excess_x_range"] == "no run halved it"


def test_end_state_and_mode_mass_by_a_plain_loop():
    lang = make_language(K=8, frac_deterministic=0.5, support=4, seed=1, concentration=1.0)
    logits = np.random.default_rng(0).normal(size=(3, 8, 8))
    top, mode, reward = ntr.end_state(lang, logits)
    rand = [s for s in range(8) if not lang.deterministic[s]]
    wsum = sum(lang.stationary[s] for s in rand)
    for r in range(3):
        q = softmax_rows(logits[r])
        assert top[r] == pytest.approx(sum(lang.stationary[s] * q[s].max() for s in rand) / wsum, rel=1e-12)
        m = sum(lang.stationary[s] * q[s, lang.P[s].argmax()] for s in rand) / wsum
        assert mode[r] == pytest.approx(m, rel=1e-12)
        assert reward[r] == pytest.approx(sum(lang.stationary[s] * q[s] @ lang.P[s] for s in rand) / wsum, rel=1e-12)
    assert np.allclose(ntr.mode_mass(lang, logits), mode, rtol=1e-12)


def test_mechanism_rule_on_both_sides_of_each_threshold():
    ex = np.array([0.1, 0.12, 0.11])
    seeking = dict(mode_excess=ex, mode_excess_se=0.01, reward=np.array([0.6]), reward_true=0.5,
                   top=np.array([0.9]), true_mode=0.3)
    assert ntr.mechanism(**seeking) == "mode seeking"
    # the excess within two standard errors: not mode seeking; concentrated, so drift
    assert ntr.mechanism(**{**seeking, "mode_excess_se": 0.06}) == "drift"
    # more mass on the mode but no more reward than the truth: not mode seeking
    assert ntr.mechanism(**{**seeking, "reward": np.array([0.5])}) == "drift"
    # neither: the largest probability at most DRIFT_FACTOR times the data's mode
    flat = {**seeking, "reward": np.array([0.4]), "top": np.array([ntr.DRIFT_FACTOR * 0.3])}
    assert ntr.mechanism(**flat) == "neither"
    assert ntr.mechanism(**{**flat, "top": np.array([ntr.DRIFT_FACTOR * 0.3 + 1e-9])}) == "drift"


def test_absorbed_at_interpolates_in_log_log_up_to_the_closest_approach():
    left = np.array([1.0, 0.8, 0.4, 0.2, 0.3])  # the table turns back after the 4th interval
    ab = np.array([0.1, 0.05, 0.02, 0.01, -0.01])
    # between left 0.8 (ab 0.05) and 0.4 (ab 0.02), log-log at 0.5
    t = (math.log(0.5) - math.log(0.4)) / (math.log(0.8) - math.log(0.4))
    expected = math.exp(math.log(0.02) + t * (math.log(0.05) - math.log(0.02)))
    assert ntr.absorbed_at(left, ab, 0.5) == pytest.approx(expected, rel=1e-12)
