"""The book's Sphinx extension (listed in ``_config.yml`` under ``sphinx: extra_extensions``): what Jupyter Book
and its theme do not do on their own. Used by the render step of every build (:mod:`rlbits.pipeline.book`); no chapter
imports it.

* **Bibliography** (back matter, References): the style ``rlbits_author_year`` labels every entry the way the text
  cites it ("Kaplan et al., 2020"), sorts the list by author and year, and links each entry (its ``url``, ``doi`` or
  arXiv ``eprint``). An article whose journal is "arXiv preprint arXiv:ID" shows "arXiv preprint" and a linked ID.
* **Figures** (every chapter; see :mod:`rlbits.plotting`): each SVG figure gets a ``min-width`` so the page never
  shrinks it below the scale at which its smallest text is ``MIN_TEXT_PX``; a wider figure scrolls inside its own box
  (``_static/rlbits.css``).
* **Numbers** (every page): every number printed in e-notation outside code and math (a glued value, a sentence a
  chapter built with ``f"{x:.3g}"``, a table of results) is rewritten by :func:`rlbits.numbers.rewrite`
  (``8.49e+14`` -> 8.49 × 10¹⁴, ``1e-05`` -> 10⁻⁵); a glued boolean reads "yes"/"no"; ``$...$`` inside a glued
  sentence (a verdict's note, from ``data/claims.yml``) is typeset as math (:func:`readable_numbers`).
* **The argument at a glance** (landing page): the directive ``{rlbits-glance}`` renders each claim, its verdict and
  its deciding number from the claims ledger of this build (``_build/results/ledger.json``; :func:`glance_markdown`).
* **Downloads**: executed notebooks are shipped once. ``html_copy_source`` is off (no ``_sources/`` copy); the theme's
  download menu points at the page's own ``{download}`` files (the executed notebook and the MyST source in
  ``_downloads/``), and the edit button at the MyST file the repository holds.
* **Weight**: of the MathJax distribution that ``sphinx-mathjax-offline`` ships, only what the pages load is copied:
  the components ``_config.yml`` names (loaded one by one, not the combined ``tex-chtml.js``), the CHTML fonts, and
  the TeX extensions ``autoload`` may fetch. Pages load only the scripts they use (Sphinx's search and its index
  only on the search page; sphinx-design and sphinx-thebe only where a page uses them); the theme's icon font and
  its stylesheet keep only the icons pages use; SVG figures are written compactly (the same drawing in about a
  quarter fewer bytes). Theme files no page loads are deleted too (source maps, translation catalogues, and Font
  Awesome's JavaScript, whose icons the theme's stylesheet already draws with web fonts). The site's size is written
  to ``_build/site_size.json`` next to the HTML.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

# ---------------------------------------------------------------------------------------------------------------
# Bibliography: author-year labels
# ---------------------------------------------------------------------------------------------------------------

STYLE_NAME = "rlbits_author_year"


def _plain(latex: str) -> str:
    from pybtex.richtext import Text

    return Text.from_latex(latex).render_as("text")


def _surname(person) -> str:
    return _plain(" ".join(person.prelast_names + person.last_names))


def author_year_label(entry) -> str:
    """The label of one entry as the text cites it: "Patel, 2025", "Patel and Jang, 2026", "Kaplan et al., 2020"."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in persons]
    if not names:
        who = _plain(entry.fields.get("organization", entry.key))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


def _label_style():
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabelStyle(BaseLabelStyle):
        """Author-year labels; equal labels get a, b, ... after the year in list order."""

        def format_labels(self, sorted_entries):
            labels = [author_year_label(e) for e in sorted_entries]
            repeated = {label for label, n in Counter(labels).items() if n > 1}
            seen: Counter = Counter()
            for label in labels:
                if label in repeated:
                    seen[label] += 1
                    yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
                else:
                    yield label

    return AuthorYearLabelStyle


def _sorting_style():
    from pybtex.style.sorting.author_year_title import SortingStyle

    class AuthorYearSortingStyle(SortingStyle):
        """pybtex's author-year-title order, on names without their TeX braces ("{OpenAI}" sorts under O)."""

        def person_key(self, person):
            return _plain(super().person_key(person))

    return AuthorYearSortingStyle


