"""The gradient noise scale of a softmax bigram model on a language of known entropy (chapter 4).

The model is a table of logits ``W`` (K x K) on the Markov language of :mod:`rlbits.language`; the loss of one
example (context ``c``, next token ``y``) is ``-ln softmax(W[c])[y]`` (nats). Its gradient touches one row:
``g = e_c (q_c - e_y)^T`` with ``q_c = softmax(W[c])``. Because the language is known, the gradient statistics are
exact (:func:`exact_gradient_stats`):

- the mean gradient ``G``, row ``s``: ``pi_s (q_s - P_s)``;
- ``E|g|^2 = sum_s pi_s (|q_s|^2 - 2 q_s . P_s + 1)`` and ``tr Sigma = E|g|^2 - |G|^2``;
- the simple noise scale ``B_simple = tr Sigma / |G|^2`` and, with the (block-diagonal) Hessian
  ``H_s = pi_s (diag q_s - q_s q_s^T)``, the noise scale ``B_noise = tr(H Sigma) / G^T H G``
  (McCandlish et al. 2018).

At the optimum ``q_s = P_s``, ``G = 0`` while ``tr Sigma = sum_s pi_s (1 - |P_s|^2)``: a floor that is zero exactly
when every context is deterministic, i.e. when the entropy rate is zero.

The estimator (:func:`two_batch_estimates`) is the unbiased one of McCandlish et al. (2018, appendix A): with
``E|G_B|^2 = |G|^2 + tr Sigma / B`` for a batch of ``B`` i.i.d. examples, two batch sizes give unbiased estimates of
``|G|^2`` and ``tr Sigma``. A batch enters only through its count matrix ``N[c, y]``, so a batch of ``B`` examples
costs ``O(min(B log K, K^2) + K^2)`` (:func:`sample_counts`, :func:`batch_gradient`).

Also here: minibatch SGD from a uniform start until a target excess loss (:func:`sgd_steps_to_target`), the
steps/samples trade-off ``S = S_min (1 + B_crit / B)`` and its fit, and the noise scale of REINFORCE on one prompt
(:func:`reinforce_noise_scale`), the mirror image.
"""

from __future__ import annotations

import math

import numpy as np

from rlbits.language import MarkovLanguage, log_softmax_rows, softmax_rows, stationary_distribution
from rlbits.validate import ParameterError, integer, probability, real


def deterministic_language(K: int, seed: int = 0) -> MarkovLanguage:
    """A zero-entropy control language: the next token is a fixed function of the context, a random cycle through all
    ``K`` tokens (so the chain is irreducible and its stationary distribution uniform)."""
    K = integer("K", K, minimum=2)
    order = np.random.default_rng(integer("seed", seed, minimum=0)).permutation(K)
    P = np.zeros((K, K))
    P[order, np.roll(order, -1)] = 1.0
    return MarkovLanguage(P=P, stationary=stationary_distribution(P), deterministic=np.ones(K, dtype=bool))


def _check_W(lang: MarkovLanguage, W) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    if W.shape != (lang.K, lang.K) or not np.all(np.isfinite(W)):
        raise ParameterError(f"W must be a finite {lang.K} x {lang.K} logit table, got shape {W.shape}")
    return W


