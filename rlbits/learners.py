"""The fast engine for one prompt: a tabular softmax over V tokens, one correct answer (introduced in chapter 6).

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
  float64 rounding). Two devices keep it close to the memory-copy floor: (i) the per-token factor
  ``exp(-c * pi_i)`` of a wrong token is evaluated by its Taylor polynomial of the lowest degree whose truncation
  error is below 2**-53 for the largest argument of that step (``|x|**(n+1) / (n+1)! / (1 - |x|) < 2**-53``), which
  is as accurate as ``np.exp`` and much cheaper (``np.exp`` is used when the argument is too large); (ii) the
  sampled wrong token is drawn by rejection from a uniform proposal against an upper bound on the wrong weights
  (exact: every accepted draw has the target distribution), so no cumulative sum is needed.

Numerics: float64 throughout; ``p`` and ``q`` are both computed as logistic functions of the gap, never as ``1 - p``.
Randomness: one :class:`numpy.random.Generator` per run, child ``i`` of the given :class:`~numpy.random.SeedSequence`
(spawn key ``(i,)``), so run i's trajectory does not depend on how many runs are simulated together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
    logc = np.array([math.lgamma(batch + 1) - math.lgamma(k + 1) - math.lgamma(batch - k + 1) for k in ks])
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

@dataclass
class DenseResult:
    """Output of :func:`reinforce_dense`: samples to each threshold (``-1`` if not reached within the budget),
    pass rate at each grid point (NaN after a run stopped), and the number of dense steps taken."""

    samples_to: np.ndarray
    curves: np.ndarray
    n_grid: np.ndarray
    steps: int
    poly_degree_counts: dict


def exp_poly_degree(xmax: float) -> int:
    """Lowest Taylor degree n with |x|^(n+1)/(n+1)!/(1-|x|) < 2^-53 for |x| <= xmax; 0 if xmax == 0; -1: use exp."""
    if xmax == 0.0:
        return 0
    if xmax >= 0.05:
        return -1
    term = 1.0
    for n in range(1, 14):
        term *= xmax / n
        if term * xmax / (n + 1) / (1 - xmax) < _EPS:
            return n
    return -1


def _exp_factor(x: np.ndarray, degree: int, out: np.ndarray) -> np.ndarray:
    """exp(x) elementwise into ``out`` by Horner's rule of the given Taylor degree (``-1``: np.exp).

    ``out`` may be ``x`` itself only for degrees -1, 0 and 1."""
    if degree > 1 and out is x:
        raise ValueError("Horner's rule of degree > 1 needs an output buffer distinct from x")
    if degree < 0:
        return np.exp(x, out=out)
    if degree == 0:
        out.fill(1.0)
        return out
    if degree == 1:
        return np.add(x, 1.0, out=out)
    np.multiply(x, 1.0 / math.factorial(degree), out=out)
    for k in range(degree - 1, 0, -1):
        out += 1.0 / math.factorial(k)
        out *= x
    out += 1.0
    return out


class DenseState:
    """All V weights ``s = exp(z - const)`` of ``R`` runs (rows); token 0 is the answer (see :func:`reinforce_dense`)."""

    def __init__(self, R: int, V: int):
        self.s = np.ones((R, V))
        self.W = np.full(R, V - 1.0)  # sum of the wrong weights
        self.M = np.ones(R)  # upper bound on the largest wrong weight

    @property
    def p(self):
        return self.s[:, 0] / (self.s[:, 0] + self.W)

    @property
    def q(self):
        return self.W / (self.s[:, 0] + self.W)

    def apply(self, eta: float, batch: int, ys: np.ndarray, adv: np.ndarray, buf: np.ndarray,
              buf2: np.ndarray | None = None) -> int:
        """One update ``z += (eta/B) sum_b adv_b (e_{y_b} - pi)`` for every row, exactly (to float64 rounding).

        ``ys`` and ``adv`` have shape (R, B); wrong tokens may only receive non-positive advantages (true for 0/1
        rewards with baseline 0 or p), which keeps ``M`` an upper bound. Returns the polynomial degree used.
        """
        s, S = self.s, self.s[:, 0] + self.W
        c = (eta / batch) * adv.sum(axis=1)  # dense part: z_i -= c * pi_i
        xmax = float(np.max(np.abs(c) * self.M / S))
        degree = exp_poly_degree(xmax)
        if xmax >= 1.0:
            raise FloatingPointError(f"step too large for a monotone update (|c| max pi = {xmax}); lower eta")
        sampled = np.zeros_like(c)  # sum of advantages of samples that hit the answer
        np.add.at(sampled, np.nonzero(ys == 0)[0], adv[ys == 0])
        new0 = s[:, 0] * np.exp((eta / batch) * sampled - c * s[:, 0] / S)
        wrong = s[:, 1:]
        x = buf
        np.multiply(wrong, (-c / S)[:, None], out=x)
        if degree > 1 and buf2 is None:
            buf2 = np.empty_like(x)
        f = _exp_factor(x, degree, x if degree <= 1 else buf2)
        wrong *= f
        s[:, 0] = new0
        self.M *= np.exp(-c * self.M / S)
        rows, cols = np.nonzero(ys != 0)
        if len(rows):
            kick = np.exp((eta / batch) * adv[rows, cols])
            if np.any(kick > 1.0):
                raise ValueError("a wrong token received a positive advantage")
            np.multiply.at(s, (rows, ys[rows, cols]), kick)
        self.W = wrong.sum(axis=1)
        return degree

    def refresh(self):
        """Renormalise each row to sum 1 and recompute the exact maximum wrong weight."""
        S = self.s[:, 0] + self.W
        self.s /= S[:, None]
        self.W = self.s[:, 1:].sum(axis=1)
        self.M = self.s[:, 1:].max(axis=1)


class _Uniforms:
    """Per-run buffers of uniforms, consumed in order, so each run's stream is independent of the others."""

    def __init__(self, gens, size=2048):
        self.gens, self.size = gens, size
        self.buf = np.stack([g.random(size) for g in gens])
        self.pos = np.zeros(len(gens), dtype=np.int64)

    def take(self, rows: np.ndarray) -> np.ndarray:
        low = rows[self.pos[rows] >= self.size]
        for r in low:
            self.buf[r] = self.gens[r].random(self.size)
            self.pos[r] = 0
        u = self.buf[rows, self.pos[rows]]
        self.pos[rows] += 1
        return u


