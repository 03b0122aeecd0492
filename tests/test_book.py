"""The whole book, built once per session: every chapter executed, rendered strictly, offline, with downloads."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import ROOT
from rlbits.pipeline.book import chapter_sources, toc_files

pytestmark = pytest.mark.book


def test_build_succeeded(book):
    assert book.returncode == 0, book.log[-8000:]
    assert (book.build / "html" / "index.html").exists()


def test_every_chapter_executed_with_results(book):
    for md in chapter_sources(ROOT):
        assert (book.build / "notebooks" / f"{md.stem}.ipynb").exists(), md
        assert (book.build / "results" / f"{md.stem}.json").exists(), md


def html_pages(book) -> list[Path]:
    pages = []
    for rel in toc_files(ROOT):
        page = book.build / "html" / f"{rel}.html"
        assert page.exists(), f"{rel} was not rendered"
        pages.append(page)
    return pages


class Refs(HTMLParser):
    """Collects the URLs that a page loads: scripts, stylesheets and other <link>s, images, frames, media."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for attr in ("src", "href", "srcset", "data"):
            if tag in ("script", "link", "img", "iframe", "source", "video", "audio", "object", "embed") and \
                    attrs.get(attr):
                self.urls.append((tag, attrs[attr]))


def test_no_page_loads_anything_from_another_host(book):
    for page in html_pages(book) + sorted((book.build / "html").glob("*.html")):
        parser = Refs()
        parser.feed(page.read_text())
        external = [(tag, url) for tag, url in parser.urls
                    if urlparse(url).scheme not in ("", "data") or url.startswith("//")]
        assert not external, f"{page.name} loads {external}"
    css = [p for p in (book.build / "html" / "_static").rglob("*.css")]
    for sheet in css:
        text = sheet.read_text(errors="ignore")
        assert "@import url(http" not in text and "fonts.googleapis" not in text, sheet


def test_math_is_served_locally(book):
    """MathJax ships with the book, as the components the pages load (not the whole 24 MB distribution)."""
    from rlbits.pipeline.sphinxext import MATHJAX_KEEP

    mathjax = book.build / "html" / "_static" / "mathjax"
    assert all((mathjax / rel).exists() for rel in MATHJAX_KEEP)
    assert not (mathjax / "tex-chtml.js").exists() and not (mathjax / "sre").exists()
    assert sum(f.stat().st_size for f in mathjax.rglob("*") if f.is_file()) < 3e6
    page = (book.build / "html" / "chapters" / "01_bits_per_sample.html").read_text()
    assert "_static/mathjax/startup.js" in page and '"[tex]/ams"' in page


def test_chapters_offer_notebook_and_source_downloads(book):
    for md in chapter_sources(ROOT):
        rel = md.relative_to(ROOT).with_suffix("")
        page = (book.build / "html" / f"{rel}.html").read_text()
        for suffix in (".ipynb", ".md"):
            target = f"{md.stem}{suffix}"
            assert f"/{target}" in page and "_downloads/" in page, f"{rel}: no download of {target}"
        downloads = list((book.build / "html" / "_downloads").rglob(f"{md.stem}.*"))
        assert {p.suffix for p in downloads} >= {".ipynb", ".md"}, rel


def test_no_raw_glue_or_unresolved_references(book):
    import re

    for page in html_pages(book):
        # inline code may show the syntax (the API appendix quotes it in record's docstring); prose may not
        text = re.sub(r'<code class="docutils literal[^"]*">.*?</code>', "", page.read_text(), flags=re.S)
        for raw in ("{glue:", "{numref}`", "{eq}`", "{cite}`", "{doc}`"):
            assert raw not in text, f"{page.name} contains {raw!r}"


def test_timing_covers_every_stage(book):
    import json

    timing = json.loads((book.build / "timing.json").read_text())
    assert {"wave1", "wave2", "render"} <= set(timing), timing
    assert "bench" in timing or not (book.build / "bench.json").exists()


def test_a_second_build_with_no_change_takes_seconds(book):
    """Issue 11 item 10: nothing changed, so nothing executes and nothing renders (the CI variable, which forces
    full builds, is removed for this one)."""
    import os
    import subprocess
    import sys
    import time

    assert book.returncode == 0, book.log[-3000:]
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("CI", None)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rlbits", "build", "--out", str(book.out)], cwd=ROOT, env=env,
                          text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert proc.stdout.count(": unchanged, reused") == len(chapter_sources(ROOT)), proc.stdout
    assert "render: nothing changed" in proc.stdout
    assert seconds < 20, seconds


