"""The pipeline under faults and bad input (issue 11), on tiny fixture books executed in subprocesses.

Each test reproduces one fault of the issue: error lines of cells with ``:tags:``, stale or mixed books after a
failure, reader runs, interrupts and SIGKILL (no orphaned workers or kernels), concurrent writers, kernels without a
network, noise, incremental builds, timing records, and ``.ci/run`` without apt or sudo.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from conftest import ROOT
from test_pipeline import GOOD, chapter
from rlbits.pipeline import warmkernel
from rlbits.pipeline.warmkernel import KERNEL_NAME

# ------------------------------------------------------------------ fixtures


def make_book(tmp_path: Path, chapters: dict[str, str]) -> Path:
    """A book whose chapters are ``chapters/NAME.md`` (``NAME`` may be ``backmatter/x``), in the order given."""
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    (root / "chapters" / "intro.md").write_text("# A test book\n")
    for name, text in chapters.items():
        path = root / "chapters" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "_toc.yml").write_text("format: jb-book\nroot: chapters/intro\nchapters:\n" + "".join(
        f"  - file: chapters/{name}\n" for name in chapters))
    config = "\n".join(line for line in (ROOT / "_config.yml").read_text().splitlines()
                       if "bibtex" not in line and "data/references.bib" not in line)
    (root / "_config.yml").write_text(config)
    return root


def env(**extra) -> dict:
    e = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=str(ROOT))  # kernels import this checkout's rlbits
    e.pop("CI", None)
    e.update(extra)
    return e


def rl(*args, timeout=600, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlbits", *map(str, args)], cwd=ROOT, env=env(**extra), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


SUMMARY = chapter("Summary", """\
    ```{code-cell} ipython3
    :tags: [remove-cell]

    from rlbits import record
    from rlbits.pipeline.ledger import default_results, reader_runs

    total = record("good_total", default_results("a_good")["total"])
    readers = record("readers", str(reader_runs()))
    ```

    The default total is {glue:text}`good_total`.
    """)

OTHER = chapter("Other", """\
    ```{code-cell} ipython3
    :tags: [hide-input]

    from rlbits import record
    record("other", 7)
    ```

    Other: {glue:text}`other`.
    """)


def sleepy(title: str) -> str:
    return chapter(title, """\
        ```{code-cell} ipython3
        import time
        time.sleep(120)
        ```
        """)


# ------------------------------------------------------------------ item 2: error lines with :tags:

TAGGED = chapter("Tagged", """\
    Prose.

    ```{code-cell} ipython3
    :tags: [hide-input]

    x = 1
    ```

    ```{code-cell} ipython3
    :tags: [hide-output, remove-stderr]

    y = 2
    raise RuntimeError("boom")
    ```
    """)


def test_error_line_of_a_cell_with_tags_option_lines(tmp_path):
    from rlbits.pipeline.execute import code_cell_lines

    text = TAGGED.splitlines()
    assert [text[i - 1] for i in code_cell_lines(TAGGED)] == ["x = 1", "y = 2"]
    root = make_book(tmp_path, {"tagged": TAGGED})
    proc = rl("run", root / "chapters/tagged.md", "--root", root)
    assert proc.returncode == 1
    line = text.index('raise RuntimeError("boom")') + 1
    assert f"chapters/tagged.md:{line}: RuntimeError: boom" in proc.stdout, proc.stdout


def test_code_cell_lines_match_jupytext_on_every_chapter():
    """The first source line of every code cell of the real book, as jupytext reads it."""
    import jupytext

    from rlbits.pipeline.execute import code_cell_lines

    for md in sorted((ROOT / "chapters").rglob("*.md")):
        text = md.read_text()
        cells = [c for c in jupytext.reads(text, fmt="md:myst").cells if c.cell_type == "code"]
        starts = code_cell_lines(text)
        assert len(starts) == len(cells), md
        lines = text.splitlines()
        for cell, start in zip(cells, starts):
            assert lines[start - 1] == cell.source.splitlines()[0], (md.name, start)


# ------------------------------------------------------------------ items 3, 4, 5: failures, reader runs


def test_failed_runs_never_leave_a_stale_or_mixed_book(tmp_path):
    root = make_book(tmp_path, {"a_good": GOOD, "backmatter/summary": SUMMARY})
    build = root / "_build"
    proc = rl("build", "--root", root, "--skip-bench")
    assert proc.returncode == 0, proc.stdout
    assert json.loads((build / "results/default/a_good.json").read_text()) == {"total": 6}
    notebook, results = (build / "notebooks/a_good.ipynb").read_bytes(), (build / "results/a_good.json").read_bytes()
    html = (build / "html/chapters/a_good.html").read_text()

    # a bad value: one clean line naming file, line, parameter and range; nothing in place changes (item 3, 5)
    proc = rl("run", root / "chapters/a_good.md", "-p", "n", "-2", "--root", root)
    assert proc.returncode == 1
    line = GOOD.splitlines().index('n = integer("n", n, minimum=1)') + 1
    assert f"chapters/a_good.md:{line}: ParameterError: n=-2 is outside the allowed range [1, inf]" in proc.stdout
    assert "Traceback" not in proc.stdout, proc.stdout
    assert (build / "notebooks/a_good.ipynb").read_bytes() == notebook
    assert (build / "results/a_good.json").read_bytes() == results
    assert (build / "failed/a_good.ipynb").exists()
    proc = rl("render", "--root", root)  # renders the last good book, and says the last run failed
    assert proc.returncode == 0, proc.stdout
    assert "the last run of chapters/a_good.md failed" in proc.stdout and "ParameterError" in proc.stdout
    # the default run is still the good one: reused, and no longer reported as failed
    proc = rl("run", root / "chapters/a_good.md", "--root", root)
    assert proc.returncode == 0 and "a_good.md: unchanged, reused" in proc.stdout, proc.stdout
    assert json.loads((build / "execution.json").read_text())["chapters/a_good.md"]["status"] == "ok"

    # a failed chapter in a build: the back matter is not executed, nothing is rendered, the old book stays
    summary = (build / "results/summary.json").read_bytes()
    (root / "chapters/a_good.md").write_text(GOOD.replace("n = 3", "n = 0"))
    proc = rl("build", "--root", root, "--skip-bench")
    assert proc.returncode == 1
    assert "back matter not executed (summary)" in proc.stdout and "not rendering" in proc.stdout, proc.stdout
    assert (build / "results/summary.json").read_bytes() == summary
    assert (build / "html/chapters/a_good.html").read_text() == html


def test_reader_runs_are_marked_and_do_not_reach_the_ledger(tmp_path):
    root = make_book(tmp_path, {"a_good": GOOD, "backmatter/summary": SUMMARY})
    build = root / "_build"
    assert rl("run", "--root", root).returncode == 0  # the book at its defaults (its render is not needed here)
    proc = rl("run", root / "chapters/a_good.md", "-p", "n", "4", "--root", root)
    assert proc.returncode == 0 and "reader run: n=4" in proc.stdout, proc.stdout
    assert "summary.md: ok in" in proc.stdout  # the back matter already executed here follows, at its defaults
    data = json.loads((build / "results/a_good.json").read_text())
    assert data == {"total": 10, "__overrides__": {"n": {"value": 4, "default": "3"}}}
    assert json.loads((build / "results/default/a_good.json").read_text()) == {"total": 6}
    nb = nbformat.read(build / "notebooks/a_good.ipynb", as_version=4)
    top = nb.cells[0].source
    assert top.startswith("# Good") and "A reader run" in top and "`n = 4` (default `3`)" in top
    # the back matter reads the default run, and knows which page is a reader run
    summary = json.loads((build / "results/summary.json").read_text())
    assert summary["good_total"] == 6 and "'a_good': 'n = 4'" in summary["readers"]
    proc = rl("render", "--root", root)
    assert proc.returncode == 0, proc.stdout
    assert "a_good is a reader run (n=4)" in proc.stdout
    assert "A reader run, not the book" in (build / "html/chapters/a_good.html").read_text()
    # -p with the default value is a default run
    proc = rl("run", root / "chapters/a_good.md", "-p", "n", "3", "--root", root)
    assert proc.returncode == 0 and "reader run" not in proc.stdout
    assert json.loads((build / "results/a_good.json").read_text()) == {"total": 6}


def test_ledger_reads_default_runs_and_lists_reader_pages(tmp_path, monkeypatch):
    from rlbits.pipeline import ledger

    res = tmp_path / "_build" / "results"
    (res / "default").mkdir(parents=True)
    (res / "a.json").write_text(json.dumps({"q": 2.0, "__overrides__": {"V": {"value": 10, "default": "100"}}}))
    (res / "default" / "a.json").write_text(json.dumps({"q": 1.0}))
    (res / "b.json").write_text(json.dumps({"__overrides__": {"p": {"value": 0.3, "default": "1e-5"}}}))
    monkeypatch.setenv("RLBITS_BUILD", str(tmp_path / "_build"))
    assert ledger.default_results("a") == {"q": 1.0}
    with pytest.raises(FileNotFoundError, match="only a reader run"):
        ledger.default_results("b")
    assert ledger.reader_runs() == {"a": "V = 10", "b": "p = 0.3"}
    claims = [{"id": "C01", "claim": "x", "source": ["essay"], "chapter": "a",
               "test": {"uses": ["q"], "why": "w", "rule": [{"verdict": "holds", "says": "q = {q}"}]}}]
    items = ledger.entries(claims)
    assert items[0].note == "q = 1.0"  # the default run's value, not the reader run's
    assert items[0].reader_run == "V = 10"
    assert "Pages built from other parameters" in ledger.markdown_table(items)


CLAIMED = chapter("Claimed", """\
    ```{code-cell} ipython3
    :tags: [parameters]

    q = 2.0
    ```

    ```{code-cell} ipython3
    from rlbits import record
    record("q", q)
    record("verdict_C01", "holds")
    ```

    The quantity is {glue:text}`q`.
    """)

TABLE = chapter("Table", """\
    ```{code-cell} ipython3
    :tags: [remove-cell]

    from rlbits import record
    from rlbits.pipeline import ledger

    first = ledger.read_json()[0]
    record("first", f"{first.id}: {first.verdict} ({first.note})")
    ```

    {glue:text}`first`
    """)

CLAIMS = """\
- id: C01
  claim: q is large
  source: [essay]
  chapter: claimed
  test:
    uses: [q]
    why: a fixture's threshold
    rule:
      - when: q > 1
        verdict: holds
        says: "q = {q} is above 1"
      - verdict: does not hold
        says: "q = {q} is not above 1"
