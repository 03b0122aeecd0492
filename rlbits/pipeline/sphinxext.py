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
* **Weight**: MathJax (copied whole by ``sphinx-mathjax-offline``) is pruned to what the pages load: ``tex-chtml.js``,
  the CHTML fonts, and the TeX extensions that ``tex-chtml.js`` may load on demand. Theme files no page loads are
  deleted too (source maps, translation catalogues, and Font Awesome's JavaScript, whose icons the theme's stylesheet
  already draws with web fonts). The site's size is written to ``_build/site_size.json`` next to the HTML.
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

    return ReadableNumbers, ReadableNumbersLate


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

#: What the pages load from _static/mathjax (tex-chtml.js is MathJax's combined TeX-to-CHTML component; it fetches
#: its woff fonts and, on demand, TeX extensions it autoloads).
MATHJAX_KEEP = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")

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


def prune_mathjax(outdir: Path) -> int:
    """Delete the MathJax files no page loads; returns the bytes removed."""
    root = outdir / "_static" / "mathjax"
    if not (root / "tex-chtml.js").exists():
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


def prune_theme(outdir: Path) -> int:
    """Delete the theme files no page needs (and the pages' tag loading Font Awesome's script); returns bytes
    removed."""
    removed = 0
    for page in outdir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        new = _FONTAWESOME_TAG.sub("", html)
        if new != html:
            page.write_text(new, encoding="utf-8")
    doomed = [p for p in (outdir / "_static").rglob("*.map") if p.is_file()]
    doomed += [outdir / FONTAWESOME_JS, *[p for p in (outdir / "_static" / "locales").rglob("*") if p.is_file()]]
    for path in doomed:
        if path.is_file():
            removed += path.stat().st_size
            path.unlink()
    shutil.rmtree(outdir / "_static" / "locales", ignore_errors=True)
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
    prune_mathjax(outdir)
    prune_theme(outdir)
    report = site_size(outdir)
    (outdir.parent / "site_size.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")


def setup(app):
    register_bibliography_style()
    app.add_config_value("rlbits_ledger_json", "", "env")
    app.add_directive("rlbits-glance", _glance_directive())
    early, late = _transforms()
    app.add_transform(early)
    app.add_post_transform(late)
    app.connect("html-page-context", fix_header_buttons, priority=600)  # after the theme builds its buttons
    app.connect("build-finished", finish, priority=900)  # after sphinx-mathjax-offline copies MathJax
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


__all__ = ["readable_numbers", "glance_markdown", "ledger_json_path", "author_year_label", "register_bibliography_style", "set_figure_min_widths", "prune_mathjax", "prune_theme",
           "site_size"]
