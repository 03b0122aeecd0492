"""Three ways to count the information in one piece of feedback (chapters 1 and 2).

Introduced in chapter 2, "What counts as a bit"; chapter 1 compares the three measures off the uniform belief.

The model of chapter 2: a learner's belief puts probability ``p`` on the correct answer and spreads the rest evenly,
``q = (1 - p) / (V - 1)`` on each of the ``V - 1`` wrong answers. Its policy samples from the same distribution, so
``p`` is also its pass rate. Two kinds of feedback:

- **SL**: the label, i.e. the correct answer itself;
- **RL**: the learner samples an answer ``A`` from its belief and is told pass or fail, ``R = 1[A = correct]``
  (it knows which answer it sampled).

Three measures, each for both kinds of feedback:

1. *surprisal* of the feedback actually received, under the learner's own predictive distribution;
2. *expected information gain given the truth*: the expected KL divergence from prior to Bayesian posterior,
   KL(posterior || prior), averaged over the feedback the true answer generates;
3. *mutual information* between the feedback and the answer, with the answer drawn from the learner's belief
   (equivalently: the expected information gain averaged over the learner's own predictive distribution).

Closed forms are vectorised over ``p`` (and ``V``), validated, and take ``unit="bits"`` or ``"nats"``;
:func:`brute_force_measures` recomputes measures 2 and 3 for an arbitrary belief vector by explicit Bayesian updates,
as an independent check. The ideal eliminator (a Bayesian learner with a uniform belief that never repeats a failed
answer) has its own helpers at the end.
"""

from __future__ import annotations

import math

import numpy as np

from rlbits import info
from rlbits.info import binary_entropy, surprisal
from rlbits.validate import ParameterError, integer, probability

_scale = info._scale  # the unit factor (1/ln 2 for bits, checked) and the scalar/array return of rlbits.info
_out = info._out


def _answers(V):
    """Validate V (number of answers, an integer >= 2; scalar or array) and return it as a float array."""
    arr = np.asarray(V)
    if arr.dtype.kind not in "iuf" or arr.dtype == bool:
        raise ParameterError(f"V={V!r} is not an integer; allowed: [2, inf)")
    flat = arr.astype(float).ravel()
    bad = ~np.isfinite(flat) | (flat < 2) | (flat != np.floor(flat))
    if np.any(bad):
        raise ParameterError(f"V={float(flat[bad][0]):g} is outside the allowed range: an integer in [2, inf)")
    return arr.astype(float)


def _pv(p, V, open_low: bool = False):
    """``p`` (a probability; ``open_low``: > 0) and ``V`` (:func:`_answers`) validated and broadcast together."""
    p = np.asarray(probability("p", p, open_low=open_low), dtype=float)
    V = _answers(V)
    return np.broadcast_arrays(p, V)


def wrong_mass(p, V):
    """q = (1 - p) / (V - 1): the belief on each wrong answer."""
    p, V = _pv(p, V)
    return _out((1.0 - p) / (V - 1.0))


def _log_one_minus_q(p, V):
    """ln(1 - q) computed as ln((V - 2 + p) / (V - 1)), exact at V = 2 where 1 - q = p."""
    with np.errstate(divide="ignore"):
        return np.log((V - 2.0 + p) / (V - 1.0))


# ---------------------------------------------------------------- measure 1: surprisal of the feedback received
def sl_surprisal(p, unit: str = "bits"):
    """Surprisal of the label: -log p (the essay's SL count; chapter 1)."""
    return surprisal(p, unit)


def rl_surprisal_pass(p, unit: str = "bits"):
    """Surprisal of a *pass*: the learner predicted its sampled answer correct with probability p, so -log p."""
    return surprisal(p, unit)


def rl_surprisal_fail(p, V, unit: str = "bits"):
    """Surprisal of a *fail* of a wrong sampled answer: -log(1 - q), about 1/V for small p and large V."""
    p, V = _pv(p, V)
    return _out(-_log_one_minus_q(p, V) * _scale(unit))


def rl_bare_bit_entropy(p, unit: str = "bits"):
    """H(p): the expected surprisal of the bare pass/fail bit, predicted as Bernoulli(p) (the essay's RL count)."""
    return binary_entropy(p, unit)


