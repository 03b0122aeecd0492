"""The logit-gap learner: warm starts and a curriculum of graded tasks (chapters 8 and 9).

Introduced in chapter 8, "Warm starts and inference scaling", and used for the curriculum of chapter 9.

**One prompt.** A tabular softmax over ``V`` tokens, one of them correct, started uniform. Both supervised learning
(SL, the gradient of ``log pi(answer)``) and REINFORCE with a 0/1 reward and no baseline move every wrong logit by
the same amount, so the state is a single number, the *gap* between the correct logit and a wrong one, and the pass
rate is ``p = 1 / (1 + (V - 1) exp(-gap))``. An SL step with learning rate ``lr`` adds
``lr (1 - p) V / (V - 1)`` to the gap. A REINFORCE step adds exactly the same amount when the sampled token is
correct (probability ``p``) and nothing otherwise. So RL visits the same states as SL, but waits a geometric number
of samples, with mean ``1 / p``, at each: :func:`sl_path` and :func:`rl_samples_on_path` are exact.

**A task family.** Task ``d`` (``d = 1..D``) asks for the first ``d`` tokens of a fixed sequence; position ``i`` has
its own softmax over ``V`` tokens, shared by every task that needs it. Task ``d`` passes when all its ``d`` tokens
are right, with probability ``P_d = p_1 ... p_d``: from a uniform start ``V^-d``, falling geometrically in ``d``. An
RL episode on task ``d`` is rewarded only if all ``d`` sampled tokens are correct, and then it is an SL step on every
position ``i <= d``; so the logit-gap reduction holds position by position. :func:`run_curriculum` simulates it
event by event (between two successes the state, hence the sampler, is fixed, so the waiting time is geometric and
the task of the success is drawn in proportion to ``q_d P_d``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rlbits import info, learners
from rlbits.validate import ParameterError, generators, integer, one_of, probability, real

SAMPLERS = ("uniform", "p(1-p)", "easy-to-hard", "hardest only")
MODES = ("RL", "SL")


def pass_rate(gap, V):
    """Pass rate of a softmax whose correct logit exceeds each of the ``V - 1`` equal wrong logits by ``gap``: the
    ``p`` of :func:`rlbits.learners.pass_rate` (chapter 5), where this two-logit model is introduced."""
    V = integer("V", V, minimum=2)
    return learners.pass_rate(gap, V)[0]


def gap_for_pass_rate(p, V):
    """The gap at which the pass rate is ``p``: ``log(p / (1 - p)) + log(V - 1)``
    (:func:`rlbits.learners.gap_for_pass_rate`)."""
    V = integer("V", V, minimum=2)
    return learners.gap_for_pass_rate(p, V)


def sl_increment(gap, V, lr):
    """The change of the gap after one SL step (or one rewarded REINFORCE step): ``lr (1 - p) V / (V - 1)``, with
    ``1 - p`` taken as the ``q`` of :func:`rlbits.learners.pass_rate` (no cancellation when ``p`` is near 1)."""
    V = integer("V", V, minimum=2)
    _, q = learners.pass_rate(gap, V)
    out = lr * np.asarray(q) * V / (V - 1)
    return float(out) if out.ndim == 0 else out


def sl_path(V, lr, p_start, p_target, max_steps=10_000_000):
    """Pass rates visited by SL from ``p_start`` until the first state with ``p >= p_target``.

    Returns the array ``[p_0, p_1, ..., p_J]`` with ``p_J >= p_target > p_{J-1}``: ``J`` SL steps (samples) are
    needed, and the RL learner waits at each of ``p_0 .. p_{J-1}``.
    """
    V = integer("V", V, minimum=2)
    lr = real("lr", lr, minimum=0, open_low=True)
    p_start = probability("p_start", p_start, open_low=True, open_high=True)
    p_target = probability("p_target", p_target, open_low=True, open_high=True)
    gap = gap_for_pass_rate(p_start, V)
    ps = [pass_rate(gap, V)]
    while ps[-1] < p_target:
        if len(ps) > max_steps:
            raise ParameterError(f"p_target={p_target!r} not reached in max_steps={max_steps} SL steps (lr={lr})")
        gap += sl_increment(gap, V, lr)
        ps.append(pass_rate(gap, V))
    return np.array(ps)


def sl_steps_to(V, lr, p_start, p_target):
    """Number of SL steps from ``p_start`` to the first state with pass rate ``>= p_target``."""
    return len(sl_path(V, lr, p_start, p_target)) - 1


def rl_expected_samples(path):
    """Mean and variance of the RL samples needed to walk ``path`` (all states but the last): sums of geometric
    waiting times, mean ``sum 1/p`` and variance ``sum (1 - p)/p^2``."""
    p = np.asarray(path, dtype=float)[:-1]
    return float(np.sum(1.0 / p)), float(np.sum((1.0 - p) / p**2))


def rl_samples_on_path(path, rngs):
    """RL samples needed to walk ``path``, one exact draw per generator in ``rngs`` (one run each)."""
    p = np.asarray(path, dtype=float)[:-1]
    return np.array([int(rng.geometric(p).sum()) for rng in rngs])


@dataclass
class WarmStart:
    """One warm-start level: ``sft_steps`` SL steps from the uniform start reach ``p0``; then RL to the target."""

    level: float
    sft_steps: int
    p0: float
    rl_path: np.ndarray

    @property
    def rl_mean(self):
        return rl_expected_samples(self.rl_path)[0]

    @property
    def rl_var(self):
        return rl_expected_samples(self.rl_path)[1]


def warm_start(V, lr, level, p_target):
    """SFT (SL steps from the uniform start ``1/V``) until the pass rate reaches ``level``, then the RL path to
    ``p_target``. ``level <= 1/V`` means no SFT (RL from scratch)."""
    V = integer("V", V, minimum=2)
    level = probability("level", level, open_low=True, open_high=True)
    p_target = probability("p_target", p_target, open_low=True, open_high=True)
    if level >= p_target:
        raise ParameterError(f"level={level!r} must be below p_target={p_target!r}")
    sft = sl_path(V, lr, 1.0 / V, max(level, 1.0 / V)) if level > 1.0 / V else np.array([1.0 / V])
    p0 = float(sft[-1])
    return WarmStart(level, len(sft) - 1, p0, sl_path(V, lr, p0, p_target))


# ---------------------------------------------------------------------------------------------------------------
# The task family of chapter 9
# ---------------------------------------------------------------------------------------------------------------


def task_pass_rates(gaps, V):
    """Pass rates ``P_d = p_1 ... p_d`` of the tasks, from the per-position gaps (last axis = positions)."""
    return np.cumprod(pass_rate(gaps, V), axis=-1)


def sampler_weights(sampler, P, mastery):
    """Task-sampling probabilities ``q`` (same shape as ``P``, rows sum to 1) for the current pass rates ``P``.

    - ``uniform``: every task equally often;
    - ``p(1-p)``: proportional to the reward variance ``P_d (1 - P_d)`` of each task;
    - ``easy-to-hard``: the easiest task not yet mastered (``P_d < mastery``), else the hardest;
    - ``hardest only``: only the target task ``D`` (no curriculum).
    """
    one_of("sampler", sampler, SAMPLERS)
    P = np.atleast_2d(P)
    R, D = P.shape
    if sampler == "uniform":
        return np.full((R, D), 1.0 / D)
    if sampler == "p(1-p)":
        w = P * (1.0 - P)
        w = np.where(w.sum(axis=1, keepdims=True) > 0, w, 1.0)
        return w / w.sum(axis=1, keepdims=True)
    q = np.zeros((R, D))
    if sampler == "hardest only":
        q[:, -1] = 1.0
        return q
    below = P < mastery
    first = np.where(below.any(axis=1), below.argmax(axis=1), D - 1)
    q[np.arange(R), first] = 1.0
    return q


@dataclass
class CurriculumRun:
    """Results of :func:`run_curriculum` for ``R`` runs: samples to mastery, successes (updates), the run-average
    bits per sample (RL: the entropy bound ``H(P_d)`` of the sampled task's outcome; SL: the label's surprisal
    ``-log2 P_d``), the run-average error rate of the sampled tasks (``1 - sum_d q_d P_d`` per sample: the share of
    samples that fail: counted exactly for RL, in expectation for SL) and, per update event, the samples so far and the hardest task's pass rate."""

    samples: np.ndarray
    updates: np.ndarray
    mean_bits_per_sample: np.ndarray
    trace_samples: np.ndarray  # (events + 1, R)
    trace_hardest: np.ndarray  # (events + 1, R)
    mean_error_rate: np.ndarray | None = None  # (R,) expected share of failing samples over the run

    def hardest_at(self, grid):
        """Pass rate of the hardest task at the sample counts ``grid`` (R x len(grid)), from the step traces."""
        out = np.empty((self.samples.size, len(grid)))
        for r in range(self.samples.size):
            idx = np.searchsorted(self.trace_samples[:, r], grid, side="right") - 1
            out[r] = self.trace_hardest[np.clip(idx, 0, None), r]
        return out


