"""Reading the bigram runs: halving times, the end state in random contexts, bits absorbed at equal progress (chapter 7).

Chapter 7 ("Next-token prediction by RL") trains one bigram table by SL and by RL with a match reward on the same
pairs (:func:`rlbits.bigram.train`). This module turns the runs' :class:`rlbits.bigram.Curves` into the quantities the
chapter reports:

- the samples each run needs to halve its initial excess loss, and their median and spread (:func:`halving`,
  :func:`halving_summary`);
- the end state in the high-entropy contexts (:func:`end_state`): the largest token probability, the probability of
  the data's most likely token and the expected reward, ``pi``-weighted over those contexts; and the rule that calls
  what RL did there mode seeking, drift or neither (:func:`mechanism`);
- bits absorbed per sample when a learner has learned a given share of the initial divergence (:func:`absorbed_at`).
"""

from __future__ import annotations

import numpy as np

from rlbits import bigram
from rlbits.language import MarkovLanguage, softmax_rows

MECHANISMS = ("mode seeking", "drift", "neither")
#: drift: RL's largest token probability exceeds the data's mode probability by more than this factor
DRIFT_FACTOR = 1.5


def halving(curves: bigram.Curves) -> np.ndarray:
    """Samples to halve the initial excess loss, one value per run (``inf`` for a run that never does)."""
    return np.array([bigram.samples_to_fraction(curves.samples, c, 0.5) for c in curves.excess])


def halving_summary(name: str, h: np.ndarray, n_samples: int) -> tuple[float, dict]:
    """The median samples to halve (``inf`` if most runs never halve) and the results recorded for it: the median
    (``n_samples``, a lower bound, if infinite), the median as text, and the range over the runs that halved."""
    ok, med = np.isfinite(h), float(np.median(h))
    spread = f"{h[ok].min():,.0f} to {h[ok].max():,.0f}" if ok.any() else "no run halved it"
    return med, {
        f"samples_to_halve_excess_{name}": med if np.isfinite(med) else float(n_samples),
        f"samples_to_halve_excess_{name}_text": f"{med:,.0f}" if np.isfinite(med) else f"more than {n_samples:,}",
        f"samples_to_halve_excess_{name}_range": spread + ("" if ok.all() or not ok.any() else
                                                           f"; {(~ok).sum()} of {len(h)} runs never did"),
    }


def mode_mass(lang: MarkovLanguage, final_logits: np.ndarray) -> np.ndarray:
    """Mean probability of the true mode in the high-entropy contexts at the end, ``pi``-weighted, one value per
    run (``final_logits`` of shape ``(runs, K, K)``)."""
    rand, mode = ~lang.deterministic, lang.P.argmax(axis=1)
    q = softmax_rows(final_logits)
    return (q[:, rand, :][:, np.arange(rand.sum()), mode[rand]] * lang.stationary[rand]).sum(axis=1) / \
        lang.stationary[rand].sum()


def end_state(lang: MarkovLanguage, final_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per run, averaged over the high-entropy contexts (``pi``-weighted): the largest token probability, the
    probability of the data's most likely token, and the expected match reward."""
    rand, mode = ~lang.deterministic, lang.P.argmax(axis=1)
    w_rand = lang.stationary[rand] / lang.stationary[rand].sum()
    q = softmax_rows(final_logits)[:, rand, :]
    return (q.max(axis=2) @ w_rand, q[:, np.arange(rand.sum()), mode[rand]] @ w_rand,
            (q * lang.P[rand]).sum(axis=2) @ w_rand)


def mechanism(mode_excess: np.ndarray, mode_excess_se: float, reward: np.ndarray, reward_true: float,
              top: np.ndarray, true_mode: float) -> str:
    """What RL did in the random contexts, from its end state over runs.

    ``"mode seeking"`` if its probability of the data's mode exceeds the data's by more than two standard errors
    (``mode_excess`` per run, ``mode_excess_se`` over runs) and it earns more reward there than the true
    distribution (``reward_true``); otherwise ``"drift"`` if its largest token probability ``top`` is more than
    :data:`DRIFT_FACTOR` times the mode's probability under the data (``true_mode``): concentrated, but not on the
    mode; otherwise ``"neither"``.
    """
    if mode_excess.mean() - 2 * mode_excess_se > 0 and reward.mean() > reward_true:
        return "mode seeking"
    return "drift" if top.mean() > DRIFT_FACTOR * true_mode else "neither"


def absorbed_at(left: np.ndarray, ab: np.ndarray, target: float) -> float:
    """Bits absorbed per sample when the share still to learn, ``left``, passes ``target`` on its way down: log-log
    interpolation over the intervals up to the table's closest approach with positive ``ab``."""
    ok = (np.arange(len(left)) <= np.argmin(left)) & (ab > 0)
    return float(np.exp(np.interp(np.log(target), np.log(left[ok][::-1]), np.log(ab[ok][::-1]))))
