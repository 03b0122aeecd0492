"""Unit tests of rlbits.pipeline.sphinxext: the author-year bibliography, figure widths, and pruning of the built site."""

from pathlib import Path

import pytest
from pybtex.database import Entry, Person, parse_file

from rlbits.pipeline import sphinxext
from rlbits.plotting import MIN_TEXT_PX

ROOT = Path(__file__).resolve().parent.parent


def _entry(key, authors, year, **fields):
    e = Entry("article", fields={"year": str(year), "title": key, **fields},
              persons={"author": [Person(a) for a in authors]})
    e.key = key
    return e


def _style():
    from pybtex.plugin import find_plugin

    sphinxext.register_bibliography_style()
    return find_plugin("pybtex.style.formatting", sphinxext.STYLE_NAME)()


def test_labels_are_how_the_text_cites():
    assert sphinxext.author_year_label(_entry("a", ["Patel, Dwarkesh"], 2025)) == "Patel, 2025"
    assert sphinxext.author_year_label(_entry("b", ["Patel, D.", "Jang, Eric"], 2026)) == "Patel and Jang, 2026"
    assert sphinxext.author_year_label(_entry("c", ["Kaplan, J.", "B, C.", "D, E."], 2020)) == "Kaplan et al., 2020"
    assert sphinxext.author_year_label(_entry("d", ["{OpenAI}"], 2023)) == "OpenAI, 2023"
    assert sphinxext.author_year_label(_entry("e", ["R{\\'e}, Christopher"], 2024)) == "Ré, 2024"


def test_equal_labels_get_letters_and_the_list_sorts_by_author_without_braces():
    style = _style()
    entries = [_entry("z", ["Zeta, A."], 2001), _entry("o", ["{OpenAI}"], 2023),
               _entry("s2", ["Silver, D.", "X, Y.", "Z, W."], 2016, title="b"),
               _entry("s1", ["Silver, D.", "X, Y.", "Z, W."], 2016, title="a")]
    ordered = style.sort(entries)
    assert [e.key for e in ordered] == ["o", "s1", "s2", "z"]
    assert list(style.format_labels(ordered)) == ["OpenAI, 2023", "Silver et al., 2016a", "Silver et al., 2016b",
                                                  "Zeta, 2001"]


def test_arxiv_articles_show_their_id_once_and_linked():
    style = _style()
    entry = _entry("k", ["Kaplan, J."], 2020, journal="arXiv preprint arXiv:2001.08361", eprint="2001.08361")
    html = style.format_entry("Kaplan, 2020", entry).text.render_as("html")
    assert html.count("2001.08361") == 2  # the link's address and its text
    assert 'href="https://arxiv.org/abs/2001.08361"' in html


def test_every_reference_has_a_link():
    bib = parse_file(ROOT / "data" / "references.bib")
    unlinked = [k for k, e in bib.entries.items() if not ({"url", "doi", "eprint"} & {f.lower() for f in e.fields})]
    assert not unlinked, unlinked
    for key, e in bib.entries.items():
        if "arXiv" in e.fields.get("journal", ""):
            assert e.fields.get("eprint"), f"{key}: an arXiv paper needs its eprint id"


def _svg(width_pt, text_pt):
    s = text_pt / 100
    return (f'<svg width="{width_pt}pt" height="100pt" viewBox="0 0 {width_pt} 100" '
            f'xmlns="http://www.w3.org/2000/svg"><g transform="translate(0 0) scale({s} -{s})"></g></svg>')


def test_figures_get_a_min_width_and_a_scroll_box(tmp_path):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "f.svg").write_text(_svg(600, 9.5))
    (tmp_path / "chapters").mkdir()
    page = tmp_path / "chapters" / "c.html"
    page.write_text('<figure><img alt="a" src="../_images/f.svg" /></figure>'
                    '<img src="../_images/g.png" /><img src="https://example.org/x.svg" />')
    assert sphinxext.set_figure_min_widths(tmp_path) == 1
    html = page.read_text()
    expected = 600 * 4 / 3 * MIN_TEXT_PX / (9.5 * 4 / 3)  # the width at which 9.5 pt shows as 9 px
    assert f"min-width: {expected:.0f}px" in html
    assert '<div class="rlbits-figure-scroll"><img alt="a" src="../_images/f.svg" width="800" height="133"' in html
    assert '<img src="../_images/g.png" />' in html and 'src="https://example.org/x.svg" />' in html
    assert sphinxext.set_figure_min_widths(tmp_path) == 0  # idempotent