def _formatting_style():
    from pybtex.database import Entry
    from pybtex.style.formatting.unsrt import Style as UnsrtStyle

    class AuthorYearStyle(UnsrtStyle):
        """pybtex's unsrt entries with author-year labels, sorted by author, year and title."""

        default_label_style = STYLE_NAME
        default_sorting_style = STYLE_NAME

        def format_entry(self, label, entry, bib_data=None):
            eprint = entry.fields.get("eprint", "")
            journal = entry.fields.get("journal", "")
            if eprint and eprint in journal:  # "arXiv preprint arXiv:ID" + a linked "arXiv:ID" would say it twice
                fields = dict(entry.fields)
                fields["journal"] = journal.replace(f"arXiv:{eprint}", "").strip() or "arXiv preprint"
                copy = Entry(entry.type, fields=fields, persons=entry.persons)
                copy.key = entry.key
                entry = copy
            return super().format_entry(label, entry, bib_data=bib_data)

    return AuthorYearStyle


def register_bibliography_style() -> None:
    """Register ``rlbits_author_year`` with pybtex (formatting, label and sorting styles)."""
    from pybtex.plugin import register_plugin

    register_plugin("pybtex.style.labels", STYLE_NAME, _label_style(), force=True)
    register_plugin("pybtex.style.sorting", STYLE_NAME, _sorting_style(), force=True)
    register_plugin("pybtex.style.formatting", STYLE_NAME, _formatting_style(), force=True)


# ---------------------------------------------------------------------------------------------------------------
# Numbers as a reader reads them (issue 16, item 3)
# ---------------------------------------------------------------------------------------------------------------

def _verbatim_types():
    """Nodes whose text is code, math or markup, never prose: their numbers stay as written."""
    from docutils import nodes

    return (nodes.FixedTextElement, nodes.literal, nodes.math, nodes.raw, nodes.comment, nodes.target,
            nodes.system_message)


_INLINE_MATH = re.compile(r"(?<![\\$])\$(?=\S)([^$]+?)(?<=[^\s\\])\$(?!\$)")


def _is_verbatim(node, kinds) -> bool:
    from docutils import nodes

    parent = node.parent
    while parent is not None:
        if isinstance(parent, kinds):
            return True
        if isinstance(parent, nodes.reference) and "://" in parent.get("refuri", ""):
            return True  # an address shown as the link's text
        parent = parent.parent
    return False


def readable_numbers(document) -> int:
    """Rewrite ``document`` in place (see the module docstring, *Numbers*); returns the number of nodes changed.

    * a glued value (``inline.pasted-text``) that is ``True``/``False`` becomes "yes"/"no";
    * ``$...$`` in a glued value becomes inline math;
    * every text outside code and math has its e-notation numbers rewritten by :func:`rlbits.numbers.rewrite`.
    """
    from docutils import nodes

    from rlbits.numbers import rewrite, words

    changed = 0
    for inline in list(document.findall(nodes.inline)):
        if "pasted-text" not in inline.get("classes", []) or len(inline.children) != 1 or \
                not isinstance(inline.children[0], nodes.Text):
            continue
        text = inline.astext()
        if text in ("True", "False"):
            inline.children[0].parent.replace(inline.children[0], nodes.Text(words(text == "True")))
            changed += 1
        elif "$" in text and _INLINE_MATH.search(text):
            parts, last = [], 0
            for m in _INLINE_MATH.finditer(text):
                if m.start() > last:
                    parts.append(nodes.Text(text[last:m.start()]))
                parts.append(nodes.math(m.group(1), m.group(1)))
                last = m.end()
            if last < len(text):
                parts.append(nodes.Text(text[last:]))
            inline.children = []
            inline.extend(parts)
            changed += 1
    kinds = _verbatim_types()
    for node in list(document.findall(nodes.Text)):
        new = rewrite(str(node))
        if new != str(node) and not _is_verbatim(node, kinds):
            node.parent.replace(node, nodes.Text(new))
            changed += 1
    return changed


#: "chapter 5", "Chapter 10's", "chapters 8 and 9", "chapters 1, 2 and 5", "chapters 6-7"
_MENTION = re.compile(r"\b([Cc]hapters?)(\s+)(\d+)((?:\s*(?:,|and|or|-|\u2013)\s*\d+)*)")


