"""A shared softmax over strategies, trained by REINFORCE on a population of problems (chapter 12).

Introduced in chapter 12, "Elicitation and jaggedness".

The policy does not see the problem: it is one softmax over ``S`` strategies (a simple heuristic, a general strategy,
and junk), shared by every problem. Strategy ``s`` solves problem ``i`` with probability ``solve[s, i]``. Because
the problem is drawn afresh for every attempt and the policy cannot condition on it, the *training* dynamics depend on
the population only through the mean solve rates ``R_s = mean_i solve[s, i]``; the *evaluation* (pass@k) depends on
the whole matrix, because pass@k averages ``1 - (1 - q_i)^k`` over problems, with ``q_i = sum_s pi_s solve[s, i]``.

- :func:`make_population` draws the solve matrix; :func:`base_logits` builds a base policy.
- :func:`train_reinforce` runs batched REINFORCE with a batch-mean baseline over many seeds, one independent
  random stream per seed (a seed's run does not change with the number of seeds batched together), with optional
  entropy bonus and a curriculum (a different problem mix for the first steps).
- :func:`expected_update` is the exact expected update of one step, ``lr (B-1)/B pi_s (R_s - R_bar)``.
- :func:`warm_start` applies supervised steps on traces of one strategy.
- :func:`pass_at_k_exact`, :func:`sample_correct_counts` and :func:`pass_at_k_from_counts` give pass@k exactly and
  with the unbiased estimator of Chen et al. (2021) from ``n`` sampled attempts per problem.
- :func:`crossover_k` finds the smallest k at which the base policy's pass@k catches up with the trained one's.
- :func:`escape_steps` is the mean-field time for a rare, better strategy to overtake an entrenched one.

The estimator is :func:`rlbits.passk.pass_at_k_unbiased` (chapter 8), evaluated at every count ``c`` and every
``k`` at once and weighted by the histogram of the counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rlbits import passk
from rlbits.crossings import first_crossing
from rlbits.language import softmax_rows
from rlbits.validate import ParameterError, integer, probability, real

HEURISTIC, GENERAL = 0, 1  #: indices of the two named strategies; junk strategies follow


@dataclass(frozen=True)
class Population:
    """A population of problems: ``solve[s, i]`` is the chance that strategy ``s`` solves problem ``i``.

    Row 0 is the heuristic, row 1 the general strategy, the remaining rows junk. ``heuristic_applies[i]`` says
    whether problem ``i`` has the shape the heuristic matches.
    """

    solve: np.ndarray
    heuristic_applies: np.ndarray

    @property
    def n_strategies(self) -> int:
        return self.solve.shape[0]

    def mean_rates(self, problems=None) -> np.ndarray:
        """``R_s``: the mean solve rate of each strategy over all problems (or over the boolean mask ``problems``)."""
        cols = self.solve if problems is None else self.solve[:, np.asarray(problems, dtype=bool)]
        if cols.shape[1] == 0:
            raise ParameterError("problems selects no problem; allowed: a mask with at least one True")
        return cols.mean(axis=1)


def make_population(rng, n_problems: int = 200, heuristic_share: float = 0.5, heuristic_beta=(9.0, 1.0),
                    general_beta=(7.0, 3.0), n_junk: int = 8) -> Population:
    """Draw a population: the heuristic applies to a ``heuristic_share`` of problems and solves those with a
    Beta(``heuristic_beta``) chance (others: 0); the general strategy solves every problem with a
    Beta(``general_beta``) chance; ``n_junk`` junk strategies solve nothing."""
    n_problems = integer("n_problems", n_problems, minimum=1)
    heuristic_share = probability("heuristic_share", heuristic_share)
    n_junk = integer("n_junk", n_junk, minimum=0)
    for name, (a, b) in (("heuristic_beta", heuristic_beta), ("general_beta", general_beta)):
        real(f"{name}[0]", a, minimum=0, open_low=True)
        real(f"{name}[1]", b, minimum=0, open_low=True)
    applies = rng.random(n_problems) < heuristic_share
    h = rng.beta(*heuristic_beta, size=n_problems) * applies
    g = rng.beta(*general_beta, size=n_problems)
    solve = np.vstack([h, g, np.zeros((n_junk, n_problems))])
    return Population(solve=solve, heuristic_applies=applies)


def base_logits(p_heuristic: float, p_general: float, n_junk: int) -> np.ndarray:
    """Logits of a base policy with the given probabilities of the heuristic and the general strategy; the rest of
    the mass is shared equally by ``n_junk`` junk strategies (``n_junk = 0`` needs the two to sum to 1)."""
    p_heuristic = probability("p_heuristic", p_heuristic, open_low=True, open_high=True)
    p_general = probability("p_general", p_general, open_low=True, open_high=True)
    n_junk = integer("n_junk", n_junk, minimum=0)
    rest = 1.0 - p_heuristic - p_general
    if n_junk == 0 and abs(rest) > 1e-12:
        raise ParameterError(f"p_heuristic + p_general = {p_heuristic + p_general!r} must be 1 when n_junk = 0")
    if n_junk > 0 and rest <= 0:
        raise ParameterError(f"p_heuristic + p_general = {p_heuristic + p_general!r} must be < 1 with junk")
    probs = [p_heuristic, p_general] + [rest / n_junk] * n_junk
    return np.log(np.asarray(probs, dtype=float))


def softmax(logits) -> np.ndarray:
    """Softmax over the last axis in float64: :func:`rlbits.language.softmax_rows`, which computes what
    :func:`scipy.special.softmax` does without its dispatch (it runs twice per step of :func:`train_reinforce`)."""
    return softmax_rows(logits)


def expected_update(logits, rates, lr: float, batch: int) -> np.ndarray:
    """The exact expected change of the logits in one REINFORCE step with a batch-mean baseline.

    One step samples ``batch`` strategies from the policy, each solving a fresh problem with chance ``rates[s]``,
    and adds ``lr / B * sum_j (r_j - b) (e_{s_j} - pi)`` with ``b`` the batch's mean reward. Since the advantages
    sum to zero the ``-pi`` term cancels, and the expectation is ``lr (B - 1) / B * pi_s (R_s - R_bar)``
    (the baseline includes the sample itself, which shrinks the step by ``(B - 1)/B``).
    """
    batch = integer("batch", batch, minimum=1)
    lr = real("lr", lr, minimum=0)
    pi = softmax(logits)
    rates = np.asarray(probability("rates", rates), dtype=float)
    r_bar = (pi * rates).sum(axis=-1, keepdims=True)
    return lr * (batch - 1) / batch * pi * (rates - r_bar)


def entropy_gradient(logits) -> np.ndarray:
    """Gradient of the policy entropy (nats) with respect to the logits: ``-pi_s (log pi_s + H)``."""
    return _entropy_gradient(softmax(logits))


def _entropy_gradient(pi: np.ndarray) -> np.ndarray:
    """:func:`entropy_gradient` given the policy ``pi`` (a training step has it already)."""
    logpi = np.log(np.maximum(pi, 1e-300))
    H = -(pi * logpi).sum(axis=-1, keepdims=True)
    return -pi * (logpi + H)


def warm_start(logits, strategy: int, traces: int, lr: float) -> np.ndarray:
    """Supervised fine-tuning on ``traces`` traces of ``strategy``: one cross-entropy step ``lr (e_s - pi)`` each."""
    traces = integer("traces", traces, minimum=0)
    lr = real("lr", lr, minimum=0)
    z = np.array(logits, dtype=float)
    strategy = integer("strategy", strategy, minimum=0, maximum=z.shape[-1] - 1)
    for _ in range(traces):
        grad = -softmax(z)
        grad[..., strategy] += 1.0
        z = z + lr * grad
    return z


@dataclass
class TrainResult:
    """What :func:`train_reinforce` returns: final logits per run, the policy at the recorded steps, and the
    expected number of rewarded samples of each strategy summed over training (per run)."""

    logits: np.ndarray  # (runs, S)
    steps: np.ndarray  # (n_records,)
    probs: np.ndarray  # (n_records, runs, S)
    rewarded: np.ndarray  # (runs, S): sum over steps of batch * pi_s * R_s

    @property
    def final_probs(self) -> np.ndarray:
        return softmax(self.logits)

    def subset(self, index) -> "TrainResult":
        """The runs selected by ``index`` (a slice or an index array)."""
        return TrainResult(logits=self.logits[index], steps=self.steps, probs=self.probs[:, index],
                           rewarded=self.rewarded[index])


def _per_run(name, value, m, check):
    """A scalar or one value per run, validated by ``check`` and returned as an array of length ``m``."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(m, arr)
    if arr.shape != (m,):
        raise ParameterError(f"{name} has shape {arr.shape}; allowed: a scalar or one value per run ({m})")
    for x in np.unique(arr):
        check(name, x)
    return arr


