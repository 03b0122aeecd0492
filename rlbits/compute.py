"""FLOPs per sample, bits per FLOP, and where compute goes along the pass-rate axis (chapters 5 and 14).

Three pieces:

- **FLOP accounting** (:func:`flops_per_token`, :func:`sl_flops_per_sample`, :func:`rl_flops_per_episode`): a dense
  transformer of ``N`` parameters spends about ``2N`` FLOPs per token on a forward pass and ``6N`` on a forward plus
  backward pass (Kaplan et al. 2020, table 1), optionally plus the attention term ``2 n_layer n_ctx d_model`` per
  forward token. An SL sample is one labelled token (``6N``); an RL episode samples ``T`` tokens (``2N`` each) and then
  trains on them (``6N`` each), for one reward.
- **Bits per FLOP** (:func:`bits_per_flop`, :func:`bits_per_flop_gap`, :func:`gap_threshold_p`): SL's label carries
  ``-log2 p`` bits, RL's reward at most ``H(p)`` (chapter 1); the gap is their ratio per FLOP.
- **Where compute goes** (:func:`cumulative_compute`, :func:`compute_share_above`, :func:`compute_weighted_bits`):
  cumulative compute as a function of the pass rate under the models of chapter 5:

  * ``"equal_per_decade"``: the essay's assumption, compute linear in ``log p``;
  * ``"gpt4"``: ``-ln p(C) = -ln p0 * (C / C0) ** (-k)``, the power law in compute that the GPT-4 technical report
    (OpenAI 2023, section 3.2) fitted to the mean log pass rate, applied here to one (representative) pass rate;
  * ``"power_law"``: ``p(C) = p0 (C / C0) ** a``, a power law for the pass rate itself;
  * the learning dynamics of a tabular softmax (:func:`softmax_dynamics`, :func:`dynamics_samples_closed_form`).

The learning dynamics, in closed form. One prompt, one correct answer among ``V``, logits starting equal, plain SGD
with learning rate ``eta`` on the logits. A supervised step adds ``eta (e_* - q)`` to the logits; a REINFORCE step with
0/1 reward and no baseline adds ``r eta (e_A - q)``, which is the same vector when the sampled answer ``A`` is correct
(``r = 1``) and zero otherwise. Either way the ``V - 1`` wrong logits stay equal, so the state is the gap ``d`` between
the correct logit and a wrong one, ``p = 1 / (1 + (V - 1) e^{-d})``, and each update raises ``d`` by
``c (1 - p)`` with ``c = eta V / (V - 1)``. The pass rate after ``k`` SL steps, or after ``k`` RL *successes*, is
therefore the same deterministic sequence ``p_k``; RL's waiting time for success ``k + 1`` is geometric with mean
``1 / p_k``. In the continuum limit (small ``eta``), with ``x = logit p``:

- SL steps:    ``dk/dx = (1 + e^x) / c``            so ``k(p) = (x + e^x) / c``;
- RL samples:  ``dn/dx = (1 + e^x)(1 + e^-x) / c``  so ``n(p) = (2x + e^x - e^-x) / c``,

up to a constant. :func:`softmax_dynamics` iterates the exact discrete recursion; the chapter and the tests check both
against each other and against a simulation of the learner.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import softmax

from rlbits import info
from rlbits.validate import ParameterError, integer, one_of, probability, real

MODELS = ("equal_per_decade", "gpt4", "power_law")


# ---------------------------------------------------------------- FLOP accounting
def flops_per_token(N, kind: str = "forward", *, n_layer: int = 0, d_model: int = 0, n_ctx=0):
    """FLOPs per token of a dense transformer with ``N`` non-embedding parameters (Kaplan et al. 2020, table 1).

    ``kind="forward"``: ``2N + 2 n_layer n_ctx d_model``; ``kind="train"`` (forward and backward): three times that.
    The attention term is left out unless ``n_layer`` and ``d_model`` are given; ``n_ctx`` is the number of tokens in
    context (a scalar or an array).
    """
    N = real("N", N, minimum=0.0, open_low=True)
    one_of("kind", kind, ("forward", "train"))
    n_layer = integer("n_layer", n_layer, minimum=0)
    d_model = integer("d_model", d_model, minimum=0)
    n_ctx = np.asarray(n_ctx, dtype=float)
    if np.any(n_ctx < 0) or np.any(~np.isfinite(n_ctx)):
        raise ParameterError(f"n_ctx={n_ctx!r} is outside the allowed range [0, inf)")
    fwd = 2.0 * N + 2.0 * n_layer * n_ctx * d_model
    out = fwd if kind == "forward" else 3.0 * fwd
    return float(out) if out.ndim == 0 else out


def sl_flops_per_sample(N, *, n_layer: int = 0, d_model: int = 0, n_ctx: int = 0) -> float:
    """One supervised sample = one labelled token trained on (forward and backward): ``6N`` (+ attention)."""
    return flops_per_token(N, "train", n_layer=n_layer, d_model=d_model, n_ctx=n_ctx)


def rl_flops_per_episode(N, T, *, n_layer: int = 0, d_model: int = 0, prompt: int = 0) -> float:
    """One RL sample = an episode of ``T`` tokens, sampled (forward, ``2N`` per token) then trained on (``6N`` per
    token): ``8 N T`` without attention. With attention, token ``t`` (1-based) sees ``prompt + t`` tokens, so the
    attention term adds ``8 n_layer d_model (prompt T + T (T + 1) / 2)``.
    """
    T = integer("T", T, minimum=1)
    prompt = integer("prompt", prompt, minimum=0)
    base = 8.0 * real("N", N, minimum=0.0, open_low=True) * T
    n_layer = integer("n_layer", n_layer, minimum=0)
    d_model = integer("d_model", d_model, minimum=0)
    ctx_sum = prompt * T + T * (T + 1) / 2.0  # sum over t of the context length
    return base + 8.0 * n_layer * d_model * ctx_sum


def bits_per_flop(p, learner: str, N, T: int = 1):
    """Bits per FLOP at pass rate ``p``: SL ``-log2 p / (6N)``; RL (upper bound) ``H(p) / (8 N T)``."""
    one_of("learner", learner, ("sl", "rl"))
    if learner == "sl":
        return info.surprisal(p) / sl_flops_per_sample(N)
    return info.binary_entropy(p) / rl_flops_per_episode(N, T)


def samples_per_flop_ratio(T) -> float:
    """SL samples per FLOP over RL samples per FLOP: ``8NT / 6N = 4T/3`` (no attention term)."""
    return rl_flops_per_episode(1.0, T) / sl_flops_per_sample(1.0)


def bits_per_flop_gap(p, T):
    """SL bits per FLOP over RL's bound: ``(4T/3) * (-log2 p) / H(p)`` (``N`` cancels); ``p`` in (0, 1)."""
    p = probability("p", p, open_low=True, open_high=True)
    return samples_per_flop_ratio(T) * info.sl_over_rl_ratio(p)