def _sample(state: DenseState, uni: _Uniforms, ids: np.ndarray, V: int) -> np.ndarray:
    """One sample per row of ``state`` (run ids ``ids``): the answer with probability p, else a wrong token drawn
    by rejection (uniform proposal j, accepted with probability s_j / M, M >= every wrong weight)."""
    y = np.zeros(len(ids), dtype=np.int64)
    pending = np.nonzero(uni.take(ids) >= state.p)[0]
    while len(pending):
        j = 1 + np.minimum((uni.take(ids[pending]) * (V - 1)).astype(np.int64), V - 2)
        accept = uni.take(ids[pending]) * state.M[pending] < state.s[pending, j]
        y[pending[accept]] = j[accept]
        pending = pending[~accept]
    return y


def reinforce_dense(V, thresholds, seed, n_runs: int, eta: float = 1.0, batch: int = 1, baseline: str = "mean",
                    max_samples: int = 10**6, n_grid=None) -> DenseResult:
    """REINFORCE on all V logits (dense engine), runs as rows of one array.

    ``baseline``: ``"mean"`` (advantage r - p) or ``"none"`` (advantage r). A run stops when it reaches the last
    threshold (its curve is then held at the pass rate it stopped with) or after ``max_samples`` samples
    (``samples_to`` is then -1 for thresholds not reached). Exact up to float64 rounding (module docstring);
    memory: n_runs x V floats.
    """
    V = _check_V(V)
    thr = _check_thresholds(thresholds)
    eta = _check_eta(eta)
    batch = integer("batch", batch, minimum=1, maximum=4096)
    one_of("baseline", baseline, ("mean", "none"))
    max_samples = integer("max_samples", max_samples, minimum=1)
    n_runs = integer("n_runs", n_runs, minimum=1)
    n_grid = np.unique(np.asarray([] if n_grid is None else n_grid, dtype=np.int64))
    uni = _Uniforms(generators(seed, n_runs))
    state = DenseState(n_runs, V)
    buf, buf2 = np.empty((n_runs, V - 1)), np.empty((n_runs, V - 1))
    samples_to = np.full((n_runs, len(thr)), -1, dtype=np.int64)
    curves = np.full((n_runs, len(n_grid)), np.nan)
    ids = np.arange(n_runs)  # run id of each row of the state
    degrees: dict = {}
    n, steps, g = 0, 0, 0
    while g < len(n_grid) and n_grid[g] == 0:
        curves[:, g] = state.p
        g += 1
    while len(ids) and n < max_samples:
        p_before = state.p
        ys = np.stack([_sample(state, uni, ids, V) for _ in range(batch)], axis=1)
        adv = (ys == 0).astype(float)
        if baseline == "mean":
            adv -= p_before[:, None]
        d = state.apply(eta, batch, ys, adv, buf, buf2)
        degrees[d] = degrees.get(d, 0) + 1
        n += batch
        steps += 1
        if steps % 256 == 0:
            state.refresh()
        p_now = state.p
        while g < len(n_grid) and n_grid[g] <= n:
            curves[ids, g] = p_now
            g += 1
        for j, t in enumerate(thr):
            hit = (samples_to[ids, j] < 0) & (p_now >= t)
            samples_to[ids[hit], j] = n
        done = samples_to[ids, -1] >= 0
        if np.any(done):
            curves[ids[done][:, None], np.arange(g, len(n_grid))[None, :]] = p_now[done][:, None]
            keep = ~done
            ids = ids[keep]
            state.s, state.W, state.M = state.s[keep], state.W[keep], state.M[keep]
            buf, buf2 = buf[: len(ids)], buf2[: len(ids)]
    return DenseResult(samples_to, curves, n_grid, steps, degrees)


