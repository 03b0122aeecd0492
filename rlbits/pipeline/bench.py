"""The engine benchmark (``python -m rlbits bench``): the fast engine of :mod:`rlbits.learners` against the plain
per-sample reference of :mod:`rlbits.reference`, on the same workload, in the same process (Performance appendix).

For each V in {1e3, 1e4, 1e5, 1e6} it measures, all in one process and one run, so that the page's ratios compare
timings taken under the same load:

- ``inplace_ns_per_element``: the floor the dense kernel competes with, one in-place pass over an array of V float64
  (``np.multiply(a, 1.0, out=a)``: each element read and written once, as the kernel does), timed interleaved with
  the dense step so that both see the same load (:func:`dense_and_floor`); and, for context,
  ``copy_ns_per_element`` (``np.copyto`` between two arrays);
- ``reference_samples_per_s``: :func:`rlbits.reference.run` itself (REINFORCE, no baseline; the implementation the
  tests validate), timed over a bounded number of samples from the uniform start (a full reference run at large V
  would take hours; its time per run is extrapolated as ``mean samples per run / reference_samples_per_s``, which is
  honest because the reference's cost per sample does not depend on the state);
- ``skip_s_per_run``: the middle rung, :func:`rlbits.reference.run_skip_failures` (every sample drawn from the full
  softmax, the zero-gradient updates of failed samples skipped), complete runs to pass rate 0.99;
- ``engine_s_per_run`` and ``engine_samples_per_s``: complete event-driven runs to pass rate 0.99 (geometric waiting
  times instead of the failed samples);
- ``speedup_per_run`` = reference / engine seconds per run, the product of ``speedup_skip`` (reference / middle rung:
  what skipping the updates of failures buys) and ``speedup_events`` (middle rung / engine: what not drawing the
  failures buys);
- ``dense_ns_per_logit``: one step of the dense engine (REINFORCE with mean baseline, one run, everything included),
  per logit, and ``dense_over_inplace`` against the in-place floor; ``dense_update_ns_per_logit`` for the fused update
  kernel alone; and ``reference_mean_ns_per_logit`` for :func:`rlbits.reference.run` with the mean baseline;
- ``jit_seconds`` (once): compiling the numba kernels, or loading them from numba's on-disk cache, done before any
  timing and excluded from the per-step figures;
- ``kernels``: the pipeline's side: seconds from starting a Jupyter kernel to having run a chapter's first cell,
  for a kernel forked from the warm server against an ordinary one, interleaved (:func:`rlbits.pipeline.warmkernel.benchmark`).

Writes ``build_dir / "bench.json"``.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numba
import numpy as np

from rlbits import learners
from rlbits import reference as ref
from rlbits.pipeline import warmkernel

SIZES = (10**3, 10**4, 10**5, 10**6)
TARGET_SPEEDUP = 1e5  #: the event engine against the reference, per run at V = 1e5
TARGET_DENSE_OVER_INPLACE = 3.0  #: the dense step against one in-place pass over the same array, at V = 1e5


def _best(f, repeats: int, inner: int) -> float:
    """Best over ``repeats`` of the mean time of ``inner`` calls of ``f`` (seconds per call)."""
    f()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def copy_ns_per_element(V: int) -> float:
    """``np.copyto`` between two arrays of V float64 (reads one, writes the other), ns per element."""
    a = np.random.default_rng(0).random(V)
    b = np.empty_like(a)
    inner = max(1, int(2e6 // V))
    return _best(lambda: np.copyto(b, a), 7, inner) / V * 1e9


def reference_rate(V: int, method: str, budget_s: float) -> float:
    """Samples per second of :func:`rlbits.reference.run` from the uniform start, over about ``budget_s`` seconds."""
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    ref.run(method, V, [0.99], rng, max_samples=2)
    per = (time.perf_counter() - t0) / 2
    n = max(3, int(budget_s / max(per, 1e-9)))
    rng = np.random.default_rng(2)
    t0 = time.perf_counter()
    done, _ = ref.run(method, V, [0.99], rng, max_samples=n)
    elapsed = time.perf_counter() - t0
    return (int(done[-1]) if done[-1] > 0 else n) / elapsed


def skip_run_time(V: int, n_runs: int) -> float:
    """Seconds per complete run to pass rate 0.99 of the middle rung (:func:`rlbits.reference.run_skip_failures`)."""
    rngs = learners.generators(7, n_runs)
    t0 = time.perf_counter()
    for g in rngs:
        ref.run_skip_failures(V, [0.5, 0.99], g)
    return (time.perf_counter() - t0) / n_runs


def engine_run_time(V: int, n_runs: int, reps: int = 3) -> tuple[float, float]:
    """Seconds per complete run to pass rate 0.99 of the event engine (best of ``reps`` batches of ``n_runs`` runs),
    and mean samples per run."""
    best = float("inf")
    for rep in range(reps):
        t0 = time.perf_counter()
        s = learners.reinforce_samples_to(V, [0.5, 0.99], 2024, n_runs)
        best = min(best, (time.perf_counter() - t0) / n_runs)
    return best, float(s[:, 1].mean())


def dense_and_floor(V: int, steps: int, reps: int = 5) -> tuple[float, float, float, dict]:
    """The dense engine against its floor, interleaved so that both see the same load: for each of ``reps``
    repetitions, one dense run of ``steps`` steps (REINFORCE with mean baseline, everything included: sampling, the
    fused update, bookkeeping, drawing the uniforms), then ``steps`` calls of the fused update kernel alone
    (``learners._dense_update``: a failure with the mean baseline at p = 1/V), then ``steps`` in-place passes over an
    array of V float64. Returns the best of each, in ns per logit (per element for the floor), and the Taylor
    degrees the dense run used. The numba kernels are compiled (or loaded) before any timing."""
    a = np.random.default_rng(0).random(V) + 1.0
    w, bsum, _ = learners._fresh_state(V)
    idx, kick = np.array([V // 3], dtype=np.int64), np.array([-1.0 / V])
    S = float(V)
    np.multiply(a, 1.0, out=a)
    learners._dense_update(w, bsum, 1.0, S, 1.0, -1.0 / V, 0.0, idx, kick)
    best_dense = best_kernel = best_floor = float("inf")
    degrees = {}
    for rep in range(reps):
        t0 = time.perf_counter()
        r = learners.reinforce_dense(V, [0.999999], rep, 1, max_samples=steps)
        best_dense = min(best_dense, (time.perf_counter() - t0) / r.steps)
        degrees = r.poly_degree_counts
        t0 = time.perf_counter()
        for _ in range(steps):
            learners._dense_update(w, bsum, 1.0, S, 1.0, -1.0 / V, 0.0, idx, kick)
        best_kernel = min(best_kernel, (time.perf_counter() - t0) / steps)
        t0 = time.perf_counter()
        for _ in range(steps):
            np.multiply(a, 1.0, out=a)
        best_floor = min(best_floor, (time.perf_counter() - t0) / steps)
    return best_dense / V * 1e9, best_kernel / V * 1e9, best_floor / V * 1e9, degrees


def main(build_dir: Path, quick: bool = False) -> int:
    """Run the benchmark and write ``build_dir/bench.json``; returns 0 (the targets are reported, not enforced)."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "bench_mlp_lm.json").unlink(missing_ok=True)  # the Performance page measures chapter 14's step anew
    t_start = time.perf_counter()
    jit_s = learners._ensure_jit()  # compile (or load from numba's cache) before any timing
    rows = []
    for V in SIZES:
        copy = copy_ns_per_element(V)
        budget = 0.15 if quick else 1.0
        ref_rate = reference_rate(V, "rl", budget)
        ref_mean_rate = reference_rate(V, "rl_mean", budget / 3)
        n_runs = 50 if quick else 400
        eng_s, mean_samples = engine_run_time(V, n_runs)
        skip_s = skip_run_time(V, (1 if V >= 10**6 else 2 if V >= 10**5 else 5) if quick else (3 if V >= 10**6 else 10))
        steps = (1000 if V <= 10**5 else 40) if quick else (2000 if V <= 10**5 else 300)
        dense_ns, kernel_ns, inplace, degrees = dense_and_floor(V, steps)
        ref_run_s = mean_samples / ref_rate
        rows.append({
            "V": V,
            "copy_ns_per_element": copy,
            "inplace_ns_per_element": inplace,
            "reference_samples_per_s": ref_rate,
            "reference_s_per_run_extrapolated": ref_run_s,
            "skip_s_per_run": skip_s,
            "skip_samples_per_s": mean_samples / skip_s,
            "engine_s_per_run": eng_s,
            "engine_samples_per_s": mean_samples / eng_s,
            "mean_samples_per_run": mean_samples,
            "successes_per_run": int(learners.sl_samples_to(V, [0.99])[0]),
            "samples_per_s_ratio": (mean_samples / eng_s) / ref_rate,
            "speedup_per_run": ref_run_s / eng_s,
            "speedup_skip": ref_run_s / skip_s,
            "speedup_events": skip_s / eng_s,
            "dense_ns_per_logit": dense_ns,
            "dense_over_inplace": dense_ns / inplace,
            "dense_over_copy": dense_ns / copy,
            "dense_update_ns_per_logit": kernel_ns,
            "dense_update_over_inplace": kernel_ns / inplace,
            "dense_poly_degrees": {str(k): v for k, v in sorted(degrees.items())},
            "reference_mean_ns_per_logit": 1e9 / ref_mean_rate / V,
            "dense_speedup_per_sample": (1e9 / ref_mean_rate / V) / dense_ns,
        })
        print(f"  bench V={V:>8,d}: speedup per run {rows[-1]['speedup_per_run']:.3g} "
              f"(skipping failed updates {rows[-1]['speedup_skip']:.3g} x events {rows[-1]['speedup_events']:.3g}), "
              f"dense step {dense_ns:.2f}, update {kernel_ns:.2f} ns/logit vs in-place pass {inplace:.2f}")
    at = next(r for r in rows if r["V"] == 10**5)
    kernels = warmkernel.benchmark(1 if quick else 3)
    if kernels:
        print(f"  bench kernels: ordinary {kernels['ordinary_s']:.2f} s, warm {kernels['warm_s']:.2f} s "
              f"to a chapter's first cell ({kernels['speedup']:.1f}x)")
    out = {
        "quick": quick,
        "machine": {"processor": platform.processor() or platform.machine(), "python": platform.python_version(),
                    "numpy": np.__version__, "numba": numba.__version__},
        "jit_seconds": jit_s,
        "threshold": 0.99,
        "targets": {"speedup_per_run_at_1e5": TARGET_SPEEDUP, "dense_over_inplace_at_1e5": TARGET_DENSE_OVER_INPLACE},
        "met": {"speedup_per_run_at_1e5": bool(at["speedup_per_run"] >= TARGET_SPEEDUP),
                "dense_over_inplace_at_1e5": bool(at["dense_over_inplace"] <= TARGET_DENSE_OVER_INPLACE),
                "dense_update_over_inplace_at_1e5": bool(at["dense_update_over_inplace"] <= TARGET_DENSE_OVER_INPLACE)},
        "rows": rows,
        "kernels": kernels,
        "seconds": time.perf_counter() - t_start,
    }
    (build_dir / "bench.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {build_dir / 'bench.json'} in {out['seconds']:.1f} s; targets met: {out['met']}")
    return 0
