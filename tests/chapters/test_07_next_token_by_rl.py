"""Chapter 7's recorded results against expectations computed here: the language's exact quantities recomputed from
its transition matrix with plain numpy (eigenvector stationary distribution, entropies by hand), closed forms at the
uniform start, and the qualitative findings the prose states."""

import numpy as np
import pytest

from rlbits.language import make_language

pytestmark = pytest.mark.book
STEM = "07_next_token_by_rl"
# the chapter's default language parameters
LANG = dict(K=64, frac_deterministic=0.5, support=16, seed=0, concentration=1.0)




@pytest.fixture(scope="module")
def chain():
    P = make_language(**LANG).P
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    pi = pi / pi.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        H = -np.nansum(np.where(P > 0, P * np.log2(P), 0.0), axis=1)
    det = P.max(axis=1) == 1.0
    return P, pi, H, det


def test_parameters(r):
    assert r["K"] == LANG["K"] and r["n_seeds"] >= 4 and r["n_samples"] >= 100_000


def test_exact_language_quantities(r, chain):
    P, pi, H, det = chain
    K = LANG["K"]
    assert r["entropy_rate"] == pytest.approx(pi @ H, rel=1e-9)
    assert r["initial_loss"] == pytest.approx(np.log2(K))
    assert r["initial_excess_loss"] == pytest.approx(np.log2(K) - pi @ H, rel=1e-9)
    assert r["initial_match_rate"] == pytest.approx(1 / K, rel=1e-12)
    assert r["share_tokens_deterministic"] == pytest.approx(pi[det].sum(), rel=1e-9)
    assert r["floor_rand"] == pytest.approx(pi[~det] @ H[~det] / pi[~det].sum(), rel=1e-9)
    assert r["reward_of_mode_policy"] == pytest.approx(pi @ P.max(axis=1), rel=1e-9)
    assert r["reward_of_true_distribution"] == pytest.approx(pi @ (P * P).sum(axis=1), rel=1e-9)
    assert r["true_mode_mass_rand"] == pytest.approx(pi[~det] @ P.max(axis=1)[~det] / pi[~det].sum(), rel=1e-9)


def test_noise_scales_at_the_uniform_start(r, chain):
    """At q = 1/K: SL's mean gradient is pi_s (P_s - 1/K) with E|g|^2 = 1 - 1/K; RL's (baseline p_s = 1/K) is 1/K of
    SL's, with E|g|^2 = (1 - 1/K)^2 / K."""
    P, pi, _, _ = chain
    K = LANG["K"]
    g2 = ((pi[:, None] * (P - 1 / K)) ** 2).sum()
    assert r["noise_scale_sl_initial"] == pytest.approx((1 - 1 / K - g2) / g2, rel=1e-9)
    g2_rl = g2 / K**2
    assert r["noise_scale_rl_initial"] == pytest.approx(((1 - 1 / K) ** 2 / K - g2_rl) / g2_rl, rel=1e-9)
    assert r["noise_scale_rl_over_sl_initial"] == pytest.approx(r["noise_scale_rl_initial"] / r["noise_scale_sl_initial"])


def test_sl_learns_and_rl_is_slower(r):
    init = r["initial_excess_loss"]
    assert r["final_excess_loss_sl"] < init / 20
    assert r["samples_to_halve_excess_sl"] < r["n_samples"] / 100
    # RL needs many times more samples to halve the excess; the ratio is of order K at the uniform start
    assert r["samples_to_halve_excess_rl"] > 10 * r["samples_to_halve_excess_sl"]
    assert r["halving_ratio_rl_over_sl"] == pytest.approx(r["samples_to_halve_excess_rl"]
                                                          / r["samples_to_halve_excess_sl"])
    assert r["halving_vs_K"] == ("less than" if r["halving_ratio_rl_over_sl"] < LANG["K"] else "more than")
    assert r["samples_to_halve_excess_rl_text"] == f"{r['samples_to_halve_excess_rl']:,.0f}"
    # the perfect-critic baseline changes RL's halving time by well under a factor 2
    assert 0.5 < r["samples_to_halve_excess_rl_expected_baseline"] / r["samples_to_halve_excess_rl"] < 2


def test_mode_seeking_in_random_contexts(r):
    # RL beats SL at the match reward, and cannot beat the mode policy; SL approaches the true distribution's reward
    assert r["final_match_sl"] < r["final_match_rl"] <= r["reward_of_mode_policy"] + 1e-12
    assert r["final_match_sl"] == pytest.approx(r["reward_of_true_distribution"], rel=0.02)
    # RL's loss in the random contexts rises above its minimum and above the untrained model's
    assert r["final_ce_rand_rl"] > r["min_ce_rand_rl"] + 1
    assert r["rl_ce_rand_final_over_initial"] == pytest.approx(r["final_ce_rand_rl"] / r["initial_ce_rand"])
    assert r["final_ce_rand_rl"] > r["initial_ce_rand"]
    # SL converges toward the floor of the random contexts; RL puts far more mass on the mode than the data do
    assert r["floor_rand"] < r["final_ce_rand_sl"] < r["floor_rand"] + 0.5
    assert r["mode_mass_rand_sl"] == pytest.approx(r["true_mode_mass_rand"], abs=0.05)
    assert r["mode_mass_rand_rl"] > r["true_mode_mass_rand"] + 0.2
    # deterministic contexts: both learn, SL further
    assert r["final_excess_det_sl"] < r["final_excess_det_rl"] < 0.1
    # overall: RL's excess ends above its minimum
    assert r["final_excess_loss_rl"] > r["min_excess_loss_rl"]
    assert r["final_excess_loss_rl"] > 10 * r["final_excess_loss_sl"]


