"""The fast exact engine for one prompt: SL, REINFORCE and the ideal eliminator over V tokens (chapters 5-7).

A tabular softmax over V tokens, one correct answer (introduced in chapter 6; chapter 5 uses its SL recursion).

The model is a vector of logits ``z`` over V tokens, started uniform (all zero); the answer is token 0 (by symmetry
the label is arbitrary); the pass rate is ``p = softmax(z)[0]`` and ``q = 1 - p``. Learners, all with step size
``eta`` and minibatches of ``batch`` samples (the gradient is averaged over the minibatch):

- **SL**: cross-entropy on the answer, ``z += eta * (e_0 - pi)``.
- **REINFORCE, no baseline**: sample ``y ~ pi``, reward ``r = [y == 0]``, ``z += eta * mean_b r_b (e_{y_b} - pi)``.
- **REINFORCE, mean-reward baseline**: the same with advantage ``r - p``: the baseline is the policy's mean reward
  ``p``, known exactly for a tabular policy (the limit of a running average of rewards).
- **The ideal eliminator** (chapter 2): a Bayesian learner with a uniform prior over which token is the answer; it
  samples from its posterior (uniform over the tokens not yet ruled out) and a failure rules out the sampled token.

Which shortcuts are exact (each is tested against :mod:`rlbits.reference`, the plain per-sample implementation):

- SL: **exact** (up to float64 rounding). From a uniform start the V - 1 wrong logits receive identical updates, so the
  state is one number, the gap ``d = z_0 - z_wrong``; a step adds ``eta * q * V / (V - 1)`` to it (eq. in chapter 6).
- REINFORCE without baseline: **exact in distribution**. A failed sample has zero gradient, so the logits change only
  at successes, and a batch with k successes is an SL step scaled by k / B. With ``batch == 1`` the logits after k
  successes are SL's after k steps, and the waiting time for the next success is geometric with the current pass
  rate; with ``batch > 1`` the number of batches to the next batch with a success is geometric with
  ``1 - q**B`` and the number of successes in it is binomial conditioned on being >= 1. We draw these waiting times
  instead of the individual failures: same distribution of every trajectory, O(successes) work instead of
  O(samples x V).
- Ideal eliminator: **exact in distribution**: the position of the answer in the learner's sampling order is uniform
  on 1..V, which fixes the whole trajectory (pass rate ``1/(V - k)`` after k failures, 1 after the success).
- REINFORCE with the mean-reward baseline: failed samples now push their own token down, which breaks the symmetry
  among wrong tokens, so the engine keeps all V logits and makes a **dense O(V) update per step** (exact up to
  float64 rounding), in one fused numba kernel that reads and writes each weight once per step. The state is not
  the logits but unnormalised weights ``w_k = exp(z_k - const)`` with their sum ``S`` (``pi_k = w_k / S``), so the
  update ``z_k += kick_k - c pi_k`` is ``w_k *= exp(kick_k - c w_k / S)``. For a token that was not sampled the
  argument ``-c w_k / S`` is tiny except in the first steps at small V, and ``exp`` is replaced by its Taylor
  polynomial of the lowest degree whose truncation error is below 2**-53 for the step's largest argument
  (``|x|**(n+1) / (n+1)! / (1 - |x|) < 2**-53``; degree 1 at ``|x| < 1e-8``; the loop used is the first of
  degrees 1, 2, 3, 4, 6, 9 at least that high, each vectorised), which is as accurate as ``exp``;
  the sampled tokens, the answer, and every token of a step whose largest argument is >= 0.05 use ``exp``. The
  same pass accumulates the new sum of the wrong weights (so ``1 - p`` is that sum over ``S``, never ``1 - p``) and
  its sums over blocks of 1024 tokens, from which the next sample is drawn by inverse CDF in
  O(V / 1024 + 1024) (blocks, then tokens). The weights are renormalised to sum 1 every 256 steps (no overflow or
  underflow drift); a weight below 1e-290 raises instead of being silently rounded to 0.

Numerics: float64 throughout; for the two-logit state ``p`` and ``q`` are both logistic functions of the gap, for the
dense state ``w0 / S`` and ``W / S``; neither is computed as one minus the other.
Randomness: one :class:`numpy.random.Generator` per run, child ``i`` of the given :class:`~numpy.random.SeedSequence`
(spawn key ``(i,)``), so run i's trajectory does not depend on how many runs are simulated together.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.special import gammaln, ndtr
from scipy.stats import binomtest

from rlbits.validate import ParameterError, integer, one_of, probability, real

_EPS = 2.0**-53
METHODS = ("sl", "rl", "rl_mean", "eliminator")


# ----------------------------------------------------------------------------------------------- validation, seeds

def _check_V(V) -> int:
    return integer("V", V, minimum=2, maximum=10**9)


def _check_eta(eta) -> float:
    return real("eta", eta, minimum=0.0, maximum=1.0, open_low=True)


def _check_thresholds(thresholds) -> np.ndarray:
    thr = np.atleast_1d(np.asarray(thresholds, dtype=float))
    probability("threshold", thr, open_low=True, open_high=True)
    if thr.ndim != 1 or np.any(np.diff(thr) <= 0):
        raise ParameterError(f"thresholds={thresholds!r} must be a strictly increasing list of probabilities")
    return thr


def generators(seed, n: int) -> list[np.random.Generator]:
    """``n`` independent generators: child ``i`` of ``seed`` (an int or a SeedSequence) has spawn key ``(i,)``.

    Child ``i`` is the same whatever ``n`` is, and whatever was spawned from ``seed`` before.
    """
    n = integer("n_runs", n, minimum=1)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (i,)))
            for i in range(n)]


# --------------------------------------------------------------------------------------------- the two-logit state

def pass_rate(gap, V):
    """``(p, q)`` for answer-minus-wrong logit gap ``gap`` over V tokens: p = 1 / (1 + (V - 1) e^-gap).

    Both are logistic functions of ``L = ln(V - 1) - gap``: ``p = 1/(1 + e^L)``, ``q = 1/(1 + e^-L)``, so neither
    is computed as one minus the other (no cancellation when p is near 0 or 1).
    """
    V = _check_V(V)
    L = math.log(V - 1) - np.asarray(gap, dtype=float)
    with np.errstate(over="ignore"):
        p = 1.0 / (1.0 + np.exp(L))
        q = 1.0 / (1.0 + np.exp(-L))
    return (float(p), float(q)) if np.ndim(p) == 0 else (p, q)


def gap_for_pass_rate(p, V):
    """The gap at which the pass rate equals ``p``: ln(V - 1) + ln(p / (1 - p))."""
    V = _check_V(V)
    p = probability("p", p, open_low=True, open_high=True)
    return math.log(V - 1) + math.log(p) - math.log1p(-p)


def sl_gaps(V, threshold: float, eta: float = 1.0) -> np.ndarray:
    """SL's gaps ``d_0 = 0, d_1, ..., d_K`` (exact recursion ``d += eta q V/(V-1)``), K = first step with p >= threshold.

    The same sequence is REINFORCE's (no baseline, batch 1) after 0, 1, ..., K successes.
    """
    V, eta = _check_V(V), _check_eta(eta)
    thr = float(_check_thresholds(threshold)[0])
    target = gap_for_pass_rate(thr, V)
    gaps = [0.0]
    scale = eta * V / (V - 1)
    while gaps[-1] < target:
        if len(gaps) > 10**7:
            raise ParameterError(f"eta={eta!r} is too small to reach threshold {thr} within 1e7 steps")
        L = math.log(V - 1) - gaps[-1]
        gaps.append(gaps[-1] + scale / (1.0 + math.exp(-L)))
    return np.array(gaps)


def sl_samples_to(V, thresholds, eta: float = 1.0, batch: int = 1) -> np.ndarray:
    """Samples SL needs to reach each threshold (deterministic): steps x batch (a batch repeats the same label)."""
    thr = _check_thresholds(thresholds)
    batch = integer("batch", batch, minimum=1)
    gaps = sl_gaps(V, thr[-1], eta)
    p, _ = pass_rate(gaps, V)
    return np.array([int(np.argmax(p >= t)) * batch for t in thr])


def reinforce_success_times(V, seed, n_runs: int, threshold: float, eta: float = 1.0):
    """REINFORCE, no baseline, batch 1: the sample index of each success until the pass rate reaches ``threshold``.

    Returns ``(times, p_levels)``: ``times[i, k]`` is the number of samples run i has drawn when its (k+1)-th
    success happens (a cumulative sum of geometric waiting times with success probability ``p_levels[k]``);
    ``p_levels[k]`` is the pass rate after k successes, k = 0..K. Exact in distribution.
    """
    V = _check_V(V)
    gaps = sl_gaps(V, threshold, eta)
    p, _ = pass_rate(gaps, V)
    waits = np.stack([g.geometric(p[:-1]) for g in generators(seed, n_runs)])
    return np.cumsum(waits, axis=1, dtype=np.int64), p


def reinforce_samples_to(V, thresholds, seed, n_runs: int, eta: float = 1.0, batch: int = 1) -> np.ndarray:
    """Samples REINFORCE without baseline needs to reach each threshold, for each run: array (n_runs, n_thresholds).

    Exact in distribution (event-driven over successes; see the module docstring). With ``batch > 1`` the count is
    a multiple of ``batch`` (the threshold is checked after each update).
    """
    V = _check_V(V)
    thr = _check_thresholds(thresholds)
    batch = integer("batch", batch, minimum=1, maximum=10**6)
    if batch == 1:
        times, p = reinforce_success_times(V, seed, n_runs, thr[-1], eta)
        idx = np.array([int(np.argmax(p >= t)) for t in thr])  # successes needed
        return times[:, idx - 1]
    eta = _check_eta(eta)
    targets = np.array([gap_for_pass_rate(t, V) for t in thr])
    scale = eta * V / (V - 1)
    ks = np.arange(1, batch + 1)
    logc = gammaln(batch + 1) - gammaln(ks + 1) - gammaln(batch - ks + 1)  # log C(batch, k)
    out = np.zeros((n_runs, len(thr)), dtype=np.int64)
    for i, g in enumerate(generators(seed, n_runs)):
        gap, batches, j = 0.0, 0, 0
        while j < len(thr):
            p, q = pass_rate(gap, V)
            # P(at least one success in a batch) = 1 - q^B, without cancellation
            hit = -math.expm1(batch * math.log(q)) if q > 0 else 1.0
            batches += int(g.geometric(hit))
            # successes in that batch: Binomial(B, p) conditioned on >= 1, by inverse CDF
            logpmf = logc + ks * math.log(p) + (batch - ks) * (math.log(q) if q > 0 else -np.inf)
            w = np.exp(logpmf - logpmf.max())
            k = int(ks[np.searchsorted(np.cumsum(w), g.random() * w.sum(), side="right").clip(max=batch - 1)])
            gap += scale * (k / batch) * q
            while j < len(thr) and gap >= targets[j]:
                out[i, j] = batches * batch
                j += 1
    return out


def eliminator_samples_to(V, thresholds, seed, n_runs: int) -> np.ndarray:
    """Samples the ideal eliminator needs to reach each threshold, per run: array (n_runs, n_thresholds).

    Its pass rate is ``1 / (V - k)`` after k failures and 1 after its success at sample T ~ Uniform{1..V}, so the
    samples to threshold t are ``min(T, V - floor(1/t))`` (exact in distribution).
    """
    V = _check_V(V)
    thr = _check_thresholds(thresholds)
    T = np.array([g.integers(1, V + 1) for g in generators(seed, n_runs)], dtype=np.int64)
    kstar = np.array([max(V - math.floor(1.0 / t), 0) for t in thr], dtype=np.int64)
    return np.minimum(T[:, None], kstar[None, :])


def eliminator_expected_pass_rate(V, n):
    """Exact expected pass rate of the ideal eliminator after n samples: (n + 1) / V, capped at 1."""
    V = _check_V(V)
    n = np.asarray(n, dtype=float)
    if np.any(n < 0):
        raise ParameterError(f"n={n.min()!r} is outside the allowed range [0, inf)")
    return np.minimum((n + 1.0) / V, 1.0)


def eliminator_samples_expected(V, m):
    """Exact mean and variance of the ideal eliminator's samples ``min(T, m)``, T ~ Uniform{1..V} (chapter 6).

    ``m = V - floor(1/t)`` is the sample count at which threshold ``t`` is reached without finding the answer
    (:func:`eliminator_samples_to`): ``m = V - 2`` for t = 1/2 and ``m = V - 1`` for t = 0.99.
    """
    V = _check_V(V)
    m = integer("m", m, minimum=0, maximum=V)
    mean = (m * (m + 1) / 2 + (V - m) * m) / V
    second = (m * (m + 1) * (2 * m + 1) / 6 + (V - m) * m * m) / V
    return mean, second - mean * mean


def eliminator_pass_rate_quantile(V, n, q):
    """Exact ``q``-quantile over runs of the ideal eliminator's pass rate after ``n`` samples (chapter 6's curves).

    After n samples it has found the answer with probability min(n / V, 1) (pass rate 1); otherwise its pass rate
    is 1 / (V - n). The quantile is 1 where ``q >= 1 - n / V`` and 1 / (V - n) below (the lower quantile).
    """
    V = _check_V(V)
    n = np.asarray(n, dtype=float)
    q = probability("q", q)
    if np.any(n < 0):
        raise ParameterError(f"n={n.min()!r} is outside the allowed range [0, inf)")
    found = q >= 1.0 - np.minimum(n / V, 1.0)
    with np.errstate(divide="ignore"):
        miss = 1.0 / np.maximum(V - n, 1.0)
    return np.where(found, 1.0, miss)


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval (95% by default: ``z`` is the two-sided normal quantile) for a binomial proportion
    ``successes / n`` (chapter 6's C26 test: the share of runs that reach a pass rate within a sample budget;
    chapter 12's transition), by :meth:`scipy.stats.binomtest.proportion_ci`. Unlike the normal interval it stays
    inside [0, 1] and is not empty when every run (or none) succeeded."""
    n = integer("n", n, minimum=1)
    successes = integer("successes", successes, minimum=0, maximum=n)
    z = real("z", z, minimum=0.0, open_low=True)
    # scipy's Wilson interval (exactly 0 or 1 at 0 or n successes), at the confidence level of a two-sided z
    ci = binomtest(successes, n).proportion_ci(1.0 - 2.0 * float(ndtr(-z)), method="wilson")
    return float(ci.low), float(ci.high)


