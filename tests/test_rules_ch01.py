"""The rules of the claims of chapters 1-4 (C03, C04, C05, C07, C09, C10, C11) on synthetic results, at both sides of
every threshold. No chapter is executed: each test feeds the rule the quantities a chapter records."""

import pytest

from rlbits.verdicts import evaluate, load_claims

CLAIMS = load_claims()


def decide(cid, **values):
    return evaluate(CLAIMS[cid], values)


# ---------------------------------------------------------------- C03: a label carries -log p bits
C03 = dict(V=100_000, sl_bits_at_1_over_V=16.61, label_learnable_share=0.82, label_identity_error=1e-16,
           label_entropy=3.0, label_divergence=13.61)


@pytest.mark.parametrize("share,error,expected", [
    (0.82, 1e-16, "holds with a caveat"),
    (1 - 1e-12, 1e-9, "holds with a caveat"),      # any entropy at all is a caveat; error at the threshold passes
    (1.0, 1e-9, "holds"),                            # a deterministic label: all of -log p is learnable
    (1.0, 1.01e-9, "does not hold"),                 # the identity fails beyond rounding
    (0.5, 1e-3, "does not hold"),
])
def test_c03(share, error, expected):
    d = decide("C03", **{**C03, "label_learnable_share": share, "label_identity_error": error})
    assert d.verdict == expected
    assert d.premise_ok


def test_c03_premise_is_the_essay_vocabulary():
    assert not decide("C03", **{**C03, "V": 1000}).premise_ok


# ---------------------------------------------------------------- C04: at most H(p), at most one bit
C04 = dict(V=100_000, max_rl_bits=1.0, mi_grid_max_bits=0.999999, mi_decoy_bits=0.0114, ig_over_entropy_off=6.78,
           ig_decoy_bits=9.96, entropy_at_p_off=2.5e-6)


@pytest.mark.parametrize("changes,expected", [
    ({}, "depends on the definition"),
    ({"ig_over_entropy_off": 1 + 2e-9, "ig_decoy_bits": 0.5}, "depends on the definition"),  # just above H(p)
    ({"ig_over_entropy_off": 1.0, "ig_decoy_bits": 1.0001}, "depends on the definition"),    # just above one bit
    ({"ig_over_entropy_off": 1 + 1e-9, "ig_decoy_bits": 1.0}, "holds"),                      # neither exceeds
    ({"ig_over_entropy_off": 0.5, "ig_decoy_bits": 0.5}, "holds"),
    ({"mi_grid_max_bits": 1 + 1e-12}, "depends on the definition"),                          # rounding admitted
    ({"mi_grid_max_bits": 1 + 1e-9}, "does not hold"),                                       # the theorem broken
    ({"mi_decoy_bits": 1.01}, "does not hold"),
    ({"max_rl_bits": 1.001}, "does not hold"),
])
def test_c04(changes, expected):
    assert decide("C04", **{**C04, **changes}).verdict == expected


def test_c04_says_both_measures():
    says = decide("C04", **C04).says
    assert "mutual information" in says and "given the truth" in says and "9.96 bits" in says


# ---------------------------------------------------------------- C05: SL ahead on half the axis, RL on the other
C05 = dict(V=100_000, min_gap_sl_minus_rl_info_gain=1e-11, min_gap_sl_minus_rl_mutual_info=2e-11,
           essay_gap_changes_sign=1, grid_points=7182)


@pytest.mark.parametrize("changes,expected", [
    ({}, "depends on the definition"),
    ({"min_gap_sl_minus_rl_info_gain": -1e-12}, "depends on the definition"),   # rounding at p -> 1 admitted
    ({"min_gap_sl_minus_rl_info_gain": -1.1e-12}, "holds"),                    # RL ahead somewhere, counted alike
    ({"min_gap_sl_minus_rl_mutual_info": -0.01}, "holds"),
    ({"essay_gap_changes_sign": 0}, "does not hold"),
    ({"essay_gap_changes_sign": 0, "min_gap_sl_minus_rl_info_gain": -1.0}, "does not hold"),
])
def test_c05(changes, expected):
    assert decide("C05", **{**C05, **changes}).verdict == expected


