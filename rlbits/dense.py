"""Dense signals on a T-step chain task: process rewards, value functions and a proxy (chapter 10).

Introduced in chapter 10, "Value functions, process rewards and judges".

The task: an episode is a chain of ``T`` steps; step ``t`` is right with probability ``p_t = sigmoid(theta_t)``, the
steps are independent, and the episode passes only if every step is right, so the pass rate is ``J = prod_t p_t``.
The policy has one logit per step and is trained by REINFORCE with learning rate ``alpha`` from one of three signals:

- ``outcome``: the episode's pass/fail reward ``R = prod_t x_t`` (``x_t`` = 1 if step t was right), no baseline.
  On a pass every logit moves by ``alpha * (1 - p)``; on a fail nothing moves. So all logits stay equal, the number
  of passes needed to reach a target is deterministic, and the episodes between passes are geometric: the run is
  simulated exactly, event by event (:func:`outcome_episodes`).
- ``value``: the same outcome reward with a learned value function ``v_t`` (the chance of passing from step t with
  all earlier steps right). Step t's advantage is the TD error ``x_t v_{t+1} - v_t`` (``v_T = 1``, and a failed prefix
  has value 0), and the rollout stops at the first failure, where the value is known to be 0: the early estimate of
  the outcome that saves the compute of the rest of the rollout (:func:`value_episodes`).
- ``process``: a per-step process reward ``x_t`` for each step, no baseline (:func:`process_episodes`).

Each run stops when the exact pass rate ``J`` reaches ``target``. Random streams: one generator per run, drawn in
chunks in order, so a run's result does not depend on how many runs are batched together.

:func:`goodhart_flow` is the chapter's exploitable proxy: a per-step softmax over right / "hack" / wrong moves
trained by the expected policy gradient of a proxy feature that rewards hacks a little more than right moves.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, logit, softmax

from rlbits.validate import integer, probability, real


def _check(T, p0, alpha, target):
    T = integer("T", T, minimum=1, maximum=10_000)
    p0 = probability("p0", p0, open_low=True, open_high=True)
    alpha = real("alpha", alpha, minimum=0.0, maximum=100.0, open_low=True)
    target = probability("target", target, open_low=True, open_high=True)
    return T, p0, alpha, target


def outcome_schedule(T, p0, alpha, target):
    """Pass rates ``J_k`` before the k-th pass of the outcome learner, until ``J`` reaches ``target``.

    Returns the array ``[J_0, J_1, ..., J_{K-1}]``: ``K`` passes are needed, and the episodes spent waiting for pass
    ``k`` are geometric with success probability ``J_k``. Empty if ``p0**T >= target`` already.
    """
    T, p0, alpha, target = _check(T, p0, alpha, target)
    theta, out = float(logit(p0)), []
    while True:
        p = float(expit(theta))
        J = p**T
        if J >= target:
            return np.array(out)
        out.append(J)
        theta += alpha * (1.0 - p)
        if len(out) > 10**7:
            raise ValueError(f"alpha={alpha!r} is too small to reach target={target!r} in 1e7 passes")


def outcome_mean_episodes(T, p0, alpha, target):
    """Exact expected episodes to the target for the outcome learner: the sum of ``1/J_k`` over its passes."""
    return float(np.sum(1.0 / outcome_schedule(T, p0, alpha, target)))


def outcome_mean_steps_cut(T, p0, alpha, target):
    """Exact expected steps simulated by the outcome learner when every rollout stops at its first wrong step.

    Stopping there changes nothing else: a failed episode has ``R = 0`` and no update. While all steps are right
    with probability ``p`` (pass rate ``J = p^T``), a failed episode costs ``(S - T J) / (1 - J)`` steps on average,
    ``S = (1 - p^T) / (1 - p)``, and the passing episode costs ``T``.
    """
    J = outcome_schedule(T, p0, alpha, target)
    p = J ** (1.0 / T)
    S = (1.0 - J) / (1.0 - p)
    fail_steps = (S - T * J) / (1.0 - J)
    return float(np.sum((1.0 / J - 1.0) * fail_steps + T))


def outcome_episodes(T, p0, alpha, target, rngs):
    """Episodes to the target for the outcome learner, one run per generator in ``rngs`` (exact, event-driven)."""
    J = outcome_schedule(T, p0, alpha, target)
    return np.array([int(rng.geometric(J).sum()) if J.size else 0 for rng in rngs])


def _chunks(rngs, T, chunk):
    return np.stack([rng.random((chunk, T)) for rng in rngs], axis=1)  # (chunk, runs, T)


def _episodes_to_target(theta, rngs, target, max_episodes, chunk, update, width=None):
    """Run policy-gradient episodes until each run's pass rate ``prod_t sigmoid(theta_t)`` reaches ``target``.

    The shared driver of the simulated learners: ``update(u, p, active)`` applies one episode's update in place, from
    the uniforms ``u`` (runs x ``width``, default T) that decide each step and the current step probabilities ``p``.
    Returns the episode count at which each run first met the target.
    """
    S, T = theta.shape
    done = np.zeros(S, dtype=int)
    active = np.ones(S, dtype=bool)
    log_target = math.log(target)
    n = 0
    while n < max_episodes:
        for u in _chunks(rngs, width or T, chunk):
            p = expit(theta)
            reached = active & (np.log(p).sum(axis=1) >= log_target)
            if reached.any():
                done[reached] = n
                active &= ~reached
                if not active.any():
                    return done
            n += 1
            update(u, p, active)
    raise ValueError(f"max_episodes={max_episodes} reached before the target; raise it or alpha")


def process_episodes(T, p0, alpha, target, rngs, max_episodes=10**6, chunk=512, flip=0.0):
    """Episodes to the target for the process-reward learner (per-step reward ``x_t``), one run per generator.

    ``flip`` > 0 makes the process judge noisy: it reports each step's reward wrong (``1 - x_t``) with probability
    ``flip``, independently. The expected update of a step is then ``(1 - 2 flip) p (1 - p)`` instead of
    ``p (1 - p)``, so the mean-field episodes grow by ``1 / (1 - 2 flip)`` (:func:`ode_episodes`); ``flip`` must be
    below 1/2 (at 1/2 the judge says nothing). With ``flip = 0`` the streams and results are those of the exact judge.
    """
    T, p0, alpha, target = _check(T, p0, alpha, target)
    flip = real("flip", flip, minimum=0.0, maximum=0.45)
    theta = np.full((len(rngs), T), logit(p0))

    if flip == 0.0:
        def update(u, p, active):
            theta[...] += (alpha * active[:, None]) * ((u < p) * (1.0 - p))

        return _episodes_to_target(theta, rngs, target, max_episodes, chunk, update)

    def update_noisy(u, p, active):
        x = u[:, :T] < p
        reward = x ^ (u[:, T:] < flip)  # the judge's report, wrong with probability flip
        theta[...] += (alpha * active[:, None]) * (reward * (x - p))

    return _episodes_to_target(theta, rngs, target, max_episodes, chunk, update_noisy, width=2 * T)


def value_episodes(T, p0, alpha, target, rngs, beta=0.1, max_episodes=10**6, chunk=512):
    """Episodes and simulated steps to the target for the outcome learner with a learned value function.

    The value ``v_t`` (probability of passing given steps ``< t`` right) starts at 0 and is fit by a running
    Monte-Carlo regression ``v_t += beta (R - v_t)`` on the steps reached; the policy uses TD advantages
    ``x_t v_{t+1} - v_t`` and the rollout stops at the first wrong step. Returns ``(episodes, steps)`` arrays.
    """
    T, p0, alpha, target = _check(T, p0, alpha, target)
    beta = real("beta", beta, minimum=0.0, maximum=1.0, open_low=True)
    S = len(rngs)
    theta = np.full((S, T), logit(p0))
    v = np.zeros((S, T + 1))
    v[:, T] = 1.0
    steps = np.zeros(S, dtype=np.int64)
    alive = np.ones((S, T), dtype=bool)

    def update(u, p, active):
        x = u < p
        np.logical_and.accumulate(x[:, :-1], axis=1, out=alive[:, 1:])
        alive[...] &= active[:, None]
        R = alive[:, -1] & x[:, -1]
        theta[...] += (alpha * alive) * (x * v[:, 1:] - v[:, :-1]) * (x - p)
        v[:, :-1] += (beta * alive) * (R[:, None] - v[:, :-1])
        steps[...] += alive.sum(axis=1)
        alive[:, 0] = True

    return _episodes_to_target(theta, rngs, target, max_episodes, chunk, update), steps


def expected_steps_cut(p):
    """Expected steps simulated when a rollout stops at its first wrong step: ``sum_t prod_{s<t} p_s``."""
    p = np.atleast_1d(probability("p", p))
    return float(np.sum(np.concatenate([[1.0], np.cumprod(p)[:-1]])))


def ode_episodes(T, p0, alpha, target, signal, n_grid=20001):
    """Mean-field episodes to the target (all steps equal, gradient replaced by its expectation).

    ``outcome``: dp/dn = alpha p^(T+1) (1-p)^2;  ``process``: dp/dn = alpha p^2 (1-p)^2; integrated from p0 to
    ``target**(1/T)`` by the trapezoid rule on a grid in the logit.
    """
    T, p0, alpha, target = _check(T, p0, alpha, target)
    if signal not in ("outcome", "process"):
        raise ValueError(f"signal={signal!r} is not allowed; choose one of ['outcome', 'process']")
    p_end = target ** (1.0 / T)
    if p_end <= p0:
        return 0.0
    th = np.linspace(logit(p0), logit(p_end), n_grid)
    p = expit(th)
    # dn/dtheta = 1 / (alpha * E[dtheta per episode])
    rate = alpha * (p**T if signal == "outcome" else p) * (1.0 - p)
    return float(np.trapezoid(1.0 / rate, th))


def goodhart_flow(pi0, proxy, n_steps, lr, T=1, true_reward=None):
    """Expected policy-gradient flow of a per-step softmax policy trained on a proxy feature.

    ``pi0``: initial probabilities of the moves (the first move is the right one); ``proxy``: the proxy's score of
    each move; ``true_reward`` (default: 1 for move 0, else 0) is what the outcome checks. The logits follow the
    exact expected gradient ``dz_a = lr * pi_a (proxy_a - mean proxy)`` (the large-batch limit of REINFORCE).
    Returns a dict of arrays over the steps: ``proxy`` (mean proxy score), ``right`` (probability of the right move),
    ``pass_rate`` (``right**T``, a chain of T such steps) and ``pi`` (the policy).
    """
    pi0 = np.asarray(probability("pi0", pi0), dtype=float)
    proxy = np.asarray(proxy, dtype=float)
    if pi0.ndim != 1 or proxy.shape != pi0.shape or abs(pi0.sum() - 1) > 1e-9 or np.any(pi0 == 0):
        raise ValueError(f"pi0={pi0!r} must be a positive probability vector with one entry per proxy score")
    n_steps = integer("n_steps", n_steps, minimum=1, maximum=10**7)
    lr = real("lr", lr, minimum=0.0, open_low=True)
    T = integer("T", T, minimum=1)
    true = np.eye(len(pi0))[0] if true_reward is None else np.asarray(true_reward, dtype=float)
    z = np.log(pi0)
    pis = np.empty((n_steps + 1, len(pi0)))
    for k in range(n_steps + 1):
        pis[k] = pi = softmax(z)
        z = z + lr * pi * (proxy - pi @ proxy)
    right = pis @ true
    return {"proxy": pis @ proxy, "right": right, "pass_rate": right**T, "pi": pis}


def proxy_correlation(pi0, proxy):
    """Correlation, under the policy ``pi0``, between a move's proxy score and its being the right move (move 0).

    Chapter 10's Goodhart section: how good a signal the proxy is at the start of training. ``pi0`` is a probability
    vector over the moves and ``proxy`` their scores; the proxy must not be constant and ``pi0[0]`` must lie in (0, 1).
    """
    pi0 = np.asarray(pi0, dtype=float)
    proxy = np.asarray(proxy, dtype=float)
    if pi0.ndim != 1 or proxy.shape != pi0.shape or abs(pi0.sum() - 1) > 1e-9 or not 0 < pi0[0] < 1:
        raise ValueError(f"pi0={pi0.tolist()!r} must be a probability vector with pi0[0] in (0, 1) and one entry per "
                         f"proxy score (proxy={proxy.tolist()!r})")
    is_right = np.eye(pi0.size)[0]
    mean_f = pi0 @ proxy
    var_f = pi0 @ (proxy - mean_f) ** 2
    if var_f <= 0:
        raise ValueError(f"proxy={proxy.tolist()!r} is constant under pi0: its correlation is undefined")
    cov = pi0 @ ((proxy - mean_f) * (is_right - pi0[0]))
    return cov / math.sqrt(var_f * pi0[0] * (1 - pi0[0]))


def run_chain(T_list, p0, alpha, target, seeds, n_runs, T_value_max, beta=0.1):
    """Chapter 10's experiment: the outcome, process and learned-value learners at every ``T`` in ``T_list``.

    ``seeds`` is a :class:`numpy.random.SeedSequence`; the stream of learner ``j`` at chain length ``T`` is its
    descendant with spawn key ``(j, T)``, and run ``i`` uses that stream's ``i``-th child, so adding runs or chain
    lengths never changes the existing ones. The value learner runs only for
    ``T <= T_value_max``. Returns ``{"outcome": {T: episodes}, "process": {...}, "value": {...},
    "value_steps": {...}}`` with one array entry per run.
    """
    n_runs = integer("n_runs", n_runs, minimum=1)
    learners = ("outcome", "process", "value")
    runs = {"outcome": {}, "process": {}, "value": {}, "value_steps": {}}
    for T in T_list:
        def gens(name):
            key = seeds.spawn_key + (learners.index(name), int(T))
            child = np.random.SeedSequence(seeds.entropy, spawn_key=key)
            return [np.random.default_rng(s) for s in child.spawn(n_runs)]
        runs["outcome"][T] = outcome_episodes(T, p0, alpha, target, gens("outcome"))
        runs["process"][T] = process_episodes(T, p0, alpha, target, gens("process"))
        if T <= T_value_max:
            runs["value"][T], runs["value_steps"][T] = value_episodes(T, p0, alpha, target, gens("value"), beta=beta)
    return runs
