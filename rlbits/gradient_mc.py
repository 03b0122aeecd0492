"""Monte-Carlo checks of the closed forms for the REINFORCE gradient's statistics and GRPO's signal chance (chapter 3).

Used by chapter 3 ("Seeing the right answer at all"). The closed forms are in :mod:`rlbits.reinforce_gradient` and :mod:`rlbits.sightings`
(:func:`~rlbits.reinforce_gradient.reinforce_stats`, :func:`~rlbits.sightings.grpo_signal_prob`); these functions sample the
same quantities, one independent stream per point, and report the worst deviation in standard errors, so that a
chapter can assert the closed forms with a test that can fail.
"""

from __future__ import annotations

import math

import numpy as np

from rlbits import reinforce_gradient, sightings
from rlbits.validate import integer


def reinforce_check(p_values, V: int, samples: int, stream: np.random.SeedSequence,
                    baselines=reinforce_gradient.BASELINES) -> tuple[dict, float]:
    """Sample ``samples`` one-sample REINFORCE gradients at each (baseline, pass rate) point, baselines outermost,
    each point on its own child of ``stream``. Returns ``(noise_scales, worst_z)``: the sampled noise scale
    ``trace_cov / mean_norm2`` keyed by ``(baseline, p)``, and the largest deviation of the sampled squared mean
    norm or covariance trace from the closed form, in standard errors."""
    samples = integer("samples", samples, minimum=2)
    streams = iter(stream.spawn(len(p_values) * len(baselines)))
    mc, worst_z = {}, 0.0
    for name in baselines:
        for pv in p_values:
            est = reinforce_gradient.reinforce_gradient_mc(pv, V, name, samples, np.random.default_rng(next(streams)))
            exact = reinforce_gradient.reinforce_stats(pv, V, name)
            z = max(abs(est["mean_norm2"] - exact["mean_norm2"]) / est["mean_norm2_se"],
                    abs(est["trace_cov"] - exact["trace_cov"]) / est["trace_cov_se"])
            worst_z = max(worst_z, z)
            mc[name, pv] = est["trace_cov"] / est["mean_norm2"]
    return mc, worst_z


def grpo_check(p_values, G_values, groups: int, stream: np.random.SeedSequence) -> tuple[dict, float]:
    """Simulate ``groups`` groups at each (G, p) point, group sizes outermost, each point on its own child of
    ``stream``; a group carries a signal when its number of passes is neither 0 nor G. Returns ``(shares, worst_z)``:
    the simulated share keyed by ``(G, p)`` and the largest deviation from :func:`rlbits.sightings.grpo_signal_prob`
    in standard errors (points whose standard error underflows count as no deviation)."""
    groups = integer("groups", groups, minimum=1)
    streams = iter(stream.spawn(len(G_values) * len(p_values)))
    shares, worst = {}, 0.0
    for G in G_values:
        for pv in p_values:
            k = np.random.default_rng(next(streams)).binomial(G, pv, size=groups)
            est = np.mean((k > 0) & (k < G))
            exact = sightings.grpo_signal_prob(pv, G)
            se = math.sqrt(max(exact * (1 - exact), 1e-300) / groups)
            worst = max(worst, abs(est - exact) / se if se > 1e-150 else 0.0)
            shares[G, pv] = est
    return shares, worst
