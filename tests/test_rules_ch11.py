"""The rules of the claims chapters 11-13 decide (C18, C19, C21, C22, C23, C29, C30, C31, C32), on synthetic
recorded quantities at both sides of every threshold."""

import pytest

from rlbits import verdicts
from rlbits.verdicts import evaluate

CLAIMS = verdicts.load_claims()


def decide(cid, **values):
    return evaluate(CLAIMS[cid], values)


# ---- C23 (chapter 11): soft labels worth >= 10 one-hot samples; visit targets ahead with intervals above zero
C23 = dict(soft_equiv_samples_topref=160.0, visits_minus_chosen_lo_Ncmp=0.2, visits_minus_outcome_sims_lo_Ncmp=0.08,
           visits_minus_outcome_sims_hi_Ncmp=0.13, N_cmp=30, quality_best_Ncmp=0.92, saturation_level=0.95)


@pytest.mark.parametrize("change, expected", [
    ({}, "holds"),
    ({"visits_minus_outcome_sims_lo_Ncmp": 0.0}, "holds with a caveat"),
    ({"visits_minus_outcome_sims_lo_Ncmp": 1e-9}, "holds"),
    ({"visits_minus_chosen_lo_Ncmp": 0.0}, "holds with a caveat"),
    ({"soft_equiv_samples_topref": 10.0}, "holds"),
    ({"soft_equiv_samples_topref": 9.99}, "does not hold"),
])
def test_c23(change, expected):
    d = decide("C23", **{**C23, **change})
    assert d.verdict == expected and d.premise_ok


def test_c23_premise_is_saturation():
    assert decide("C23", **C23).premise_ok
    assert decide("C23", **{**C23, "quality_best_Ncmp": 0.95}).premise_ok
    d = decide("C23", **{**C23, "quality_best_Ncmp": 0.951})
    assert not d.premise_ok and "does not apply" in d.text


# ---- C32 (chapter 11): per-move targets ahead of one game's result by >= 0.1, interval above zero; rare wins
C32 = dict(visits_minus_outcome_Ncmp=0.5, visits_minus_outcome_lo_Ncmp=0.45, win_rate_uniform=0.05, N_cmp=30,
           quality_best_Ncmp=0.9, saturation_level=0.95)


@pytest.mark.parametrize("change, expected", [
    ({}, "holds"),
    ({"win_rate_uniform": 0.1}, "holds"),
    ({"win_rate_uniform": 0.1001}, "holds with a caveat"),
    ({"visits_minus_outcome_Ncmp": 0.1}, "holds"),
    ({"visits_minus_outcome_Ncmp": 0.0999}, "does not hold"),
    ({"visits_minus_outcome_lo_Ncmp": 0.0}, "does not hold"),
    ({"visits_minus_outcome_lo_Ncmp": 1e-9}, "holds"),
])
def test_c32(change, expected):
    assert decide("C32", **{**C32, **change}).verdict == expected


# ---- C21 (chapter 12): majority on the heuristic, tenfold fade, return beyond the budget
C21 = dict(rarest_share_on_heuristic=1.0, rarest_fade=164.0, rarest_escape_over_budget=3280.0, p_general_rarest=1e-4)


@pytest.mark.parametrize("change, expected", [
    ({}, "holds with a caveat"),
    ({"rarest_share_on_heuristic": 0.5}, "holds with a caveat"),
    ({"rarest_share_on_heuristic": 0.499}, "does not hold"),
    ({"rarest_fade": 10.0}, "holds with a caveat"),
    ({"rarest_fade": 9.99}, "does not hold"),
])
def test_c21(change, expected):
    assert decide("C21", **{**C21, **change}).verdict == expected


def test_c21_return_within_budget_is_said():
    beyond = decide("C21", **{**C21, "rarest_escape_over_budget": 1.0001})
    within = decide("C21", **{**C21, "rarest_escape_over_budget": 1.0})
    assert "only after" in beyond.says and "expects it back within the budget" in within.says
    assert not decide("C21", **{**C21, "p_general_rarest": 0.01}).premise_ok


# ---- C19 (chapter 12): crossover, fewer than one rewarded sample, pass@1 up
C19 = dict(rarest_crossover_k=33, rarest_rewarded_general_samples=0.19, rarest_pass1_base=0.09,
           rarest_pass1_trained=0.45, p_general_rarest=1e-4)


@pytest.mark.parametrize("change, expected, phrase", [
    ({}, "holds with a caveat", "expected to be rewarded only"),
    ({"rarest_rewarded_general_samples": 1.0}, "holds with a caveat", "is not what kept it out"),
    ({"rarest_rewarded_general_samples": 0.999}, "holds with a caveat", "expected to be rewarded only"),
    ({"rarest_pass1_trained": 0.09}, "holds with a caveat", "is not what kept it out"),
    ({"rarest_crossover_k": "none"}, "does not hold", "never overtakes"),
])
def test_c19(change, expected, phrase):
    d = decide("C19", **{**C19, **change})
    assert d.verdict == expected and phrase in d.says


