"""The book as a whole: which chapters `_toc.yml` lists, executing them, the ledger, and rendering the HTML strictly.

Layout of a build (``OUT`` is the repository root unless ``--out`` says otherwise; the steps that write each file
are walked through in :mod:`rlbits.pipeline`)::

    OUT/_build/bench.json                the engine benchmark (``python -m rlbits bench``; the Performance page)
    OUT/_build/bench_mlp_lm.json         chapter 14's training step, measured once per benchmark by the Performance
                                         page (``rlbits.mlp_lm.step_throughput_once``)
    OUT/_build/notebooks/NAME.ipynb      executed, normalised notebooks (the last successful run of each)
    OUT/_build/results/NAME.json         each chapter's recorded results (name -> number or string); a reader run
                                         (``-p``) adds ``__overrides__``
    OUT/_build/results/default/NAME.json the last default run's results: what the claims ledger reads
    OUT/_build/results/ledger.json       the claims ledger, written after the chapters and before the back matter
                                         (:func:`write_ledger`); the ledger page reads it
    OUT/_build/cache/NAME.json           the cache key of the notebook in place (``execute.cache_key``;
                                         ``cache/bench.json``: the benchmark's)
    OUT/_build/failed/NAME.ipynb         the executed notebook of a failed run, for inspection
    OUT/_build/logs/NAME.kernel.log      the kernel's own output (start-up notices, shutdown messages)
    OUT/_build/tmp/                      scratch directories of runs in progress
    OUT/_build/execution.json            run time and status of every chapter's last execution
    OUT/_build/timing.json               wall-clock seconds of the benchmark, each wave and the render
    OUT/_build/src/                      the staged book: executed notebooks in place of the MyST files
    OUT/_build/html/                     the rendered book (replaced only by a successful render)
    OUT/_build/render.log                the last render's full Sphinx output
    OUT/_build/site_size.json            bytes of the rendered site and its parts (``rlbits.pipeline.sphinxext``)
    OUT/_build/sweeps/                   ``python -m rlbits sweep`` (layout in ``rlbits.pipeline.sweep``)

Rendering never executes anything: it reads the executed notebooks. Back-matter pages (``chapters/backmatter/``)
are executed after every other chapter and the ledger, because they read the other chapters' results, and not at all
when a chapter or the ledger failed in the same build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml

from rlbits.pipeline.execute import ChapterRun, _rel, execute_chapter

ROOT = Path(__file__).resolve().parents[2]
BACKMATTER = "chapters/backmatter/"


def toc_files(root: Path = ROOT) -> list[str]:
    """Every document of `_toc.yml`, in reading order, as paths relative to the root without suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", f) for f in files]


def is_notebook(path: Path) -> bool:
    """A MyST file is a notebook (to execute) when its front matter carries a jupytext header."""
    text = path.read_text()
    if not text.startswith("---"):
        return False
    front = text.split("---", 2)[1]
    return "jupytext" in (yaml.safe_load(front) or {})


def chapter_sources(root: Path = ROOT) -> list[Path]:
    """The MyST notebooks of the book, in reading order."""
    return [root / f"{f}.md" for f in toc_files(root) if is_notebook(root / f"{f}.md")]


def _worker_init(build: str, kernels: int) -> None:
    """In each pool worker: die with the build (no orphans after a SIGKILL), leave SIGINT to the build process
    (which stops the workers itself), point back-matter kernels at this build's results, and say how many kernels
    the worker will start (its share of the wave: a warm kernel server pays only for several)."""
    import signal

    from rlbits.pipeline import warmkernel
    from rlbits.pipeline.kernels import die_with_parent

    die_with_parent()
    warmkernel.expect(kernels)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ["RLBITS_BUILD"] = build  # inherited by the kernel: back matter reads this build's results


def _run_one(args) -> ChapterRun:
    source, out_dir, parameters, root, options = args
    from rlbits.pipeline.execute import ParameterNameError

    try:
        return execute_chapter(source, out_dir, parameters, root, **options)
    except ParameterNameError as exc:
        return ChapterRun(source=source, error=str(exc))


