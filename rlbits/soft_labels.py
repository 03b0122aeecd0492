"""Soft labels and distillation: the students' runs and the price of each stored label, from the chapter's seeds (chapter 11).

Each function is one experiment the chapter shows as a single call: the expected divergence of a student fit to
``n`` one-hot samples (exact and simulated), the price of a stored soft label in one-hot samples, the same teacher
learned by SGD three ways, and the AlphaGo recipe in miniature. The arithmetic is that of :mod:`rlbits.distill` and
:mod:`rlbits.search_targets`; this module only wires streams and collects arrays.
"""

from __future__ import annotations

import math

import numpy as np

from rlbits import distill
from rlbits import search_targets as st

CURVE_KEYS = ("fwd_exact", "fwd_mc", "fwd_se", "rev_exact", "rev_mc", "rev_2nd")


def kl_curves(q, n_list, seed: np.random.SeedSequence, n_rep: int, beta: float) -> dict:
    """Expected KL of a student fit to ``n`` one-hot samples, for each ``n`` in ``n_list`` (chapter 11).

    Returns arrays keyed by :data:`CURVE_KEYS`: the smoothed student's forward divergence, exact (``fwd_exact``), the
    mean of ``n_rep`` simulated students (``fwd_mc``) and its standard error (``fwd_se``); the maximum-likelihood
    student's reverse divergence, exact, simulated, and to second order. Each sample size and student draws from its
    own stream, ``SeedSequence(seed.entropy, spawn_key=seed.spawn_key + (n, j))``. Raises ``AssertionError`` when a
    simulated mean is more than 5 standard errors from its exact expectation.
    """
    curves = {k: [] for k in CURVE_KEYS}
    for n in n_list:
        rng_n = [np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key + (n, j)))
                 for j in (0, 1)]  # one stream per sample size and student
        sm = distill.sample_kl(q, n, rng_n[0], n_rep, "smoothed", beta)
        ml = distill.sample_kl(q, n, rng_n[1], n_rep, "mle")
        curves["fwd_exact"].append(distill.expected_kl_smoothed(q, n, beta))
        curves["fwd_mc"].append(sm.mean())
        curves["fwd_se"].append(sm.std(ddof=1) / math.sqrt(n_rep))
        curves["rev_exact"].append(distill.expected_kl_mle(q, n))
        curves["rev_mc"].append(ml.mean())
        curves["rev_2nd"].append(distill.kl_mle_second_order(q, n))
        # Monte Carlo must agree with the exact expectations
        assert abs(sm.mean() - curves["fwd_exact"][-1]) < 5 * curves["fwd_se"][-1], f"smoothed student, n={n}"
        assert abs(ml.mean() - curves["rev_exact"][-1]) < 5 * ml.std(ddof=1) / math.sqrt(n_rep), f"ML student, n={n}"
    return {k: np.array(v) for k, v in curves.items()}


def stored_labels(q, top_k_list) -> dict:
    """The students that copy one stored soft label of teacher ``q``: keyed ``bf16``, ``fp16`` (the full label
    rounded to 8 or 11 significant bits) and ``top{k}`` for each ``k`` in ``top_k_list`` (chapter 11)."""
    stored = {"bf16": distill.soft_label_student(q, bits=8), "fp16": distill.soft_label_student(q, bits=11)}
    stored.update({f"top{k}": distill.soft_label_student(q, top_k=k) for k in top_k_list})
    return stored


def label_prices(q, top_k_list, beta: float) -> tuple[dict, dict, dict]:
    """What one stored soft label of teacher ``q`` is worth in one-hot samples (chapter 11).

    For each label of :func:`stored_labels` returns ``(exact, first_order, kl)`` dicts: the samples the smoothed
    student needs for its exact expected divergence to fall to ``KL(q || label)``
    (:func:`rlbits.distill.equivalent_samples`), the first-order shortcut ``(V - 1) / (2 KL)``, and the divergence.
    """
    equiv, equiv_fo, kls = {}, {}, {}
    for name, student in stored_labels(q, top_k_list).items():
        d = distill.kl(q, student)
        equiv[name], equiv_fo[name] = distill.equivalent_samples(q, d, beta), (q.size - 1) / (2 * d)
        kls[name] = distill.kl(q, student)
    return equiv, equiv_fo, kls


