"""The HTML report's charts, drawn from a typed :class:`~custseg.results.SegmentationResult`
as inline SVG (:mod:`custseg.report.svg`), without matplotlib.

They show what the PNG figures of :mod:`custseg.report.plots` show (same data, colours,
titles and legends); matplotlib stays for those files (``--png``) and the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .palette import segment_colour
from .svg import (
    CHAR_WIDTH,
    MAX_LABEL,
    Canvas,
    fmt,
    nice_ticks,
    padded,
    shorten,
    text_width,
    tick_label,
)

if TYPE_CHECKING:
    from ..results import Projection, SegmentationResult

BLUE, ORANGE, GREEN, SKY, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#56B4E9", "#D55E00"
#: Bars in a segment card's profile chart; beyond this the chart shows the furthest ones.
MAX_PROFILE_BARS = 30


def _axis_margin(ticks: list[float]) -> float:
    """Room beside a vertical axis for its tick labels and its rotated title."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    top = max(abs(t) for t in ticks)
    widest = max(text_width(tick_label(t, step, top), 8) for t in ticks)
    return 24 + widest


def _k_axis(c: Canvas, ks: list[int]) -> None:
    c.x_axis([float(k) for k in ks], [str(k) for k in ks], title="number of segments k")


def _legend_width(labels: list[str], size: float = 8.0, limit: int = MAX_LABEL) -> float:
    return 22 + max(text_width(shorten(label, limit), size) for label in labels)


def elbow_svg(result: SegmentationResult) -> str:
    """Inertia by k with the chosen k (and the knee, when found) marked."""
    sel = result.k_selection
    ks = [c.k for c in sel.candidates]
    inertia = [float(c.inertia) for c in sel.candidates]
    ticks = nice_ticks(min(inertia, default=0.0), max(inertia, default=1.0))
    c = Canvas(432, 260, left=_axis_margin(ticks))
    c.x_range = (min(ks, default=1) - 0.5, max(ks, default=2) + 0.5)
    c.y_range = padded(ticks[0], ticks[-1], 0.02)
    c.title("Elbow method")
    c.y_axis(ticks, title="inertia")
    _k_axis(c, ks)
    legend = [("line", BLUE, "inertia (within-segment sum of squares)")]
    if sel.chosen in ks:
        c.vline(sel.chosen, colour=GREEN, dash="5 3")
        legend.append(("dash", GREEN, f"chosen k={sel.chosen}"))
    pts = [(c.x(k), c.y(v)) for k, v in zip(ks, inertia)]
    c.line(pts, colour=BLUE)
    c.markers(pts, colour=BLUE, size=3)
    if sel.elbow is not None and sel.elbow in ks:
        i = ks.index(sel.elbow)
        c.markers([pts[i]], colour=VERMILLION, shape="square", size=6, filled=False, stroke_width=2)
        legend.insert(1, ("square", VERMILLION, f"knee (Kneedle): k={sel.elbow}"))
    # The curve falls: its top right corner is free.
    width = _legend_width([label for _, _, label in legend], limit=45)
    c.legend(legend, x=c.left + c.plot_width - width, y=c.top + 12, limit=45)
    return c.svg()


def silhouette_svg(result: SegmentationResult) -> str:
    """Mean silhouette by k, the chosen k in green."""
    sel = result.k_selection
    pts = [(c.k, float(c.silhouette)) for c in sel.candidates if c.silhouette is not None]
    values = [v for _, v in pts]
    ticks = nice_ticks(min([0.0, *values]), max([0.0, *values]) or 1.0)
    c = Canvas(432, 260, left=_axis_margin(ticks))
    ks = [k for k, _ in pts] or [c.k for c in sel.candidates]
    c.x_range = (min(ks, default=1) - 0.6, max(ks, default=2) + 0.6)
    c.y_range = (ticks[0], ticks[-1])
    sample = sel.silhouette_sample_size
    c.title("Silhouette by k" + (f" (sample of {sample:,} customers)" if sample else ""))
    c.y_axis(ticks, title="mean silhouette")
    half = 0.4 * c.plot_width / max(1, c.x_range[1] - c.x_range[0])
    for k, v in pts:
        colour = GREEN if k == sel.chosen else SKY
        c.rect(c.x(k) - half, c.y(0.0), c.x(k) + half, c.y(v), colour=colour)
    if ticks[0] < 0:
        c.hline(0.0, colour="#444444", width=0.8)
    _k_axis(c, ks)
    return c.svg()


