"""rlbits.noise_scale_runs: chapter 4's experiments, checked on a small language against direct computations."""

import math

import numpy as np
import pytest

from rlbits import noise, noise_scale_runs as nsr
from rlbits.language import make_language
from rlbits.validate import ParameterError

RUN = dict(batch=16, lr=5.0, decay_steps=20.0)


@pytest.fixture(scope="module")
def lang():
    return make_language(K=6, frac_deterministic=0.5, support=3, seed=1)


@pytest.fixture(scope="module")
def measured(lang):
    checkpoints, dense = nsr.checkpoint_grids(300)
    rows, exact = nsr.measure_path(lang, np.random.SeedSequence(7), checkpoints=checkpoints, dense=dense,
                                   b_small=4, b_big=64, n_batches=40, **RUN)
    return checkpoints, dense, rows, exact


def test_checkpoint_grids():
    checkpoints, dense = nsr.checkpoint_grids(10_000)
    assert checkpoints[0] == 0 and checkpoints[-1] == 10_000 and np.all(np.diff(checkpoints) > 0)
    assert np.all(np.isin(checkpoints, dense)) and dense.size > 200 and np.all(np.diff(dense) > 0)
    with pytest.raises(ParameterError, match="n_steps"):
        nsr.checkpoint_grids(0)


def test_measure_path_is_the_sgd_run_of_its_first_child_stream(lang, measured):
    checkpoints, dense, rows, exact = measured
    assert len(rows) == len(checkpoints) and len(exact) == len(dense)
    path_seed, _ = np.random.SeedSequence(7).spawn(2)
    Ws = noise.sgd_path(np.random.default_rng(path_seed), lang, RUN["batch"], RUN["lr"], dense, RUN["decay_steps"])
    last = noise.exact_gradient_stats(lang, Ws[-1])
    assert rows[-1][0]["b_simple"] == pytest.approx(last["b_simple"], rel=1e-12)
    # the checkpoint rows are the dense rows at the same steps
    for step, (ex, _) in zip(checkpoints, rows):
        assert ex["excess"] == exact[int(np.searchsorted(dense, step))]["excess"]
    # exact_path rebuilds the same run from the same stream, whether or not the stream has spawned since
    stream = np.random.SeedSequence(7)
    stream.spawn(2)
    again = nsr.exact_path(lang, stream, steps=[0, dense[-1]], **RUN)
    assert again[-1]["b_simple"] == pytest.approx(last["b_simple"], rel=1e-12)
    with pytest.raises(ParameterError):
        nsr.measure_path(lang, np.random.SeedSequence(7), checkpoints=[0, 5], dense=[0, 4], b_small=4, b_big=64,
                         n_batches=10, **RUN)


def test_estimates_are_unbiased_and_intervals_cover(measured):
    _, _, rows, _ = measured
    z = nsr.estimator_z(rows)
    assert z.size == 2 * len(rows) and np.abs(z).max() < 5 and abs(z.mean()) < 1.0
    est, lo, hi = nsr.b_interval(rows)
    exact = nsr.column(rows, 0, "b_simple")
    assert np.all(lo <= est) and np.all(est <= hi)
    assert np.mean((lo <= exact) & (exact <= hi)) > 0.7


def test_b_interval_by_hand():
    row = lambda g, gse, t, tse: ({}, {"G2": g, "G2_se": gse, "trace": t, "trace_se": tse})
    est, lo, hi = nsr.b_interval([row(1.0, 0.1, 10.0, 1.0), row(0.1, 0.1, 10.0, 1.0), row(-0.1, 0.1, 10.0, 1.0)])
    assert est[0] == pytest.approx(10.0) and lo[0] == pytest.approx(8.0 / 1.2) and hi[0] == pytest.approx(12.0 / 0.8)
    assert est[1] == pytest.approx(100.0) and math.isinf(hi[1])  # the interval of |G|^2 reaches zero
    assert math.isinf(est[2]) and math.isinf(hi[2]) and lo[2] == pytest.approx(8.0 / 0.1)


def test_b_simple_at_interpolates_log_log():
    excess = np.array([1.0, 0.1, 0.01])
    bs = np.array([10.0, 100.0, 1000.0])
    assert nsr.b_simple_at(0.1, excess, bs) == pytest.approx(100.0)
    assert nsr.b_simple_at(math.sqrt(0.1 * 0.01), excess, bs) == pytest.approx(math.sqrt(100.0 * 1000.0))
    assert nsr.b_simple_at(2.0, excess, bs) == 10.0
    assert math.isnan(nsr.b_simple_at(0.001, excess, bs))


def test_tradeoff_fits_on_a_small_language(lang):
    fits = nsr.tradeoff_fits(np.random.SeedSequence(3), lang, [0.3, 0.2], [1, 4, 16], np.logspace(0, 1.5, 5), 2,
                             path_excess=np.array([1.0, 0.1]), path_b_simple=np.array([5.0, 50.0]), max_steps=5_000)
    assert [f["target"] for f in fits] == [0.3, 0.2]
    for f in fits:
        assert np.all(np.diff(f["steps"]) <= 0)  # more examples per step: no more steps
        direct = noise.fit_tradeoff(np.array([1.0, 4.0, 16.0]), f["steps"])
        assert f["b_crit"] == pytest.approx(direct["b_crit"]) and f["e_min"] == pytest.approx(direct["e_min"])
        pred = noise.tradeoff_steps(np.array([1.0, 4.0, 16.0]), f["s_min"], f["b_crit"])
        assert f["max_rel_err"] == pytest.approx(np.max(np.abs(f["steps"] / pred - 1)))
    # the noise scale at each target, interpolated on the given path
    assert fits[0]["b_simple"] == pytest.approx(nsr.b_simple_at(0.3, np.array([1.0, 0.1]), np.array([5.0, 50.0])))
    with pytest.raises(RuntimeError, match="never reached"):
        nsr.tradeoff_fits(np.random.SeedSequence(3), lang, [0.3, 0.2], [1, 4, 16], [1e-3, 2e-3], 1,
                          path_excess=np.array([1.0]), path_b_simple=np.array([5.0]), max_steps=3)


@pytest.mark.parametrize("bad", [0.3, [0.3], [0.1, 0.3], [0.3, 0.3], [0.3, 2.0], [0.3, "x"], "0.3"])
def test_check_targets_refuses(bad):
    with pytest.raises(ParameterError, match="targets"):
        nsr.check_targets(bad)


@pytest.mark.parametrize("bad", [64, [4, 16], [16, 4, 64], [4, 4, 16], [0, 4, 16], [4, 16, 2.5], (4, 16, 10**7)])
def test_check_batch_sizes_refuses(bad):
    with pytest.raises(ParameterError, match="tradeoff_batches"):
        nsr.check_batch_sizes(bad)


def test_checks_accept_and_convert():
    assert nsr.check_targets((0.3, 0.15, 0.1)) == [0.3, 0.15, 0.1]
    assert nsr.check_batch_sizes([4, 16.0, 64]) == [4, 16, 64]