def link_chapter_mentions(document, docname: str, chapters: dict[int, str], uri) -> int:
    """Make every plain-text mention of another chapter a link to it, wherever the text came from (prose, a glued
    sentence, a verdict's note, a docstring in the API appendix); returns the number of mentions linked.

    ``chapters`` maps a chapter's number to its document; ``uri(target_doc)`` gives the link from ``docname``. A
    chapter's mention of itself, and text in code, math, headings, signatures and existing links, stay as they are."""
    from docutils import nodes

    own = re.match(r"(\d+)_", docname.rsplit("/", 1)[-1])
    own = int(own.group(1)) if own else None
    kinds = _verbatim_types() + (nodes.title, nodes.subtitle, nodes.rubric, nodes.reference)
    # "chapter" + soft line break + "10": one text. By position: Text nodes are strings and compare equal by value
    # (every soft line break is "\n"), so docutils' replace/remove/index, which search by equality, would pick the
    # first equal node and move words across the paragraph.
    for element in list(document.findall(nodes.Element)):
        for i in range(len(element.children) - 1, 0, -1):
            a, b = element.children[i - 1], element.children[i]
            if isinstance(a, nodes.Text) and isinstance(b, nodes.Text):
                element[i - 1] = nodes.Text(str(a) + str(b))
                del element[i]
    changed = 0
    for text in list(document.findall(nodes.Text)):
        value = str(text)
        if "hapter" not in value or text.parent is None or _is_verbatim(text, kinds) or \
                any(p.__class__.__name__ in ("desc_signature", "pending_xref") for p in _ancestors(text)):
            continue
        parts, last = [], 0
        for m in _MENTION.finditer(value):
            numbers = [int(n) for n in re.findall(r"\d+", m.group(3) + m.group(4))]
            if not all(n in chapters for n in numbers) or numbers == [own]:
                continue
            parts.append(nodes.Text(value[last:m.start()]))
            if len(numbers) == 1:
                parts.append(nodes.reference("", m.group(0), internal=True, refuri=uri(chapters[numbers[0]])))
            else:  # "chapters 8 and 9": each number links to its chapter
                parts.append(nodes.Text(m.group(1) + m.group(2)))
                for piece in re.split(r"(\d+)", m.group(3) + m.group(4)):
                    if piece.isdigit() and int(piece) != own:
                        parts.append(nodes.reference("", piece, internal=True, refuri=uri(chapters[int(piece)])))
                    elif piece:
                        parts.append(nodes.Text(piece))
            last = m.end()
            changed += 1
        if parts:
            parts.append(nodes.Text(value[last:]))
            parent = text.parent
            index = next(k for k, child in enumerate(parent.children) if child is text)  # by identity, as above
            del parent[index]
            for offset, node in enumerate(p for p in parts if not isinstance(p, nodes.Text) or str(p)):
                parent.insert(index + offset, node)
    return changed


def _ancestors(node):
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _transforms():
    from sphinx.transforms import SphinxTransform
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class ReadableNumbers(SphinxTransform):
        """At read time (so glued math counts as the page's math): :func:`readable_numbers`."""

        default_priority = 800

        def apply(self, **kwargs):
            readable_numbers(self.document)

    class ReadableNumbersLate(SphinxPostTransform):
        """Again after glue references to other pages are resolved (myst-nb's post-transform, priority 5)."""

        default_priority = 900

        def apply(self, **kwargs):
            readable_numbers(self.document)

    class ChapterLinks(SphinxPostTransform):
        """Every plain-text "chapter N" becomes a link to that chapter (:func:`link_chapter_mentions`), after the
        glued sentences are in place."""

        default_priority = 950
        formats = ("html",)

        def apply(self, **kwargs):
            chapters = {}
            for doc in self.env.found_docs:
                m = re.match(r"chapters/(\d+)_", doc)
                if m:
                    chapters[int(m.group(1))] = doc
            docname = self.env.docname
            link_chapter_mentions(self.document, docname, chapters,
                                  lambda target: self.app.builder.get_relative_uri(docname, target))

    return ReadableNumbers, ReadableNumbersLate, ChapterLinks


# ---------------------------------------------------------------------------------------------------------------
# The argument at a glance (landing page; issue 16, item 9)
# ---------------------------------------------------------------------------------------------------------------

#: The ledger document; when a (partial) render leaves it out, the landing page says so instead of failing.
LEDGER_DOC = "chapters/backmatter/claims_ledger"
_VERDICT_ORDER = ("holds", "holds with a caveat", "depends on the definition", "does not hold",
                  "discussed, not testable")