# --------------------------------------------------------------------------------------------- the gradient identity

def reinforce_expected_gradient(logits, answer: int = 0):
    """Exact E_y[r(y) grad_z log pi_y] for 0/1 reward r(y) = [y == answer], by enumerating all V actions,
    and p * grad_z log pi_answer (p times the SL gradient). Chapter 6 checks that the two are equal."""
    z = np.asarray(logits, dtype=float)
    if z.ndim != 1 or len(z) < 2 or not np.all(np.isfinite(z)):
        raise ParameterError(f"logits must be a finite vector of length >= 2, got shape {z.shape}")
    answer = integer("answer", answer, minimum=0, maximum=len(z) - 1)
    pi = np.exp(z - z.max())
    pi /= pi.sum()
    rewards = (np.arange(len(z)) == answer).astype(float)
    weights = pi * rewards  # pi_y r_y for every action y
    expected = weights - weights.sum() * pi  # sum_y pi_y r_y (e_y - pi), all V terms at once
    sl = -pi
    sl[answer] += 1.0
    return expected, pi[answer] * sl


def reinforce_gradient_monte_carlo(logits, n_samples: int, rng: np.random.Generator, answer: int = 0):
    """Monte Carlo estimate of E[r grad log pi_y] from ``n_samples`` sampled actions, with its standard error
    per coordinate (chapter 6)."""
    z = np.asarray(logits, dtype=float)
    n_samples = integer("n_samples", n_samples, minimum=2)
    pi = np.exp(z - z.max())
    pi /= pi.sum()
    ys = rng.choice(len(z), size=n_samples, p=pi)  # sampled actions; r = 1 only where y == answer
    hits = int(np.count_nonzero(ys == answer))  # sum_i r_i (e_{y_i} - pi) = hits * (e_answer - pi)
    sl = -pi
    sl[answer] += 1.0
    mean = hits / n_samples * sl
    f = hits / n_samples
    return mean, np.sqrt(f * (1 - f) / (n_samples - 1)) * np.abs(sl)
