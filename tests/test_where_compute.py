"""Tests of rlbits.where_compute (chapter 5): shares of compute and the quantities derived from them, against
closed forms computed here and against plain loops."""

import math

import numpy as np
import pytest

from rlbits import compute, where_compute as wc


def test_tag_and_models():
    assert wc.tag(0.3) == "0_3" and wc.tag(1.0) == "1" and wc.tag(20.0) == "20"
    names = [m[0] for m in wc.models([0.3, 3.0], [1.0])]
    assert names == ["equal_per_decade", "gpt4_k0_3", "gpt4_k3", "power_law_a1"]
    assert wc.aliases([0.3, 1.0, 3.0], [0.5, 1.0]) == {
        "gpt4_low": "gpt4_k0_3", "gpt4_mid": "gpt4_k1", "gpt4_high": "gpt4_k3",
        "power_law_low": "power_law_a0_5", "power_law_mid": "power_law_a1", "power_law_high": "power_law_a1"}


def test_shares_against_closed_forms():
    V, p_end = 1000, 0.95
    p0 = 1 / V
    table = wc.shares_and_bits(wc.models([1.0, 2.0], [0.5]), p0, p_end)
    assert table["equal_per_decade"][0] == pytest.approx(math.log(p_end / 0.5) / math.log(p_end / p0), rel=1e-12)
    for k in (1.0, 2.0):
        end, half = (math.log(p0) / math.log(p_end)) ** (1 / k), (math.log(p0) / math.log(0.5)) ** (1 / k)
        assert table[f"gpt4_k{wc.tag(k)}"][0] == pytest.approx((end - half) / (end - 1), rel=1e-10)
    end, half = (p_end / p0) ** 2, (0.5 / p0) ** 2
    assert table["power_law_a0_5"][0] == pytest.approx((end - half) / (end - 1), rel=1e-10)
    # equal per decade: the compute-weighted mean of -log2 p over [p0, p_end] uniform in ln p
    assert table["equal_per_decade"][1] == pytest.approx(-(math.log2(p0) + math.log2(p_end)) / 2, rel=1e-6)


def test_model_results_ratios_and_range():
    ks, as_ = [0.3, 1.0, 3.0], [0.5, 1.0]
    ms = wc.models(ks, as_)
    table = wc.shares_and_bits(ms, 1e-4, 0.99)
    out = wc.model_results(ms, table, ks, as_)
    assert out["gpt4_k_mid"] == 1.0 and out["power_law_a_mid"] == 1.0 and out["gpt4_k_low"] == 0.3
    assert out["compute_share_above_half_gpt4_high"] == table["gpt4_k3"][0]
    eq, mid = table["equal_per_decade"], table["gpt4_k1"]
    assert out["run_bits_per_flop_gap_T1e4_gpt4_mid"] == pytest.approx(40_000 / 3 * mid[1] / mid[2], rel=1e-12)
    ratio_a, ratio_b = eq[1] / eq[2], mid[1] / mid[2]
    assert out["run_bits_form_factor"] == pytest.approx(max(ratio_a / ratio_b, ratio_b / ratio_a))
    scaling = [table[n][0] for n in table if n != "equal_per_decade"]
    assert out["compute_share_above_half_scaling_min"] == min(scaling)
    assert out["scaling_share_ratio_max"] == pytest.approx(max(scaling) / eq[0])
    assert out["compute_share_above_half_scaling_min"] > eq[0]  # every power law puts more at p >= 1/2


def test_dynamics_results_by_a_plain_loop():
    V, eta, p_end = 50, 0.5, 0.9
    rates = compute.softmax_dynamics(V, eta, p_end)
    dyn = compute.dynamics_summary(V, eta, p_end)
    out = wc.dynamics_results(rates, dyn, 1 / V, p_end)
    waits = [1 / p for p in rates[:-1]]
    first = sum(w for w, p in zip(waits, rates[:-1]) if p < 10 / V)
    assert out["rl_dynamics_share_first_decade"] == pytest.approx(first / sum(waits), rel=1e-12)
    sl_first = sum(1 for p in rates[:-1] if p < 10 / V)
    assert out["sl_dynamics_share_first_decade"] == pytest.approx(sl_first / (len(rates) - 1), rel=1e-12)
    cost = [2 * (w - 1) + 8 for w in waits]
    above = sum(c for c, p in zip(cost, rates[:-1]) if p >= 0.5)
    assert out["compute_share_above_half_rl_dynamics_skip_backward"] == pytest.approx(above / sum(cost), rel=1e-12)
    # skipping the backward pass of failures makes the low-p stretch cheaper per sample, so the share above 1/2 grows
    assert out["compute_share_above_half_rl_dynamics_skip_backward"] > out["compute_share_above_half_rl_dynamics"]
    assert out["equal_per_decade_share_first_decade"] == pytest.approx(1 / math.log10(p_end * V), rel=1e-12)


def test_share_table_has_a_row_per_model():
    ms = wc.models([1.0], [0.5, 1.0])
    dyn = compute.dynamics_summary(100, 0.5, 0.9)
    text = wc.share_table(ms, wc.shares_and_bits(ms, 0.01, 0.9), dyn)
    lines = text.strip().splitlines()
    assert lines[0].startswith(":::{table} ") and lines[1] == ":name: tbl-ch05-shares" and lines[-1] == ":::"
    rows = lines[3:-1]  # header, rule, one row per model, the two dynamics rows
    assert len(rows) == 2 + len(ms) + 2 and rows[2].startswith("| (a) equal per decade |")
    assert np.all([line.count("|") == 5 for line in rows])