def test_pruning_keeps_what_pages_load(tmp_path):
    mj = tmp_path / "_static" / "mathjax"
    keep = ["startup.js", "core.js", "output/chtml.js", "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
            "input/tex/extensions/cancel.js", "a11y/assistive-mml.js"]
    drop = ["tex-chtml.js", "tex-svg.js", "sre/mathmaps/en.json", "a11y/explorer.js", "output/svg.js"]
    for rel in keep + drop:
        (mj / rel).parent.mkdir(parents=True, exist_ok=True)
        (mj / rel).write_text("x" * 10)
    scripts = tmp_path / "_static" / "scripts"
    scripts.mkdir()
    (scripts / "fontawesome.js").write_text("y" * 100)
    (scripts / "theme.js").write_text("z")
    (scripts / "theme.js.map").write_text("z" * 5)
    page = tmp_path / "p.html"
    page.write_text('<head><script defer src="_static/scripts/fontawesome.js?digest=1"></script>\n'
                    '<script src="_static/scripts/theme.js"></script></head>')
    assert sphinxext.prune_mathjax(tmp_path) == 10 * len(drop)
    assert all((mj / rel).exists() for rel in keep) and not any((mj / rel).exists() for rel in drop)
    assert not (mj / "sre").exists()
    assert sphinxext.prune_theme(tmp_path) == 105
    assert "fontawesome" not in page.read_text() and "theme.js" in page.read_text()
    assert (scripts / "theme.js").exists() and not (scripts / "fontawesome.js").exists()
    size = sphinxext.site_size(tmp_path)
    assert size["total_bytes"] == sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())


def test_only_the_mathjax_components_pages_load_are_copied(tmp_path):
    source = sphinxext.mathjax_distribution()
    assert (source / "tex-chtml.js").exists()  # the package ships the whole distribution
    copied = sphinxext.copy_mathjax(tmp_path)
    mj = tmp_path / "_static" / "mathjax"
    assert all((mj / rel).exists() for rel in sphinxext.MATHJAX_KEEP)
    assert not (mj / "tex-chtml.js").exists() and not (mj / "ui" / "menu.js").exists()
    assert copied == sum(f.stat().st_size for f in mj.rglob("*") if f.is_file()) < 3e6
    assert sphinxext.prune_mathjax(tmp_path) == 0


def test_pages_drop_the_scripts_they_do_not_use():
    head = ('<link rel="stylesheet" href="../_static/sphinx-design.min.css?v=1" />\n'
            '<script src="../_static/design-tabs.js?v=2"></script>\n'
            '<script async="async" src="../_static/sphinx-thebe.js?v=3"></script>\n'
            '<script src="../_static/searchtools.js"></script>\n<script src="../_static/language_data.js"></script>\n'
            '<script src="../searchindex.js"></script>\n<script src="../_static/doctools.js?v=4"></script>\n')
    page = sphinxext.page_without_unused_tags(head + "<p>text</p>", is_search_page=False)
    assert page == '<script src="../_static/doctools.js?v=4"></script>\n<p>text</p>'
    on_search = sphinxext.page_without_unused_tags(head, is_search_page=True)
    assert "searchindex.js" in on_search and "searchtools.js" in on_search and "design-tabs" not in on_search
    with_design = sphinxext.page_without_unused_tags(head + '<div class="sd-card sd-shadow">x</div>', False)
    assert "sphinx-design.min.css" in with_design and "design-tabs.js" in with_design
    assert "sphinx-thebe" not in with_design


def test_icons_keep_only_what_pages_use(tmp_path):
    import shutil

    from fontTools.ttLib import TTFont

    import pydata_sphinx_theme

    theme = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    fonts = tmp_path / sphinxext.FONTAWESOME_FONTS
    fonts.mkdir(parents=True)
    for f in (theme / "vendor" / "fontawesome" / "webfonts").glob("fa-solid-900.*"):
        shutil.copy(f, fonts / f.name)
    styles = tmp_path / "_static" / "styles"
    styles.mkdir()
    css = ('@font-face{font-family:Font Awesome\\ 6 Free;font-weight:900;src:url(../vendor/fontawesome/webfonts/'
           'fa-solid-900.woff2) format("woff2"),url(../vendor/fontawesome/webfonts/fa-solid-900.ttf) '
           'format("truetype")}'
           '.fa-bars:before,.fa-navicon:before{content:"\\f0c9"}.fa-sun:before{content:"\\f185"}'
           '.fa-moon:before{content:"\\f186"} :root{--pst-icon-angle-left:"\uf104"}.x{color:red}')
    (styles / "theme.css").write_text(css)
    (tmp_path / "p.html").write_text('<i class="fa-solid fa-bars"></i>')
    (tmp_path / "_static" / "t.js").write_text('el.className = "fa-solid fa-sun";')
    before = sum(f.stat().st_size for f in fonts.iterdir())
    removed = sphinxext.prune_icons(tmp_path)
    new = (styles / "theme.css").read_text()
    assert ".fa-bars:before,.fa-navicon:before" in new and ".fa-sun:before" in new and ".fa-moon" not in new
    assert "--pst-icon-angle-left" in new and ".x{color:red}" in new
    assert 'src:url(../vendor/fontawesome/webfonts/fa-solid-900.woff) format("woff")}' in new
    assert sorted(p.name for p in fonts.iterdir()) == ["fa-solid-900.woff"]
    glyphs = set(TTFont(fonts / "fa-solid-900.woff").getBestCmap())
    assert glyphs == {0xF0C9, 0xF185, 0xF104}
    assert removed == before - (fonts / "fa-solid-900.woff").stat().st_size + len(css.encode()) - len(new.encode())
    assert sphinxext.prune_icons(tmp_path) == 0  # nothing left to do


