"""The rules of C02, C06 (chapter 5) and C08, C26 (chapter 6) in data/claims.yml, on synthetic results at both
sides of every threshold (no chapter is executed)."""

import pytest

from rlbits.verdicts import evaluate, load_claims

CLAIMS = load_claims()
EPS = 1e-9


def decide(cid, **values):
    return evaluate(CLAIMS[cid], values)


# ------------------------------------------------------------------ C02: a million in FLOPs, or only in bits per FLOP
C02 = dict(N_params=7e10, n_layer=80, d_model=8192, sl_context=4096, samples_ratio_T1e4=13_333.3,
           T_for_million_samples_ratio=750_000.0)


@pytest.mark.parametrize("attn,thr,expected", [
    (1e6, 1e-9, "holds"), (1e6 * (1 - EPS), 1e-5, "holds with a caveat"),
    (188_520.0, 1e-5, "holds with a caveat"), (188_520.0, 1e-5 * (1 - EPS), "does not hold"),
    (188_520.0, 0.0109, "holds with a caveat")])
def test_c02(attn, thr, expected):
    d = decide("C02", samples_ratio_attention_T1e5=attn, gap_million_p_threshold_T10000=thr, **C02)
    assert d.verdict == expected and d.premise_ok


def test_c02_premise_is_the_model_shape():
    d = decide("C02", **{**C02, "N_params": 1e9}, samples_ratio_attention_T1e5=2e5, gap_million_p_threshold_T10000=0.01)
    assert not d.premise_ok and "does not apply" in d.text


# ------------------------------------------------------------------ C06: every form within a factor of 2, or none
def c06(rmin, rmax, eq=0.06, V=100_000, p_end=0.99):
    return decide("C06", V=V, p_end=p_end, scaling_share_ratio_min=rmin, scaling_share_ratio_max=rmax,
                  compute_share_above_half_equal_per_decade=eq, compute_share_above_half_scaling_min=rmin * eq,
                  compute_share_above_half_scaling_max=rmax * eq)


@pytest.mark.parametrize("rmin,rmax,expected", [
    (0.5, 2.0, "holds"), (1.0, 1.0, "holds"),
    (0.5 * (1 - EPS), 2.0, "holds with a caveat"), (0.5, 2.0 * (1 + EPS), "holds with a caveat"),
    (2.0 * (1 + EPS), 17.0, "does not hold"), (2.0, 17.0, "holds with a caveat"),
    (0.1, 0.5 * (1 - EPS), "does not hold"), (0.1, 0.5, "holds with a caveat"), (8.33, 16.8, "does not hold")])
def test_c06(rmin, rmax, expected):
    d = c06(rmin, rmax)
    assert d.verdict == expected and d.premise_ok


def test_c06_premise():
    assert not c06(8.0, 16.0, p_end=0.9).premise_ok
    assert not c06(8.0, 16.0, V=1000).premise_ok


# ------------------------------------------------------------------ C08: the typical untrained pass rate times V
def c08(median, V_report=100_000, sigma=1.0):
    return decide("C08", init_median_pass_rate_times_V=median, init_lognormal_median_times_V=0.61, init_sigma=sigma,
                  V_report=V_report)


@pytest.mark.parametrize("median,expected", [
    (0.5, "holds"), (2.0, "holds"), (0.5 * (1 - EPS), "holds with a caveat"), (2.0 * (1 + EPS), "holds with a caveat"),
    (0.1, "holds with a caveat"), (10.0, "holds with a caveat"), (0.1 * (1 - EPS), "does not hold"),
    (10.0 * (1 + EPS), "does not hold")])
def test_c08(median, expected):
    d = c08(median)
    assert d.verdict == expected and d.premise_ok


def test_c08_premise():
    assert not c08(0.6, V_report=1000).premise_ok
    assert not c08(0.6, sigma=2.0).premise_ok


# ------------------------------------------------------------------ C26: share of runs within the budget, and the cost
def c26(lo, hi, ratio, frac=None, V_report=100_000, budget=1_000_000, eta=1.0):
    return decide("C26", budget_frac_V_report_lo=lo, budget_frac_V_report_hi=hi,
                  budget_frac_V_report=(lo + hi) / 2 if frac is None else frac, rl_over_sl_samples_to_099=ratio,
                  sample_budget=budget, V_report=V_report, eta=eta)


@pytest.mark.parametrize("lo,hi,ratio,expected", [
    (0.9, 1.0, 10.0, "holds"), (0.998, 1.0, 1401.0, "holds"),
    (0.9, 1.0, 10.0 * (1 - EPS), "holds with a caveat"), (0.9 * (1 - EPS), 1.0, 1401.0, "holds with a caveat"),
    (0.3, 0.5, 1401.0, "holds with a caveat"), (0.3, 0.5 * (1 - EPS), 1401.0, "does not hold"),
    (0.0, 0.002, 1401.0, "does not hold")])
def test_c26(lo, hi, ratio, expected):
    d = c26(lo, hi, ratio)
    assert d.verdict == expected and d.premise_ok


def test_c26_premise():
    assert not c26(0.99, 1.0, 100.0, budget=10**7).premise_ok
    assert not c26(0.99, 1.0, 100.0, eta=0.3).premise_ok
    assert not c26(0.99, 1.0, 100.0, V_report=1000).premise_ok


@pytest.mark.parametrize("cid", ["C02", "C06", "C08", "C26"])
def test_every_rule_has_reasons_and_a_fallback(cid):
    test = CLAIMS[cid]["test"]
    assert test["why"] and test["uses"] and "when" not in test["rule"][-1]