# ---------------------------------------------------------------- C07: a thin slice at the end
@pytest.mark.parametrize("share,expected", [(0.0602, "holds with a caveat"), (0.1, "holds with a caveat"),
                                            (0.1000001, "does not hold"), (0.63, "does not hold")])
def test_c07(share, expected):
    d = decide("C07", V=100_000, log_axis_share_rl_above_sl=share, mean_bits_sl_over_rl=40.3)
    assert d.verdict == expected


def test_c07_share_threshold_is_v_1024():
    import math
    # the share ln 2 / ln V crosses a tenth at V = 1024: below it the slice is not thin
    for V, expected in ((1023, "does not hold"), (1025, "holds with a caveat")):
        share = math.log(2) / math.log(V)
        assert decide("C07", V=V, log_axis_share_rl_above_sl=share, mean_bits_sl_over_rl=5.0).verdict == expected


# ---------------------------------------------------------------- C09: about 300,000 samples
@pytest.mark.parametrize("n95,expected", [(299_572, "holds"), (285_001, "holds"), (314_999, "holds"),
                                          (284_999, "does not hold"), (315_001, "does not hold"), (9, "does not hold")])
def test_c09(n95, expected):
    assert decide("C09", n95=n95, p=1e-5).verdict == expected


def test_c09_off_premise_says_so():
    d = decide("C09", n95=9, p=0.3)
    assert not d.premise_ok and "does not apply" in d.text


# ---------------------------------------------------------------- C10: no signal outside the support
C10 = dict(trunc_topk_small_total_successes=0, trunc_full_frac_reach_half=1.0, trunc_topk_large_frac_reach_half=1.0,
           penalty_same_updates_for_other_answer=1, trunc_runs=32, trunc_samples=10**6)


@pytest.mark.parametrize("changes,expected", [
    ({}, "holds"),
    ({"trunc_full_frac_reach_half": 0.5, "trunc_topk_large_frac_reach_half": 0.0}, "holds"),   # the threshold
    ({"trunc_full_frac_reach_half": 0.49, "trunc_topk_large_frac_reach_half": 0.49}, "holds with a caveat"),
    ({"trunc_topk_small_total_successes": 1}, "does not hold"),
    ({"penalty_same_updates_for_other_answer": 0}, "does not hold"),
])
def test_c10(changes, expected):
    assert decide("C10", **{**C10, **changes}).verdict == expected


# ---------------------------------------------------------------- C11: the variance problem comes at the end
C11 = dict(noise_scale_growth=1909.0, control_noise_scale_max=31.0, control_noise_scale_min=31.0, b_crit_growth_z=8.5,
           b_crit_growth=1.79, b_crit_over_b_simple_first=0.31, b_crit_over_b_simple_last=0.09,
           trace_end_over_floor=1.0006)


@pytest.mark.parametrize("changes,expected,clause", [
    ({}, "holds with a caveat", "grows 1.79-fold"),
    ({"noise_scale_growth": 10.0, "b_crit_growth_z": 2.01}, "holds with a caveat", "grows 1.79-fold"),
    ({"b_crit_growth_z": 2.0}, "holds with a caveat", "does not grow beyond its standard errors"),
    ({"b_crit_growth_z": -3.0}, "holds with a caveat", "finds no support"),
    ({"noise_scale_growth": 9.99}, "does not hold", "only"),
    ({"control_noise_scale_max": 31.0 * (1 + 2e-6)}, "does not hold", "control"),
    ({"control_noise_scale_max": 31.0 * (1 + 0.5e-6)}, "holds with a caveat", "grows 1.79-fold"),
])
def test_c11(changes, expected, clause):
    d = decide("C11", **{**C11, **changes})
    assert d.verdict == expected
    assert clause in d.says
