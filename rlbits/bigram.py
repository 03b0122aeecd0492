"""Next-token prediction by SL and by RL on one bigram table (chapter 7).

Introduced in chapter 7, "Next-token prediction by RL".

A bigram model is a ``K x K`` table of logits ``W``: row ``s`` is the model's next-token distribution
``q_s = softmax(W[s])`` after the token ``s``. It is trained on (context, next token) pairs ``(s, y)`` drawn from a
:class:`rlbits.language.MarkovLanguage` in one of two ways, on *the same* pairs:

- **SL** (cross-entropy SGD): the per-sample gradient of ``log q_s(y)`` with respect to ``W[s]`` is
  ``e_y - q_s``; the update is ``W[s] += lr * (e_y - q_s)``.
- **RL** (REINFORCE): the model samples a token ``a ~ q_s`` and is told only the reward ``r = 1[a == y]``; the
  update is ``W[s] += lr * (r - b_s) * (e_a - q_s)`` with a baseline ``b_s`` that does not depend on ``a``:

  * ``"expected"``: the exact expected reward ``b_s = sum_y P(y|s) q_s(y)`` (a perfect critic; it uses the language's
    true transition row, which a real learner does not have, but it is the same for every sample of the context and
    carries no information about the sample's data token ``y``);
  * ``"running"``: a per-context running mean of the rewards the learner has seen (an exponential moving average
    with rate ``baseline_rate``, starting at 0 and updated after each minibatch, so a sample's baseline never
    includes its own reward), which a real learner does have;
  * ``"none"``: ``b_s = 0``.

Both methods take minibatches of ``batch`` pairs: the per-sample gradients of a minibatch are computed at the same
table and summed (the step size is per sample). The batched implementation reduces a minibatch to bigram counts
(``numpy.bincount``) over the rows it touches, which is exact: every sample of one context in a minibatch sees the
same row ``q_s``. RL's guesses are drawn by inverse CDF from one uniform each. The plain
per-sample loop :func:`train_reference` is kept for the tests, which check that the two agree to rounding on the same
random numbers.

Randomness: each run gets its own :class:`numpy.random.SeedSequence`, from which two independent streams are derived
(the children a first ``spawn(2)`` would give, without advancing the sequence, so reusing it gives the same streams):
one for the data pairs (so SL and RL given the same seed see exactly the same data) and one for RL's own samples. A
run's trajectory therefore does not depend on how many runs are batched together.

The learning curves are exact expectations, not sampled losses: at each checkpoint the table's expected cross-entropy
and excess loss are computed from the known chain by :func:`table_stats` (which the tests hold to
:meth:`MarkovLanguage.cross_entropy` and ``excess_loss``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rlbits.crossings import first_crossing
from rlbits.inverse_cdf import count_at_or_below, count_below
from rlbits.language import MarkovLanguage, log_softmax_rows, softmax_rows
from rlbits.validate import ParameterError, integer, one_of, real

METHODS = ("SL", "RL")
BASELINES = ("expected", "running", "none")
_LN2 = np.log(2.0)
STATS = ("excess", "excess_det", "excess_rand", "ce_det", "ce_rand", "cross_entropy", "match", "reward_entropy",
         "gns_sl", "gns_rl", "table_excess")
_CHUNK_STEPS = 64  # minibatches of data drawn at once per run (fixed, so the data stream does not depend on n)


@dataclass(frozen=True)
class Curves:
    """Learning curves of ``S`` runs of one method, at ``len(samples)`` checkpoints (all losses in bits per token).

    ``excess``: expected excess loss over the entropy rate, ``sum_s pi(s) KL(P_s || q_s)``;
    ``excess_det`` / ``excess_rand``: the same, conditional on the context being deterministic / high-entropy
    (``sum_{s in type} pi(s) KL_s / sum_{s in type} pi(s)``);
    ``ce_det`` / ``ce_rand``: the expected cross-entropy conditional on the context type;
    ``cross_entropy``: the expected loss per token, ``entropy rate + excess`` (also the expected surprisal of a
    label, ``E[-log2 q_s(y)]``: what SL is shown per sample);
    ``match``: the expected reward ``sum_s pi(s) p_s`` with ``p_s = sum_y P(y|s) q_s(y)`` (the pass rate of
    next-token RL);
    ``reward_entropy``: ``sum_s pi(s) H(p_s)``, the most a reward can carry per sample (chapter 1);
    ``gns_sl`` / ``gns_rl``: the gradient noise scale ``tr(Sigma) / |G|^2`` of one sample's gradient at this table, for
    SL's and for RL's gradient (see :func:`gradient_moments`);
    ``table_excess``: ``sum_s KL(P_s || q_s)``, unweighted over contexts: how many bits the whole table is wrong by.
    One sample updates one row, so ``-d table_excess / d samples`` is the number of bits the average sample moved
    its own row toward the truth (see :func:`bits_absorbed`);
    ``final_logits``: the ``(S, K, K)`` tables at the end.
    """

    method: str
    samples: np.ndarray
    excess: np.ndarray
    excess_det: np.ndarray
    excess_rand: np.ndarray
    ce_det: np.ndarray
    ce_rand: np.ndarray
    cross_entropy: np.ndarray
    match: np.ndarray
    reward_entropy: np.ndarray
    gns_sl: np.ndarray
    gns_rl: np.ndarray
    table_excess: np.ndarray
    final_logits: np.ndarray


def checkpoints(n_samples: int, batch: int, per_decade: int = 12) -> np.ndarray:
    """Log-spaced sample counts from ``batch`` to ``n_samples``, rounded to whole minibatches, with 0 first."""
    n_samples = integer("n_samples", n_samples, minimum=1)
    batch = integer("batch", batch, minimum=1, maximum=n_samples)
    per_decade = integer("per_decade", per_decade, minimum=1)
    steps = n_samples // batch
    k = np.unique(np.round(np.logspace(0, np.log10(steps), max(2, int(per_decade * np.log10(steps)) + 1))))
    return np.concatenate([[0], k.astype(np.int64) * batch])


def table_stats(lang: MarkovLanguage, W: np.ndarray) -> dict:
    """Exact expected losses (bits per token) of bigram tables ``W`` of shape ``(K, K)`` or ``(S, K, K)``.

    Returns ``excess``, ``excess_det``, ``excess_rand``, ``ce_det``, ``ce_rand``, ``cross_entropy``, ``match``,
    ``reward_entropy``, ``gns_sl``, ``gns_rl`` and ``table_excess`` (see :class:`Curves`),
    each a float (one table) or an ``(S,)`` array.
    """
    W = np.asarray(W, dtype=np.float64)
    single = W.ndim == 2
    if single:
        W = W[None]
    if W.shape[1:] != (lang.K, lang.K):
        raise ParameterError(f"W has shape {W.shape}; allowed: (K, K) or (S, K, K) with K = {lang.K}")
    logq = log_softmax_rows(W)
    P, pi, det = lang.P, lang.stationary, lang.deterministic
    ce_ctx = -(P[None] * logq).sum(axis=2) / _LN2  # (S, K): cross-entropy of each context, bits
    H = lang.context_entropy("bits")
    kl = np.maximum(ce_ctx - H[None], 0.0)
    match = np.clip((P[None] * np.exp(logq)).sum(axis=2), 0.0, 1.0)  # p_s, (S, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        h2 = -(np.where(match > 0, match * np.log2(match), 0.0) + np.where(match < 1, (1 - match) * np.log1p(-match),
                                                                         0.0) / _LN2)

    def cond(x, mask):
        w = pi * mask
        return (x * w[None]).sum(axis=1) / w.sum() if w.sum() > 0 else np.full(x.shape[0], np.nan)

    out = {
        "excess": kl @ pi,
        "excess_det": cond(kl, det),
        "excess_rand": cond(kl, ~det),
        "ce_det": cond(ce_ctx, det),
        "ce_rand": cond(ce_ctx, ~det),
        "cross_entropy": ce_ctx @ pi,
        "match": match @ pi,
        "reward_entropy": h2 @ pi,
        "gns_sl": _noise_scale(*gradient_moments(lang, W, "SL")),
        "gns_rl": _noise_scale(*gradient_moments(lang, W, "RL")),
        "table_excess": kl.sum(axis=1),
    }
    return {k: float(v[0]) for k, v in out.items()} if single else out


def gradient_moments(lang: MarkovLanguage, W: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact first and second moments of one sample's gradient of the log-likelihood (SL) or of the REINFORCE
    surrogate (RL, with the expected-reward baseline ``b_s = p_s``) with respect to the whole table ``W``.

    A sample is ``s ~ pi``, ``y ~ P_s`` (and for RL ``a ~ q_s``, reward ``r = 1[a == y]``); its gradient is nonzero in
    row ``s`` only: ``e_y - q_s`` (SL) or ``(r - p_s)(e_a - q_s)`` (RL). Returns ``(G, m2)``: the mean gradient
    ``G`` (shape of ``W``) and ``E|g|^2`` (one value per table), from

    - SL: ``G_s = pi_s (P_s - q_s)``, ``E[|g|^2 | s] = 1 - 2 P_s.q_s + |q_s|^2``;
    - RL: ``G_s = pi_s (P_s * q_s - p_s q_s)``,
      ``E[|g|^2 | s] = sum_a q_a (P_a (1 - 2 p_s) + p_s^2) (1 - 2 q_a + |q_s|^2)``.
    """
    one_of("method", method, METHODS)
    W = np.asarray(W, dtype=np.float64)
    q = softmax_rows(W)
    P, pi = lang.P, lang.stationary
    qq = (q * q).sum(axis=-1, keepdims=True)
    if method == "SL":
        G = pi[:, None] * (P - q)
        m2_ctx = 1 - 2 * (P * q).sum(axis=-1) + qq[..., 0]
    else:
        p = (P * q).sum(axis=-1, keepdims=True)
        G = pi[:, None] * (P * q - p * q)
        m2_ctx = (q * (P * (1 - 2 * p) + p * p) * (1 - 2 * q + qq)).sum(axis=-1)
    return G, m2_ctx @ pi