"""


def test_the_pipeline_writes_the_ledger_between_the_chapters_and_the_back_matter(tmp_path):
    root = make_book(tmp_path, {"claimed": CLAIMED, "backmatter/table": TABLE})
    (root / "data").mkdir()
    (root / "data/claims.yml").write_text(CLAIMS)
    build = root / "_build"
    proc = rl("run", "--root", root)
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    at = [i for i, t in enumerate(lines) if "ledger: 1 claims, 1 with a verdict" in t]
    assert at and "claimed.md: ok" in lines[at[0] - 1] and "table.md: ok" in lines[at[0] + 1], proc.stdout
    ledger = json.loads((build / "results/ledger.json").read_text())
    assert (ledger["C01"]["verdict"], ledger["C01"]["note"]) == ("holds", "q = 2.0 is above 1")
    assert json.loads((build / "results/table.json").read_text()) == {"first": "C01: holds (q = 2.0 is above 1)"}

    # the ledger is an input of the back matter (and the claims file of every chapter): an edited rule reaches the
    # page in an incremental run
    (root / "data/claims.yml").write_text(CLAIMS.replace("is above 1", "exceeds 1"))
    proc = rl("run", "--root", root)
    assert proc.returncode == 0 and "table.md: ok in" in proc.stdout, proc.stdout
    assert json.loads((build / "results/table.json").read_text()) == {"first": "C01: holds (q = 2.0 exceeds 1)"}
    proc = rl("run", "--root", root)
    assert proc.returncode == 0 and proc.stdout.count(".md: unchanged, reused") == 2, proc.stdout

    # a recorded verdict that disagrees with its rule fails the build, names the chapter and the rule, keeps the last
    # ledger, and the back matter is not executed
    written = (build / "results/ledger.json").read_bytes()
    disagreeing = CLAIMED.replace('"verdict_C01", "holds"', '"verdict_C01", "does not hold"')
    (root / "chapters/claimed.md").write_text(disagreeing)
    proc = rl("run", "--root", root)
    assert proc.returncode == 1, proc.stdout
    assert ("data/claims.yml: the claims ledger: ValueError: claimed recorded verdict_C01='does not hold' but the rule "
            "of data/claims.yml gives 'holds'") in proc.stdout, proc.stdout
    assert "back matter not executed (table): the claims ledger failed" in proc.stdout
    assert "1 FAILED: data/claims.yml" in proc.stdout
    assert (build / "results/ledger.json").read_bytes() == written


# ------------------------------------------------------------------ issue 12 item 3: glue keys checked at run time


def test_glue_references_of_every_form_are_checked():
    from rlbits.pipeline.execute import glue_references

    text = textwrap.dedent("""\
        A {glue:text}`a:.2f`, {glue}`b`, {glue:md}`c` and {glue:text}`other_doc::d`.

        ```{glue:figure} e
        :name: fig-e
        ```

        ```{glue:math} f
        :label: eq-f
        ```

        ```{code-cell} ipython3
        # {glue:text}`not_in_code`
        ```
        """)
    assert glue_references(text) == [(1, "a"), (1, "b"), (1, "c"), (3, "e"), (7, "f")]


def test_run_fails_on_a_figure_glue_key_the_run_did_not_record(tmp_path):
    text = GOOD + "\n```{glue:figure} fig_missing\n:name: fig-missing\n\nA caption.\n```\n"
    root = make_book(tmp_path, {"a_good": text})
    proc = rl("run", root / "chapters/a_good.md", "--root", root)
    assert proc.returncode == 1
    line = text.splitlines().index("```{glue:figure} fig_missing") + 1
    assert f"chapters/a_good.md:{line}: the text refers to glue key 'fig_missing'" in proc.stdout, proc.stdout
    assert not (root / "_build/results/a_good.json").exists()


# ------------------------------------------------------------------ item 6: interrupts


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _is_kernel(p: psutil.Process) -> bool:
    """An ordinary kernel (``python -m ipykernel_launcher``) or one forked by the warm server (named for it)."""
    try:
        return "ipykernel" in " ".join(_cmdline(p)) or p.name() == KERNEL_NAME
    except psutil.Error:
        return False


def _wait_for_kernels(proc, n: int, timeout: float = 180) -> list[psutil.Process]:
    end = time.time() + timeout
    while time.time() < end:
        kids = _descendants(proc.pid)
        if sum(_is_kernel(k) for k in kids) >= n:
            time.sleep(1.0)  # let the kernels start executing
            return _descendants(proc.pid)
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"kernels did not start: {proc.communicate()[0]}")


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def _start_build(root: Path) -> subprocess.Popen:
    # SIGINT at its default in the build, as at a terminal, even when pytest itself was started with SIGINT ignored
    # (a background job of a non-interactive shell is): an ignored SIGINT is inherited, and the build would not stop
    return subprocess.Popen([sys.executable, "-m", "rlbits", "run", "-j", "2", "--root", str(root)], cwd=ROOT,
                            env=env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkill_of_a_build_leaves_no_orphans(tmp_path):
    root = make_book(tmp_path, {"s1": sleepy("S1"), "s2": sleepy("S2"), "s3": sleepy("S3")})
    proc = _start_build(root)
    kids = _wait_for_kernels(proc, 2)
    assert len(kids) >= 4  # two workers, two kernels
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    end = time.time() + 30
    while _alive(kids) and time.time() < end:
        time.sleep(0.2)
    left = _alive(kids)
    for p in left:  # do not leave them behind even when the test fails
        p.kill()
    assert not left, [(_cmdline(p)) for p in left]


@pytest.mark.parametrize("target", ["process", "group"])  # kill -INT PID, or Ctrl-C at a terminal (the group)
def test_sigint_stops_cleanly_with_one_line(tmp_path, target):
    root = make_book(tmp_path, {"s1": sleepy("S1"), "s2": sleepy("S2"), "s3": sleepy("S3")})
    proc = _start_build(root)
    kids = _wait_for_kernels(proc, 2)
    t0 = time.time()
    if target == "group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert time.time() - t0 < 30  # the chapters sleep for 120 s: they were stopped, not waited for
    assert proc.returncode == 130
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out
    last = out.strip().splitlines()[-1]
    assert last.startswith("interrupted: stopped chapters/s") and "1 queued chapter(s) not started" in last, out
    assert not (root / "_build/logs/s3.kernel.log").exists(), "a queued chapter started after the interrupt"
    end = time.time() + 30
    while _alive(kids) and time.time() < end:
        time.sleep(0.2)
    left = _alive(kids)
    for p in left:
        p.kill()
    assert not left, [(_cmdline(p)) for p in left]


# ------------------------------------------------------------------ item 7: concurrent writers

WRITER = """
import sys
from pathlib import Path
from rlbits.pipeline import book
from rlbits.pipeline.execute import ChapterRun
build, tag = Path(sys.argv[1]), sys.argv[2]
for i in range(60):
    book._write_execution_table(build, [ChapterRun(source=Path(f"/x/{tag}{i}.md"), seconds=1.0)], Path("/x"))
    book.record_timing(build, f"{tag}{i}", 1.0)
