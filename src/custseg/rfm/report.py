"""The RFM section of ``report.html``: score grid heat map, segments, distributions, cross-table.

The section is drawn from ``rfm.json`` (``RFMResult.to_dict()``) only, and put into
the cluster report of the same folder (after its overview), so one page shows both
views. Plain HTML and inline styles (the report's Content-Security-Policy allows
inline styles, no scripts are added); every value is escaped by Jinja2.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

TEMPLATE = "rfm_section.html.j2"


def rfm_section(doc: dict[str, Any]) -> str:
    """The HTML of the RFM section from ``rfm.json``'s content."""
    import jinja2

    from ..report.html import fmt_count, fmt_num, fmt_pct
    from .query import LEFT_OUT_REASONS

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(count=fmt_count, num=fmt_num, pct=fmt_pct)
    grid = doc["score_grid"]
    clusters: list[str] = []
    for row in doc["crosstab"].values():
        clusters += [c for c in row if c not in clusters]
    text = resources.files("custseg.rfm").joinpath(TEMPLATE).read_text("utf-8")
    return env.from_string(text).render(
        doc=doc,
        log=doc["log"],
        grid=grid,
        max_cell=max([c["customers"] for c in grid.values()] or [1]),
        reasons=LEFT_OUT_REASONS,
        clusters=clusters,
    )


def with_rfm_section(report_html: str, doc: dict[str, Any]) -> str:
    """The cluster report with the RFM section after its overview, and a link to it."""
    section = rfm_section(doc)
    anchor = '<section id="choosing-k"'
    if anchor in report_html:
        report_html = report_html.replace(anchor, section + "\n" + anchor, 1)
    else:
        report_html = report_html.replace("</main>", section + "\n</main>", 1)
    nav = '<a href="#overview">Overview</a>'
    return report_html.replace(nav, nav + '\n    <a href="#rfm">RFM</a>', 1)
