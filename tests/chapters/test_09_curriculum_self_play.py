"""Chapter 9's recorded results against expectations computed here independently (plain Python and math)."""

import math

import pytest

pytestmark = pytest.mark.book
STEM = "09_curriculum_self_play"




def elo(delta):
    return 1 / (1 + 10 ** (-delta / 400))


def test_elo_information(r):
    for g in (200, 400, 800):
        P = elo(-g)
        assert r[f"elo_info_ratio_even_vs_{g}"] == pytest.approx(0.25 / (P * (1 - P)), rel=1e-12)
        assert r[f"elo_win_prob_at_minus_{g}"] == pytest.approx(P, rel=1e-12)
        assert r[f"elo_outcome_bits_at_{g}"] == pytest.approx(-P * math.log2(P) - (1 - P) * math.log2(1 - P), rel=1e-12)
    assert r["elo_info_ratio_even_vs_800"] == pytest.approx(101**2 / 400, rel=1e-12)
    assert r["elo_mle_var_ratio_at_0"] == pytest.approx(1, abs=0.15)
    assert r["elo_mle_var_ratio_at_800"] == pytest.approx(1, abs=0.15)
    I0 = (math.log(10) / 400) ** 2 * 0.25
    assert r["games_for_20_elo_even"] == pytest.approx(1 / (400 * I0), rel=1e-12)


def test_curriculum(r):
    V, D, lr, mastery = r["V"], r["D"], r["lr"], r["mastery"]
    assert r["start_pass_rate_hardest"] == pytest.approx(V ** -D)
    assert r["rl_hardest_first_wait_exact"] == V**D
    assert r["rl_hardest_first_wait_mean"] == pytest.approx(V**D, rel=5 / math.sqrt(r["n_runs"]))
    # SL on the hardest task alone: every position takes the same deterministic steps to mastery^(1/D)
    gap, steps = 0.0, 0
    p = lambda g: 1 / (1 + (V - 1) * math.exp(-g))  # noqa: E731
    while p(gap) ** D < mastery:
        gap += lr * (1 - p(gap)) * V / (V - 1)
        steps += 1
    assert r["sl_hardest_only_samples_to_mastery"] == steps
    # RL without a curriculum takes at least V^D / 2 samples; a curriculum is worth far more to RL than to SL
    assert r["rl_hardest_only_samples_to_mastery"] > V**D / 2
    assert r["curriculum_gain_rl"] > 1000
    assert r["curriculum_gain_sl"] < 1 and r["sl_curriculum_effect"] == "slower"
    assert r["best_sl_sampler"] == "hardest only"
    assert r["curriculum_gain_rl_over_sl"] == pytest.approx(r["curriculum_gain_rl"] / r["curriculum_gain_sl"])
    # the RL bound per sample is at most one bit, SL's label surprisal is positive
    for s in ("uniform", "pq", "easy_to_hard", "hardest_only"):
        assert 0 < r[f"rl_{s}_bits_per_sample"] <= 1
        assert r[f"sl_{s}_bits_per_sample"] > 0
        assert r[f"rl_{s}_samples_to_mastery"] >= r[f"rl_{s}_updates"]
    assert r["rl_over_sl_with_curriculum"] > 1


def test_self_play(r):
    K, Vm, c = r["K_moves"], r["V_moves"], r["elo_per_move"]
    assert r["start_rating"] == pytest.approx(c * K / Vm)
    assert r["start_win_rate_self"] == pytest.approx(0.5, abs=1e-12)
    assert r["mean_outcome_bits_self"] == pytest.approx(1.0, abs=1e-12)
    # starting win rate against a fixed opponent: binomial number of right moves at pass rate 1/V_moves
    for j in range(3):
        opp = r["start_rating"] + r[f"opponent{j}_gap"]
        q = 1 / Vm
        exact = sum(math.comb(K, m) * q**m * (1 - q) ** (K - m) * elo(c * m - opp) for m in range(K + 1))
        assert r[f"start_win_rate_fixed{j}"] == pytest.approx(exact, rel=1e-9)
        assert r[f"mean_outcome_bits_fixed{j}"] < 1
    assert r["games_to_target_fixed2_over_self"] > 1
    assert r["reached_target_self"] == 1.0