def evidence_svg(result: SegmentationResult) -> str:
    """Stability of the least stable segment and the gap statistic by k (the combined rule)."""
    sel = result.k_selection
    cands = [c for c in sel.candidates if c.stability is not None]
    gaps = [(c.k, float(c.gap)) for c in cands if c.gap is not None]
    gap_ticks = nice_ticks(min(v for _, v in gaps), max(v for _, v in gaps)) if gaps else []
    right = _axis_margin(gap_ticks) if gap_ticks else 12.0  # room for its labels and title
    c = Canvas(432, 288, right=right, bottom=72)
    stab_ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    c.left = _axis_margin(stab_ticks)
    c.y_range = (0.0, 1.05)
    sample = sel.evidence_sample_size
    c.title("Stability and gap by k" + (f" (sample of {sample:,})" if sample else ""))
    if not cands:
        c.y_axis(stab_ticks, title="bootstrap Jaccard")
        return c.svg()
    ks = [x.k for x in cands]
    c.x_range = (min(ks) - 0.5, max(ks) + 0.5)
    c.y_axis(stab_ticks, title="bootstrap Jaccard")
    c.hline(0.75, colour="#999999", dash="1.5 2.5")
    legend = [("line", BLUE, "stability of the least stable segment"),
              ("dot", "#999999", "0.75: stable")]  # fmt: skip
    pts = [(c.x(x.k), c.y(float(x.stability or 0.0))) for x in cands]  # cands: stability set
    c.line(pts, colour=BLUE)
    c.markers(pts, colour=BLUE, size=3)
    if gaps:
        gap_range = padded(gap_ticks[0], gap_ticks[-1], 0.02)
        c.y_axis(gap_ticks, title="gap statistic", side="right", y_range=gap_range, grid=False)
        gpts = [(c.x(k), c.y(v, gap_range)) for k, v in gaps]
        c.line(gpts, colour=ORANGE, dash="5 3")
        c.markers(gpts, colour=ORANGE, shape="square", size=3)
        legend.append(("dash", ORANGE, "gap statistic"))
    if sel.chosen in ks:
        c.vline(sel.chosen, colour=GREEN, dash="5 3")
    _k_axis(c, ks)
    # Below the axes: the curves fill the plot area, so any corner would hide a point.
    c.legend(legend, x=max(8.0, c.left - 30), y=c.top + c.plot_height + 48, columns=2,
             column_width=c.width / 2 - 10, limit=40)  # fmt: skip
    return c.svg()


def z_score(value: float, stats: Any) -> float:
    """``value`` in standard deviations from the mean of ``stats`` (a FeatureStats)."""
    return (value - stats.mean) / stats.std if stats.std else 0.0


def segment_profile_svg(result: SegmentationResult, segment_id: int) -> str:
    """One segment's mean per feature against all customers, in standard deviations.

    The horizontal scale is the same for every segment of ``result`` so that the
    cards of a report can be compared at a glance.
    """
    features = result.data.features
    pop = result.population
    seg = result.segment(segment_id)
    reach = max(
        [1.0] + [abs(z_score(s.centre[f], pop[f])) for s in result.segments for f in features]
    )
    n_all = len(features)
    if n_all > MAX_PROFILE_BARS:
        # Thousands of bars would be a chart metres tall: the features furthest from the
        # average, furthest first; all are in segments.csv.
        far = sorted(features, key=lambda f: -abs(z_score(seg.centre[f], pop[f])))
        features = tuple(far[:MAX_PROFILE_BARS])
    labels = [shorten(str(f)) for f in features]
    left = 16 + max(text_width(label, 8) for label in labels)
    top = 30.0 if n_all > len(features) else 10.0
    c = Canvas(max(331.0, left + 200), 30 * len(features) + 48 + top, left=left, top=top,
               bottom=38)  # fmt: skip
    if n_all > len(features):
        c.text(c.width / 2, 14, f"the {len(features)} of {n_all:,} features furthest from the "
               "average", size=8, limit=None)  # fmt: skip
    c.x_range = (-reach * 1.1, reach * 1.1)
    ticks = nice_ticks(-reach, reach, 7)
    c.x_axis(ticks, title="segment mean vs all customers (standard deviations)")
    colour = segment_colour(segment_id)
    row = c.plot_height / max(1, len(features))
    for i, f in enumerate(features):
        z = z_score(seg.centre[f], pop[f])
        mid = c.top + (i + 0.5) * row
        c.rect(c.x(0.0), mid - 0.3 * row, c.x(z), mid + 0.3 * row, colour=colour)
        c.text(c.left - 6, mid + 3, str(f), size=8, anchor="end")
    c.line([(c.x(0.0), c.top), (c.x(0.0), c.top + c.plot_height)], colour="#444444", width=1)
    return c.svg()