# ---- C30 (chapter 12): ten budgets of plain RL, warm start majority, plain minority
C30 = dict(bridge_plain_escape_over_budget=300.0, bridge_plain_share_on_general=0.0, bridge_warm_share_on_general=1.0,
           bridge_p_general_used=1e-3)


@pytest.mark.parametrize("change, expected, phrase", [
    ({}, "holds with a caveat", "a different procedure"),
    ({"bridge_plain_escape_over_budget": 10.0}, "holds with a caveat", "a different procedure"),
    ({"bridge_plain_escape_over_budget": 9.99}, "does not hold", "modestly more RL"),
    ({"bridge_warm_share_on_general": 0.499}, "holds with a caveat", "does not show which procedure"),
    ({"bridge_warm_share_on_general": 0.5}, "holds with a caveat", "a different procedure"),
    ({"bridge_plain_share_on_general": 0.5}, "holds with a caveat", "does not show which procedure"),
])
def test_c30(change, expected, phrase):
    d = decide("C30", **{**C30, **change})
    assert d.verdict == expected and phrase in d.says


# ---- C22 (chapter 13): an order of magnitude more information, and a faster learner
C22 = dict(info_obs_over_outcome_first=358.0, info_obs_first=23.0, info_outcome_first=0.064, speedup_episodes=3.6,
           first_episodes=20)


@pytest.mark.parametrize("change, expected, phrase", [
    ({}, "holds with a caveat", "times sooner"),
    ({"info_obs_over_outcome_first": 10.0}, "holds with a caveat", "times sooner"),
    ({"info_obs_over_outcome_first": 9.99}, "does not hold", "only"),
    ({"speedup_episodes": 1.0}, "holds with a caveat", "did not reach the target sooner"),
    ({"speedup_episodes": 1.0001}, "holds with a caveat", "times sooner"),
])
def test_c22(change, expected, phrase):
    d = decide("C22", **{**C22, **change})
    assert d.verdict == expected and phrase in d.says


# ---- C18 (chapter 13): the outcome's relevant share above the observations' at every smoothing
C18 = dict(value_ratio_outcome_over_obs=1.49, outcome_bits_until_target_mf=19.5, info_until_target_mb=24.5,
           speedup_episodes=3.6, value_ratio_min_over_alpha=1.49, value_ratio_max_over_alpha=1.5)


@pytest.mark.parametrize("change, expected", [
    ({}, "depends on the definition"),
    ({"speedup_episodes": 1.0}, "holds"),
    ({"value_ratio_min_over_alpha": 1.0}, "does not hold"),
    ({"value_ratio_min_over_alpha": 1.0001}, "depends on the definition"),
])
def test_c18(change, expected):
    assert decide("C18", **{**C18, **change}).verdict == expected


# ---- C31 (chapter 13): histories twice the information per episode and ahead per item; > 5% for the caveat
C31 = dict(rev_info_ratio_first=1.46, rev_info_ratio_per_item=0.21, rev_rounds_used=3)


@pytest.mark.parametrize("change, expected", [
    ({}, "holds with a caveat"),
    ({"rev_info_ratio_first": 2.0, "rev_info_ratio_per_item": 1.0}, "holds"),
    ({"rev_info_ratio_first": 1.999, "rev_info_ratio_per_item": 1.0}, "holds with a caveat"),
    ({"rev_info_ratio_first": 2.5, "rev_info_ratio_per_item": 0.999}, "holds with a caveat"),
    ({"rev_info_ratio_first": 1.05}, "does not hold"),
    ({"rev_info_ratio_first": 1.0501}, "holds with a caveat"),
])
def test_c31(change, expected):
    assert decide("C31", **{**C31, **change}).verdict == expected


def test_c31_premise_needs_a_revision_round():
    assert decide("C31", **C31).premise_ok
    assert not decide("C31", **{**C31, "rev_rounds_used": 0}).premise_ok


# ---- C29 (chapter 13): a declared open question, paraphrased
def test_c29_is_declared_and_paraphrased():
    c = CLAIMS["C29"]
    assert c["status"] == verdicts.NOT_TESTABLE and c["because"]
    assert decide("C29").verdict == verdicts.NOT_TESTABLE
    source = ("Does the bits-per-flop accounting predict a hard ceiling for very-long-horizon agentic RL, or just a "
              "cost curve that scales with compute?").lower().replace("-", " ").split()
    words = c["claim"].lower().replace("-", " ").split()
    runs = {tuple(source[i:i + 5]) for i in range(len(source) - 4)}
    assert not any(tuple(words[i:i + 5]) in runs for i in range(len(words) - 4))  # no five-word run in common


def test_new_claims_are_in_the_file():
    for cid, chapter in (("C30", "12_elicitation_jaggedness"), ("C31", "13_learning_from_everything"),
                         ("C32", "11_soft_labels_distillation")):
        assert CLAIMS[cid]["chapter"] == chapter and CLAIMS[cid]["test"]["uses"]