def _noise_scale(G, m2):
    g2 = (G * G).sum(axis=(-2, -1))
    with np.errstate(divide="ignore"):
        return np.where(g2 > 0, (m2 - g2) / g2, np.inf)


def noise_scale(lang: MarkovLanguage, W: np.ndarray, method: str):
    """The simple gradient noise scale ``B = tr(Sigma) / |G|^2`` of one sample's gradient (McCandlish et al. 2018):
    the batch size at which the noise of a minibatch's mean gradient is as large as its mean. ``Sigma`` is the
    covariance of one sample's gradient, ``tr(Sigma) = E|g|^2 - |G|^2`` (see :func:`gradient_moments`)."""
    out = _noise_scale(*gradient_moments(lang, W, method))
    return float(out) if np.ndim(out) == 0 else out


def _check(lang, method, n_samples, lr, batch, baseline, baseline_rate):
    if not isinstance(lang, MarkovLanguage):
        raise ParameterError(f"lang={lang!r} is not a MarkovLanguage")
    one_of("method", method, METHODS)
    one_of("baseline", baseline, BASELINES)
    n_samples = integer("n_samples", n_samples, minimum=1)
    batch = integer("batch", batch, minimum=1, maximum=n_samples)
    lr = real("lr", lr, minimum=0.0, open_low=True)
    baseline_rate = real("baseline_rate", baseline_rate, minimum=0.0, maximum=1.0, open_low=True)
    return n_samples, batch, lr, baseline_rate