def eliminator_expected_bits(p):
    """Expected drop of -log2 p of the eliminator in one sample at pass rate p = 1/m: exactly H(p) bits.

    With probability p it succeeds (drop -log2 p); otherwise p becomes 1/(m - 1) (drop -log2(1 - p)).
    """
    p = np.asarray(probability("p", p, open_low=True), dtype=float)
    return -p * np.log2(p) - (1 - p) * np.log1p(-p) / math.log(2)


# ---------------------------------------------------------------------------------------- learning curves

def curve_from_success_times(times: np.ndarray, p_levels: np.ndarray, n_grid) -> np.ndarray:
    """Pass rate of each run after n samples, for n in ``n_grid``: ``p_levels[#successes with time <= n]``.

    Runs that reached the last level stay there (the trajectory is stopped at the threshold).
    """
    n_grid = np.asarray(n_grid)
    counts = np.stack([np.searchsorted(row, n_grid, side="right") for row in times])
    return p_levels[counts]


# --------------------------------------------------------------------------- REINFORCE, dense engine (all V logits)
#
# State of one run: the answer's weight ``w0`` and the V - 1 wrong weights ``w`` (unnormalised probabilities,
# pi_k = w_k / S with S = w0 + W, W = sum of the wrong weights), plus the sums of ``w`` over blocks of _BLOCK tokens
# (for sampling by inverse CDF in O(V / _BLOCK + _BLOCK)). One update multiplies every weight by exp(its logit
# change), and recomputes W, the block sums and the largest wrong weight M, all in the same pass over ``w``.

