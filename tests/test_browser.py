"""A real browser opens every rendered chapter: math typeset by MathJax, no raw TeX left, every image loaded."""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import ROOT
from rlbits.pipeline.book import toc_files

pytestmark = [pytest.mark.book, pytest.mark.browser]


def _binaries():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return chromium, driver


def _chrome(window: str = "1200,900", performance_log: bool = False):
    """Headless Chromium through selenium, offline; fails in CI and skips elsewhere when it is not installed."""
    chromium, driver = _binaries()
    if not (chromium and driver):
        if os.environ.get("CI"):
            pytest.fail("Chromium and chromedriver are required in CI (Debian packages chromium, chromium-driver)")
        pytest.skip("Chromium/chromedriver not installed (the test runs in CI)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--allow-file-access-from-files", f"--window-size={window}"):
        opts.add_argument(flag)
    if performance_log:
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    drv.set_page_load_timeout(60)
    return drv


@pytest.fixture(scope="module")
def browser():
    """The one Chromium of this module, with the performance log on (the files a page loads, for its weight)."""
    drv = _chrome("1280,900", performance_log=True)
    yield drv
    drv.quit()


WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const t0 = Date.now();
(function poll() {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { mj.startup.promise.then(() => done(true), () => done(false)); }
  else if (Date.now() - t0 > 20000) { done(false); }
  else { setTimeout(poll, 100); }
})();
"""


# ---------------------------------------------------------------------------------------------------------------
# Every page, opened once per size: what the tests below check of it (the ``visits`` fixture)
# ---------------------------------------------------------------------------------------------------------------

SIZES = {"desktop": (1280, 900, False), "phone": (390, 844, True)}
MIN_TEXT_PX = 9.0  # the smallest figure text a reader may meet, in CSS pixels
SCREENSHOTS = {"ch01": "chapters/01_bits_per_sample", "ch06": "chapters/06_the_sky_is",
               "ledger": "chapters/backmatter/claims_ledger"}
SCREENSHOT_DIR = ROOT / "_build" / "screenshots"
SCREENSHOT_MAX_HEIGHT = 16000  # px; a longer page is cut there


def _set_size(drv, name):
    width, height, mobile = SIZES[name]
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def _open(drv, page):
    """Load ``page``, wait for MathJax when it has math, then a frame; whether MathJax started (None: no math)."""
    drv.get(page.as_uri())
    started = None
    if drv.execute_script("return document.querySelectorAll('.math').length") > 0:
        drv.set_script_timeout(40)
        started = drv.execute_async_script(WAIT_FOR_MATHJAX)
    # rlbits.js marks wide boxes after MathJax; give it a frame
    drv.execute_async_script("const done = arguments[arguments.length - 1]; requestAnimationFrame(() => "
                             "setTimeout(() => done(true), 50));")
    return started


@pytest.fixture(scope="module")
def sized(browser):
    """The browser, resized with ``sized(name)`` to one of SIZES; restored afterwards."""
    yield lambda name: _set_size(browser, name)
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# Every box that can be wider than the column must either fit the article or sit in an ancestor that scrolls
# sideways (overflow-x auto or scroll) and itself fits; a box clipped by an overflow-x: hidden ancestor is cut off.
OVERFLOWS = """
const art = document.querySelector('.bd-article') || document.querySelector('main') || document.body;
const A = art.getBoundingClientRect();
const vw = document.documentElement.clientWidth;
const lo = Math.max(0, A.left) - 1, hi = Math.min(vw, A.right) + 1;
const out = [];
if (document.documentElement.scrollWidth > vw + 1)
  out.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + vw + ' px');