def gap_threshold_p(T, gap: float = 1e6) -> float:
    """The pass rate below which the bits-per-FLOP gap exceeds ``gap`` (the gap falls monotonically in ``p``).

    Found by bisection in ``log p`` to float precision.
    """
    gap = real("gap", gap, minimum=0.0, open_low=True)
    r = samples_per_flop_ratio(T)
    lo, hi = -700.0, math.log(1 - 1e-15)  # ln p; the gap is huge at lo and ~0 at hi
    if r * info.sl_over_rl_ratio(math.exp(lo)) < gap:
        raise ParameterError(f"gap={gap!r} is never reached for T={T}")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if r * info.sl_over_rl_ratio(math.exp(mid)) >= gap:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13:
            break
    return math.exp(lo)


# ---------------------------------------------------------------- where compute goes
def _check_range(p0, p_end):
    p0 = probability("p0", p0, open_low=True, open_high=True)
    p_end = probability("p_end", p_end, open_low=True, open_high=True)
    if not p0 < p_end:
        raise ParameterError(f"p_end={p_end!r} must exceed p0={p0!r}")
    return p0, p_end


def cumulative_compute(p, model: str, p0: float, *, k: float = 1.0, a: float = 1.0):
    """Compute spent from pass rate ``p0`` until pass rate ``p``, in units of ``C0`` (the compute at which the run
    has pass rate ``p0``), under one of :data:`MODELS`:

    - ``"equal_per_decade"``: ``ln(p / p0)`` (the unit is then the compute per e-fold of ``p``);
    - ``"gpt4"``: ``(ln p0 / ln p) ** (1 / k) - 1``, from ``-ln p = -ln p0 (C / C0) ** (-k)``;
    - ``"power_law"``: ``(p / p0) ** (1 / a) - 1``, from ``p = p0 (C / C0) ** a``.
    """
    one_of("model", model, MODELS)
    p0 = probability("p0", p0, open_low=True, open_high=True)
    p = np.asarray(probability("p", p, open_low=True), dtype=float)
    if np.any(p < p0):
        raise ParameterError(f"p={p.min()!r} is below p0={p0!r}: compute is counted from p0")
    if model == "equal_per_decade":
        out = np.log(p / p0)
    elif model == "gpt4":
        k = real("k", k, minimum=0.0, open_low=True)
        if np.any(p >= 1):
            raise ParameterError("p=1 needs infinite compute under the gpt4 model; allowed: p in [p0, 1)")
        out = (math.log(p0) / np.log(p)) ** (1.0 / k) - 1.0
    else:
        a = real("a", a, minimum=0.0, open_low=True)
        out = (p / p0) ** (1.0 / a) - 1.0
    return float(out) if out.ndim == 0 else out