def _streams(seeds):
    """Two generators (data, policy) per run, derived from each run's SeedSequence."""
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, np.random.SeedSequence) for s in seeds):
        raise ParameterError("seeds must be a non-empty list of numpy.random.SeedSequence (one per run)")
    out = []
    for s in seeds:
        # the children a first s.spawn(2) would give, derived without advancing s's spawn counter, so a run's streams
        # are the same however often (and by however many methods) its SeedSequence is used
        data, policy = (np.random.SeedSequence(s.entropy, spawn_key=s.spawn_key + (i,), pool_size=s.pool_size)
                        for i in range(2))
        out.append((np.random.default_rng(data), np.random.default_rng(policy)))
    return out


class _Sampler:
    """Draws (context, next token) pairs of a language in O(support) per pair: the context from the stationary
    distribution and the next token from the nonzero entries of its row, both by inverse CDF on one uniform each."""

    def __init__(self, lang):
        m = int((lang.P > 0).sum(axis=1).max())
        self.cum_pi = np.cumsum(lang.stationary)
        order = np.argsort(~(lang.P > 0), axis=1, kind="stable")[:, :m]  # the nonzero columns of each row first
        self.cols = order
        self.cdf = np.cumsum(np.take_along_axis(lang.P, order, axis=1), axis=1)
        self.K, self.m = lang.K, m

    def pairs(self, rng, n):
        u = rng.random((2, n))
        ctx = np.minimum(np.searchsorted(self.cum_pi, u[0], side="right"), self.K - 1)
        j = np.minimum(count_at_or_below(self.cdf[ctx], u[1][:, None]), self.m - 1)
        return ctx, self.cols[ctx, j]