const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
  (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
for (const el of art.querySelectorAll('pre, table, figure, img, div.math, mjx-container[display="true"]')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;  // not displayed (collapsed cell, closed details)
  let box = null;
  for (let a = el; a && a !== art.parentElement; a = a.parentElement) {
    const ov = getComputedStyle(a).overflowX;
    if (ov === 'auto' || ov === 'scroll') { box = a; break; }
    if ((ov === 'hidden' || ov === 'clip') && a !== el) {
      const c = a.getBoundingClientRect();
      if (r.right > c.right + 1 || r.left < c.left - 1) { out.push(name(el) + ' is cut off by ' + name(a)); break; }
    }
  }
  const b = (box || el).getBoundingClientRect();
  if (b.left < lo || b.right > hi)
    out.push(name(el) + (box ? ' (in ' + name(box) + ')' : '') + ' spans ' + Math.round(b.left) + '-' +
             Math.round(b.right) + ' px, the column ' + Math.round(lo) + '-' + Math.round(hi));
}
return out;
"""

FIGURES = """
const art = document.querySelector('.bd-article') || document.body;
return Array.from(art.querySelectorAll('img')).filter(i => i.getAttribute('src').includes('_images/'))
  .map(i => [i.src, i.getBoundingClientRect().width]);
"""


def _svg_text(path):
    """(viewBox width in points, nominal sizes in points of every text element): matplotlib draws each text element
    as a group ``transform="... scale(s -s)"`` with s = size / 100."""
    import re

    svg = path.read_text()
    tag = re.search(r"<svg\b[^>]*>", svg).group(0)
    width = float(re.search(r'viewBox="[-\d.e]+ [-\d.e]+ ([\d.e]+) [\d.e]+"', tag).group(1))
    return width, [100 * float(s) for s in re.findall(r"scale\(([\d.e-]+) -\1\)", svg)]


def _local(url):
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(url).path))


# The page's prose as shown: every text node of the article outside code and math (typeset or not), joined as the
# reader sees it; and the text of every glued value.
PROSE = """
const art = document.querySelector('.bd-article') || document.body;
const skip = 'pre, code, .math, mjx-container, .MathJax, script, style, .highlight, .cell_input, .cell_output pre, dt.sig';
const parts = [];
const walker = document.createTreeWalker(art, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  if (!n.parentElement.closest(skip)) parts.push(n.textContent);
}
return [parts.join(''), Array.from(art.querySelectorAll('.pasted-text')).map(e => e.textContent.trim())];
"""


# The checks of MathJax's work and of the images, as the first test makes them: how many .math elements, how many
# typeset, the .math left raw, the TeX errors, and every image with whether it loaded.
MATH_AND_IMAGES = """
return [document.querySelectorAll('.math').length,
  document.querySelectorAll('mjx-container').length,
  Array.from(document.querySelectorAll('.math')).filter(
    e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60)),
  Array.from(document.querySelectorAll('mjx-merror')).map(e => e.getAttribute('data-mjx-error') || e.textContent),
  Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])];
