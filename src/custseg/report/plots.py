"""Plots drawn from a typed :class:`~custseg.results.SegmentationResult`.

Each plot is a matplotlib figure (``*_figure``) serialised as PNG: the files in
the result folder (``--png``) and the app's figures. The HTML report draws the
same charts as SVG text without matplotlib (:mod:`custseg.report.charts`).

matplotlib is imported here, lazily, never by the computing packages.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .charts import axis_label, dendrogram_link_colours, z_score
from .palette import segment_colour

if TYPE_CHECKING:
    from ..results import SegmentationResult


@contextlib.contextmanager
def _no_glyph_warnings() -> Iterator[None]:
    """Characters the font lacks (emoji in a column name) draw as boxes; no need to warn."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Glyph .* missing from font", category=UserWarning
        )
        yield


PLOT_FILES = ("elbow.png", "silhouette.png", "scatter.png", "profiles.png", "dendrogram.png")


def _subplots(**figure_kwargs):
    """A new figure and its axes, outside pyplot.

    Plain :class:`~matplotlib.figure.Figure` objects touch no global state: no
    backend switch, no figure registry to leak into, safe to draw from a web
    server's threads or inside a user's notebook.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is a core dependency
        from ..errors import ConfigError

        raise ConfigError("plots need matplotlib: pip install matplotlib") from None
    fig = Figure(**figure_kwargs)
    return fig, fig.subplots()


def _label(text: str) -> str:
    """Text from the user's data, shown literally: matplotlib would read ``$...$`` as maths."""
    return str(text).replace("$", r"\$")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    with _no_glyph_warnings():
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def elbow_figure(result: SegmentationResult):
    """Inertia by k with the chosen k (and the knee, when found) marked."""
    sel = result.k_selection
    ks = [c.k for c in sel.candidates]
    inertia = [c.inertia for c in sel.candidates]
    fig, ax = _subplots(figsize=(6, 3.6))
    ax.plot(ks, inertia, "o-", color="#0072B2", label="inertia (within-segment sum of squares)")
    if sel.elbow is not None and sel.elbow in ks:
        i = ks.index(sel.elbow)
        ax.plot(
            [ks[i]],
            [inertia[i]],
            "s",
            ms=12,
            mfc="none",
            mec="#D55E00",
            mew=2,
            label=f"knee (Kneedle): k={sel.elbow}",
        )
    if sel.chosen in ks:
        ax.axvline(sel.chosen, color="#009E73", ls="--", label=f"chosen k={sel.chosen}")
    ax.set_xlabel("number of segments k")
    ax.set_ylabel("inertia")
    ax.set_title("Elbow method")
    ax.set_xticks(ks)
    ax.legend(frameon=False, fontsize=8)
    return fig


def silhouette_figure(result: SegmentationResult):
    """Silhouette by k."""
    sel = result.k_selection
    pts = [(c.k, c.silhouette) for c in sel.candidates if c.silhouette is not None]
    fig, ax = _subplots(figsize=(6, 3.6))
    if pts:
        ks, sil = zip(*pts)
        ax.bar(ks, sil, color=["#009E73" if k == sel.chosen else "#56B4E9" for k in ks])
        ax.set_xticks(ks)
    ax.set_xlabel("number of segments k")
    ax.set_ylabel("mean silhouette")
    sample = sel.silhouette_sample_size
    ax.set_title("Silhouette by k" + (f" (sample of {sample:,} customers)" if sample else ""))
    return fig


def evidence_figure(result: SegmentationResult):
    """Stability of the least stable segment and the gap statistic by k (the combined rule)."""
    sel = result.k_selection
    cands = [c for c in sel.candidates if c.stability is not None]
    fig, ax = _subplots(figsize=(6, 4.0))
    if cands:
        ks = [c.k for c in cands]
        ax.plot(
            ks,
            [c.stability for c in cands],
            "o-",
            color="#0072B2",
            label="stability of the least stable segment",
        )
        ax.axhline(0.75, color="#999999", ls=":", lw=1, label="0.75: stable")
        ax.set_ylim(0, 1.05)
        ax.set_xticks(ks)
        ax.set_ylabel("bootstrap Jaccard")
        gaps = [(c.k, c.gap) for c in cands if c.gap is not None]
        if gaps:
            ax2 = ax.twinx()
            gk, gv = zip(*gaps)
            ax2.plot(gk, gv, "s--", color="#E69F00", label="gap statistic")
            ax2.set_ylabel("gap statistic")
            ax2.spines["right"].set_visible(True)
            lines = ax.get_lines() + ax2.get_lines()
            labels = [ln.get_label() for ln in lines]
        else:
            lines, labels = ax.get_lines(), [ln.get_label() for ln in ax.get_lines()]
        # Below the axes: the curves fill the plot area, so any corner would hide a point.
        ax.legend(
            lines,
            labels,
            frameon=False,
            fontsize=8,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncol=3,
        )
        if sel.chosen in ks:
            ax.axvline(sel.chosen, color="#009E73", ls="--")
    ax.set_xlabel("number of segments k")
    sample = sel.evidence_sample_size
    ax.set_title("Stability and gap by k" + (f" (sample of {sample:,})" if sample else ""))
    return fig