class FigureImages(HTMLParser):
    """Collects (src, alt) of every <img> inside a <figure> (or a ``div.figure``): the book's numbered figures."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # how many figure containers we are inside
        self.stack: list[bool] = []  # for each open <figure>/<div>: whether it is a figure container
        self.images: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("figure", "div"):
            is_figure = tag == "figure" or "figure" in (attrs.get("class") or "").split()
            self.stack.append(is_figure)
            self.depth += is_figure
        elif tag == "img" and self.depth:
            self.images.append((attrs.get("src") or "", attrs.get("alt")))

    def handle_endtag(self, tag):
        if tag in ("figure", "div") and self.stack:
            self.depth -= self.stack.pop()


def alt_problem(src: str, alt: str | None) -> str | None:
    """Why ``alt`` does not describe the figure (None when it does): missing, empty, or a file path."""
    import re

    if alt is None or not alt.strip():
        return "no alt text"
    text = alt.strip()
    if text == src or Path(text).name == Path(src).name or "_images" in text or "_build" in text:
        return "alt text is the image's path"
    if re.fullmatch(r"[\w./\\-]+\.(svg|png|jpe?g|gif|pdf)", text, re.I):
        return "alt text is a file path"
    if len(text.split()) < 5:
        return "alt text too short to describe the figure"
    return None


def test_every_figure_has_alt_text_that_describes_it(book):
    import re

    sources = [ROOT / f"{rel}.md" for rel in toc_files(ROOT)]
    declared = sum(len(re.findall(r"^```\{glue:figure\}", p.read_text(), re.M)) for p in sources if p.exists())
    seen, bad = 0, []
    for page in html_pages(book):
        parser = FigureImages()
        parser.feed(page.read_text())
        for src, alt in parser.images:
            seen += 1
            why = alt_problem(src, alt)
            if why:
                bad.append(f"{page.name}: {src}: {why} ({alt!r})")
    assert seen >= declared > 0, f"found {seen} figure images in the HTML for {declared} glue:figure directives"
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("src, alt, ok", [
    ("../_images/abc.svg", None, False),
    ("../_images/abc.svg", "  ", False),
    ("../_images/abc.svg", "../_images/abc.svg", False),
    ("../_images/abc.svg", "abc.svg", False),
    ("../_images/abc.svg", "_build/jupyter_execute/abc.png", False),
    ("../_images/abc.svg", "Log-log plot of samples against V: REINFORCE grows like V, SL like log V.", True),
])
def test_alt_problem_tells_a_description_from_a_path(src, alt, ok):
    assert (alt_problem(src, alt) is None) == ok


class Tables(HTMLParser):
    """Each ``<table>`` of a page's article and the text of its caption's number (``Table 6.1``), if any."""

    def __init__(self):
        super().__init__()
        self.tables: list[str] = []  # caption-number text per table ("" when the table has none)
        self._in_number = False
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table":
            self.tables.append("")
            self._depth += 1
        elif self._depth and tag == "span" and "caption-number" in classes:
            self._in_number = True

    def handle_endtag(self, tag):
        if tag == "table":
            self._depth -= 1
        elif tag == "span":
            self._in_number = False

    def handle_data(self, data):
        if self._in_number:
            self.tables[-1] += data


def test_every_table_is_numbered_and_captioned(book):
    """Issue 16: every table of every page has a number (and so a caption), like the figures."""
    import re

    unnumbered, seen = [], 0
    for page in html_pages(book):
        if page.name in ("genindex.html", "search.html", "py-modindex.html"):
            continue
        parser = Tables()
        parser.feed(page.read_text())
        for i, number in enumerate(parser.tables):
            seen += 1
            if not re.match(r"Table (\d+\.)?\d+", number.strip()):
                unnumbered.append(f"{page.relative_to(book.build / 'html')}: table {i + 1} has no number")
    assert seen > 0
    assert not unnumbered, "\n".join(unnumbered)


class PlainText(HTMLParser):
    """The text of a page's article that is not inside a link, code, a heading, a script or a style."""

    SKIP = {"a", "code", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "script", "style", "mjx-container"}

    def __init__(self):
        super().__init__()
        self.article = 0
        self.skip = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "article" or self.article:
            self.article += tag not in VOID
        if self.article and tag in self.SKIP:
            self.skip += 1

    def handle_endtag(self, tag):
        if self.article and tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        if self.article and tag in ("td", "th", "p", "li", "dt", "dd", "div", "figcaption"):
            self.text.append(" | ")  # a block's end: "chapters" in one cell and a number in the next are apart
        if self.article and tag not in VOID:
            self.article -= 1

    def handle_data(self, data):
        if self.article and not self.skip:
            self.text.append(data)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def test_every_chapter_mention_on_a_rendered_page_is_a_link(book):
    """Issue 16: the prose's mentions are checked in the sources (tests/test_links.py); this catches the ones built
    by the code (glued sentences), as the reader sees them. A chapter's mention of itself may stay text."""
    import re

    bad = []
    for page in html_pages(book):
        own = page.stem.split("_", 1)[0]
        parser = PlainText()
        parser.feed(page.read_text())
        text = " ".join(" ".join(parser.text).split())
        for m in re.finditer(r"\b[Cc]hapters?\s+(\d+)", text):
            if own.isdigit() and int(m.group(1)) == int(own):
                continue
            bad.append(f"{page.name}: ...{text[max(0, m.start() - 60):m.end() + 20]}...")
    assert not bad, "chapter mentions that are not links:\n" + "\n".join(bad)