#: each verdict as the verb of a sentence counting claims: (one claim, several claims)
_VERDICT_VERBS = {"holds": ("holds", "hold"), "holds with a caveat": ("holds with a caveat", "hold with a caveat"),
                  "depends on the definition": ("depends on the definition", "depend on the definition"),
                  "does not hold": ("does not hold", "do not hold"),
                  "discussed, not testable": ("is discussed but not testable", "are discussed but not testable")}


def ledger_json_path(app) -> Path:
    """Where this build's claims ledger is: ``rlbits_ledger_json`` if set, else ``<build>/results/ledger.json``
    (the book is rendered from ``<build>/src``)."""
    configured = getattr(app.config, "rlbits_ledger_json", "")
    return Path(configured) if configured else Path(app.srcdir).parent / "results" / "ledger.json"


def _chapter_number(stem: str) -> str:
    head = stem.split("_", 1)[0]
    return str(int(head)) if head.isdigit() else stem


def glance_markdown(ledger: dict, docs=None) -> str:
    """MyST for the landing page: a sentence counting the verdicts and a table with one row per claim (its verdict,
    the number that decided it, a link to the chapter's verdicts). ``ledger`` is ``ledger.json``
    (:func:`rlbits.ledger.write_json`); ``docs`` the documents in the book (links to others become plain text)."""
    from collections import Counter

    from rlbits.numbers import number

    ids = sorted(ledger, key=lambda cid: (len(cid), cid))
    counts = Counter(ledger[cid].get("verdict") or "no verdict recorded" for cid in ids)
    said = [f"{number(counts[v])} {_VERDICT_VERBS[v][counts[v] != 1]}" for v in _VERDICT_ORDER if counts.get(v)]
    if counts.get("no verdict recorded"):
        n = counts["no verdict recorded"]
        said.append(f"{number(n)} {'has' if n == 1 else 'have'} no verdict yet")
    listed = ", ".join(said[:-1]) + (", and " if len(said) > 2 else " and ") + said[-1] if len(said) > 1 else said[0]
    lines = [f"Of the {number(len(ids))} claims, {listed}.", "",
             "```{list-table} Each claim, its verdict in the default run of every chapter, and the recorded number "
             "that decided it (the claims ledger has the rules and the notes).",
             ":header-rows: 1", ":class: rlbits-cards rlbits-glance", ":name: tab-intro-glance", "",
             "* - Claim", "  - Verdict", "  - Deciding number", "  - Where"]
    for cid in ids:
        e = ledger[cid]
        verdict = f"**{e['verdict']}**" if e.get("verdict") else "*no verdict recorded*"
        if e.get("quantity") and e.get("label"):
            evidence = f"{e['label']}: {e.get('value_text', '')}"
        elif e.get("quantity"):
            evidence = e.get("value_text", "")
        else:
            evidence = "(a value judgement or a history, not a measurement)"
        stem, label = e.get("chapter", ""), e.get("verdicts_label") or ""
        shown = f"Ch. {_chapter_number(stem)}"
        doc = f"chapters/{stem}"
        if docs is not None and doc not in docs:
            where = shown
        elif label:
            where = f"{{ref}}`{shown} <{label}>`"
        else:
            where = f"{{doc}}`{shown} </{doc}>`"
        lines += [f"* - **{cid}** {e.get('claim', '')}", f"  - {verdict}", f"  - {evidence}", f"  - {where}"]
    lines.append("```")
    return "\n".join(lines)


def _glance_directive():
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util import logging
    from sphinx.util.docutils import SphinxDirective

    logger = logging.getLogger(__name__)

    class GlanceDirective(SphinxDirective):
        """``{rlbits-glance}``: the argument at a glance, from this build's ``ledger.json`` (see
        :func:`glance_markdown`). The pipeline renders only after the back matter executed, and a change in the
        ledger changes the staged ledger page too, so a render is never skipped with a stale table."""

        has_content = False

        def run(self):
            path = ledger_json_path(self.env.app)
            self.env.note_dependency(str(path))
            if not path.exists():
                if LEDGER_DOC in self.env.found_docs:
                    logger.warning(f"rlbits-glance: no claims ledger at {path}: execute "
                                   f"{LEDGER_DOC}.md before rendering", location=self.get_location())
                para = nodes.paragraph(text="The claims ledger was not executed in this build, so the verdicts "
                                            "are not shown here.")
                return [para]
            ledger = json.loads(path.read_text())
            text = glance_markdown(ledger, docs=set(self.env.found_docs))
            box = nodes.container(classes=["rlbits-glance-box"])
            self.state.nested_parse(StringList(text.splitlines(), source=str(path)), self.content_offset, box)
            return [box]

    return GlanceDirective