_BLOCK = 1024
_XMAX_POLY = 0.05  # beyond this |argument| the whole pass uses exp
# status codes of the run kernel
_DONE, _BUDGET, _NEED_UNIFORMS, _UNDERFLOW = 0, 1, 2, 3


@dataclass
class DenseResult:
    """Output of :func:`reinforce_dense`: samples to each threshold (``-1`` if not reached within the budget),
    pass rate at each grid point (held after a run reached the last threshold, NaN after it ran out of budget), the
    number of dense steps taken (all runs), the histogram of Taylor degrees used (``-1``: exp), and the seconds spent
    compiling or loading the numba kernels in this call (0 once they are loaded)."""

    samples_to: np.ndarray
    curves: np.ndarray
    n_grid: np.ndarray
    steps: int
    poly_degree_counts: dict
    jit_seconds: float = 0.0


@njit(cache=True)
def _exp_poly_degree_nb(xmax):
    if xmax == 0.0:
        return 0
    if not xmax < _XMAX_POLY:
        return -1
    term = 1.0
    for n in range(1, 14):
        term *= xmax / n
        if term * xmax / (n + 1) / (1 - xmax) < _EPS:
            return n
    return -1


def exp_poly_degree(xmax: float) -> int:
    """Lowest Taylor degree n with |x|^(n+1)/(n+1)!/(1-|x|) < 2^-53 for |x| <= xmax; 0 if xmax == 0; -1: use exp.

    The bound is the Lagrange remainder of exp on [-xmax, xmax] relative to exp(x) >= 1 - |x|, so the polynomial is
    as accurate as exp itself (below half an ulp, before rounding of the evaluation). One implementation, compiled
    for the kernel, serves both."""
    return int(_exp_poly_degree_nb(float(xmax)))


