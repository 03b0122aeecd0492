"""The sentences chapter 12 chooses by the outcome of its runs (chapter 12).

Each function takes the numbers a paragraph quotes and returns the paragraph (MyST markdown), choosing every clause
by the numbers, so that the chapter's prose stays true at any parameters a reader sets. The chapter's cells only
gather the numbers; the choices live here, where ``tests/test_jagged_prose.py`` checks both sides of every branch.

A *setting summary* is a dict with the keys ``sg`` and ``sh`` (shares of runs ending on the general strategy and on
the heuristic), ``b1``/``t1`` (pass@1 of the base and trained policies), ``bk``/``tk`` (pass@k at the largest k),
``cross`` and ``cross_est`` (crossover k, exact and estimated, or None), ``pmin`` (median lowest probability of the
general strategy), ``rew`` (median expected rewarded samples of it) and ``err`` (largest error of the estimated
pass@k curve).
"""

from __future__ import annotations

import math

from rlbits import learners
from rlbits.validate import ParameterError


def _pct(x: float) -> str:
    return f"{x:.0%}"


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95% for ``z = 1.96``), by
    :func:`rlbits.learners.wilson_interval`."""
    if n <= 0 or not 0 <= successes <= n:
        raise ParameterError(f"successes={successes!r}, n={n!r}; allowed: 0 <= successes <= n, n >= 1")
    return learners.wilson_interval(successes, n, z)


def regimes(common: float, c: dict, rarest: float, r: dict, k_max: int) -> str:
    """The paragraph under the settings table: the most common and the rarest setting, and the estimator check."""
    if c["sg"] > 0.5:
        s1 = (f"When the general strategy starts common enough ($\\pi_g = {common:g}$), RL finds it in "
              f"{_pct(c['sg'])} of the runs: pass@1 goes from {c['b1']:.3f} to {c['t1']:.3f}")
        s1 += (" and the trained policy is ahead at every $k$." if c["cross"] is None else
               f", although the base policy overtakes it from $k = {c['cross']:,d}$ on.")
    else:
        s1 = (f"With these parameters even the most common setting ($\\pi_g = {common:g}$) is not common enough: "
              f"only {_pct(c['sg'])} of the runs end on the general strategy, and {_pct(c['sh'])} on the heuristic.")
    if r["sh"] > 0.5:
        s2 = (f"When it starts rare ($\\pi_g = {rarest:g}$), {_pct(r['sh'])} of runs end on the heuristic; the "
              f"general strategy sinks to a median lowest probability of {r['pmin']:.1e}, and over the whole run a "
              f"median of only {r['rew']:.2f} attempts were expected to be rewarded samples of it.")
    else:
        s2 = (f"Even at the rarest setting ($\\pi_g = {rarest:g}$) only {_pct(r['sh'])} of runs end on the heuristic "
              f"and {_pct(r['sg'])} on the general strategy; its median lowest probability is {r['pmin']:.1e}, and a "
              f"median of {r['rew']:.2f} attempts were expected to be rewarded samples of it.")
    s3 = (f"There, pass@1 {'rises' if r['t1'] > r['b1'] else 'does not rise'}, from {r['b1']:.3f} to "
          f"{r['t1']:.3f}, and at $k = {k_max:,d}$ the base policy solves {r['bk']:.3f} of the problems and the "
          f"trained one {r['tk']:.3f}: ")
    s3 += (f"the base overtakes it from $k = {r['cross']:,d}$ on." if r["cross"] is not None else
           f"the base policy does not overtake it up to $k = {k_max:,d}$.")
    s3 += (f" The pass@$k$ curves estimated from {k_max:,d} sampled attempts per problem are within {r['err']:.4f} "
           "of the exact ones and ")
    s3 += (f"place the crossover at $k = {r['cross_est']:,d}$." if r["cross_est"] is not None else
           "show no crossover.")
    return " ".join([s1, s2, s3])


def c19_clause(r: dict, k_max: int) -> str:
    """What pass@k at large k does at the rarest setting (a clause of the C19 caveat)."""
    return (f"falls below the base model's from k = {r['cross']:,d} on" if r["cross"] is not None
            else f"does not fall below the base model's up to k = {k_max:,d}")


def passk_sentence(n_stuck: int, n_stuck_with_cross: int, k_max: int) -> str:
    """The sentence under the pass@k figure: which stuck settings show the crossover of Yue et al."""
    if n_stuck < 0 or not 0 <= n_stuck_with_cross <= n_stuck:
        raise ParameterError(f"n_stuck={n_stuck!r}, n_stuck_with_cross={n_stuck_with_cross!r}; allowed: "
                             "0 <= n_stuck_with_cross <= n_stuck")
    if n_stuck and n_stuck_with_cross == n_stuck:
        s = ("every setting in which the heuristic took over shows the crossover reported by Yue et al. "
             "{cite}`yue2025does`: RL sharpens the distribution toward what already works and narrows the set of "
             "problems it can solve at large $k$.")
    elif n_stuck:
        s = (f"{n_stuck_with_cross} of the {n_stuck} settings in which the heuristic took over show, within "
             f"$k \\le {k_max:,d}$, the crossover reported by Yue et al. {{cite}}`yue2025does`; where it is missing, "
             "the base policy has not yet caught up at the largest $k$ evaluated.")
    else:
        s = ("no setting ends on the heuristic with these parameters, so the mechanism behind the crossover reported "
             "by Yue et al. {cite}`yue2025does` (RL narrowing the distribution onto the heuristic) does not operate "
             "here.")
    return f"In {{numref}}`fig-passk-crossover` {s}"


def escape_sentence(p_stuck: float | None, escape: float | None, steps: int) -> str:
    """The return time of the general strategy for the least rare setting stuck on the heuristic (None: none)."""
    if p_stuck is None:
        return ("With these parameters no setting has most runs stuck on the heuristic, so there is no plateau to "
                "escape from within the budget.")
    when = "beyond" if escape > steps else "within"
    return (f"For the least rare setting in which most runs stuck to the heuristic ($\\pi_g = {p_stuck:g}$), "
            "{eq}`eq-escape` evaluated at the lowest probability reached so far puts the return of the general "
            f"strategy at {escape:,.0f} steps or more, {when} the budget of {steps:,d}. (It is a lower bound: the "
            "lowest point has not been reached yet.)")


def summary_cross(crossovers: list, k_max: int) -> str:
    """The summary bullet about the crossover k of the stuck settings."""
    if crossovers:
        tail = (f"here at $k$ from {min(crossovers):,d} to {max(crossovers):,d}." if len(crossovers) > 1 else
                f"here at $k = {crossovers[0]:,d}$.")
        return ("When the heuristic takes over, pass@1 rises and pass@$k$ at large $k$ falls below the base "
                "policy's: the crossover of Yue et al., " + tail)
    return ("In these runs pass@$k$ at large $k$ never falls below the base policy's within "
            f"$k \\le {k_max:,d}$: the crossover of Yue et al. does not appear.")


def transition_sentence(p50_runs: float | None, p50_mf: float | None, n_points: int, runs: int,
                        lo: float, hi: float) -> str:
    """How the share of runs finding the general strategy compares with the mean field across the transition.

    ``p50_runs``: the base probability at which half the runs find it (interpolated; None if the scan does not
    cross one half); ``p50_mf``: where the mean field's final probability crosses one half within the budget;
    ``lo``/``hi``: the range of the scan.
    """
    head = f"Across the transition ({n_points} base probabilities from {lo:g} to {hi:g}, {runs:,d} runs each), "
    if p50_runs is None:
        return head + ("the share of runs that find the general strategy does not cross one half, so the scan does "
                       "not locate the stochastic threshold; widen it.")
    if p50_mf is None:
        return head + (f"half of the runs find the general strategy at $\\pi_g \\approx {p50_runs:.3f}$, while the "
                       "mean field does not reach it within the budget anywhere on its grid.")
    ratio = p50_runs / p50_mf
    agree = ("close to" if abs(math.log(ratio)) <= math.log(1.25) else
             "above" if ratio > 1 else "below")
    return head + (f"half of the runs find the general strategy at $\\pi_g \\approx {p50_runs:.3f}$ (interpolated), "
                   f"{agree} the mean field's threshold {p50_mf:.3f} (a ratio of {ratio:.2f}).")


def bridges(w: dict, e: dict, c: dict, *, warm_traces: int, p_warm: float, p_recede: float, entropy_bonus: float,
            curriculum_steps: int, budget: int) -> str:
    """The paragraph under the bridges table. ``w``, ``e``, ``c``: dicts with ``share`` (runs ending on the general
    strategy), ``pass1`` and ``cross`` (crossover k or None) for the warm start, entropy bonus and curriculum."""
    side = "above" if p_warm > p_recede else "still below"
    cross_txt = "no crossover" if w["cross"] is None else f"a crossover at $k = {w['cross']:,d}$"
    if w["share"] > 0.5:
        t_w = (f"The **warm start** works: {warm_traces:d} supervised steps raise $\\pi_g$ to {p_warm:.3f}, {side} "
               f"the threshold $p_g^\\ast = {p_recede:.3f}$, and {_pct(w['share'])} of runs end on the general "
               f"strategy, with pass@1 {w['pass1']:.3f} and {cross_txt}.")
    else:
        t_w = (f"The **warm start** is not enough here: {warm_traces:d} supervised steps raise $\\pi_g$ only to "
               f"{p_warm:.3f} ({side} the threshold $p_g^\\ast = {p_recede:.3f}$), and {_pct(w['share'])} of runs end "
               f"on the general strategy (pass@1 {w['pass1']:.3f}, {cross_txt}).")
    if e["share"] > 0.5:
        cost = (f"at the price of a policy that keeps sampling junk (pass@1 {e['pass1']:.3f} against "
                f"{w['pass1']:.3f} for the warm start)" if e["pass1"] < w["pass1"] else
                f"with pass@1 {e['pass1']:.3f} against {w['pass1']:.3f} for the warm start")
        t_e = (f"The **entropy bonus** works in {_pct(e['share'])} of runs: by keeping rare strategies alive it stops "
               f"the dip that makes the return slow, {cost}.")
    else:
        t_e = (f"The **entropy bonus** with $\\beta = {entropy_bonus:g}$ brings only {_pct(e['share'])} of runs to "
               f"the general strategy (pass@1 {e['pass1']:.3f}).")
    c_cross = "no crossover" if c["cross"] is None else f"crossover at $k = {c['cross']:,d}$"
    if c["share"] >= 0.9:
        t_c = (f"The **curriculum** works when it is given the time its mean field asks for ({_pct(c['share'])} of "
               f"runs on the general strategy, {c_cross}): {curriculum_steps:,d} steps on the hard problems alone, "
               "where the heuristic earns nothing, let the rare general strategy be rewarded often enough to grow.")
    elif c["share"] > 0.1:
        t_c = (f"The **curriculum**, {curriculum_steps:,d} steps on the hard problems alone, brings only "
               f"{_pct(c['share'])} of runs to the general strategy ({c_cross}): the mean field describes a typical "
               "run, and the runs whose rare general strategy was rewarded late are still short of it when the "
               "curriculum ends and the heuristic's competition returns.")
    else:
        t_c = (f"The **curriculum** fails here ({_pct(c['share'])} of runs on the general strategy, {c_cross}) even "
               f"with {curriculum_steps:,d} steps on the hard problems alone: it removes the heuristic's "
               "competition, but the general strategy's own pass rate $\\pi_g R_g$ is tiny, so most of the "
               "curriculum's rewards are zero, the C19 mechanism in its purest form.")
    t_b = (f"All four rows had the same budget of {budget:,d} steps: the curriculum's phase on the hard problems, "
           f"{curriculum_steps:,d} steps, plus {budget - curriculum_steps:,d} steps on all problems.")
    return " ".join([t_w, t_e, t_c, t_b])


def bridge_summary(rows: list) -> str:
    """``rows``: (name, share on the general strategy, pass@1) per bridge."""
    return "; ".join(f"{name} brings {_pct(share)} of runs to the general strategy (pass@1 {p1:.3f})"
                     for name, share, p1 in rows)