def compute_share_above(model: str, p0: float, p_end: float, threshold: float = 0.5, **params) -> float:
    """Share of the compute of a run from ``p0`` to ``p_end`` that is spent while the pass rate is >= ``threshold``."""
    p0, p_end = _check_range(p0, p_end)
    threshold = probability("threshold", threshold)
    t = min(max(threshold, p0), p_end)
    total = cumulative_compute(p_end, model, p0, **params)
    return (total - cumulative_compute(t, model, p0, **params)) / total


def compute_weighted_bits(model: str, p0: float, p_end: float, n_grid: int = 200_001, **params) -> dict:
    """Compute-weighted mean bits per sample over a run from ``p0`` to ``p_end``: ``int bits(p) dC / int dC`` for SL
    (``-log2 p``) and the RL bound (``H(p)``), by the midpoint rule on a grid uniform in ``ln p``.
    """
    p0, p_end = _check_range(p0, p_end)
    n_grid = integer("n_grid", n_grid, minimum=3)
    grid = np.exp(np.linspace(math.log(p0), math.log(p_end), n_grid))
    grid[0], grid[-1] = p0, p_end  # exactly, against rounding in exp(log(.))
    C = cumulative_compute(grid, model, p0, **params)
    dC = np.diff(C)
    mid = np.sqrt(grid[1:] * grid[:-1])
    sl = float(np.sum(dC * info.surprisal(mid)) / C[-1])
    rl = float(np.sum(dC * info.binary_entropy(mid)) / C[-1])
    return {"sl": sl, "rl": rl, "sl_over_rl": sl / rl}


# ---------------------------------------------------------------- the learning dynamics (tabular softmax)
def _check_dyn(V, eta, p_end):
    V = integer("V", V, minimum=2)
    eta = real("eta", eta, minimum=0.0, open_low=True)
    p_end = probability("p_end", p_end, open_low=True, open_high=True)
    if not p_end > 1.0 / V:
        raise ParameterError(f"p_end={p_end!r} must exceed the starting pass rate 1/V={1.0 / V!r}")
    return V, eta, p_end


def softmax_dynamics(V, eta, p_end) -> np.ndarray:
    """The pass rates ``p_0 = 1/V, p_1, ..., p_K`` after each SL step (or each RL success) of the tabular softmax,
    from a uniform start, up to the first ``p_K >= p_end`` (exact discrete recursion; see the module docstring).

    SL spends one sample at each ``p_k`` (k < K); REINFORCE with 0/1 reward and no baseline spends on average
    ``1 / p_k`` samples at ``p_k``.
    """
    V, eta, p_end = _check_dyn(V, eta, p_end)
    c = eta * V / (V - 1.0)
    logw = math.log(V - 1.0)
    d, p = 0.0, 1.0 / V
    out = [p]
    while p < p_end:
        d += c * (1.0 - p)
        p = 1.0 / (1.0 + math.exp(logw - d))
        out.append(p)
        if len(out) > 10**8:  # pragma: no cover - guards against absurd parameters
            raise ParameterError(f"eta={eta!r} is too small: more than 1e8 steps to reach p_end")
    return np.asarray(out)