_DEGREES = (1, 2, 3, 4, 6, 9)  # degrees with a specialised loop; a step uses the smallest one >= the degree needed


@njit(cache=True, fastmath={"reassoc", "contract", "nsz", "nnan", "ninf"})
def _scale_block(w, lo, hi, a, deg):
    """x_[k] *= exp(a * x_[k]) for k in [lo, hi), exp by its Taylor polynomial of degree ``deg`` (one of _DEGREES, at
    least the degree :func:`exp_poly_degree` asks for); returns the sum of the new weights.

    One loop per degree so that each is vectorised; the sum may be reassociated (a float64 sum of positive terms).
    """
    x_ = w[lo:hi]  # a view: its indices are known non-negative, so the loops vectorise (range(lo, hi) does not)
    s = 0.0
    if deg == 1:
        for k in range(x_.shape[0]):
            v = x_[k] * (1.0 + a * x_[k])
            x_[k] = v
            s += v
    elif deg == 2:
        for k in range(x_.shape[0]):
            x = a * x_[k]
            v = x_[k] * (1.0 + x * (1.0 + x * 0.5))
            x_[k] = v
            s += v
    elif deg == 3:
        for k in range(x_.shape[0]):
            x = a * x_[k]
            v = x_[k] * (1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0))))
            x_[k] = v
            s += v
    elif deg == 4:
        for k in range(x_.shape[0]):
            x = a * x_[k]
            v = x_[k] * (1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0)))))
            x_[k] = v
            s += v
    elif deg == 6:
        for k in range(x_.shape[0]):
            x = a * x_[k]
            v = x_[k] * (1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (
                1.0 / 120.0 + x * (1.0 / 720.0)))))))
            x_[k] = v
            s += v
    else:
        for k in range(x_.shape[0]):
            x = a * x_[k]
            v = x_[k] * (1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (
                1.0 / 120.0 + x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0 + x * (
                    1.0 / 362880.0))))))))))
            x_[k] = v
            s += v
    return s


