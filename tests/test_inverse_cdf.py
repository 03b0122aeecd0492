"""count_below equals the plain inverse-CDF count (chapters 7 and 14)."""

import numpy as np

from rlbits.inverse_cdf import count_at_or_below, count_below


def test_count_below_is_the_plain_count():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        p = rng.dirichlet(np.full(40, 0.2), 500).astype(dtype)
        p[:5, 8:] = 0.0  # repeated sums (flat stretches)
        p[5, 17] = np.nan
        cdf = np.cumsum(p, axis=1)
        u = rng.random(len(p))[:, None] * np.array([1.0, 1.5])[rng.integers(0, 2, len(p))][:, None]  # some above
        u[6] = cdf[6, 9]  # a uniform equal to a sum: not below it
        got = count_below(cdf, u)
        assert np.array_equal(got, (cdf < u).sum(axis=1))
        assert (got == 40).any() and (got < 40).any()
        got = count_at_or_below(cdf, u)
        assert np.array_equal(got, (cdf <= u).sum(axis=1))
        assert (got == 40).any() and (got < 40).any() and got[6] == 10  # a sum equal to u counts