"""


def _requested_files(drv):
    """The file: URLs (without query or fragment) the page asked for since the performance log was last read."""
    import json

    urls = set()
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if url.startswith("file:"):
                urls.add(url.split("#")[0].split("?")[0])
    return urls


@pytest.fixture(scope="module")
def visits(book, browser):
    """Every page of ``toc_files`` opened ONCE per size of SIZES (desktop first) in the module's browser, with what
    the tests check of it: ``visits[(size, rel)]`` holds ``started`` (``_open``), ``overflows`` (OVERFLOWS),
    ``figures`` (FIGURES), ``prose`` and ``pasted`` (PROSE); at desktop also ``n_math``, ``n_typeset``, ``raw``,
    ``errors`` and ``images`` (MATH_AND_IMAGES; they do not depend on the size) and, after those, scrolled to the
    bottom, ``urls``: the file: URLs the page requested (performance log, drained before each load). A fact that
    cannot be collected raises here, so every test that uses it errors. The device metrics are restored after."""
    assert book.returncode == 0, book.log[-3000:]
    facts = {}
    try:
        for size in SIZES:
            _set_size(browser, size)
            for rel in toc_files(ROOT):
                browser.get_log("performance")  # drain: what is logged from here on is this page's
                seen = {"started": _open(browser, book.build / "html" / f"{rel}.html")}
                if size == "desktop":
                    (seen["n_math"], seen["n_typeset"], seen["raw"], seen["errors"],
                     seen["images"]) = browser.execute_script(MATH_AND_IMAGES)
                seen["overflows"] = browser.execute_script(OVERFLOWS)
                seen["figures"] = browser.execute_script(FIGURES)
                seen["prose"], seen["pasted"] = browser.execute_script(PROSE)
                if size == "desktop":
                    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
                    browser.execute_async_script(
                        "const done = arguments[arguments.length - 1]; setTimeout(() => done(true), 300);")
                    seen["urls"] = _requested_files(browser)
                facts[(size, rel)] = seen
        browser.get_log("performance")  # the tests that load their own page do not read it
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return facts


def test_every_chapter_page_typesets_math_and_loads_figures(book, visits):
    assert book.returncode == 0, book.log[-3000:]
    checked_math = 0
    for rel in toc_files(ROOT):
        seen = visits[("desktop", rel)]
        if seen["n_math"] > 0:
            assert seen["started"], f"{rel}: MathJax did not start"
            assert seen["n_typeset"] > 0, f"{rel}: math present but nothing typeset"
            raw = seen["raw"]
            assert not raw, f"{rel}: raw TeX left untypeset: {raw[:3]}"
            errors = seen["errors"]
            assert not errors, f"{rel}: TeX errors (a macro whose package is not loaded?): {errors[:3]}"
            checked_math += 1
        broken = [src for src, ok in seen["images"] if not ok]
        assert not broken, f"{rel}: images not loaded: {broken}"
    assert checked_math >= 1


# ---------------------------------------------------------------------------------------------------------------
# Reading at the width of the column, on a desktop and on a phone (issue 16)
# ---------------------------------------------------------------------------------------------------------------


def test_nothing_overflows_and_figure_text_reads_at_desktop_and_phone(book, visits):
    assert book.returncode == 0, book.log[-3000:]
    problems, smallest = [], {}
    for size in SIZES:
        for rel in toc_files(ROOT):
            seen = visits[(size, rel)]
            problems += [f"{size} {rel}: {p}" for p in seen["overflows"]]
            for src, shown in seen["figures"]:
                path = _local(src)
                if path.suffix != ".svg":
                    problems.append(f"{size} {rel}: figure {path.name} is not SVG (use rlbits.plotting's style), so "
                                    "its text size cannot be checked")
                    continue
                width_pt, sizes = _svg_text(path)
                if not sizes:
                    continue
                px = min(sizes) * shown / width_pt  # one SVG unit (a point) is shown / width_pt pixels
                smallest[(size, rel, path.name)] = px
                if px < MIN_TEXT_PX - 0.01:
                    problems.append(f"{size} {rel}: figure {path.name} shows text at {px:.1f} px "
                                    f"({min(sizes):.1f} pt shown {shown:.0f} px wide)")
    assert smallest, "no figure found"
    assert not problems, "\n".join(problems[:40])
    for size in SIZES:
        print(f"smallest figure text at {size}: {min(v for k, v in smallest.items() if k[0] == size):.2f} px")


#: The most a page of the book may load, HTML, scripts, styles, fonts and figures together, in bytes as they are
#: stored (a server that compresses sends about a third of that).
PAGE_BUDGET = 2_000_000


def test_pages_load_only_files_that_exist_and_weigh_under_2mb(book, visits):
    """Every file a page asks for exists (pruning MathJax and the theme removed nothing a page loads), and each
    page of the book with everything it loads, down to the last font MathJax fetches and the figures below the
    fold, weighs under 2 MB as stored (issue 16 item 12; the gzip size is printed too)."""
    import gzip

    missing, weights, unlogged = [], {}, []
    for rel in toc_files(ROOT):
        page = book.build / "html" / f"{rel}.html"
        requested = {_local(u) for u in visits[("desktop", rel)]["urls"]}
        if page not in requested:  # the log missed the page itself: it cannot have seen what the page loads
            unlogged.append(rel)
        files = requested | {page}
        missing += [f"{rel}: {f}" for f in sorted(files) if not f.exists()]
        present = [f for f in files if f.exists()]
        raw = sum(f.stat().st_size for f in present)
        packed = sum(len(gzip.compress(f.read_bytes(), 6)) for f in present)
        weights[rel] = (raw, packed)
    assert not unlogged, f"the performance log shows no request for these pages themselves: {unlogged}"
    assert not missing, "pages request files that are not in the site:\n" + "\n".join(missing[:20])
    assert set(weights) == set(toc_files(ROOT))
    for rel, (raw, packed) in sorted(weights.items(), key=lambda kv: -kv[1][0]):
        print(f"{rel}: {raw / 1e6:.3f} MB raw, {packed / 1e6:.3f} MB gzip")
    heavy = {rel: f"{w[0] / 1e6:.3f} MB" for rel, w in weights.items() if w[0] >= PAGE_BUDGET}
    assert not heavy, f"pages that load 2 MB or more: {heavy}"
    # what a chapter loads of MathJax: the components, not the combined tex-chtml.js with its menu
    assert not any("tex-chtml" in f for f in missing)


def test_sidebar_shows_the_landing_page(book, browser, sized):
    sized("desktop")
    for rel in ("chapters/06_the_sky_is", "chapters/backmatter/references"):
        _open(browser, book.build / "html" / f"{rel}.html")
        home = browser.execute_script(
            "const a = Array.from(document.querySelectorAll('.bd-sidebar-primary nav a')).find("
            "a => a.getAttribute('href').endsWith('intro.html')); "
            "return a && a.offsetParent !== null ? a.textContent.trim() : null;")
        assert home, f"{rel}: the sidebar does not list the landing page"


def test_every_bibliography_entry_links_out(book, browser, sized):
    sized("desktop")
    _open(browser, book.build / "html" / "chapters" / "backmatter" / "references.html")
    entries = browser.execute_script(
        "return Array.from(document.querySelectorAll('div.citation')).map(c => [c.textContent.trim().slice(0, 60), "
        "Array.from(c.querySelectorAll('a[href]')).map(a => a.getAttribute('href')).filter("
        "h => /^https?:\\/\\//.test(h)).length]);")
    assert len(entries) >= 20, entries
    unlinked = [text for text, links in entries if not links]
    assert not unlinked, f"bibliography entries without a link: {unlinked}"
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('div.citation span.label')).map(s => s.textContent.trim());")
    assert all(any(ch.isdigit() for ch in lab) and "," in lab for lab in labels), \
        f"bibliography labels are not author-year: {labels[:5]}"


def test_screenshots_of_chapters_1_and_6_and_the_ledger(book, browser, sized):
    """Saved on every run (``_build/screenshots/NAME-SIZE.png``, the whole page up to SCREENSHOT_MAX_HEIGHT) so a
    change to the look is easy to review."""
    import base64

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for size, (width, _, mobile) in SIZES.items():
        for name, rel in SCREENSHOTS.items():
            sized(size)
            _open(browser, book.build / "html" / f"{rel}.html")
            height = min(browser.execute_script("return document.documentElement.scrollHeight"),
                         SCREENSHOT_MAX_HEIGHT)
            # the whole page in one viewport: headless Chromium's captureBeyondViewport draws what lies outside the
            # viewport wrongly (the page shifted left past the sidebar, code cells blank, differing run to run)
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
            browser.execute_async_script("const done = arguments[arguments.length - 1]; requestAnimationFrame(() => "
                                         "requestAnimationFrame(() => setTimeout(() => done(true), 50)));")
            shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
            target = SCREENSHOT_DIR / f"{name}-{size}.png"
            target.write_bytes(base64.b64decode(shot["data"]))
            assert target.stat().st_size > 10_000, target


# ---------------------------------------------------------------------------------------------------------------
# Numbers a reader reads, and the argument at a glance (issue 16, items 3 and 9)
# ---------------------------------------------------------------------------------------------------------------


def test_no_number_in_e_notation_and_no_raw_boolean_in_prose(book, visits):
    """Every page at both sizes: no number in e-notation outside code and math (``8.49e+14``, ``1e-05``; the book
    prints 8.49 × 10¹⁴ and 10⁻⁵, see rlbits.numbers), and no glued value or prose word that is a Python boolean."""
    import re

    from rlbits.numbers import E_NOTATION

    assert book.returncode == 0, book.log[-3000:]
    problems, pages = [], 0
    for size in SIZES:
        for rel in toc_files(ROOT):
            prose, pasted = visits[(size, rel)]["prose"], visits[(size, rel)]["pasted"]
            pages += 1
            for m in E_NOTATION.finditer(prose):
                problems.append(f"{size} {rel}: e-notation {m.group(0)!r} in "
                                f"{prose[max(0, m.start() - 60):m.end() + 20]!r}")
            problems += [f"{size} {rel}: a glued value reads {v!r}" for v in pasted if v in ("True", "False")]
            problems += [f"{size} {rel}: a glued value reads {v!r}" for v in pasted if v == "None"]
            if rel != "chapters/backmatter/api":  # docstrings name Python's True and False; prose says yes or no
                problems += [f"{size} {rel}: {m.group(0)!r} in prose: "
                             f"{prose[max(0, m.start() - 60):m.end() + 20]!r}"
                             for m in re.finditer(r"\b(True|False)\b", prose)]
    assert pages == 2 * len(toc_files(ROOT))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


GLANCE = """
const t = document.querySelector('table.rlbits-glance');
if (!t) return null;
return [t.offsetParent !== null, Array.from(t.querySelectorAll('tbody tr')).map(
  r => Array.from(r.querySelectorAll('td')).map(c => [c.innerText.trim(), c.querySelectorAll('a[href]').length]))];
