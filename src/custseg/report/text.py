"""The short terminal summary of a result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model.identity import IdentityReport
    from ..results import DataSummary, KSelection, SegmentationResult


def summary_lines(result: SegmentationResult) -> list[str]:
    """Plain-text lines: what was used, the k and why, one line per segment."""
    data = result.data
    sel = result.k_selection
    hierarchical = result.config.method == "hierarchical"
    agreement = result.model.assignment_agreement
    lines = [
        f"{data.n_used:,} of {data.n_rows:,} customers segmented"
        + (
            f" ({data.n_dropped:,} left out: "
            + ", ".join(f"{v:,} {k}" for k, v in data.dropped.items())
            + ")"
            if data.n_dropped
            else ""
        ),
        f"features ({data.features_chosen_by}): "
        + _names(data.features)
        + f"; scaling: {result.config.scale}"
        + ("; log-transformed: " + _names(list(data.transformed)) if data.transformed else ""),
        *_role_lines(data, result.assignments_file),
        f"method: {result.config.method}"
        + (f" ({result.config.linkage} linkage)" if hierarchical else "")
        + (
            f"; new customers go to the nearest segment centre, which agrees with the tree "
            f"for {agreement:.1%} of these customers"
            if hierarchical and agreement is not None
            else ""
        ),
        f"k = {result.k}: {sel.note}",
        *k_evidence_lines(sel),
        "",
    ]
    width = max(len(s.name) for s in result.segments)
    for s in result.segments:
        lines.append(
            f"  {s.id:>2}  {s.name:<{width}}  {s.size:>7,} ({s.share:.0%})  "
            + stability_text(s.stability, s.stability_reading)
            + f"-> {s.recommendation.title}"
        )
        traits = s.traits()
        if traits:
            lines.append(" " * 6 + "traits: " + "; ".join(trait_text(*t) for t in traits))
    lines.extend(identity_lines(result.identity))
    for w in result.warnings:
        lines.append(f"warning: {w}")
    # Every repair made to the input is stated where the user sees it, not only in the JSON.
    for r in data.repairs:
        lines.append(r if r.startswith(("flagged: ", "derived ")) else f"repaired: {r}")
    return lines


def _role_lines(data: DataSummary, assignments: str = "assignments.csv") -> list[str]:
    """Descriptors, excluded columns with why, derived columns: what the roles decided."""
    lines = []
    if data.descriptors:
        lines.append("described, not clustered on: " + ", ".join(data.descriptors))
    for r in data.roles:
        # The user chose with --features: no need to say it back.
        if r.use == "excluded" and not r.reason.endswith("(--features)"):
            lines.append(f"left out column {r.column!r}: {r.reason}")
    if data.n_atypical:
        lines.append(
            f"{data.n_atypical:,} atypical customers (implausible or extreme values) were "
            "kept out of fitting the centres and assigned to the nearest segment "
            f"(atypical in {assignments})"
        )
    return lines


def trait_text(column: str, level: str, figures: dict[str, Any]) -> str:
    """``Income high (+1.3 sd)`` or ``Complain high (rate x2.4 the base)``: a level with
    the figure it rests on (see custseg.profiling.levels)."""
    ratio = figures.get("ratio")
    if ratio is not None:
        return f"{column} {level} (rate x{ratio:.2g} the base)"
    effect = figures.get("effect")
    return f"{column} {level}" + (f" ({effect:+.1f} sd)" if effect is not None else "")


def stability_text(value: float | None, reading: str | None) -> str:
    """``stability 0.97 (highly stable)  `` for a segment line; empty when not measured."""
    if value is None:
        return ""
    return f"stability {value:.2f} ({reading})  "


def k_evidence_lines(sel: KSelection) -> list[str]:
    """Group structure, what stability means here, and atypical customers, as summary lines."""
    lines = []
    if sel.structure_note:
        lines.append(sel.structure_note)
    if sel.clear_structure is False:
        lines.append(
            "These segments are a partition of a continuum: useful to divide customers "
            "into groups of similar size and profile, not natural groups."
        )
    if sel.stability_resamples:
        lines.append(
            f"stability: mean Jaccard agreement of each segment with its best match over "
            f"{sel.stability_resamples} bootstrap resamples of "
            f"{sel.stability_sample_size or 0:,} customers (>= 0.85 highly stable, >= 0.75 "
            "stable, >= 0.6 fairly stable, below 0.6 unstable)"
        )
    atypical = sel.atypical
    if atypical:
        lines.append(
            f"atypical: {atypical['count']:,} customer(s) would form a segment smaller than "
            f"{sel.min_segment_size} customers at k={atypical['k']}; they are kept in "
            "their nearest segment and listed as atypical in segments.json "
            "(k_selection.atypical)"
        )
    return lines


def identity_lines(identity: IdentityReport | None) -> list[str]:
    """How the segments follow a previous model (--previous): kept, new, vanished, moves."""
    if identity is None:
        return []
    lines = ["", f"segment identity from {identity.previous_model}:"]
    kept = identity.matched
    lines.append(
        f"  kept ids and names: {', '.join(str(m.id) for m in kept) or 'none'}"
        + "".join(
            f"\n    {m.id} would now be named '{m.computed_name}'"
            for m in kept
            if m.computed_name != m.name
        )
    )
    for s in identity.new:
        lines.append(f"  new segment {s.id}: {s.name} ({s.size:,} customers)")
    for s in identity.vanished:
        lines.append(f"  vanished: segment {s.id} {s.name} (had {s.size:,} customers)")
    migration = identity.migration
    if migration is None:
        lines.append(f"  no migration table: {identity.migration_note}")
    else:
        both = migration["from_segment"].notna() & migration["to_segment"].notna()
        same = both & (migration["from_segment"] == migration["to_segment"])
        moved = migration[both & ~same]
        stayed = int(migration.loc[same, "customers"].sum())
        total_moved = int(moved["customers"].sum())
        lines.append(
            f"  customers in both runs: {stayed:,} stayed in their segment, {total_moved:,} moved"
            " (migration.csv)"
        )
        for r in (
            moved.sort_values("customers", ascending=False, kind="stable").head(5).itertuples()
        ):
            lines.append(
                f"    {r.from_segment} -> {r.to_segment}: {int(r.customers):,} customer(s)"
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
    lines.extend(f"read: {note}" for note in summary.repairs)
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


def _names(names: tuple[str, ...] | list[str], limit: int = 20) -> str:
    """Column names for one terminal line: thousands of them are cut, with where they all are."""
    if len(names) <= limit:
        return ", ".join(names)
    rest = len(names) - limit
    return ", ".join(names[:limit]) + f", ... and {rest:,} more (all in segments.json)"