def profiles_svg(result: SegmentationResult) -> str:
    """Every segment's mean per feature against all customers (standard deviations):
    a group of bars per feature, one bar per segment, in the segments' colours."""
    features = list(result.data.features)
    pop = result.population
    segs = result.segments
    if len(features) > MAX_PROFILE_BARS:
        # The features that set segments apart most; all are in segments.csv.
        def spread(f: str) -> float:
            return max(abs(z_score(s.centre[f], pop[f])) for s in segs)

        features = sorted(features, key=spread, reverse=True)[:MAX_PROFILE_BARS]
    values = [z_score(s.centre[f], pop[f]) for s in segs for f in features]
    ticks = nice_ticks(min([0.0, *values]), max([0.0, *values]))
    labels = [f"{s.id}: {s.name}" for s in segs]
    legend_width = min(_legend_width(labels, limit=60), 360.0)
    group = max(36.0, 10.0 * len(segs) + 12)
    plot = max(300.0, group * len(features))
    names = [shorten(str(f), 28) for f in features]
    bottom = 30 + max(text_width(n, 8) for n in names) * 0.62
    c = Canvas(
        plot + legend_width + 90, 300 + bottom - 40, left=_axis_margin(ticks),
        right=legend_width + 20, bottom=bottom,
    )  # fmt: skip
    c.x_range = (0.0, float(len(features)))
    c.y_range = (ticks[0], ticks[-1])
    c.title("Segment profiles")
    c.y_axis(ticks, title="segment mean vs all customers (sd)")
    width = 0.8 / max(1, len(segs))
    for j, f in enumerate(features):
        for i, s in enumerate(segs):
            x0 = j + 0.1 + i * width
            c.rect(c.x(x0), c.y(0.0), c.x(x0 + width), c.y(z_score(s.centre[f], pop[f])),
                   colour=segment_colour(s.id))  # fmt: skip
        c.text(c.x(j + 0.5) + 3, c.top + c.plot_height + 12, str(f), size=8, anchor="end",
               rotate=-35, limit=28)  # fmt: skip
    c.hline(0.0, colour="#444444", width=0.8)
    c.legend(
        [("box", segment_colour(s.id), label) for s, label in zip(segs, labels)],
        x=c.width - legend_width - 6,
        y=c.top + 8,
        limit=int((legend_width - 22) / (8 * CHAR_WIDTH)),
    )
    return c.svg()


def axis_label(proj: Projection, i: int) -> str:
    name = proj.axes[i]
    ev = proj.explained_variance
    if ev:
        return f"{name} ({ev[i]:.0%} of variance)"
    return name


def map_svg(result: SegmentationResult) -> tuple[str, list[tuple[float, float]]]:
    """The segment map as inline SVG, and where each projected customer lands in it.

    Returns
    -------
    svg : str
        The ``<svg>`` element (its ``viewBox`` is in points).
    positions : list of (x, y)
        One pair per point of ``result.projection``, in the SVG's user units, so a
        script can find the customer under the mouse.
    """
    import numpy as np

    proj = result.projection
    assert proj is not None  # only drawn for results with a map
    names = {s.id: s.name for s in result.segments}
    labels = [f"{sid}: {names[sid]}" for sid in sorted(names)]
    legend_width = min(_legend_width(labels, limit=60), 330.0)
    x_ticks = nice_ticks(*_finite_range(proj.x))
    y_ticks = nice_ticks(*_finite_range(proj.y))
    c = Canvas(max(648.0, 430 + legend_width), 360, left=_axis_margin(y_ticks),
               right=legend_width + 14)  # fmt: skip
    c.x_range = padded(
        min(x_ticks[0], *_finite_range(proj.x)), max(x_ticks[-1], *_finite_range(proj.x)), 0.02
    )
    c.y_range = padded(
        min(y_ticks[0], *_finite_range(proj.y)), max(y_ticks[-1], *_finite_range(proj.y)), 0.02
    )
    shown = len(proj.x)
    title = "Customers by segment"
    if shown < proj.n_total:
        title += f" (random sample of {shown:,} of {proj.n_total:,})"
    c.title(title)
    c.y_axis(y_ticks, title=axis_label(proj, 1))
    c.x_axis(x_ticks, title=axis_label(proj, 0), grid=True)
    px = (
        c.left
        + (np.asarray(proj.x, dtype=float) - c.x_range[0])
        / ((c.x_range[1] - c.x_range[0]) or 1.0)
        * c.plot_width
    )
    py = c.top + (1.0 - (np.asarray(proj.y, dtype=float) - c.y_range[0]) / (
        (c.y_range[1] - c.y_range[0]) or 1.0
    )) * c.plot_height  # fmt: skip
    px, py = np.round(px, 2), np.round(py, 2)
    segment = np.asarray(proj.segment)
    for sid in sorted(names):
        idx = np.flatnonzero(segment == sid)
        dots = "".join(f'<circle cx="{fmt(px[i])}" cy="{fmt(py[i])}" r="2.6"/>' for i in idx)
        c.add(f'<g fill="{segment_colour(sid)}" fill-opacity="0.75">{dots}</g>')
    c.legend(
        [("point", segment_colour(sid), label) for sid, label in zip(sorted(names), labels)],
        x=c.width - legend_width - 6,
        y=c.top + 8,
        limit=int((legend_width - 22) / (8 * CHAR_WIDTH)),
    )
    positions = [(float(x), float(y)) for x, y in zip(px, py)]
    return c.svg(), positions


