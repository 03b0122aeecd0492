"""``python -m rlbits sweep``: the grid, the table, failed points, declared settings, a real Dask cluster, and the
declared settings of the whole book (the guard of issue 12 item 4)."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import pytest

from conftest import ROOT, run_rlbits
from conftest import myst_chapter as chapter
from test_pipeline import make_book
from rlbits.pipeline.execute import glue_references
from rlbits.pipeline.sweep import COST, SWEEPS, SweepError, estimated_seconds, parse_grid, point_id


# n = 1 leaves a glue key of the prose unrecorded, n = 2 fails an assertion, n >= 3 runs clean
TINY = """\
    ```{code-cell} ipython3
    :tags: [parameters]

    n = 3
    xs = [1, 2]
    ```

    ```{code-cell} ipython3
    import numpy as np
    from rlbits import record
    assert n != 2, "this fixture refuses n = 2"
    total = record("total", n + sum(xs))
    record("n", n)  # named like a parameter: column `recorded:n`
    draw = record("draw", float(np.random.default_rng([n, *xs]).random()))
    record("verdict_C99", "holds" if total > 5 else "does not hold")
    record("verdict_C99_note", f"total = {total}")
    if n >= 3:
        record("big", total)
    ```

    The total is {glue:text}`total` and big is {glue:text}`big:.0f`.
    """
ASSERT_LINE = chapter("Tiny", TINY).splitlines().index('assert n != 2, "this fixture refuses n = 2"') + 1
GLUE_LINE = chapter("Tiny", TINY).splitlines().index(
    "The total is {glue:text}`total` and big is {glue:text}`big:.0f`.") + 1


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --- the grid (no kernels) -----------------------------------------------------------------------------------------

def test_grid_is_the_product_with_list_values():
    nb, src = jupytext.reads(chapter("Tiny", TINY), fmt="md:myst"), Path("tiny.md")
    points = parse_grid([("n", "[3, 4]"), ("xs", "[[1], (2, 3)]")], nb, src)
    assert points == [{"n": 3, "xs": [1]}, {"n": 3, "xs": [2, 3]}, {"n": 4, "xs": [1]}, {"n": 4, "xs": [2, 3]}]
    assert len({point_id(p) for p in points}) == 4
    assert point_id({"xs": (2, 3), "n": 3}) == point_id({"n": 3, "xs": [2, 3]})  # stable, order-free
    assert point_id({"n": 3}) != point_id({"n": 3.0}) and point_id({}) == "defaults"
    with pytest.raises(SweepError, match=r"unknown parameter\(s\) \['m'\]; this chapter's parameters are \['n', 'x"):
        parse_grid([("n", "[1]"), ("m", "[1]")], nb, src)
    with pytest.raises(SweepError, match="xs holds a list .* give a list of lists"):
        parse_grid([("xs", "[1, 2]")], nb, src)
    with pytest.raises(SweepError, match="as a Python list"):
        parse_grid([("n", "3")], nb, src)
    with pytest.raises(SweepError, match="given twice"):
        parse_grid([("n", "[3]"), ("n", "[4]")], nb, src)


def test_glue_references_skip_code_and_strip_formats():
    text = chapter("G", """\
        A {glue:text}`a:,.0f` and {glue}`b` and {glue:md}`other_nb::c`.

        ```{code-cell} ipython3
        s = "{glue:text}`not_prose`"
        ```

        ```{glue:figure} fig_d
        :name: fig-d
        ```
        """)
    lines = text.splitlines()
    # a key of another notebook (other_nb::c) is not this run's to record
    assert [k for _, k in glue_references(text)] == ["a", "b", "fig_d"]
    assert [lines[i - 1][:5] for i, _ in glue_references(text)] == ["A {gl"] * 2 + ["```{g"]


def test_unknown_name_refused_before_anything_runs(tmp_path):
    root = make_book(tmp_path, {"a_tiny": chapter("Tiny", TINY)})
    proc = run_rlbits("sweep", root / "chapters/a_tiny.md", "-p", "n", "[3]", "-p", "m", "[1]", "--root", root)
    assert proc.returncode == 2, proc.stdout
    assert "unknown parameter(s) ['m']; this chapter's parameters are ['n', 'xs']" in proc.stdout
    assert not (root / "_build/sweeps").exists()


# --- sweeps on an embedded LocalCluster ----------------------------------------------------------------------------

def test_table_and_failed_points(tmp_path):
    root = make_book(tmp_path, {"a_tiny": chapter("Tiny", TINY)})
    md = root / "chapters/a_tiny.md"
    proc = run_rlbits("sweep", md, "-p", "n", "[1, 2, 3]", "-p", "xs", "[[1, 2], [5]]", "--root", root, timeout=600)
    assert proc.returncode == 1, proc.stdout  # some points failed, the others still ran
    assert "[6/6]" in proc.stdout
    rows = read_csv(root / "_build/sweeps/a_tiny.csv")
    assert [(r["n"], r["xs"]) for r in rows] == [(str(n), xs) for n in (1, 2, 3) for xs in ("[1, 2]", "[5]")]
    assert [r["ok"] for r in rows] == ["False"] * 4 + ["True"] * 2
    for r in rows[:2]:
        assert r["error"].startswith(f"chapters/a_tiny.md:{GLUE_LINE}: the text refers to glue key 'big'"), r["error"]
    for r in rows[2:4]:
        assert r["error"] == f"chapters/a_tiny.md:{ASSERT_LINE}: AssertionError: this fixture refuses n = 2"
    assert [float(r["total"]) for r in rows[4:]] == [3 + 3, 3 + 5] and [r["big"] for r in rows[4:]] == ["6", "8"]
    # a failed point (a missing glue key included) records nothing: its numbers are not a result
    assert [r["verdict_C99"] for r in rows] == ["", "", "", "", "holds", "holds"]
    assert rows[5]["verdict_C99_note"] == "total = 8" and rows[5]["recorded:n"] == "3"
    # each failure is reported with its parameters and its line
    assert f"FAILED a_tiny n=2 xs=[5]\n    chapters/a_tiny.md:{ASSERT_LINE}: AssertionError" in proc.stdout
    table = json.loads((root / "_build/sweeps/a_tiny.json").read_text())
    assert table["points"] == 6 and table["failed"] == 4 and table["wall_seconds"] > 0
    assert table["rows"][5]["xs"] == [5] and table["rows"][5]["ok"] is True
    assert table["cluster"] == "LocalCluster(2 workers)" and table["settings"][5] == {"n": 3, "xs": [5]}
    point = root / "_build/sweeps/a_tiny" / rows[5]["point"]
    assert json.loads((point / "results/a_tiny.json").read_text())["total"] == 8
    assert (point / "notebooks/a_tiny.ipynb").exists()

    # reproducible: the same point alone, on one worker, records the same numbers
    proc = run_rlbits("sweep", md, "-p", "n", "[3]", "-p", "xs", "[[5]]", "-j", "1", "--name", "alone",
                      "--root", root, timeout=600)
    assert proc.returncode == 0, proc.stdout
    alone = read_csv(root / "_build/sweeps/alone.csv")
    assert len(alone) == 1 and alone[0]["point"] == rows[5]["point"]
    assert {k: alone[0][k] for k in ("total", "draw", "big")} == {k: rows[5][k] for k in ("total", "draw", "big")}


def test_declared_settings_from_front_matter(tmp_path):
    declared = "rlbits:\n  settings:\n    - {n: 4}\n    - {n: 3, xs: [0]}\n"
    root = make_book(tmp_path, {"a_tiny": chapter("Tiny", TINY, declared), "b_plain": chapter("Plain", TINY)})
    proc = run_rlbits("sweep", "--declared", "--root", root, "-j", "1", timeout=600)
    assert proc.returncode == 0, proc.stdout
    rows = read_csv(root / "_build/sweeps/a_tiny.declared.csv")
    # the chapter's default fills a parameter a setting leaves out
    assert [(r["n"], r["xs"], r["total"]) for r in rows] == [("4", "[1, 2]", "7"), ("3", "[0]", "3")]
    assert not (root / "_build/sweeps/b_plain.declared.csv").exists()  # declares nothing: not swept
    last = json.loads((root / "_build/sweeps/last-sweep.json").read_text())
    assert list(last["chapters"]) == ["chapters/a_tiny.md"] and last["points"] == 2 and last["wall_seconds"] > 0

    # a declared setting naming no parameter is refused before anything runs, naming chapter and setting
    bad = root / "chapters/c_bad.md"
    bad.write_text(chapter("Bad", TINY, "rlbits:\n  settings:\n    - {n: 3}\n    - {nn: 4}\n"))
    proc = run_rlbits("sweep", bad, "--declared", "--root", root)
    assert proc.returncode == 2
    assert "c_bad.md: declared setting 2 {'nn': 4}: unknown parameter(s) ['nn']" in proc.stdout
    proc = run_rlbits("sweep", root / "chapters/b_plain.md", "--declared", "--root", root)
    assert proc.returncode == 2 and "declares no settings" in proc.stdout


# --- a real cluster: `dask scheduler` and two `dask worker` processes ----------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sweep_on_a_dask_cluster_started_by_hand(tmp_path):
    root = make_book(tmp_path, {"a_tiny": chapter("Tiny", TINY)})
    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    log = open(tmp_path / "cluster.log", "w")
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)]
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(dask), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--host", "127.0.0.1", "--name", f"w{i}", "--death-timeout", "60"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        from distributed import Client
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        proc = run_rlbits("sweep", root / "chapters/a_tiny.md", "-p", "n", "[3, 4]", "--scheduler", address,
                          "--root", root, timeout=600)
        assert proc.returncode == 0, proc.stdout + (tmp_path / "cluster.log").read_text()[-3000:]
        assert f"on the cluster at {address} (2 workers)" in proc.stdout
        rows = read_csv(root / "_build/sweeps/a_tiny.csv")
        assert [(r["n"], r["total"], r["ok"]) for r in rows] == [("3", "6", "True"), ("4", "7", "True")]
        assert json.loads((root / "_build/sweeps/a_tiny.json").read_text())["cluster"] == f"scheduler {address}"
    finally:
        for p in reversed(procs):
            p.terminate()
        deadline = time.monotonic() + 30
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


# --- the book: every chapter at every setting it declares (issue 12 item 4) ----------------------------------------

@pytest.mark.book
def test_every_declared_setting_of_the_book_runs_clean(declared_sweep):
    """``python -m rlbits sweep --declared`` over the real book: any cell error, failed assertion or glue key the
    prose refers to but the run did not record fails the test, listed with its chapter and parameters.

    The sweep is a background job (``conftest``) started after the book's build, into a build that knows how long
    each chapter's default run took (the book's), as a reader's sweep after ``make book`` does, so it runs the
    longest points first. It runs beside the rest of the suite, so its wall time here is not its cost alone: the
    README gives the time of the sweep on its own."""
    out = declared_sweep.out
    last = out / "_build/sweeps/last-sweep.json"
    assert last.exists(), declared_sweep.log[-5000:]
    summary = json.loads(last.read_text())
    failures = []
    for chapter_path, entry in summary["chapters"].items():
        table = json.loads((out / "_build/sweeps" / entry["table"]).with_suffix(".json").read_text())
        failures += [f"{chapter_path} at {setting}:\n    {row['error']}"
                     for setting, row in zip(table["settings"], table["rows"]) if not row["ok"]]
    assert not failures, f"{len(failures)} declared setting(s) failed:\n" + "\n".join(failures)
    assert declared_sweep.ok, declared_sweep.log[-5000:]
    declaring = [p for p in (ROOT / "chapters").glob("*.md") if "\nrlbits:\n  settings:" in p.read_text()]
    assert len(summary["chapters"]) == len(declaring) >= 14, sorted(summary["chapters"])
    print(f"declared sweep: {summary.get('points', 0)} point(s) of {len(summary['chapters'])} chapter(s), "
          f"wall {summary['wall_seconds']} s beside the rest of the suite; kernel seconds by chapter: "
          + ", ".join(f"{c} {e['kernel_seconds']}" for c, e in summary["chapters"].items()))


def test_points_are_estimated_from_their_last_sweep_then_from_the_chapter(tmp_path):
    """The order of a sweep (longest first) comes from what this build has measured, and from nothing else."""
    build, source = tmp_path / "_build", tmp_path / "chapters/a_good.md"
    assert estimated_seconds(build, source, {"n": 3}) == 0.0  # nothing measured yet
    (build / "cache").mkdir(parents=True)
    (build / "cache" / "a_good.json").write_text(json.dumps({"key": "k", "seconds": 4.5}))
    assert estimated_seconds(build, source, {"n": 3}) == 4.5  # the chapter's default run
    point = build / SWEEPS / "a_good" / point_id({"n": 3})
    point.mkdir(parents=True)
    (point / COST).write_text(json.dumps({"seconds": 12.0}))
    assert estimated_seconds(build, source, {"n": 3}) == 12.0  # the point's own last time
    assert estimated_seconds(build, source, {"n": 4}) == 4.5