def exact_gradient_stats(lang: MarkovLanguage, W, by_context: bool = False) -> dict:
    """Exact gradient statistics of the bigram table ``W`` on ``lang`` (per-example loss in nats).

    Returns ``G2`` (``|G|^2``), ``trace`` (``tr Sigma``), ``b_simple``, ``b_noise`` and ``excess`` (bits). With
    ``by_context``, also ``G2_rows`` and ``trace_rows``: each context's share, so that the sums over contexts of a kind
    (deterministic or random) split both quantities exactly.
    """
    W = _check_W(lang, W)
    Q, P, pi = softmax_rows(W), lang.P, lang.stationary
    D = Q - P
    G2_rows = (pi**2) * (D**2).sum(axis=1)
    qq, qP = (Q**2).sum(axis=1), (Q * P).sum(axis=1)
    second_rows = pi * (qq - 2 * qP + 1.0)  # E|g|^2 split by context
    trace_rows = second_rows - G2_rows
    # Hessian block s: pi_s A_s, A_s = diag(q_s) - q_s q_s^T; v^T A v = sum_i q_i (v_i - q.v)^2, the variance of v
    # under q (computed in that form: no cancellation, never negative).
    G = pi[:, None] * D
    gHg = float((pi * (Q * (G - (Q * G).sum(axis=1, keepdims=True)) ** 2).sum(axis=1)).sum())
    # E_y[v^T A v] with v = q - e_y: sum_i q_i E[v_i^2] - E[(q.v)^2]
    Ev2 = Q**2 - 2 * Q * P + P
    Eqv2 = qq**2 - 2 * qq * qP + (P * Q**2).sum(axis=1)
    tr_HEgg = float((pi**2 * ((Q * Ev2).sum(axis=1) - Eqv2)).sum())
    G2, trace = float(G2_rows.sum()), float(trace_rows.sum())
    out = {
        "G2": G2,
        "trace": trace,
        "b_simple": trace / G2 if G2 > 0 else math.inf,
        "b_noise": (tr_HEgg - gHg) / gHg if gHg > 0 else math.inf,
        "excess": lang.excess_loss(W),
    }
    if by_context:
        out["G2_rows"], out["trace_rows"] = G2_rows, trace_rows
    return out


def trace_floor(lang: MarkovLanguage) -> float:
    """``tr Sigma`` at the optimum (``q_s = P_s``): ``sum_s pi_s (1 - |P_s|^2)``, zero iff the entropy rate is zero."""
    return float(lang.stationary @ (1.0 - (lang.P**2).sum(axis=1)))


def joint_distribution(lang: MarkovLanguage) -> np.ndarray:
    """The distribution of one (context, next token) pair, flattened: ``pi_c P[c, y]`` at index ``c K + y``."""
    return (lang.stationary[:, None] * lang.P).ravel()


def sample_counts(rng: np.random.Generator, joint: np.ndarray, batch: int,
                  cdf: np.ndarray | None = None) -> np.ndarray:
    """The count matrix ``N[c, y]`` of a batch of ``batch`` i.i.d. pairs, shape (K, K).

    Small batches invert the cumulative ``cdf`` of ``joint`` at ``batch`` uniforms (pass ``cdf`` to save the
    cumulative sum); batches larger than the number of cells draw one multinomial vector instead, so a batch costs
    ``O(min(batch log K, K^2) + K^2)``. Both are exact draws of the same distribution.
    """
    batch = integer("batch", batch, minimum=1)
    if cdf is None and batch <= joint.size:
        cdf = np.cumsum(joint)
    return _counts(rng, joint, batch, cdf, int(round(math.sqrt(joint.size))))


def _counts(rng: np.random.Generator, joint: np.ndarray, batch: int, cdf: np.ndarray, K: int) -> np.ndarray:
    """:func:`sample_counts` without its checks, for the SGD loops, which check once per run (the checks cost
    about as much as the draw at chapter 4's sizes)."""
    if batch > joint.size:
        return rng.multinomial(batch, joint).reshape(K, K).astype(np.float64)
    idx = np.minimum(cdf.searchsorted(rng.random(batch) * cdf[-1], side="right"), joint.size - 1)
    return np.bincount(idx, minlength=joint.size).reshape(K, K).astype(np.float64)


def batch_gradient(Q: np.ndarray, N: np.ndarray) -> np.ndarray:
    """The mean gradient of a batch with count matrix ``N``, for predictions ``Q = softmax(W)``:
    row ``c`` is ``(n_c q_c - N_c) / B`` with ``n_c`` the row count and ``B`` the batch size."""
    if Q.shape != N.shape:
        raise ParameterError(f"counts of shape {N.shape} do not match predictions of shape {Q.shape}")
    B = N.sum()
    if B <= 0:
        raise ParameterError("the batch is empty")
    return _gradient(Q, N, B)