@njit(cache=True)
def _scale_block_exp(w, lo, hi, a):
    s = 0.0
    m = 0.0
    for k in range(lo, hi):
        v = w[k] * math.exp(a * w[k])
        w[k] = v
        s += v
        m = max(m, v)
    return s, m


@njit(cache=True)
def _block_sum_max(w, lo, hi):
    s = 0.0
    m = 0.0
    for k in range(lo, hi):
        s += w[k]
        m = max(m, w[k])
    return s, m


@njit(cache=True)
def _dense_update(w, bsum, w0, S, M, c, g0, idx, kick):
    """One exact REINFORCE update of one run's weights, in place, in one pass over ``w``.

    The logit change is ``dz_k = kick_k - c * pi_k`` (``pi_k = w_k / S`` before the update) for a wrong token k
    (``kick_k <= 0`` = the sampled tokens' summed scaled advantages, at the sorted distinct indices ``idx``) and
    ``g0 - c * pi_0`` for the answer. Non-sampled tokens use the Taylor polynomial of the degree that is exact for the
    step's largest argument ``|c| M / S`` (``M`` >= every wrong weight); the sampled tokens and the answer use exp,
    and so does the whole pass if that argument is >= _XMAX_POLY. Returns ``(w0_new, W_new, M_new, degree)`` (degree
    -1: exp) with ``M_new`` again an upper bound on the wrong weights; ``bsum`` receives the new block sums.
    """
    n = w.shape[0]
    a = -c / S
    need = _exp_poly_degree_nb(abs(a) * M)
    deg = need
    if need > 0:
        for d in _DEGREES:
            if d >= need:
                deg = d
                break
    old = np.empty(len(idx))
    for i in range(len(idx)):
        old[i] = w[idx[i]]
    W = 0.0
    Mx = 0.0  # exact maximum (exp path only)
    j = 0  # next sampled index
    for b in range(bsum.shape[0]):
        lo = b * _BLOCK
        hi = min(lo + _BLOCK, n)
        m = 0.0
        if deg > 0:
            s = _scale_block(w, lo, hi, a, deg)
        elif deg < 0:
            s, m = _scale_block_exp(w, lo, hi, a)
        else:
            s = bsum[b]
        if j < len(idx) and idx[j] < hi:
            while j < len(idx) and idx[j] < hi:  # sampled tokens of this block: exact factor, then re-add the block
                w[idx[j]] = old[j] * math.exp(kick[j] + a * old[j])
                j += 1
            s, m = _block_sum_max(w, lo, hi)
        Mx = max(Mx, m)
        bsum[b] = s
        W += s
    if deg < 0:
        Mn = Mx
    else:
        # w e^{a w} is increasing in w for a w > -1 (here |a| M < 0.05) and kick <= 0: the largest weight stays below
        Mn = M * math.exp(a * M) * (1.0 + 4.0 * _EPS)
    return w0 * math.exp(g0 + a * w0), W, Mn, deg


