"""The benchmark writes a complete, self-consistent bench.json (quick mode), and the Performance page's claims hold in
it: each claim is a ratio of two timings measured in the same run, tested at the target the page states."""

import json

import numpy as np
import pytest

from rlbits import learners
from rlbits.pipeline import bench
from rlbits import reference as ref


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert bench.main(out, quick=True) == 0
    return json.loads((out / "bench.json").read_text())


def at(report, V=10**5):
    return next(r for r in report["rows"] if r["V"] == V)


def test_rows_and_fields(report):
    assert [r["V"] for r in report["rows"]] == [10**3, 10**4, 10**5, 10**6]
    for r in report["rows"]:
        for key in ("copy_ns_per_element", "inplace_ns_per_element", "reference_samples_per_s", "skip_s_per_run",
                    "engine_samples_per_s", "speedup_per_run", "dense_ns_per_logit", "dense_update_ns_per_logit"):
            assert r[key] > 0, key
        assert r["speedup_per_run"] == pytest.approx(r["reference_s_per_run_extrapolated"] / r["engine_s_per_run"])
        assert r["dense_over_inplace"] == pytest.approx(r["dense_ns_per_logit"] / r["inplace_ns_per_element"])
        # the two rungs multiply to the whole speed-up (the page says so)
        assert r["speedup_skip"] * r["speedup_events"] == pytest.approx(r["speedup_per_run"], rel=1e-12)


def test_page_speedup_target(report):
    """The page states the event engine runs at least TARGET_SPEEDUP times faster per run than the reference at
    V = 1e5 (a ratio of two timings from one run)."""
    r = at(report)
    assert report["targets"]["speedup_per_run_at_1e5"] == bench.TARGET_SPEEDUP
    assert report["met"]["speedup_per_run_at_1e5"] == (r["speedup_per_run"] >= bench.TARGET_SPEEDUP)
    assert r["speedup_per_run"] >= bench.TARGET_SPEEDUP


def test_page_rungs(report):
    """The page says where the speed-up comes from: both rungs help at every V, and the middle rung's gain grows with
    V (the reference's per-sample cost is O(V), the middle rung's O(1))."""
    for r in report["rows"]:
        assert r["speedup_skip"] > 1 and r["speedup_events"] > 1, r["V"]
    s = [r["speedup_skip"] for r in report["rows"]]
    assert s[-1] > 10 * s[0]


def test_page_dense_target(report):
    """The page states the dense step costs at most TARGET_DENSE_OVER_INPLACE times one in-place pass over the same
    array at V = 1e5, both measured in the same run."""
    r = at(report)
    assert report["targets"]["dense_over_inplace_at_1e5"] == bench.TARGET_DENSE_OVER_INPLACE
    assert report["met"]["dense_over_inplace_at_1e5"] == (r["dense_over_inplace"] <= bench.TARGET_DENSE_OVER_INPLACE)
    assert r["dense_over_inplace"] <= bench.TARGET_DENSE_OVER_INPLACE
    assert report["jit_seconds"] >= 0 and "numba" in report["machine"]
    degrees = r["dense_poly_degrees"]
    assert sum(degrees.values()) > 0 and set(degrees) <= {"-1", "0", "1", "2", "3", "4", "6", "9"}


def test_quick_is_quick(report):
    assert report["quick"] is True and report["seconds"] < 60


def test_the_reference_is_what_is_timed(monkeypatch):
    """bench.reference_rate calls rlbits.reference.run itself (the validated implementation), not a copy."""
    calls = []
    real = ref.run

    def spy(*args, **kwargs):
        calls.append(args[:2])
        return real(*args, **kwargs)

    monkeypatch.setattr(ref, "run", spy)
    assert bench.reference_rate(100, "rl", 0.01) > 0
    assert calls and all(c == ("rl", 100) for c in calls)


def test_middle_rung_matches_the_reference_in_distribution():
    """run_skip_failures against reference.run and the exact expectation sum 1/p_k (V = 20, eta = 1)."""
    V, n = 20, 400
    skip = np.array([ref.run_skip_failures(V, [0.5, 0.99], g)
                     for g in learners.generators(np.random.SeedSequence(11), n)])
    full = np.array([ref.run("rl", V, [0.5, 0.99], g)[0] for g in learners.generators(np.random.SeedSequence(12), n)])
    for j, t in enumerate((0.5, 0.99)):
        p, _ = learners.pass_rate(learners.sl_gaps(V, t, 1.0), V)
        mean, var = np.sum(1 / p[:-1]), np.sum((1 - p[:-1]) / p[:-1] ** 2)
        se = np.sqrt(var / n)
        assert abs(skip[:, j].mean() - mean) < 5 * se
        assert abs(full[:, j].mean() - mean) < 5 * se
    # two-sample Kolmogorov-Smirnov distance of the samples to 0.99, against its 0.1% critical value
    a, b = np.sort(skip[:, 1]), np.sort(full[:, 1])
    grid = np.union1d(a, b)
    d = np.max(np.abs(np.searchsorted(a, grid, side="right") / n - np.searchsorted(b, grid, side="right") / n))
    assert d < 1.95 * np.sqrt(2 / n)
