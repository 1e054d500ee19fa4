"""Charts for the HTML report, written directly as SVG text.

The report's charts are simple (lines, bars and points on linear axes), so they are
written here as SVG elements instead of being drawn by matplotlib and serialised:
importing and drawing with matplotlib was most of a small run's time (about 1 s for
the 200-customer reference table), and the SVG it writes is larger. matplotlib still
draws the PNG files (``--png``) and the app's figures (:mod:`custseg.report.plots`).

Every text from the data is XML-escaped here (:func:`_esc`), and long labels are
shortened with their full text in a ``<title>`` (a tooltip). Sizes are in points
(the ``viewBox``); CSS scales the chart to its box. Text widths are estimated from
the number of characters (no font metrics): generous margins absorb the error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

#: Average width of a character, as a fraction of the font size (sans-serif, generous).
CHAR_WIDTH = 0.58
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
AXIS_COLOUR = "#444444"
GRID_COLOUR = "#e6e6e6"
#: Longest label drawn in full; longer ones end in "…" and carry the full text as a tooltip.
MAX_LABEL = 32


def _esc(text: object) -> str:
    return escape(str(text), quote=True)


def fmt(value: float) -> str:
    """A coordinate with at most two decimals, without trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def text_width(text: str, size: float) -> float:
    """Estimated width in points of ``text`` at font size ``size``."""
    return len(text) * size * CHAR_WIDTH


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` cut to ``limit`` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nice_ticks(lo: float, hi: float, max_ticks: int = 6) -> list[float]:
    """Round tick values from at most ``lo`` to at least ``hi``, a step of 1, 2, 2.5 or 5 × 10^n."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, max_ticks - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    ticks = [round(i * step, 12) for i in range(first, last + 1)]
    return ticks or [lo]


def tick_label(value: float, step: float, top: float | None = None) -> str:
    """A tick value as a short label: ``1.5M``, ``250k``, ``0.75``, ``−2``.

    ``top`` is the largest absolute tick of the axis, so that every label of an
    axis takes the same suffix (``500k``, ``1,000k``, ``1,500k`` rather than a mix).
    """
    if value == 0:
        return "0"
    big = max(abs(value), abs(step)) if top is None else abs(top)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e4, "k")):
        if big >= div:
            if suffix == "k":
                div = 1e3
            return _plain(value / div, step / div) + suffix
    return _plain(value, step)


def _plain(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(abs(step)) + 1e-9)) if step else 2
    if step and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6:
        decimals += 1  # a step of 2.5 × 10^n needs one more decimal
    text = f"{value:,.{decimals}f}"
    return text.replace("-", "\u2212")


@dataclass
class Canvas:
    """One chart: a plot area inside margins, on linear axes, collecting SVG elements."""

    width: float
    height: float
    left: float = 52.0
    right: float = 12.0
    top: float = 26.0
    bottom: float = 40.0
    x_range: tuple[float, float] = (0.0, 1.0)
    y_range: tuple[float, float] = (0.0, 1.0)
    parts: list[str] = field(default_factory=list)

    # -- coordinates -------------------------------------------------------------
    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def x(self, value: float) -> float:
        lo, hi = self.x_range
        return self.left + (value - lo) / ((hi - lo) or 1.0) * self.plot_width

    def y(self, value: float, y_range: tuple[float, float] | None = None) -> float:
        lo, hi = y_range or self.y_range
        return self.top + (1.0 - (value - lo) / ((hi - lo) or 1.0)) * self.plot_height

    # -- elements ----------------------------------------------------------------
    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 9.0,
        anchor: str = "middle",
        colour: str = "#222222",
        rotate: float = 0.0,
        weight: str | None = None,
        limit: int | None = MAX_LABEL,
    ) -> None:
        """``text`` at (x, y) (the baseline); cut to ``limit`` characters with a tooltip."""
        shown = shorten(text, limit) if limit else text
        attrs = f'x="{fmt(x)}" y="{fmt(y)}" font-size="{fmt(size)}"'
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if colour != "#222222":
            attrs += f' fill="{colour}"'
        if weight:
            attrs += f' font-weight="{weight}"'
        if rotate:
            attrs += f' transform="rotate({fmt(rotate)} {fmt(x)} {fmt(y)})"'
        tip = f"<title>{_esc(text)}</title>" if shown != text else ""
        self.add(f"<text {attrs}>{tip}{_esc(shown)}</text>")

    def line(
        self,
        points: Sequence[tuple[float, float]],
        *,
        colour: str,
        width: float = 1.5,
        dash: str | None = None,
    ) -> None:
        """A polyline through ``points`` (SVG coordinates)."""
        if len(points) < 2:
            return
        coords = " ".join(f"{fmt(px)},{fmt(py)}" for px, py in points)
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" '
            f'stroke-width="{fmt(width)}"{extra}/>'
        )

    def markers(
        self,
        points: Sequence[tuple[float, float]],
        *,
        colour: str,
        shape: str = "circle",
        size: float = 3.0,
        filled: bool = True,
        stroke_width: float = 1.5,
    ) -> None:
        """A marker at each of ``points`` (SVG coordinates); ``size`` is the half-width."""
        paint = (
            f'fill="{colour}"'
            if filled
            else f'fill="none" stroke="{colour}" stroke-width="{fmt(stroke_width)}"'
        )
        for px, py in points:
            if shape == "square":
                self.add(
                    f'<rect x="{fmt(px - size)}" y="{fmt(py - size)}" width="{fmt(2 * size)}" '
                    f'height="{fmt(2 * size)}" {paint}/>'
                )
            else:
                self.add(f'<circle cx="{fmt(px)}" cy="{fmt(py)}" r="{fmt(size)}" {paint}/>')

    def rect(self, x0: float, y0: float, x1: float, y1: float, *, colour: str) -> None:
        """A filled rectangle between two corners (SVG coordinates, any order)."""
        x, y = min(x0, x1), min(y0, y1)
        w, h = abs(x1 - x0), abs(y1 - y0)
        self.add(
            f'<rect x="{fmt(x)}" y="{fmt(y)}" width="{fmt(w)}" height="{fmt(h)}" fill="{colour}"/>'
        )

    def vline(self, value: float, *, colour: str, dash: str | None = None, width: float = 1.2):
        """A vertical line across the plot area at data value ``value``."""
        px = self.x(value)
        self.line([(px, self.top), (px, self.top + self.plot_height)], colour=colour,
                  width=width, dash=dash)  # fmt: skip

    def hline(
        self,
        value: float,
        *,
        colour: str,
        dash: str | None = None,
        width: float = 1.0,
        y_range: tuple[float, float] | None = None,
    ) -> None:
        """A horizontal line across the plot area at data value ``value``."""
        py = self.y(value, y_range)
        self.line([(self.left, py), (self.left + self.plot_width, py)], colour=colour,
                  width=width, dash=dash)  # fmt: skip

    # -- axes, titles, legends -----------------------------------------------------
    def title(self, text: str, *, size: float = 11.0) -> None:
        limit = max(12, int(self.width / (size * CHAR_WIDTH)))
        self.text(self.width / 2, 16, text, size=size, limit=limit)

    def x_axis(
        self,
        ticks: Sequence[float],
        labels: Sequence[str] | None = None,
        *,
        title: str = "",
        grid: bool = False,
        rotate: bool = False,
    ) -> None:
        """The bottom axis line, ticks with labels, and the axis title."""
        base = self.top + self.plot_height
        self.line([(self.left, base), (self.left + self.plot_width, base)], colour=AXIS_COLOUR,
                  width=0.8)  # fmt: skip
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        top = max(abs(t) for t in ticks)
        for i, t in enumerate(ticks):
            px = self.x(t)
            if grid:
                self.line([(px, self.top), (px, base)], colour=GRID_COLOUR, width=0.6)
            self.line([(px, base), (px, base + 3.5)], colour=AXIS_COLOUR, width=0.8)
            label = labels[i] if labels is not None else tick_label(t, step, top)
            if rotate:
                self.text(px + 3, base + 12, label, size=8, anchor="end", rotate=-35, limit=20)
            else:
                self.text(px, base + 13, label, size=8)
        if title:
            # Centred under the plot, or under the whole chart when wider than the plot.
            centre = self.left + self.plot_width / 2
            if text_width(title, 9) > self.plot_width:
                centre = self.width / 2
            self.text(centre, base + 30, title, size=9,
                      limit=int(self.width / (9 * CHAR_WIDTH)))  # fmt: skip

    def y_axis(
        self,
        ticks: Sequence[float],
        *,
        title: str = "",
        side: str = "left",
        y_range: tuple[float, float] | None = None,
        grid: bool = True,
    ) -> None:
        """A vertical axis (left or right) with ticks, labels, optional grid and title."""
        edge = self.left if side == "left" else self.left + self.plot_width
        out = -1 if side == "left" else 1
        self.line([(edge, self.top), (edge, self.top + self.plot_height)], colour=AXIS_COLOUR,
                  width=0.8)  # fmt: skip
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        top = max(abs(t) for t in ticks)
        for t in ticks:
            py = self.y(t, y_range)
            if grid:
                self.line([(self.left, py), (self.left + self.plot_width, py)],
                          colour=GRID_COLOUR, width=0.6)  # fmt: skip
            self.line([(edge, py), (edge + out * 3.5, py)], colour=AXIS_COLOUR, width=0.8)
            self.text(edge + out * 5.5, py + 3, tick_label(t, step, top), size=8,
                      anchor="end" if side == "left" else "start")  # fmt: skip
        if title:
            margin = self.left if side == "left" else self.right
            px = edge + out * (margin - 8)
            py = self.top + self.plot_height / 2
            self.text(px, py, title, size=9, rotate=-90 if side == "left" else 90,
                      limit=int(self.plot_height / (9 * CHAR_WIDTH)))  # fmt: skip

    def legend(
        self,
        entries: Sequence[tuple[str, str, str]],
        *,
        x: float,
        y: float,
        columns: int = 1,
        column_width: float = 0.0,
        size: float = 8.0,
        limit: int = MAX_LABEL,
    ) -> None:
        """Legend rows ``(kind, colour, label)`` from (x, y).

        kind: line, dash, dot, box (filled), square (outline) or point.
        """
        row_height = size + 5
        for i, (kind, colour, label) in enumerate(entries):
            col, row = (i % columns, i // columns)
            lx = x + col * column_width
            ly = y + row * row_height
            if kind in ("line", "dash", "dot"):
                dash = {"line": None, "dash": "5 3", "dot": "1.5 2.5"}[kind]
                self.line([(lx, ly - 3), (lx + 16, ly - 3)], colour=colour, dash=dash)
            elif kind == "point":
                self.add(f'<circle cx="{fmt(lx + 8)}" cy="{fmt(ly - 3)}" r="3.5" fill="{colour}"/>')
            elif kind == "square":
                self.add(
                    f'<rect x="{fmt(lx + 3)}" y="{fmt(ly - 8)}" width="9" height="9" fill="none" '
                    f'stroke="{colour}" stroke-width="2"/>'
                )
            else:
                self.rect(lx + 2, ly - 8, lx + 12, ly + 1, colour=colour)
            self.text(lx + 20, ly, label, size=size, anchor="start", limit=limit)

    def svg(self) -> str:
        """The chart as one ``<svg>`` element (no fixed size: CSS scales it)."""
        return (
            f'<svg viewBox="0 0 {fmt(self.width)} {fmt(self.height)}" '
            f'font-family="{FONT}">' + "".join(self.parts) + "</svg>"
        )


def padded(lo: float, hi: float, fraction: float = 0.05) -> tuple[float, float]:
    """``(lo, hi)`` widened by ``fraction`` of the span on each side (a flat range by 1)."""
    span = hi - lo
    if span <= 0:
        span = abs(hi) or 1.0
    return lo - fraction * span, hi + fraction * span
