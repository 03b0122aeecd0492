"""A real browser opens every rendered chapter: math typeset by MathJax, no raw TeX left, every image loaded."""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import ROOT
from rlbits.book import toc_files

pytestmark = [pytest.mark.book, pytest.mark.browser]


def _binaries():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return chromium, driver


@pytest.fixture(scope="module")
def browser():
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
                 "--disable-dev-shm-usage", "--allow-file-access-from-files", "--window-size=1200,900"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(executable_path=driver), options=opts)
    drv.set_page_load_timeout(60)
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


def test_every_chapter_page_typesets_math_and_loads_figures(book, browser):
    assert book.returncode == 0, book.log[-3000:]
    browser.set_script_timeout(40)
    checked_math = 0
    for rel in toc_files(ROOT):
        page = book.build / "html" / f"{rel}.html"
        browser.get(page.as_uri())
        has_math = browser.execute_script("return document.querySelectorAll('.math').length") > 0
        if has_math:
            assert browser.execute_async_script(WAIT_FOR_MATHJAX), f"{rel}: MathJax did not start"
            n_typeset = browser.execute_script("return document.querySelectorAll('mjx-container').length")
            assert n_typeset > 0, f"{rel}: math present but nothing typeset"
            raw = browser.execute_script(
                "return Array.from(document.querySelectorAll('.math')).filter("
                "e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60))")
            assert not raw, f"{rel}: raw TeX left untypeset: {raw[:3]}"
            checked_math += 1
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
        broken = [src for src, ok in images if not ok]
        assert not broken, f"{rel}: images not loaded: {broken}"
    assert checked_math >= 1
