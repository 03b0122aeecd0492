"""A synthetic Markov language whose entropy is known exactly (chapters 4 and 7).

The language is a first-order Markov chain over ``K`` tokens. Each context (previous token) is one of two kinds:

- *deterministic*: the next token is fixed (a learnable fact; its irreducible loss is 0);
- *random*: the next token is uniform over ``support`` tokens (the "Bob's favourite colour" case: no model can do
  better than ``log2(support)`` bits; optionally Dirichlet-weighted instead of uniform).

Because the chain is known, everything a learner's loss is compared with is exact: the entropy rate
``sum_s pi(s) H(P[s])`` (the irreducible loss of a bigram model), the expected cross-entropy of any bigram table and its
excess over the floor, ``sum_s pi(s) KL(P[s] || Q[s])``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlbits import info
from rlbits.validate import integer, probability, real

_unit = info._scale  # 1 / ln 2 for bits, 1 for nats (the unit checked)


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a (..., K) array in float64, max subtracted.

    Written out as :func:`scipy.special.softmax` computes it (the same operations, identical result) because it runs
    in chapter 7's training loop about 10,000 times per method: on its 512 x 64 tables scipy's call costs some
    40 us more, mostly array-namespace dispatch (tests/test_language.py holds the two equal bit for bit)."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64, stable for very negative logits (no log of a rounded-to-zero probability).

    Written out rather than :func:`scipy.special.log_softmax` (the same arithmetic, identical result) because it runs
    in chapter 4's SGD loops about 140,000 times: on a 32 x 32 table scipy's call measured 21.5 us against 9.6 us
    here, about 1.7 s of the chapter."""
    z = np.asarray(logits, dtype=np.float64)
    # the ufuncs' reduce rather than the methods .max and .sum: the same reductions without the methods' wrappers
    z = z - np.maximum.reduce(z, axis=-1, keepdims=True)
    return z - np.log(np.add.reduce(np.exp(z), axis=-1, keepdims=True))


@dataclass(frozen=True)
class MarkovLanguage:
    """A Markov-chain language with transition matrix ``P`` (rows sum to 1) and its stationary distribution."""

    P: np.ndarray
    stationary: np.ndarray
    deterministic: np.ndarray

    @property
    def K(self) -> int:
        return self.P.shape[0]

    def context_entropy(self, unit: str = "bits") -> np.ndarray:
        """H(P[s]) for every context s."""
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(self.P > 0, -self.P * np.log(np.where(self.P > 0, self.P, 1.0)), 0.0)
        return terms.sum(axis=1) * _unit(unit)

    def entropy_rate(self, unit: str = "bits") -> float:
        """The irreducible loss per token of a bigram model: sum_s pi(s) H(P[s])."""
        return float(self.stationary @ self.context_entropy(unit))

    def cross_entropy(self, logits: np.ndarray, unit: str = "bits") -> float:
        """Expected loss per token of a bigram model with logit table ``logits`` (K x K) on this language."""
        logq = log_softmax_rows(logits)
        return float(-(self.stationary[:, None] * self.P * logq).sum() * _unit(unit))

    def excess_loss(self, logits: np.ndarray, unit: str = "bits", by_context: bool = False):
        """Cross-entropy minus the entropy rate: sum_s pi(s) KL(P[s] || Q[s]) (per context if ``by_context``)."""
        logq = log_softmax_rows(logits)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(self.P > 0, self.P * (np.log(np.where(self.P > 0, self.P, 1.0)) - logq), 0.0).sum(axis=1)
        kl = np.maximum(kl, 0.0) * _unit(unit)
        return kl if by_context else float(self.stationary @ kl)

    def sample_pairs(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` independent (context, next token) pairs with the context drawn from the stationary distribution.

        This is the pair distribution of the stationary chain; consecutive pairs of one long sequence have the same
        marginal but are correlated, which SGD on a bigram table does not need.
        """
        n = integer("n", n, minimum=0)
        ctx = rng.choice(self.K, size=n, p=self.stationary)
        return ctx, self.sample_next(rng, ctx)

    def sample_next(self, rng: np.random.Generator, ctx: np.ndarray) -> np.ndarray:
        """One next token for each context in ``ctx`` (inverse-CDF sampling, vectorised)."""
        cdf = np.cumsum(self.P[ctx], axis=1)
        u = rng.random(len(ctx))[:, None]
        return np.minimum((u > cdf).sum(axis=1), self.K - 1)

    def sample_sequence(self, rng: np.random.Generator, length: int) -> np.ndarray:
        """A sequence of ``length`` tokens from the stationary chain."""
        length = integer("length", length, minimum=1)
        seq = np.empty(length, dtype=np.int64)
        seq[0] = rng.choice(self.K, p=self.stationary)
        cdf = np.cumsum(self.P, axis=1)
        u = rng.random(length)
        for t in range(1, length):
            seq[t] = min(int(np.searchsorted(cdf[seq[t - 1]], u[t], side="right")), self.K - 1)
        return seq


def stationary_distribution(P: np.ndarray) -> np.ndarray:
    """The stationary distribution of an irreducible chain: solve pi (P - I) = 0 with sum(pi) = 1."""
    K = P.shape[0]
    A = np.vstack([(P - np.eye(K)).T, np.ones(K)])
    b = np.zeros(K + 1)
    b[-1] = 1.0
    pi, *_ = np.linalg.lstsq(A, b, rcond=None)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def _irreducible(P: np.ndarray) -> bool:
    reach = (P > 0).astype(np.int64)
    K = P.shape[0]
    closure = np.eye(K, dtype=np.int64) | reach
    for _ in range(int(np.ceil(np.log2(K))) + 1):
        closure = ((closure @ closure) > 0).astype(np.int64)
    return bool(closure.all())


def make_language(K: int = 64, frac_deterministic: float = 0.5, support: int = 16, seed: int = 0,
                  concentration: float | None = None) -> MarkovLanguage:
    """A random Markov language: a share ``frac_deterministic`` of contexts has one fixed next token, the rest a
    next token spread over ``support`` tokens (uniformly, or Dirichlet(``concentration``)-weighted).

    The chain is redrawn (from the same seeded stream) until it is irreducible, so its stationary distribution is
    unique and positive.
    """
    K = integer("K", K, minimum=2)
    frac_deterministic = probability("frac_deterministic", frac_deterministic, open_high=True)
    support = integer("support", support, minimum=2, maximum=K)
    if concentration is not None:
        concentration = real("concentration", concentration, minimum=0.0, open_low=True)
    rng = np.random.default_rng(integer("seed", seed, minimum=0))
    n_det = int(round(frac_deterministic * K))
    for _ in range(1000):
        det = np.zeros(K, dtype=bool)
        det[rng.permutation(K)[:n_det]] = True
        P = np.zeros((K, K))
        for s in range(K):
            if det[s]:
                P[s, rng.integers(K)] = 1.0
            else:
                cols = rng.choice(K, size=support, replace=False)
                w = rng.dirichlet(np.full(support, concentration)) if concentration else np.full(support, 1 / support)
                P[s, cols] = w
        if _irreducible(P):
            return MarkovLanguage(P=P, stationary=stationary_distribution(P), deterministic=det)
    raise RuntimeError("could not draw an irreducible chain; lower frac_deterministic or raise support")
