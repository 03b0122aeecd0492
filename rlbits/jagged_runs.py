"""Elicitation's runs: groups of REINFORCE runs on two skills, their pass@k, and mean-field scans (chapter 12).

A *group* is a tuple ``(name, logits0, reference_logits, entropy_bonus, curriculum_steps)``: runs that start from
``logits0`` and are compared with the base policy ``softmax(reference_logits)``. :func:`train_groups` trains several
groups in one batched loop (each run on its own stream, so its result is as if trained alone); :func:`evaluate`
measures one group's pass@k exactly and as an evaluator would. The arithmetic is that of :mod:`rlbits.strategies`.
"""

from __future__ import annotations

import numpy as np

from rlbits import strategies as st


def fmt_k(c):
    """A crossover k as a result: the integer, or 'none' when the base policy never overtakes."""
    return "none" if c is None else int(c)


def train_groups(groups, group_seeds, rates, curriculum_rates, n_seeds: int, steps: int, batch: int, lr: float):
    """Train ``n_seeds`` runs of every group in ``groups`` for ``steps`` steps in one batched loop (chapter 12).

    ``group_seeds``: one ``(train_seed, eval_seed)`` pair per group; the runs of a group draw from
    ``train_seed.spawn(n_seeds)``. Returns the :class:`rlbits.strategies.TrainResult` of all runs, group after group.
    """
    return st.train_reinforce(
        np.repeat([g[1] for g in groups], n_seeds, axis=0), rates,
        seeds=[c for ts, _ in group_seeds for c in ts.spawn(n_seeds)], steps=steps, batch=batch, lr=lr,
        entropy_bonus=np.repeat([g[3] for g in groups], n_seeds), curriculum_rates=curriculum_rates,
        curriculum_steps=np.repeat([g[4] for g in groups], n_seeds))


def evaluate(res, z_ref, solve, ks, eval_seed: np.random.SeedSequence, rates, lr_eff: float, budget: int,
             tol: float):
    """One group's pass@k (chapter 12): of its base policy ``softmax(z_ref)`` and of its trained runs ``res``, exactly
    and with the unbiased estimator from ``ks[-1]`` sampled attempts per problem (``eval_seed`` spawns the base
    policy's stream and the runs' parent stream).

    Returns ``(out, summary)``: ``out`` holds ``res``, the curves ``base``, ``trained`` and ``estimate`` and the
    crossovers ``cross`` and ``cross_est`` (``None`` if the base never overtakes); ``summary`` the numbers the chapter
    records for the group, keyed by the suffix of their names. Raises ``AssertionError`` if the estimate is more than
    0.02 from the exact pass@k anywhere.
    """
    k_max = int(ks[-1])
    probs = res.final_probs
    base_seed, run_seeds = eval_seed.spawn(2)
    base_curve = st.pass_at_k_exact(st.softmax(z_ref)[None], solve, ks)
    base_counts = st.sample_correct_counts(st.softmax(z_ref)[None], solve, k_max, [base_seed])
    trained_curve = st.pass_at_k_exact(probs, solve, ks)
    counts = st.sample_correct_counts(probs, solve, k_max, run_seeds.spawn(len(probs)))
    estimate = st.pass_at_k_from_counts(k_max, counts, ks)
    cross = st.crossover_k(base_curve, trained_curve, ks, tol=tol)
    cross_est = st.crossover_k(st.pass_at_k_from_counts(k_max, base_counts, ks), estimate, ks, tol=tol)
    p_min = np.median(res.probs[:, :, st.GENERAL].min(axis=0))
    out = dict(res=res, base=base_curve, trained=trained_curve, estimate=estimate, cross=cross, cross_est=cross_est)
    esc_ = st.escape_steps(p_min, rates[st.GENERAL] - rates[st.HEURISTIC], lr_eff) if p_min < 0.5 else 0.0
    summary = {
        "pass1_trained": trained_curve[0],
        "passkmax_trained": trained_curve[-1],
        "crossover_k": fmt_k(cross),
        "crossover_k_estimated": fmt_k(cross_est),
        "share_on_general": np.mean(probs[:, st.GENERAL] > 0.5),
        "share_on_heuristic": np.mean(probs[:, st.HEURISTIC] > 0.5),
        "median_min_p_general": p_min,
        "median_final_p_general": np.median(probs[:, st.GENERAL]),
        "rewarded_general_samples": np.median(res.rewarded[:, st.GENERAL]),
        "estimator_max_abs_error": np.max(np.abs(estimate - trained_curve)),
        "escape_steps": esc_,
        "escape_over_budget": esc_ / budget,
    }
    # the unbiased estimator agrees with the exact pass@k within sampling error
    assert np.max(np.abs(estimate - trained_curve)) < 0.02
    return out, summary


def mean_field_threshold(p_heuristic: float, n_junk: int, rates, grid, steps: int, batch: int, lr: float):
    """The base probability of the general strategy from which the mean field ends at one half within ``steps``
    (chapter 12), scanned over ``grid`` (increasing); ``None`` if it does so nowhere on the grid. Returns
    ``(threshold, final_probability_of_general)``."""
    Z = np.array([st.base_logits(p_heuristic, p, n_junk) for p in grid])
    final_g = st.mean_field(Z, rates, steps=steps, batch=batch, lr=lr)[-1, :, st.GENERAL]
    return st.half_point(grid, final_g), final_g


def mean_field_rows(logits0, rates, entropy_bonus, *, steps: int, batch: int, lr: float, curriculum_rates=None,
                    curriculum_steps: int = 0) -> np.ndarray:
    """The final policies of :func:`rlbits.strategies.mean_field` from each row of ``logits0``, with one entropy
    bonus per row (chapter 12's exercises scan the bonus in one batched loop). Same update as
    :func:`rlbits.strategies.mean_field`; returns shape ``(rows, S)``."""
    z = np.atleast_2d(np.asarray(logits0, dtype=float)).copy()
    beta = np.broadcast_to(np.asarray(entropy_bonus, dtype=float), (z.shape[0],))[:, None]
    rates = np.asarray(rates, dtype=float)
    cur = rates if curriculum_rates is None else np.asarray(curriculum_rates, dtype=float)
    lr_eff = lr * (batch - 1) / batch
    pi = st.softmax(z)
    for t in range(steps):
        R = cur if t < curriculum_steps else rates
        step = lr_eff * pi * (R - (pi * R).sum(axis=1, keepdims=True))
        step = step + lr * beta * st.entropy_gradient(z)
        z = z + step
        pi = st.softmax(z)
    return pi
