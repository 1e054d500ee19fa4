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
        f"method: {doc['method']}"
        + (f" ({doc['linkage']} linkage)" if doc.get("linkage") else "")
        + (
            f"; new customers go to the nearest segment centre, which agrees with the tree "
            f"for {doc['assignment_agreement']:.1%} of these customers"
            if doc.get("linkage") and doc.get("assignment_agreement") is not None
            else ""
        ),
        f"k = {doc['k']}: {sel['note']}",
        *k_evidence_lines(sel),
        "",
    ]
    width = max(len(s["name"]) for s in doc["segments"])
    for s in doc["segments"]:
        lines.append(
            f"  {s['id']:>2}  {s['name']:<{width}}  {s['size']:>7,} ({s['share']:.0%})  "
            + stability_text(s.get("stability"), s.get("stability_reading"))
            + f"-> {s['recommendation']['title']}"
        )
    lines.extend(identity_lines(doc.get("identity")))
    for w in doc.get("warnings", []):
        lines.append(f"warning: {w}")
    # Every repair made to the input is stated where the user sees it, not only in the JSON.
    for r in data.get("repairs", []):
        lines.append(r if r.startswith("flagged: ") else f"repaired: {r}")
    return lines


def stability_text(value: float | None, reading: str | None) -> str:
    """``stability 0.97 (highly stable)  `` for a segment line; empty when not measured."""
    if value is None:
        return ""
    return f"stability {value:.2f} ({reading})  "


def k_evidence_lines(sel: dict[str, Any]) -> list[str]:
    """Group structure, what stability means here, and atypical customers, as summary lines."""
    lines = []
    if sel.get("structure_note"):
        lines.append(sel["structure_note"])
    if sel.get("clear_structure") is False:
        lines.append(
            "These segments are a partition of a continuum: useful to divide customers "
            "into groups of similar size and profile, not natural groups."
        )
    if sel.get("stability_resamples"):
        lines.append(
            f"stability: mean Jaccard agreement of each segment with its best match over "
            f"{sel['stability_resamples']} bootstrap resamples of "
            f"{sel['stability_sample_size']:,} customers (>= 0.85 highly stable, >= 0.75 "
            "stable, >= 0.6 fairly stable, below 0.6 unstable)"
        )
    atypical = sel.get("atypical")
    if atypical:
        lines.append(
            f"atypical: {atypical['count']:,} customer(s) would form a segment smaller than "
            f"{sel.get('min_segment_size')} customers at k={atypical['k']}; they are kept in "
            "their nearest segment and listed as atypical in segments.json "
            "(k_selection.atypical)"
        )
    return lines


def identity_lines(identity: dict[str, Any] | None) -> list[str]:
    """How the segments follow a previous model (--previous): kept, new, vanished, moves."""
    if not identity:
        return []
    lines = ["", f"segment identity from {identity['previous_model']}:"]
    kept = identity["matched"]
    lines.append(
        f"  kept ids and names: {', '.join(str(m['id']) for m in kept) or 'none'}"
        + "".join(
            f"\n    {m['id']} would now be named '{m['computed_name']}'"
            for m in kept
            if m["computed_name"] != m["name"]
        )
    )
    for s in identity["new"]:
        lines.append(f"  new segment {s['id']}: {s['name']} ({s['size']:,} customers)")
    for s in identity["vanished"]:
        lines.append(f"  vanished: segment {s['id']} {s['name']} (had {s['size']:,} customers)")
    migration = identity.get("migration")
    if migration is None:
        lines.append(f"  no migration table: {identity['migration_note']}")
    else:
        moved = [
            r
            for r in migration
            if r["from_segment"] is not None
            and r["to_segment"] is not None
            and r["from_segment"] != r["to_segment"]
        ]
        stayed = sum(
            r["customers"]
            for r in migration
            if r["from_segment"] is not None and r["from_segment"] == r["to_segment"]
        )
        total_moved = sum(r["customers"] for r in moved)
        lines.append(
            f"  customers in both runs: {stayed:,} stayed in their segment, {total_moved:,} moved"
            " (migration.csv)"
        )
        for r in sorted(moved, key=lambda r: -r["customers"])[:5]:
            lines.append(
                f"    {r['from_segment']} -> {r['to_segment']}: {r['customers']:,} customer(s)"
            )
    return lines


def assignment_lines(summary: Any) -> list[str]:
    """Plain-text lines for ``custseg assign``: counts, what was ignored, agreement."""
    lines = [
        f"{summary.n_assigned:,} of {summary.n_rows:,} customers assigned to "
        f"{len(summary.counts)} segments; {summary.n_atypical:,} atypical (farther from their "
        "segment centre than 99% of its training customers)"
    ]
    if summary.n_left_out:
        lines.append(f"{summary.n_left_out:,} left out (missing values; see left_out_reason)")
    if summary.extra_columns:
        shown = ", ".join(summary.extra_columns[:8])
        more = (
            f" and {len(summary.extra_columns) - 8} more" if len(summary.extra_columns) > 8 else ""
        )
        lines.append(f"ignored columns (not in the model): {shown}{more}")
    if summary.id_column is None:
        lines.append("no id column in the data: rows are numbered in column 'row'")
    if summary.method == "hierarchical" and summary.agreement_with_fit is not None:
        lines.append(
            f"hierarchical model: new customers go to the nearest segment centre; on the "
            f"training data this rule agrees with the fitted segments for "
            f"{summary.agreement_with_fit:.1%} of customers"
        )
    width = max((len(n) for n in summary.segment_names.values()), default=0)
    for sid, n in summary.counts.items():
        name = summary.segment_names.get(sid, "")
        atypical = summary.atypical_counts.get(sid, 0)
        lines.append(f"  {sid:>2}  {name:<{width}}  {n:>9,}  ({atypical:,} atypical)")
    lines.append(f"written to {summary.out}")
    return lines
