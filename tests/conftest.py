"""Shared fixtures. The expensive one, ``book``, executes and renders the whole book once per test session.

Set ``RLBITS_BUILD_DIR=/path/to/dir`` (a directory that already holds ``_build/`` from ``python -m rlbits build
--out DIR``) to reuse a build while iterating locally; CI never sets it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
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


def run_rlbits(*args, cwd=ROOT, timeout=3600):
    """Run ``python -m rlbits ARGS`` and return the completed process (stdout and stderr merged)."""
    # this checkout's rlbits, also in the kernels, whatever copy an editable install points at
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=path)
    return subprocess.run([sys.executable, "-m", "rlbits", *map(str, args)], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> Book:
    reuse = os.environ.get("RLBITS_BUILD_DIR")
    if reuse:
        return Book(Path(reuse), 0, "(reused build)")
    out = tmp_path_factory.mktemp("book")
    proc = run_rlbits("build", "--out", out)
    return Book(out, proc.returncode, proc.stdout)


@pytest.fixture(scope="session")
def results(book):
    """``results(stem)``: the recorded results of one chapter of the built book."""
    return book.results


@pytest.fixture(scope="module")
def r(request, results):
    """The recorded results of the chapter named by the test module's ``STEM``."""
    return results(request.module.STEM)
