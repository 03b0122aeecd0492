"""Learning from everything you see: the lock's learners, its bits, its horizon sweep (chapter 13).

Each function is one experiment the chapter shows as a single call. The arithmetic is that of
:mod:`rlbits.worldmodel` (the combination lock, its two learners and the exact posterior over its structure); this
module wires the chapter's streams, runs the learners, and checks what every run must satisfy.
"""

from __future__ import annotations

import math

import numpy as np

from rlbits import worldmodel as wm
from rlbits.validate import ParameterError


def race(P, horizon: int, episodes: int, mf_seed: np.random.SeedSequence, mb_seed: np.random.SeedSequence,
         lr: float, alpha: float, goal_level):
    """Model-free REINFORCE and the model-based planner on the locks ``P`` (chapter 13).

    Each learner runs once per lock, from ``seed.spawn(len(P))``. Returns ``(mf, mb, ep_mf, ep_mb)``: the two
    :class:`rlbits.worldmodel.RunLog` and, per lock, the episodes each needed to reach ``goal_level`` (an array, one
    per lock). Raises :class:`ParameterError` when the model-based learner does not reach it within ``episodes``,
    ``AssertionError`` when the exact success probabilities disagree with the outcomes observed (beyond 4 standard
    errors) or the realised excess code length with its expectation (beyond 5%).
    """
    n_seeds = len(P)
    mf = wm.run_model_free(P, horizon, episodes, mf_seed.spawn(n_seeds), lr=lr, alpha=alpha)
    mb = wm.run_model_based(P, horizon, episodes, mb_seed.spawn(n_seeds), alpha=alpha)
    ep_mf = wm.episodes_to_reach(mf.success, goal_level)
    ep_mb = wm.episodes_to_reach(mb.success, goal_level)
    if np.any(ep_mb > episodes):
        raise ParameterError(f"episodes={episodes} is too few for the model-based learner to reach the target; "
                             "allowed: more episodes")
    # the exact success probabilities agree with the outcomes actually observed
    for log in (mf, mb):
        gap = abs(log.reached.mean() - log.success.mean())
        assert gap < 4 * math.sqrt(0.25 / log.reached.size), gap
    # the realised excess code length agrees with its expectation, the summed KL
    for log in (mf, mb):
        assert abs(log.excess_bits_realised.mean() / log.excess_bits.mean() - 1) < 0.05
    return mf, mb, ep_mf, ep_mb


def first_episodes(lock_seed: np.random.SeedSequence, run_seed: np.random.SeedSequence, n_locks: int, depth: int,
                   n_actions: int, slip: float, horizon: int, k: int, alpha: float):
    """What the first ``k`` episodes of the uniform policy carry about a lock drawn from the prior (chapter 13).

    ``n_locks`` locks from ``lock_seed.spawn(n_locks)``, one run each from ``run_seed.spawn(n_locks)`` (REINFORCE
    with learning rate 0: the uniform policy). Returns ``(p, log, i_obs, i_out, i_out_se)``: each lock's exact
    success probability, the run log, each lock's information from the observations (bits, the posterior entropy
    drop), and the outcomes' mutual information with the lock and its Monte Carlo standard error.
    """
    P_info = wm.make_locks(lock_seed.spawn(n_locks), depth, n_actions, slip)
    p_info = wm.success_probability(P_info, np.full(P_info.shape[:3], 1.0 / n_actions), horizon)
    uni = wm.run_model_free(P_info, horizon, k, run_seed.spawn(n_locks), lr=0.0, alpha=alpha)
    i_out, i_out_se = wm.outcome_information(p_info, k)
    return p_info, uni, uni.info_bits.sum(axis=0), i_out, i_out_se


def bits_until(bits, ep):
    """Per run: the bits received in the episodes before the target was reached (all episodes if never)."""
    upto = np.arange(bits.shape[0])[:, None] < (ep - 1)[None, :]
    return (bits * upto).sum(axis=0)


