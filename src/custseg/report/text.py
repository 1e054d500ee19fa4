"""The short terminal summary of a result."""

from __future__ import annotations

from typing import Any


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """Plain-text lines: what was used, the k and why, one line per segment."""
    data = doc["data"]
    sel = doc["k_selection"]
    lines = [
        f"{data['n_used']:,} of {data['n_rows']:,} customers segmented"
        + (
            f" ({data['n_dropped']:,} left out: "
            + ", ".join(f"{v:,} {k}" for k, v in data["dropped"].items())
            + ")"
            if data["n_dropped"]
            else ""
        ),
        f"features ({data['features_chosen_by']}): "
        + ", ".join(data["features"])
        + f"; scaling: {doc['scale']}",
        f"method: {doc['method']}" + (f" ({doc['linkage']} linkage)" if doc.get("linkage") else ""),
        f"k = {doc['k']}: {sel['note']}",
        "",
    ]
    width = max(len(s["name"]) for s in doc["segments"])
    for s in doc["segments"]:
        lines.append(
            f"  {s['id']:>2}  {s['name']:<{width}}  {s['size']:>7,} ({s['share']:.0%})  "
            f"-> {s['recommendation']['title']}"
        )
    for w in doc.get("warnings", []):
        lines.append(f"warning: {w}")
    # Every repair made to the input is stated where the user sees it, not only in the JSON.
    for r in data.get("repairs", []):
        lines.append(r if r.startswith("flagged: ") else f"repaired: {r}")
    return lines