def _gradient(Q: np.ndarray, N: np.ndarray, B: float) -> np.ndarray:
    """:func:`batch_gradient` without its checks, given the batch size ``B`` (the sum of ``N``)."""
    return (np.add.reduce(N, axis=-1, keepdims=True) * Q - N) / B  # N.sum(...) without the method's wrapper


def two_batch_estimates(sq_small, sq_big, b_small: int, b_big: int) -> dict:
    """Unbiased estimates of ``|G|^2`` and ``tr Sigma`` from mean squared batch-gradient norms at two batch sizes
    (McCandlish et al. 2018, appendix A):

    ``|G|^2 ~ (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)``,
    ``tr Sigma ~ (|G_small|^2 - |G_big|^2) / (1 / B_small - 1 / B_big)``.

    ``sq_small`` and ``sq_big`` may be arrays (one value per independent batch); the estimates use their means.
    ``b_simple`` is the ratio of the two estimates (consistent, not unbiased).
    """
    b_small = integer("b_small", b_small, minimum=1)
    b_big = integer("b_big", b_big, minimum=b_small + 1)
    s, b = float(np.mean(sq_small)), float(np.mean(sq_big))
    G2 = (b_big * b - b_small * s) / (b_big - b_small)
    trace = (s - b) / (1.0 / b_small - 1.0 / b_big)
    return {"G2": G2, "trace": trace, "b_simple": trace / G2 if G2 > 0 else math.inf}


def estimate_noise_scale(rng: np.random.Generator, lang: MarkovLanguage, W, b_small: int, b_big: int,
                         n_batches: int) -> dict:
    """The two-batch estimator at parameters ``W`` from ``n_batches`` independent batches of each size; also returns
    the standard errors of the two estimates (``G2_se``, ``trace_se``) from the spread over the independent batch
    pairs, and ``b_simple_se``, the delta-method standard error of their ratio (with their covariance). Near the end of
    training ``|G|^2`` is small beside its standard error, and the ratio's error is large (chapter 4 shows it)."""
    W = _check_W(lang, W)
    n_batches = integer("n_batches", n_batches, minimum=2)
    Q, joint = softmax_rows(W), joint_distribution(lang)
    cdf = np.cumsum(joint)
    sq = np.empty((2, n_batches))
    for j, B in enumerate((b_small, b_big)):
        for i in range(n_batches):
            sq[j, i] = float((batch_gradient(Q, sample_counts(rng, joint, B, cdf)) ** 2).sum())
    out = two_batch_estimates(sq[0], sq[1], b_small, b_big)
    # per-batch-pair estimates give the standard errors of the means
    g_each = (b_big * sq[1] - b_small * sq[0]) / (b_big - b_small)
    t_each = (sq[0] - sq[1]) / (1.0 / b_small - 1.0 / b_big)
    out["G2_se"] = float(g_each.std(ddof=1) / math.sqrt(n_batches))
    out["trace_se"] = float(t_each.std(ddof=1) / math.sqrt(n_batches))
    cov = float(np.cov(g_each, t_each, ddof=1)[0, 1]) / n_batches
    g, t = out["G2"], out["trace"]
    var = (out["trace_se"] / g) ** 2 + (t * out["G2_se"] / g**2) ** 2 - 2 * t * cov / g**3 if g != 0 else math.inf
    out["b_simple_se"] = math.sqrt(max(var, 0.0)) if math.isfinite(var) else math.inf
    return out


def lr_schedule(step, lr: float, decay_steps: float | None):
    """Learning rate at 1-based ``step``: constant ``lr``, or ``lr / (1 + step / decay_steps)`` (a 1/t decay, under
    which SGD converges instead of settling in a noise ball)."""
    return lr if decay_steps is None else lr / (1.0 + step / decay_steps)