# ---------------------------------------------------------------------------------------------------------------
# Header buttons: downloads shipped once, edit links to the MyST file
# ---------------------------------------------------------------------------------------------------------------

def _downloads(app, doctree) -> dict[str, str]:
    """The page's ``{download}`` files by suffix: {'.ipynb': '_downloads/<hash>/x.ipynb', '.md': ...}."""
    from sphinx import addnodes

    found = {}
    if doctree is None:
        return found
    for node in doctree.findall(addnodes.download_reference):
        filename = node.get("filename")
        if filename:
            found.setdefault(Path(filename).suffix, f"_downloads/{filename}")
    return found


def fix_header_buttons(app, pagename, templatename, context, doctree):
    """Point the download menu at the page's own downloads and the edit button at the repository's MyST file."""
    buttons = context.get("header_buttons")
    if not isinstance(buttons, list):
        return
    pathto = context["pathto"]
    files = _downloads(app, doctree)
    for group in buttons:
        if group.get("label") == "download-buttons":
            kept = [b for b in group["buttons"] if b.get("label") == "download-pdf-button"]
            links = []
            for suffix, tooltip, icon in ((".ipynb", "Download the executed notebook", "fas fa-code"),
                                          (".md", "Download the MyST source", "fas fa-file")):
                if suffix in files:
                    links.append({"type": "link", "url": pathto(files[suffix], 1), "text": suffix,
                                  "tooltip": tooltip, "icon": icon, "label": f"download{suffix.replace('.', '-')}"
                                  "-button"})
            group["buttons"] = links + kept
        for button in group.get("buttons", [group]):
            if button.get("label") == "source-edit-button" and ".ipynb" in files:
                # rendered from the executed notebook; the repository holds the MyST file
                button["url"] = re.sub(r"\.ipynb$", ".md", button["url"])


# ---------------------------------------------------------------------------------------------------------------
# After the build: figure widths, MathJax pruning, site size
# ---------------------------------------------------------------------------------------------------------------

#: What the pages load from _static/mathjax: the components ``_config.yml`` lists (``mathjax_path`` and
#: ``mathjax3_config.loader.load``), the core they need, the CHTML fonts (each page fetches the woff files its math
#: uses) and the TeX extensions (``autoload`` fetches one on its first use).
MATHJAX_KEEP = ("startup.js", "core.js", "input/tex-base.js", "input/tex/extensions", "output/chtml.js",
                "output/chtml/fonts/tex.js", "output/chtml/fonts/woff-v2", "a11y/assistive-mml.js")

_IMG = re.compile(r"<img\b[^>]*?\bsrc=\"([^\"]+\.svg)\"[^>]*>")


def set_figure_min_widths(outdir: Path) -> int:
    """Give every SVG figure (``<img>`` of ``_images/``) of every page a ``min-width``, its intrinsic width and height
    (so the layout does not jump while it loads) and a box that scrolls sideways (``rlbits-figure-scroll``).
    Returns the number of images changed."""
    from rlbits.plotting import PX_PER_PT, min_display_width_px, svg_text_geometry

    cache: dict[Path, tuple] = {}
    changed = 0
    for page in outdir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")

        def fix(m):
            nonlocal changed
            tag, src = m.group(0), m.group(1)
            if "min-width" in tag or "://" in src or "/_images/" not in f"/{src}":
                return tag
            path = (page.parent / src).resolve()
            if path not in cache:
                try:
                    svg = path.read_text(encoding="utf-8")
                    width_pt, height_pt, _ = svg_text_geometry(svg)
                    cache[path] = (width_pt * PX_PER_PT, height_pt * PX_PER_PT, min_display_width_px(svg))
                except (OSError, ValueError):
                    cache[path] = None
            if cache[path] is None:
                return tag
            width, height, min_width = cache[path]
            body = tag[:-1].rstrip("/").rstrip()
            if " width=" not in body and " height=" not in body:
                body += f' width="{width:.0f}" height="{height:.0f}"'
            if min_width:
                rule = f"min-width: {min_width:.0f}px;"
                if ' style="' in body:  # a width set by the chapter (glue:figure :width:) keeps its style
                    body = body.replace(' style="', f' style="{rule} ', 1)
                else:
                    body += f' style="{rule}"'
            changed += 1
            return f'<div class="rlbits-figure-scroll">{body} /></div>'

        new = _IMG.sub(fix, html)
        if new != html:
            page.write_text(new, encoding="utf-8")
    return changed


