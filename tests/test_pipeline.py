"""The execution pipeline on small temporary books: error reports, parameter checks, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, run_rlbits
from conftest import myst_chapter as chapter
from rlbits.pipeline.execute import code_cell_lines

GOOD = chapter("Good", """\
    ```{code-cell} ipython3
    :tags: [parameters]

    n = 3
    ```

    ```{code-cell} ipython3
    from rlbits import record
    from rlbits.validate import integer
    n = integer("n", n, minimum=1)
    total = record("total", sum(range(n + 1)))
    ```

    The total is {glue:text}`total`.
    """)

BROKEN = chapter("Broken", """\
    Some prose.

    ```{code-cell} ipython3
    ---
    tags: [hide-input]
    ---
    x = 1
    ```

    ```{code-cell} ipython3
    y = 2
    z = y / (x - 1)
    ```
    """)


def make_book(tmp_path: Path, chapters: dict[str, str]) -> Path:
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    (root / "chapters" / "intro.md").write_text("# A test book\n")
    for name, text in chapters.items():
        (root / "chapters" / f"{name}.md").write_text(text)
    toc = "format: jb-book\nroot: chapters/intro\nchapters:\n" + "".join(
        f"  - file: chapters/{name}\n" for name in chapters)
    (root / "_toc.yml").write_text(toc)
    config = "\n".join(line for line in (ROOT / "_config.yml").read_text().splitlines()
                       if "bibtex" not in line and "data/references.bib" not in line)
    (root / "_config.yml").write_text(config)
    return root


def test_code_cell_lines_finds_sources():
    lines = code_cell_lines(BROKEN)
    text = BROKEN.splitlines()
    assert [text[i - 1] for i in lines] == ["x = 1", "y = 2"]


def test_broken_chapter_names_file_and_line(tmp_path):
    root = make_book(tmp_path, {"a_good": GOOD, "b_broken": BROKEN})
    proc = run_rlbits("build", "--root", root, "--skip-bench", "-j", "2")
    assert proc.returncode != 0
    line = BROKEN.splitlines().index("z = y / (x - 1)") + 1
    assert f"chapters/b_broken.md:{line}: ZeroDivisionError" in proc.stdout, proc.stdout
    assert "not rendering" in proc.stdout
    # the other chapter still ran, and nothing was rendered
    assert json.loads((root / "_build/results/a_good.json").read_text()) == {"total": 6}
    assert not (root / "_build/html/index.html").exists()


def test_parameters_checked(tmp_path):
    root = make_book(tmp_path, {"a_good": GOOD})
    md = root / "chapters/a_good.md"
    proc = run_rlbits("run", md, "-p", "m", "4", "--root", root)
    assert proc.returncode == 2
    assert "unknown parameter(s) ['m']" in proc.stdout and "parameters are ['n']" in proc.stdout
    proc = run_rlbits("run", md, "-p", "n", "-2", "--root", root)
    assert proc.returncode == 1
    assert "n=-2 is outside the allowed range [1, inf]" in proc.stdout
    proc = run_rlbits("run", md, "-p", "n", "4", "--root", root)
    assert proc.returncode == 0, proc.stdout
    # a reader run: its results carry the overrides; the default evidence is not touched (there was none yet)
    assert json.loads((root / "_build/results/a_good.json").read_text()) == {
        "total": 10, "__overrides__": {"n": {"value": 4, "default": "3"}}}
    assert not (root / "_build/results/default/a_good.json").exists()


def test_small_book_renders_strictly_and_catches_missing_glue(tmp_path):
    root = make_book(tmp_path, {"a_good": GOOD})
    proc = run_rlbits("build", "--root", root, "--skip-bench")
    assert proc.returncode == 0, proc.stdout
    html = (root / "_build/html/chapters/a_good.html").read_text()
    assert 'The total is <span class="pasted-text">6</span>' in html
    assert json.loads((root / "_build/site_size.json").read_text())  # the Sphinx extension's report, kept
    # a glue key the chapter never recorded fails the run itself, naming the line (issue 12 item 3)
    bad = GOOD + "\nMissing: {glue:text}`nope`.\n"
    (root / "chapters/a_good.md").write_text(bad)
    proc = run_rlbits("build", "--root", root, "--skip-bench")
    assert proc.returncode != 0
    line = bad.splitlines().index("Missing: {glue:text}`nope`.") + 1
    assert f"chapters/a_good.md:{line}: the text refers to glue key 'nope'" in proc.stdout, proc.stdout
    # a Sphinx warning (here a reference to no document) fails the render, naming the chapter's line, and the
    # last good book stays in place
    bad = GOOD + "\nSee {doc}`nowhere`.\n"
    (root / "chapters/a_good.md").write_text(bad)
    proc = run_rlbits("build", "--root", root, "--skip-bench")
    assert proc.returncode != 0
    line = bad.splitlines().index("See {doc}`nowhere`.") + 1
    assert "render FAILED" in proc.stdout and f"chapters/a_good.md:{line}: WARNING" in proc.stdout, proc.stdout
    assert 'The total is <span class="pasted-text">6</span>' in html
    assert (root / "_build/html/chapters/a_good.html").read_text() == html


@pytest.mark.book
def test_two_executions_are_identical(book, second_execution):
    """Every chapter executed a second time into another build (``python -m rlbits run``, a background job started
    after the book's, see ``conftest``): notebooks and results must be byte-identical.

    The benchmark (and the Performance page's timing of chapter 14's step) is measured once per build, so the second
    build reads the first one's; the Reproducibility page reports run times and is the one page exempt.
    """
    assert book.returncode == 0, book.log[-5000:]
    assert second_execution.ok, second_execution.log[-5000:]
    first, second = book.build, second_execution.out / "_build"
    names = sorted(p.name for p in (first / "results").glob("*.json"))
    assert names and names == sorted(p.name for p in (second / "results").glob("*.json"))
    compared = 0
    for kind, pattern in (("results", "*.json"), ("notebooks", "*.ipynb")):
        for a in sorted((first / kind).glob(pattern)):
            if a.stem == "reproducibility":
                continue
            b = second / kind / a.name
            assert a.read_bytes() == b.read_bytes(), f"{kind}/{a.name} differs between two executions"
            compared += 1
    assert compared >= 2 * 16, compared  # 14 chapters and the back matter, results and notebooks


def test_a_partial_book_unlinks_only_what_it_left_out(tmp_path):
    """``render --partial``: references to pages left out (and labels only they define) become their text."""
    from rlbits.pipeline.book import _labels_defined, _unlink_missing

    root = tmp_path
    (root / "chapters").mkdir()
    (root / "chapters" / "a.md").write_text("(a-target)=\n# A\n\n$$ x $$ (eq-a)\n")
    kept = {"chapters/a"}
    labels = _labels_defined(root, kept)
    assert labels == {"a-target", "eq-a"}
    text = ("See {doc}`Chapter A <a>`, {doc}`b`, {doc}`Chapter B <b>`, {eq}`eq-a`, {eq}`eq-b`, "
            "{ref}`the verdicts <b-verdicts>`, {ref}`a-target` and {numref}`fig-b`.")
    assert _unlink_missing(text, "chapters/x", kept, labels) == (
        "See {doc}`Chapter A <a>`, b, Chapter B, {eq}`eq-a`, eq-b, the verdicts, {ref}`a-target` and fig-b.")


def test_the_render_key_covers_the_staged_book_and_the_rlbits_sources(tmp_path):
    """A change to the Sphinx extension (any ``rlbits`` source) renders again even when every executed notebook
    is byte-identical; a change to a staged file does too; nothing else does."""
    from rlbits.pipeline.book import _tree_key

    src, pkg = tmp_path / "src", tmp_path / "rlbits"
    (src / "chapters").mkdir(parents=True)
    (pkg / "pipeline").mkdir(parents=True)
    (src / "chapters" / "a.ipynb").write_text("{}")
    (pkg / "pipeline" / "sphinxext.py").write_text("X = 1\n")
    key = _tree_key(src, pkg)
    assert _tree_key(src, pkg) == key
    (pkg / "pipeline" / "sphinxext.py").write_text("X = 2\n")
    changed_code = _tree_key(src, pkg)
    (src / "chapters" / "a.ipynb").write_text("{ }")
    changed_both = _tree_key(src, pkg)
    assert len({key, changed_code, changed_both}) == 3
    (pkg / "notes.txt").write_text("not a source")  # only the package's Python sources count
    assert _tree_key(src, pkg) == changed_both

