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


def test_bits_per_episode(r):
    out = r["outcome_bits_per_episode_first20"]
    obs = r["obs_bits_per_episode_first20_mf"]
    assert 0 < out <= 1 and r["max_outcome_bits_per_episode_mf"] <= 1
    assert obs > out
    assert r["obs_over_outcome_first20"] == pytest.approx(obs / out, rel=1e-12)
    # realised cross-entropy ~ noise + learnable (eq-ce-split, in expectation)
    ce, noise = r["obs_ce_bits_per_episode_first20_mf"], r["obs_noise_bits_per_episode_first20_mf"]
    assert ce == pytest.approx(noise + obs, rel=0.1)
    # the outcome can carry at most one bit per episode over the whole run
    assert r["outcome_bits_total_mf"] <= r["episodes_used"]


def test_learners(r):
    mb, mf = r["episodes_to_target_model_based"], r["episodes_to_target_model_free"]
    assert mb < mf
    # the model-based learner learns while its outcomes carry (almost) nothing
    assert 0 <= r["outcome_bits_mb_before_target"] < 1
    assert 0 <= r["success_mb_while_exploring"] <= r["p_uniform_mean"]
    assert r["speedup_episodes"] == pytest.approx(mf / mb, rel=1e-12)
    # per bit, the outcome's bits were more often needed than the observations'
    assert r["relevant_share_outcome_bits"] > r["relevant_share_obs_bits"]
    assert r["relevant_share_outcome_bits"] == pytest.approx(r["policy_bits"] / r["outcome_bits_until_target_mf"])
    assert r["value_ratio_outcome_over_obs"] == pytest.approx(
        r["obs_bits_until_target_mb"] / r["outcome_bits_until_target_mf"], rel=1e-12)


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


def test_verdicts(r):
    assert r["verdict_C22"] == "holds with a caveat"
    assert r["verdict_C18"] == "depends on the definition"
    assert r["verdict_C29"] == "discussed, not testable"
    for claim in ("C18", "C22", "C29"):
        assert r[f"verdict_{claim}_quantity"] in r
