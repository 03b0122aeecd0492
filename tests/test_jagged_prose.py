"""Tests of rlbits.jagged_prose (chapter 12): every branch of the sentences chosen by the outcome."""

import pytest

from rlbits import jagged_prose as jp
from rlbits.validate import ParameterError

BASE = dict(sg=0.95, sh=0.02, b1=0.1, t1=0.6, bk=0.9, tk=0.95, cross=None, cross_est=None, pmin=1e-6, rew=0.2,
            err=0.001)


def test_wilson_interval():
    lo, hi = jp.wilson_interval(64, 128)
    assert lo == pytest.approx(0.4141, abs=1e-3) and hi == pytest.approx(0.5859, abs=1e-3)
    assert jp.wilson_interval(0, 10)[0] == 0.0 and jp.wilson_interval(10, 10)[1] == pytest.approx(1.0)
    with pytest.raises(ParameterError):
        jp.wilson_interval(3, 2)


def test_regimes_branches():
    common_found = jp.regimes(0.1, BASE, 1e-4, {**BASE, "sh": 0.99, "sg": 0.0, "cross": 30, "cross_est": 28}, 1024)
    assert "RL finds it in 95%" in common_found and "ahead at every $k$" in common_found
    assert "99% of runs end on the heuristic" in common_found and "from $k = 30$" in common_found
    assert "place the crossover at $k = 28$" in common_found
    not_common = jp.regimes(0.1, {**BASE, "sg": 0.3, "sh": 0.6, "cross": 5}, 1e-4, BASE, 1024)
    assert "is not common enough" in not_common and "Even at the rarest setting" in not_common
    assert "does not overtake it up to $k = 1,024$" in not_common and "show no crossover" in not_common
    falls = jp.regimes(0.1, BASE, 1e-4, {**BASE, "t1": 0.05}, 1024)
    assert "pass@1 does not rise" in falls


def test_passk_escape_and_summary_branches():
    assert "every setting" in jp.passk_sentence(3, 3, 1024)
    assert "2 of the 3 settings" in jp.passk_sentence(3, 2, 1024)
    assert "no setting ends on the heuristic" in jp.passk_sentence(0, 0, 1024)
    with pytest.raises(ParameterError):
        jp.passk_sentence(1, 2, 1024)
    assert "beyond the budget" in jp.escape_sentence(0.01, 5e4, 2000)
    assert "within the budget" in jp.escape_sentence(0.01, 500, 2000)
    assert "no plateau" in jp.escape_sentence(None, None, 2000)
    assert "from 20 to 40" in jp.summary_cross([40, 20, 30], 1024)
    assert "at $k = 20$" in jp.summary_cross([20], 1024)
    assert "does not appear" in jp.summary_cross([], 1024)
    assert jp.c19_clause({"cross": 33}, 1024) == "falls below the base model's from k = 33 on"
    assert "does not fall below" in jp.c19_clause({"cross": None}, 1024)


def test_transition_sentence_branches():
    assert "does not cross one half" in jp.transition_sentence(None, 0.05, 6, 128, 0.03, 0.1)
    assert "does not reach it" in jp.transition_sentence(0.05, None, 6, 128, 0.03, 0.1)
    assert "close to the mean field's" in jp.transition_sentence(0.05, 0.051, 6, 128, 0.03, 0.1)
    assert "above the mean field's" in jp.transition_sentence(0.08, 0.05, 6, 128, 0.03, 0.1)
    assert "below the mean field's" in jp.transition_sentence(0.03, 0.05, 6, 128, 0.03, 0.1)


def test_bridges_branches():
    kw = dict(warm_traces=8, p_warm=0.1, p_recede=0.05, entropy_bonus=0.2, curriculum_steps=2648, budget=4648)
    good = dict(share=1.0, pass1=0.7, cross=None)
    text = jp.bridges(good, {**good, "pass1": 0.5}, good, **kw)
    assert "warm start** works" in text and "above the threshold" in text and "keeps sampling junk" in text
    assert "curriculum** works" in text and "2,000 steps on all problems" in text
    text = jp.bridges({**good, "share": 0.2}, {**good, "share": 0.1}, {**good, "share": 0.5, "cross": 40},
                      **{**kw, "p_warm": 0.01})
    assert "not enough here" in text and "still below" in text and "brings only 10%" in text
    assert "brings only 50% of runs" in text and "crossover at $k = 40$" in text
    assert "curriculum** fails" in jp.bridges(good, good, {**good, "share": 0.05}, **kw)
    assert "with pass@1 0.800 against 0.700" in jp.bridges(good, {**good, "pass1": 0.8}, good, **kw)
    assert jp.bridge_summary([("a", 0.5, 0.25)]) == "a brings 50% of runs to the general strategy (pass@1 0.250)"