def train_reinforce(logits0, rates, *, seeds, steps: int, batch: int = 32, lr: float = 0.5,
                    entropy_bonus=0.0, curriculum_rates=None, curriculum_steps=0,
                    record_every: int = 10, chunk: int = 100) -> TrainResult:
    """REINFORCE with a batch-mean baseline on the shared softmax, for ``len(seeds)`` independent runs at once.

    ``seeds``: a list of :class:`numpy.random.SeedSequence`, one per run; run ``j`` draws its strategies and
    rewards from its own stream only (uniforms in blocks of ``chunk`` steps, which concatenate to the same stream
    whatever the block size), so it gives the same result whether it is trained alone or with others.
    ``logits0``: the starting logits, shape ``(S,)`` for all runs or ``(runs, S)``.
    ``rates``: the mean solve rate of each strategy (what a uniformly drawn problem gives); for the first
    ``curriculum_steps`` steps ``curriculum_rates`` is used instead. ``entropy_bonus`` adds
    ``lr * entropy_bonus * dH/dlogits`` each step. ``entropy_bonus`` and ``curriculum_steps`` may be scalars or
    one value per run, so that runs with different settings share one batched loop.
    """
    steps = integer("steps", steps, minimum=1)
    batch = integer("batch", batch, minimum=2)
    lr = real("lr", lr, minimum=0)
    record_every = integer("record_every", record_every, minimum=1)
    chunk = integer("chunk", chunk, minimum=1)
    rates = np.asarray(probability("rates", rates), dtype=float)
    seeds = list(seeds)
    if not seeds:
        raise ParameterError("seeds is empty; allowed: at least one SeedSequence")
    m, S = len(seeds), rates.size
    beta = _per_run("entropy_bonus", entropy_bonus, m, lambda n, x: real(n, x, minimum=0))
    cur_steps = _per_run("curriculum_steps", curriculum_steps, m,
                         lambda n, x: integer(n, x, minimum=0, maximum=steps)).astype(int)
    if cur_steps.any() and curriculum_rates is None:
        raise ParameterError("curriculum_steps > 0 needs curriculum_rates")
    cur_rates = rates if curriculum_rates is None else np.asarray(probability("curriculum_rates", curriculum_rates))
    z0 = np.asarray(logits0, dtype=float)
    if z0.ndim == 1:
        z0 = np.tile(z0, (m, 1))
    if z0.shape != (m, S) or rates.ndim != 1 or cur_rates.shape != rates.shape:
        raise ParameterError(f"logits0 {z0.shape} must be (S,) or (runs, S) with S = len(rates) = {S}, and "
                             f"curriculum_rates {cur_rates.shape} like rates")
    rngs = [np.random.default_rng(s) for s in seeds]
    z = z0.copy()
    rewarded = np.zeros((m, S))
    rec_steps, rec_probs = [0], [softmax(z)]
    offsets = np.arange(m)[:, None]
    use_entropy = bool(beta.any())
    switches = set(cur_steps.tolist())  # the steps at which a run leaves its curriculum: R changes only there
    R = None
    count_type, below = np.min_scalar_type(S - 1), np.empty((m, batch), dtype=bool)
    t = 0
    while t < steps:
        c = min(chunk, steps - t)
        u = np.empty((m, c, batch, 2))  # each run's block filled from its own stream, as rng.random((c, B, 2))
        for j, rng in enumerate(rngs):
            rng.random(out=u[j])
        for i in range(c):
            if R is None or t in switches:
                R = np.where((t < cur_steps)[:, None], cur_rates, rates)  # (m, S)
            pi = softmax(z)
            rewarded += batch * pi * R
            cum = np.cumsum(pi, axis=1)
            # inverse-CDF sample: count the cumulative sums (all but the last) at or below u; the smallest integer
            # type and one reused comparison buffer make these S - 1 passes about twice as fast as intp counts
            u0 = np.ascontiguousarray(u[:, i, :, 0])
            strat = np.zeros((m, batch), dtype=count_type)
            for s in range(S - 1):
                np.greater_equal(u0, cum[:, s:s + 1], out=below)
                strat += below
            reward = (u[:, i, :, 1] < np.take_along_axis(R, strat, axis=1)).astype(float)
            adv = reward - reward.mean(axis=1, keepdims=True)
            step = np.bincount((strat + offsets * S).ravel(), weights=adv.ravel(), minlength=m * S)
            step = step.reshape(m, S) / batch
            if use_entropy:
                step = step + beta[:, None] * _entropy_gradient(pi)  # pi is softmax(z): z has not moved yet
            z = z + lr * step
            t += 1
            if t % record_every == 0 or t == steps:
                rec_steps.append(t)
                rec_probs.append(softmax(z))
    return TrainResult(logits=z, steps=np.asarray(rec_steps), probs=np.asarray(rec_probs), rewarded=rewarded)