class Interrupted(KeyboardInterrupt):
    """SIGINT during :func:`execute_all`: the running chapters were stopped and the queued ones never started."""

    def __init__(self, running: list[str], queued: int, finished: int):
        super().__init__()
        self.running, self.queued, self.finished = running, queued, finished

    def __str__(self) -> str:
        return (f"interrupted: stopped {', '.join(self.running) or 'nothing'}; {self.queued} queued chapter(s) not "
                f"started; {self.finished} finished chapter(s) kept")


def _results_fingerprint(build: Path, sources: list[Path]) -> str:
    """What the back matter reads from the chapters before it: their results files, the ledger and the benchmark's."""
    h = hashlib.sha256()
    files = [build / "bench.json", build / "results" / "ledger.json"]
    for s in sources:
        files += [build / "results" / f"{s.stem}.json", build / "results" / "default" / f"{s.stem}.json"]
    for f in files:
        h.update(f.as_posix().encode() + b"\0" + (f.read_bytes() if f.exists() else b"-") + b"\0")
    return h.hexdigest()


def _run_wave(wave, build, jobs, parameters, root, options, log, counter, progress=False) -> list[ChapterRun]:
    """Execute one wave in worker processes, logging one line per chapter as it finishes."""
    import multiprocessing

    done: list[ChapterRun] = []
    workers = max(1, min(jobs, len(wave)))
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                               initargs=(str(build), -(-len(wave) // workers)),
                               mp_context=multiprocessing.get_context("fork"))
    wave_start = time.time()
    futures = {pool.submit(_run_one, (s, build, parameters, root, options)): s for s in wave}
    ticker = _Ticker(futures, root) if progress else None
    try:
        for future in as_completed(futures):
            run = future.result()
            done.append(run)
            counter[0] += 1
            if ticker:
                ticker.clear()
            log(_line(run, root, counter))
    except KeyboardInterrupt:
        if ticker:
            ticker.stop()
        queued = sum(1 for f in futures if f.cancel())
        # handed to a worker: started if it opened its kernel log in this wave, else it was next in line
        handed = [futures[f] for f in futures if f.running()]
        running = [_rel(s, root) for s in handed if _started(build, s, wave_start)]
        queued += len(handed) - len(running)
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()  # their kernels die with them (PR_SET_PDEATHSIG)
        pool.shutdown(wait=False, cancel_futures=True)
        raise Interrupted(running, queued, len(done)) from None
    finally:
        if ticker:
            ticker.stop()
    pool.shutdown(wait=True)
    return done


def _started(build: Path, source: Path, since: float) -> bool:
    log = build / "logs" / f"{Path(source).stem}.kernel.log"
    try:
        return log.stat().st_mtime >= since - 1.0
    except OSError:
        return False


def _line(run: ChapterRun, root: Path, counter) -> str:
    head = f"  [{counter[0]}/{counter[1]}] {_rel(run.source, root)}"
    if run.cached:
        return f"{head}: unchanged, reused"
    if run.ok:
        shown = ", ".join(f"{k}={o['value']!r}" for k, o in run.overrides.items())
        marked = f" (reader run: {shown})" if run.overrides else ""
        return f"{head}: ok in {run.seconds:.1f} s{marked}"
    return f"{head}: FAILED after {run.seconds:.1f} s\n    " + run.error.replace("\n", "\n    ")


class _Ticker:
    """On a terminal, a self-erasing status line naming the chapters running and the seconds elapsed."""

    def __init__(self, futures, root):
        import threading

        self.futures, self.root, self.start = futures, root, time.perf_counter()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopped.wait(1.0):
            names = [Path(self.futures[f]).stem for f in self.futures if f.running()]
            text = f"  running {', '.join(names)} ({time.perf_counter() - self.start:.0f} s)"
            sys.stdout.write("\r" + text[:150] + "\x1b[K")
            sys.stdout.flush()

    def clear(self):
        sys.stdout.write("\r\x1b[K")
        sys.stdout.flush()

    def stop(self):
        self.stopped.set()
        self.clear()


def execute_all(sources: list[Path], build: Path, jobs: int = 1, parameters: dict | None = None,
                root: Path = ROOT, log=print, force: bool = False, progress: bool = False) -> list[ChapterRun]:
    """Execute chapters in worker processes (``jobs`` at a time); back matter runs last. Returns every run.

    Unless ``force`` (or the environment variable ``CI``), a chapter whose source, ``rlbits`` sources,
    requirements and parameters are unchanged since its last successful run into ``build`` is reused; the back
    matter re-runs when any chapter before it executed or its inputs changed. Between the chapters and the back
    matter, :func:`write_ledger` writes ``results/ledger.json``. When a chapter or the ledger fails, the back matter
    is not executed (it would read stale results). With ``progress`` (a terminal), a status line
    names the chapters running. Raises :class:`Interrupted` on SIGINT.
    """
    force = force or bool(os.environ.get("CI"))
    os.environ["PYTHONHASHSEED"] = "0"
    # one BLAS thread per kernel: chapters already run in parallel, oversubscribed BLAS threads slow small matrix
    # products by orders of magnitude, and a fixed thread count keeps floating-point reductions the same everywhere
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    chapters = [s for s in sources if BACKMATTER not in s.as_posix()]
    back = [s for s in sources if BACKMATTER in s.as_posix()]
    runs: list[ChapterRun] = []
    counter = [0, len(sources)]
    for number, wave in ((1, chapters), (2, back)):
        if not wave:
            continue
        options = {"reuse": not force}
        if number == 2:
            failed = [r for r in runs if not r.ok]
            if failed:
                log(f"  back matter not executed ({', '.join(Path(p).stem for p in back)}): it reads every "
                    f"chapter's results, and {len(failed)} chapter(s) failed in this build")
                break
            ledger_run = write_ledger(build, root, log)
            if ledger_run is not None:
                runs.append(ledger_run)
                log(f"  back matter not executed ({', '.join(Path(p).stem for p in back)}): the claims ledger "
                    "failed")
                break
            all_chapters = [s for s in chapter_sources(root) if BACKMATTER not in s.as_posix()] if \
                (root / "_toc.yml").exists() else chapters
            options = {"reuse": not force and all(r.cached for r in runs),
                       "extra_key": _results_fingerprint(build, all_chapters)}
        start = time.perf_counter()
        # -p overrides are for the chapter named; back matter that follows it runs at its defaults
        params = parameters if number == 1 or not chapters else {}
        done = _run_wave(wave, build, jobs, params, root, options, log, counter, progress)
        runs += done
        executed = [r for r in done if not r.cached]
        _write_execution_table(build, done, root)
        if executed:
            record_timing(build, f"wave{number}", time.perf_counter() - start, jobs=jobs,
                          executed=len(executed), reused=len(done) - len(executed))
    return runs


def write_ledger(build: Path, root: Path, log=print) -> ChapterRun | None:
    """Between the chapters and the back matter: ``results/ledger.json`` from the chapters' default results
    (:func:`rlbits.pipeline.ledger.write`), when the book has ``data/claims.yml``. Returns a failed run (source: the
    claims file) when a recorded verdict disagrees with its rule or a rule cannot be evaluated, else None."""
    from rlbits.pipeline import ledger

    claims = root / "data" / "claims.yml"
    if not claims.exists():
        return None
    try:
        items = ledger.write(build, claims)
    except Exception as exc:  # a verdict that disagrees with its rule, a rule that cannot be evaluated, a bad file
        error = f"{_rel(claims, root)}: the claims ledger: {type(exc).__name__}: {' '.join(str(exc).split())}"
        log(f"  ledger: FAILED\n    {error}")
        return ChapterRun(source=claims, error=error)
    have = sum(e.verdict is not None for e in items)
    log(f"  ledger: {len(items)} claims, {have} with a verdict -> {_rel(build / 'results' / 'ledger.json', root)}")
    return None


def record_timing(build: Path, key: str, seconds: float, **extra) -> None:
    """Wall-clock seconds of a stage of the build (``bench``, ``wave1`` chapters, ``wave2`` back matter,
    ``render``) in ``timing.json``, for the Reproducibility page. A stage that was reused keeps its last entry."""
    from rlbits.pipeline.execute import atomic_write, locked

    path = build / "timing.json"
    with locked(build):
        data = json.loads(path.read_text()) if path.exists() else {}
        data[key] = {"wall_seconds": round(seconds, 1), **extra}
        atomic_write(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def _write_wall_time(build: Path, key: str, seconds: float, jobs: int) -> None:
    record_timing(build, key, seconds, jobs=jobs)


def _write_execution_table(build: Path, runs: list[ChapterRun], root: Path) -> None:
    """``execution.json``: seconds and status of each chapter's last execution (read-modify-write under a lock).

    A reused chapter keeps its row, unless the row is missing or records a failure that the reused notebook (the last
    good one, unchanged since) has since superseded: then the row says ok with the seconds of that run."""
    from rlbits.pipeline.execute import atomic_write, locked

    path = build / "execution.json"
    with locked(build):
        table = json.loads(path.read_text()) if path.exists() else {}
        for run in runs:
            if run.cached and table.get(_rel(run.source, root), {}).get("status") == "ok":
                continue
            row = {"seconds": round(run.seconds, 1), "status": "ok" if run.ok else "error"}
            if not run.ok:
                row["error"] = run.error
            if run.overrides:
                row["overrides"] = {k: o["value"] for k, o in run.overrides.items()}
            table[_rel(run.source, root)] = row
        atomic_write(path, json.dumps(dict(sorted(table.items())), indent=1, default=repr) + "\n")


def _partial_toc(toc: dict, keep) -> dict:
    """A copy of the table of contents with only the files ``keep(file)`` accepts (for ``render --partial``)."""
    def walk(entries):
        out = []
        for entry in entries or []:
            entry = dict(entry)
            for key in ("sections", "chapters"):
                if key in entry:
                    entry[key] = walk(entry[key])
                    if not entry[key]:
                        entry.pop(key)
            if "file" in entry and not keep(entry["file"]):
                continue
            if "file" in entry or entry.get("chapters"):
                out.append(entry)
        return out

    toc = dict(toc)
    if "parts" in toc:
        toc["parts"] = [dict(part, chapters=walk(part["chapters"])) for part in toc["parts"]]
        toc["parts"] = [part for part in toc["parts"] if part["chapters"]]
    return toc


def stage(build: Path, root: Path = ROOT, partial: bool = False) -> Path:
    """Lay out the book to render: executed notebooks replace the MyST notebooks, each with download links.

    With ``partial`` (a development aid, never used by ``build``), chapters that were not executed into this build
    directory are left out of the table of contents instead of failing the render.
    """
    src = build / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    shutil.copy(root / "_config.yml", src / "_config.yml")
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    if partial:
        def keep(f):
            md = root / f"{re.sub(r'[.](md|ipynb)$', '', f)}.md"
            return md.exists() and (not is_notebook(md) or (build / "notebooks" / f"{md.stem}.ipynb").exists())
        toc = _partial_toc(toc, keep)
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    for folder in ("data", "_static"):
        if (root / folder).exists():
            shutil.copytree(root / folder, src / folder)
    missing = []
    for rel in toc_files(src):
        md = root / f"{rel}.md"
        if not md.exists():
            missing.append(f"{rel}.md")
            continue
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not is_notebook(md):
            text = md.read_text()
            if partial:
                kept = set(toc_files(src))
                text = _unlink_missing(text, rel, kept, _labels_defined(root, kept))
            target.with_suffix(".md").write_text(text)
            continue
        executed = build / "notebooks" / f"{md.stem}.ipynb"
        if not executed.exists():
            missing.append(f"{rel}.md (not executed: run `python -m rlbits run {rel}.md`)")
            continue
        nb = nbformat.read(executed, as_version=4)
        if partial:
            kept = set(toc_files(src))
            labels = _labels_defined(root, kept)
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = _unlink_missing(cell.source, rel, kept, labels)
                for out in cell.get("outputs", []):  # glued Markdown may link too
                    data = out.get("data", {})
                    for mime in [m for m in data if m.endswith("text/markdown")]:  # glue's papermill.record too
                        text = "".join(data[mime]) if isinstance(data[mime], list) else data[mime]
                        data[mime] = _unlink_missing(text, rel, kept, labels)
        sources_copy = src / "_myst" / f"{rel}.md"
        sources_copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(md, sources_copy)
        rerun = (f" · re-run with other parameters: `python -m rlbits run {rel}.md -p NAME VALUE`"
                 if any("parameters" in c.metadata.get("tags", []) for c in nb.cells) else "")
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(
            f"```{{admonition}} Run this page yourself\n:class: tip\n"
            f"{{download}}`Executed notebook </{rel}.ipynb>` · {{download}}`MyST source </_myst/{rel}.md>`"
            f"{rerun}\n```",
            id="rlbits-downloads"))
        nb.metadata["source_map"] = source_map(md.read_text(), nb)
        nbformat.write(nb, target.with_suffix(".ipynb"))
    if missing:
        raise FileNotFoundError("cannot render, missing: " + "; ".join(missing))
    return src


_DEFINES = re.compile(r"^\(([\w-]+)\)=|\$\$\s*\(([\w-]+)\)|^\s*:(?:label|name):\s*(\S+)", re.M)


def _labels_defined(root: Path, kept: set[str]) -> set[str]:
    """The targets (``(label)=``, equation labels, ``:label:``/``:name:``) defined in the MyST sources of ``kept``."""
    found = set()
    for rel in kept:
        md = root / f"{rel}.md"
        if md.exists():
            found |= {next(g for g in m.groups() if g) for m in _DEFINES.finditer(md.read_text())}
    return found


def _unlink_missing(text: str, rel: str, kept: set[str], labels: set[str]) -> str:
    """In a partial book, a reference to a page left out, or to a label only such a page defines, becomes plain text
    (``{doc}`Chapter 3 <03_x>``` -> ``Chapter 3``; ``{eq}`eq-ch1-x``` -> ``eq-ch1-x``), so that the render checks
    the pages that are there without failing on those that are not."""
    def doc(m):
        target = m.group(2) or m.group(1)
        return m.group(0) if _doc_target(rel, target) in kept else m.group(1).strip()

    def label(m):
        target = (m.group(3) or m.group(2)).strip()
        return m.group(0) if target in labels else (m.group(2) if m.group(3) else target).strip()

    text = re.sub(r"\{doc\}`([^`<]*?)(?:<([^`>]*)>)?`", doc, text)
    return re.sub(r"\{(eq|ref|numref)\}`([^`<]*?)(?:<([^`>]*)>)?`", label, text)


def _doc_target(rel: str, ref: str) -> str:
    """The document a ``{doc}`` reference from document ``rel`` points at (relative to the book's root)."""
    ref = ref.strip()
    if ref.startswith("/"):
        return ref.lstrip("/")
    return os.path.normpath(os.path.join(os.path.dirname(rel), ref))


_WARNING = re.compile(r"^(?P<path>\S+?\.(?:ipynb|md|rst|yml|bib))(?::(?P<line>\d+))?: (?P<kind>WARNING|ERROR|CRITICAL)")


def _tree_key(src: Path, package: Path | None = None) -> str:
    """A hash of every file of the staged book (names and bytes), of the renderer's version and of the ``rlbits``
    sources (the Sphinx extension that transforms every page is one of them: a change to it renders again, even
    when the executed notebooks come out byte-identical)."""
    from importlib import metadata

    h = hashlib.sha256(b"rlbits-render-v2\0")
    for name in ("jupyter-book", "sphinx", "myst-nb"):
        try:
            h.update(f"{name}={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            pass
    package = package or Path(__file__).resolve().parents[1]
    for tree, pattern in ((src, "*"), (package, "*.py")):
        for path in sorted(p for p in tree.rglob(pattern) if p.is_file()):
            h.update(path.relative_to(tree).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _last_runs_report(build: Path, root: Path, log) -> None:
    """Say which pages come from a reader run, and which chapters' last run failed (their last good page is shown)."""
    table = json.loads((build / "execution.json").read_text()) if (build / "execution.json").exists() else {}
    for chapter, row in table.items():
        if row.get("status") == "error":
            log(f"  note: the last run of {chapter} failed, so its page is the last good run's: "
                f"{row.get('error', '').splitlines()[0] if row.get('error') else ''}")
    for path in sorted((build / "results").glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        overrides = data.get("__overrides__") if isinstance(data, dict) else None
        if overrides:
            shown = ", ".join(f"{k}={o['value']!r}" for k, o in overrides.items())
            log(f"  note: {path.stem} is a reader run ({shown}); its page says so and the ledger ignores it")


def render(build: Path, root: Path = ROOT, log=print, partial: bool = False, force: bool = False) -> int:
    """Render ``build/src`` into ``build/html`` with jupyter-book: a full build, every warning an error.

    The book is rendered into a fresh directory and swapped into ``build/html`` only when the render succeeds, so a
    failed render leaves the last good book in place. When the staged book is byte-identical to the one last
    rendered (and not ``force``, and not in CI), the render is skipped.
    """
    force = force or bool(os.environ.get("CI"))
    src = stage(build, root, partial)
    _last_runs_report(build, root, log)
    key = _tree_key(src)
    html, stamp = build / "html", build / "html" / ".rlbits-render-key"
    if not force and (html / "index.html").exists() and stamp.exists() and stamp.read_text().strip() == key:
        log(f"render: nothing changed since the last render, kept {html / 'index.html'}")
        return 0
    start = time.perf_counter()
    fresh = build / f"render.{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    for stale in (".doctrees", "jupyter_execute"):  # left by renders before fresh directories were used
        shutil.rmtree(build / stale, ignore_errors=True)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(src), "--path-output", str(fresh),
           "--all", "--warningiserror", "--nitpick", "--keep-going", "--builder", "html"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
        output = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
        problems = [_map_warning(line, src, root) for line in output.splitlines()
                    if "WARNING" in line or "ERROR" in line or "CRITICAL" in line]
        (build / "render.log").write_text(output)
        new = fresh / "_build" / "html"
        if proc.returncode != 0 or problems or not (new / "index.html").exists():
            log("render FAILED (every Sphinx warning is an error); the last good book stays in "
                f"{html}; full log in {build / 'render.log'}")
            for p in problems or output.splitlines()[-20:]:
                log("  " + p)
            return 1
        (new / ".rlbits-render-key").write_text(key + "\n")
        if (new.parent / "site_size.json").exists():  # written beside html/ by the Sphinx extension
            os.replace(new.parent / "site_size.json", build / "site_size.json")
        old = build / f"html.old.{os.getpid()}"
        if html.exists():
            os.replace(html, old)
        os.replace(new, html)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    record_timing(build, "render", time.perf_counter() - start)
    log(f"rendered {html / 'index.html'}")
    return 0


def _map_warning(line: str, src: Path, root: Path) -> str:
    """Point a Sphinx warning on a staged notebook back at the chapter's MyST file.

    Staged notebooks carry a ``source_map`` (cell -> line of the MyST file), which myst-nb uses for its line numbers,
    so ``chapters/x.ipynb:42`` becomes ``chapters/x.md:42``.
    """
    line = line.replace(str(src) + os.sep, "").replace(str(src), "")
    m = _WARNING.match(line)
    if m and m.group("path").endswith(".ipynb"):
        line = m.group("path")[: -len(".ipynb")] + ".md" + line[m.end("path"):]
    return line


def source_map(md_text: str, nb) -> list[int]:
    """For each cell of a notebook read from ``md_text``, the 0-based line of the MyST file where its text starts.

    Cells that are not in the file (papermill's injected parameters, the download box) map to the line of the
    cell before them.
    """
    lines = md_text.splitlines()
    smap, cursor, last = [], 0, 0
    for cell in nb.cells:
        cell_lines = cell.source.splitlines()
        offset = next((k for k, t in enumerate(cell_lines) if t.strip()), 0)
        first = cell_lines[offset] if cell_lines else None
        tags = cell.metadata.get("tags", [])
        found = None
        if first is not None and "injected-parameters" not in tags and cell.get("id") != "rlbits-downloads":
            for i in range(cursor, len(lines)):
                if lines[i] == first:
                    found = i
                    break
        if found is None:
            smap.append(last)
            continue
        # myst-nb adds 1 (1-based lines) and myst-parser 1 more: the reported line is smap + 2 + line in cell
        smap.append(max(found - offset - 1, 0))
        last = found
        cursor = found + 1
    return smap
