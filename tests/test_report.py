"""The HTML report: structure, escaping, offline, formatting, and the CLI around it."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_cli
from custseg import SegmentationConfig, segment
from custseg.errors import ReportError
from custseg.report import render_report, write_report
from custseg.report.html import fmt_count, fmt_num, fmt_pct, json_for_script
from custseg.report.structure import build_report, unit_of
from custseg.results_json import load_result
from report_data import (
    PLAYBOOK_TITLE,
    PROBE,
    QUOTE_VALUE,
    SCRIPT_VALUE,
    hierarchical_result,
    hostile_result,
    kmeans_result,
)


class Page(HTMLParser):
    """Every start tag with its attributes, the text of each <script>, and all text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._in_script: dict[str, str | None] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "script":
            self._in_script = a
            self.scripts.append((a, ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)

    def with_class(self, tag: str, cls: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and cls in (a.get("class") or "").split()]

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture(scope="module")
def kmeans_html() -> tuple[dict, dict, str]:
    doc, model_doc = kmeans_result()
    return doc, model_doc, render_report(doc, model_doc)


@pytest.fixture(scope="module")
def hierarchical_html() -> tuple[dict, dict, str]:
    doc, model_doc = hierarchical_result()
    return doc, model_doc, render_report(doc, model_doc)


@pytest.fixture(scope="module")
def hostile_html(tmp_path_factory) -> tuple[dict, dict, str]:
    doc, model_doc = hostile_result(str(tmp_path_factory.mktemp("playbook")))
    return doc, model_doc, render_report(doc, model_doc)


SECTIONS = ("overview", "choosing-k", "segments", "map", "data")


@pytest.mark.parametrize("which", ["kmeans_html", "hierarchical_html"])
def test_sections_cards_and_index_table(which, request):
    doc, _, html = request.getfixturevalue(which)
    page = Page(html)
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections == list(SECTIONS)
    cards = page.with_class("article", "segment-card")
    assert [c["id"] for c in cards] == [f"segment-{s['id']}" for s in doc["segments"]]
    text = page.all_text
    for s in doc["segments"]:
        assert s["name"] in text
        assert s["recommendation"]["title"] in text
    # One row per candidate k in the index table, the chosen one marked.
    body = html.split('<table class="indices">', 1)[1].split("</table>", 1)[0]
    assert body.count("<tr") == 1 + len(doc["k_selection"]["candidates"])
    assert body.count('class="chosen"') == 1
    # Every chart is inline SVG with a text alternative.
    charts = page.with_class("div", "chart")
    # elbow, silhouette, stability-and-gap, one per segment, the map, the dendrogram.
    assert len(charts) == 3 + len(doc["segments"]) + 1 + (doc["dendrogram"] is not None)
    assert all(c.get("role") == "img" and len(c.get("aria-label") or "") > 20 for c in charts)
    assert html.count("<svg") == len(charts)
    # The segment table can be copied, and links to the assignments.
    assert ("a", {"href": "assignments.csv", "download": None}) in page.tags
    assert page.with_class("button", "copy")


def test_kmeans_report_says_how_k_was_chosen(kmeans_html):
    doc, _, html = kmeans_html
    text = Page(html).all_text
    assert "k-means clustering" in text
    assert "We segmented 300 of the 300 customers in customers.csv" in text
    assert "standardised" in text
    assert doc["k_selection"]["note"] in text
    assert "Dendrogram" not in html
    assert "It draws all 300 customers." in text


def test_hierarchical_report_draws_the_truncated_dendrogram(hierarchical_html):
    doc, _, html = hierarchical_html
    text = Page(html).all_text
    assert "hierarchical clustering (ward linkage)" in text
    assert "without scaling" in text
    assert doc["dendrogram"]["truncated"] and doc["dendrogram"]["n_leaves"] == 200
    assert "the tree of 200 leaves is truncated to its top 30 clusters" in text
    assert 'aria-label="Dendrogram of the hierarchical clustering' in html
    assert "Merge gap" in text  # the dendrogram's own index has a column


def test_disagreeing_indices_get_a_visible_note(kmeans_html):
    doc, model_doc, html = kmeans_html
    assert doc["k_selection"]["agree"]
    assert not Page(html).with_class("p", "disagree")
    doc = copy.deepcopy(doc)
    sel = doc["k_selection"]
    sel["agree"] = False
    sel["preferred"]["silhouette"] = 3
    sel["runner_up"] = 3
    sel["note"] = (
        "k=5 chosen by the elbow of the inertia curve. "
        "The indices disagree: silhouette prefers 3. Runner-up: k=3."
    )
    page = Page(render_report(doc, model_doc))
    assert page.with_class("p", "disagree")
    assert f"⚠ Check k. {sel['note']} Compare the segments with k=3 ( --k 3 ) before" in (
        page.all_text
    )


def test_map_on_principal_components_states_variance_and_carries_values(hostile_html):
    doc, _, html = hostile_html
    page = Page(html)
    ev = doc["projection"]["explained_variance"]
    assert f"they explain {ev[0] * 100:.1f}% and {ev[1] * 100:.1f}% of the variance" in (
        page.all_text
    )
    data = [text for a, text in page.scripts if a.get("id") == "map-data"]
    points = json.loads(data[0])
    assert len(points["pos"]) == len(points["ids"]) == doc["projection"]["n_shown"] == 150
    assert [f["name"] for f in points["features"]] == doc["features"]
    assert points["features"][0]["values"] == doc["projection"]["values"]["Age"]


def test_map_states_its_sample():
    doc, model_doc = kmeans_result()
    doc = copy.deepcopy(doc)
    doc["projection"]["n_total"] = 1_000_000
    text = Page(render_report(doc, model_doc)).all_text
    assert "It draws a random sample of 300 of the 1,000,000 customers." in text


def test_hostile_strings_are_escaped_everywhere(hostile_html):
    _, _, html = hostile_html
    for raw in (PROBE, SCRIPT_VALUE, QUOTE_VALUE, PLAYBOOK_TITLE, "<script>alert(5)</script>"):
        assert raw not in html
    page = Page(html)
    # They show as text: the parser gives them back unchanged.
    text = page.all_text
    for raw in (PROBE, SCRIPT_VALUE, QUOTE_VALUE, PLAYBOOK_TITLE, "<script>alert(6)</script>.csv"):
        assert raw in text, raw
    # No element came from the data: no event handler attribute, no <img>, two scripts only.
    assert not [(t, k) for t, a in page.tags for k in a if k.startswith("on")]
    assert not [t for t, _ in page.tags if t in ("img", "iframe", "object", "embed")]
    assert [a.get("id") or a.get("type") for a, _ in page.scripts] == ["map-data", None]
    # The map's data round-trips through its escaped JSON.
    points = json.loads(page.scripts[0][1])
    assert "<b>c1</b>" in points["ids"] and "c0&amp;" in points["ids"]
    assert points["features"][1]["name"] == PROBE


def test_no_external_resources(kmeans_html, hierarchical_html, hostile_html):
    for _, _, html in (kmeans_html, hierarchical_html, hostile_html):
        page = Page(html)
        assert not re.search(r"https?:|//[a-z0-9]", html, flags=re.I)
        for tag, attrs in page.tags:
            for key in ("src", "href", "xlink:href", "action"):
                value = attrs.get(key)
                assert value is None or value.startswith("#") or value == "assignments.csv", (
                    tag,
                    key,
                    value,
                )
        assert not [t for t, _ in page.tags if t == "link"]
        csp = [
            a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
        ]
        assert csp and csp[0].startswith("default-src 'none';")


def test_report_script_matches_its_csp_hash(kmeans_html):
    import base64
    import hashlib

    _, _, html = kmeans_html
    page = Page(html)
    script = page.scripts[-1][1]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    (csp,) = [
        a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert f"script-src 'sha256-{digest}';" in csp


def test_same_result_same_report(kmeans_html):
    doc, model_doc, html = kmeans_html
    assert render_report(copy.deepcopy(doc), copy.deepcopy(model_doc)) == html


def test_numbers_are_formatted_for_people(kmeans_html):
    doc, _, html = kmeans_html
    s = doc["segments"][0]
    income = s["centre"]["Annual Income (k$)"]
    assert f"{income:.1f}\u00a0k$" in html  # unit kept from the column name
    assert f"{s['share'] * 100:.1f}%" in html
    assert fmt_count(1234567) == "1,234,567"
    assert fmt_pct(0.358) == "35.8%" and fmt_pct(0.0004) == "<0.1%" and fmt_pct(1.0) == "100.0%"
    assert fmt_num(54.82, "k$") == "54.8\u00a0k$"
    assert fmt_num(1234567.8) == "1,234,568"
    assert fmt_num(12.0, "$") == "$12.0" and fmt_num(-3.25, "€") == "-€3.2"
    assert fmt_num(0.012345) == "0.0123" and fmt_num(None) == "–"
    assert unit_of("Annual Income (k$)") == "k$"
    assert unit_of("Spending Score (1-100)") is None
    assert unit_of("Age") is None and unit_of("Weight (kg)") == "kg"


def test_category_mix_compares_with_the_whole_base(kmeans_html):
    doc, model_doc, _ = kmeans_html
    report = build_report(load_result(doc, model_doc))
    n = sum(s["size"] for s in doc["segments"])
    females = sum(
        s["size"] * s["profile"]["categories"]["Gender"].get("Female", 0) for s in doc["segments"]
    )
    for card in report.segments:
        (mix,) = card.categories
        female = next(x for x in mix.shares if x.value == "Female")
        assert female.base_share == pytest.approx(females / n)
        assert sum(x.segment_share for x in mix.shares) == pytest.approx(1)


def test_json_for_script_cannot_break_out():
    text = json_for_script({"a": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d, m: d.pop("k_selection"), "segments.json has no 'k_selection'"),
        (
            lambda d, m: d.update(segments="x"),
            "segments.json: 'segments' should be a list, not 'x'",
        ),
        (lambda d, m: m.update(k=9), "model.json has k=9 but segments.json has k=5"),
        (lambda d, m: d["population"].pop("Age", None) or d.update(features=["Age"]), "Age"),
    ],
)
def test_incomplete_results_fail_clearly(kmeans_html, change, message):
    doc, model_doc = copy.deepcopy(kmeans_html[0]), copy.deepcopy(kmeans_html[1])
    change(doc, model_doc)
    with pytest.raises(ReportError, match=re.escape(message)):
        render_report(doc, model_doc)


def test_write_report_is_atomic_and_returns_the_path(kmeans_html, tmp_path):
    doc, model_doc, html = kmeans_html
    out = write_report(doc, model_doc, tmp_path / "r.html")
    assert out == tmp_path / "r.html"
    assert out.read_text(encoding="utf-8") == html
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left


def _demo_csv(tmp_path: Path) -> Path:
    from custseg.data.demo import make_customers

    path = tmp_path / "customers.csv"
    make_customers(120, seed=3).to_csv(path, index=False)
    return path


def test_cli_segment_writes_the_report_and_report_rebuilds_it(tmp_path, monkeypatch):
    out = tmp_path / "result"
    code, _, err = run_cli(
        "segment", str(_demo_csv(tmp_path)), "-f", "Age,Spending Score (1-100)", "--out", str(out),
        "--k-max", "5", "--n-init", "2", "-q", "--no-plots",
    )  # fmt: skip
    assert code == 0, err
    first = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="segments"' in first
    (out / "report.html").unlink()

    # Rebuilding reads the saved files only: clustering again would fail here.
    import custseg.pipeline

    def no_clustering(*args, **kwargs):
        raise AssertionError("custseg report must not cluster")

    monkeypatch.setattr(custseg.pipeline, "segment_prepared", no_clustering)
    code, stdout, err = run_cli("report", str(out))
    assert (code, err) == (0, "")
    assert stdout == f"Report written to {out / 'report.html'}\n"
    assert (out / "report.html").read_text(encoding="utf-8") == first

    code, stdout, _ = run_cli("report", str(out), "--out", str(tmp_path / "copy.html"))
    assert code == 0 and (tmp_path / "copy.html").read_text(encoding="utf-8") == first


def test_cli_report_errors(tmp_path):
    code, _, err = run_cli("report", str(tmp_path / "nowhere"))
    assert code == 1
    assert err == (
        f"Error: folder '{tmp_path / 'nowhere'}' does not exist; give a folder of custseg results\n"
    )
    code, _, err = run_cli("report", str(tmp_path))
    assert code == 1
    assert err == (
        f"Error: '{tmp_path / 'segments.json'}' is missing; "
        "point custseg report at a folder written by custseg segment\n"
    )
    (tmp_path / "segments.json").write_text('{"k": 2,', encoding="utf-8")
    code, _, err = run_cli("report", str(tmp_path))
    assert code == 1
    assert err.startswith(f"Error: '{tmp_path / 'segments.json'}' is not valid JSON (line 1")
    doc, model_doc = kmeans_result()
    (tmp_path / "segments.json").write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "model.json").write_text(json.dumps({**model_doc, "k": 3}), encoding="utf-8")
    code, _, err = run_cli("report", str(tmp_path))
    assert code == 1
    assert err == (
        f"Error: {tmp_path}: model.json has k=3 but segments.json has k=5: they come from "
        "different runs; keep the files of one result folder together\n"
    )
    assert not (tmp_path / "report.html").exists()