@njit(cache=True)
def _draw_wrong(w, bsum, W, u):
    """Inverse-CDF draw of a wrong token with probability w_k / W from one uniform ``u``: blocks, then tokens."""
    t = u * W
    b = 0
    nb_ = bsum.shape[0]
    while b < nb_ - 1 and t >= bsum[b]:
        t -= bsum[b]
        b += 1
    k = b * _BLOCK
    hi = min(k + _BLOCK, w.shape[0])
    while k < hi - 1 and t >= w[k]:
        t -= w[k]
        k += 1
    return k


@njit(cache=True)
def _renormalise(w, bsum, st):
    """Divide every weight by S (so the weights sum to 1) and recompute W, M and the block sums exactly."""
    S = st[0] + st[1]
    inv = 1.0 / S
    n = w.shape[0]
    W = 0.0
    M = 0.0
    tiny = 1e300
    for b in range(bsum.shape[0]):
        lo = b * _BLOCK
        hi = min(lo + _BLOCK, n)
        s = 0.0
        for k in range(lo, hi):
            v = w[k] * inv
            w[k] = v
            s += v
            M = max(M, v)
            tiny = min(tiny, v)
        bsum[b] = s
        W += s
    st[0] = st[0] * inv
    st[1] = W
    st[2] = M
    return tiny


