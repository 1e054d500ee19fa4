"""The HTML report in a real headless Chromium (Debian's ``chromium``), driven by Playwright.

Skips cleanly when Playwright or a Chromium executable is missing; ``.ci/run``
installs both.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from custseg.report import write_report
from report_data import PLAYBOOK_TITLE, PROBE, hierarchical_result, hostile_result, kmeans_result

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """Debian's chromium (or CUSTSEG_CHROMIUM), if installed."""
    for candidate in (os.environ.get("CUSTSEG_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    exe = chromium_path()
    if exe is None:
        pytest.skip("no chromium executable (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    out = {}
    for name, (doc, model_doc) in {
        "kmeans": kmeans_result(),
        "hierarchical": hierarchical_result(),
        "hostile": hostile_result(str(folder)),
    }.items():
        out[name] = write_report(doc, model_doc, folder / f"{name}.html")
    return out


class Visit:
    """A page load that records console errors, page errors, dialogs and network requests."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_timeout(200)  # let any late handler (e.g. onerror) fire

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.mark.parametrize("name", ["kmeans", "hierarchical", "hostile"])
def test_report_loads_offline_without_errors_and_draws_its_charts(browser, reports, name):
    visit = Visit(browser, reports[name])
    page = visit.page
    try:
        assert visit.errors == []
        assert visit.dialogs == []
        assert visit.requests == [reports[name].as_uri()]  # nothing but the file itself
        charts = page.eval_on_selector_all(
            ".chart svg",
            """els => els.map(svg => {
                const r = svg.getBoundingClientRect();
                return [r.width, r.height,
                        svg.querySelectorAll('polyline, rect, circle, text').length];
            })""",
        )
        n_cards = page.locator("article.segment-card").count()
        assert n_cards >= 2
        # elbow, silhouette, stability-and-gap, one per card, the map, the dendrogram.
        assert len(charts) == 3 + n_cards + 1 + (name == "hierarchical")
        for width, height, marks in charts:
            assert width > 100 and height > 50 and marks > 10
    finally:
        page.close()


def test_hostile_strings_show_as_text_and_run_nothing(browser, reports):
    visit = Visit(browser, reports["hostile"])
    page = visit.page
    try:
        assert visit.dialogs == [] and visit.errors == []
        assert page.locator("img").count() == 0
        body = page.inner_text("body")
        assert PROBE in body and PLAYBOOK_TITLE in body
        # A handler planted by the data would be an element with an on* attribute.
        planted = page.evaluate(
            """() => [...document.querySelectorAll('*')].filter(
                   el => [...el.attributes].some(a => a.name.startsWith('on'))).length"""
        )
        assert planted == 0
    finally:
        page.close()


def test_map_hover_shows_the_customer(browser, reports):
    visit = Visit(browser, reports["hostile"])
    page = visit.page
    try:
        # Screen position of the first customer on the map, from its SVG position.
        point = page.evaluate(
            """() => {
                const data = JSON.parse(document.getElementById('map-data').textContent);
                const svg = document.querySelector('#segment-map svg');
                svg.scrollIntoView();
                const p = svg.createSVGPoint();
                [p.x, p.y] = data.pos[0];
                const s = p.matrixTransform(svg.getScreenCTM());
                return {x: s.x, y: s.y, id: data.ids[0]};
            }"""
        )
        tip = page.locator("#map-tooltip")
        assert tip.is_hidden()
        page.mouse.move(point["x"], point["y"])
        tip.wait_for(state="visible", timeout=2000)
        text = tip.inner_text()
        assert text.startswith(f"CustomerID: {point['id']}\nsegment ")
        assert f"{PROBE}: " in text and "Age: " in text
        assert page.locator("#map-tooltip b").count() == 0  # an id like <b>c1</b> stays text
        page.mouse.move(1, 1)
        tip.wait_for(state="hidden", timeout=2000)
        assert visit.errors == []
    finally:
        page.close()


def test_print_stylesheet_hides_controls(browser, reports):
    visit = Visit(browser, reports["kmeans"])
    page = visit.page
    try:
        assert page.locator("nav").is_visible()
        page.emulate_media(media="print")
        assert page.locator("nav").is_hidden()
        assert page.locator("button.copy").is_hidden()
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    finally:
        page.close()


def test_copy_table_button_copies_tab_separated_rows(browser, reports):
    visit = Visit(browser, reports["kmeans"])
    page = visit.page
    try:
        # Record what the page hands to the clipboard (reading it back needs a permission
        # headless Chromium does not grant to file:// pages).
        page.evaluate(
            """() => { window.__copied = null;
                       navigator.clipboard.writeText = t => {
                           window.__copied = t; return Promise.resolve(); }; }"""
        )
        page.click("button.copy")
        page.wait_for_function("window.__copied !== null")
        rows = page.evaluate("window.__copied").split("\n")
        n_cards = page.locator("article.segment-card").count()
        assert len(rows) == 1 + n_cards
        assert rows[0].split("\t")[:4] == ["Segment", "Name", "Customers", "Share"]
        assert rows[1].split("\t")[0] == "1"
        assert page.inner_text(".copy-status").startswith("Copied")
        assert visit.errors == []
    finally:
        page.close()