def price_table(equiv: dict, equiv_fo: dict) -> str:
    """The markdown table of :func:`label_prices`: one row per stored label, exact and first-order prices."""
    table = ["| stored soft label | equivalent one-hot samples (exact curve) | first order $(V-1)/(2\\,\\mathrm{KL})$ |",
             "|---|---|---|"]
    for name in equiv:
        label = {"bf16": "full distribution, bfloat16 (8 significant bits)",
                 "fp16": "full distribution, float16 (11 significant bits)"}.get(name)
        if label is None:
            label = "top-1 probability and the rest spread evenly" if name == "top1" else f"top-{name[3:]}"
        cells = [f"{x:,.1f}" if x < 100 else f"{x:,.0f}" for x in (equiv[name], equiv_fo[name])]
        table.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return "\n".join(table)


def three_ways(q, steps: int, lr: float, tau: float, seed: np.random.SeedSequence, n_runs: int,
               methods=("soft", "onehot", "rl")):
    """The same teacher ``q`` learned by SGD from soft targets, one-hot targets and a pass/fail reward (chapter 11).

    Learning rate ``lr / (1 + step / tau)``; ``n_runs`` runs per method, each from its own stream (``seed`` spawns one
    child per method in the order soft, one-hot, RL, and each child one per run). Returns ``(checkpoints, runs)``:
    about 40 log-spaced step counts from 0 to ``steps``, and ``{method: (kl, pass_rate)}`` arrays of shape
    ``(n_runs, len(checkpoints))`` from :func:`rlbits.distill.train_student`. ``methods`` picks a subset (each
    keeps its own stream, so its runs are the same as in the full set).
    """
    checkpoints = np.unique(np.concatenate([[0], np.logspace(0, math.log10(steps), 40).astype(int)]))
    runs = {}
    for method, s in zip(("soft", "onehot", "rl"), seed.spawn(3)):
        if method not in methods:
            continue
        gens = [np.random.default_rng(c) for c in s.spawn(n_runs)]
        runs[method] = distill.train_student(q, steps, method, lambda k: lr / (1 + k / tau), gens, checkpoints)
    return checkpoints, runs


def ideal_curve(q, checkpoints, beta: float, kl0: float):
    """The exact divergence of the ideal one-hot student (smoothed counts) after each checkpoint's samples; ``kl0``
    (the uniform start) at zero samples (chapter 11)."""
    return np.array([distill.expected_kl_smoothed(q, int(n), beta) if n > 0 else kl0 for n in checkpoints])


def samples_to_reach(checkpoints, curve, threshold: float) -> float:
    """Samples after which ``curve`` (a divergence at each checkpoint) first falls to ``threshold``, interpolated in
    log-log; ``nan`` if it never does within the run (chapter 11)."""
    return distill.crossing(checkpoints + 1, np.maximum(curve, 1e-300), threshold) - 1


def recipe(seed: np.random.SeedSequence, moves: int, features: int, value_scale: float, n_test: int,
           n_game_runs: int, positions_list, n_sims: int, ucb_c: float, rl_lr: float, win_bias: float):
    """The AlphaGo recipe in miniature (chapter 11): a game, held-out positions, and policies trained on visit
    counts, chosen moves and outcomes in ``n_game_runs`` paired runs (:func:`rlbits.search_targets.run_recipe`).

    ``seed`` spawns the game, the test positions and the runs; the runs spawn the searches (one stream per run, which
    also draws its positions) and the games of the two REINFORCE learners. Returns ``(W, X_test, quality,
    search_quality)``.
    """
    g_game, g_test, g_runs = seed.spawn(3)
    W = st.make_game(moves, features, value_scale, np.random.default_rng(g_game))
    X_test = np.random.default_rng(g_test).standard_normal((n_test, features))
    g_search, g_rl_one, g_rl_sims = g_runs.spawn(3)
    run_gens = [np.random.default_rng(s) for s in g_search.spawn(n_game_runs)]  # positions and searches
    game_gens = [[np.random.default_rng(s) for s in g.spawn(n_game_runs)] for g in (g_rl_one, g_rl_sims)]
    Xs = np.stack([g.standard_normal((positions_list[-1], features)) for g in run_gens])
    quality, search_q = st.run_recipe(W, Xs, run_gens, game_gens, positions_list, n_sims, X_test, c=ucb_c,
                                      rl_lr=rl_lr, bias=win_bias)
    return W, X_test, quality, search_q