"""


def test_two_concurrent_writers_lose_nothing(tmp_path):
    build = tmp_path / "_build"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(build), tag], env=env(), cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    for p in procs:
        assert p.wait(120) == 0, p.stderr.read()
    table = json.loads((build / "execution.json").read_text())
    timing = json.loads((build / "timing.json").read_text())
    expected = {f"{t}{i}" for t in "ab" for i in range(60)}
    assert {Path(k).stem for k in table} == expected
    assert set(timing) == expected


# ------------------------------------------------------------------ item 8: kernels over IPC, no network needed

IPC = chapter("Ipc", """\
    ```{code-cell} ipython3
    import json
    from ipykernel import get_connection_info
    from rlbits import record
    transport = record("transport", json.loads(get_connection_info())["transport"])
    with open("/proc/self/comm") as f:  # a kernel forked by the warm server is named for it
        record("process", f.read().strip())
    ```

    Transport {glue:text}`transport`.
    """)


def test_kernels_talk_over_ipc_and_need_no_network(tmp_path):
    # two chapters in one worker (-j 1): its kernels are forked from a warm server, which needs no network either
    root = make_book(tmp_path, {"ipc": IPC, "ipc_again": IPC})
    cmd = [sys.executable, "-m", "rlbits", "run", "-j", "1", "--root", str(root)]
    # a network namespace with no interface at all (not even loopback up), where TCP kernels cannot start
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        cmd = ["unshare", "-n", *cmd]
    proc = subprocess.run(cmd, cwd=ROOT, env=env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout
    for name in ("ipc", "ipc_again"):
        results = json.loads((root / f"_build/results/{name}.json").read_text())
        assert results["transport"] == "ipc"
        assert results["process"] == KERNEL_NAME or not warmkernel.enabled(), results


# ------------------------------------------------------------------ items 9, 10, 11: quiet, incremental, timing


def test_quiet_incremental_builds(tmp_path):
    root = make_book(tmp_path, {"a_good": GOOD, "b_other": OTHER, "backmatter/summary": SUMMARY})
    build = root / "_build"
    proc = rl("build", "--root", root, "--skip-bench", "-j", "2")
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.strip().splitlines()
    # item 9: one line per chapter, the summary and the render, nothing else
    assert len(lines) == 1 + 3 + 1 + 1, proc.stdout
    for noise in ("Kernel is running", "KeyboardInterrupt", "Unable to parse", "Traceback", "WARNING", "[I ", "[W "):
        assert noise not in proc.stdout
    assert lines[-2] == "3 ok" and lines[-1].startswith("rendered ")
    timing = json.loads((build / "timing.json").read_text())  # item 11: each wave and the render
    assert {"wave1", "wave2", "render"} <= set(timing)
    html = (build / "html/index.html").stat().st_mtime_ns

    # item 10: nothing changed, nothing runs, the render is skipped
    t0 = time.perf_counter()
    proc = rl("build", "--root", root, "--skip-bench", "-j", "2")
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.count(".md: unchanged, reused") == 3 and "render: nothing changed" in proc.stdout, proc.stdout
    assert (build / "html/index.html").stat().st_mtime_ns == html
    assert seconds < 20, seconds

    # an edit to one chapter: it and the back matter run, the other chapter is reused, the book is re-rendered
    (root / "chapters/b_other.md").write_text(OTHER + "\nOne more sentence.\n")
    proc = rl("build", "--root", root, "--skip-bench", "-j", "2")
    assert proc.returncode == 0, proc.stdout
    assert "a_good.md: unchanged, reused" in proc.stdout
    assert "b_other.md: ok in" in proc.stdout and "summary.md: ok in" in proc.stdout and "rendered" in proc.stdout

    # --force and CI re-execute everything (and re-render)
    proc = rl("build", "--root", root, "--skip-bench", "-j", "2", "--force")
    assert proc.returncode == 0, proc.stdout
    assert "reused" not in proc.stdout and proc.stdout.count(": ok in") == 3 and "rendered" in proc.stdout
    proc = rl("run", "--root", root, "-j", "2", CI="true")
    assert proc.returncode == 0, proc.stdout
    assert "reused" not in proc.stdout and proc.stdout.count(": ok in") == 3


def test_benchmark_is_timed_and_reused_when_unchanged(tmp_path, monkeypatch, capsys):
    from rlbits.pipeline import cli

    calls = []

    def fake_bench(build_dir, quick, quiet=False):
        calls.append(quick)
        (build_dir / "bench.json").write_text('{"seconds": 1.0}\n')
        return 0

    monkeypatch.setattr(cli, "_bench", fake_bench)
    build = tmp_path / "_build"
    build.mkdir()
    assert cli._bench_if_changed(build, ROOT, force=False) == 0
    assert "bench" in json.loads((build / "timing.json").read_text())
    assert cli._bench_if_changed(build, ROOT, force=False) == 0
    assert len(calls) == 1 and "reusing _build/bench.json" in capsys.readouterr().out
    assert cli._bench_if_changed(build, ROOT, force=True) == 0
    assert len(calls) == 2


def test_numba_is_a_key_package():
    from rlbits.pipeline import environment

    assert "numba" in environment.KEY_PACKAGES


def test_chapter_parameters_cells_parse_without_papermill_warnings(caplog):
    """Papermill parses the parameters cell when -p is given; an apostrophe in a comment made it warn."""
    import jupytext
    from papermill.translators import PythonTranslator

    for md in sorted((ROOT / "chapters").glob("*.md")):
        nb = jupytext.reads(md.read_text(), fmt="md:myst")
        for cell in nb.cells:
            if "parameters" in cell.metadata.get("tags", []):
                with caplog.at_level(logging.WARNING, logger="papermill"):
                    PythonTranslator.inspect(cell)
    assert not [r for r in caplog.records if "Unable to parse" in r.getMessage()], caplog.text


# ------------------------------------------------------------------ item 12: .ci/run without apt or sudo


def _fake_bin(tmp_path: Path, uid: int, tools: dict[str, str]) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("bash", "dirname"):
        (bin_dir / name).symlink_to(shutil.which(name))
    scripts = {"id": f"#!{shutil.which('bash')}\necho {uid}\n", **tools}
    for name, body in scripts.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def _ci(bin_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("bash"), str(ROOT / ".ci/run")], env={"PATH": str(bin_dir)}, text=True,
                          capture_output=True, timeout=60)


def test_ci_run_says_what_is_missing(tmp_path):
    proc = _ci(_fake_bin(tmp_path / "nosudo", 1000, {}))
    assert proc.returncode == 1
    assert "chromium chromedriver is missing" in proc.stderr and "sudo is not installed" in proc.stderr
    assert "apt-get install chromium chromium-driver" in proc.stderr
    proc = _ci(_fake_bin(tmp_path / "noapt", 0, {}))
    assert proc.returncode == 1 and "apt-get is not available" in proc.stderr, proc.stderr


def test_ci_run_accepts_chromium_browser(tmp_path):
    bash = shutil.which("bash")
    tools = {"chromium-browser": f"#!{bash}\n", "chromedriver": f"#!{bash}\n",
             "make": f"#!{bash}\necho MAKE \"$@\" CI=$CI\n"}
    proc = _ci(_fake_bin(tmp_path, 1000, tools))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "MAKE test CI=true"


SIMD = """
import json
import numpy as np
from rlbits import learners
w = np.random.default_rng(7).random(10_001) / 10_001
s = learners._scale_block(w.copy(), 0, w.size, -0.7, 4)
r = learners.reinforce_dense(10_000, [0.5, 0.9], np.random.SeedSequence(5), 16)
print(json.dumps({"sum": s.hex(), "samples_to": np.asarray(r.samples_to).tolist()}))
"""


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "AMD64"), reason="compares x86-64 code generation targets")
def test_dense_engine_results_do_not_depend_on_simd_width():
    """Item 11: the dense kernel sums with fastmath reassociation (vectorised; on this machine's widest SIMD and with
    FMA contraction), so its block sums depend on the CPU. Compiled for the generic x86-64 target instead (SSE2, two
    lanes, no FMA), as on the oldest machine the book could meet, the kernel's sum differs in its last bits but the
    runs the chapters record do not (measured on the real chapters 5, 6 and 10: all 311 recorded values identical with
    a strictly sequential, FMA-free kernel)."""
    outs = []
    for extra in ({}, {"NUMBA_CPU_NAME": "generic"}):
        proc = subprocess.run([sys.executable, "-c", SIMD], cwd=ROOT, env=env(**extra), capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        outs.append(json.loads(proc.stdout))
    host, generic = outs
    assert host["samples_to"] == generic["samples_to"]
    assert abs(float.fromhex(host["sum"]) / float.fromhex(generic["sum"]) - 1) < 1e-14