def dynamics_samples_closed_form(p, learner: str, V, eta):
    """Continuum-limit samples from the uniform start (pass rate ``1/V``) until pass rate ``p``:

    - SL:  ``(x + e^x - x0 - e^x0) / c``;
    - RL:  ``(2x + e^x - e^-x - 2x0 - e^x0 + e^-x0) / c`` (expected samples, no baseline),

    with ``x = logit p``, ``x0 = logit(1/V) = -ln(V - 1)`` and ``c = eta V / (V - 1)``.
    """
    one_of("learner", learner, ("sl", "rl"))
    V = integer("V", V, minimum=2)
    eta = real("eta", eta, minimum=0.0, open_low=True)
    p = np.asarray(probability("p", p, open_low=True, open_high=True), dtype=float)
    c = eta * V / (V - 1.0)

    def f(x):
        return (x + np.exp(x)) if learner == "sl" else (2 * x + np.exp(x) - np.exp(-x))

    x = np.log(p) - np.log1p(-p)
    out = (f(x) - f(-math.log(V - 1.0))) / c
    return float(out) if out.ndim == 0 else out


def dynamics_spent(rates: np.ndarray, learner: str) -> np.ndarray:
    """Expected samples spent at each pass rate of :func:`softmax_dynamics` (all but the last): SL one, RL ``1/p``."""
    one_of("learner", learner, ("sl", "rl"))
    r = np.asarray(rates, dtype=float)[:-1]
    return np.ones_like(r) if learner == "sl" else 1.0 / r


def dynamics_summary(V, eta, p_end, threshold: float = 0.5) -> dict:
    """For SL and RL under the tabular dynamics: total (expected) samples to reach ``p_end``, the share spent at pass
    rate >= ``threshold``, and the (expected) bits received (SL: sum of -log2 p_k; RL: the bound sum of H(p_k)/p_k)."""
    rates = softmax_dynamics(V, eta, p_end)
    threshold = probability("threshold", threshold)
    out = {"steps": len(rates) - 1}
    at = rates[:-1]
    for learner in ("sl", "rl"):
        spent = dynamics_spent(rates, learner)
        bits = info.surprisal(at) if learner == "sl" else info.binary_entropy(at)
        out[learner] = {
            "samples": float(spent.sum()),
            "share_above": float(spent[at >= threshold].sum() / spent.sum()),
            "bits": float((spent * bits).sum()),
        }
    return out


def samples_per_decade(rates: np.ndarray, learner: str, edges: np.ndarray) -> np.ndarray:
    """Expected samples spent while the pass rate lies in each bin ``[edges[i], edges[i+1])``."""
    spent = dynamics_spent(rates, learner)
    at = np.asarray(rates, dtype=float)[:-1]
    idx = np.searchsorted(np.asarray(edges, dtype=float), at, side="right") - 1
    ok = (idx >= 0) & (idx < len(edges) - 1)
    return np.bincount(idx[ok], weights=spent[ok], minlength=len(edges) - 1)


def simulate_rl_samples(V, eta, p_end, rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """A simulation of tabular REINFORCE (0/1 reward, no baseline) with all ``V`` logits, from a uniform start, one
    sample per update, until the pass rate reaches ``p_end``. Returns the samples used and the samples spent at each
    pass rate visited (a check of the geometric-waiting argument, which it does not use).

    Every sample is drawn from the full softmax over ``V`` answers. A failure (reward 0) leaves the logits unchanged,
    so the samples between two successes are drawn from the same distribution, in chunks.
    """
    V, eta, p_end = _check_dyn(V, eta, p_end)
    z = np.zeros(V)
    n, spent = 0, []
    while True:
        q = softmax(z)
        if q[0] >= p_end:
            return n, np.asarray(spent, dtype=float)
        cdf = np.cumsum(q)
        waited, chunk = 0, max(16, int(2.0 / q[0]))
        while True:
            a = np.minimum(np.searchsorted(cdf, rng.random(chunk) * cdf[-1], side="right"), V - 1)
            hits = np.flatnonzero(a == 0)  # answer 0 is correct
            if hits.size:
                waited += int(hits[0]) + 1
                break
            waited += chunk
        n += waited
        spent.append(waited)
        z -= eta * q  # the update of the success: eta (e_0 - q)
        z[0] += eta