class _Uniforms:
    """The policy stream of one run: ``batch`` uniforms per minibatch, drawn ``_CHUNK_STEPS`` minibatches at a time."""

    def __init__(self, rng, batch):
        self.rng, self.batch = rng, batch
        self.buf, self.pos = None, _CHUNK_STEPS

    def chunk(self) -> np.ndarray:
        """The next ``_CHUNK_STEPS`` minibatches of uniforms, ``(_CHUNK_STEPS, batch)``."""
        return self.rng.random((_CHUNK_STEPS, self.batch))

    def next(self):
        if self.pos == _CHUNK_STEPS:
            self.buf = self.chunk()
            self.pos = 0
        self.pos += 1
        return self.buf[self.pos - 1]


class _Data:
    """The data stream of one run: minibatches of (context, next token) pairs, drawn ``_CHUNK_STEPS`` at a time."""

    def __init__(self, sampler, rng, batch):
        self.sampler, self.rng, self.batch = sampler, rng, batch
        self.buf, self.pos = None, _CHUNK_STEPS

    def chunk(self) -> tuple[np.ndarray, np.ndarray]:
        """The next ``_CHUNK_STEPS`` minibatches: contexts and next tokens, each ``(_CHUNK_STEPS, batch)``."""
        ctx, y = self.sampler.pairs(self.rng, self.batch * _CHUNK_STEPS)
        return ctx.reshape(_CHUNK_STEPS, self.batch), y.reshape(_CHUNK_STEPS, self.batch)

    def next(self):
        if self.pos == _CHUNK_STEPS:
            self.buf = self.chunk()
            self.pos = 0
        i = self.pos
        self.pos += 1
        return self.buf[0][i], self.buf[1][i]