def test_bits_absorbed(r):
    assert r["label_bits_initial"] == pytest.approx(np.log2(LANG["K"]))
    p = 1 / LANG["K"]
    assert r["reward_bound_initial"] == pytest.approx(-p * np.log2(p) - (1 - p) * np.log2(1 - p), rel=1e-9)
    assert 0 < r["absorbed_over_label_max_sl"] < 1
    assert 0 < r["absorbed_over_bound_max_rl"] < 1
    assert r["absorbed_first_interval_sl"] > 10 * r["absorbed_first_interval_rl"] > 0
    assert r["absorbed_ratio_at_half_divergence"] > 3
    assert r["absorbed_ratio_at_half_divergence"] == pytest.approx(r["absorbed_at_half_divergence_sl"]
                                                                   / r["absorbed_at_half_divergence_rl"])
    assert r["rl_absorbs_negative_from"] > r["samples_at_min_excess_rl"] / 4


def test_noise_profiles(r):
    # SL's noise scale grows toward the end; RL's is largest near the start compared with its minimum
    assert r["noise_scale_sl_final"] > 5 * r["noise_scale_sl_initial"]
    assert r["noise_scale_rl_initial"] > 5 * r["noise_scale_rl_min"]
    assert r["noise_scale_rl_initial"] > 10 * r["noise_scale_sl_initial"]


def test_no_verdicts_and_no_literal_support(r):
    assert not any(k.startswith("verdict_") for k in r), "chapter 7 owns no claim"
    assert not any(k.startswith("support_C") for k in r), "no typed verdict-like findings"


def test_what_drives_the_random_contexts(r, chain):
    """The end-state quantities that decide mode seeking vs drift, against the chain's own numbers."""
    P, pi, _, det = chain
    w = pi[~det] / pi[~det].sum()
    assert r["reward_rand_true_distribution"] == pytest.approx(w @ (P[~det] ** 2).sum(axis=1), rel=1e-9)
    assert r["reward_rand_mode_policy"] == pytest.approx(w @ P[~det].max(axis=1), rel=1e-9)
    assert r["reward_mode_minus_true"] == pytest.approx(pi @ P.max(axis=1) - pi @ (P * P).sum(axis=1), rel=1e-9)
    assert r["mode_mass_excess_rl"] == pytest.approx(r["mode_mass_rand_rl"] - r["true_mode_mass_rand"], abs=1e-12)
    # at the defaults (Dirichlet weights, so every random context has a strict mode) the end state is mode seeking:
    # more mass on the mode than the data give it, beyond the noise between runs, and more reward than J(P)
    assert r["mode_mass_excess_rl"] > 2 * r["mode_mass_excess_rl_se"]
    assert r["reward_rand_rl"] > r["reward_rand_true_distribution"]
    assert r["rand_mechanism"] == "mode seeking"
    assert r["top_mass_rand_rl"] >= r["mode_mass_rand_rl"]
    # RL's reward lead over SL, paired over runs
    assert r["final_match_rl_minus_sl"] == pytest.approx(r["final_match_rl"] - r["final_match_sl"], abs=1e-12)


def test_exercise_solutions(r):
    """The solutions' numbers, at the exercises' own settings (the default language), recomputed here."""
    P = make_language(**{**LANG, "concentration": None}).P
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    pi = pi / pi.sum()
    # exercise 1: with uniform next tokens the true distribution and the mode policy earn the same reward
    assert r["ex1_reward_true_uniform"] == pytest.approx(float(pi @ (P * P).sum(axis=1)), rel=1e-9)
    assert r["ex1_reward_mode_uniform"] == pytest.approx(r["ex1_reward_true_uniform"], rel=1e-9)
    assert r["ex1_true_mode_mass_uniform"] == pytest.approx(1 / LANG["support"], rel=1e-12)
    # exercise 2: (lr / 4) E[1 - sum P^2] nats over the random contexts, in bits; linear in lr
    Pd = make_language(**LANG).P
    wd, vd = np.linalg.eig(Pd.T)
    pid = np.real(vd[:, np.argmin(np.abs(wd - 1))])
    pid = pid / pid.sum()
    rand = Pd.max(axis=1) < 1.0
    tr = float(pid[rand] @ (1 - (Pd[rand] ** 2).sum(axis=1)) / pid[rand].sum())
    for lr, tag in ((0.25, "0_25"), (0.5, "0_5"), (1.0, "1")):
        assert r[f"ex2_sl_residual_predicted_lr{tag}"] == pytest.approx(lr / 4 * tr / np.log(2), rel=1e-9)
    # exercise 3: the one-prompt ratio grows faster than log K and slower than K
    assert 1 < r["ex3_growth_64_128"] < 2 and r["ex3_growth_64_128"] > r["ex3_log_growth_64_128"]