def mean_field(logits0, rates, *, steps: int, batch: int = 32, lr: float = 0.5, entropy_bonus: float = 0.0,
               curriculum_rates=None, curriculum_steps: int = 0) -> np.ndarray:
    """The deterministic mean-field trajectory: iterate the expected update of :func:`expected_update` (plus the
    entropy bonus) from each row of ``logits0`` (shape ``(S,)`` or ``(m, S)``). Returns the probabilities at steps
    ``0..steps``, shape ``(steps + 1, m, S)`` (``m = 1`` for 1-d input)."""
    steps = integer("steps", steps, minimum=0)
    batch = integer("batch", batch, minimum=1)
    lr = real("lr", lr, minimum=0)
    entropy_bonus = real("entropy_bonus", entropy_bonus, minimum=0)
    curriculum_steps = integer("curriculum_steps", curriculum_steps, minimum=0)
    z = np.atleast_2d(np.asarray(logits0, dtype=float)).copy()
    rates = np.asarray(probability("rates", rates), dtype=float)
    cur = rates if curriculum_rates is None else np.asarray(probability("curriculum_rates", curriculum_rates))
    lr_eff = lr * (batch - 1) / batch
    out = np.empty((steps + 1,) + z.shape)
    out[0] = softmax(z)
    for t in range(steps):
        pi = out[t]
        R = cur if t < curriculum_steps else rates
        step = lr_eff * pi * (R - (pi * R).sum(axis=1, keepdims=True))
        if entropy_bonus:
            step = step + lr * entropy_bonus * entropy_gradient(z)
        z = z + step
        out[t + 1] = softmax(z)
    return out