def test_compact_svg_draws_the_same_figure_in_fewer_bytes():
    import re

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from rlbits.plotting import figure_svg, setup_style, svg_text_geometry

    setup_style()
    fig, ax = plt.subplots()
    rng = np.random.default_rng(0)
    ax.plot(rng.random(300), rng.random(300), "o", label="a")
    ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** 2, label="b")
    ax.set_xlabel("samples")
    ax.legend()
    svg = figure_svg(fig)
    plt.close(fig)
    small = sphinxext.compact_svg(svg)
    assert len(small) < 0.8 * len(svg)
    assert sphinxext.compact_svg(small) == small
    assert svg_text_geometry(small) == svg_text_geometry(svg)
    assert re.search(r"<svg\b[^>]*>", small).group(0) == re.search(r"<svg\b[^>]*>", svg).group(0)
    numbers = [float(x) for x in re.findall(r'\s(?:x|y)="([-\d.]+)"', svg)]
    rounded = [float(x) for x in re.findall(r'\s(?:x|y)="([-\d.]+)"', small)]
    assert len(numbers) == len(rounded) and max(abs(a - b) for a, b in zip(numbers, rounded)) <= 0.005 + 1e-9
    # every marker keeps its style, from the group around its run
    assert small.count("<use ") == svg.count("<use ") and '<g style="' in small


def test_header_buttons_point_at_the_pages_downloads():
    from docutils import nodes
    from sphinx import addnodes

    doctree = nodes.document(None, None)
    for name in ("abc/ch.ipynb", "def/ch.md"):
        doctree += addnodes.download_reference("", "", filename=name)
    context = {
        "pathto": lambda target, resource=0: "../" + target,
        "header_buttons": [
            {"label": "download-buttons", "buttons": [{"label": "download-notebook-button", "url": "../_sources/x"},
                                                      {"label": "download-pdf-button", "url": ""}]},
            {"label": "source-buttons", "buttons": [{"label": "source-edit-button",
                                                     "url": "https://github.com/o/r/edit/main/chapters/ch.ipynb"}]},
        ],
    }
    sphinxext.fix_header_buttons(None, "chapters/ch", "page.html", context, doctree)
    downloads = context["header_buttons"][0]["buttons"]
    assert [b["url"] for b in downloads] == ["../_downloads/abc/ch.ipynb", "../_downloads/def/ch.md", ""]
    assert context["header_buttons"][1]["buttons"][0]["url"].endswith("/chapters/ch.md")


# ---------------------------------------------------------------------------------------------------------------
# Numbers as a reader reads them; the argument at a glance (issue 16, items 3 and 9)
# ---------------------------------------------------------------------------------------------------------------

def _doc(*children):
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    document = new_document("test", get_default_settings(Parser))
    document += nodes.paragraph("", "", *children)
    return document


def _pasted(text):
    from docutils import nodes

    return nodes.inline(text, text, classes=["pasted-text"])


def test_numbers_are_rewritten_in_prose_and_left_alone_in_code_and_math():
    from docutils import nodes

    from rlbits.numbers import TIMES

    doc = _doc(nodes.Text("the gap is "), _pasted("1.227e+09"), nodes.Text(" at p = 1e-05; quick mode: "),
               _pasted("False"), nodes.Text(", code "), nodes.literal("x = 1e-05", "x = 1e-05"),
               nodes.math("10^{-5} = 1e-5", "10^{-5} = 1e-5"), _pasted("a label of probability $1/V$ carries 16.61"),
               nodes.reference("https://x.org/1e5", "https://x.org/1e5", refuri="https://x.org/1e5"))
    assert sphinxext.readable_numbers(doc) >= 4
    text = doc.astext()
    assert f"the gap is 1.227{TIMES}10⁹ at p = 10⁻⁵; quick mode: no, code x = 1e-05" in text
    assert "10^{-5} = 1e-5" in text and "https://x.org/1e5" in text  # math and addresses as written
    maths = [m.astext() for m in doc.findall(nodes.math)]
    assert maths == ["10^{-5} = 1e-5", "1/V"]  # the glued sentence's $1/V$ became math
    assert "$" not in text
    assert sphinxext.readable_numbers(doc) == 0  # idempotent: a second pass changes nothing


