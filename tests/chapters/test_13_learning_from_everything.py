"""Chapter 13's recorded results against expectations computed here independently (math only, no rlbits)."""

import math

import pytest

pytestmark = pytest.mark.book
STEM = "13_learning_from_everything"




def H(p):
    return 0.0 if p in (0.0, 1.0) else -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def binom_tail(T, q, d):
    """P(Binomial(T, q) >= d)."""
    return sum(math.comb(T, j) * q**j * (1 - q) ** (T - j) for j in range(d, T + 1))


def test_environment_bounds(r):
    d, A, slip, T = r["depth_used"], r["n_actions_used"], r["slip_used"], r["horizon_used"]
    assert T == r["horizon_factor_used"] * d and r["n_states"] == d + 1
    p = r["p_uniform_mean"]
    # at least d right choices are needed; the first d steps all right and no slip suffice
    assert ((1 - slip) / A) ** d <= p <= binom_tail(T, 1 / A, d)
    assert r["outcome_bits_uniform"] == pytest.approx(H(p), rel=1e-12)
    assert 0.99 < r["p_best_mean"] <= 1.0


def test_fact_bits(r):
    n, a = r["n_states"], r["alpha_used"]
    assert r["fact_bits_first_sighting"] == pytest.approx(math.log2(n), rel=1e-15)
    direct = sum(math.log2((j + n * a) / (j + a)) for j in range(50))
    assert r["fact_bits_50_sightings"] == pytest.approx(direct, rel=1e-12)
    assert r["policy_bits"] == pytest.approx(r["depth_used"] * math.log2(r["n_actions_used"]), rel=1e-15)


def test_prior_and_information_bounds(r):
    d, A = r["depth_used"], r["n_actions_used"]
    prior = d * math.log2(A) + (A - 1) * sum(math.log2(s + 1) for s in range(d))
    assert r["prior_bits"] == pytest.approx(prior, rel=1e-12)
    # information cannot exceed the prior's entropy, nor the part about the right actions its own prior
    assert 0 < r["info_obs_first"] <= r["prior_bits"]
    assert 0 <= r["info_obs_right_first"] <= r["policy_bits"]
    assert 0 < r["info_obs_total_mf"] <= r["prior_bits"]
    assert r["info_obs_total_share_of_prior_mf"] == pytest.approx(r["info_obs_total_mf"] / r["prior_bits"])
    # the outcomes' information is below their entropy (k episodes, at most k H(p) by concavity)
    k = r["first_episodes"]
    assert 0 <= r["info_outcome_first"] <= r["outcome_entropy_bound_first"] + 3 * r["info_outcome_first_se"]
    assert r["outcome_entropy_bound_first"] <= k
    assert r["info_obs_over_outcome_first"] == pytest.approx(r["info_obs_first"] / r["info_outcome_first"])
    # observations include the outcome, so they carry at least as much; C22 rests on how much more
    assert r["info_obs_over_outcome_first"] > 10


def test_bits_per_episode(r):
    out = r["outcome_bits_per_episode_first_mf"]
    assert 0 < out <= 1
    assert r["info_obs_per_episode_first_mf"] > out
    # realised cross-entropy ~ noise + the model's regret (eq-ce-split, in expectation)
    ce, noise = r["obs_ce_bits_per_episode_first20_mf"], r["obs_noise_bits_per_episode_first20_mf"]
    assert ce == pytest.approx(noise + r["obs_regret_bits_per_episode_first_mf"], rel=0.1)
    assert r["outcome_bits_total_mf"] <= r["episodes_used"]


def test_learners(r):
    mb, mf = r["episodes_to_target_model_based"], r["episodes_to_target_model_free"]
    assert mb < mf
    # the model-based learner learns while its outcomes carry (almost) nothing
    assert 0 <= r["outcome_bits_mb_before_target"] < 1
    assert 0 <= r["success_mb_while_exploring"] <= r["p_uniform_mean"]
    assert r["speedup_episodes"] == pytest.approx(mf / mb, rel=1e-12)
    assert r["relevant_share_outcome_bits"] == pytest.approx(
        min(1.0, r["policy_bits"] / r["outcome_bits_until_target_mf"]))
    assert r["relevant_share_obs_bits"] == pytest.approx(r["info_right_until_target_mb"] / r["info_until_target_mb"])
    assert r["value_ratio_outcome_over_obs"] == pytest.approx(
        r["relevant_share_outcome_bits"] / r["relevant_share_obs_bits"], rel=1e-12)
    assert r["value_ratio_min_over_alpha"] <= r["value_ratio_outcome_over_obs"] <= r["value_ratio_max_over_alpha"]


def test_revision_toy(r):
    L, A, c, R, e = (r["rev_positions_used"], r["rev_values_used"], r["rev_draft_right_used"], r["rev_rounds_used"],
                     r["rev_judge_noise_used"])
    x = c
    for _ in range(R):  # the chance that a position of the final answer is right, by its own recursion
        x = x * (1 - e) + x * e * c + (1 - x) * (1 - e) * c
    assert r["rev_final_correct"] == pytest.approx(x, rel=1e-12)
    # one final answer: the seen value has posterior x, each other (1 - x)/(A - 1), at every position
    h = -x * math.log2(x) - (1 - x) * math.log2((1 - x) / (A - 1))
    assert r["rev_prior_bits"] == pytest.approx(L * math.log2(A), rel=1e-12)
    assert r["rev_info_answer_first"] == pytest.approx(L * (math.log2(A) - h), rel=1e-9)
    assert r["rev_info_ratio_first"] == pytest.approx(r["rev_info_history_first"] / r["rev_info_answer_first"])
    assert r["rev_info_ratio_per_item"] == pytest.approx(r["rev_info_ratio_first"] / (2 * R + 1))
    assert r["rev_info_ratio_first"] > 1 and r["rev_episodes_history"] <= r["rev_episodes_answer"]


def test_horizon_sweep(r):
    # 1/p0 at the deepest lock is at least 1 / P(Binomial(T, 1/A) >= d)
    d, A = r["sweep_max_depth"], r["n_actions_used"]
    T = r["horizon_factor_used"] * d
    assert r["mf_first_signal_episodes_max_depth"] >= 1 / binom_tail(T, 1 / A, d)
    d0 = r["sweep_min_depth"]
    implied = (r["mf_first_signal_episodes_max_depth"] / r["mf_first_signal_episodes_min_depth"]) ** (1 / (d - d0))
    assert r["mf_first_signal_growth_per_depth"] == pytest.approx(implied, rel=0.3)
    assert r["mf_first_signal_growth_per_depth"] > 2
    assert 0 < r["mb_episodes_per_depth"] < 2 * A
    assert r["mb_episodes_max_depth"] < r["mf_first_signal_episodes_max_depth"]


def test_verdicts_read_recorded_quantities(r):
    for claim in ("C18", "C22", "C31"):
        assert r[f"verdict_{claim}_quantity"] in r
        assert r[f"verdict_{claim}_premise"] == 1
