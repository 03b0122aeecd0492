"""The rules of chapters 8-10's claims (C12-C17, C24, C27, C28 in data/claims.yml), on synthetic results at both sides
of every threshold. No chapter is run: the values are made up to sit just inside or just outside each case."""

import pytest

from rlbits.verdicts import evaluate, load_claims

CLAIMS = load_claims()
EPS = 1e-9


def decide(cid, **values):
    return evaluate(CLAIMS[cid], values)


# ---- C12: pretraining and inference scaling raise the bits per RL sample

C12 = dict(rl_bits_per_sample_gain_best=756.0, any_of_k_episode_over_single=12.4, any_of_k_attempt_over_single=0.18,
           V=100_000)


@pytest.mark.parametrize("changes,expected", [
    ({}, "depends on the definition"),
    ({"rl_bits_per_sample_gain_best": 1.1 + EPS}, "depends on the definition"),
    ({"rl_bits_per_sample_gain_best": 1.1}, "does not hold"),
    ({"any_of_k_episode_over_single": 1.1 + EPS}, "depends on the definition"),
    ({"any_of_k_episode_over_single": 1.1}, "holds with a caveat"),
    ({"any_of_k_attempt_over_single": 1 - EPS}, "depends on the definition"),
    ({"any_of_k_attempt_over_single": 1.0}, "holds"),
    ({"any_of_k_attempt_over_single": 1.0, "rl_bits_per_sample_gain_best": 1.1}, "does not hold"),
])
def test_c12(changes, expected):
    d = decide("C12", **(C12 | changes))
    assert d.verdict == expected
    assert d.premise_ok


def test_c12_premise():
    assert not decide("C12", **(C12 | {"V": 99_999})).premise_ok
    assert decide("C12", **(C12 | {"V": 10**9})).premise_ok


# ---- C24: a warm start moves RL off a zero pass rate

C24 = dict(warm_speedup_best=2960.0, warmbest_p0=0.107, warmbest_sft_samples=95, V=100_000)


@pytest.mark.parametrize("speedup,expected", [(10.0, "holds"), (10 - EPS, "holds with a caveat"),
                                              (1.1 + EPS, "holds with a caveat"), (1.1, "does not hold")])
def test_c24(speedup, expected):
    d = decide("C24", **(C24 | {"warm_speedup_best": speedup}))
    assert d.verdict == expected
    assert "95" in d.says or expected == "does not hold"


def test_c24_premise_is_said():
    d = decide("C24", **(C24 | {"V": 10}))
    assert not d.premise_ok and "does not apply" in d.text


# ---- C13: curriculum helps RL much more than pretraining

C13 = dict(curriculum_gain_rl_over_sl=4.55e5, curriculum_gain_rl=1.97e5, curriculum_gain_sl=0.43,
           sweep_gain_ratio_min=12.0, sweep_gain_ratio_max=2.5e9, sweep_gain_ratio_slope=0.93, sweep_VD_min=81.0,
           sweep_VD_max=6.6e11, sweep_VD_at_min_ratio=81.0)


@pytest.mark.parametrize("changes,expected", [
    ({}, "holds with a caveat"),
    ({"sweep_gain_ratio_min": 10.0}, "holds with a caveat"),
    ({"sweep_gain_ratio_min": 10 - EPS}, "holds with a caveat"),
    ({"curriculum_gain_rl_over_sl": 10 - EPS}, "holds with a caveat"),
    ({"curriculum_gain_rl_over_sl": 1.5 + EPS, "sweep_gain_ratio_min": 1.2}, "holds with a caveat"),
    ({"curriculum_gain_rl_over_sl": 1.5, "sweep_gain_ratio_min": 1.2}, "does not hold"),
])
def test_c13(changes, expected):
    assert decide("C13", **(C13 | changes)).verdict == expected


def test_c13_cases_say_which_side():
    # at or above 10 everywhere: the first case, which names the whole sweep's range
    assert "at every family size" in decide("C13", **(C13 | {"sweep_gain_ratio_min": 10.0})).says
    # below 10 somewhere: the second case, which names the family where it fails
    says = decide("C13", **(C13 | {"sweep_gain_ratio_min": 10 - EPS})).says
    assert "only" in says and "V^D = 81" in says
    # below 10 in the chapter's family but at or above 10 across the sweep: the case that says so, not "only 12"
    says = decide("C13", **(C13 | {"curriculum_gain_rl_over_sl": 10 - EPS, "sweep_gain_ratio_min": 12.0})).says
    assert "less than an order of magnitude" in says and "at least 12" in says
    says = decide("C13", **(C13 | {"curriculum_gain_rl_over_sl": 10 - EPS, "sweep_gain_ratio_min": 10 - EPS})).says
    assert "the factor is only" in says


# ---- C14: self-play keeps the win rate near 50%, where bits per sample peak

C14 = dict(fastest_fixed_over_self=1.46, fastest_fixed_over_self_lo=1.04, fastest_fixed_over_self_hi=1.83,
           fastest_fixed_gap=400.0, reach_self_nobaseline=0.45, reach_self_nobaseline_lo=0.37,
           reach_self_nobaseline_hi=0.54, reach_strongest_nobaseline=0.89, reach_strongest_nobaseline_lo=0.82,
           reach_strongest_nobaseline_hi=0.93, reached_target_self=1.0, n_games=6000)