def sgd_path(rng: np.random.Generator, lang: MarkovLanguage, batch: int, lr: float, checkpoints,
             decay_steps: float | None = None) -> list:
    """Minibatch SGD on the logits from ``W = 0`` (uniform predictions), learning rate :func:`lr_schedule`; returns
    copies of ``W`` after each step count in ``checkpoints`` (strictly increasing non-negative integers)."""
    batch = integer("batch", batch, minimum=1)
    lr = real("lr", lr, minimum=0.0, open_low=True)
    if decay_steps is not None:
        decay_steps = real("decay_steps", decay_steps, minimum=0.0, open_low=True)
    checkpoints = [integer("checkpoint", c, minimum=0) for c in checkpoints]
    if any(b <= a for a, b in zip(checkpoints, checkpoints[1:])):
        raise ParameterError("checkpoints must be strictly increasing")
    joint = joint_distribution(lang)
    cdf = np.cumsum(joint)
    W = np.zeros((lang.K, lang.K))
    out, step = [], 0
    B = float(batch)  # the sum of every count matrix drawn
    for c in checkpoints:
        while step < c:
            step += 1
            N = _counts(rng, joint, batch, cdf, lang.K)
            W -= lr_schedule(step, lr, decay_steps) * _gradient(softmax_rows(W), N, B)
        out.append(W.copy())
    return out


def sgd_steps_to_target(rng: np.random.Generator, lang: MarkovLanguage, batch: int, lr: float, target: float,
                        max_steps: int) -> int:
    """Minibatch SGD with constant learning rate ``lr`` from ``W = 0`` until the exact excess loss (bits),
    ``sum_c pi_c KL(P_c || q_c)``, first falls to ``target``; returns the number of steps, or ``-1`` if it has not
    after ``max_steps``."""
    batch = integer("batch", batch, minimum=1)
    lr = real("lr", lr, minimum=0.0, open_low=True)
    target = real("target", target, minimum=0.0, open_low=True)
    max_steps = integer("max_steps", max_steps, minimum=1)
    K = lang.K
    joint = joint_distribution(lang)
    cdf = np.cumsum(joint)
    with np.errstate(divide="ignore"):
        logP = np.where(lang.P > 0, np.log(np.where(lang.P > 0, lang.P, 1.0)), 0.0)
    A = joint.reshape(K, K) / math.log(2.0)  # pi_c P_c(y), for the excess loss in bits
    W = np.zeros((K, K))
    Q = softmax_rows(W)
    B = float(batch)  # the sum of every count matrix drawn
    for step in range(1, max_steps + 1):
        W -= lr * _gradient(Q, _counts(rng, joint, batch, cdf, K), B)
        logq = log_softmax_rows(W)
        if not np.logical_and.reduce(np.isfinite(logq), axis=None):  # .all() and .sum() without their wrappers
            return -1
        if np.add.reduce(A * (logP - logq), axis=None) <= target:
            return step
        Q = np.exp(logq)
    return -1


