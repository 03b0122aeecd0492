"""One outcome per episode against everything it shows: a world model against model-free RL (chapter 13).

A small environment, a world model, and a model-based learner against a model-free one.

Introduced in chapter 13, "Learning from everything you see".

The environment is a *combination lock* with slips: states ``0..depth``, start ``0``, goal ``depth`` (absorbing).
In every state one action (drawn at random per state) moves one step on; each other action sends the agent back to
an earlier state (``0..s``, drawn once per state-action pair when the lock is built). With probability ``slip`` any
action instead sends the agent back to a uniformly drawn state ``0..s`` (a slip never moves it forward).
An episode lasts at most ``horizon`` steps and ends with one outcome: goal reached or not.

Two streams of feedback come out of an episode:

- the outcome, a Bernoulli(``p``) variable for a policy of success probability ``p``: at most ``H(p)`` bits;
- the observations: the next state after every action. A world model that predicts them (a Dirichlet(``alpha``)
  predictive per state-action pair) pays a code length of ``-log2 Q(s')`` bits per step; the true kernel pays
  ``-log2 P(s')``. The *excess* code length ``log2 P(s')/Q(s')`` (its expectation is ``KL(P || Q)``) is what the
  observation teaches about the world; the rest of the cross-entropy is irreducible noise (the slips).

Learners (batched over independent environments and seeds, one random stream per seed):

- :func:`run_model_free`: REINFORCE on a tabular softmax policy from the outcome only, with a running-mean baseline;
  a passive world model is fitted alongside to measure the bits its observations carried (the learner ignores them).
- :func:`run_model_based`: the same world model, plus planning: finite-horizon value iteration on the model, with
  state-action pairs seen fewer than ``known`` times treated optimistically as leading to the goal (R-max).

:func:`success_probability` computes the exact success probability of any policy by dynamic programming, so the
outcome's entropy ``H(p)`` per episode is exact, not estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import softmax
from scipy.stats import binom

from rlbits import info
from rlbits.validate import ParameterError, integer, probability, real


def make_lock(rng, depth: int, n_actions: int, slip: float) -> np.ndarray:
    """The transition kernel ``P[s, a, s']`` of a combination lock with slips (see the module docstring)."""
    depth = integer("depth", depth, minimum=1)
    n_actions = integer("n_actions", n_actions, minimum=2)
    slip = probability("slip", slip, open_high=True)
    n = depth + 1
    P = np.zeros((n, n_actions, n))
    right = rng.integers(n_actions, size=depth)
    for s in range(depth):
        for a in range(n_actions):
            if a == right[s]:
                P[s, a, s + 1] = 1.0
            else:
                P[s, a, rng.integers(s + 1)] = 1.0
    P[depth, :, depth] = 1.0  # the goal is absorbing
    for s in range(depth):  # a slip sends the agent back to a uniformly drawn state 0..s, never forward
        P[s] = (1 - slip) * P[s]
        P[s, :, : s + 1] += slip / (s + 1)
    return P


def make_locks(seeds, depth: int, n_actions: int, slip: float) -> np.ndarray:
    """One lock per seed (each from its own stream): shape ``(m, n, A, n)``."""
    return np.stack([make_lock(np.random.default_rng(s), depth, n_actions, slip) for s in seeds])


def _check_kernel(P):
    P = np.asarray(P, dtype=float)
    if P.ndim != 4 or P.shape[1] != P.shape[3] or not np.allclose(P.sum(axis=3), 1.0) or np.any(P < 0):
        raise ParameterError("P must have shape (m, n, A, n) with rows that are probability distributions")
    return P


def success_probability(P, policy, horizon: int) -> np.ndarray:
    """Exact probability of reaching the goal (the last state) from state 0 within ``horizon`` steps.

    ``policy``: stochastic stationary, shape ``(m, n, A)``; or deterministic and time-dependent, integer actions
    of shape ``(horizon, m, n)``. Returns shape ``(m,)``.
    """
    P = _check_kernel(P)
    horizon = integer("horizon", horizon, minimum=1)
    m, n, A, _ = P.shape
    policy = np.asarray(policy)
    d = np.zeros((m, n))
    d[:, 0] = 1.0
    if policy.dtype.kind in "iu":
        if policy.shape != (horizon, m, n):
            raise ParameterError(f"a deterministic policy must have shape {(horizon, m, n)}, not {policy.shape}")
        rows = np.arange(m)[:, None]
        cols = np.arange(n)[None, :]
        for t in range(horizon):
            M = P[rows, cols, policy[t]]  # (m, n, n)
            d = np.einsum("ms,mst->mt", d, M)
    else:
        if policy.shape != (m, n, A):
            raise ParameterError(f"a stochastic policy must have shape {(m, n, A)}, not {policy.shape}")
        M = np.einsum("msa,msat->mst", policy, P)
        for _ in range(horizon):
            d = np.einsum("ms,mst->mt", d, M)
    return d[:, -1]


def optimal_success(P, horizon: int) -> np.ndarray:
    """The best success probability any policy can reach (finite-horizon value iteration on the true kernel)."""
    P = _check_kernel(P)
    return plan(P, horizon)[1]


def plan(P_hat, horizon: int):
    """Finite-horizon value iteration toward the goal (last state) on the kernel ``P_hat`` (m, n, A, n).

    Returns ``(actions, value0)``: greedy actions of shape ``(horizon, m, n)`` (ties to the lowest index) and the
    planned success probability from state 0, shape ``(m,)``.
    """
    horizon = integer("horizon", horizon, minimum=1)
    m, n, A, _ = P_hat.shape
    V = np.zeros((m, n))
    V[:, -1] = 1.0
    actions = np.empty((horizon, m, n), dtype=np.intp)
    for t in range(horizon - 1, -1, -1):
        Q = np.einsum("msat,mt->msa", P_hat, V)
        actions[t] = Q.argmax(axis=2)
        V = Q.max(axis=2)
        V[:, -1] = 1.0
    return actions, V[:, 0]


def predictive(counts, alpha: float) -> np.ndarray:
    """The Dirichlet(``alpha``) predictive distribution of the next state for each state-action pair."""
    alpha = real("alpha", alpha, minimum=0, open_low=True)
    counts = np.asarray(counts, dtype=float)
    return (counts + alpha) / (counts.sum(axis=-1, keepdims=True) + alpha * counts.shape[-1])


@dataclass
class RunLog:
    """Per-episode measurements of a batch of runs (arrays of shape ``(episodes, m)``).

    ``success``: exact success probability of the policy used in the episode; ``outcome_bits``: its ``H(p)``;
    ``excess_bits``: the world model's expected excess code length on the episode's observations,
    ``sum_t KL(P(.|s_t,a_t) || Q_t(.|s_t,a_t))``; ``excess_bits_realised``: the realised one,
    ``sum_t log2 P(s'_t)/Q_t(s'_t)``; ``ce_bits``: the model's cross-entropy ``sum_t -log2 Q_t(s'_t)``;
    ``noise_bits``: the true kernel's ``sum_t H(P(.|s_t,a_t))``, the part nobody can learn; ``steps``: steps taken;
    ``reached``: whether the goal was reached; ``info_bits``: the information the episode's observations gave about
    the lock's structure, the drop in the entropy of its exact posterior (:func:`lock_posterior_entropy`);
    ``info_right_bits``: the part of it about the right actions, what a policy needs.
    """

    success: np.ndarray
    outcome_bits: np.ndarray
    excess_bits: np.ndarray
    excess_bits_realised: np.ndarray
    ce_bits: np.ndarray
    noise_bits: np.ndarray
    steps: np.ndarray
    reached: np.ndarray
    info_bits: np.ndarray
    info_right_bits: np.ndarray


def _sample_index(cum, u):
    """Inverse-CDF sample per row: the number of cumulative sums (all but the last) at or below ``u``."""
    idx = np.zeros(u.shape, dtype=np.intp)
    for j in range(cum.shape[1] - 1):
        idx += u >= cum[:, j]
    return idx


def _run(P, horizon, episodes, seeds, alpha, learner, lr=1.0, baseline_rate=0.1, known=1, track_info=True):
    P = _check_kernel(P)
    horizon = integer("horizon", horizon, minimum=1)
    episodes = integer("episodes", episodes, minimum=1)
    alpha = real("alpha", alpha, minimum=0, open_low=True)
    seeds = list(seeds)
    m, n, A, _ = P.shape
    if len(seeds) != m:
        raise ParameterError(f"{len(seeds)} seeds for {m} environments; allowed: one seed per environment")
    u_all = np.stack([np.random.default_rng(s).random((episodes, horizon, 2)) for s in seeds], axis=1)
    counts = np.zeros((m, n, A, n))
    noise = info.entropy(P, "bits")  # (m, n, A): the irreducible bits of each observation
    logP = np.log2(np.where(P > 0, P, 1.0))
    theta = np.zeros((m, n, A))
    baseline = np.zeros(m)
    rows = np.arange(m)
    goal = n - 1
    slip = float(P[:, 0, :, 0].min())  # the right action leaves state 0 only by a slip, which returns to 0
    if not np.allclose(P[:, 0, :, 0].min(axis=1), slip):
        raise ParameterError("the locks in P must share one slip probability")
    log = {k: np.zeros((episodes, m)) for k in RunLog.__dataclass_fields__}
    h_prev, hr_prev = lock_posterior_entropy(counts, slip) if track_info else (0.0, 0.0)
    for e in range(episodes):
        if learner == "model-free":
            pi = softmax(theta, axis=2)
            log["success"][e] = success_probability(P, pi, horizon)
        else:
            P_hat = predictive(counts, alpha)
            unknown = counts.sum(axis=3) < known
            P_hat[unknown] = 0.0
            P_hat[..., goal] += unknown  # optimism: an untried pair is assumed to lead to the goal
            actions, _ = plan(P_hat, horizon)
            log["success"][e] = success_probability(P, actions, horizon)
        s = np.zeros(m, dtype=np.intp)
        active = np.ones(m, dtype=bool)
        traj_s = np.zeros((horizon, m), dtype=np.intp)
        traj_a = np.zeros((horizon, m), dtype=np.intp)
        traj_on = np.zeros((horizon, m), dtype=bool)
        for t in range(horizon):
            if not active.any():
                break
            u_a, u_s = u_all[e, :, t, 0], u_all[e, :, t, 1]
            if learner == "model-free":
                a = _sample_index(np.cumsum(pi[rows, s], axis=1), u_a)
            else:
                a = actions[t, rows, s]
            p_row = P[rows, s, a]  # (m, n)
            s_next = _sample_index(np.cumsum(p_row, axis=1), u_s)
            c_row = counts[rows, s, a]
            log_q = np.log2(c_row + alpha) - np.log2(c_row.sum(axis=1, keepdims=True) + alpha * n)[:, :1]
            on = active.astype(float)
            h_row = noise[rows, s, a]
            cross = -(p_row * log_q).sum(axis=1)  # H(P) + KL(P || Q), in bits
            log["excess_bits"][e] += on * (cross - h_row)
            log["excess_bits_realised"][e] += on * (logP[rows, s, a, s_next] - log_q[rows, s_next])
            log["ce_bits"][e] += on * -log_q[rows, s_next]
            log["noise_bits"][e] += on * h_row
            log["steps"][e] += on
            counts[rows[active], s[active], a[active], s_next[active]] += 1.0
            traj_s[t], traj_a[t], traj_on[t] = s, a, active
            s = np.where(active, s_next, s)
            active = active & (s != goal)
        reward = (s == goal).astype(float)
        log["reached"][e] = reward
        if track_info:  # the exact posterior over the lock: what the episode's observations told about it
            h_now, hr_now = lock_posterior_entropy(counts, slip)
            log["info_bits"][e], log["info_right_bits"][e] = h_prev - h_now, hr_prev - hr_now
            h_prev, hr_prev = h_now, hr_now
        if learner == "model-free":
            adv = reward - baseline
            for t in range(horizon):
                g = -pi[rows, traj_s[t]]
                g[rows, traj_a[t]] += 1.0
                theta[rows, traj_s[t]] += lr * (adv * traj_on[t])[:, None] * g
            baseline += baseline_rate * (reward - baseline)
    log["outcome_bits"] = info.binary_entropy(np.clip(log["success"], 0.0, 1.0))
    return RunLog(**log)


def run_model_free(P, horizon: int, episodes: int, seeds, *, lr: float = 1.0, baseline_rate: float = 0.1,
                   alpha: float = 0.1) -> RunLog:
    """REINFORCE from the outcome only (tabular softmax ``pi(a|s)``, advantage ``r - b`` with ``b`` a running
    mean of the outcomes, one update per episode with the policy of the episode's start). A passive Dirichlet
    world model is fitted on the same observations to measure what they carried; the learner does not use it."""
    lr = real("lr", lr, minimum=0)
    baseline_rate = real("baseline_rate", baseline_rate, minimum=0, maximum=1)
    return _run(P, horizon, episodes, seeds, alpha, "model-free", lr=lr, baseline_rate=baseline_rate)


def run_model_based(P, horizon: int, episodes: int, seeds, *, alpha: float = 0.1, known: int = 1,
                    track_info: bool = True) -> RunLog:
    """Learn a Dirichlet world model from the observations and plan on it each episode (optimism for pairs seen
    fewer than ``known`` times). The outcome is not used: the model predicts it. ``track_info=False`` skips the
    exact posterior (``info_bits`` stay zero) when only the learning curve is wanted."""
    known = integer("known", known, minimum=1)
    return _run(P, horizon, episodes, seeds, alpha, "model-based", known=known, track_info=bool(track_info))


def episodes_to_reach(success, target) -> np.ndarray:
    """Per run (column), the first episode (1-based) whose policy has success probability >= ``target`` (a
    scalar or one value per run); ``episodes + 1`` if never (a censored value)."""
    success = np.asarray(success, dtype=float)
    hit = success >= np.asarray(target, dtype=float)
    first = np.argmax(hit, axis=0) + 1
    return np.where(hit.any(axis=0), first, success.shape[0] + 1)


def lock_prior_entropy(depth: int, n_actions: int) -> tuple[float, float]:
    """Entropy (bits) of the prior over a lock's structure (:func:`make_lock`): in each state ``s < depth`` the
    right action is uniform over ``n_actions`` and each wrong action's destination uniform over ``0..s``.
    Returns ``(H_structure, H_right_actions)``; the slip probability is known."""
    depth = integer("depth", depth, minimum=1)
    n_actions = integer("n_actions", n_actions, minimum=2)
    h_right = depth * np.log2(n_actions)
    h_wrong = (n_actions - 1) * sum(np.log2(s + 1) for s in range(depth))
    return float(h_right + h_wrong), float(h_right)


def lock_posterior_entropy(counts, slip: float) -> tuple[np.ndarray, np.ndarray]:
    """Entropy (bits) of the exact posterior over a lock's structure given transition counts ``counts[m, s, a, s']``
    under the prior of :func:`make_lock` (slip known). Returns ``(H_structure, H_right_actions)``, shape ``(m,)``.

    In state ``s`` the structure is the right action ``r`` and a destination ``d_a`` in ``0..s`` for every other
    action. The likelihood factorises over actions, so the posterior of ``r`` is ``w_r ∝ L_r(s+1) / M_r`` (``L_a(d)``:
    likelihood of action ``a``'s observations if it leads to ``d``; ``M_a``: its mean over ``d in 0..s``), and given
    ``r`` the wrong destinations are independent with posteriors ``∝ L_a(d)``. Hence
    ``H = sum_s [H(w) + sum_a (1 - w_a) H(d_a | a wrong)]``. The posterior is what an ideal observer who knows how
    locks are built has learned: information about the environment, independent of any learner's smoothing.
    """
    counts = np.asarray(counts, dtype=float)
    slip = probability("slip", slip, open_high=True)
    m, n, A, _ = counts.shape
    H = np.zeros(m)
    H_right = np.zeros(m)
    for s in range(n - 1):
        dests = np.arange(s + 2)  # 0..s wrong, s+1 right
        P = np.zeros((s + 2, n))
        P[dests, dests] = 1 - slip
        P[:, : s + 1] += slip / (s + 1)
        with np.errstate(divide="ignore"):
            logP = np.where(P > 0, np.log(P), -1e300)
        c = counts[:, s]  # (m, A, n)
        ll = np.einsum("man,dn->mad", c, logP)  # (m, A, s+2), nats; -inf-like where impossible
        ll = np.maximum(ll, -1e300)
        wrong = ll[:, :, : s + 1]
        # the posterior over wrong destinations and its log-normaliser from one exp (scipy's softmax and logsumexp
        # would take two passes; logsumexp alone measured 0.9 s of chapter 13's 3.5 s main runs)
        top = wrong.max(axis=2, keepdims=True)
        ew = np.exp(wrong - top)
        z = ew.sum(axis=2)
        h_dest = info.entropy(ew / z[:, :, None], "bits", axis=2)  # (m, A)
        log_M = top[:, :, 0] + np.log(z) - np.log(s + 1)
        w = softmax(ll[:, :, s + 1] - log_M, axis=1)
        h_w = info.entropy(w, "bits", axis=1)
        H += h_w + ((1 - w) * h_dest).sum(axis=1)
        H_right += h_w
    return H, H_right


def outcome_information(p, k: int) -> tuple[float, float]:
    """Mutual information (bits) between a lock and the outcomes of ``k`` episodes of one fixed policy, from
    samples ``p`` of the policy's success probability on locks drawn from the prior.

    Given the lock the outcomes are i.i.d. Bernoulli(``p``), so their number of successes ``K`` is sufficient and
    ``I = H(K) - E H(K | p)``, ``K | p ~ Binomial(k, p)`` and ``K`` the mixture over the samples. Returns the
    Monte-Carlo estimate and its standard error (of the second term; the first is a smooth function of the mean
    mixture, whose error is of the same order)."""
    p = np.asarray(probability("p", p), dtype=float).ravel()
    k = integer("k", k, minimum=1)
    pmf = binom.pmf(np.arange(k + 1)[None, :], k, p[:, None])  # (samples, k + 1)
    cond = info.entropy(pmf, "bits")
    mutual = float(info.entropy(pmf.mean(axis=0), "bits") - cond.mean())
    return mutual, float(cond.std(ddof=1) / np.sqrt(p.size)) if p.size > 1 else float("inf")
