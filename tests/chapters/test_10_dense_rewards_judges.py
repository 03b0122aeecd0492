"""Chapter 10's recorded results against expectations computed here independently (plain math, no rlbits)."""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.book
STEM = "10_dense_rewards_judges"
T_LIST = (5, 10, 20, 40)




def H(p):
    return 0.0 if p in (0.0, 1.0) else -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def outcome_schedule(T, p0, alpha, target):
    theta, J = math.log(p0 / (1 - p0)), []
    while True:
        p = 1 / (1 + math.exp(-theta))
        if p**T >= target:
            return J
        J.append(p**T)
        theta += alpha * (1 - p)


def process_mean_field(T, p0, alpha, target):
    F = lambda p: 2 * math.log(p / (1 - p)) + 1 / (1 - p) - 1 / p
    return (F(target ** (1 / T)) - F(p0)) / alpha


def test_chain_results(r):
    p0, alpha, target = r["p0"], r["alpha"], r["target"]
    assert (p0, alpha, target) == (0.8, 0.5, 0.9)
    speedups = []
    for T in T_LIST:
        J = outcome_schedule(T, p0, alpha, target)
        exact = sum(1 / j for j in J)
        assert r[f"episodes_outcome_exact_T{T}"] == pytest.approx(exact, rel=1e-12)
        assert r[f"episodes_process_meanfield_T{T}"] == pytest.approx(process_mean_field(T, p0, alpha, target),
                                                                       rel=1e-5)
        assert r[f"speedup_predicted_T{T}"] == pytest.approx(exact / process_mean_field(T, p0, alpha, target),
                                                             rel=1e-5)
        # simulated means (32 runs) near their expectations
        assert r[f"episodes_outcome_T{T}"] == pytest.approx(exact, rel=0.25)
        assert r[f"episodes_process_T{T}"] == pytest.approx(process_mean_field(T, p0, alpha, target), rel=0.05)
        assert r[f"speedup_process_over_outcome_T{T}"] == pytest.approx(r[f"speedup_predicted_T{T}"], rel=0.25)
        speedups.append(r[f"speedup_process_over_outcome_T{T}"])
        assert r[f"bits_outcome_start_T{T}"] == pytest.approx(H(p0**T), rel=1e-12)
        assert r[f"bits_process_start_T{T}"] == pytest.approx(T * H(p0), rel=1e-12)
    assert np.all(np.diff(speedups) > 0) and speedups[0] > 1 and speedups[-1] > 10


def test_rollout_cut_accounting(r):
    p0, alpha, target = r["p0"], r["alpha"], r["target"]
    for T in T_LIST:
        J = outcome_schedule(T, p0, alpha, target)
        steps = 0.0
        for j in J:
            p = j ** (1 / T)
            mean_steps = sum(p**t for t in range(T))  # steps until the first wrong step, or T
            fail_steps = (mean_steps - T * j) / (1 - j)
            steps += (1 / j - 1) * fail_steps + T
        assert r[f"steps_cut_T{T}"] == pytest.approx(steps, rel=1e-9)
        assert r[f"steps_full_T{T}"] == pytest.approx(T * sum(1 / j for j in J), rel=1e-12)
        assert r[f"steps_saving_with_critic_T{T}"] == pytest.approx(r[f"steps_saving_T{T}"] / (1 + r["critic_cost"]))
    assert r["steps_saving_T40"] > r["steps_saving_T20"] > r["steps_saving_T5"] > 1
    # the learned-value learner's steps per episode lie between 1 and T
    for T in (5, 10, 20):
        assert r[f"episodes_value_T{T}"] < r[f"steps_value_T{T}"] < T * r[f"episodes_value_T{T}"]