def scatter_figure(result: SegmentationResult):
    """Customers coloured by segment on the two features or the first two principal components."""
    proj = result.projection
    assert proj is not None  # only drawn for results with a map
    names = {s.id: s.name for s in result.segments}
    fig, ax = _subplots(figsize=(7, 5))
    for sid in sorted(names):
        xs = proj.x[proj.segment == sid]
        ys = proj.y[proj.segment == sid]
        ax.scatter(
            xs,
            ys,
            s=14,
            alpha=0.75,
            color=segment_colour(sid),
            label=_label(f"{sid}: {names[sid]}"),
        )
    ax.set_xlabel(_label(axis_label(proj, 0)))
    ax.set_ylabel(_label(axis_label(proj, 1)))
    shown = len(proj.x)
    title = "Customers by segment"
    if shown < proj.n_total:
        title += f" (random sample of {shown:,} of {proj.n_total:,})"
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, loc="best")
    return fig


def profiles_figure(result: SegmentationResult):
    """Each segment's mean per feature, relative to the whole base (in standard deviations)."""
    import numpy as np

    features = result.data.features
    pop = result.population
    segs = result.segments
    fig, ax = _subplots(figsize=(max(6, 1.2 * len(features) * max(1, len(segs)) / 3), 4))
    width = 0.8 / max(1, len(segs))
    x = np.arange(len(features))
    for i, s in enumerate(segs):
        z = [z_score(s.centre[f], pop[f]) for f in features]
        ax.bar(
            x + i * width - 0.4 + width / 2,
            z,
            width,
            color=segment_colour(s.id),
            label=_label(f"{s.id}: {s.name}"),
        )
    ax.axhline(0, color="#444", lw=0.8)
    ax.set_xticks(
        x,
        [_label(f) for f in features],
        rotation=20 if len(features) > 3 else 0,
        ha="right" if len(features) > 3 else "center",
    )
    ax.set_ylabel("segment mean vs all customers\n(standard deviations)")
    ax.set_title("Segment profiles")
    ax.legend(frameon=False, fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


def dendrogram_figure(result: SegmentationResult):
    """The top of the hierarchical tree with the cut line, branches in segment colours."""
    import numpy as np
    from scipy.cluster.hierarchy import dendrogram

    dd = result.dendrogram
    assert dd is not None  # only drawn for hierarchical results
    Z = np.asarray(dd.linkage, dtype=float)
    counts = [int(c) for c in dd.leaf_counts]
    fig, ax = _subplots(figsize=(8, 4.2))
    labels = [f"({c:,})" if c > 1 else "1" for c in counts] if dd.truncated else None
    dendrogram(
        Z,
        ax=ax,
        labels=labels,
        link_color_func=dendrogram_link_colours(result, Z),
        no_labels=not dd.truncated and dd.n_leaves > 60,
        leaf_rotation=90,
    )
    ax.axhline(dd.cut_height, color="#000000", ls="--", lw=1, label=f"cut: k={result.k}")
    title = "Dendrogram"
    if dd.truncated:
        title += (
            f" (top {len(counts)} clusters of {dd.n_leaves:,} leaves; leaf labels count customers)"
        )
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("merge height")
    ax.legend(frameon=False, fontsize=8)
    return fig


def elbow_png(result: SegmentationResult) -> bytes:
    """Inertia by k with the chosen k (and the knee, when found) marked."""
    return _png(elbow_figure(result))


def silhouette_png(result: SegmentationResult) -> bytes:
    """Silhouette by k."""
    return _png(silhouette_figure(result))


def scatter_png(result: SegmentationResult) -> bytes:
    """Customers coloured by segment on the two features or the first two principal components."""
    return _png(scatter_figure(result))


def profiles_png(result: SegmentationResult) -> bytes:
    """Each segment's mean per feature, relative to the whole base (in standard deviations)."""
    return _png(profiles_figure(result))


def dendrogram_png(result: SegmentationResult) -> bytes:
    """The top of the hierarchical tree with the cut line."""
    return _png(dendrogram_figure(result))


def render_plots(result: SegmentationResult) -> dict[str, bytes]:
    """File name -> PNG bytes for every plot that applies to this result."""
    out = {
        "elbow.png": elbow_png(result),
        "silhouette.png": silhouette_png(result),
        "profiles.png": profiles_png(result),
    }
    if result.projection is not None:
        out["scatter.png"] = scatter_png(result)
    if result.dendrogram is not None:
        out["dendrogram.png"] = dendrogram_png(result)
    return out


def write_plots(result: SegmentationResult, folder: str | Path) -> list[Path]:
    """Write the PNG plots into ``folder`` and return their paths."""
    paths = []
    for name, data in render_plots(result).items():
        p = Path(folder) / name
        p.write_bytes(data)
        paths.append(p)
    return paths