def escape_steps(p_min: float, delta: float, lr_eff: float) -> float:
    """Mean-field steps for a strategy at probability ``p_min`` (junk extinct, the rest on the entrenched strategy)
    to reach probability 1/2, when it solves ``delta`` more problems on average.

    With ``z = log(p / (1 - p))`` the expected update gives ``dz/dt = 2 lr_eff delta p (1 - p)``, whose solution
    gives ``t = (e^{-z0} - e^{z0} - 2 z0) / (2 lr_eff delta)``: about ``1 / (2 lr_eff delta p_min)``.
    """
    p_min = probability("p_min", p_min, open_low=True, open_high=True)
    delta = real("delta", delta, minimum=0, open_low=True)
    lr_eff = real("lr_eff", lr_eff, minimum=0, open_low=True)
    z0 = math.log(p_min) - math.log1p(-p_min)
    return (math.exp(-z0) - math.exp(z0) - 2 * z0) / (2 * lr_eff * delta)


def problem_pass_rates(probs, solve) -> np.ndarray:
    """``q[j, i] = sum_s probs[j, s] solve[s, i]``: the single-attempt pass rate of policy ``j`` on problem ``i``."""
    probs = np.atleast_2d(np.asarray(probs, dtype=float))
    return np.clip(probs @ np.asarray(solve, dtype=float), 0.0, 1.0)