_NUMBER = re.compile(r"-?\d+\.\d+")
_GEOMETRY = re.compile(r'(\s(?:d|x|y|points)=")([^"]*)(")')
_INDENT = re.compile(r">\s*\n\s*<")
_USE_RUN = re.compile(r'<use xlink:href="#(\w+)" x="[^"]*" y="[^"]*" style="([^"]*)"/>'
                      r'(?:<use xlink:href="#\1" x="[^"]*" y="[^"]*" style="\2"/>){2,}')
_USE_STYLE = re.compile(r' style="[^"]*"/>')


def _two_decimals(m) -> str:
    text = f"{float(m.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def compact_svg(svg: str) -> str:
    """A matplotlib SVG drawn the same, in fewer bytes: coordinates of paths and marker positions to 0.01 pt (a
    hundredth of a pixel at 1x), no indentation between tags, and each run of markers sharing one style written
    once on a group around them instead of on every marker (a scatter of 2,000 points carried 2,000 copies). The
    ``<svg>`` element, text transforms (whose ``scale(s -s)`` gives the text size) and ids are left alone."""
    svg = _GEOMETRY.sub(lambda m: m.group(1) + " ".join(_NUMBER.sub(_two_decimals, m.group(2)).split()) + m.group(3),
                        svg)
    svg = _INDENT.sub("><", svg)
    return _USE_RUN.sub(lambda m: f'<g style="{m.group(2)}">' + _USE_STYLE.sub("/>", m.group(0)) + "</g>", svg)


def compact_figures(outdir: Path) -> int:
    """Rewrite every SVG figure in ``_images`` with :func:`compact_svg`; returns the bytes saved."""
    saved = 0
    for path in (outdir / "_images").glob("*.svg"):
        svg = path.read_text(encoding="utf-8")
        new = compact_svg(svg)
        if new != svg:
            saved += len(svg.encode()) - len(new.encode())
            path.write_text(new, encoding="utf-8")
    return saved


def mathjax_distribution() -> Path:
    """The MathJax 3 distribution that the pinned ``sphinx-mathjax-offline`` package ships (its ``static/mathjax``)."""
    import importlib.util

    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.origin:
        raise RuntimeError("sphinx-mathjax-offline is not installed (requirements.txt pins it): no offline MathJax")
    return Path(spec.origin).parent / "static" / "mathjax"


def copy_mathjax(outdir: Path, source: Path | None = None) -> int:
    """Copy the MathJax files the pages load (``MATHJAX_KEEP``) into ``_static/mathjax``; returns bytes copied.

    The book lists this extension instead of ``sphinx-mathjax-offline`` in ``_config.yml``: that one copies the whole
    24 MB distribution and sets ``mathjax_path`` to the combined ``tex-chtml.js`` over the book's own setting."""
    source = source or mathjax_distribution()
    root = outdir / "_static" / "mathjax"
    copied = 0
    for rel in MATHJAX_KEEP:
        src = source / rel
        if not src.exists():
            raise FileNotFoundError(f"MathJax component {rel} missing from {source}")
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for f in files:
            target = root / f.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
            copied += f.stat().st_size
    return copied


def prune_mathjax(outdir: Path) -> int:
    """Delete the MathJax files no page loads; returns the bytes removed."""
    root = outdir / "_static" / "mathjax"
    if not (root / MATHJAX_KEEP[0]).exists():
        return 0
    keep = [root / k for k in MATHJAX_KEEP]
    removed = 0
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and not any(path == k or k in path.parents for k in keep):
            removed += path.stat().st_size
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed


