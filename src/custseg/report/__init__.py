"""Presentation only: plots, text summaries and the HTML report.

Everything here reads a typed :class:`~custseg.results.SegmentationResult`
(fresh, or read back from ``segments.json`` and ``model.json``); nothing here
computes segments. Plotting and templating
libraries are imported lazily, when a plot or a report is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from ..results import SegmentationResult


def render_result(result: SegmentationResult) -> str:
    """The HTML report of a result (see :func:`custseg.report.html.render_result`)."""
    from .html import render_result as _render

    return _render(result)


__all__ = ["render_report", "render_result", "write_report"]


def render_report(doc: dict[str, Any], model_doc: dict[str, Any]) -> str:
    """The HTML report of a saved result (see :func:`custseg.report.html.render_report`)."""
    from .html import render_report as _render

    return _render(doc, model_doc)


def write_report(doc: dict[str, Any], model_doc: dict[str, Any], path: str | Path) -> Path:
    """Write the HTML report atomically (see :func:`custseg.report.html.write_report`)."""
    from .html import write_report as _write

    return _write(doc, model_doc, path)