def sgd_total_steps_to_target(rngs: list, lang: MarkovLanguage, batch: int, lr: float, target: float,
                              budget: int) -> int:
    """The runs of :func:`sgd_steps_to_target` (one per generator in ``rngs``) made in turn on a shared budget of
    steps: run ``r`` may take ``max(budget - (steps of the runs before it), 1)`` steps. Returns the total steps of
    all runs, or ``-1`` as soon as one fails (chapter 4's search scores a learning rate by this total).

    The runs advance together, one array of tables, so each step's numpy calls serve every run: each run draws
    from its own generator, and every operation acts on its own table alone (elementwise, or reduced along its own
    rows or its own cells), so each run follows exactly the trajectory it follows alone. A run stops when it
    reaches the target; the whole stops as soon as the runs in turn are known to overrun the budget, counting a run
    still training as needing one more step than it has taken (a rate that cannot reach the target then fails
    after about ``budget / len(rngs)`` steps of all runs, not ``budget`` steps of the first).
    """
    batch = integer("batch", batch, minimum=1)
    lr = real("lr", lr, minimum=0.0, open_low=True)
    target = real("target", target, minimum=0.0, open_low=True)
    budget = integer("budget", budget, minimum=1)
    rngs = list(rngs)
    if not rngs:
        raise ParameterError("rngs is empty; allowed: at least one numpy Generator")
    K, n = lang.K, len(rngs)
    joint = joint_distribution(lang)
    cdf = np.cumsum(joint)
    with np.errstate(divide="ignore"):
        logP = np.where(lang.P > 0, np.log(np.where(lang.P > 0, lang.P, 1.0)), 0.0)
    A = joint.reshape(K, K) / math.log(2.0)  # pi_c P_c(y), for the excess loss in bits
    active = list(range(n))  # runs still training, in order; row k of W is run active[k]
    W = np.zeros((n, K, K))
    Q = softmax_rows(W)
    B = float(batch)
    result: list[int | None] = [None] * n  # steps to the target, -1 for a failure, None while running

    def outcome(step):
        """The total if every run has finished within its share, -1 once the runs in turn must fail, None while
        undecided. A run still training after ``step`` steps needs at least ``step + 1``; failing is monotone in
        the runs' steps (a longer run shrinks the shares after it), so if these lower bounds fail, the runs fail."""
        total, running = 0, False
        for r in range(n):
            cap = max(budget - total, 1)
            need = step + 1 if result[r] is None else result[r]
            running |= result[r] is None
            if need < 0 or need > cap:
                return -1
            total += need
        return None if running else total

    offsets = np.repeat(np.arange(n) * joint.size, batch)  # each run's block of cells in one count
    for step in range(1, budget + 1):
        if batch > joint.size:
            N = np.stack([rngs[r].multinomial(batch, joint) for r in active]).astype(np.float64)
        else:  # every run's uniforms from its own generator, one search and one count for all
            u = np.concatenate([rngs[r].random(batch) for r in active]) * cdf[-1]
            idx = np.minimum(cdf.searchsorted(u, side="right"), joint.size - 1)
            idx += offsets
            N = np.bincount(idx, minlength=len(active) * joint.size).astype(np.float64)
        N = N.reshape(len(active), K, K)
        W -= lr * _gradient(Q, N, B)
        logq = log_softmax_rows(W)
        cells = logq.reshape(len(active), -1)
        finite = np.logical_and.reduce(np.isfinite(cells), axis=1)
        excess = np.add.reduce((A * (logP - logq)).reshape(len(active), -1), axis=1)  # each run's own cells
        done = ~finite | (excess <= target)
        if done.any():
            for k in np.flatnonzero(done):
                result[active[k]] = step if finite[k] else -1
            keep = ~done
            active = [r for r, k in zip(active, keep) if k]
            W, logq = W[keep], logq[keep]
            offsets = offsets[: len(active) * batch]
        decided = outcome(step)
        if decided is not None:
            return decided
        Q = np.exp(logq)
    return -1  # not reached: the budget decides by its last step


def tradeoff_experiment(seeds: np.random.SeedSequence, lang: MarkovLanguage, batches, lrs, target: float,
                        n_seeds: int, max_steps: int) -> dict:
    """Steps to a target excess loss for each batch size, with the learning rate tuned on the grid ``lrs``.

    Each (batch, lr, seed) run has its own stream, spawned from ``seeds`` in that order, so adding batch sizes or
    seeds does not change the other runs. A (batch, lr) pair scores the mean steps over its ``n_seeds`` runs
    (infinite if one fails within ``max_steps``).

    The tuning is a local search on the (sorted) grid: starting from the rate closest to the previous batch size's
    best, it steps up the grid while the score improves, then down likewise (steps to a target are unimodal in the
    learning rate here: too small is slow, too large stalls in a noise ball). Runs stop as soon as they can no
    longer beat the best score so far (branch and bound), which changes the cost, never the scores compared; a
    pair's seeds advance together (:func:`sgd_total_steps_to_target`).
    Returns ``steps`` (batches x lrs: mean steps; ``inf`` if not evaluated, failed, or beaten), ``evaluated`` (the
    pairs tried), ``best_steps`` and ``best_lr`` per batch size.
    """
    batches = [integer("batch", b, minimum=1) for b in batches]
    lrs = np.sort([real("lr", lr, minimum=0.0, open_low=True) for lr in lrs])
    n_seeds = integer("n_seeds", n_seeds, minimum=1)
    max_steps = integer("max_steps", max_steps, minimum=1)
    streams = seeds.spawn(len(batches))
    steps = np.full((len(batches), len(lrs)), np.inf)
    evaluated = np.zeros((len(batches), len(lrs)), dtype=bool)
    best_steps, best_lr = np.full(len(batches), np.inf), np.full(len(batches), np.nan)
    start = float(np.log(lrs[0]))
    for i, B in enumerate(batches):
        per_lr = streams[i].spawn(len(lrs))

        def score(j):
            evaluated[i, j] = True
            cap = max_steps if not np.isfinite(best_steps[i]) else int(math.ceil(best_steps[i] * n_seeds))
            total = sgd_total_steps_to_target([np.random.default_rng(r) for r in per_lr[j].spawn(n_seeds)], lang,
                                              B, lrs[j], target, cap)
            if total < 0:
                return math.inf
            steps[i, j] = total / n_seeds
            if steps[i, j] < best_steps[i]:
                best_steps[i], best_lr[i] = steps[i, j], lrs[j]
                return steps[i, j]
            return math.inf

        j0 = int(np.argmin(np.abs(np.log(lrs) - start)))
        score(j0)
        for direction in (1, -1):
            j = j0 + direction
            while 0 <= j < len(lrs):
                had_best = np.isfinite(best_steps[i])
                if not np.isfinite(score(j)) and had_best:
                    break  # no improvement: the optimum lies behind us
                j += direction
        if np.isfinite(best_steps[i]):
            start = math.log(best_lr[i])
    return {"steps": steps, "evaluated": evaluated, "best_steps": best_steps, "best_lr": best_lr}