def sl_curriculum_steps(V, D, lr, mastery, sampler):
    """SL on the task family, written out: deterministic for the easy-to-hard and hardest-only samplers."""
    gaps = [0.0] * D
    p = lambda g: 1 / (1 + (V - 1) * math.exp(-g))  # noqa: E731
    steps = 0
    while math.prod(p(g) for g in gaps) < mastery:
        P = [math.prod(p(g) for g in gaps[: d + 1]) for d in range(D)]
        d = D - 1 if sampler == "hardest only" else next((i for i in range(D) if P[i] < mastery), D - 1)
        gaps = [g + lr * (1 - p(g)) * V / (V - 1) if i <= d else g for i, g in enumerate(gaps)]
        steps += 1
    return steps


def test_curriculum_sweep(r):
    """The (V, D) sweep: SL's gains recomputed exactly, the ratios consistent, the slope refitted."""
    lr, mastery = r["lr"], r["mastery"]
    logs = []
    for i in range(r["sweep_n_cells"]):
        V, D = r[f"sweep{i}_V"], r[f"sweep{i}_D"]
        gain_sl = sl_curriculum_steps(V, D, lr, mastery, "hardest only") / sl_curriculum_steps(V, D, lr, mastery,
                                                                                                 "easy-to-hard")
        assert r[f"sweep{i}_gain_sl"] == pytest.approx(gain_sl, rel=1e-12)
        assert r[f"sweep{i}_gain_ratio"] == pytest.approx(r[f"sweep{i}_gain_rl"] / gain_sl, rel=1e-12)
        # RL without a curriculum waits at least about V^D samples; with it, far fewer
        assert r[f"sweep{i}_gain_rl"] > 1
        logs.append((D * math.log(V), math.log(r[f"sweep{i}_gain_ratio"])))
    mx, my = sum(x for x, _ in logs) / len(logs), sum(y for _, y in logs) / len(logs)
    slope = sum((x - mx) * (y - my) for x, y in logs) / sum((x - mx) ** 2 for x, _ in logs)
    assert r["sweep_gain_ratio_slope"] == pytest.approx(slope, rel=1e-9)
    ratios = [r[f"sweep{i}_gain_ratio"] for i in range(r["sweep_n_cells"])]
    assert r["sweep_gain_ratio_min"] == min(ratios) and r["sweep_gain_ratio_max"] == max(ratios)
    assert 0.5 < slope < 1.5  # the advantage grows roughly like the wait V^D
    assert r["sl_easy_to_hard_samples_to_mastery"] == sl_curriculum_steps(r["V"], r["D"], lr, mastery,
                                                                          "easy-to-hard")


def test_error_rates(r):
    assert r["wilson_optimal_error_rate"] == pytest.approx(0.5 * math.erfc(1 / math.sqrt(2)), rel=1e-12)
    assert r["wilson_optimal_error_rate"] == pytest.approx(0.1587, abs=1e-4)
    # RL on the hardest task alone fails every sample but the few successes; the mixtures fail less
    assert r["rl_hardest_only_error_rate"] > 0.999
    for s in ("uniform", "pq", "easy_to_hard"):
        assert 0 < r[f"rl_{s}_error_rate"] < 1
        # the failures are the samples minus the updates, so the rate is bounded by 1 - updates / samples
        assert r[f"rl_{s}_error_rate"] == pytest.approx(
            1 - r[f"rl_{s}_updates"] / r[f"rl_{s}_samples_to_mastery"], abs=0.1)