def test_a_dollar_that_is_not_math_stays_text():
    doc = _doc(_pasted("costs $5 and $ 6"))
    sphinxext.readable_numbers(doc)
    assert doc.astext() == "costs $5 and $ 6"


def _ledger():
    return {"C02": {"verdict": "holds", "chapter": "05_x", "claim": "second", "quantity": "q2",
                    "label": "the $q$ of two", "value_text": "10⁶", "verdicts_label": "ch05-verdicts"},
            "C10": {"verdict": "discussed, not testable", "chapter": "13_y", "claim": "tenth", "quantity": None,
                    "label": "", "value_text": "", "verdicts_label": ""},
            "C01": {"verdict": "holds", "chapter": "01_z", "claim": "first", "quantity": "q1", "label": "",
                    "value_text": "3", "verdicts_label": ""}}


def test_glance_lists_every_claim_in_order_with_verdict_number_and_link():
    text = sphinxext.glance_markdown(_ledger())
    assert text.startswith("Of the 3 claims, 2 hold and 1 is discussed but not testable.")
    rows = [line for line in text.splitlines() if line.startswith("* - **C")]
    assert [r.split("**")[1] for r in rows] == ["C01", "C02", "C10"]
    assert "  - the $q$ of two: 10⁶" in text and "  - **holds**" in text and "  - 3" in text
    assert "{ref}`Ch. 5 <ch05-verdicts>`" in text and "{doc}`Ch. 1 </chapters/01_z>`" in text
    # a partial render without those chapters: plain text instead of broken links
    partial = sphinxext.glance_markdown(_ledger(), docs={"chapters/13_y"})
    assert "{ref}" not in partial and "  - Ch. 5" in partial and "{doc}`Ch. 13 </chapters/13_y>`" in partial


def test_glance_says_when_a_verdict_is_missing():
    ledger = _ledger()
    ledger["C02"]["verdict"] = None
    text = sphinxext.glance_markdown(ledger)
    assert "1 holds, 1 is discussed but not testable, and 1 has no verdict yet" in text
    assert "*no verdict recorded*" in text


def test_chapter_mentions_become_links_wherever_the_text_came_from():
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    doc = new_document("x", get_default_settings(Parser))
    para = nodes.paragraph("", "As chapter 5 shows, and Chapter 10's judges; see chapters 8 and 9, chapters 1-2, "
                               "this chapter 3, and chapter 99.")
    doc += para
    doc += nodes.title("", "Chapter 5")  # a heading stays text
    doc += nodes.paragraph("", "", nodes.literal("", "chapter 5"))  # so does code
    chapters = {n: f"chapters/{n:02d}_x" for n in (1, 2, 3, 5, 8, 9, 10)}
    count = sphinxext.link_chapter_mentions(doc, "chapters/03_x", chapters, lambda d: d.split("/")[1] + ".html")
    links = [(r.astext(), r["refuri"]) for r in doc.findall(nodes.reference)]
    assert links == [("chapter 5", "05_x.html"), ("Chapter 10", "10_x.html"), ("8", "08_x.html"),
                     ("9", "09_x.html"), ("1", "01_x.html"), ("2", "02_x.html")]
    assert count == 4
    assert para.astext() == ("As chapter 5 shows, and Chapter 10's judges; see chapters 8 and 9, chapters 1-2, "
                             "this chapter 3, and chapter 99.")  # the words are unchanged


def test_chapter_mentions_keep_every_word_where_it_was():
    """Soft line breaks are equal text nodes ("\\n"): merging and splitting must go by position, not by equality,
    or words move across the paragraph (the rendered book once read "asks thequestion")."""
    from docutils import nodes
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    doc = new_document("x", get_default_settings(Parser))
    lines = ["L1 the", "\n", "L2 question", "\n", "L3 as chapter 5 says", "\n", "L4 end, ", "see chapter 5", "."]
    para = nodes.paragraph("", "", *[nodes.Text(t) for t in lines])
    para.insert(7, nodes.emphasis("", "and"))  # an element between texts stays between them
    doc += para
    before = para.astext()
    count = sphinxext.link_chapter_mentions(doc, "chapters/03_x", {5: "chapters/05_x"}, lambda d: "05_x.html")
    assert count == 2
    assert para.astext() == before == "L1 the\nL2 question\nL3 as chapter 5 says\nL4 end, andsee chapter 5."
    assert all(child.parent is para for child in para.children)
    assert [r.astext() for r in doc.findall(nodes.reference)] == ["chapter 5", "chapter 5"]