@njit(cache=True)
def _dense_run(w, bsum, st, it, uni, eta, batch, mean_baseline, thr, max_samples, n_grid, samples_to, curves,
               deg_counts, renorm_every):
    """Advance one run until it reaches the last threshold (_DONE), exhausts ``max_samples`` (_BUDGET), or has
    fewer than 2 * batch uniforms left in ``uni`` (_NEED_UNIFORMS; call again with a fresh buffer).

    ``st`` = [w0, W, M] and ``it`` = [samples, steps, next grid index, position in uni] carry the state between
    calls. A sample is the answer if u < p (one uniform), else a wrong token by inverse CDF (a second uniform).
    """
    ys = np.empty(batch, dtype=np.int64)
    n_thr = thr.shape[0]
    while True:
        if it[0] >= max_samples:
            return _BUDGET
        if it[3] + 2 * batch > uni.shape[0]:
            return _NEED_UNIFORMS
        w0, W, M = st[0], st[1], st[2]
        S = w0 + W
        p = w0 / S
        hits = 0
        for b in range(batch):
            u = uni[it[3]]
            it[3] += 1
            if u < p:
                ys[b] = -1
                hits += 1
            else:
                ys[b] = _draw_wrong(w, bsum, W, uni[it[3]])
                it[3] += 1
        base = p if mean_baseline else 0.0
        scale = eta / batch
        c = scale * (hits - batch * base)  # (eta / B) * sum of advantages
        g0 = scale * hits * (1.0 - base)  # (eta / B) * sum of the answer's advantages
        m = batch - hits
        idx = np.empty(m, dtype=np.int64)
        k = 0
        for b in range(batch):
            if ys[b] >= 0:
                idx[k] = ys[b]
                k += 1
        idx.sort()
        # distinct sampled tokens with their summed kicks (each failure adds (eta / B) * (0 - base))
        uniq = np.empty(m, dtype=np.int64)
        kick = np.empty(m)
        nu = 0
        for i in range(m):
            if nu > 0 and uniq[nu - 1] == idx[i]:
                kick[nu - 1] -= scale * base
            else:
                uniq[nu] = idx[i]
                kick[nu] = -scale * base
                nu += 1
        w0n, Wn, Mn, deg = _dense_update(w, bsum, w0, S, M, c, g0, uniq[:nu], kick[:nu])
        st[0], st[1], st[2] = w0n, Wn, Mn
        deg_counts[deg + 1] += 1
        it[0] += batch
        it[1] += 1
        if it[1] % renorm_every == 0:
            if not _renormalise(w, bsum, st) > 1e-290:
                return _UNDERFLOW
        p_now = st[0] / (st[0] + st[1])
        while it[2] < n_grid.shape[0] and n_grid[it[2]] <= it[0]:
            curves[it[2]] = p_now
            it[2] += 1
        for j in range(n_thr):
            if samples_to[j] < 0 and p_now >= thr[j]:
                samples_to[j] = it[0]
        if samples_to[n_thr - 1] >= 0:
            for g in range(it[2], n_grid.shape[0]):
                curves[g] = p_now
            return _DONE