def train(lang: MarkovLanguage, method: str, seeds, n_samples: int, *, lr: float = 0.5, batch: int = 64,
          baseline: str = "expected", baseline_rate: float = 0.05, init: np.ndarray | None = None,
          checkpoint_samples: np.ndarray | None = None) -> Curves:
    """Train one bigram table per seed by ``method`` ("SL" or "RL") for ``n_samples`` pairs; return exact curves.

    All runs are advanced together (arrays of shape ``(S, K, K)``), each with its own random streams. ``n_samples``
    is rounded down to whole minibatches. ``init`` (``K x K``) is the starting table (default: zeros, the uniform
    model). Losses are recorded at ``checkpoint_samples`` (default :func:`checkpoints`), which must be multiples of
    ``batch``.
    """
    n_samples, batch, lr, baseline_rate = _check(lang, method, n_samples, lr, batch, baseline, baseline_rate)
    streams = _streams(seeds)
    S, K = len(streams), lang.K
    steps = n_samples // batch
    if checkpoint_samples is None:
        checkpoint_samples = checkpoints(n_samples, batch)
    checkpoint_samples = np.asarray(checkpoint_samples, dtype=np.int64)
    if np.any(checkpoint_samples % batch) or np.any(checkpoint_samples > steps * batch) or np.any(
            checkpoint_samples < 0) or np.any(np.diff(checkpoint_samples) <= 0):
        raise ParameterError("checkpoint_samples must be increasing multiples of batch within [0, n_samples]")
    W = np.zeros((S, K, K)) if init is None else np.broadcast_to(np.asarray(init, dtype=np.float64), (S, K, K)).copy()
    sampler = _Sampler(lang)
    data = [_Data(sampler, d, batch) for d, _ in streams]
    policy = [_Uniforms(p, batch) for _, p in streams]
    touched, slot = np.zeros(S * K, dtype=bool), np.zeros(S * K, dtype=np.intp)
    run_off = (np.arange(S) * K)[:, None]  # flat index of (run, context) rows
    Wf = W.reshape(S * K, K)  # a view: updating Wf updates W
    running_b = np.zeros(S * K)
    stats = {k: [] for k in STATS}
    cp = set(checkpoint_samples.tolist())

    def snap():
        for k, v in table_stats(lang, W).items():
            stats[k].append(v)

    if 0 in cp:
        snap()
    for t in range(1, steps + 1):
        i = (t - 1) % _CHUNK_STEPS
        if i == 0:  # every run's next chunk, stacked once per chunk rather than once per step: (S, chunk, B)
            chunks = [d.chunk() for d in data]
            ctx_chunk, y_chunk = np.stack([c for c, _ in chunks]), np.stack([v for _, v in chunks])
            if method == "RL":
                u_chunk = np.stack([g.chunk() for g in policy])
        ctx = ctx_chunk[:, i]  # (S, B)
        y = y_chunk[:, i].ravel()
        rows = (run_off + ctx).ravel()  # flat (run, context) index of each sample
        # only the rows this minibatch touches are read or written
        touched[:] = False
        touched[rows] = True
        urows = np.flatnonzero(touched)  # sorted, as np.unique would give, without a sort
        U = len(urows)
        slot[urows] = np.arange(U)  # each touched row's index in urows
        inv = slot[rows]
        q = softmax_rows(Wf[urows])  # (U, K)
        n_ctx = np.bincount(inv, minlength=U).astype(np.float64)  # samples per touched row
        if method == "SL":
            grad = np.bincount(inv * K + y, minlength=U * K).reshape(U, K) - n_ctx[:, None] * q
        else:
            u = u_chunk[:, i].ravel()
            cdf = np.cumsum(q, axis=1)
            a = np.minimum(count_below(cdf[inv], u[:, None]), K - 1)  # a ~ q_s by inverse CDF
            r = (a == y).astype(np.float64)
            if baseline == "expected":
                b = (lang.P[urows % K] * q).sum(axis=1)[inv]
            elif baseline == "running":
                b = running_b[urows][inv]
            else:
                b = np.zeros_like(r)
            adv = r - b
            grad = np.bincount(inv * K + a, weights=adv, minlength=U * K).reshape(U, K)
            grad -= np.bincount(inv, weights=adv, minlength=U)[:, None] * q
            if baseline == "running":  # updated after the step: a sample's baseline never includes its own reward
                mean_r = np.bincount(inv, weights=r, minlength=U) / n_ctx
                keep = (1 - baseline_rate) ** n_ctx
                running_b[urows] = keep * running_b[urows] + (1 - keep) * mean_r
        Wf[urows] += lr * grad
        if t * batch in cp:
            snap()
    return Curves(method=method, samples=checkpoint_samples,
                  **{k: np.stack(v, axis=1) for k, v in stats.items()}, final_logits=W)


