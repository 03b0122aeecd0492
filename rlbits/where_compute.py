"""The share of a run's compute spent at each pass rate under chapter 5's models, and the bits it buys (chapter 5).

Chapter 5 ("Samples per FLOP, and where compute goes") lays a run from ``p0 = 1/V`` to ``p_end`` along the pass-rate
axis in four ways: (a) equal compute per decade, (b) the GPT-4 report's power law for the log pass rate, one entry per
exponent ``k``, (b') a power law in the pass rate itself, one entry per exponent ``a``, and (c) the learning dynamics
of a tabular softmax trained by SL or by REINFORCE (:func:`rlbits.compute.dynamics_summary`). This module gathers, for
every model, the share of compute spent at ``p >= 1/2`` and the compute-weighted bits per sample, and derives the
quantities the chapter records from them; the closed forms themselves live in :mod:`rlbits.compute`.

Result names follow the reader's lists: a model's name is ``gpt4_k<k>`` or ``power_law_a<a>`` with the exponent
written by :func:`tag` (``0.3 -> "0_3"``), and the aliases ``low``/``mid``/``high`` name a list's first, middle (upper
middle for an even length) and last entry.
"""

from __future__ import annotations

import math

import numpy as np

from rlbits import compute, tables

#: episode length of the whole-run bits-per-FLOP comparison (the essay's "tens of thousands of tokens")
T_RUN = 10_000


def tag(x: float) -> str:
    """An exponent written for a result name: ``0.3 -> "0_3"``, ``1.0 -> "1"``."""
    return f"{x:g}".replace(".", "_")


def models(gpt4_k, power_law_a) -> list[tuple[str, str, dict, str]]:
    """The models of the pass-rate axis, as ``(name, compute model, its parameters, table label)`` tuples.

    Equal compute per decade first, then the GPT-4 form for each ``k`` in ``gpt4_k``, then a power law in ``p`` for
    each ``a`` in ``power_law_a`` (in the lists' order).
    """
    out = [("equal_per_decade", "equal_per_decade", {}, "(a) equal per decade")]
    out += [(f"gpt4_k{tag(k)}", "gpt4", {"k": k}, f"(b) GPT-4 form, $k =$ {k:g}") for k in gpt4_k]
    out += [(f"power_law_a{tag(a)}", "power_law", {"a": a}, f"(b') power law in $p$, $a =$ {a:g}")
            for a in power_law_a]
    return out


def shares_and_bits(model_list, p0: float, p_end: float) -> dict[str, tuple[float, float, float]]:
    """For each model: (share of compute at ``p >= 1/2``, compute-weighted SL bits, compute-weighted RL bound)."""
    table = {}
    for name, model, kw, _ in model_list:
        share = compute.compute_share_above(model, p0, p_end, **kw)
        bits = compute.compute_weighted_bits(model, p0, p_end, **kw)
        table[name] = (share, bits["sl"], bits["rl"])
    return table