#: Theme files no page needs: source maps (read only by a browser's developer tools), the theme's translation
#: catalogues (used when Sphinx builds, not by pages), and Font Awesome's 1.5 MB JavaScript bundle, which redraws the
#: icons as inline SVG although the theme's stylesheet already draws them with the Font Awesome web fonts.
FONTAWESOME_JS = "_static/scripts/fontawesome.js"
_FONTAWESOME_TAG = re.compile(r'<script\b[^>]*\bsrc="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*>\s*</script>\s*')


def _tag(pattern: str) -> re.Pattern:
    """A <script src> or <link href> tag whose URL's file name matches ``pattern``, with the whitespace after it."""
    return re.compile(r'<(?:script|link)\b[^>]*\b(?:src|href)="[^"]*\b' + pattern
                      + r'(?:\?[^"]*)?"[^>]*>(?:\s*</script>)?\s*')


#: Scripts a page loads only for a feature it does not use. The theme loads Sphinx's search (its 20 KB code and
#: the whole search index, which grows with the book) on every page for a search-as-you-type box that this book
#: does not enable (``search_as_you_type`` is off): the search box sends the reader to ``search.html``, which loads
#: them itself. sphinx-design's styles and tab script serve only pages with its components (``sd-`` classes), and
#: sphinx-thebe's only pages with a live-code launch button (launch buttons are off).
_SEARCH_TAGS = _tag(r"(?:searchtools\.js|language_data\.js|searchindex\.js)")
_OPTIONAL = ((_tag(r"(?:sphinx-design\.min\.css|design-tabs\.js)"), re.compile(r'class="[^"]*\bsd-')),
             (_tag(r"sphinx-thebe\.(?:css|js)"), re.compile(r"thebe-launch|\bthebelab|class=\"[^\"]*\bthebe\b")))
OPTIONAL_FILES = ("_static/sphinx-design.min.css", "_static/design-tabs.js", "_static/sphinx-thebe.css",
                  "_static/sphinx-thebe.js")


def page_without_unused_tags(html: str, is_search_page: bool) -> str:
    """The page without the tags that load what it does not use (see ``_SEARCH_TAGS`` and ``_OPTIONAL``)."""
    html = _FONTAWESOME_TAG.sub("", html)
    if not is_search_page:
        html = _SEARCH_TAGS.sub("", html)
    for tags, used in _OPTIONAL:
        if not used.search(_tag(r"[\w.-]+").sub("", html)):
            html = tags.sub("", html)
    return html


def prune_theme(outdir: Path) -> int:
    """Delete the theme files no page needs, and the tags that load scripts and styles a page does not use; returns
    bytes removed."""
    removed = 0
    pages = list(outdir.rglob("*.html"))
    for page in pages:
        html = page.read_text(encoding="utf-8")
        new = page_without_unused_tags(html, page == outdir / "search.html")
        if new != html:
            page.write_text(new, encoding="utf-8")
    loaded = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    for rel in OPTIONAL_FILES:
        path = outdir / rel
        if path.is_file() and Path(rel).name not in loaded:
            removed += path.stat().st_size
            path.unlink()
    doomed = [p for p in (outdir / "_static").rglob("*.map") if p.is_file()]
    doomed += [outdir / FONTAWESOME_JS, *[p for p in (outdir / "_static" / "locales").rglob("*") if p.is_file()]]
    for path in doomed:
        if path.is_file():
            removed += path.stat().st_size
            path.unlink()
    shutil.rmtree(outdir / "_static" / "locales", ignore_errors=True)
    return removed


#: The theme's icons (Font Awesome 6): its stylesheet maps every one of Font Awesome's ~1,900 icon classes to a
#: glyph, and its fonts carry every glyph (0.3 MB as woff2, 0.7 MB more as ttf). The pages use about twenty.
FONTAWESOME_FONTS = "_static/vendor/fontawesome/webfonts"
_ICON_RULE = re.compile(r'(?<=[}\s])((?:\.fa-[\w-]+:{1,2}before,)*\.fa-[\w-]+:{1,2}before)\{content:"[^"]*"\}')
_ICON_CLASS = re.compile(r"\bfa-[a-z0-9-]+")
_ESCAPED_GLYPH = re.compile(r"\\([0-9a-fA-F]{4,6})")
_FONT_SRC = re.compile(r"src:url\(([^)]*?/webfonts/)(fa-[\w-]+)\.woff2\)\s*format\(\"woff2\"\)"
                       r"(?:,\s*url\([^)]*?\.ttf\)\s*format\(\"truetype\"\))?")


