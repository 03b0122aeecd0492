"""``python -m rlbits compare OLD NEW``: do two builds agree on every recorded result, to the digits the book prints?

A refactoring that changes no arithmetic must leave every results file byte-identical; one that changes the last bits
of a float (a library's softmax instead of a hand-written one) must leave every number the *book prints* unchanged.
This compares ``OLD/_build/results/*.json`` with ``NEW/_build/results/*.json`` (either argument may also be a build
directory itself) and says, per chapter:

- ``identical``: the two files are byte-identical;
- otherwise, keys new in the second build are counted (a quantity added changes nothing the first build printed), and
  per key whose value differs: whether it is *printed* (the chapter's text refers to it with
  ``{glue:text}`key:FORMAT``` and the like) and, if so, whether every format the text applies gives the same string
  for both values; a glued sentence whose only change is math markup (``$1/V$`` for ``1/V``) reads the same; a key
  the text never prints is reported with its relative difference; a key the second build lost is a difference.

The exit status is 1 if a printed number differs, a string differs, or a key is missing from one side; 0 otherwise.
Used to show that issue 15's package reorganisation changed no printed number.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from rlbits.pipeline.execute import text_lines

#: ``{glue:text}`key:fmt``` and ``{glue}`key``` in a chapter's text (roles only; directives glue figures and math).
ROLE = re.compile(r"\{glue(?::text|:any|:md)?\}`([A-Za-z0-9_]+)(?::([^`]*))?`")


def printed_formats(root: Path) -> dict[str, dict[str, set[str]]]:
    """``chapter stem -> key -> formats`` the chapter's text applies to each glued key (``""`` for no format)."""
    out: dict[str, dict[str, set[str]]] = {}
    for md in sorted((root / "chapters").rglob("*.md")):
        keys: dict[str, set[str]] = {}
        for _, line in text_lines(md.read_text()):
            for key, fmt in ROLE.findall(line):
                keys.setdefault(key, set()).add(fmt)
        out[md.stem] = keys
    return out


def _render(value, fmt: str) -> str:
    if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return format(value, fmt)
        except (ValueError, TypeError):
            return str(value)
    return str(value)


def _relative(a, b) -> float:
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
        return math.inf
    if a == b:
        return 0.0
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else math.inf


def compare_chapter(old: dict, new: dict, formats: dict[str, set[str]]) -> list[dict]:
    """One entry per key that differs: ``{key, old, new, printed, same_printed, relative}``."""
    rows = []
    for key in sorted(set(old) | set(new)):
        if key in old and key in new and old[key] == new[key]:
            continue
        a, b = old.get(key, "<missing>"), new.get(key, "<missing>")
        fmts = formats.get(key)
        same = None
        if fmts is not None:
            same = all(_render(a, f) == _render(b, f) for f in fmts)
        rows.append({"key": key, "old": a, "new": b, "printed": sorted(fmts) if fmts is not None else None,
                     "same_printed": same, "relative": _relative(a, b)})
    return rows


def _results_dir(path: Path) -> Path:
    for candidate in (path / "_build" / "results", path / "results", path):
        if candidate.is_dir() and any(candidate.glob("*.json")):
            return candidate
    raise SystemExit(f"no results under {path} (expected {path}/_build/results/*.json)")


#: Pages whose results are this machine's timings (the benchmark, run times): they differ between any two builds.
MEASURED = ("performance", "reproducibility")


def compare(old: Path, new: Path, root: Path, common_only: bool = False) -> tuple[int, list[str]]:
    """Compare two builds; returns (exit status, report lines). With ``common_only``, a chapter present in one build
    only is listed but is not a difference (a partial build compared with a whole one)."""
    old_dir, new_dir = _results_dir(old), _results_dir(new)
    formats = printed_formats(root)
    lines, bad = [], 0
    for name in sorted({p.name for p in old_dir.glob("*.json")} | {p.name for p in new_dir.glob("*.json")}):
        a, b = old_dir / name, new_dir / name
        if a.stem in MEASURED:
            lines.append(f"{name}: timings measured on this machine, not compared")
            continue
        if not (a.exists() and b.exists()):
            lines.append(f"{name}: only in {'the old' if a.exists() else 'the new'} build")
            bad += not common_only
            continue
        if a.read_bytes() == b.read_bytes():
            lines.append(f"{name}: identical")
            continue
        rows = compare_chapter(json.loads(a.read_text()), json.loads(b.read_text()), formats.get(a.stem, {}))
        added = [r for r in rows if r["old"] == "<missing>"]  # new quantities: nothing the old build printed
        rows = [r for r in rows if r["old"] != "<missing>"]
        for r in rows:  # a sentence whose only change is math markup ($1/V$ for 1/V) reads the same
            if isinstance(r["old"], str) and isinstance(r["new"], str) and \
                    r["old"].replace("$", "") == r["new"].replace("$", ""):
                r["same_printed"], r["markup_only"] = True, True
        failing = [r for r in rows if r["same_printed"] is False or r["new"] == "<missing>"
                   or (r["printed"] is None and r["relative"] == math.inf and not r.get("markup_only"))]
        bad += len(failing)
        worst = max((r["relative"] for r in rows if r["relative"] != math.inf), default=0.0)
        lines.append(f"{name}: {len(rows)} key(s) differ, {len(failing)} of them in what the book prints or shows "
                     f"(largest relative difference of a number: {worst:.2g}); {len(added)} new key(s)")
        if not rows and not added:
            lines[-1] = f"{name}: same content, different bytes"
        for r in rows:
            verdict = ("math markup only" if r.get("markup_only") else "printed the same" if r["same_printed"]
                       else "PRINTED DIFFERENTLY" if r["same_printed"] is False else "not printed")
            lines.append(f"    {r['key']}: {r['old']!r} -> {r['new']!r} ({verdict}"
                         + (f", relative {r['relative']:.2g})" if r["relative"] != math.inf else ")"))
    return (1 if bad else 0), lines