def wilson_interval(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_reach_rates_and_intervals(r):
    n = r["n_reach_runs"]
    assert n >= 128
    for tag in ("self", "strongest"):
        k = round(r[f"reach_{tag}_nobaseline"] * n)
        assert k / n == pytest.approx(r[f"reach_{tag}_nobaseline"], abs=1e-12)
        lo, hi = wilson_interval(k, n)
        assert r[f"reach_{tag}_nobaseline_lo"] == pytest.approx(lo, rel=1e-9)
        assert r[f"reach_{tag}_nobaseline_hi"] == pytest.approx(hi, rel=1e-9)
    # the first n_game_runs runs of each are the figure's runs; the interval holds the point estimate
    assert r["reach_self_nobaseline_lo"] < r["reach_self_nobaseline"] < r["reach_self_nobaseline_hi"]
    assert r["fastest_fixed_over_self_lo"] <= r["fastest_fixed_over_self"] <= r["fastest_fixed_over_self_hi"]
    for claim in ("C13", "C14", "C20"):
        assert r[f"verdict_{claim}_quantity"] in r or claim == "C20"


def test_no_baseline_runs(r):
    assert r["start_win_rate_self_nobaseline"] == pytest.approx(0.5, abs=1e-12)
    for nm in ("self", "fixed0", "fixed1", "fixed2"):
        assert 0 <= r[f"reached_target_{nm}_nobaseline"] <= 1
        assert r[f"games_to_target_{nm}_nobaseline"] <= r["n_games"]
        # same opponents, same start: the starting win rate does not depend on the baseline
        assert r[f"start_win_rate_{nm}_nobaseline"] == pytest.approx(r[f"start_win_rate_{nm}"], rel=1e-12)
    # with the mean baseline every self-play run reaches the target in the default configuration
    assert r["reached_target_self"] == 1.0
    assert r["reached_target_self_nobaseline"] < r["reached_target_self"]


def test_strongest_opponent_aliases(r):
    """The prose quotes the strongest fixed opponent as *_strongest, whatever the length of elo_gaps."""
    gaps = [r[k] for k in sorted(r) if k.startswith("opponent") and k.endswith("_gap") and k[8:-4].isdigit()]
    j = len(gaps) - 1
    assert r["opponent_strongest_gap"] == max(gaps) == r[f"opponent{j}_gap"]
    for key in ("games_to_target", "reached_target", "start_win_rate", "mean_outcome_bits"):
        for suffix in ("", "_nobaseline"):
            assert r[f"{key}_strongest{suffix}"] == r[f"{key}_fixed{j}{suffix}"]
    assert r["games_to_target_strongest_over_self"] == r[f"games_to_target_fixed{j}_over_self"]
    x10 = 10 ** (max(gaps) / 400)
    assert r["elo_info_ratio_even_vs_strongest"] == pytest.approx((1 + x10) ** 2 / (4 * x10), rel=1e-12)


def test_exercise_solutions(r):
    """The numbers the exercises' solutions quote, recomputed at the exercises' settings where they are exact."""
    lr, mastery = r["lr"], r["mastery"]
    # exercise 1: RL on the hardest task alone moves every position together along SL's path; it waits 1/p_j^D
    V, D = r["ex1_V"], r["ex1_D"]
    gap, p = 0.0, lambda g: 1 / (1 + (V - 1) * math.exp(-g))  # noqa: E731
    waits = 0.0
    while p(gap) < mastery ** (1 / D):
        waits += p(gap) ** -D
        gap += lr * (1 - p(gap)) * V / (V - 1)
    assert r["ex1_hardest_only_samples"] == pytest.approx(waits, rel=1e-9)
    assert r["ex1_hardest_over_VD"] == pytest.approx(waits / V**D, rel=1e-9)
    assert 1 < r["ex1_hardest_over_VD"] < 1.1  # the first wait, V^D, is nearly all of it
    assert r["ex1_cold_estimate"] == pytest.approx(D * V / (1 - math.exp(-lr)))
    assert r["ex1_easy_to_hard_over_estimate"] == pytest.approx(r["ex1_easy_to_hard_samples"] / r["ex1_cold_estimate"])
    assert r["ex1_easy_to_hard_samples"] < r["ex1_pq_samples"] < r["ex1_uniform_samples"] < waits / 1e4
    # exercise 2: the reach rate and its Wilson interval
    n = r["ex2_runs"]
    lo, hi = wilson_interval(round(r["ex2_reach"] * n), n)
    assert (r["ex2_reach_lo"], r["ex2_reach_hi"]) == (pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))
    # exercise 3: the learner's ceiling and the strongest opponent, and a perfect learner's chance against it
    c, K, Vm = r["ex3_elo_per_move"], r["K_moves"], r["V_moves"]
    assert r["ex3_max_rating"] == c * K
    assert r["ex3_strongest_rating"] == pytest.approx(c * K / Vm + r["opponent_strongest_gap"])
    assert r["ex3_ceiling_win_prob"] == pytest.approx(elo(r["ex3_max_rating"] - r["ex3_strongest_rating"]), rel=1e-12)
    assert r["ex3_signal_ratio"] == pytest.approx(c / r["elo_per_move"])
