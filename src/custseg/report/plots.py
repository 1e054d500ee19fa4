"""PNG plots drawn from a result's saved form (the dict of ``segments.json``).

matplotlib is imported here, lazily, never by the computing packages.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .palette import segment_colour

PLOT_FILES = ("elbow.png", "silhouette.png", "scatter.png", "profiles.png", "dendrogram.png")


def _plt():
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a core dependency
        from ..errors import ConfigError

        raise ConfigError("plots need matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    _plt().close(fig)
    return buf.getvalue()


def elbow_png(doc: dict[str, Any]) -> bytes:
    """Inertia by k with the chosen k (and the knee, when found) marked."""
    plt = _plt()
    sel = doc["k_selection"]
    ks = [c["k"] for c in sel["candidates"]]
    inertia = [c["inertia"] for c in sel["candidates"]]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(ks, inertia, "o-", color="#0072B2", label="inertia (within-segment sum of squares)")
    if sel.get("elbow") is not None and sel["elbow"] in ks:
        i = ks.index(sel["elbow"])
        ax.plot(
            [ks[i]],
            [inertia[i]],
            "s",
            ms=12,
            mfc="none",
            mec="#D55E00",
            mew=2,
            label=f"knee (Kneedle): k={sel['elbow']}",
        )
    if sel["chosen"] in ks:
        ax.axvline(sel["chosen"], color="#009E73", ls="--", label=f"chosen k={sel['chosen']}")
    ax.set_xlabel("number of segments k")
    ax.set_ylabel("inertia")
    ax.set_title("Elbow method")
    ax.set_xticks(ks)
    ax.legend(frameon=False, fontsize=8)
    return _png(fig)


def silhouette_png(doc: dict[str, Any]) -> bytes:
    """Silhouette by k."""
    plt = _plt()
    sel = doc["k_selection"]
    pts = [(c["k"], c["silhouette"]) for c in sel["candidates"] if c["silhouette"] is not None]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if pts:
        ks, sil = zip(*pts)
        ax.bar(ks, sil, color=["#009E73" if k == sel["chosen"] else "#56B4E9" for k in ks])
        ax.set_xticks(ks)
    ax.set_xlabel("number of segments k")
    ax.set_ylabel("mean silhouette")
    sample = sel.get("silhouette_sample_size")
    ax.set_title("Silhouette by k" + (f" (sample of {sample:,} customers)" if sample else ""))
    return _png(fig)


def scatter_png(doc: dict[str, Any]) -> bytes:
    """Customers coloured by segment on the two features or the first two principal components."""
    plt = _plt()
    proj = doc["projection"]
    names = {s["id"]: s["name"] for s in doc["segments"]}
    fig, ax = plt.subplots(figsize=(7, 5))
    for sid in sorted(names):
        xs = [x for x, s in zip(proj["x"], proj["segment"]) if s == sid]
        ys = [y for y, s in zip(proj["y"], proj["segment"]) if s == sid]
        ax.scatter(
            xs, ys, s=14, alpha=0.75, color=segment_colour(sid), label=f"{sid}: {names[sid]}"
        )
    ax.set_xlabel(_axis_label(proj, 0))
    ax.set_ylabel(_axis_label(proj, 1))
    shown = proj["n_shown"]
    title = "Customers by segment"
    if shown < proj["n_total"]:
        title += f" (random sample of {shown:,} of {proj['n_total']:,})"
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, loc="best")
    return _png(fig)


def _axis_label(proj: dict[str, Any], i: int) -> str:
    name = proj["axes"][i]
    ev = proj.get("explained_variance")
    if ev:
        return f"{name} ({ev[i]:.0%} of variance)"
    return name


def profiles_png(doc: dict[str, Any]) -> bytes:
    """Each segment's mean per feature, relative to the whole base (in standard deviations)."""
    plt = _plt()
    import numpy as np

    features = doc["features"]
    pop = doc["population"]
    segs = doc["segments"]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(features) * max(1, len(segs)) / 3), 4))
    width = 0.8 / max(1, len(segs))
    x = np.arange(len(features))
    for i, s in enumerate(segs):
        z = [
            (s["centre"][f] - pop[f]["mean"]) / pop[f]["std"] if pop[f]["std"] else 0.0
            for f in features
        ]
        ax.bar(
            x + i * width - 0.4 + width / 2,
            z,
            width,
            color=segment_colour(s["id"]),
            label=f"{s['id']}: {s['name']}",
        )
    ax.axhline(0, color="#444", lw=0.8)
    ax.set_xticks(
        x,
        features,
        rotation=20 if len(features) > 3 else 0,
        ha="right" if len(features) > 3 else "center",
    )
    ax.set_ylabel("segment mean vs all customers\n(standard deviations)")
    ax.set_title("Segment profiles")
    ax.legend(frameon=False, fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return _png(fig)


def dendrogram_png(doc: dict[str, Any]) -> bytes:
    """The top of the hierarchical tree with the cut line."""
    plt = _plt()
    import numpy as np
    from scipy.cluster.hierarchy import dendrogram

    dd = doc["dendrogram"]
    Z = np.asarray(dd["linkage"], dtype=float)
    counts = dd["leaf_counts"]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    labels = [f"({c:,})" if c > 1 else "1" for c in counts] if dd["truncated"] else None
    dendrogram(
        Z,
        ax=ax,
        labels=labels,
        color_threshold=dd["cut_height"],
        above_threshold_color="#888",
        no_labels=not dd["truncated"] and dd["n_leaves"] > 60,
        leaf_rotation=90,
    )
    ax.axhline(dd["cut_height"], color="#D55E00", ls="--", label=f"cut: k={doc['k']}")
    title = "Dendrogram"
    if dd["truncated"]:
        title += (
            f" (top {len(counts)} clusters of {dd['n_leaves']:,} leaves;"
            " leaf labels count customers)"
        )
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("merge height")
    ax.legend(frameon=False, fontsize=8)
    return _png(fig)


def render_plots(doc: dict[str, Any]) -> dict[str, bytes]:
    """File name -> PNG bytes for every plot that applies to this result."""
    out = {
        "elbow.png": elbow_png(doc),
        "silhouette.png": silhouette_png(doc),
        "profiles.png": profiles_png(doc),
    }
    if doc.get("projection"):
        out["scatter.png"] = scatter_png(doc)
    if doc.get("dendrogram"):
        out["dendrogram.png"] = dendrogram_png(doc)
    return out


def write_plots(doc: dict[str, Any], folder: str | Path) -> list[Path]:
    """Write the PNG plots into ``folder`` and return their paths."""
    paths = []
    for name, data in render_plots(doc).items():
        p = Path(folder) / name
        p.write_bytes(data)
        paths.append(p)
    return paths