def value_ratio(log_mb, ep_mb, share_out: float):
    """``(i_all, i_right, share, ratio)`` of a model-based run until its target (chapter 13): the median information
    about the lock, about the right actions, the relevant share ``i_right / i_all``, and the outcome's relevant share
    ``share_out`` over it."""
    i_all = np.median(bits_until(log_mb.info_bits, ep_mb))
    i_right = np.median(bits_until(log_mb.info_right_bits, ep_mb))
    return i_all, i_right, i_right / i_all, share_out / (i_right / i_all)


ALPHA_TABLE_HEAD = (
    "| $\\alpha$ | model-based episodes to target | information until target (bits) | about the right actions "
    "| relevant share | outcome's share / observations' | Dirichlet regret until target (bits) |\n"
    "|---|---|---|---|---|---|---|")


def alpha_sensitivity(P, horizon: int, episodes: int, mb, ep_mb, alpha: float, alpha_list, mb_seed, goal_level,
                      share_out: float):
    """The model-based learner at each Dirichlet pseudo-count of ``alpha_list`` (chapter 13).

    At ``alpha`` the chapter's run ``mb`` is reused; every other value runs afresh from ``mb_seed.spawn(len(P))``
    (in list order), for ``min(episodes, 3 max(ep_mb) + 20)`` episodes. Returns ``(rows, ratios, by_alpha)``: one
    markdown table row per value (see :data:`ALPHA_TABLE_HEAD`), the value ratio at each, and a dict from each value
    to the :func:`alpha_summary` of its run.
    """
    rows, ratios, by_alpha = [], [], {}
    ep_cap = min(episodes, 3 * int(ep_mb.max()) + 20)  # long enough for every run at the chapter's alpha
    for a_val in alpha_list:
        log_a = mb if a_val == alpha else wm.run_model_based(P, horizon, ep_cap, mb_seed.spawn(len(P)), alpha=a_val)
        ep_a = wm.episodes_to_reach(log_a.success, goal_level)
        ia, ir, sh, vr = value_ratio(log_a, ep_a, share_out)
        ratios.append(vr)
        by_alpha[a_val] = alpha_summary(log_a, ep_a)
        rows.append(f"| {a_val:g} | {np.median(ep_a):.0f} | {ia:.1f} | {ir:.1f} | {sh:.0%} | {vr:.2f} | "
                    f"{np.median(bits_until(log_a.excess_bits, ep_a)):.1f} |")
    return rows, ratios, by_alpha


def horizon_sweep(seed: np.random.SeedSequence, depths, n_locks: int, n_actions: int, slip: float,
                  horizon_factor: int, alpha: float, target: float) -> np.ndarray:
    """Deeper locks (chapter 13): per depth, the model-free learner's mean wait for a first signal and the model-based
    learner's median episodes to ``target`` of the best.

    ``seed`` spawns one child per depth, which spawns the locks and the runs. Returns an array of rows
    ``(depth, E[1/p0], median episodes)``, with ``p0`` the uniform policy's exact success probability.
    """
    rows = []
    for d, ss in zip(depths, seed.spawn(len(depths))):
        env_s, run_s = ss.spawn(2)
        Pd = wm.make_locks(env_s.spawn(n_locks), d, n_actions, slip)
        T = horizon_factor * d
        p0 = wm.success_probability(Pd, np.full(Pd.shape[:3], 1.0 / n_actions), T)
        best = wm.optimal_success(Pd, T)
        log_d = wm.run_model_based(Pd, T, (n_actions + 1) * d + 20, run_s.spawn(n_locks), alpha=alpha,
                                   track_info=False)
        ep = wm.episodes_to_reach(log_d.success, target * best)
        assert np.all(ep <= log_d.success.shape[0])
        rows.append((d, np.mean(1.0 / p0), np.median(ep)))  # the mean wait over locks, E[1/p0], not 1/E[p0]
    return np.array(rows)


def alpha_summary(log_a, ep_a) -> dict:
    """The numbers of one row of :func:`alpha_sensitivity` (chapter 13): median episodes to the target, median
    information about the lock until then, and the median Dirichlet regret until then (bits)."""
    return {"episodes": float(np.median(ep_a)), "info": float(np.median(bits_until(log_a.info_bits, ep_a))),
            "regret": float(np.median(bits_until(log_a.excess_bits, ep_a)))}