def train_reference(lang: MarkovLanguage, method: str, seed: np.random.SeedSequence, n_samples: int, *,
                    lr: float = 0.5, batch: int = 64, baseline: str = "expected", baseline_rate: float = 0.05,
                    init: np.ndarray | None = None) -> np.ndarray:
    """The plain per-sample loop for one run (the reference the tests hold :func:`train` to); returns the final table.

    Reads the same random numbers as :func:`train` (same streams, same order) and applies each minibatch's summed
    per-sample gradients sample by sample, with ``numpy`` only for one row at a time.
    """
    n_samples, batch, lr, baseline_rate = _check(lang, method, n_samples, lr, batch, baseline, baseline_rate)
    (data_rng, policy_rng), = _streams([seed])
    uniforms = _Uniforms(policy_rng, batch)
    K = lang.K
    W = np.zeros((K, K)) if init is None else np.array(init, dtype=np.float64)
    data = _Data(_Sampler(lang), data_rng, batch)
    running_b = np.zeros(K)
    for _ in range(n_samples // batch):
        ctx, y = data.next()
        u = uniforms.next() if method == "RL" else None
        grad = np.zeros((K, K))
        rewards = []
        for j in range(batch):
            s = int(ctx[j])
            q = softmax_rows(W[s])
            if method == "SL":
                g = -q
                g[y[j]] += 1.0
            else:
                a = min(int(np.searchsorted(np.cumsum(q), u[j], side="left")), K - 1)
                r = 1.0 if a == y[j] else 0.0
                b = {"expected": float(lang.P[s] @ q), "running": running_b[s], "none": 0.0}[baseline]
                g = -(r - b) * q
                g[a] += r - b
                rewards.append((s, r))
            grad[s] += g
        if method == "RL" and baseline == "running":
            for s in np.unique(ctx):
                rs = [r for c, r in rewards if c == s]
                keep = (1 - baseline_rate) ** len(rs)
                running_b[s] = keep * running_b[s] + (1 - keep) * np.mean(rs)
        W += lr * grad
    return W


def samples_to_fraction(samples: np.ndarray, curve: np.ndarray, fraction: float = 0.5) -> float:
    """The first sample count at which ``curve`` falls to ``fraction`` of its initial value, interpolated linearly
    in (log samples, curve) between checkpoints; ``inf`` if it never does.

    ``samples`` must start at 0 (the initial value); interpolation uses the checkpoints after it.
    """
    samples = np.asarray(samples, dtype=np.float64)
    curve = np.asarray(curve, dtype=np.float64)
    fraction = real("fraction", fraction, minimum=0.0, maximum=1.0, open_low=True)
    if samples.ndim != 1 or samples.shape != curve.shape or samples[0] != 0 or np.any(np.diff(samples) <= 0):
        raise ParameterError("samples must be increasing from 0, with one curve value per sample count")
    target = fraction * curve[0]
    if curve[0] <= target:
        return 0.0
    if samples.size == 1:
        return float("inf")
    x = first_crossing(samples[1:], curve[1:], target, rising=False)  # no log of the sample count 0
    return float("inf") if math.isnan(x) else x


def bits_absorbed(curves: Curves, min_ratio: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Bits absorbed per sample between checkpoints, averaged over runs: the drop of ``table_excess`` divided by the
    samples spent, ``-(T(n_j) - T(n_i)) / (n_j - n_i)``.

    Consecutive intervals use checkpoints at least a factor ``min_ratio`` apart in sample count (``1``: every
    checkpoint; ``2``: intervals of at least an octave, which averages out the noise of small differences). Returns
    (geometric-mean sample count of each interval, with 1 for the start; bits per sample); a negative value means the
    table moved away from the truth.
    """
    min_ratio = real("min_ratio", min_ratio, minimum=1.0)
    n = curves.samples.astype(np.float64)
    idx = [0]
    for j in range(1, len(n)):
        if n[idx[-1]] == 0 or n[j] >= min_ratio * n[idx[-1]]:
            idx.append(j)
    idx = np.array(idx)
    T = curves.table_excess.mean(axis=0)[idx]
    m = n[idx]
    mid = np.sqrt(np.maximum(m[:-1], 1.0) * m[1:])
    return mid, -np.diff(T) / np.diff(m)