def test_judge_information(r):
    Kmax = r["Kmax"]
    for name, K in (("Kmax", Kmax), ("passfail", 2)):
        assert r[f"I_better_{name}_noiseless"] == pytest.approx(1 - 1 / K, abs=3e-3)
        assert r[f"H_grade_{name}"] == pytest.approx(math.log2(K), abs=5e-3)
        assert r[f"I_better_{name}_sigma_mid"] < r[f"I_quality_{name}_sigma_mid"] < r[f"H_grade_{name}"]
    assert r["I_better_Kmax_sigma_mid"] == pytest.approx(r["I_better_Kmax_sigma_mid_montecarlo"], abs=0.01)
    assert r["I_better_passfail_sigma_mid"] < r["I_better_Kmax_sigma_mid"] < 0.5
    assert r["judge_ratio_sigma_mid"] == pytest.approx(r["I_better_Kmax_sigma_mid"] / r["I_better_passfail_sigma_mid"],
                                                       rel=1e-12)
    assert r["judge_ratio_noiseless"] == pytest.approx((1 - 1 / Kmax) / 0.5, rel=1e-2)
    # the review's reading of the figure: at noise 1 a 10-level grade carries about 1.5 times pass/fail's information
    assert r["judge_ratio_sigma_mid"] == pytest.approx(1.5, abs=0.1)
    assert 1 < r["judge_ratio_min"] <= r["judge_ratio_sigma_mid"] <= r["judge_ratio_max"]


def test_pass_fail_judge_at_noise_one_by_quadrature(r):
    """I(B; g1, g2) for a noisy pass/fail judge at sigma = 1, by an independent quadrature over (q1, q2)."""
    sigma = r["sigma_mid"]
    Phi = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    s = math.sqrt(1 + sigma**2)
    n = 400
    xs = [-6 + 12 * (i + 0.5) / n for i in range(n)]
    w = 12 / n
    phi = [math.exp(-x * x / 2) / math.sqrt(2 * math.pi) * w for x in xs]
    up = [1 - Phi(-x / sigma) for x in xs]  # grade "pass" when q + sigma eps > 0 (the median of the score)
    joint = {}
    for i, qi in enumerate(xs):
        for j, qj in enumerate(xs):
            b = 1 if qi > qj else 0
            pij = phi[i] * phi[j]
            for g1 in (0, 1):
                p1 = up[i] if g1 else 1 - up[i]
                for g2 in (0, 1):
                    p2 = up[j] if g2 else 1 - up[j]
                    joint[g1, g2, b] = joint.get((g1, g2, b), 0.0) + pij * p1 * p2
    total = sum(joint.values())
    pg = {}
    for (g1, g2, b), v in joint.items():
        pg[g1, g2] = pg.get((g1, g2), 0.0) + v / total
    mi = sum(v / total * math.log2((v / total) / (pg[g1, g2] * 0.5)) for (g1, g2, b), v in joint.items() if v > 0)
    assert s > 0
    assert r["I_better_passfail_sigma_mid"] == pytest.approx(mi, abs=3e-3)


def test_noisy_process_judge(r):
    """Each noisy judge's episodes against the mean field scaled by 1/(1 - 2 eps), recomputed here."""
    p0, alpha, target, T = r["p0"], r["alpha"], r["target"], r["T_hi"]
    base = process_mean_field(T, p0, alpha, target)
    j = 0
    while f"noisy{j}_flip" in r:
        eps = r[f"noisy{j}_flip"]
        assert r[f"noisy{j}_episodes"] == pytest.approx(base / (1 - 2 * eps), rel=0.1)
        assert r[f"noisy{j}_speedup"] == pytest.approx(r["episodes_outcome_Thi"] / r[f"noisy{j}_episodes"], rel=1e-12)
        assert r[f"noisy{j}_speedup"] < r["speedup_process_over_outcome_Thi"]
        j += 1
    assert j >= 1 and r["noisy_flip_noisiest"] == r[f"noisy{j - 1}_flip"]
    assert r["noisy_speedup_noisiest_over_exact"] == pytest.approx(
        r["noisy_speedup_noisiest"] / r["speedup_process_over_outcome_Thi"], rel=1e-9)