def _glyphs(css: str) -> set[int]:
    """Code points of the icon glyphs a stylesheet draws: ``content:"\\f104"`` escapes and literal private-use
    characters (the theme's ``--pst-icon-*`` variables)."""
    points = {int(h, 16) for h in _ESCAPED_GLYPH.findall(css)}
    points |= {ord(c) for c in css if 0xE000 <= ord(c) <= 0xF8FF}
    return {p for p in points if 0xE000 <= p <= 0xF8FF}


def prune_icons(outdir: Path) -> int:
    """Keep only the icons some page or script uses: drop the stylesheet rules of the icon classes (``.fa-NAME``)
    that no HTML or JavaScript file names, subset the Font Awesome fonts to the glyphs the remaining stylesheets draw
    (as woff, which fontTools writes without brotli), point the stylesheet's ``@font-face`` at them, and delete the
    full fonts. Returns the bytes removed."""
    fonts = outdir / FONTAWESOME_FONTS
    sheets = [p for p in (outdir / "_static").rglob("*.css") if p.is_file()]
    if not fonts.is_dir() or not any(fonts.glob("*.ttf")):
        return 0
    texts = [p.read_text(encoding="utf-8", errors="ignore")
             for p in [*outdir.rglob("*.html"), *outdir.rglob("*.js")] if p.is_file()]
    used = {m for text in texts for m in _ICON_CLASS.findall(text)}
    removed = 0
    for sheet in sheets:
        css = sheet.read_text(encoding="utf-8")

        def keep(m):
            names = {sel.split(":")[0].lstrip(".") for sel in m.group(1).split(",")}
            return m.group(0) if names & used else ""

        new = _ICON_RULE.sub(keep, css)
        new = _FONT_SRC.sub(lambda m: f'src:url({m.group(1)}{m.group(2)}.woff) format("woff")', new)
        if new != css:
            removed += len(css.encode()) - len(new.encode())
            sheet.write_text(new, encoding="utf-8")
    glyphs = set().union(*(_glyphs(p.read_text(encoding="utf-8")) for p in sheets))
    from fontTools import subset
    from fontTools.ttLib import TTFont

    for ttf in sorted(fonts.glob("*.ttf")):
        font = TTFont(ttf)
        options = subset.Options()
        options.flavor = "woff"
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(glyphs & set(font.getBestCmap())))
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(ttf.with_suffix(".woff"))
        removed -= ttf.with_suffix(".woff").stat().st_size
        for full in (ttf, ttf.with_suffix(".woff2")):
            if full.exists():
                removed += full.stat().st_size
                full.unlink()
    return removed


def site_size(outdir: Path) -> dict:
    """Bytes of the whole site and of its largest parts."""
    def size(p: Path) -> int:
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else (
            p.stat().st_size if p.exists() else 0)

    parts = {name: size(outdir / name) for name in ("_static", "_static/mathjax", "_images", "_downloads",
                                                    "_sources", "chapters")}
    return {"total_bytes": size(outdir), "parts_bytes": parts}


def finish(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    set_figure_min_widths(outdir)
    compact_figures(outdir)
    copy_mathjax(outdir)
    prune_mathjax(outdir)  # in case sphinx-mathjax-offline copied the whole distribution too
    prune_theme(outdir)
    prune_icons(outdir)
    report = site_size(outdir)
    (outdir.parent / "site_size.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")


def setup(app):
    register_bibliography_style()
    app.add_config_value("rlbits_ledger_json", "", "env")
    app.add_directive("rlbits-glance", _glance_directive())
    early, late, links = _transforms()
    app.add_transform(early)
    app.add_post_transform(late)
    app.add_post_transform(links)
    app.connect("html-page-context", fix_header_buttons, priority=600)  # after the theme builds its buttons
    app.connect("build-finished", finish, priority=900)  # after sphinx-mathjax-offline copies MathJax
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


__all__ = ["readable_numbers", "link_chapter_mentions", "glance_markdown", "ledger_json_path", "author_year_label", "register_bibliography_style",
           "set_figure_min_widths", "copy_mathjax", "prune_mathjax", "prune_theme", "page_without_unused_tags",
           "prune_icons", "compact_svg", "compact_figures", "site_size"]
