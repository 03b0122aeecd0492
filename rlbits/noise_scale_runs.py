"""The noise scale along one SGD run, and the critical batch size, run end to end (chapter 4).

Used by chapter 4 ("Pretraining's inverse problem") only. The engines live in :mod:`rlbits.noise` (exact gradient
statistics, the two-batch estimator, SGD, the steps-to-target search and the trade-off fit); this module runs them
with the chapter's streams, so that each of the chapter's cells is the one call that runs an experiment:

- :func:`measure_path` trains the logit table by SGD with a decaying learning rate and returns, at log-spaced
  checkpoints, the exact gradient statistics beside the two-batch estimates (and the exact statistics on a dense grid
  of steps, to read the noise scale at any loss the run passes);
- :func:`b_interval` carries the estimates' two-standard-error intervals into the ratio ``B_simple = tr Sigma / |G|^2``;
- :func:`tradeoff_fits` measures steps to each target loss against the batch size (learning rate tuned per batch
  size) and fits ``S = S_min (1 + B_crit / B)`` at each target, beside the exact noise scale where the SGD run
  reached that target (:func:`b_simple_at`).
"""

from __future__ import annotations

import math

import numpy as np

from rlbits import noise
from rlbits.language import MarkovLanguage
from rlbits.validate import ParameterError, integer, real


