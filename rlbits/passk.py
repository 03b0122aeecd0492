"""pass@k: estimators, a Beta population of problems, the bits of an any-of-k reward (chapter 8).

Introduced in chapter 8, "Warm starts and inference scaling".

- :func:`pass_at_k` is the exact pass@k of one problem with single-attempt pass rate ``p``: ``1 - (1 - p)^k``.
- :func:`pass_at_k_unbiased` is the estimator of Chen et al. (2021) from ``n`` attempts of which ``c`` passed,
  ``1 - C(n - c, k) / C(n, k)``, computed as the product ``prod_{i = n - c + 1}^{n} (1 - k / i)`` (no huge
  binomials, no cancellation), vectorised over arrays of ``n``, ``c`` and ``k`` (:func:`log_fail_unbiased`); it is
  unbiased for ``k <= n``. It is the only implementation of the estimator in rlbits.
- :func:`pass_at_k_naive` plugs the observed rate ``c / n`` into ``1 - (1 - p)^k``; by Jensen's inequality it is
  biased low.
- :func:`beta_pass_at_k` is pass@k averaged over problems whose pass rates follow Beta(a, b), in closed form
  ``1 - B(a, b + k) / B(a, b)``; :func:`beta_neg_log_pass_at_k` gives ``-log pass@k``, which for large ``k`` follows
  the power law ``Gamma(a + b) / Gamma(b) * k^(-a)`` (:func:`beta_power_law_prefactor`) once pass@k is near 1;
  :func:`beta_local_exponent` is the exact local slope and :func:`beta_power_law_onset` the k from which the law
  holds to a given tolerance.
- :func:`any_of_k_bits` gives the entropy of the reward "at least one of k attempts passed", per episode and per
  attempt.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom

from rlbits import info
from rlbits.sightings import prob_at_least_one
from rlbits.info import _out  # a float for a scalar, the array otherwise
from rlbits.validate import ParameterError, integer, probability, real

_LN2 = math.log(2.0)


def _positive_int_array(name, value, minimum=0):
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ParameterError(f"{name}={value!r} is not an integer; allowed: integers >= {minimum}")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iu":
        raise ParameterError(f"{name}={value!r} is not an integer; allowed: integers >= {minimum}")
    if np.any(arr < minimum):
        first = int(arr[arr < minimum].flat[0])
        raise ParameterError(f"{name}={first!r} is outside the allowed range [{minimum}, inf)")
    return arr.astype(np.int64)


def pass_at_k(p, k):
    """Exact pass@k of a problem with single-attempt pass rate ``p``: ``1 - (1 - p)^k``, the chance of at least one
    success in ``k`` attempts (:func:`rlbits.sightings.prob_at_least_one`, computed as ``-expm1(k log1p(-p))`` so
    that tiny ``p`` keeps full relative precision). ``k`` may be real (>= 0)."""
    k = np.asarray(k, dtype=float)
    if np.any(~np.isfinite(k)) or np.any(k < 0):
        raise ParameterError(f"k={k!r} is outside the allowed range [0, inf)")
    return prob_at_least_one(p, k)


_BLOCK = 4_000_000  # entries of one (c, k) block of log factors: bounds the memory of large n times many k


def log_fail_unbiased(n, c, k):
    """``log(C(n-c, k) / C(n, k))`` (``-inf`` when ``n - c < k``): the log of one minus the unbiased pass@k estimator
    of Chen et al. (2021), for arrays ``n``, ``c``, ``k`` broadcast together (validated: ``n >= 1``,
    ``0 <= c <= n``, ``1 <= k <= n``).

    It is the product form ``sum_{i=n-c+1}^{n} log(1 - k/i)``: every factor ``1 - k/i`` is in ``[0, 1)``, so there
    are no huge binomials and no cancellation. For each distinct ``n`` the factors ``i = n, n-1, ...`` are
    accumulated once (a cumulative sum over ``c``) for all the distinct ``k`` asked for, so the cost is
    ``O(max c x distinct k)`` per distinct ``n``, not a loop per element. This is the one implementation of the
    estimator in rlbits (chapter 8; :func:`rlbits.strategies.pass_at_k_from_counts` of chapter 12 uses it).
    """
    n = _positive_int_array("n", n, minimum=1)
    c = _positive_int_array("c", c, minimum=0)
    k = _positive_int_array("k", k, minimum=1)
    n, c, k = np.broadcast_arrays(n, c, k)
    if np.any(c > n):
        raise ParameterError(f"c={int(c[c > n].flat[0])} exceeds n={int(n[c > n].flat[0])}; allowed: 0 <= c <= n")
    if np.any(k > n):
        raise ParameterError(f"k={int(k[k > n].flat[0])} exceeds n={int(n[k > n].flat[0])}; "
                             "the estimator needs 1 <= k <= n")
    out = np.empty(n.shape, dtype=float)
    for nn in np.unique(n):
        sel = n == nn
        cs, kk = c[sel], k[sel]
        k_values, k_index = np.unique(kk, return_inverse=True)
        i = np.arange(int(nn), int(nn) - int(cs.max()), -1, dtype=float)[:, None]  # i = n, n-1, ..., n - max c + 1
        res = np.empty(cs.shape, dtype=float)
        step = max(1, _BLOCK // max(1, i.shape[0]))
        for lo in range(0, k_values.size, step):
            kf = k_values[lo:lo + step].astype(float)
            with np.errstate(divide="ignore"):
                terms = np.where(i > kf, np.log1p(-np.minimum(kf / i, 1.0)), -np.inf)
            table = np.vstack([np.zeros((1, kf.size)), np.cumsum(terms, axis=0)])  # row c: the sum of c factors
            in_block = (k_index >= lo) & (k_index < lo + step)
            res[in_block] = table[cs[in_block], k_index[in_block] - lo]
        out[sel] = res
    return _out(out)


def pass_at_k_unbiased(n, c, k):
    """The unbiased pass@k estimator of Chen et al. (2021): ``1 - C(n-c, k) / C(n, k)``.

    ``n`` attempts, ``c`` of them correct, ``1 <= k <= n``; arrays of ``n``, ``c`` and ``k`` broadcast together.
    Computed as ``1 - prod_{i=n-c+1}^{n} (1 - k/i)`` in log space (:func:`log_fail_unbiased`), which is 1 exactly
    when ``n - c < k`` and 0 exactly when ``c = 0``.
    """
    return _out(-np.expm1(np.asarray(log_fail_unbiased(n, c, k))) + 0.0)  # + 0.0: c = 0 gives 0.0, not -0.0


def pass_at_k_naive(n, c, k):
    """The plug-in estimator ``1 - (1 - c/n)^k``: biased low (Jensen), and it may use k > n."""
    n = _positive_int_array("n", n, minimum=1)
    c = _positive_int_array("c", c, minimum=0)
    if np.any(c > n):
        raise ParameterError(f"c={int(c[c > n].flat[0])} exceeds n; allowed: 0 <= c <= n")
    k = integer("k", k, minimum=1)
    return pass_at_k(c / n, k)


def expected_estimate(estimator, n, p, k):
    """Exact expectation of ``estimator(n, c, k)`` over ``c ~ Binomial(n, p)`` (sum over the pmf, in log space)."""
    n = integer("n", n, minimum=1)
    p = probability("p", p, open_low=True, open_high=True)
    c = np.arange(n + 1)
    return float(np.sum(binom.pmf(c, n, p) * estimator(n, c, k)))


def _log_gamma_ratio_shifted(k, b, a):
    """``log Gamma(b + k) - log Gamma(b + k + a)``, elementwise over ``k``, accurate for huge ``k``: both terms are
    of order ``k log k``, so the difference is taken in ``30 + log10(k)``-digit arithmetic, and ``b + k`` and
    ``b + k + a`` are formed in that arithmetic too (in float64, ``1e16 + 0.05`` rounds to ``1e16``)."""
    import mpmath

    def f(kk):
        with mpmath.workdps(30 + int(1.1 * math.log10(max(float(kk) + b, 1.0)))):
            xm = mpmath.mpf(float(kk)) + mpmath.mpf(b)
            return float(mpmath.loggamma(xm) - mpmath.loggamma(xm + mpmath.mpf(a)))

    return np.vectorize(f, otypes=[float])(k)


def _beta_params(a, b):
    a = real("a", a, minimum=0, open_low=True)
    b = real("b", b, minimum=0, open_low=True)
    return a, b


def beta_log_fail_at_k(k, a, b):
    """``log E[(1 - p)^k]`` for ``p ~ Beta(a, b)``: ``log B(a, b + k) - log B(a, b)`` (vectorised over real k >= 0)."""
    a, b = _beta_params(a, b)
    k = np.asarray(k, dtype=float)
    if np.any(~np.isfinite(k)) or np.any(k < 0):
        raise ParameterError(f"k={k!r} is outside the allowed range [0, inf)")
    return _out(_log_gamma_ratio_shifted(k, b, a) - math.lgamma(b) + math.lgamma(a + b))


def beta_pass_at_k(k, a, b):
    """pass@k of a population whose per-problem pass rates follow Beta(a, b): ``1 - B(a, b + k) / B(a, b)``."""
    return _out(-np.expm1(beta_log_fail_at_k(k, a, b)))


def beta_neg_log_pass_at_k(k, a, b):
    """``-log pass@k`` (nats) for the Beta(a, b) population, with full relative precision at every k.

    With ``lf = log fail@k``, ``-log pass@k = -log(1 - e^lf)``: taken as ``-log(-expm1(lf))`` while the fail rate is
    above 1/2 and as ``-log1p(-exp(lf))`` below (where pass@k is near 1 and ``1 - e^lf`` would round away the small
    fail rate), the usual two-branch ``log1mexp``.
    """
    lf = np.asarray(beta_log_fail_at_k(k, a, b))
    small = lf < -_LN2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.where(small, -np.log1p(-np.exp(np.minimum(lf, -_LN2))), -np.log(-np.expm1(np.maximum(lf, -_LN2))))
    return _out(out)


def beta_local_exponent(k, a, b):
    """The local power-law exponent ``-d log(-log pass@k) / d log k`` of the Beta(a, b) population at real ``k``.

    With ``F = fail@k = B(a, b + k) / B(a, b)`` and ``f = -log(1 - F)``, ``dF/dk = F (psi(b + k) - psi(a + b + k))``,
    so the exponent is ``-k F (psi(b + k) - psi(a + b + k)) / ((1 - F) f)``. It tends to ``a`` as ``k -> inf``
    (:func:`beta_power_law_prefactor`). ``log Gamma(b + k)`` is of order ``k log k``, so the difference of two of
    them is taken with ``40 + log10(k)`` digits: the result has double precision at any ``k``. Vectorised over ``k``.
    """
    import mpmath

    a, b = _beta_params(a, b)
    k = np.asarray(k, dtype=float)
    if np.any(~np.isfinite(k)) or np.any(k <= 0):
        raise ParameterError(f"k={k!r} is outside the allowed range (0, inf)")

    def one(kk):
        with mpmath.workdps(40 + int(1.1 * math.log10(kk + 1.0))):
            kk, am, bm = mpmath.mpf(kk), mpmath.mpf(a), mpmath.mpf(b)
            lF = mpmath.loggamma(bm + kk) - mpmath.loggamma(am + bm + kk) - mpmath.loggamma(bm) + mpmath.loggamma(am + bm)
            F = mpmath.exp(lF)
            f = -mpmath.log1p(-F)
            return float(-kk * F * (mpmath.digamma(bm + kk) - mpmath.digamma(am + bm + kk)) / ((1 - F) * f))

    return _out(np.vectorize(one, otypes=[float])(k))


def beta_power_law_onset(a, b, tol=0.05, per_decade=10, k_max=1e60):
    """Where the power law of :func:`beta_neg_log_pass_at_k` starts to hold: the smallest ``k`` on a grid of
    ``per_decade`` points per decade from 1 to ``k_max`` from which on the local exponent
    (:func:`beta_local_exponent`) stays within a relative ``tol`` of ``a`` (up to ``k_max``).

    Raises :class:`ParameterError` if the local exponent is still off at ``k_max``.
    """
    a, b = _beta_params(a, b)
    tol = real("tol", tol, minimum=0, maximum=1, open_low=True)
    grid = np.logspace(0, math.log10(k_max), int(round(per_decade * math.log10(k_max))) + 1)
    off = np.abs(np.asarray(beta_local_exponent(grid, a, b)) / a - 1) > tol
    if off[-1]:
        raise ParameterError(f"a={a!r}, b={b!r}: the local exponent is not within {tol:.0%} of a by k = {k_max:g}")
    last_off = np.flatnonzero(off)
    return float(grid[0] if last_off.size == 0 else grid[last_off[-1] + 1])


def beta_power_law_prefactor(a, b):
    """The large-k law ``-log pass@k ~ C k^(-a)`` with ``C = Gamma(a + b) / Gamma(b)`` (density ~ p^(a-1) at 0)."""
    a, b = _beta_params(a, b)
    return math.exp(math.lgamma(a + b) - math.lgamma(b))


def fit_power_law(x, y):
    """Least-squares slope and intercept of ``log y`` on ``log x``: returns ``(exponent, prefactor)`` for
    ``y ~ prefactor * x^(-exponent)``."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.size < 2 or np.any(x <= 0) or np.any(y <= 0):
        raise ParameterError("fit_power_law needs two equal-length arrays of >= 2 positive values")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(-slope), float(math.exp(intercept))


