"""``python -m rlbits compare``: two builds agree to the digits the book prints, or the difference is named."""

from __future__ import annotations

import json
from pathlib import Path

from rlbits.pipeline.compare import compare


def _book(tmp_path: Path) -> Path:
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    (root / "chapters" / "ch.md").write_text(
        "The rate is {glue:text}`rate:.3f` and {glue:text}`rate:.1%`; the count is {glue:text}`count:,d`.\n\n"
        "```{code-cell} ipython3\nrecord('hidden', 1)  # {glue:text}`hidden:.9f` in code is not prose\n```\n")
    return root


def _build(path: Path, results: dict) -> Path:
    (path / "_build" / "results").mkdir(parents=True)
    (path / "_build" / "results" / "ch.json").write_text(json.dumps(results, sort_keys=True))
    return path


def test_identical_builds_agree(tmp_path):
    base = {"rate": 0.12345, "count": 10, "hidden": 1.0}
    status, lines = compare(_build(tmp_path / "a", base), _build(tmp_path / "b", base), _book(tmp_path))
    assert status == 0 and lines == ["ch.json: identical"]


def test_last_bits_that_print_the_same_pass_and_a_printed_change_fails(tmp_path):
    root = _book(tmp_path)
    old = _build(tmp_path / "a", {"rate": 0.12345, "count": 10, "hidden": 1.0})
    same = _build(tmp_path / "b", {"rate": 0.12345 + 1e-12, "count": 10, "hidden": 1.5})
    status, lines = compare(old, same, root)
    assert status == 0, lines
    assert any("rate" in line and "printed the same" in line for line in lines)
    assert any("hidden" in line and "not printed" in line for line in lines)  # code is not prose
    moved = _build(tmp_path / "c", {"rate": 0.1239, "count": 10, "hidden": 1.0})  # .3f says 0.123 -> 0.124
    status, lines = compare(old, moved, root)
    assert status == 1 and any("rate" in line and "PRINTED DIFFERENTLY" in line for line in lines)


def test_a_missing_key_or_chapter_is_a_difference(tmp_path):
    root = _book(tmp_path)
    old = _build(tmp_path / "a", {"rate": 0.1, "count": 10})
    status, _ = compare(old, _build(tmp_path / "b", {"rate": 0.1}), root)
    assert status == 1
    (tmp_path / "a" / "_build" / "results" / "other.json").write_text("{}")
    status, lines = compare(old, _build(tmp_path / "c", {"rate": 0.1, "count": 10}), root)
    assert status == 1 and "other.json: only in the old build" in lines
    status, _ = compare(old, tmp_path / "c", root, common_only=True)
    assert status == 0