def _fresh_state(V: int):
    """Uniform start: all weights 1 (w0 = 1 for the answer), block sums, st = [w0, W, M]."""
    w = np.ones(V - 1)
    nblocks = -(-(V - 1) // _BLOCK)
    bsum = np.full(nblocks, float(_BLOCK))
    bsum[-1] = (V - 1) - _BLOCK * (nblocks - 1)
    return w, bsum, np.array([1.0, V - 1.0, 1.0])


def dense_update(w0: float, w: np.ndarray, eta: float, ys, adv) -> tuple[float, float, int]:
    """One REINFORCE update ``z += (eta/B) sum_b adv_b (e_{y_b} - pi)`` on weights ``(w0, w)`` by the fused kernel.

    ``w`` (the V - 1 wrong weights, token k + 1 of the logits is ``w[k]``) is updated in place; ``ys`` are sampled
    tokens (0 = the answer) and ``adv`` their advantages; wrong tokens' advantages must be equal (true for 0/1 rewards
    with a baseline that does not depend on the token). Returns ``(w0_new, W_new, degree)``. Used by the tests and
    the benchmark; :func:`reinforce_dense` calls the kernel directly.
    """
    w = np.asarray(w)
    if w.dtype != np.float64 or w.ndim != 1 or not w.flags.c_contiguous:
        raise ParameterError("w must be a contiguous 1-d float64 array")
    ys = np.asarray(ys, dtype=np.int64).ravel()
    adv = np.asarray(adv, dtype=float).ravel()
    if ys.shape != adv.shape or len(ys) == 0 or np.any((ys < 0) | (ys > len(w))):
        raise ParameterError(f"ys={ys!r} must be tokens in [0, {len(w)}] with one advantage each")
    B = len(ys)
    scale = eta / B
    S = w0 + float(w.sum())
    nblocks = -(-len(w) // _BLOCK)
    bsum = np.empty(nblocks)
    wrong = ys > 0
    order = np.argsort(ys[wrong], kind="stable")
    kk, aa = ys[wrong][order] - 1, adv[wrong][order]
    uniq, start = np.unique(kk, return_index=True)
    kick = np.add.reduceat(aa * scale, start) if len(kk) else np.zeros(0)
    c = scale * adv.sum()
    g0 = scale * adv[~wrong].sum()
    w0n, Wn, _, deg = _dense_update(w, bsum, float(w0), S, float(w.max()), c, g0, uniq.astype(np.int64),
                                    np.ascontiguousarray(kick, dtype=float))
    return w0n, Wn, int(deg)


_JIT_READY = False


def _ensure_jit() -> float:
    """Compile (or load from numba's cache) the dense kernels once per process; returns the seconds it took."""
    global _JIT_READY
    if _JIT_READY:
        return 0.0
    t0 = time.perf_counter()
    w, bsum, st = _fresh_state(3)
    _dense_run(w, bsum, st, np.zeros(4, np.int64), np.full(64, 0.5), 1.0, 1, True, np.array([0.9]), 2,
               np.zeros(0, np.int64), np.full(1, -1, np.int64), np.zeros(0), np.zeros(16, np.int64), 256)
    _JIT_READY = True
    return time.perf_counter() - t0


def reinforce_dense(V, thresholds, seed, n_runs: int, eta: float = 1.0, batch: int = 1, baseline: str = "mean",
                    max_samples: int = 10**6, n_grid=None) -> DenseResult:
    """REINFORCE on all V logits (dense engine): a fused numba kernel, one run at a time, one pass over V per step.

    ``baseline``: ``"mean"`` (advantage r - p) or ``"none"`` (advantage r). A run stops when it reaches the last
    threshold (its curve is then held at the pass rate it stopped with) or after ``max_samples`` samples
    (``samples_to`` is then -1 for thresholds not reached, its curve NaN beyond). Exact up to float64 rounding
    (module docstring); memory: V floats. Run i uses child i of ``seed`` (uniforms drawn in chunks from it), so its
    trajectory does not depend on ``n_runs``.
    """
    V = _check_V(V)
    thr = _check_thresholds(thresholds)
    eta = _check_eta(eta)
    batch = integer("batch", batch, minimum=1, maximum=4096)
    one_of("baseline", baseline, ("mean", "none"))
    max_samples = integer("max_samples", max_samples, minimum=1)
    n_runs = integer("n_runs", n_runs, minimum=1)
    n_grid = np.unique(np.asarray([] if n_grid is None else n_grid, dtype=np.int64))
    jit_s = _ensure_jit()
    samples_to = np.full((n_runs, len(thr)), -1, dtype=np.int64)
    curves = np.full((n_runs, len(n_grid)), np.nan)
    deg_counts = np.zeros(16, dtype=np.int64)
    chunk = max(4096, 16 * batch)
    steps = 0
    for i, g in enumerate(generators(seed, n_runs)):
        w, bsum, st = _fresh_state(V)
        it = np.zeros(4, dtype=np.int64)
        curves[i, n_grid == 0] = st[0] / (st[0] + st[1])
        it[2] = int(np.count_nonzero(n_grid == 0))
        while True:
            uni = g.random(chunk)
            it[3] = 0
            status = _dense_run(w, bsum, st, it, uni, eta, batch, baseline == "mean", thr, max_samples, n_grid,
                                samples_to[i], curves[i], deg_counts, 256)
            if status == _UNDERFLOW:
                raise FloatingPointError(f"a weight fell below 1e-290 in run {i} (V={V}, eta={eta}); lower eta")
            if status != _NEED_UNIFORMS:
                break
        steps += int(it[1])
    degrees = {d - 1: int(k) for d, k in enumerate(deg_counts) if k}
    return DenseResult(samples_to, curves, n_grid, steps, degrees, jit_s)