"""


def test_the_landing_page_shows_every_claim_with_its_verdict_and_number(book, browser, sized):
    """The argument at a glance (``chapters/intro``): one row per claim of the ledger, in the ledger's verdict, with
    its deciding number as a label and a value and a link to the chapter, visible at both sizes."""
    import json

    from rlbits.numbers import E_NOTATION
    from rlbits.results import VERDICTS

    assert book.returncode == 0, book.log[-3000:]
    ledger = json.loads((book.build / "results" / "ledger.json").read_text())
    for size in SIZES:
        sized(size)
        _open(browser, book.build / "html" / "chapters" / "intro.html")
        found = browser.execute_script(GLANCE)
        assert found, f"{size}: no table of the argument at a glance on the landing page"
        visible, rows = found
        assert visible, f"{size}: the table is not displayed"
        seen = {}
        for cells in rows:
            texts = [t for t, _ in cells]
            # on a phone rlbits.js prefixes each cell with its column's name; the claim id opens the claim cell
            claim = next(t for t in texts if "C" in t)
            cid = next(w for w in claim.replace("\n", " ").split() if w[:1] == "C" and w[1:].isdigit())
            seen[cid] = (texts, sum(n for _, n in cells))
        assert set(seen) == set(ledger), f"{size}: claims missing {sorted(set(ledger) - set(seen))}, " \
                                         f"extra {sorted(set(seen) - set(ledger))}"
        for cid, entry in ledger.items():
            texts, links = seen[cid]
            assert entry["verdict"] in VERDICTS and any(entry["verdict"] in t for t in texts), (size, cid, texts)
            if entry["quantity"]:
                assert any(entry["value_text"] in t for t in texts), (size, cid, texts)
                assert not any(entry["quantity"] in t for t in texts), f"{size} {cid}: shows a key: {texts}"
            assert not any(E_NOTATION.search(t) for t in texts), (size, cid, texts)
            assert links >= 1, f"{size} {cid}: no link to the chapter that decides it"


def test_search_works_offline(book, browser):
    """The search page finds a word of the book (the search scripts and index load there only)."""
    page = book.build / "html" / "search.html"
    browser.get(page.as_uri() + "?q=REINFORCE")
    browser.set_script_timeout(30)
    found = browser.execute_async_script("""
const done = arguments[arguments.length - 1];
const t0 = Date.now();
(function poll() {
  const n = document.querySelectorAll('#search-results li').length;
  if (n > 0 || Date.now() - t0 > 20000) { done(n); } else { setTimeout(poll, 200); }
})();
""")
    assert found >= 3, f"search for REINFORCE found {found} pages"
    chapter = (book.build / "html" / "chapters" / "06_the_sky_is.html").read_text()
    assert "searchindex.js" not in chapter and "search.html" in chapter