def run_curriculum(mode, sampler, V, D, lr, mastery, rngs, block=512, max_events=10**6):
    """Train the shared task-family learner with ``mode`` (``"RL"`` or ``"SL"``) and a task ``sampler`` until the
    hardest task's pass rate reaches ``mastery`` (then every task has; ``P_d`` falls with ``d``).

    One run per generator in ``rngs``; a run consumes only its own stream, in order, so its result does not depend
    on how many runs are batched together. RL is simulated event by event (exact): between two successes the state is
    fixed, the waiting time is geometric with rate ``s = sum_d q_d P_d``, and the success is on task ``d`` with
    probability ``q_d P_d / s``. SL takes one step per sample on a task drawn from ``q``.
    """
    one_of("mode", mode, MODES)
    one_of("sampler", sampler, SAMPLERS)
    V = integer("V", V, minimum=2)
    D = integer("D", D, minimum=1)
    lr = real("lr", lr, minimum=0, open_low=True)
    mastery = probability("mastery", mastery, open_low=True, open_high=True)
    rngs = generators("rngs", rngs)
    R = len(rngs)
    gaps = np.zeros((R, D))
    samples = np.zeros(R)
    updates = np.zeros(R, dtype=np.int64)
    bits = np.zeros(R)
    errors = np.zeros(R)
    tr_s, tr_h = [samples.copy()], [task_pass_rates(gaps, V)[:, -1].copy()]
    positions = np.arange(D)
    u = np.empty((R, 0, 2))
    t = 0
    active = task_pass_rates(gaps, V)[:, -1] < mastery
    while active.any():
        if t >= max_events:
            raise ParameterError(f"mastery={mastery!r} not reached within max_events={max_events}")
        if t % block == 0:  # next block of each run's own stream
            u = np.stack([1.0 - rng.random((block, 2)) for rng in rngs])  # in (0, 1]
        u1, u2 = u[:, t % block, 0], u[:, t % block, 1]
        P = task_pass_rates(gaps, V)
        q = sampler_weights(sampler, P, mastery)
        if mode == "RL":
            w = q * P
            s = w.sum(axis=1)
            with np.errstate(divide="ignore"):
                wait = np.maximum(1.0, np.ceil(np.log(u1) / np.log1p(-np.minimum(s, 1.0))))
            rate = np.sum(q * info.binary_entropy(np.clip(P, 0.0, 1.0)), axis=1)
            cum = np.cumsum(w, axis=1)
            d = np.minimum((cum < (u2 * s)[:, None]).sum(axis=1), D - 1)
        else:
            wait = np.ones(R)
            rate = np.sum(q * -np.log2(P), axis=1)
            cum = np.cumsum(q, axis=1)
            d = np.minimum((cum < u2[:, None]).sum(axis=1), D - 1)
        wait = np.where(active, wait, 0.0)
        bits += wait * rate
        if mode == "RL":  # the samples before the success all failed
            errors += np.where(active, wait - 1.0, 0.0)
        else:  # SL sees the label either way: count the chance that the model would have failed the sampled task
            errors += wait * (1.0 - np.minimum(np.sum(q * P, axis=1), 1.0))
        samples += wait
        upd = (positions[None, :] <= d[:, None]) & active[:, None]
        gaps = gaps + np.where(upd, sl_increment(gaps, V, lr), 0.0)
        updates += active
        active = task_pass_rates(gaps, V)[:, -1] < mastery
        tr_s.append(samples.copy())
        tr_h.append(task_pass_rates(gaps, V)[:, -1].copy())
        t += 1
    return CurriculumRun(samples, updates, bits / samples, np.array(tr_s), np.array(tr_h), errors / samples)
