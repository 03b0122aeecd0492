"""Samples to a pass rate against the vocabulary size: exact expectations, fits and Monte Carlo checks (chapters 6 and 7).

Chapter 6 ("The sky is ___") runs SL, REINFORCE without a baseline, the ideal eliminator and REINFORCE with a
mean-reward baseline on one prompt with ``V`` answers (the engines of :mod:`rlbits.learners`) until the pass rate
reaches each target. This module turns those runs into the numbers the chapter reports:

- the exact expectations where they exist: REINFORCE without a baseline waits a geometric time of mean ``1/p_k`` at
  each of SL's pass rates ``p_k`` below the target (:func:`reinforce_exact`), and the eliminator needs
  ``E min(T, m)`` samples with ``T`` uniform on ``1..V`` (:func:`eliminator_exact`); and REINFORCE from a warm
  start (:func:`reinforce_expected_from`);
- the samples to a pass rate of 1/2 at every ``V`` and their log-log fits (:func:`samples_to_half`,
  :func:`loglog_fits`);
- the Monte Carlo means against those expectations, in standard errors (:func:`mc_max_abs_z`, :func:`report`);
- the share of runs that reach 0.99 within a sample budget, with Wilson intervals (:func:`budget_rows`).

The runs are dicts ``V -> array (n_runs, len(thresholds))`` of samples to each threshold, as
:func:`rlbits.learners.reinforce_samples_to` and :func:`rlbits.learners.eliminator_samples_to` return them.
"""

from __future__ import annotations

import math

import numpy as np

from rlbits import learners


def reinforce_exact(V: int, target: float, eta: float) -> tuple[float, float]:
    """Mean and variance of REINFORCE's (no baseline) samples to pass rate ``target``: the sums of ``1/p_k`` and
    ``(1 - p_k)/p_k**2`` over SL's pass rates ``p_k`` below the target (independent geometric waits)."""
    p_lv, _ = learners.pass_rate(learners.sl_gaps(V, target, eta), V)
    return float(np.sum(1 / p_lv[:-1])), float(np.sum((1 - p_lv[:-1]) / p_lv[:-1] ** 2))


def reinforce_expected_from(V: int, p_start: float, target: float, eta: float) -> float:
    """Expected samples of REINFORCE (no baseline, batch 1) from pass rate ``p_start`` to ``target``: the sum of
    ``1/p_k`` along the gap recursion ``d += eta q V/(V-1)`` started at the gap of ``p_start`` (a warm start; at
    ``p_start = 1/V`` it is :func:`reinforce_exact`'s mean)."""
    target = float(target)
    d = learners.gap_for_pass_rate(p_start, V)
    c = eta * V / (V - 1)
    total = 0.0
    p, q = learners.pass_rate(d, V)
    while p < target:
        total += 1 / p
        d += c * q
        p, q = learners.pass_rate(d, V)
    return total


def eliminator_exact(V: int, target: float) -> tuple[float, float]:
    """Mean and variance of the eliminator's samples to pass rate ``target``: its pass rate after ``k`` failures is
    ``1/(V - k)``, so it reaches ``target`` after ``V - floor(1/target)`` failures or on finding the answer."""
    return learners.eliminator_samples_expected(V, V - math.floor(1 / target))


def samples_to_half(V_grid, V_dense, sl: dict, dense: dict, eta: float) -> dict[str, np.ndarray]:
    """Samples to a pass rate of 1/2 at every ``V``: SL's (deterministic), REINFORCE's and the eliminator's exact
    expectations over ``V_grid``, and the dense engine's Monte Carlo mean (mean-reward baseline) over ``V_dense``."""
    return {"SL": np.array([sl[V][0] for V in V_grid], float),
            "RL": np.array([reinforce_exact(V, 0.5, eta)[0] for V in V_grid]),
            "eliminator": np.array([learners.eliminator_samples_expected(V, V - 2)[0] for V in V_grid]),
            "RL (mean baseline)": np.array([dense[V].samples_to[:, 0].mean() for V in V_dense])}


def loglog_fits(V_grid, V_dense, half: dict) -> dict[str, float]:
    """Log-log slopes (and REINFORCE's intercept) of the samples to 1/2 against ``V``, and SL's samples per e-fold of
    ``V`` (a fit linear in ``ln V``)."""
    Vg, Vd = np.array(V_grid, dtype=float), np.array(V_dense, dtype=float)
    rl_slope, rl_icpt = np.polyfit(np.log(Vg), np.log(half["RL"]), 1)
    sl_efold, sl_icpt = np.polyfit(np.log(Vg), half["SL"], 1)
    return {"rl_slope": rl_slope, "rl_icpt": rl_icpt,
            "el_slope": np.polyfit(np.log(Vg), np.log(half["eliminator"]), 1)[0],
            "mb_slope": np.polyfit(np.log(Vd), np.log(half["RL (mean baseline)"]), 1)[0],
            "sl_efold": sl_efold, "sl_icpt": sl_icpt}