def test_computation_never_imports_presentation():
    code = (
        "import sys, custseg, custseg.pipeline, custseg.outputs, custseg.report; "
        "bad = [m for m in ('matplotlib', 'jinja2', 'custseg.report.html', "
        "'custseg.report.plots') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_report_size_stays_bounded_for_a_million_customers():
    """The map is the only part that grows with n, and the pipeline caps it at 5,000 points."""
    import numpy as np

    from custseg.pipeline import PROJECTION_POINTS

    doc, model_doc = copy.deepcopy(kmeans_result()[0]), kmeans_result()[1]
    proj = doc["projection"]
    rng = np.random.default_rng(0)
    pick = rng.integers(0, proj["n_shown"], size=PROJECTION_POINTS)
    for key in ("x", "y", "segment", "ids"):
        proj[key] = [proj[key][i] for i in pick]
    proj["values"] = {f: [v[i] for i in pick] for f, v in proj["values"].items()}
    proj["ids"] = [f"{i:07d}" for i in range(PROJECTION_POINTS)]
    proj.update(n_total=1_000_000, n_shown=PROJECTION_POINTS)
    html = render_report(doc, model_doc)
    assert "random sample of 5,000 of the 1,000,000 customers" in Page(html).all_text
    assert len(html.encode("utf-8")) < 2_000_000  # docs/report.md states ~1 MB, budget 5 MB


def test_demo_writes_report_next_to_the_png_plots(tmp_path):
    out = tmp_path / "demo"
    code, _, err = run_cli("demo", "--rows", "80", "--out", str(out), "-q", "--png")
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "elbow.png", "silhouette.png", "scatter.png", "profiles.png"} <= names
    html = (out / "report.html").read_text(encoding="utf-8")
    doc = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    assert len(Page(html).with_class("article", "segment-card")) == doc["k"]