def aliases(gpt4_k, power_law_a) -> dict[str, str]:
    """The aliases ``gpt4_low``/``_mid``/``_high`` and ``power_law_*`` to the model names they stand for."""
    k_mid, a_mid = gpt4_k[len(gpt4_k) // 2], power_law_a[len(power_law_a) // 2]
    return {"gpt4_low": f"gpt4_k{tag(gpt4_k[0])}", "gpt4_mid": f"gpt4_k{tag(k_mid)}",
            "gpt4_high": f"gpt4_k{tag(gpt4_k[-1])}", "power_law_low": f"power_law_a{tag(power_law_a[0])}",
            "power_law_mid": f"power_law_a{tag(a_mid)}", "power_law_high": f"power_law_a{tag(power_law_a[-1])}"}


def model_results(model_list, table, gpt4_k, power_law_a) -> dict:
    """Every recorded quantity of the models (a), (b), (b'): per model and per alias, the exponents the aliases stand
    for, the mean-bits ratios, the whole-run bits-per-FLOP gaps at ``T_RUN`` tokens and the range of the power-law
    shares."""
    out = {}
    for name, (share, sl_bits, rl_bits) in table.items():
        out[f"compute_share_above_half_{name}"] = share
        out[f"mean_bits_sl_{name}"] = sl_bits
        out[f"mean_bits_rl_{name}"] = rl_bits
    names = aliases(gpt4_k, power_law_a)
    for alias, name in names.items():
        out[f"compute_share_above_half_{alias}"] = table[name][0]
        out[f"mean_bits_sl_{alias}"] = table[name][1]
        out[f"mean_bits_rl_{alias}"] = table[name][2]
    k_mid, a_mid = gpt4_k[len(gpt4_k) // 2], power_law_a[len(power_law_a) // 2]
    out.update(gpt4_k_low=gpt4_k[0], gpt4_k_mid=k_mid, gpt4_k_high=gpt4_k[-1], power_law_a_low=power_law_a[0],
               power_law_a_mid=a_mid, power_law_a_high=power_law_a[-1])
    eq, mid = table["equal_per_decade"], table[names["gpt4_mid"]]
    ratio_a = out["mean_bits_ratio_equal_per_decade"] = eq[1] / eq[2]
    ratio_b = out["mean_bits_ratio_gpt4_mid"] = mid[1] / mid[2]
    # whole-run bits per FLOP: the compute-weighted bits per sample, times samples per FLOP (4T/3 more for SL)
    for alias, row in (("equal_per_decade", eq), ("gpt4_mid", mid)):
        out[f"run_bits_per_flop_gap_T1e4_{alias}"] = compute.samples_per_flop_ratio(T_RUN) * row[1] / row[2]
    out["run_bits_form_factor"] = max(ratio_a / ratio_b, ratio_b / ratio_a)
    # the range over every power-law form in the reader's lists, against equal compute per decade (C06's rule)
    scaling = [table[name][0] for name, model, _, _ in model_list if model != "equal_per_decade"]
    out["compute_share_above_half_scaling_min"] = min(scaling)
    out["compute_share_above_half_scaling_max"] = max(scaling)
    out["scaling_share_ratio_min"] = min(scaling) / eq[0]
    out["scaling_share_ratio_max"] = max(scaling) / eq[0]
    return out


def dynamics_results(rates: np.ndarray, dyn: dict, p0: float, p_end: float) -> dict:
    """Every recorded quantity of the learning dynamics (c): shares of samples at ``p >= 1/2`` and in the first decade,
    the total and mean bits, and RL's share of FLOPs at ``p >= 1/2`` if failed episodes skip the backward pass.

    ``rates`` is :func:`rlbits.compute.softmax_dynamics`'s sequence and ``dyn`` is
    :func:`rlbits.compute.dynamics_summary` at the same ``V, eta, p_end``.
    """
    out = {}
    for learner in ("sl", "rl"):
        out[f"compute_share_above_half_{learner}_dynamics"] = dyn[learner]["share_above"]
        out[f"total_bits_{learner}_dynamics"] = dyn[learner]["bits"]
        out[f"mean_bits_{learner}_{learner}_dynamics"] = dyn[learner]["bits"] / dyn[learner]["samples"]
    # a failed episode has zero gradient without a baseline: it needs its sampling pass (2NT) but no training (6NT)
    waits = compute.dynamics_spent(rates, "rl")
    cost = 2.0 * (waits - 1.0) + 8.0  # expected FLOPs per success, in units of N T
    out["compute_share_above_half_rl_dynamics_skip_backward"] = cost[rates[:-1] >= 0.5].sum() / cost.sum()
    edges = np.array([p0, 10 * p0, 1.0])
    out["rl_dynamics_share_first_decade"] = (compute.samples_per_decade(rates, "rl", edges)[0]
                                             / dyn["rl"]["samples"])
    out["equal_per_decade_share_first_decade"] = math.log(10) / math.log(p_end / p0)
    out["sl_dynamics_share_first_decade"] = (compute.samples_per_decade(rates, "sl", edges)[0]
                                             / dyn["sl"]["samples"])
    out["total_bits_sl_over_rl_dynamics"] = dyn["sl"]["bits"] / dyn["rl"]["bits"]
    return out


def share_table(model_list, table, dyn: dict) -> str:
    """The chapter's table (a numbered MyST table): one row per model, its share of compute at ``p >= 1/2`` and mean
    bits."""
    rows = [[label, f"{table[name][0]:.1%}", f"{table[name][1]:.3f}", f"{table[name][2]:.3f}"]
            for name, _, _, label in model_list]
    sl, rl = dyn["sl"], dyn["rl"]
    rows += [["(c) SL dynamics", f"{sl['share_above']:.1%}", f"{sl['bits'] / sl['samples']:.3f}", ""],
             ["(c) RL dynamics", f"{rl['share_above']:.2%}", "", f"{rl['bits'] / rl['samples']:.4f}"]]
    return tables.markdown(
        ["model", "share of compute at $p \\ge 1/2$", "mean SL bits per sample", "mean RL bound per sample"], rows,
        "Where a run's compute goes, model by model: the share spent at pass rates of one half and above, and the "
        "mean bits per sample for SL and the mean RL bound over the whole run.", "tbl-ch05-shares")