def _listed(name: str, value, what: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise ParameterError(f"{name}={value!r} is not a list; allowed: a list of {what}")
    return list(value)


def check_targets(targets) -> list[float]:
    """Chapter 4's ``targets``: at least two excess losses (bits) in [0.01, 1], strictly decreasing; returned as
    floats. Anything else raises a ``ParameterError`` naming the parameter."""
    what = "at least two excess losses (bits) in [0.01, 1], strictly decreasing"
    out = [real("targets", t, minimum=0.01, maximum=1.0) for t in _listed("targets", targets, what)]
    if len(out) < 2 or sorted(set(out), reverse=True) != out:
        raise ParameterError(f"targets={targets!r}; allowed: a list of {what}")
    return out


def check_batch_sizes(batches) -> list[int]:
    """Chapter 4's ``tradeoff_batches``: at least three strictly increasing batch sizes in [1, 10**6]; returned as
    ints. Anything else raises a ``ParameterError`` naming the parameter."""
    what = "at least three strictly increasing batch sizes in [1, 10**6]"
    out = [integer("tradeoff_batches", b, minimum=1, maximum=10**6) for b in _listed("tradeoff_batches", batches, what)]
    if len(out) < 3 or sorted(set(out)) != out:
        raise ParameterError(f"tradeoff_batches={batches!r}; allowed: a list of {what}")
    return out


def checkpoint_grids(n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The checkpoints at which chapter 4 estimates the noise scale (step 0 and 16 log-spaced steps up to
    ``n_steps``) and the dense grid (those plus 400 log-spaced steps) on which it computes the exact statistics."""
    n_steps = integer("n_steps", n_steps, minimum=1)
    checkpoints = np.concatenate([[0], np.unique(np.round(np.logspace(0, math.log10(n_steps), 16)).astype(int))])
    dense = np.union1d(checkpoints, np.unique(np.round(np.logspace(0, math.log10(n_steps), 400)).astype(int)))
    return checkpoints, dense


def measure_path(language: MarkovLanguage, stream: np.random.SeedSequence, *, batch: int, lr: float,
                 decay_steps: float, checkpoints, dense, b_small: int, b_big: int, n_batches: int):
    """One SGD run on ``language`` from a uniform start, measured along the way.

    The run (batch ``batch``, learning rate ``lr / (1 + step / decay_steps)``) draws from the first of two streams
    spawned from ``stream``; the estimates draw from the second, one child stream per checkpoint. Returns
    ``(rows, exact)``: ``rows[i] = (exact statistics, two-batch estimates)`` at ``checkpoints[i]`` (each a dict of
    :func:`rlbits.noise.exact_gradient_stats` with ``by_context=True`` and of
    :func:`rlbits.noise.estimate_noise_scale`), and ``exact[j]``, the exact statistics at ``dense[j]``. Every
    checkpoint must be in ``dense``.
    """
    if not np.all(np.isin(checkpoints, dense)):
        raise ParameterError("checkpoints must all be steps of the dense grid")
    path_seed, est_seed = stream.spawn(2)
    Ws = noise.sgd_path(np.random.default_rng(path_seed), language, batch, lr, dense, decay_steps)
    exact = [noise.exact_gradient_stats(language, W, by_context=True) for W in Ws]
    rows = []
    for step, s in zip(checkpoints, est_seed.spawn(len(checkpoints))):
        j = int(np.searchsorted(dense, step))
        es = noise.estimate_noise_scale(np.random.default_rng(s), language, Ws[j], b_small, b_big, n_batches)
        rows.append((exact[j], es))
    return rows, exact


def first_child(stream: np.random.SeedSequence, index: int = 0) -> np.random.SeedSequence:
    """The ``index``-th child ``stream.spawn`` gave (or will give), rebuilt from its spawn key: the same stream
    whether or not ``stream`` has spawned already."""
    return np.random.SeedSequence(stream.entropy, spawn_key=tuple(stream.spawn_key) + (index,),
                                  pool_size=stream.pool_size)


def exact_path(language: MarkovLanguage, stream: np.random.SeedSequence, *, batch: int, lr: float,
               decay_steps: float, steps) -> list[dict]:
    """The exact gradient statistics (by context) at ``steps`` of the same SGD run :func:`measure_path` makes from
    ``stream``, without the estimates: the cheap way to read a run at another setting (chapter 4's exercises)."""
    Ws = noise.sgd_path(np.random.default_rng(first_child(stream)), language, batch, lr, steps, decay_steps)
    return [noise.exact_gradient_stats(language, W, by_context=True) for W in Ws]


def column(rows, which: int, key: str) -> np.ndarray:
    """One quantity along a measured path: ``which`` 0 for the exact statistics, 1 for the estimates."""
    return np.array([r[which][key] for r in rows])


def estimator_z(*paths) -> np.ndarray:
    """The estimates' errors in units of their standard errors, ``(estimate - exact) / se``, for ``|G|^2`` then
    ``tr Sigma`` of each path in turn: an unbiased estimator gives values of order one."""
    return np.concatenate([(column(rows, 1, key) - column(rows, 0, key)) / column(rows, 1, key + "_se")
                           for rows in paths for key in ("G2", "trace")])


def b_interval(rows):
    """The two-batch noise scale along a path with its interval from two standard errors of each ingredient.

    Returns ``(estimate, low, high)``: ``estimate = tr / |G|^2`` (``inf`` where the estimate of ``|G|^2`` is not
    positive); ``low = max(tr - 2 se, 0) / (|G|^2 + 2 se)``; ``high = (tr + 2 se) / (|G|^2 - 2 se)``, ``inf`` where
    the interval of ``|G|^2`` reaches zero (the ratio is then unbounded above).
    """
    g, t = column(rows, 1, "G2"), column(rows, 1, "trace")
    gse, tse = column(rows, 1, "G2_se"), column(rows, 1, "trace_se")
    lo = np.maximum(t - 2 * tse, 0) / (g + 2 * gse)
    hi = np.where(g - 2 * gse > 0, (t + 2 * tse) / np.maximum(g - 2 * gse, 1e-300), np.inf)
    return np.where(g > 0, t / np.where(g > 0, g, 1.0), np.inf), lo, hi


def b_simple_at(t: float, excess, b_simple) -> float:
    """The exact noise scale where a run first reaches excess loss ``t``, from its values ``b_simple`` at the excess
    losses ``excess`` of a dense grid of steps (log-log interpolation between the two grid points around the
    crossing); ``nan`` if the run never reaches ``t``."""
    hit = np.flatnonzero(np.asarray(excess) <= t)
    if not hit.size:
        return math.nan
    j = int(hit[0])
    if j == 0:
        return float(b_simple[0])
    x0, x1 = math.log(excess[j - 1]), math.log(excess[j])
    w = (math.log(t) - x0) / (x1 - x0)
    return float(math.exp((1 - w) * math.log(b_simple[j - 1]) + w * math.log(b_simple[j])))


def tradeoff_fits(stream: np.random.SeedSequence, language: MarkovLanguage, targets, batches, lrs, n_seeds: int,
                  path_excess, path_b_simple, max_steps: int = 50_000) -> list[dict]:
    """Steps to each target excess loss against the batch size, and the fit of McCandlish et al.'s trade-off.

    For each target (its own stream, spawned from ``stream`` in order) :func:`rlbits.noise.tradeoff_experiment`
    tunes the learning rate on the grid ``lrs`` for each batch size; :func:`rlbits.noise.fit_tradeoff` fits
    ``S = S_min (1 + B_crit / B)``. Each returned dict holds the fit (``s_min``, ``b_crit``, ``e_min``,
    ``b_crit_se``), ``target``, ``steps`` (the tuned steps per batch size), ``max_rel_err`` (the fit's worst relative
    miss) and ``b_simple``, the exact noise scale where the run ``(path_excess, path_b_simple)`` reached the target.
    A batch size that reaches a target in no tuned run within ``max_steps`` raises a ``RuntimeError``.
    """
    B = np.array(batches, dtype=float)
    fits = []
    for t, ss in zip(targets, stream.spawn(len(targets))):
        steps = noise.tradeoff_experiment(ss, language, batches, lrs, t, n_seeds, max_steps=max_steps)["best_steps"]
        if not np.all(np.isfinite(steps)):
            raise RuntimeError(f"target {t}: some batch size never reached it within {max_steps} steps: {steps}")
        f = noise.fit_tradeoff(B, steps)
        pred = noise.tradeoff_steps(B, f["s_min"], f["b_crit"])
        f.update(target=t, steps=steps, max_rel_err=float(np.max(np.abs(steps / pred - 1))),
                 b_simple=b_simple_at(t, path_excess, path_b_simple))
        fits.append(f)
    return fits
