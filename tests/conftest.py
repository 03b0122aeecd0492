"""Shared fixtures. The expensive ones run whole-book pipelines once per test session, in the background:

* ``book``: ``python -m rlbits build`` of the whole book (every chapter executed, the site rendered);
* ``second_execution``: ``python -m rlbits run`` of every chapter again, into another build, after ``book`` (the
  reproducibility test compares the two);
* ``declared_sweep``: ``python -m rlbits sweep --declared`` (every chapter at every setting it declares), after
  ``book``, whose run times order the sweep longest first.

Each is a :class:`Background` job, started as soon as the session's tests are collected if a selected test uses it,
so the pipelines run while the rest of the suite does: the suite costs what its CPU-seconds cost on the machine's
cores, not the sum of its waits. Tests are ordered so that those that need no job run first
(:func:`pytest_collection_modifyitems`); a test that needs a job waits for it. Each job writes its output to
``<job>.log`` beside its build; a job that fails is reported by the test that uses it, with that log.

Set ``RLBITS_BUILD_DIR=/path/to/dir`` (a directory that already holds ``_build/`` from ``python -m rlbits build
--out DIR``) to reuse a build while iterating locally; CI never sets it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests: no per-example deadline (CI machines are shared and slow) and a fixed example sequence, so a run
# of the suite is as reproducible as the book.
settings.register_profile("rlbits", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("rlbits")

ROOT = Path(__file__).resolve().parent.parent


class Book:
    """A built book: ``out/_build/{notebooks,results,html}``."""

    def __init__(self, out: Path, returncode: int, log: str):
        self.out = out
        self.build = out / "_build"
        self.returncode = returncode
        self.log = log

    def results(self, stem: str) -> dict:
        path = self.build / "results" / f"{stem}.json"
        assert path.exists(), f"no results for {stem}; build log:\n{self.log[-3000:]}"
        return json.loads(path.read_text())


def myst_chapter(title: str, body: str, front: str = "") -> str:
    """A fixture chapter: the jupytext header (plus optional front matter, e.g. ``rlbits: settings:``), a title and
    ``body`` (dedented)."""
    header = textwrap.dedent("""\
        ---
        jupytext:
          text_representation:
            extension: .md
            format_name: myst
            format_version: 0.13
        kernelspec:
          display_name: Python 3
          language: python
          name: python3
        """)
    return header + textwrap.dedent(front) + "---\n\n" + f"# {title}\n\n" + textwrap.dedent(body)


def _env() -> dict:
    # this checkout's rlbits, also in the kernels, whatever copy an editable install points at
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=path)


def run_rlbits(*args, cwd=ROOT, timeout=3600):
    """Run ``python -m rlbits ARGS`` and return the completed process (stdout and stderr merged)."""
    return subprocess.run([sys.executable, "-m", "rlbits", *map(str, args)], cwd=cwd, env=_env(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


# --- whole-book pipelines, run in the background ---------------------------------------------------------------

class Background:
    """``python -m rlbits ARGS`` started in its own process group, optionally after another job has finished
    (``after``; ``prepare()`` then runs first, e.g. to copy what the job reads from that one's build)."""

    def __init__(self, name: str, out: Path, args: list, after: "Background | None" = None, prepare=None,
                 timeout: float = 3000):
        self.name, self.out, self.args, self.after, self.prepare = name, out, [str(a) for a in args], after, prepare
        self.timeout = timeout
        self.log_path = out / f"{name}.log"
        self.returncode: int | None = None
        self.error = ""
        self.proc: subprocess.Popen | None = None
        self._done = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"rlbits-{name}", daemon=True)

    def start(self) -> "Background":
        """Start the job unless it has started or is already done (a reused build); returns the job."""
        if self._thread.ident is None and not self._done.is_set():
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            if self.after is not None:
                self.after.wait()
            if self._stopped:
                return
            if self.prepare is not None:
                self.prepare()
            with open(self.log_path, "w") as log:
                self.proc = subprocess.Popen([sys.executable, "-m", "rlbits", *self.args], cwd=ROOT, env=_env(),
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                self.returncode = self.proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self.stop()
                self.error = f"timed out after {self.timeout:.0f} s"
        except Exception as exc:  # noqa: BLE001 - reported by the test that waits for this job
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._done.set()

    def wait(self) -> "Background":
        """Block until the job has finished (or failed to start); never raises."""
        self.start()  # not started yet (selected after the session started, e.g. by a plugin): run it now
        self._done.wait()
        return self

    @property
    def log(self) -> str:
        text = self.log_path.read_text() if self.log_path.exists() else ""
        return text + (f"\n[{self.name}: {self.error}]" if self.error else "")

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.error

    def stop(self) -> None:
        """Kill the job's whole process group (kernels, Dask workers): a session that ends early leaves nothing."""
        self._stopped = True
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def _copy_into(src: Path, dst: Path, names) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (src / name).is_dir():
            shutil.copytree(src / name, dst / name, dirs_exist_ok=True)
        elif (src / name).exists():
            shutil.copy(src / name, dst / name)


class Jobs:
    """The session's background jobs, created (not started) by name; :func:`_start_jobs` starts those the selected
    tests use."""

    NAMES = ("book", "second_execution", "declared_sweep")

    def __init__(self, tmp_path_factory):
        reuse = os.environ.get("RLBITS_BUILD_DIR")
        self.reused = Path(reuse) if reuse else None
        book_out = self.reused or tmp_path_factory.mktemp("book")
        self.book = Background("book", book_out, ["build", "--out", book_out])
        if self.reused:  # nothing to run: the build is already there
            self.book.returncode = 0
            self.book._done.set()
        book_build = book_out / "_build"
        second = tmp_path_factory.mktemp("second")
        # the benchmark (and the Performance page's timing of chapter 14's step) is measured once per build, so
        # the second execution reads the first one's
        self.second_execution = Background(
            "second_execution", second, ["run", "--out", second], after=self.book,
            prepare=lambda: _copy_into(book_build, second / "_build", ("bench.json", "bench_mlp_lm.json")))
        sweep = tmp_path_factory.mktemp("declared-sweep")
        # the sweep goes into a build that knows how long each chapter's default run took (the book's), as a
        # reader's sweep after `make book` does, so it runs the longest points first
        self.declared_sweep = Background(
            "declared_sweep", sweep, ["sweep", "--declared", "--out", sweep, "-j", "2"], after=self.book,
            prepare=lambda: _copy_into(book_build, sweep / "_build", ("cache",)))

    def all(self):
        return [getattr(self, n) for n in self.NAMES]


def pytest_collection_modifyitems(session, config, items):
    """Tests that need no background job first, then those that need the book, then those that wait for a job
    started after the book: each waits as little as possible while the jobs run beside it."""
    def rank(item):
        names = set(getattr(item, "fixturenames", ()))
        if names & {"second_execution", "declared_sweep"}:
            return 2
        return 1 if "book" in names else 0
    items.sort(key=rank)  # stable: within a rank, the usual order


@pytest.fixture(scope="session")
def jobs(tmp_path_factory):
    registry = Jobs(tmp_path_factory)
    yield registry
    for job in registry.all():
        job.stop()


@pytest.fixture(scope="session", autouse=True)
def _start_jobs(request, jobs):
    """Start, when the first test sets up, every background job a selected test uses."""
    used = set()
    for item in request.session.items:
        used |= set(getattr(item, "fixturenames", ())) & set(Jobs.NAMES)
    for name in Jobs.NAMES:  # in this order: the book first, the jobs that wait for it after
        if name in used:
            getattr(jobs, name).start()


@pytest.fixture(scope="session")
def book(jobs) -> Book:
    job = jobs.book.wait()
    if jobs.reused:
        return Book(jobs.reused, 0, "(reused build)")
    return Book(job.out, 0 if job.ok else (job.returncode or 1), job.log)


@pytest.fixture(scope="session")
def second_execution(jobs) -> Background:
    """The whole book executed a second time (``python -m rlbits run``), into ``.out/_build``."""
    return jobs.second_execution.wait()


@pytest.fixture(scope="session")
def declared_sweep(jobs) -> Background:
    """``python -m rlbits sweep --declared`` of the whole book, into ``.out/_build/sweeps``."""
    return jobs.declared_sweep.wait()


@pytest.fixture(scope="session")
def results(book):
    """``results(stem)``: the recorded results of one chapter of the built book."""
    return book.results


@pytest.fixture(scope="module")
def r(request, results):
    """The recorded results of the chapter named by the test module's ``STEM``."""
    return results(request.module.STEM)
