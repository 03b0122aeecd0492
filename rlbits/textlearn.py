"""SL, REINFORCE and distillation on real text with one MLP language model (chapter 14).

:func:`train` runs one method from a given initialisation on a given stream of training contexts and returns its
held-out cross-entropy, its counted FLOPs (:class:`rlbits.mlp_lm.Arch`), and what the chapter measures along the
way: the pass rate ``p(y)`` of every trained token, REINFORCE's successes by pass rate, and at every checkpoint a
probe of the information one sample moves (:func:`rlbits.mlp_lm.one_step_drop`). The teacher of distillation is an
interpolated bigram model of the training split (:class:`Bigram`).

Methods: ``"SL"``; ``"RL"`` (REINFORCE, match reward, no baseline); ``"RL_baseline"`` (a running mean of the
rewards, updated after each step, so the baseline never depends on the step's own samples); ``"distill"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rlbits import info
from rlbits.mlp_lm import (Arch, backward, evaluate, forward, forward_unnormalised, init_params, one_step_drop,
                           sample_tokens, sgd, windows)
from rlbits.validate import ParameterError, integer, one_of, real

METHODS = ("SL", "RL", "RL_baseline", "distill")
#: Pass-rate bins (log10) for REINFORCE's successes and samples.
P_EDGES = np.linspace(-4.0, 0.0, 17)


@dataclass
class Bigram:
    """``q(y | x) = (c(x, y) + alpha u(y)) / (c(x) + alpha)``, ``u`` the add-one unigram of the training tokens."""

    counts: np.ndarray
    unigram: np.ndarray
    alpha: float

    @classmethod
    def fit(cls, ids: np.ndarray, V: int, alpha: float) -> "Bigram":
        alpha = real("alpha", alpha, minimum=0.0, open_low=True)
        c = np.bincount(ids[:-1].astype(np.int64) * V + ids[1:], minlength=V * V).reshape(V, V)
        u = (np.bincount(ids, minlength=V) + 1.0) / (len(ids) + V)
        return cls(c.astype(np.float32), u.astype(np.float32), alpha)

    _table: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def rows(self, prev: np.ndarray) -> np.ndarray:
        """The teacher's next-token distributions after tokens ``prev`` (``3V`` FLOPs each, counted per call).

        All ``V`` rows are computed once and then gathered: each row is the same arithmetic on the same counts
        (a row's sum is the same whether taken in the table or in a gathered copy), so the result is identical."""
        if self._table is None:
            c = self.counts
            self._table = (c + self.alpha * self.unigram) / (c.sum(1, keepdims=True) + self.alpha)
        return self._table[prev]

    def cross_entropy(self, ids: np.ndarray) -> float:
        """Bits per token of ``ids[1:]`` after ``ids[:-1]``."""
        out = 0.0
        for i in range(0, len(ids) - 1, 8192):
            prev, nxt = ids[i:i + 8192], ids[i + 1:i + 8193]
            prev = prev[:len(nxt)]
            out -= np.log2(self.rows(prev)[np.arange(len(nxt)), nxt].astype(np.float64)).sum()
        return out / (len(ids) - 1)


@dataclass
class Run:
    """One training run: curves at the checkpoints and the accumulators of the whole run."""

    method: str
    samples: np.ndarray  #: samples seen at each checkpoint (0 first)
    flops: np.ndarray  #: training FLOPs spent at each checkpoint
    val: np.ndarray  #: held-out cross-entropy (bits per token) at each checkpoint
    val_p: np.ndarray  #: held-out pass rate (mean probability of the data token) at each checkpoint
    probe: dict = field(default_factory=dict)  #: per checkpoint: surprisal, H(p), drops (bits per sample)
    succ_hist: np.ndarray | None = None  #: REINFORCE successes by log10 pass-rate bin (P_EDGES)
    samp_hist: np.ndarray | None = None  #: samples by log10 pass-rate bin of their data token
    mean_p: np.ndarray | None = None  #: mean pass rate of the trained tokens between checkpoints
    seconds: float = 0.0
    cross_samples: float = float("nan")  #: samples when the online pass rate first reached the target
    cross_flops: float = float("nan")  #: training FLOPs spent by then


def checkpoints(n_steps: int, n_points: int) -> np.ndarray:
    """Steps at which to evaluate: 0 and about ``n_points`` log-spaced steps up to ``n_steps``."""
    s = np.unique(np.geomspace(1, n_steps, n_points).round().astype(int))
    return np.concatenate([[0], s])


def train(method: str, arch: Arch, train_ids: np.ndarray, eval_ctx: np.ndarray, eval_y: np.ndarray,
          seeds: tuple, *, n_steps: int, batch: int, lr: float, teacher: Bigram | None = None,
          baseline_rate: float = 0.05, n_points: int = 12, probe: tuple | None = None,
          target: float | None = None, stop_factor: float = 2.0, window: int = 8, dtype=np.float32) -> Run:
    """Train one method. ``seeds = (data, actions, init)`` SeedSequences (or ints): the same ``data`` and ``init``
    give every method the same training contexts and the same starting model. ``probe = (ctx, y)``: a fixed set of
    training samples on which the one-sample information is measured at each checkpoint.

    ``target``: a pass rate; the run notes the first step at which its *online* pass rate (the mean ``p(y)`` of the
    last ``window`` batches, each measured before the model trains on it) reaches it, and stops at ``stop_factor``
    times that step (or at ``n_steps``).

    REINFORCE without a baseline is simulated exactly in distribution without drawing the token: the reward is 1
    with probability ``p(y)``, and a failure has no gradient, so which wrong token was drawn does not matter. The
    FLOP count still charges the sampling pass an RL learner must make.
    """
    import time

    one_of("method", method, METHODS)
    n_steps = integer("n_steps", n_steps, minimum=1)
    batch = integer("batch", batch, minimum=1)
    lr = real("lr", lr, minimum=0.0, open_low=True)
    if method == "distill" and teacher is None:
        raise ParameterError("method='distill' needs a teacher")
    rng_data, rng_act = np.random.default_rng(seeds[0]), np.random.default_rng(seeds[1])
    params = init_params(arch, np.random.default_rng(seeds[2]), dtype)
    cps = set(checkpoints(n_steps, n_points).tolist())  # a set: membership is tested on every step
    step_size = lr / batch  # the update is lr times the mean gradient over the batch
    f_fwd, f_samp, f_grad = arch.flops("forward"), arch.flops("sample"), arch.flops("grad_logits")
    f_bwd, f_teach = arch.flops("backward"), arch.flops("teacher")
    f_upd_step, f_upd_row = 2.0 * (arch.n_mm + arch.H + arch.V), 2.0 * arch.n_ctx * arch.d
    samples, flops, val, val_p = [], [], [], []
    probe_out = {k: [] for k in ("surprisal", "binary_entropy", "p", "drop_sl", "drop_rl_expected",
                                 "drop_rl_baseline", "drop_distill")}
    succ_hist, samp_hist = np.zeros(len(P_EDGES) - 1), np.zeros(len(P_EDGES) - 1)
    mean_p, p_sum, p_n = [], 0.0, 0
    baseline, spent = 0.0, 0.0
    rows_all = np.arange(batch)
    recent, cross_step, cross_flops, stop = [], -1, float("nan"), n_steps
    t0 = time.perf_counter()
    for step in range(n_steps + 1):
        if step in cps or step == stop:
            samples.append(step * batch)
            flops.append(spent)
            ce, pr = evaluate(params, eval_ctx, eval_y)
            val.append(ce)
            val_p.append(pr)
            mean_p.append(p_sum / max(p_n, 1))
            p_sum, p_n = 0.0, 0
            if probe is not None:
                _probe(params, probe, step_size, baseline, teacher, rng_act, probe_out)
        if step == stop:
            break
        pos = rng_data.integers(arch.n_ctx, len(train_ids), size=batch)
        ctx, y = windows(train_ids, arch.n_ctx, pos)
        if method == "RL":  # p is divided out only for the rewarded rows (below): the same values, fewer divisions
            x, h, e, s = forward_unnormalised(params, ctx)
            py = e[rows_all, y] / s[:, 0]
        else:
            x, h, p = forward(params, ctx)
            py = p[rows_all, y]
        spent += batch * f_fwd
        p_sum, p_n = p_sum + float(py.sum()), p_n + batch
        recent = (recent + [float(py.mean())])[-window:]
        if target is not None and cross_step < 0 and len(recent) == window and np.mean(recent) >= target:
            cross_step, cross_flops = step, spent
            stop = min(n_steps, max(step + 1, int(np.ceil(stop_factor * step))))
        if method == "SL":  # p is not needed after the gradient, so it becomes the gradient in place
            G = p
            G[rows_all, y] -= 1.0
            rows = rows_all
        elif method == "distill":
            G = p
            G -= teacher.rows(ctx[:, -1])
            spent += batch * f_teach
            rows = rows_all
        else:
            spent += batch * f_samp
            if method == "RL":  # exact in distribution: P(a = y) = p(y)
                r = (rng_act.random(batch) < py).astype(py.dtype)
                a = np.where(r > 0, y, -1)
            else:
                a = sample_tokens(p, rng_act)
                r = (a == y).astype(py.dtype)
            bins = np.clip(np.searchsorted(P_EDGES, np.log10(np.maximum(py, 1e-12)), side="right") - 1,
                           0, len(P_EDGES) - 2)
            samp_hist += np.bincount(bins, minlength=len(P_EDGES) - 1)
            succ_hist += np.bincount(bins, weights=r, minlength=len(P_EDGES) - 1)
            coef = r - (baseline if method == "RL_baseline" else 0.0)
            rows = np.flatnonzero(coef != 0.0)
            if method == "RL_baseline":
                baseline += baseline_rate * (float(r.mean()) - baseline)
            G = (e[rows] / s[rows] if method == "RL" else p[rows]) * coef[rows, None]
            G[np.arange(len(rows)), a[rows]] -= coef[rows]
        if len(rows):
            # loss gradient and backward for the trained rows; the update touches every dense parameter once per
            # step and the embedding rows of the trained contexts
            spent += len(rows) * (f_grad + f_bwd) + f_upd_step + f_upd_row * len(rows)
            sub = rows if len(rows) < batch else slice(None)
            grads = backward(params, ctx[sub], x[sub], h[sub], G)
            sgd(params, grads, step_size)
    return Run(method=method, samples=np.array(samples, float), flops=np.array(flops), val=np.array(val),
               val_p=np.array(val_p),
               probe={k: np.array(v) for k, v in probe_out.items()},
               succ_hist=succ_hist if method.startswith("RL") else None,
               samp_hist=samp_hist if method.startswith("RL") else None,
               mean_p=np.array(mean_p), seconds=time.perf_counter() - t0,
               cross_samples=float(cross_step * batch) if cross_step >= 0 else float("nan"), cross_flops=cross_flops)


def _probe(params, probe, step_size, baseline, teacher, rng, out):
    """One-sample information at the current parameters on the probe set (bits per sample, means over the set)."""
    ctx, y = probe
    x, h, p = forward(params, ctx)
    rows = np.arange(len(y))
    py = p[rows, y].astype(np.float64)
    G_sl = p.copy()
    G_sl[rows, y] -= 1.0
    drop_sl = one_step_drop(params, ctx, x, h, p, G_sl, y, step_size)
    a = sample_tokens(p, rng)
    coef = (a == y).astype(p.dtype) - baseline
    G_rb = p * coef[:, None]
    G_rb[rows, a] -= coef
    out["surprisal"].append(float(-np.log2(py).mean()))
    out["binary_entropy"].append(float(info.binary_entropy(np.clip(py, 1e-300, 1 - 1e-16)).mean()))
    out["p"].append(float(py.mean()))
    out["drop_sl"].append(float(drop_sl.mean()))
    # without a baseline a failure leaves the model unchanged, so the expected drop is exactly p(y) x SL's
    out["drop_rl_expected"].append(float((py * drop_sl).mean()))
    out["drop_rl_baseline"].append(float(one_step_drop(params, ctx, x, h, p, G_rb, y, step_size).mean()))
    if teacher is not None:
        G_d = p - teacher.rows(ctx[:, -1])
        out["drop_distill"].append(float(one_step_drop(params, ctx, x, h, p, G_d, y, step_size).mean()))
    else:
        out["drop_distill"].append(float("nan"))


def time_average(samples: np.ndarray, values: np.ndarray, upto: int) -> float:
    """The average over samples ``[0, samples[upto]]`` of a quantity measured at the checkpoints (trapezoids)."""
    s, v = np.asarray(samples[: upto + 1], float), np.asarray(values[: upto + 1], float)
    if upto < 1 or s[-1] <= 0:
        return float(v[0])
    return float(np.sum(np.diff(s) * (v[1:] + v[:-1]) / 2) / (s[-1] - s[0]))


def window_to_best(run: Run) -> dict:
    """Held-out bits gained from the start to the checkpoint of lowest held-out cross-entropy, the samples and FLOPs
    spent by then, and the trained-token surprisal drop per sample averaged over those samples (the probe)."""
    i = int(np.argmin(run.val))
    return {"index": i, "bits": float(run.val[0] - run.val[i]), "samples": float(run.samples[i]),
            "flops": float(run.flops[i]), "probe_bits_per_sample": time_average(run.samples, run.probe[
                "drop_sl" if run.method == "SL" else "drop_rl_expected" if run.method == "RL" else
                "drop_rl_baseline" if run.method == "RL_baseline" else "drop_distill"], i)}