# ---------------------------------------------------------------- measure 2: expected information gain | truth
def sl_info_gain(p, V, unit: str = "bits"):
    """Expected KL(posterior || prior) after the label, given the truth: the posterior is a point mass, so -log p.

    ``V`` is accepted (and validated) for symmetry with :func:`rl_info_gain`; the value does not depend on it.
    """
    p, V = _pv(p, V)
    return surprisal(p, unit)


def rl_success_term(p, unit: str = "bits"):
    """-p log p: the part of RL's information gain that arrives on successes."""
    p = np.asarray(probability("p", p), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return _out(out * _scale(unit))


def rl_info_gain(p, V, unit: str = "bits"):
    """Expected KL(posterior || prior) after one pass/fail of an on-policy sample, given the truth.

    A pass (probability p) collapses the belief onto the answer: gain -log p. A fail (probability 1 - p) removes one
    wrong answer of mass q and renormalises: gain -log(1 - q). So the expectation is -p log p - (1 - p) log(1 - q).
    """
    p, V = _pv(p, V)
    return _out(rl_success_term(p, "nats") * _scale(unit) + (1.0 - p) * rl_surprisal_fail(p, V, unit))


# ---------------------------------------------------------------- measure 3: mutual information
def sl_mutual_info(p, V, unit: str = "bits"):
    """I(answer; label) = H(belief) = H(p) + (1 - p) log(V - 1): the label reveals the whole answer."""
    p, V = _pv(p, V)
    return _out(binary_entropy(p, unit) + (1.0 - p) * np.log(V - 1.0) * _scale(unit))


def rl_mutual_info(p, V, unit: str = "bits"):
    """I(answer; (A, R)) with A drawn from the belief: H(R | A) = p H(p) + (1 - p) H(q)."""
    p, V = _pv(p, V)
    q = (1.0 - p) / (V - 1.0)
    one_minus_q = (V - 2.0 + p) / (V - 1.0)  # exact at V = 2, where 1 - q = p
    with np.errstate(divide="ignore", invalid="ignore"):
        # take the log of whichever of q, 1 - q is below 1/2 directly, and of the other by log1p
        log_q = np.where(q < 0.5, np.log(q), np.log1p(-one_minus_q))
        log_omq = np.where(one_minus_q < 0.5, np.log(one_minus_q), np.log1p(-q))
        h_q = np.where(q > 0, -q * log_q, 0.0) + np.where(one_minus_q > 0, -one_minus_q * log_omq, 0.0)
    return _out(p * binary_entropy(p, unit) + (1.0 - p) * h_q * _scale(unit))


def all_measures(p, V, unit: str = "bits") -> dict:
    """Every measure of chapter 2 at (p, V), as a dict of name -> value (vectorised)."""
    return {
        "sl_surprisal": sl_surprisal(p, unit),
        "rl_entropy_bound": rl_bare_bit_entropy(p, unit),
        "rl_surprisal_fail": rl_surprisal_fail(p, V, unit),
        "sl_info_gain": sl_info_gain(p, V, unit),
        "rl_info_gain": rl_info_gain(p, V, unit),
        "rl_success_term": rl_success_term(p, unit),
        "sl_mutual_info": sl_mutual_info(p, V, unit),
        "rl_mutual_info": rl_mutual_info(p, V, unit),
    }


# ---------------------------------------------------------------- brute force: explicit Bayesian updates
def belief(p, V: int) -> np.ndarray:
    """The belief vector of chapter 2: p on answer 0 (the correct one), q on each of the other V - 1."""
    p = probability("p", p)
    V = integer("V", V, minimum=2, maximum=10**7)
    out = np.full(V, (1.0 - p) / (V - 1.0))
    out[0] = p
    return out


def _kl(post: np.ndarray, prior: np.ndarray) -> float:
    """``KL(post || prior)`` in nats: :func:`rlbits.info.kl_divergence`."""
    return float(info.kl_divergence(post, prior, "nats"))


def brute_force_measures(prior, truth: int = 0, unit: str = "bits") -> dict:
    """Measures 2 and 3 for an arbitrary belief vector ``prior``, by enumerating every feedback and Bayes' rule.

    No closed form is used: for each possible sampled answer ``a`` and outcome, the posterior is computed as
    prior x likelihood / evidence and the KL divergence summed explicitly. Cost O(V^2); meant for V up to a few
    hundred. Returns ``sl_info_gain``, ``rl_info_gain`` (given ``truth``), ``sl_mutual_info`` and ``rl_mutual_info``
    (answer drawn from ``prior``).
    """
    prior = np.asarray(prior, dtype=float)
    if prior.ndim != 1 or prior.size < 2 or np.any(prior < 0) or not np.isclose(prior.sum(), 1.0, atol=1e-12):
        raise ParameterError(f"prior must be a probability vector of length >= 2, got {prior!r}")
    V = prior.size
    truth = integer("truth", truth, minimum=0, maximum=V - 1)
    scale = _scale(unit)
    eye = np.eye(V)

    def sl_gain(c):  # label c observed: likelihood 1[answer == c]
        return _kl(eye[c], prior)

    def rl_gain(a, passed):  # sampled a, outcome passed: likelihood 1[answer == a] or 1[answer != a]
        like = eye[a] if passed else 1.0 - eye[a]
        post = prior * like
        return _kl(post / post.sum(), prior)

    # RL outcome table: gain[a, passed] and the probability of "pass" for each sampled a given each answer c
    gain_pass = np.array([rl_gain(a, True) if prior[a] > 0 else 0.0 for a in range(V)])
    gain_fail = np.array([rl_gain(a, False) if prior[a] < 1 else 0.0 for a in range(V)])

    def rl_expected(c):  # truth c: A ~ prior, pass iff A == c
        return float(sum(prior[a] * (gain_pass[a] if a == c else gain_fail[a]) for a in range(V)))

    sl_ig = sl_gain(truth)
    rl_ig = rl_expected(truth)
    sl_mi = float(sum(prior[c] * sl_gain(c) for c in range(V) if prior[c] > 0))
    rl_mi = float(sum(prior[c] * rl_expected(c) for c in range(V) if prior[c] > 0))
    return {"sl_info_gain": sl_ig * scale, "rl_info_gain": rl_ig * scale,
            "sl_mutual_info": sl_mi * scale, "rl_mutual_info": rl_mi * scale}


# ---------------------------------------------------------------- any belief, in O(V): where H(p) bounds RL and where not
def _belief_vector(belief) -> np.ndarray:
    b = np.asarray(belief, dtype=float)
    if b.ndim != 1 or b.size < 2 or not np.all(np.isfinite(b)) or np.any(b < 0) or abs(b.sum() - 1.0) > 1e-9:
        raise ParameterError(f"belief must be a probability vector of length >= 2 (summing to 1 within 1e-9), "
                             f"got shape {b.shape} and sum {float(np.sum(b)) if b.size else 0.0!r}")
    return b


def rl_info_gain_belief(belief, truth: int = 0, unit: str = "bits") -> float:
    """Expected information gain given the truth of one on-policy pass/fail sample, for *any* belief vector.

    The learner samples ``A`` from its belief ``pi`` and is told whether ``A`` is ``truth``. A pass (probability
    ``pi[truth]``) gains ``-log pi[truth]``; a fail on ``a`` (probability ``pi[a]``) removes ``a`` and gains
    ``-log(1 - pi[a])`` (eq. ``eq-kl-restriction`` of chapter 2). So the expectation is
    ``-pi* log pi* - sum_{a != truth} pi[a] log(1 - pi[a])``, computed in O(V) (``log1p``); the same quantity as
    :func:`brute_force_measures`'s ``rl_info_gain`` (O(V^2)). Chapter 1 uses it for the counterexample to the
    H(p) bound: when the belief differs from the pass rate it can exceed ``H(pi*)``, and one bit.
    """
    b = _belief_vector(belief)
    truth = integer("truth", truth, minimum=0, maximum=b.size - 1)
    wrong = np.delete(b, truth)
    with np.errstate(divide="ignore"):
        fail = -np.sum(wrong * np.log1p(-np.minimum(wrong, 1.0)))
    return float((float(rl_success_term(b[truth], "nats")) + fail) * _scale(unit))


def rl_mutual_info_belief(belief, unit: str = "bits") -> float:
    """Mutual information between the answer ``C`` (drawn from the belief) and the feedback ``(A, R)`` of one
    on-policy pass/fail sample, for any belief vector: ``I(C; A, R) = H(R | A) = sum_a pi[a] H(pi[a])``.

    Each term is the entropy of the reward the learner *predicts* for the answer it sampled, so
    ``I <= H(R | A) <= H(R) <= 1`` bit: the theorem behind the essay's bound (chapter 1). Computed in O(V).
    """
    b = _belief_vector(belief)
    return float(np.sum(b * binary_entropy(np.clip(b, 0.0, 1.0), unit)))


def decoy_belief_measures(p, decoy, V, unit: str = "bits") -> dict:
    """Closed forms, in O(1), for a belief with mass ``p`` on the true answer, ``decoy`` on one wrong answer and the
    rest, ``r = (1 - p - decoy) / (V - 2)``, on each of the other ``V - 2`` (chapter 1's counterexample to the H(p)
    bound; ``V`` may be far too large for a belief vector).

    Returns ``rl_info_gain`` (given the truth, :func:`rl_info_gain_belief`), ``rl_mutual_info``
    (:func:`rl_mutual_info_belief`) and ``entropy_bound`` (``H(p)``, the essay's count at this pass rate).
    """
    p = probability("p", p, open_low=True, open_high=True)
    decoy = probability("decoy", decoy)
    V = integer("V", V, minimum=3)
    if p + decoy > 1.0:
        raise ParameterError(f"p + decoy = {p + decoy!r} exceeds 1; allowed: p + decoy <= 1")
    r = max((1.0 - p - decoy) / (V - 2.0), 0.0)
    scale = _scale(unit)
    with np.errstate(divide="ignore"):
        gain = (float(rl_success_term(p, "nats")) - decoy * math.log1p(-min(decoy, 1.0))
                - (V - 2.0) * r * math.log1p(-r))
    mi = (p * binary_entropy(p, "nats") + decoy * binary_entropy(decoy, "nats")
          + (V - 2.0) * r * binary_entropy(r, "nats"))
    return {"rl_info_gain": gain * scale, "rl_mutual_info": float(mi) * scale,
            "entropy_bound": float(binary_entropy(p, unit))}


# ---------------------------------------------------------------- the ideal eliminator
def eliminator_gain(m, unit: str = "bits"):
    """Expected information gain of the eliminator's next sample with ``m`` answers left: exactly H(1/m).

    Its belief is uniform on the m answers not yet ruled out; a pass gains log m, a fail log(m / (m - 1)).
    """
    m = np.asarray(m, dtype=float)
    bad = ~np.isfinite(m) | (m < 1)
    if np.any(bad):
        raise ParameterError(f"m={float(m[bad].flat[0]):g} is outside the allowed range [1, inf)")
    return binary_entropy(1.0 / m, unit)


def eliminator_mean_samples(V) -> float:
    """Expected samples for the eliminator to find the answer from a uniform start: (V + 1) / 2."""
    V = integer("V", V, minimum=1)
    return (V + 1) / 2.0


def eliminator_samples_quantile(V, c) -> int:
    """Samples for the eliminator to have found the answer with probability >= c: ceil(c V) (uniform position)."""
    V = integer("V", V, minimum=1)
    c = probability("c", c)
    return int(math.ceil(c * V - 1e-9 * V))


def eliminator_realised_bits(V: int, n: int) -> float:
    """Bits gathered along one eliminator run that finds the answer at sample ``n``: sum of the realised gains.

    The n - 1 fails gain log(m / (m - 1)) for m = V, ..., V - n + 2, and the pass log(V - n + 1): the sum
    telescopes to log2 V whatever n is. Computed term by term (not telescoped) so the identity can be checked.
    """
    V = integer("V", V, minimum=1)
    n = integer("n", n, minimum=1, maximum=V)
    m = np.arange(V, V - n + 1, -1, dtype=float)  # answers left before each failed sample
    return float(np.sum(np.log2(m / (m - 1.0))) + math.log2(V - n + 1))


def eliminator_simulate(V: int, rng: np.random.Generator, chunk: int = 4096) -> int:
    """One eliminator run, sample by sample: with ``m`` answers not yet ruled out the eliminator samples one of them
    uniformly, and since the truth is one of the ``m`` (a uniform truth stays uniform on the answers not yet ruled
    out), the sample passes with probability ``1/m``; a fail rules one answer out. Returns the number of samples until
    the first pass (a simulation of the process, not its closed form (V + 1) / 2).

    The Bernoulli draws are made ``chunk`` at a time, so a run costs O(n) uniforms for ``n`` samples, about V/2 on
    average, and no O(V) shuffle.
    """
    V = integer("V", V, minimum=1)
    chunk = integer("chunk", chunk, minimum=1)
    done = 0
    while True:
        m = V - done - np.arange(min(chunk, V - done), dtype=float)  # answers left before each sample of the chunk
        hit = np.flatnonzero(rng.random(m.size) * m < 1.0)
        if hit.size:
            return done + int(hit[0]) + 1
        done += m.size