def tradeoff_steps(B, s_min: float, b_crit: float):
    """McCandlish et al.'s trade-off: steps ``S = S_min (1 + B_crit / B)``; samples are ``B S = E_min (1 + B / B_crit)``
    with ``E_min = S_min B_crit``."""
    B = np.asarray(B, dtype=float)
    if np.any(B <= 0):
        raise ParameterError(f"B={B!r} must be positive")
    return s_min * (1.0 + b_crit / B)


def fit_tradeoff(B, steps) -> dict:
    """Fit ``S = S_min (1 + B_crit / B)`` to measured steps, by least squares on relative errors (``S`` is linear in
    ``1/B``, weighted by ``1/S``). Returns ``s_min``, ``b_crit`` and ``e_min = s_min b_crit``, and ``b_crit_se``: the
    standard error of ``B_crit`` from the fit's residuals (the least-squares covariance of ``S_min`` and the slope,
    carried to their ratio by the delta method; ``nan`` with only two points)."""
    B, S = np.asarray(B, dtype=float), np.asarray(steps, dtype=float)
    if B.shape != S.shape or B.size < 2 or np.any(B <= 0) or np.any(S <= 0):
        raise ParameterError("fit_tradeoff needs at least two positive (B, steps) pairs of equal length")
    A = np.stack([np.ones_like(B), 1.0 / B], axis=1) / S[:, None]
    (s_min, slope), *_ = np.linalg.lstsq(A, np.ones_like(S), rcond=None)
    b_crit = float(slope / s_min)
    se = math.nan
    if B.size > 2:
        resid = np.ones_like(S) - A @ np.array([s_min, slope])
        cov = float(resid @ resid) / (B.size - 2) * np.linalg.inv(A.T @ A)
        grad = np.array([-slope / s_min**2, 1.0 / s_min])  # d(slope / s_min)
        se = float(math.sqrt(max(grad @ cov @ grad, 0.0)))
    return {"s_min": float(s_min), "b_crit": b_crit, "e_min": float(slope), "b_crit_se": se}


def reinforce_noise_scale(p):
    """The simple noise scale of one-sample REINFORCE (0/1 reward, no baseline) on one prompt with one correct
    answer, for a tabular softmax at pass rate ``p``: the gradient is ``r (e_A - q)``, so ``|G|^2 = p^2 |e_* - q|^2``
    and ``tr Sigma = p (1 - p) |e_* - q|^2``, whatever the wrong answers' probabilities: ``(1 - p) / p``."""
    p = np.asarray(probability("p", p, open_low=True), dtype=float)
    out = (1.0 - p) / p
    return float(out) if out.ndim == 0 else out
