"""A policy that cannot sample the answer: truncated samplers and a failure penalty, run end to end (chapter 3).

Used by chapter 3 ("Seeing the right answer at all"). The engines are in :mod:`rlbits.truncation`
(:func:`~rlbits.truncation.truncated_reinforce_run`, :func:`~rlbits.truncation.penalised_topk_run`); these functions
run them over seeds and samplers with one independent stream per run, and summarise the runs.
"""

from __future__ import annotations

import numpy as np

from rlbits import truncation
from rlbits.validate import integer


def answer_at_rank(theta0, rank: int) -> int:
    """The index of the answer whose initial logit has ``rank`` (1 is the highest; ties broken by index)."""
    theta0 = np.asarray(theta0, dtype=float)
    rank = integer("rank", rank, minimum=1, maximum=theta0.size)
    return int(np.argsort(-theta0, kind="stable")[rank - 1])


def truncation_runs(theta0, answer: int, samplers: dict, lr: float, n_samples: int, n_runs: int,
                    stream: np.random.SeedSequence) -> dict:
    """Per-sample REINFORCE (0/1 reward, no baseline) from ``theta0`` under each sampler ``name -> (k, T)`` (top-k at
    temperature T), ``n_runs`` seeds each: one child of ``stream`` per sampler, in order, and one grandchild per run.
    Returns ``name -> [(times, rates), ...]`` as :func:`rlbits.truncation.truncated_reinforce_run` gives them."""
    n_runs = integer("n_runs", n_runs, minimum=1)
    runs = {}
    for (name, (k, T)), ss in zip(samplers.items(), stream.spawn(len(samplers))):
        runs[name] = [truncation.truncated_reinforce_run(theta0, answer, k, T, lr, n_samples, np.random.default_rng(s))
                      for s in ss.spawn(n_runs)]
    return runs


def samples_to_reach(runs, target: float = 0.5) -> np.ndarray:
    """Samples each run took to reach the sampling pass rate ``target`` (``inf`` where it never did)."""
    return np.array([truncation.samples_to_reach(t, r, target) for t, r in runs])


def penalty_runs(theta0, near: int, far: int, other: int, k: int, lr: float, n_samples: int, n_runs: int,
                 stream: np.random.SeedSequence) -> dict:
    """The failure-penalty learner (:func:`rlbits.truncation.penalised_topk_run`, reward +1/-1, top-``k``) from
    ``theta0``. ``stream`` spawns ``2 n_runs`` children: the first ``n_runs`` run with the answer ``near``, the next
    two (one if ``n_runs`` is 1) with the answer ``far``, and the first of those again with the answer ``other``.

    Returns ``near_entry`` (sample at which the answer entered the top-k per run, ``None`` if never), ``far`` (the
    ``(entry, actions, theta)`` of each far run), ``compared`` (samples compared between the first far run and the
    run with ``other``: until either answer enters) and ``same`` (whether they sampled the same answers throughout).
    """
    n_runs = integer("n_runs", n_runs, minimum=1)
    streams = stream.spawn(2 * n_runs)
    run = lambda answer, s: truncation.penalised_topk_run(theta0, answer, k, lr, n_samples, np.random.default_rng(s))
    near_entry = [run(near, s)[0] for s in streams[:n_runs]]
    far_runs = [run(far, s) for s in streams[n_runs:n_runs + 2]]
    _, actions_other, _ = run(other, streams[n_runs])
    m = min(len(far_runs[0][1]), len(actions_other))
    return dict(near_entry=near_entry, far=far_runs, compared=m,
                same=bool(np.array_equal(far_runs[0][1][:m], actions_other[:m])))