def _finite_range(values: Any) -> tuple[float, float]:
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0.0, 1.0
    return float(v.min()), float(v.max())


def dendrogram_link_colours(result: SegmentationResult, Z) -> Any:
    """A ``link_color_func`` giving each branch below the cut its segment's colour.

    The drawn tree's clusters at the cut are the segments; they are matched to
    segment ids by size (ids are numbered largest first), so the dendrogram uses
    the same colours as the cards and the map. Branches above the cut are grey.
    """
    import numpy as np
    from scipy.cluster.hierarchy import fcluster

    dd = result.dendrogram
    assert dd is not None  # only drawn for hierarchical results
    n = len(Z) + 1
    cut = dd.cut_height
    flat = fcluster(Z, t=cut, criterion="distance")
    counts = np.asarray(dd.leaf_counts)
    sizes = {int(c): int(counts[flat == c].sum()) for c in np.unique(flat)}
    clusters = sorted(sizes, key=lambda c: (-sizes[c], c))
    segments = sorted(result.segments, key=lambda s: (-s.size, s.id))
    colour = {c: segment_colour(s.id) for c, s in zip(clusters, segments)}
    first_leaf = list(range(n))
    for a, _b, _h, _c in Z:
        first_leaf.append(first_leaf[int(a)])

    def link_colour(node: int) -> str:
        if Z[node - n, 2] > cut:
            return "#888888"
        return colour.get(int(flat[first_leaf[node]]), "#888888")

    return link_colour


def dendrogram_svg(result: SegmentationResult) -> str:
    """The top of the hierarchical tree with the cut line, branches in segment colours."""
    import numpy as np
    from scipy.cluster.hierarchy import dendrogram

    dd = result.dendrogram
    assert dd is not None  # only drawn for hierarchical results
    Z = np.asarray(dd.linkage, dtype=float)
    counts = [int(x) for x in dd.leaf_counts]
    labels = [f"({x:,})" if x > 1 else "1" for x in counts] if dd.truncated else None
    show_labels = bool(dd.truncated) or dd.n_leaves <= 60
    tree = dendrogram(
        Z,
        no_plot=True,
        labels=labels,
        link_color_func=dendrogram_link_colours(result, Z),
        no_labels=not show_labels,
    )
    leaves = [str(x) for x in tree["ivl"]]
    bottom = 40 + (max((text_width(x, 7) for x in leaves), default=0) if show_labels else 0)
    heights = [h for seg in tree["dcoord"] for h in seg] + [dd.cut_height]
    ticks = nice_ticks(0.0, max(heights))
    c = Canvas(576, 262 + bottom - 40, left=_axis_margin(ticks), bottom=bottom)
    c.x_range = (0.0, 10.0 * max(1, len(leaves)))
    c.y_range = (0.0, max(ticks[-1], max(heights) * 1.05))
    title = "Dendrogram"
    if dd.truncated:
        title += (
            f" (top {len(counts)} clusters of {dd.n_leaves:,} leaves; leaf labels count customers)"
        )
    c.title(title, size=10)
    c.y_axis(ticks, title="merge height", grid=False)
    base = c.top + c.plot_height
    c.line([(c.left, base), (c.left + c.plot_width, base)], colour="#444444", width=0.8)
    for xs, ys, colour in zip(tree["icoord"], tree["dcoord"], tree["color_list"]):
        c.line([(c.x(x), c.y(y)) for x, y in zip(xs, ys)], colour=colour, width=1.2)
    if show_labels:
        for i, leaf in enumerate(leaves):
            x = c.x(5.0 + 10.0 * i)
            c.text(x + 2.5, base + 6, leaf, size=7, anchor="end", rotate=-90, limit=16)
    c.hline(dd.cut_height, colour="#000000", dash="5 3")
    label = f"cut: k={result.k}"
    c.legend([("dash", "#000000", label)], x=c.left + c.plot_width - _legend_width([label]),
             y=c.top + 12)  # fmt: skip
    return c.svg()


__all__ = [
    "MAX_LABEL",
    "dendrogram_svg",
    "elbow_svg",
    "evidence_svg",
    "map_svg",
    "profiles_svg",
    "segment_profile_svg",
    "silhouette_svg",
]
