"""An MLP language model with hand-written numpy gradients, and its FLOP count (chapter 14).

The model (Bengio et al. 2003): the embeddings of the ``n_ctx`` previous tokens are concatenated into
``x`` (``n_ctx d`` numbers), one hidden layer ``h = tanh(x W1 + b1)`` (``H`` units), logits ``z = h W2 + b2`` and
``p = softmax(z)`` over ``V`` tokens. Every method trains it through the gradient of its loss with respect to the
logits, ``G = dL/dz`` (one row per sample), and one shared :func:`backward`:

- SL, cross-entropy on the data token ``y``: ``G = p - e_y``;
- REINFORCE with a match reward, for a sampled token ``a`` and reward ``r = [a = y]``, baseline ``b``:
  ``G = (r - b)(p - e_a)`` (the gradient of ``-(r - b) log p_a``); rows with ``r = b`` are skipped, so without a
  baseline a failure costs no backward pass;
- distillation on a teacher's distribution ``q``: ``G = p - q``.

**FLOP count** (:meth:`Arch.flops`). ``N_mm = n_ctx d H + H V`` weights take part in the matrix products. Per sample:
forward ``2 N_mm`` (one multiply and one add per weight) plus ``2H + 6V`` element-wise operations (bias adds, tanh,
and softmax: max, subtract, exp, sum, divide; a nonlinearity counts as one FLOP); sampling a token by inverse CDF
``2V`` (cumulative sum, compare); the loss gradient ``2V``; backward ``4 N_mm`` (the weight gradients and the
gradients of the layer inputs, two products per layer) plus ``V + 4H + n_ctx d`` (bias gradients, tanh's derivative,
scattering into the embedding rows); and the SGD update, two FLOPs per parameter touched per step, amortised over
the batch. With ``N = N_mm + H + V`` the non-embedding parameters, SL costs ``6N`` per sample up to the element-wise
terms, Kaplan et al.'s rule (chapter 5, :func:`rlbits.compute.flops_per_token`). :func:`forward` and
:func:`backward` log the shapes of their matrix products when given a list, so tests count the products actually
performed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax

from rlbits.inverse_cdf import count_below
from rlbits.validate import ParameterError, integer


@dataclass(frozen=True)
class Arch:
    """The model's sizes: vocabulary ``V``, context ``n_ctx`` tokens, embedding ``d``, hidden ``H``."""

    V: int
    n_ctx: int
    d: int
    H: int

    def __post_init__(self):
        integer("V", self.V, minimum=2, maximum=1_000_000)
        integer("n_ctx", self.n_ctx, minimum=1, maximum=64)
        integer("d", self.d, minimum=1, maximum=4096)
        integer("H", self.H, minimum=1, maximum=16384)

    @property
    def n_mm(self) -> int:
        """Weights in the matrix products: ``n_ctx d H + H V``."""
        return self.n_ctx * self.d * self.H + self.H * self.V

    @property
    def n_nonembedding(self) -> int:
        """``N``: the weights and biases of the hidden and output layers."""
        return self.n_mm + self.H + self.V

    @property
    def n_params(self) -> int:
        return self.n_nonembedding + self.V * self.d

    def flops(self, part: str, batch: int = 1) -> float:
        """FLOPs per sample of one part of a training step (see the module docstring).

        ``part``: ``"forward"``, ``"sample"``, ``"grad_logits"``, ``"backward"``, ``"update"`` (per sample at batch
        size ``batch``), ``"teacher"`` (an interpolated bigram row: ``3V``), or ``"mm_forward"``/``"mm_backward"``
        (the matrix products alone).
        """
        V, n, d, H = self.V, self.n_ctx, self.d, self.H
        table = {
            "mm_forward": 2.0 * self.n_mm,
            "mm_backward": 4.0 * self.n_mm,
            "forward": 2.0 * self.n_mm + 2 * H + 6 * V,
            "sample": 2.0 * V,
            "grad_logits": 2.0 * V,
            "backward": 4.0 * self.n_mm + V + 4 * H + n * d,
            "update": 2.0 * (self.n_mm + H + V) / integer("batch", batch, minimum=1) + 2.0 * n * d,
            "teacher": 3.0 * V,
        }
        if part not in table:
            raise ParameterError(f"part={part!r} is not one of {sorted(table)}")
        return table[part]

    def sl_flops_per_sample(self, batch: int) -> float:
        """Forward, loss gradient, backward and update: ``6 N_mm`` plus the element-wise terms."""
        return sum(self.flops(k, batch) for k in ("forward", "grad_logits", "backward", "update"))


def init_params(arch: Arch, rng: np.random.Generator, dtype=np.float32, out_scale: float = 0.0) -> dict:
    """Embeddings ``N(0, 1)``, ``W1 ~ N(0, 1/(n_ctx d))`` (so the hidden pre-activations start at unit scale),
    ``W2 ~ N(0, out_scale^2 / H)`` and zero biases. ``out_scale = 0`` makes the untrained model exactly uniform,
    ``p = 1/V`` for every token (chapter 6's start); ``out_scale = 1`` is the usual random initialisation.
    """
    V, n, d, H = arch.V, arch.n_ctx, arch.d, arch.H
    p = {
        "E": rng.standard_normal((V, d)),
        "W1": rng.standard_normal((n * d, H)) / np.sqrt(n * d),
        "b1": np.zeros(H),
        "W2": rng.standard_normal((H, V)) * (out_scale / np.sqrt(H)),
        "b2": np.zeros(V),
    }
    return {k: v.astype(dtype) for k, v in p.items()}