def test_learned_critic(r):
    """C15's quantities: the learned critic's saving against the exact cost of full rollouts, and its interval."""
    T, c = r["T_val"], r["critic_cost"]
    J = outcome_schedule(T, r["p0"], r["alpha"], r["target"])
    full = T * sum(1 / j for j in J)
    assert r["value_saving_Tval"] == pytest.approx(full / r["steps_value_Tval"], rel=1e-9)
    assert r["value_saving_with_critic_Tval"] == pytest.approx(full / (r["steps_value_Tval"] * (1 + c)), rel=1e-9)
    assert r["value_saving_with_critic_Tval_lo"] < r["value_saving_with_critic_Tval"] \
        < r["value_saving_with_critic_Tval_hi"]
    # the review's numbers at the defaults: 24,109 steps with the critic against 17,781 for full rollouts
    assert full == pytest.approx(17_781, abs=1)
    assert r["steps_value_Tval"] * (1 + c) == pytest.approx(24_109, rel=0.01)
    assert r["value_saving_with_critic_Tval_hi"] < 1 < r["value_saving_Tval_lo"]  # a rollout saving, a net loss
    assert r["value_saving_Tval"] < r["steps_saving_Tval"]  # below the exact estimate's ceiling


def test_revision_loop(r):
    m, d0, d = r["m"], r["d0"], r["d"]
    passfail = (1 - (1 - d0) ** m) / (1 - d) ** m
    pmf = [math.comb(m, k) * d0**k * (1 - d0) ** (m - k) for k in range(m + 1)]
    harmonic = [sum(1 / j for j in range(1, k + 1)) for k in range(m + 1)]
    score = m / (1 - d) * sum(p * h for p, h in zip(pmf, harmonic))
    rubric = sum(1 - (1 - d0 * d**k) ** m for k in range(500))
    for name, exact in (("passfail", passfail), ("score", score), ("rubric", rubric)):
        assert r[f"revision_rounds_{name}_exact"] == pytest.approx(exact, rel=1e-9)
        assert r[f"revision_rounds_{name}"] == pytest.approx(exact, rel=0.1)
    assert r["revision_rounds_passfail_over_rubric"] == pytest.approx(passfail / rubric, rel=1e-9)
    assert r["revision_bits_per_round_passfail"] == pytest.approx(H((1 - d) ** m), rel=1e-9)
    assert r["revision_bits_per_round_passfail"] < 1 < r["revision_bits_per_round_rubric"] <= m


def _right_step_flow(pi0, proxy, steps=401):
    """The right step's probability along the expected policy-gradient flow on a proxy, written out (independent
    of rlbits.dense)."""
    z = np.log(pi0)
    right = []
    for _ in range(steps):
        pi = np.exp(z) / np.exp(z).sum()
        right.append(pi[0])
        z = z + pi * (proxy - pi @ proxy)
    return np.array(right)


def test_goodhart(r):
    pi0, proxy, T = np.array([0.5, 0.1, 0.4]), np.array([0.8, 1.0, 0.0]), r["goodhart_T"]
    right = _right_step_flow(pi0, proxy)
    assert r["goodhart_peak_step"] == int(np.argmax(right))
    assert r["goodhart_pass_peak"] == pytest.approx(right.max() ** T, rel=1e-9)
    assert r["goodhart_pass_end"] == pytest.approx(right[-1] ** T, rel=1e-6)
    assert r["goodhart_proxy_end"] > 0.99 and r["goodhart_pass_end"] < 1e-6 < r["goodhart_pass_start"]
    assert r["goodhart_pass_end_true_reward"] > r["goodhart_pass_peak"]
    # correlation of the proxy with a right step under the initial policy
    f, c = proxy, np.array([1.0, 0.0, 0.0])
    cov = pi0 @ (f * c) - (pi0 @ f) * (pi0 @ c)
    corr = cov / math.sqrt((pi0 @ f**2 - (pi0 @ f) ** 2) * (pi0 @ c) * (1 - pi0 @ c))
    assert r["goodhart_corr_start"] == pytest.approx(corr, rel=1e-9)


def test_rubric_totals(r):
    """C28's quantities: the rubric is faster, but hands over no more information in total than pass/fail."""
    assert r["revision_bits_total_rubric_over_passfail"] == pytest.approx(
        r["revision_bits_total_rubric"] / r["revision_bits_total_passfail"], rel=1e-12)
    assert r["revision_bits_total_rubric"] == pytest.approx(6.28, abs=0.15)
    assert r["revision_bits_total_passfail"] == pytest.approx(6.62, abs=0.3)
    for claim in ("C15", "C16", "C27", "C28"):
        assert r[f"verdict_{claim}_quantity"] in r