def pass_at_k_exact(probs, solve, ks) -> np.ndarray:
    """pass@k averaged over problems and over the policies in ``probs`` (rows): ``mean 1 - (1 - q)^k``."""
    ks = np.asarray(ks, dtype=float)
    if np.any(ks < 1):
        raise ParameterError(f"ks contains {float(ks[ks < 1].flat[0])!r}; allowed: k >= 1")
    q = problem_pass_rates(probs, solve).ravel()
    with np.errstate(divide="ignore"):
        logfail = np.log1p(-np.minimum(q, 1.0))  # -inf where q = 1
    flat = ks.ravel()
    out = np.empty(flat.size)
    block = max(1, 2_000_000 // max(q.size, 1))
    for j in range(0, flat.size, block):
        kb = flat[j:j + block]
        out[j:j + block] = -np.expm1(np.outer(kb, logfail)).mean(axis=1)
    return out.reshape(ks.shape)


def sample_correct_counts(probs, solve, n: int, seeds) -> np.ndarray:
    """Correct answers among ``n`` sampled attempts at every problem, for each policy ``j`` (row of ``probs``),
    drawn from ``seeds[j]`` only. The attempts are i.i.d. given the policy, so ``c ~ Binomial(n, q)`` exactly."""
    n = integer("n", n, minimum=1)
    q = problem_pass_rates(probs, solve)
    seeds = list(seeds)
    if len(seeds) != q.shape[0]:
        raise ParameterError(f"{len(seeds)} seeds for {q.shape[0]} policies; allowed: one seed per policy")
    return np.stack([np.random.default_rng(s).binomial(n, row) for s, row in zip(seeds, q)])


@lru_cache(maxsize=8)
def _estimator_table(n: int, ks: tuple) -> np.ndarray:
    """``T[c, j]``: :func:`rlbits.passk.pass_at_k_unbiased` at ``c = 0..n`` correct of ``n`` and ``k = ks[j]``,
    cached (chapter 12 evaluates the same table for every group of runs)."""
    table = passk.pass_at_k_unbiased(n, np.arange(n + 1)[:, None], np.asarray(ks, dtype=np.int64)[None, :])
    table.setflags(write=False)  # cached: shared between calls
    return table


def pass_at_k_from_counts(n: int, counts, ks) -> np.ndarray:
    """The unbiased pass@k estimate ``1 - C(n-c, k)/C(n, k)`` (Chen et al. 2021) averaged over all entries of
    ``counts`` (correct answers out of ``n`` attempts each), for every k in ``ks`` (1 <= k <= n)."""
    n = integer("n", n, minimum=1)
    counts = np.asarray(counts)
    if counts.dtype.kind not in "iu" or np.any(counts < 0) or np.any(counts > n):
        raise ParameterError(f"counts must be integers in [0, n={n}]")
    ks = np.asarray(ks)
    if ks.dtype.kind not in "iu" or np.any(ks < 1) or np.any(ks > n):
        raise ParameterError(f"ks must be integers in [1, n={n}]")
    hist = np.bincount(counts.ravel(), minlength=n + 1) / counts.size
    # the estimator at every count c = 0..n and every k, weighted by how often each count occurs
    return hist @ _estimator_table(n, tuple(int(k) for k in ks.ravel()))


def crossover_k(base_curve, trained_curve, ks, tol: float = 1e-9):
    """The smallest ``k`` in ``ks`` from which the base policy's pass@k exceeds the trained one's by more than
    ``tol`` for every larger ``k`` in ``ks``, provided the trained policy is ahead at the smallest ``k``; ``None``
    if the base never overtakes it (two curves that both round to 1 are a tie, not a crossover)."""
    base = np.asarray(base_curve, dtype=float)
    trained = np.asarray(trained_curve, dtype=float)
    ks = np.asarray(ks)
    if not (base.shape == trained.shape == ks.shape) or base.ndim != 1:
        raise ParameterError("base_curve, trained_curve and ks must be 1-d arrays of one length")
    tol = real("tol", tol, minimum=0)
    if trained[0] <= base[0]:
        return None
    ahead = base > trained + tol
    if not ahead[-1]:
        return None
    last_behind = np.nonzero(~ahead)[0].max()
    return int(ks[last_behind + 1])


def half_point(x, y, level: float = 0.5):
    """The first ``x`` at which ``y`` (sampled at increasing ``x > 0``) crosses ``level`` from below, interpolated
    linearly in ``log x``; ``None`` if it never does (chapter 12: where half the runs find the general strategy)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or np.any(x <= 0) or np.any(np.diff(x) <= 0):
        raise ParameterError("half_point needs increasing positive x and y of one length")
    if y[0] >= level:
        return float(x[0]) if y[0] == level else None
    x_half = first_crossing(x, y, level, rising=True)
    return None if math.isnan(x_half) else x_half
