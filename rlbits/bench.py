"""The engine benchmark (``python -m rlbits bench``): the fast engine of :mod:`rlbits.learners` against the plain
per-sample reference of :mod:`rlbits.reference`, on the same workload, in the same process (Performance appendix).

For each V in {1e3, 1e4, 1e5, 1e6} it measures:

- ``copy_ns_per_element``: the machine's memory-copy cost for an array of V float64 (``np.copyto``, best of repeats);
- ``reference_samples_per_s``: REINFORCE (no baseline) per-sample reference, timed over a bounded number of samples
  from the uniform start (a full reference run at large V would take hours; its time is extrapolated as
  ``mean samples per run / reference_samples_per_s``, which is honest because the reference's cost per sample does
  not depend on the state);
- ``engine_s_per_run`` and ``engine_samples_per_s``: complete event-driven runs to pass rate 0.99, timed;
- ``speedup_per_run``: reference seconds per run (extrapolated) over engine seconds per run;
- ``dense_ns_per_logit``: one step of the dense engine (REINFORCE with mean baseline, one run, everything included),
  per logit, beside ``copy_ns_per_element``; ``dense_update_ns_per_logit`` for the fused update kernel alone; and
  ``reference_mean_ns_per_logit`` for the reference's mean-baseline step;
- ``jit_seconds`` (once): compiling the numba kernels, or loading them from numba's on-disk cache, done before any
  timing and excluded from the per-step figures.

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

SIZES = (10**3, 10**4, 10**5, 10**6)
TARGET_SPEEDUP = 1e5
TARGET_DENSE_OVER_COPY = 3.0


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
    a = np.random.default_rng(0).random(V)
    b = np.empty_like(a)
    inner = max(1, int(2e6 // V))
    return _best(lambda: np.copyto(b, a), 7, inner) / V * 1e9


def reference_rate(V: int, method: str, budget_s: float) -> float:
    """Samples per second of the plain reference from the uniform start, over at most ``budget_s`` seconds."""
    rng = np.random.default_rng(1)
    z = np.zeros(V)
    n, t0 = 0, time.perf_counter()
    while True:
        pi = ref.softmax(z)
        cdf = np.cumsum(pi)
        y = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), V - 1)
        r = 1.0 if y == 0 else 0.0
        z = ref.update(z, [y], [r - pi[0] if method == "rl_mean" else r], 1.0)
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed > budget_s and n >= 3:
            return n / elapsed


def engine_run_time(V: int, n_runs: int) -> tuple[float, float]:
    """Seconds per complete run to pass rate 0.99 of the event engine, and mean samples per run."""
    t0 = time.perf_counter()
    s = learners.reinforce_samples_to(V, [0.5, 0.99], 2024, n_runs)
    return (time.perf_counter() - t0) / n_runs, float(s[:, 1].mean())


def dense_step_ns_per_logit(V: int, steps: int) -> tuple[float, dict]:
    """Dense-engine time per step per logit (one run, mean baseline, everything included: sampling, the fused
    update, bookkeeping, drawing the uniforms), from the uniform start, best of 3. The numba kernels are compiled
    (or loaded) before the timing starts; that time is reported separately."""
    best, degrees = float("inf"), {}
    for rep in range(3):
        t0 = time.perf_counter()
        r = learners.reinforce_dense(V, [0.999999], rep, 1, max_samples=steps)
        best = min(best, (time.perf_counter() - t0) / r.steps)
        degrees = r.poly_degree_counts
    return best / V * 1e9, degrees


def dense_update_ns_per_logit(V: int, steps: int) -> float:
    """The fused update kernel alone (``learners._dense_update``: a failure with the mean baseline at p = 1/V, the
    Taylor degree of that step, one sampled token), per logit, best of 3."""
    w, bsum, st = learners._fresh_state(V)
    idx, kick = np.array([V // 3], dtype=np.int64), np.array([-1.0 / V])
    S = float(V)
    return _best(lambda: learners._dense_update(w, bsum, 1.0, S, 1.0, -1.0 / V, 0.0, idx, kick), 3, steps) / V * 1e9


def main(build_dir: Path, quick: bool = False) -> int:
    """Run the benchmark and write ``build_dir/bench.json``; returns 0 (the targets are reported, not enforced)."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
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
        steps = (200 if V <= 10**5 else 40) if quick else (2000 if V <= 10**5 else 300)
        dense_ns, degrees = dense_step_ns_per_logit(V, steps)
        kernel_ns = dense_update_ns_per_logit(V, steps)
        ref_run_s = mean_samples / ref_rate
        rows.append({
            "V": V,
            "copy_ns_per_element": copy,
            "reference_samples_per_s": ref_rate,
            "reference_s_per_run_extrapolated": ref_run_s,
            "engine_s_per_run": eng_s,
            "engine_samples_per_s": mean_samples / eng_s,
            "mean_samples_per_run": mean_samples,
            "samples_per_s_ratio": (mean_samples / eng_s) / ref_rate,
            "speedup_per_run": ref_run_s / eng_s,
            "dense_ns_per_logit": dense_ns,
            "dense_over_copy": dense_ns / copy,
            "dense_update_ns_per_logit": kernel_ns,
            "dense_update_over_copy": kernel_ns / copy,
            "dense_poly_degrees": {str(k): v for k, v in sorted(degrees.items())},
            "reference_mean_ns_per_logit": 1e9 / ref_mean_rate / V,
            "dense_speedup_per_sample": (1e9 / ref_mean_rate / V) / dense_ns,
        })
        print(f"  bench V={V:>8,d}: speedup per run {rows[-1]['speedup_per_run']:.3g}, "
              f"dense step {dense_ns:.2f}, update {kernel_ns:.2f} ns/logit vs copy {copy:.2f}")
    at = next(r for r in rows if r["V"] == 10**5)
    out = {
        "quick": quick,
        "machine": {"processor": platform.processor() or platform.machine(), "python": platform.python_version(),
                    "numpy": np.__version__, "numba": numba.__version__},
        "jit_seconds": jit_s,
        "threshold": 0.99,
        "targets": {"speedup_per_run_at_1e5": TARGET_SPEEDUP, "dense_over_copy_at_1e5": TARGET_DENSE_OVER_COPY},
        "met": {"speedup_per_run_at_1e5": bool(at["speedup_per_run"] >= TARGET_SPEEDUP),
                "dense_over_copy_at_1e5": bool(at["dense_over_copy"] <= TARGET_DENSE_OVER_COPY),
                "dense_update_over_copy_at_1e5": bool(at["dense_update_over_copy"] <= TARGET_DENSE_OVER_COPY)},
        "rows": rows,
        "seconds": time.perf_counter() - t_start,
    }
    (build_dir / "bench.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {build_dir / 'bench.json'} in {out['seconds']:.1f} s; targets met: {out['met']}")
    return 0