def test_chart_labels_from_the_data_are_shown_literally():
    """matplotlib reads '$...$' as maths; a column name must appear as written."""
    from custseg.report.charts import segment_profile_svg

    name = "Spend $x^2$ (<b>)"
    frame = pd.DataFrame({name: [8.0, 9.0, 10.0, 11.0, 12.0, 13.0] * 5})
    svg = segment_profile_svg(segment(frame, SegmentationConfig(k=2)), 1)
    assert "Spend $x^2$ (&lt;b&gt;)" in svg
    assert "<b>" not in svg


def test_dendrogram_branches_take_their_segment_colours(hierarchical_html):
    import numpy as np
    from scipy.cluster.hierarchy import fcluster

    from custseg.report.charts import dendrogram_link_colours
    from custseg.report.palette import segment_colour

    doc = hierarchical_html[0]
    dd = doc["dendrogram"]
    Z = np.asarray(dd["linkage"], dtype=float)
    colour_of = dendrogram_link_colours(load_result(doc, hierarchical_html[1]), Z)
    n = len(Z) + 1
    # Customers under the branches of each colour add up to that segment's size.
    flat = fcluster(Z, t=dd["cut_height"], criterion="distance")
    counts = np.asarray(dd["leaf_counts"])
    customers = {}
    for i, (a, _b, height, _) in enumerate(Z):
        if height <= dd["cut_height"]:
            leaf = int(a)
            while leaf >= n:
                leaf = int(Z[leaf - n, 0])
            customers[colour_of(n + i)] = int(counts[flat == flat[leaf]].sum())
        else:
            assert colour_of(n + i) == "#888888"
    assert customers == {segment_colour(s["id"]): s["size"] for s in doc["segments"]}