def mc_max_abs_z(V_grid, thresholds, rl: dict, el: dict, n_runs: int, eta: float) -> float:
    """The largest distance, in standard errors of the mean, of a Monte Carlo mean (REINFORCE or eliminator, any
    ``V``, any threshold) from its exact expectation."""
    z_max = 0.0
    for V in V_grid:
        for j, t in enumerate(thresholds):
            for runs, (mean, var) in ((rl, reinforce_exact(V, t, eta)), (el, eliminator_exact(V, t))):
                if var > 0:
                    z_max = max(z_max, abs(runs[V][:, j].mean() - mean) / math.sqrt(var / n_runs))
    return z_max


def report(V_report: int, V_grid, V_dense, thresholds, sl: dict, rl: dict, el: dict, half: dict, n_runs: int,
           eta: float) -> dict:
    """The numbers chapter 6 reports at ``V_report``: per learner and target (``half``, ``099``) the exact mean, the
    Monte Carlo mean, its standard error and z; the ratios of REINFORCE's samples to SL's and the eliminator's; the
    share of the first wait; and the mean baseline's ratios over the dense grid and its extrapolation to
    ``V_report``."""
    out = {"V_report": V_report}
    for j, tname in enumerate(("half", "099")):
        out[f"sl_samples_to_{tname}"] = sl[V_report][j]
        for name, runs, (mean, var) in (("rl", rl, reinforce_exact(V_report, thresholds[j], eta)),
                                        ("eliminator", el, eliminator_exact(V_report, thresholds[j]))):
            mc = runs[V_report][:, j].mean()
            se = math.sqrt(var / n_runs)
            out[f"{name}_samples_to_{tname}"] = mean  # exact
            out[f"{name}_samples_to_{tname}_mc"] = mc
            out[f"{name}_samples_to_{tname}_se"] = se
            out[f"{name}_samples_to_{tname}_z"] = (mc - mean) / se if se > 0 else 0.0
    rl_half = reinforce_exact(V_report, 0.5, eta)[0]
    el_half = learners.eliminator_samples_expected(V_report, V_report - 2)[0]
    out["eliminator_099_minus_half"] = learners.eliminator_samples_expected(V_report, V_report - 1)[0] - el_half
    out["rl_samples_to_half_median"] = np.median(rl[V_report][:, 0])
    out["rl_over_sl_samples_to_half"] = rl_half / half["SL"][list(V_grid).index(V_report)]
    out["rl_over_eliminator_samples_to_half"] = rl_half / el_half
    # V/(1 - e^-eta) against about V/2: the ratio is a constant set by the step size, the V-scaling is the feedback's
    out["rl_over_eliminator_leading_order"] = 2 / (1 - math.exp(-eta))
    out["rl_half_over_V"] = rl_half / V_report
    out["rl_first_wait_share_of_half"] = V_report / rl_half
    out["rl_half_over_V_predicted"] = 1 / (1 - math.exp(-eta * V_report / (V_report - 1)))
    # the mean baseline at V_report: the dense engine costs O(V) per sample, so we extrapolate with its ratio
    ratio_mb = half["RL (mean baseline)"] / np.array([rl[V][:, 0].mean() for V in V_dense])
    out["rl_mean_over_none_min"] = ratio_mb.min()
    out["rl_mean_over_none_max"] = ratio_mb.max()
    out["rl_mean_baseline_samples_to_half_extrapolated"] = rl_half * ratio_mb[-1]
    out["V_dense_max"] = V_dense[-1]
    return out


def budget_rows(V_grid, rl: dict, n_runs: int, budget: int, column: int = 1) -> list[tuple[int, float, float, float]]:
    """For each ``V``: the share of REINFORCE runs whose samples to the threshold in ``column`` (0.99 in chapter 6)
    are within ``budget``, and its 95% Wilson interval, as ``(V, share, low, high)``."""
    rows = []
    for V in V_grid:
        k = int(np.sum(rl[V][:, column] <= budget))
        lo, hi = learners.wilson_interval(k, n_runs)
        rows.append((V, k / n_runs, lo, hi))
    return rows
