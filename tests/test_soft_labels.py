"""Tests of rlbits.soft_labels, the experiments of chapter 11, against rlbits.distill computed directly."""

import math

import numpy as np
import pytest

from rlbits import distill, soft_labels


@pytest.fixture
def q():
    return distill.teacher(6, 1.0, np.random.default_rng(3))


def test_kl_curves_agree_with_exact_and_use_one_stream_per_size(q):
    seed = np.random.SeedSequence(7)
    curves = soft_labels.kl_curves(q, [20, 200], seed, 400, 0.5)
    assert set(curves) == set(soft_labels.CURVE_KEYS)
    assert np.allclose(curves["fwd_exact"], [distill.expected_kl_smoothed(q, n, 0.5) for n in (20, 200)])
    assert np.allclose(curves["rev_exact"], [distill.expected_kl_mle(q, n) for n in (20, 200)])
    # the n = 200 stream does not depend on which other sizes are run
    alone = soft_labels.kl_curves(q, [200], seed, 400, 0.5)
    assert alone["fwd_mc"][0] == curves["fwd_mc"][1]
    rng = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key + (200, 0)))
    assert curves["fwd_mc"][1] == distill.sample_kl(q, 200, rng, 400, "smoothed", 0.5).mean()
    # the exact curve falls roughly as (V - 1) / (2 n)
    assert curves["fwd_exact"][1] == pytest.approx(distill.kl_first_order(q.size, 200), rel=0.2)


def test_label_prices_order_and_first_order(q):
    equiv, equiv_fo, kls = soft_labels.label_prices(q, [1, 3], 0.5)
    assert list(equiv) == ["bf16", "fp16", "top1", "top3"]
    for name in equiv:
        assert equiv_fo[name] == pytest.approx((q.size - 1) / (2 * kls[name]))
    for name in ("top1", "top3"):  # the exact curve crosses the label's divergence at the price
        n = equiv[name]
        assert distill.expected_kl_smoothed(q, math.floor(n), 0.5) >= kls[name] >= \
            distill.expected_kl_smoothed(q, math.ceil(n), 0.5)
    assert equiv["fp16"] > equiv["bf16"] > equiv["top3"] > equiv["top1"]
    table = soft_labels.price_table(equiv, equiv_fo).splitlines()
    assert len(table) == 2 + len(equiv) and "top-1 probability" in table[4] and "top-3" in table[5]


def test_three_ways_soft_runs_are_identical_and_rl_learns_the_mode(q):
    checkpoints, runs = soft_labels.three_ways(q, 400, 1.0, 100, np.random.SeedSequence(1), 4)
    assert checkpoints[0] == 0 and checkpoints[-1] == 400
    for method in ("soft", "onehot", "rl"):
        assert runs[method][0].shape == (4, checkpoints.size)
    assert np.ptp(runs["soft"][0], axis=0).max() < 1e-12
    assert runs["soft"][0][0, -1] < runs["onehot"][0][:, -1].mean()
    assert runs["rl"][1][:, -1].mean() > q @ q  # the pass rate rises above the teacher's own
    ideal = soft_labels.ideal_curve(q, checkpoints, 0.5, 9.0)
    assert ideal[0] == 9.0 and ideal[-1] == distill.expected_kl_smoothed(q, 400, 0.5)
    n = soft_labels.samples_to_reach(checkpoints, ideal, ideal[-1] * 1.5)
    assert 0 < n < 400
    assert math.isnan(soft_labels.samples_to_reach(checkpoints, ideal, ideal[-1] / 2))


def test_recipe_shapes_and_search_quality():
    W, X_test, quality, search_q = soft_labels.recipe(np.random.SeedSequence(2), 3, 2, 3.0, 200, 2, [5, 20], 6,
                                                      1.0, 1.0, 0.0)
    assert W.shape[0] == 3 and X_test.shape == (200, 2)
    assert set(quality) == {"visits", "chosen", "outcome", "outcome_sims"}
    assert all(v.shape == (2, 2) for v in quality.values())
    assert -1.0 <= search_q <= 1.0


def test_three_ways_subset_keeps_each_method_stream(q):
    _, full = soft_labels.three_ways(q, 200, 1.0, 100, np.random.SeedSequence(4), 3)
    _, part = soft_labels.three_ways(q, 200, 1.0, 100, np.random.SeedSequence(4), 3, methods=("soft", "rl"))
    assert set(part) == {"soft", "rl"}
    assert np.array_equal(part["rl"][0], full["rl"][0]) and np.array_equal(part["soft"][1], full["soft"][1])
