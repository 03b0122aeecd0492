"""Soft labels against one-hot labels: how fast a student learns a teacher's distribution (chapter 11).

A teacher puts probabilities ``q`` (a vector of ``V`` positive entries) on the answers to one prompt. A student sees
either ``n`` one-hot samples ``y ~ q`` or the soft target ``q`` itself. Two students built from counts ``c`` (a
``Multinomial(n, q)`` vector):

- the maximum-likelihood student ``c / n``, whose *reverse* divergence ``KL(c/n || q)`` is finite (its forward
  divergence is infinite whenever an answer was never seen);
- the add-``beta`` student ``(c + beta) / (n + V beta)`` (``beta = 1/2``: Krichevsky-Trofimov, the posterior mean
  under the Jeffreys prior), judged by the *forward* divergence ``KL(q || student)``: its excess cross-entropy on the
  teacher's answers, the loss a distilled model is trained on.

Both expectations are ``(V - 1) / (2 n)`` nats to first order in ``1/n``; :func:`expected_kl_mle` and
:func:`expected_kl_smoothed` give them exactly, as finite sums over the binomial marginals of the counts, and
:func:`sample_kl` measures them by simulation. :func:`train_student` trains a softmax student by SGD on one-hot
labels, on soft targets, or by REINFORCE with a pass/fail reward (pass = the student's answer equals a teacher
sample), one independent random stream per run.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import softmax
from scipy.stats import binom

from rlbits import info
from rlbits.crossings import first_crossing
from rlbits.validate import integer, one_of, probability, real



def _check_q(q):
    q = np.asarray(probability("q", q, open_low=True), dtype=float)
    if q.ndim != 1 or q.size < 2 or abs(q.sum() - 1.0) > 1e-9:
        raise ValueError(f"q must be a probability vector of length >= 2 summing to 1 (sum={q.sum()!r})")
    return q


def teacher(V, temperature, rng):
    """A teacher distribution: softmax of ``V`` standard-normal logits divided by ``temperature``."""
    V = integer("V", V, minimum=2, maximum=10**7)
    temperature = real("temperature", temperature, minimum=0.0, open_low=True)
    z = rng.standard_normal(V) / temperature
    return softmax(z)


def entropy(q, unit="bits"):
    """Entropy of a distribution vector (bits or nats): :func:`rlbits.info.entropy` of a validated teacher."""
    q = _check_q(q)
    one_of("unit", unit, ("bits", "nats"))
    return info.entropy(q, unit)


def kl(p, q):
    """``KL(p || q)`` in nats for probability vectors (rows of 2-d arrays); 0 log 0 = 0, ``inf`` if q = 0 < p:
    :func:`rlbits.info.kl_divergence`."""
    return info.kl_divergence(p, q, "nats")


def _binom_pmf(n, q):
    """``P(c_i = k)``, ``k = 0..n``, for each answer: shape ``(V, n + 1)``."""
    return binom.pmf(np.arange(n + 1)[None, :], n, np.asarray(q, dtype=float)[:, None])


def kl_first_order(V, n):
    """The first-order expected divergence of a student fit to ``n`` one-hot samples: ``(V - 1) / (2 n)`` nats."""
    V = integer("V", V, minimum=2)
    n = integer("n", n, minimum=1)
    return (V - 1) / (2.0 * n)


def kl_mle_second_order(q, n):
    """``(V-1)/(2n) + (sum_i 1/q_i - 1) / (12 n^2)``: the expansion of ``E KL(c/n || q)`` to second order."""
    q = _check_q(q)
    n = integer("n", n, minimum=1)
    return (q.size - 1) / (2.0 * n) + (np.sum(1.0 / q) - 1.0) / (12.0 * n**2)


def expected_kl_mle(q, n):
    """Exact ``E KL(c/n || q)`` (nats) = ``H(q) - E H(c/n)``: the bias of the plug-in entropy."""
    q = _check_q(q)
    n = integer("n", n, minimum=1, maximum=10**6)
    x = np.arange(n + 1) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)), 0.0)
    return float(-(q * np.log(q)).sum() - (_binom_pmf(n, q) @ h).sum())


def expected_kl_smoothed(q, n, beta=0.5):
    """Exact ``E KL(q || (c + beta)/(n + V beta))`` (nats), from the binomial marginals of the counts."""
    q = _check_q(q)
    n = integer("n", n, minimum=1, maximum=10**6)
    beta = real("beta", beta, minimum=0.0, open_low=True)
    log_student = np.log((np.arange(n + 1) + beta) / (n + q.size * beta))
    return float((q * np.log(q)).sum() - q @ (_binom_pmf(n, q) @ log_student))


def sample_kl(q, n, rng, n_rep, estimator="smoothed", beta=0.5):
    """Monte-Carlo divergences of ``n_rep`` students, each fit to its own ``n`` one-hot samples (nats).

    ``estimator="smoothed"``: ``KL(q || (c+beta)/(n+V beta))``; ``"mle"``: ``KL(c/n || q)``.
    """
    q = _check_q(q)
    n = integer("n", n, minimum=1)
    n_rep = integer("n_rep", n_rep, minimum=1)
    one_of("estimator", estimator, ("smoothed", "mle"))
    c = rng.multinomial(n, q, size=n_rep).astype(float)
    if estimator == "mle":
        return kl(c / n, q[None, :])
    return kl(q[None, :], (c + beta) / (n + q.size * beta))


def round_significant(x, bits):
    """Round positive numbers to ``bits`` significant binary digits (bfloat16 keeps 8, float16 11)."""
    bits = integer("bits", bits, minimum=1, maximum=52)
    m, e = np.frexp(np.asarray(x, dtype=float))
    return np.ldexp(np.round(m * 2.0**bits) / 2.0**bits, e)


def soft_label_student(q, bits=None, top_k=None):
    """The student that copies one stored soft label: rounded to ``bits`` significant bits and/or keeping only the
    ``top_k`` largest probabilities (the rest of the mass, which the label states, spread evenly over the others)."""
    q = _check_q(q)
    s = q.copy()
    if top_k is not None:
        top_k = integer("top_k", top_k, minimum=1, maximum=q.size)
        keep = np.argsort(q)[::-1][:top_k]
        rest = 1.0 - q[keep].sum()
        s = np.full(q.size, rest / max(q.size - top_k, 1))
        s[keep] = q[keep]
    if bits is not None:
        s = round_significant(s, bits)
    return s / s.sum()


def train_student(q, n_steps, method, lr, rngs, checkpoints):
    """Train a softmax student (logits start at 0) on teacher ``q``; one run per generator in ``rngs``.

    ``method``: ``"onehot"`` (SGD on cross-entropy with a sample ``y ~ q``: ``z += lr (e_y - p)``), ``"soft"``
    (``z += lr (q - p)``, the expected one-hot step), or ``"rl"`` (REINFORCE: the student samples ``a ~ p``, the
    reward is 1 if ``a`` equals a teacher sample, ``z += lr R (e_a - p)``). ``lr`` is a number or a function of the
    step index. Returns ``(kl, match)`` arrays of shape ``(runs, len(checkpoints))``: ``KL(q || p)`` in nats and the
    pass rate ``sum_a p_a q_a`` after the given numbers of steps.
    """
    q = _check_q(q)
    n_steps = integer("n_steps", n_steps, minimum=1)
    one_of("method", method, ("onehot", "soft", "rl"))
    checkpoints = np.asarray(checkpoints, dtype=int)
    if checkpoints.min() < 0 or checkpoints.max() > n_steps:
        raise ValueError(f"checkpoints must lie in [0, n_steps={n_steps}]")
    if not callable(lr):
        lr = real("lr", lr, minimum=0.0, open_low=True)
    rate = lr if callable(lr) else (lambda k: lr)
    S, V = len(rngs), q.size
    U = np.stack([rng.random((n_steps, 2)) for rng in rngs], axis=1) if method != "soft" else None
    cq = np.cumsum(q)
    z = np.zeros((S, V))
    rows = np.arange(S)
    out_kl = np.empty((S, checkpoints.size))
    out_match = np.empty((S, checkpoints.size))
    for k in range(n_steps + 1):
        p = softmax(z, axis=1)
        hit = checkpoints == k
        if hit.any():
            out_kl[:, hit] = kl(q[None, :], p)[:, None]
            out_match[:, hit] = (p @ q)[:, None]
        if k == n_steps:
            break
        eta = rate(k)
        if method == "soft":
            z += eta * (q[None, :] - p)
            continue
        y = np.minimum(np.searchsorted(cq, U[k, :, 0]), V - 1)
        if method == "onehot":
            g = -p
            g[rows, y] += 1.0
        else:
            a = np.minimum((np.cumsum(p, axis=1) < U[k, :, 1][:, None]).sum(axis=1), V - 1)
            R = (a == y).astype(float)
            g = -R[:, None] * p
            g[rows, a] += R
        z += eta * g
    return out_kl, out_match


def crossing(x, y, level):
    """The first ``x`` at which the curve ``y(x)`` reaches ``level`` (from above if it starts above, else from below),
    interpolated linearly in ``(log x, log y)``; ``nan`` if it never does. ``x`` and ``y`` must be positive
    (:func:`rlbits.crossings.first_crossing`)."""
    return first_crossing(x, y, level, log_y=True)


def _expected_log_smoothed(q, n, beta, series_from=1e4):
    """``sum_i q_i E log((c_i + beta)/(n q_i))`` with ``c_i ~ Binomial(n, q_i)``.

    Answers expected fewer than ``series_from`` times are summed exactly over a window of the binomial's mean
    +- 12 standard deviations + 12 (the mass outside is below 1e-25). For the others, ``E log(1 + X)`` with
    ``X = (c + beta - n q)/(n q)`` is its series to fourth order in the binomial's exact central moments; the
    remainder is of order ``(n q)^-3`` against a term of order ``(n q)^-1``, so about 1e-8 relative at the default
    ``series_from`` (tested against the window).
    """
    V = q.size
    mean = n * q
    big = mean >= series_from
    out = np.zeros(V)
    if big.any():
        m, qb = mean[big], q[big]
        mu2 = m * (1 - qb)
        mu3 = mu2 * (1 - 2 * qb)
        mu4 = mu2 * (1 + 3 * (n - 2) * qb * (1 - qb))
        e1 = beta / m
        e2 = (beta**2 + mu2) / m**2
        e3 = (beta**3 + 3 * beta * mu2 + mu3) / m**3
        e4 = (beta**4 + 6 * beta**2 * mu2 + 4 * beta * mu3 + mu4) / m**4
        out[big] = e1 - e2 / 2 + e3 / 3 - e4 / 4
    idx = np.nonzero(~big)[0]
    if idx.size:
        qs = q[idx]
        sd = np.sqrt(n * qs * (1 - qs))
        lo = np.maximum(0, np.floor(n * qs - 12 * sd - 12)).astype(np.int64)
        hi = np.minimum(n, np.ceil(n * qs + 12 * sd + 12)).astype(np.int64)
        length = hi - lo + 1
        owner = np.repeat(np.arange(idx.size), length)
        k = (np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length) + lo[owner]).astype(float)
        qi = qs[owner]
        terms = binom.pmf(k, n, qi) * np.log1p((k + beta - n * qi) / (n * qi))  # small terms: no cancellation
        out[idx] = np.bincount(owner, weights=terms, minlength=idx.size)
    return float(q @ out)


def expected_kl_smoothed_windowed(q, n, beta=0.5, series_from=1e4):
    """:func:`expected_kl_smoothed` for any ``n`` (up to 1e12): each binomial summed over a window around its mean,
    or by its moment series where it is expected at least ``series_from`` times (see
    :func:`_expected_log_smoothed`); equal to the full sum to about 1e-8 relative (tested), at a cost of a few
    thousand terms per rare answer."""
    q = _check_q(q)
    n = integer("n", n, minimum=1, maximum=10**12)
    beta = real("beta", beta, minimum=0.0, open_low=True)
    # KL = log((n + V beta)/n) - sum_i q_i E log((c_i + beta)/(n q_i)), both terms small: precise at any n
    return float(math.log1p(q.size * beta / n) - _expected_log_smoothed(q, n, beta, series_from))


def equivalent_samples(q, kl_target, beta=0.5):
    """The one-hot samples a smoothed (add-``beta``) student needs for its exact expected divergence
    ``E KL(q || (c + beta)/(n + V beta))`` to fall to ``kl_target`` nats: the inverse of the exact curve (chapter 11),
    interpolated between the two integers that bracket it (linearly in ``log n`` against ``log KL``).

    Returns ``0.0`` when the student with no samples (the uniform distribution) is already that close, and ``inf``
    when ``kl_target`` is 0. The first-order ``(V - 1)/(2 KL)`` is the starting guess; the exact curve is
    decreasing in ``n`` (tested), so a bracket and bisection find the crossing.
    """
    q = _check_q(q)
    kl_target = real("kl_target", kl_target, minimum=0.0)
    beta = real("beta", beta, minimum=0.0, open_low=True)
    if kl_target == 0:
        return float("inf")
    f = lambda n: expected_kl_smoothed_windowed(q, n, beta)  # noqa: E731
    if kl(q, np.full(q.size, 1.0 / q.size)) <= kl_target:
        return 0.0
    if f(1) <= kl_target:
        return 1.0
    guess = max(2, int((q.size - 1) / (2 * kl_target)))
    if guess > 10**4:  # where the curve is close to c/n: iterate n <- n f(n)/target (one or two steps suffice)
        n = float(guess)
        for _ in range(5):
            n_new = n * f(int(round(n))) / kl_target
            if abs(n_new / n - 1) < 1e-6:
                break
            n = n_new
        return float(n_new)
    lo, hi = 1, guess
    while f(hi) > kl_target:  # the exact curve lies below the first order at small n q_min: widen upward if not
        lo, hi = hi, hi * 2
        if hi > 10**12:
            raise ValueError(f"kl_target={kl_target!r} needs more than 1e12 samples; allowed: a larger target")
    while hi - lo > 1:  # invariant: f(lo) > kl_target >= f(hi)
        mid = (lo + hi) // 2
        if f(mid) > kl_target:
            lo = mid
        else:
            hi = mid
    f_lo, f_hi = f(lo), f(hi)
    if f_lo == f_hi:
        return float(hi)
    t = (math.log(f_lo) - math.log(kl_target)) / (math.log(f_lo) - math.log(f_hi))
    return float(math.exp(math.log(lo) + t * (math.log(hi) - math.log(lo))))