def test_first_report_entropies(r):
    m, d0 = r["m"], r["d0"]
    pmf = [math.comb(m, k) * d0**k * (1 - d0) ** (m - k) for k in range(m + 1)]
    score = -sum(p * math.log2(p) for p in pmf if p > 0)
    assert r["first_report_bits_rubric"] == pytest.approx(m * H(d0), rel=1e-12)
    assert r["first_report_bits_score"] == pytest.approx(score, rel=1e-12)
    assert r["first_report_bits_passfail"] == pytest.approx(H((1 - d0) ** m), rel=1e-12)
    assert r["first_report_bits_passfail"] < r["first_report_bits_score"] < math.log2(m + 1) \
        < r["first_report_bits_rubric"]


@pytest.mark.parametrize("alias", ["lo", "hi", "val"])
def test_chain_aliases_follow_t_list(r, alias):
    """The prose quotes the shortest, longest and longest value-learner chains through _Tlo/_Thi/_Tval aliases."""
    T = r[f"T_{alias}"]
    for name in ("episodes_outcome", "episodes_process", "speedup_process_over_outcome", "pass_rate_start",
                 "steps_saving", "steps_saving_with_critic"):
        assert r[f"{name}_T{alias}"] == r[f"{name}_T{T}"]
    assert r["T_lo"] < r["T_hi"] and r["T_lo"] <= r["T_val"] <= r["T_hi"]
    assert f"episodes_value_T{r['T_val']}" in r


def test_exercise_solutions(r):
    """The numbers the exercises' solutions quote, recomputed here at the exercises' settings."""
    # exercise 2: break-even critic cost c* = S - 1, S the saving before the critic's cost
    for alias in ("lo", "hi"):
        assert r[f"ex2_breakeven_T{alias}"] == pytest.approx(r[f"steps_saving_T{alias}"] - 1, rel=1e-12)
    assert r["ex2_breakeven_learned"] == pytest.approx(r["value_saving_Tval"] - 1, rel=1e-12)
    assert r["ex2_breakeven_learned_lo"] == pytest.approx(r["value_saving_Tval_lo"] - 1, rel=1e-12)
    assert r["ex2_breakeven_learned_hi"] == pytest.approx(r["value_saving_Tval_hi"] - 1, rel=1e-12)
    # exercise 3: the flow with hacks scored below right steps, written out, and its correlation at the start
    pi0, proxy, T = np.array([0.5, 0.1, 0.4]), np.array([1.0, 0.9, 0.0]), r["goodhart_T"]
    right = _right_step_flow(pi0, proxy)
    assert np.all(np.diff(right) > 0)  # the right step only gains: no Goodhart turn
    assert r["ex3_pass_end"] == pytest.approx(right[-1] ** T, rel=1e-9)
    assert r["ex3_pass_peak"] == r["ex3_pass_end"]
    assert r["ex3_pass_start"] == pytest.approx(0.5**T)
    cov = pi0 @ (proxy * [1, 0, 0]) - (pi0 @ proxy) * pi0[0]
    corr = cov / math.sqrt((pi0 @ proxy**2 - (pi0 @ proxy) ** 2) * pi0[0] * (1 - pi0[0]))
    assert r["ex3_corr_start"] == pytest.approx(corr, rel=1e-9)
    assert r["ex3_corr_start"] > r["goodhart_corr_start"]  # the honest proxy is even better correlated


def test_exercise_1_predicted_speedups(r):
    """Exercise 1's predicted speed-ups at p0 = 0.9 and 0.7: the exact outcome mean over the process mean field."""
    alpha, target = r["alpha"], r["target"]
    for name, p0 in (("high", 0.9), ("low", 0.7)):
        for alias in ("lo", "hi"):
            T = r[f"T_{alias}"]
            exact = sum(1 / j for j in outcome_schedule(T, p0, alpha, target))
            assert r[f"ex1_speedup_{name}_T{alias}"] == pytest.approx(exact / process_mean_field(T, p0, alpha, target),
                                                                      rel=1e-4)
    assert r["ex1_speedup_low_Thi"] > r["ex1_speedup_high_Thi"]  # a lower start, a larger speed-up
