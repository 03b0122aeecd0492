"""The science modules of rlbits say, in the first line of their docstring, what they compute and which chapters use
them, and the chapters named are exactly the chapters whose code imports the module (read from the chapter sources).

A first line ends with ``(chapter 7).``, ``(chapters 3, 4 and 6).`` or ``(chapters 1-14).``; a module no chapter
imports says so: ``(no chapter: the tests and the benchmark).``
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the build pipeline (moving to its own subpackage); everything else at the top of rlbits/ is science
PIPELINE = {"cli", "book", "execute", "kernels", "sweep", "results", "validate", "ledger", "environment", "bench",
            "sphinxext", "verdicts", "__init__", "__main__"}
SCIENCE = sorted(p.stem for p in (ROOT / "rlbits").glob("*.py") if p.stem not in PIPELINE)
CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)
TAIL = re.compile(r"\((chapters? [^()]*|no chapter[^()]*)\)\.?$")


def rlbits_modules_imported(code: str) -> set[str]:
    """Names of rlbits modules that ``code`` imports (``from rlbits import x``, ``from rlbits.x import y``,
    ``import rlbits.x``) or reaches as ``rlbits.x``."""
    out = set()
    for n in ast.walk(ast.parse(code)):
        if isinstance(n, ast.ImportFrom) and n.module == "rlbits":
            out |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("rlbits."):
            out.add(n.module.split(".")[1])
        elif isinstance(n, ast.Import):
            out |= {a.name.split(".")[1] for a in n.names if a.name.startswith("rlbits.")}
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "rlbits":
            out.add(n.attr)
    return out


def chapter_code(path: Path) -> str:
    """The code cells of a MyST chapter, without cell options and IPython magics."""
    cells = [re.sub(r"^:[\w-]+:.*$", "", c, flags=re.M) for c in CELL.findall(path.read_text())]
    return "\n".join(line for c in cells for line in c.splitlines() if not line.lstrip().startswith(("%", "!")))


@lru_cache(maxsize=1)
def users() -> dict[str, set[int]]:
    """Module -> the numbers of the chapters whose code imports it."""
    out: dict[str, set[int]] = {}
    for ch in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md")):
        for m in rlbits_modules_imported(chapter_code(ch)):
            out.setdefault(m, set()).add(int(ch.name[:2]))
    return out


def named_chapters(first_line: str) -> set[int] | None:
    """The chapters a first line names (``None`` if it does not end with a chapter list or 'no chapter')."""
    m = TAIL.search(first_line.strip())
    if not m:
        return None
    if m.group(1).startswith("no chapter"):
        return set()
    out = set()
    for part in re.split(r",\s*|\s+and\s+", m.group(1).split(" ", 1)[1]):
        lo, _, hi = part.strip().partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            return None
        out |= set(range(int(lo), int(hi or lo) + 1))
    return out


def problems(module: str, docstring: str | None, used_by: set[int]) -> list[str]:
    """What is wrong with ``module``'s docstring against the chapters that import it (empty: nothing)."""
    if not docstring or not docstring.strip():
        return [f"rlbits.{module} has no docstring"]
    first = docstring.strip().splitlines()[0]
    named = named_chapters(first)
    if named is None:
        return [f"rlbits.{module}: first line {first!r} does not end with '(chapter N).' or '(chapters ...).'"]
    out = []
    if named - used_by:
        out.append(f"rlbits.{module} names chapters {sorted(named - used_by)} that do not import it")
    if used_by - named:
        out.append(f"rlbits.{module} is imported by chapters {sorted(used_by - named)} its first line does not name")
    return out


@pytest.mark.parametrize("module", SCIENCE)
def test_first_docstring_line_names_the_chapters_that_import_the_module(module):
    doc = ast.get_docstring(ast.parse((ROOT / "rlbits" / f"{module}.py").read_text()))
    assert problems(module, doc, users().get(module, set())) == []


def test_every_chapter_is_found_and_imports_rlbits():
    u = users()
    chapters = {int(p.name[:2]) for p in (ROOT / "chapters").glob("[0-9][0-9]_*.md")}
    assert chapters and {c for s in u.values() for c in s} == chapters


def test_the_check_can_fail():
    assert named_chapters("Pass@k and its variance (chapters 3, 8 and 10-12).") == {3, 8, 10, 11, 12}
    assert named_chapters("Plain versions (no chapter: the tests).") == set()
    assert named_chapters("Pass@k, introduced in chapter 8.") is None
    assert problems("passk", "Pass@k (chapter 8).", {8}) == []
    assert problems("passk", "Pass@k (chapters 3 and 8).", {8}) != []  # names a chapter that does not use it
    assert problems("passk", "Pass@k (chapter 8).", {8, 12}) != []  # misses a chapter that does
    assert problems("passk", "Pass@k.", {8}) != []
    assert problems("passk", None, {8}) != []
    code = ("import numpy as np\nfrom rlbits import decide, passk as pk\nfrom rlbits.language import x\n"
            "rlbits.info.h(1)\n")
    assert rlbits_modules_imported(code) == {"decide", "passk", "language", "info"}