@pytest.mark.parametrize("changes,expected", [
    ({}, "holds with a caveat"),
    ({"fastest_fixed_over_self_lo": 1 + EPS}, "holds with a caveat"),
    ({"fastest_fixed_over_self_lo": 1.0}, "does not hold"),
    ({"reach_self_nobaseline_hi": 0.82 - EPS}, "holds with a caveat"),
    ({"reach_self_nobaseline_hi": 0.82}, "holds"),
    ({"reach_self_nobaseline_hi": 0.82, "fastest_fixed_over_self_lo": 1.0}, "does not hold"),
    ({"reached_target_self": 0.5, "fastest_fixed_over_self_lo": 1.0}, "does not hold"),
    ({"reached_target_self": 0.5 - EPS, "fastest_fixed_over_self_lo": 1.0}, "holds with a caveat"),
])
def test_c14(changes, expected):
    assert decide("C14", **(C14 | changes)).verdict == expected


def test_c14_censored_runs_are_not_compared():
    says = decide("C14", **(C14 | {"reached_target_self": 0.0})).says
    assert "censored by the budget" in says and "6,000" in says


# ---- C15: a value function raises samples per FLOP

C15 = dict(value_saving_with_critic_Tval=0.74, value_saving_with_critic_Tval_lo=0.72,
           value_saving_with_critic_Tval_hi=0.76, value_saving_Tval=1.48, value_saving_Tval_lo=1.44, critic_cost=1.0,
           T_val=20, steps_saving_Tval=1.61, steps_saving_Thi=5.36, T_hi=40)


@pytest.mark.parametrize("changes,expected", [
    ({}, "holds with a caveat"),
    ({"value_saving_with_critic_Tval_lo": 1 + EPS}, "holds"),
    ({"value_saving_with_critic_Tval_lo": 1.0}, "holds with a caveat"),
    ({"value_saving_Tval_lo": 1 + EPS}, "holds with a caveat"),
    ({"value_saving_Tval_lo": 1.0}, "does not hold"),
])
def test_c15(changes, expected):
    d = decide("C15", **(C15 | changes))
    assert d.verdict == expected
    assert "ceiling" in d.says or expected == "does not hold"


# ---- C16: a process reward model raises bits per sample through an easier proxy

C16 = dict(speedup_process_over_outcome_Thi=22.3, noisy_speedup_noisiest=9.0, noisy_flip_noisiest=0.3,
           speedup_process_over_outcome_Tlo=1.29, T_hi=40, T_lo=5)


@pytest.mark.parametrize("changes,expected,marker", [
    ({}, "holds with a caveat", "still"),
    ({"noisy_speedup_noisiest": 2.0}, "holds with a caveat", "still"),
    ({"noisy_speedup_noisiest": 2 - EPS}, "holds with a caveat", "keeps only"),
    ({"speedup_process_over_outcome_Thi": 2.0, "noisy_speedup_noisiest": 1.0}, "holds with a caveat", "keeps only"),
    ({"speedup_process_over_outcome_Thi": 2 - EPS}, "holds with a caveat", "already easy"),
    ({"speedup_process_over_outcome_Thi": 1.2 + EPS}, "holds with a caveat", "already easy"),
    ({"speedup_process_over_outcome_Thi": 1.2}, "does not hold", "no measurable"),
])
def test_c16(changes, expected, marker):
    d = decide("C16", **(C16 | changes))
    assert d.verdict == expected and marker in d.says


# ---- C17: declared, not testable

def test_c17_is_declared():
    d = decide("C17")
    assert d.verdict == "discussed, not testable" and "reward hacking" in d.says


# ---- C27: RL can learn from process rewards

C27 = dict(speedup_process_over_outcome_Thi=22.3, episodes_process_Thi=767.0, episodes_outcome_Thi=17137.0,
           noisy_speedup_noisiest=9.0, noisy_flip_noisiest=0.3, T_hi=40)


@pytest.mark.parametrize("changes,expected", [
    ({}, "holds"),
    ({"noisy_speedup_noisiest": 1.2 + EPS}, "holds"),
    ({"noisy_speedup_noisiest": 1.2}, "holds with a caveat"),
    ({"speedup_process_over_outcome_Thi": 1.2 + EPS}, "holds"),
    ({"speedup_process_over_outcome_Thi": 1.2}, "holds with a caveat"),
])
def test_c27(changes, expected):
    assert decide("C27", **(C27 | changes)).verdict == expected


# ---- C28: graded feedback over rounds of revision carries more than pass/fail

C28 = dict(revision_rounds_passfail_over_rubric=15.0, revision_bits_total_rubric_over_passfail=0.95,
           revision_bits_total_rubric=6.28, revision_bits_total_passfail=6.62, judge_ratio_sigma_mid=1.54,
           sigma_mid=1.0, Kmax=10)


@pytest.mark.parametrize("changes,expected", [
    ({}, "holds with a caveat"),
    ({"revision_bits_total_rubric_over_passfail": 1.1}, "holds"),
    ({"revision_bits_total_rubric_over_passfail": 1.1 - EPS}, "holds with a caveat"),
    ({"revision_rounds_passfail_over_rubric": 2.0}, "holds with a caveat"),
    ({"revision_rounds_passfail_over_rubric": 2 - EPS}, "does not hold"),
    ({"revision_rounds_passfail_over_rubric": 2 - EPS, "revision_bits_total_rubric_over_passfail": 3.0},
     "does not hold"),
])
def test_c28(changes, expected):
    d = decide("C28", **(C28 | changes))
    assert d.verdict == expected


def test_c28_says_faster_not_richer():
    says = decide("C28", **C28).says
    assert "faster, not richer" in says and "6.28" in says and "6.62" in says and "1.54" in says
