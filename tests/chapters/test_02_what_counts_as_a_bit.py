"""Chapter 2's recorded results against expectations computed here independently (mpmath, explicit sums)."""

import math

import mpmath
import pytest

pytestmark = pytest.mark.book
STEM = "02_what_counts_as_a_bit"
TABLE = {"below": "0.01/V", "uniform": "1/V", "p1e_2": "1e-2", "p0_5": "0.5", "p0_9": "0.9"}




def _expected(p, V):
    """All table measures in bits, from their definitions, in 40-digit arithmetic."""
    mpmath.mp.dps = 40
    N = mpmath.mpf(V)
    P = {"0.01/V": mpmath.mpf("0.01") / N, "1/V": 1 / N}.get(p) or mpmath.mpf(p)
    q = (1 - P) / (N - 1)
    lg = lambda x: mpmath.log(x, 2)
    H = lambda x: -x * lg(x) - (1 - x) * lg(1 - x)
    # information gain given the truth, as an explicit expectation of KL(posterior || prior) = -log(prior mass kept)
    gain_rl = P * (-lg(P)) + (V - 1) * q * (-lg(1 - q))
    # mutual information as H(C) - H(C | A, R), with H(C | A, R) from the posterior after each feedback
    h_prior = -P * lg(P) - (N - 1) * q * lg(q)
    # after a pass: no uncertainty; after a fail on a: the prior renormalised on V - 1 answers
    def h_after_fail(a_is_correct_mass):  # entropy of prior restricted to "not a", for a of mass m
        m = a_is_correct_mass
        rest = 1 - m
        if m == P:  # the correct-looking answer failed: V - 1 answers of mass q each
            return -(N - 1) * (q / rest) * lg(q / rest)
        return -(P / rest) * lg(P / rest) - (N - 2) * (q / rest) * lg(q / rest)
    # P(fail with A = a) = pi(a) (1 - pi(a)) under C ~ pi, A ~ pi independent
    h_cond = P * (1 - P) * h_after_fail(P) + (N - 1) * q * (1 - q) * h_after_fail(q)
    return {
        "sl_surprisal": -lg(P),
        "sl_info_gain": -lg(P),
        "rl_entropy_bound": H(P),
        "rl_surprisal_fail": -lg(1 - q),
        "rl_info_gain": gain_rl,
        "rl_success_term": -P * lg(P),
        "sl_mutual_info": h_prior,
        "rl_mutual_info": h_prior - h_cond,
    }


def test_table_values(r):
    V = r["V"]
    assert V == 100_000
    for tag, p in TABLE.items():
        exp = _expected(p, V)
        for name, value in exp.items():
            assert r[f"{name}_{tag}"] == pytest.approx(float(value), rel=1e-9, abs=1e-15), (name, tag)


def test_minimum_gaps(r):
    assert r["min_gap_sl_minus_rl_info_gain"] >= 0
    assert r["min_gap_sl_minus_rl_mutual_info"] >= 0
    # the minima come from p near 1 (both measures vanish there): tiny, but the grid reaches 1 - 1e-8
    assert r["min_gap_sl_minus_rl_info_gain"] < 1e-10
    assert r["max_rel_gap_V2"] < 1e-12
    assert r["essay_gap_changes_sign"] == 1
    assert r["brute_force_max_rel_error"] < 1e-9


def test_each_column_sl_wins_consistently(r):
    for tag in TABLE:
        assert r[f"sl_surprisal_{tag}"] >= r[f"rl_info_gain_{tag}"]
        assert r[f"sl_mutual_info_{tag}"] >= r[f"rl_mutual_info_{tag}"]
    # while the essay's pair crosses: at p = 0.9 H(p) beats the surprisal
    assert r["rl_entropy_bound_p0_9"] > r["sl_surprisal_p0_9"]


def test_eliminator(r):
    V = r["V"]
    assert r["elim_mean_samples"] == (V + 1) / 2
    assert r["elim_samples_95"] == math.ceil(0.95 * V)
    assert r["elim_total_bits"] == pytest.approx(math.log2(V), rel=1e-14)
    p = 1 / V
    assert r["elim_first_sample_bits"] == pytest.approx(-p * math.log2(p) - (1 - p) * math.log2(1 - p), rel=1e-12)
    # expected bits delivered by the pass: the mean of log2 m over m = 1..V, summed explicitly
    from_pass = math.fsum(math.log2(m) for m in range(1, V + 1)) / V
    assert r["elim_expected_bits_from_pass"] == pytest.approx(from_pass, rel=1e-10)
    assert r["elim_expected_bits_from_fails"] == pytest.approx(math.log2(V) - from_pass, rel=1e-8)
    assert r["elim_expected_bits_from_fails"] == pytest.approx(1 / math.log(2), rel=1e-3)
    # the simulated mean is within 5 standard errors of (V + 1) / 2; the s.e. is about V / sqrt(12 n)
    se = V / math.sqrt(12 * r["elim_mc_runs"])
    assert r["elim_mc_mean_samples_se"] == pytest.approx(se, rel=0.2)
    assert abs(r["elim_mc_mean_samples"] - (V + 1) / 2) < 5 * se


def test_below_uniform_gain_exceeds_entropy(r):
    """Left of 1/V the RL gain given the truth exceeds H(p) (chapter 1's counterexample), from the table's values."""
    exp = _expected("0.01/V", r["V"])
    assert r["ig_over_entropy_below"] == pytest.approx(float(exp["rl_info_gain"] / exp["rl_entropy_bound"]), rel=1e-9)
    assert r["ig_over_entropy_below"] > 1
    # at the uniform belief both RL measures equal H(p)
    uni = _expected("1/V", r["V"])
    assert float(uni["rl_info_gain"]) == pytest.approx(float(uni["rl_entropy_bound"]), rel=1e-12)
    assert r["p_below"] == pytest.approx(0.01 / r["V"], rel=1e-15)
    assert r["elim_over_fixed"] == pytest.approx((r["V"] + 1) / (2 * r["V"]), rel=1e-15)


def test_verdict_follows_the_rule(r):
    from rlbits.verdicts import evaluate, load_claims

    assert r["verdict_C05"] == evaluate(load_claims()["C05"], r).verdict
    assert r["verdict_C05_quantity"] in r
    assert r["verdict_C05_premise"] == 1