def test_map_positions_are_where_the_points_are_drawn():
    """The hover script finds customers by these positions; they must match the SVG."""
    from custseg.report.charts import map_svg

    doc, model_doc = kmeans_result()
    svg, positions = map_svg(load_result(doc, model_doc))
    drawn = [
        (float(x), float(y))
        for x, y in re.findall(r'<circle cx="([-\d.]+)" cy="([-\d.]+)" r="2.6"', svg)
    ]
    proj = doc["projection"]
    # The points are drawn segment by segment.
    order = [
        i for sid in sorted(set(proj["segment"])) for i, s in enumerate(proj["segment"]) if s == sid
    ]
    assert len(positions) == len(order) == len(drawn) == proj["n_shown"]
    for i, (x, y) in zip(order, drawn):
        assert positions[i] == pytest.approx((x, y), abs=0.01)
    # Inside the plot area: the first point of the lowest x is left of the one of the highest x.
    xs = proj["x"]
    assert positions[xs.index(min(xs))][0] < positions[xs.index(max(xs))][0]


def test_drawing_the_report_leaves_no_open_figures(kmeans_html):
    """Figures are plain matplotlib Figures, never registered with pyplot (a server may draw
    reports for hours)."""
    import matplotlib.pyplot as plt

    from custseg.report.plots import render_plots

    before = plt.get_fignums()
    render_plots(load_result(kmeans_html[0], kmeans_html[1]))
    assert plt.get_fignums() == before