def test_the_api_appendix_lists_every_public_function_with_its_docstring_and_uses(book):
    """Issue 16 item 11: the appendix has an entry for every public function and class of the science modules
    (found here from the source files), each with its docstring and a "Used in" line; the links go to sections
    that exist, and a function a chapter imports by name links to that chapter."""
    import ast
    import re

    from rlbits.pipeline.apidoc import MACHINERY

    page = (book.build / "html" / "chapters" / "backmatter" / "api.html").read_text()
    expected = set()
    for path in (ROOT / "rlbits").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if set(parts[1:]) & MACHINERY or parts[-1] == "__main__":
            continue
        tree = ast.parse(path.read_text())
        expected |= {".".join([*parts, n.name]) for n in tree.body
                     if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")}
    assert len(expected) > 200
    entries = dict(re.findall(r'<dt class="sig sig-object py" id="([\w.]+)">(.*?)</dl>', page, re.S))
    missing = sorted(expected - set(entries))
    assert not missing, f"not in the API appendix: {missing[:10]}"
    used = 0
    for name in expected:
        body = entries[name].split("</dt>", 1)[1]
        text = re.sub(r"<[^>]+>", "", body.split('class="rlbits-used-in"')[0]).strip()
        assert len(text) > 20, f"{name}: no docstring in the appendix"
        assert "Used in:" in body, name
        used += 'href="../' in body.split('class="rlbits-used-in"')[1].split("</p>")[0]
    assert used > 100, f"only {used} entries link to a chapter"
    # every link lands on a page and an anchor that exist
    html = book.build / "html" / "chapters" / "backmatter"
    for href in set(re.findall(r'<p class="rlbits-used-in">.*?</p>', page, re.S)):
        for target in re.findall(r'href="([^"]+)"', href):
            file, _, anchor = target.partition("#")
            dest = (html / file).resolve()
            assert dest.exists(), target
            if anchor:
                assert f'id="{anchor}"' in dest.read_text(), target
    # a function a chapter imports by name is listed as used there
    for md in sorted((ROOT / "chapters").glob("[0-9]*.md")):
        for module, names in re.findall(r"^from (rlbits\.\w+) import ([\w, ]+)$", md.read_text(), re.M):
            for name in (n.strip() for n in names.split(",")):
                qual = f"{module}.{name}"
                if qual in expected and re.search(rf"\b{name}\(", md.read_text()):
                    line = entries[qual].split('class="rlbits-used-in"')[1].split("</p>")[0]
                    assert f"{md.stem}.html" in line, f"{qual} is used in {md.name} but not linked there"


PLAIN_LINE = r"[A-Za-z][A-Za-z0-9 ,.;:'()\-–—]{24,}"  # prose with no markup, long enough to be found once
SMART_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'"})  # Sphinx's typographic apostrophes, as typed


def test_rendered_prose_keeps_the_sources_lines_in_order(book):
    """Two consecutive plain lines of a chapter's prose (no markup, so the page shows them as written) are read on
    its page one after the other, joined by a space: no transform of the rendered tree lost a line break or moved a
    line (a merge of text nodes by equality once made chapter pages read "asks thequestion")."""
    import re

    from rlbits.pipeline.execute import text_lines

    checked, bad = 0, []
    for source in chapter_sources(ROOT):
        rel = source.relative_to(ROOT).with_suffix("").as_posix()
        page = book.build / "html" / f"{rel}.html"
        text = " ".join(AllText.of(page.read_text()).translate(SMART_QUOTES).split())
        body = source.read_text().split("\n---\n", 1)[-1]  # past the front matter
        lines = [line for _, line in text_lines(body)]
        for first, second in zip(lines, lines[1:]):
            if re.fullmatch(PLAIN_LINE, first) and re.fullmatch(PLAIN_LINE, second):
                checked += 1
                if f"{first.strip()} {second.strip()}" not in text:
                    bad.append(f"{rel}: {first.strip()!r} then {second.strip()!r}")
    assert checked >= 50, checked
    assert not bad, f"{len(bad)} pairs of lines not read in order:\n" + "\n".join(bad[:20])


class AllText(PlainText):
    """Every text of a page's article, links, code and headings included (scripts and styles are not text)."""

    SKIP = {"script", "style"}

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        return "".join(parser.text)