def _mm(a, b, log):
    if log is not None:
        log.append((a.shape[0], a.shape[1], b.shape[1]))
    return a @ b


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, in place on one temporary (numpy's float32 ``exp`` is several times slower on a fresh
    temporary than in place, measured here).

    Kept instead of :func:`scipy.special.softmax` (same arithmetic, identical result): scipy allocates a fresh array
    for the exponentials and for the quotient, which measured 10-30% slower on a 256 x V float32 batch (V = 64 to
    1024: 301 against 225 us, 1470 against 1139 us), and this runs on every step whose time chapter 14 measures."""
    e = z - z.max(axis=1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=1, keepdims=True)
    return e


def forward(params: dict, ctx: np.ndarray, log: list | None = None):
    """``(x, h, p)`` for contexts ``ctx`` (``B x n_ctx`` token ids)."""
    x, h, e, s = forward_unnormalised(params, ctx, log)
    e /= s
    return x, h, e


def forward_unnormalised(params: dict, ctx: np.ndarray, log: list | None = None):
    """``(x, h, e, s)`` with ``p = e / s``: the softmax's shifted exponentials and their row sums (``B x 1``), so a
    caller that needs few entries of ``p`` divides only those, with the same result as :func:`forward`
    (chapter 14's REINFORCE reads ``p(y)`` of every row but the whole row only of a rewarded sample)."""
    x = params["E"][ctx].reshape(len(ctx), -1)
    # the bias adds, tanh and softmax work in place on the products' fresh outputs: the same arithmetic without a
    # temporary per operation (this runs on every step chapter 14 times)
    h = _mm(x, params["W1"], log)
    h += params["b1"]
    np.tanh(h, out=h)
    e = _mm(h, params["W2"], log)
    e += params["b2"]
    e -= e.max(axis=1, keepdims=True)
    np.exp(e, out=e)
    return x, h, e, e.sum(axis=1, keepdims=True)


def backward(params: dict, ctx: np.ndarray, x: np.ndarray, h: np.ndarray, G: np.ndarray,
             log: list | None = None) -> dict:
    """Gradients of ``sum_i L_i`` given ``G = dL/dz`` (rows of the samples to train on). ``"E"`` is returned as
    ``(rows, values)``: the embedding rows the contexts used and their gradients (rows may repeat)."""
    dW2 = _mm(h.T, G, log)
    da = _mm(G, params["W2"].T, log)  # dh, then da = dh (1 - h^2) in place
    hh = h * h
    np.subtract(1.0, hh, out=hh)
    da *= hh
    dW1 = _mm(x.T, da, log)
    dx = _mm(da, params["W1"].T, log)
    d = params["E"].shape[1]
    return {"W2": dW2, "b2": G.sum(axis=0), "W1": dW1, "b1": da.sum(axis=0),
            "E": (ctx.reshape(-1), dx.reshape(-1, d))}


def sgd(params: dict, grads: dict, step: float) -> None:
    """``theta -= step * grad`` in place (the embedding gradient scattered into its rows). The gradients are
    scaled in place, so ``grads`` is consumed."""
    for k in ("W1", "b1", "W2", "b2"):
        params[k] -= _scaled(grads[k], step, params[k].dtype)
    rows, vals = grads["E"]
    np.add.at(params["E"], rows, _scaled(vals, -step, params["E"].dtype))


def _scaled(g: np.ndarray, step: float, dtype) -> np.ndarray:
    """``(step * g).astype(dtype)``, in place on ``g`` when it already has that dtype (the same product)."""
    if g.dtype != dtype:
        return (step * g).astype(dtype)
    g *= step
    return g


def evaluate(params: dict, ctx: np.ndarray, y: np.ndarray, batch: int = 4096) -> tuple[float, float]:
    """Mean cross-entropy (bits per token) of tokens ``y`` after contexts ``ctx``, and their mean probability (the
    pass rate of a match reward)."""
    ce, pr = 0.0, 0.0
    for i in range(0, len(y), batch):
        _, _, e, s = forward_unnormalised(params, ctx[i:i + batch])  # only p(y) is read: divide only those
        py = (e[np.arange(len(e)), y[i:i + batch]] / s[:, 0]).astype(np.float64)
        ce -= np.log2(np.maximum(py, 1e-300)).sum()
        pr += py.sum()
    return ce / len(y), pr / len(y)


def sample_tokens(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row of ``p`` by inverse CDF."""
    cdf = np.cumsum(p, axis=1)
    u = rng.random(len(p))[:, None] * cdf[:, -1:]
    return np.minimum(count_below(cdf, u), p.shape[1] - 1)


def windows(ids: np.ndarray, n_ctx: int, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contexts ``ids[i - n_ctx:i]`` and targets ``ids[i]`` at ``positions`` (each >= ``n_ctx``)."""
    idx = positions[:, None] + np.arange(-n_ctx, 0)[None, :]
    return ids[idx], ids[positions]


def one_step_drop(params: dict, ctx: np.ndarray, x: np.ndarray, h: np.ndarray, p: np.ndarray, G: np.ndarray,
                  y: np.ndarray, step: float) -> np.ndarray:
    """For each row ``i`` separately: the drop of the surprisal ``-log2 p(y_i)`` of its own data token after an SGD
    step of size ``step`` on that row's gradient alone (``G[i]``), computed exactly for all rows at once.

    One sample's update of the output and hidden layers is rank one, so the new logits of the same context are
    ``h' W2 + b2 - step (h'.h + 1) G`` with ``h' = tanh(x' W1 + b1 - step (x'.x + 1) da)``, ``x'`` the context's
    updated embeddings (a token that occurs twice in the context receives both gradients).
    """
    W1, W2 = params["W1"], params["W2"]
    da = (G @ W2.T) * (1.0 - h * h)
    dx = (da @ W1.T).reshape(len(ctx), ctx.shape[1], -1)
    same = (ctx[:, :, None] == ctx[:, None, :]).astype(dx.dtype)  # rows j, k of a context share an embedding
    xn = x - step * np.einsum("bjk,bkd->bjd", same, dx).reshape(len(ctx), -1)
    hn = np.tanh(xn @ W1 + params["b1"] - step * ((xn * x).sum(1) + 1.0)[:, None] * da)
    zn = hn @ W2 + params["b2"] - step * ((hn * h).sum(1) + 1.0)[:, None] * G
    rows = np.arange(len(y))
    log_pn = log_softmax(zn, axis=1)[rows, y]
    return (log_pn - np.log(p[rows, y])) / np.log(2.0)


def step_throughput(arch: Arch, batch: int, seconds: float = 1.0, seed: int = 0) -> dict:
    """Achieved FLOP/s of one SL training step (forward, loss gradient, backward, update; FLOPs counted by
    :meth:`Arch.flops`) against numpy's matrix-multiply throughput on the same machine in the same call: the step's
    own matrix products alone, at the same shapes (the peak at these sizes), and a square float32 product of side
    1,024. Each is timed as the best of interleaved rounds over about ``seconds`` (Performance page, chapter 14)."""
    import time

    batch = integer("batch", batch, minimum=1, maximum=1 << 16)
    rng = np.random.default_rng(seed)
    params = init_params(arch, rng, out_scale=1.0)
    ids = rng.integers(0, arch.V, size=(batch, arch.n_ctx))
    y = rng.integers(0, arch.V, size=batch)
    rows = np.arange(batch)

    def step():
        x, h, p = forward(params, ids)
        p[rows, y] -= 1.0
        sgd(params, backward(params, ids, x, h, p), 1e-6)

    shapes: list = []
    x, h, p = forward(params, ids, shapes)
    backward(params, ids, x, h, p, shapes)
    mats = [(rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32))
            for m, k, n in shapes]

    def products():
        for a, b in mats:
            a @ b

    sq = rng.standard_normal((1024, 1024), dtype=np.float32)

    fns = [step, products, lambda: sq @ sq]
    for fn in fns:  # warm up
        fn()
    best = [float("inf")] * 3
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:  # interleaved rounds, so a burst of load on a shared machine hits all three
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)

    step_flops = batch * arch.sl_flops_per_sample(batch)
    mm_flops = sum(2.0 * m * k * n for m, k, n in shapes)
    t_step, t_mm, t_sq = best
    return {"step_flops": step_flops, "step_s": t_step, "step_flops_per_s": step_flops / t_step,
            "mm_flops_per_s": mm_flops / t_mm, "square_flops_per_s": 2.0 * 1024**3 / t_sq,
            "mm_share_of_step_flops": mm_flops / step_flops}


def step_throughput_once(bench_json, arch: Arch, batch: int, seconds: float = 2.0) -> dict:
    """:func:`step_throughput`, measured once per build: the result is stored in ``bench_json`` (the build's
    ``bench_mlp_lm.json``, under ``"mlp_lm"``, keyed by the sizes) and read from there afterwards, so re-executing
    the Performance page gives the same numbers. Not in ``bench.json`` itself: the back matter's cache key reads
    that file, and a page that wrote into its own input would never be reused. ``rlbits bench`` deletes the file,
    so a new benchmark means a new measurement."""
    import json
    from pathlib import Path

    path = Path(bench_json)
    data = json.loads(path.read_text()) if path.exists() else {}
    key = f"V{arch.V}_ctx{arch.n_ctx}_d{arch.d}_H{arch.H}_B{batch}"
    stored = data.setdefault("mlp_lm", {})
    if key not in stored:
        stored[key] = step_throughput(arch, batch, seconds)
        path.write_text(json.dumps(data, indent=1) + "\n")
    return stored[key]