def test_the_html_report_is_drawn_without_matplotlib(tmp_path):
    """The report's charts are written as SVG directly: a run without --png never imports
    matplotlib (it was most of a small run's time)."""
    code = (
        "import sys, pandas as pd; from custseg.report import render_result; "
        "from custseg import segment, SegmentationConfig; "
        "df = pd.DataFrame({'a': [1.0, 2, 3, 10, 11, 12] * 5, 'b': [5.0, 6, 5, 1, 2, 1] * 5}); "
        "html = render_result(segment(df, SegmentationConfig(k=2))); "
        f"open({str(tmp_path / 'r.html')!r}, 'w', encoding='utf-8').write(html); "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert (tmp_path / "r.html").read_text(encoding="utf-8").count("<svg") >= 5


def test_cards_show_the_level_evidence_and_who_is_in_the_segment(kmeans_html):
    doc, _, html = kmeans_html
    text = Page(html).all_text
    assert f"decision tree of depth {doc['surrogate']['depth']}" in text
    for s in doc["segments"]:
        rule = s["profile"]["rule"]
        assert f"Who is in it: {rule['text']}" in text
        for figures in s["profile"]["evidence"].values():
            # The difference column shows the figure the level rests on.
            shown = (
                f"×{figures['ratio']:.2f} the rate"
                if figures["ratio"] is not None
                else f"{figures['effect']:+.2f} sd"
            )
            assert shown in text


def test_compiled_template_is_kept_and_a_damaged_copy_is_ignored(tmp_path, monkeypatch):
    from custseg.report import html

    def without_time(page: str) -> str:
        return re.sub(r"on \d{4}-\d\d-\d\dT[\d:]+Z", "", page)

    doc, model_doc = kmeans_result()
    monkeypatch.setenv("CUSTSEG_CACHE_DIR", str(tmp_path))
    html._environment.cache_clear()
    try:
        first = render_report(doc, model_doc)
        [kept] = tmp_path.glob("report-*.jinja2")
        html._environment.cache_clear()
        assert without_time(render_report(doc, model_doc)) == without_time(first)
        from jinja2.bccache import bc_magic

        for damage in (b"", b"j2\x00garbage", bc_magic + b"\x80garbage", kept.read_bytes()[:100]):
            kept.write_bytes(damage)
            html._environment.cache_clear()
            assert without_time(render_report(doc, model_doc)) == without_time(first)
    finally:
        html._environment.cache_clear()