def any_of_k_bits(p, k):
    """Entropy (bits) of the reward "at least one of k attempts passed", per episode and per attempt.

    Returns ``(bits_per_episode, bits_per_attempt)`` = ``(H(pass@k), H(pass@k) / k)``. Since the reward is a
    function of the k individual outcomes, ``H(pass@k) <= k H(p)``: per attempt it never beats seeing each outcome.
    """
    k_arr = np.asarray(k, dtype=float)
    if np.any(k_arr < 1):
        raise ParameterError(f"k={k!r} is outside the allowed range [1, inf)")
    pk = pass_at_k(p, k_arr)
    h = np.asarray(info.binary_entropy(np.clip(pk, 0.0, 1.0)))
    return _out(h), _out(h / k_arr)


def best_k_for_episode_bits(p):
    """The (real) k at which pass@k = 1/2, where the any-of-k reward carries its maximum of one bit per episode:
    ``k* = ln 2 / -ln(1 - p)``."""
    p = probability("p", p, open_low=True, open_high=True)
    return _LN2 / -math.log1p(-p)


def any_of_k_costs(path, k):
    """Expected episodes and attempts to walk a learner's ``path`` of pass rates when each episode is ``k``
    attempts, rewarded if any passes, and a rewarded episode makes one update (an SL step on a passing attempt, as in
    rejection-sampling fine-tuning). At state ``p_j`` the episodes to the next update are geometric with rate
    ``pass@k(p_j)``, so the means are ``sum_j 1 / pass@k(p_j)`` episodes and ``k`` times that in attempts
    (``path[-1]`` is the final state, not waited at). With ``k = 1`` this is plain REINFORCE's ``sum_j 1/p_j``.
    """
    k = real("k", k, minimum=1)
    p = np.asarray(probability("path", np.asarray(path, dtype=float)[:-1], open_low=True), dtype=float)
    episodes = float(np.sum(1.0 / pass_at_k(p, k)))
    return episodes, k * episodes
