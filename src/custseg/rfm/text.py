"""The terminal summary of ``custseg rfm``: what was read, left out, found."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .query import LEFT_OUT_REASONS

if TYPE_CHECKING:
    from ..results import SegmentationResult


def rfm_summary_lines(doc: dict[str, Any], clusters: SegmentationResult | None) -> list[str]:
    """Plain-text lines from ``rfm.json`` and the typed result of the clusters."""
    log = doc["log"]
    lines = [
        f"read {log['n_lines']:,} lines of {log['source']}: " + _columns(log["columns"]),
        f"dates: {log['date_formats']}; {log['first_date']} to {log['last_date']}",
        f"as of {log['as_of']} ({log['as_of_chosen_by']})",
        f"{log['n_purchase_lines']:,} purchase lines and {log['n_return_lines']:,} cancellation "
        f"or return lines counted (returns: {doc['rules']['returns']})",
    ]
    for reason, n in log["left_out"].items():
        amount = log["left_out_amount"].get(reason)
        money = f", amount {amount:,.2f}" if amount else ""
        lines.append(f"left out: {n:,} lines {LEFT_OUT_REASONS.get(reason, reason)}{money}")
    for r in log["repairs"]:
        lines.append(f"repaired: {r}")
    left = doc["left_out_customers"]
    lines.append(
        f"{doc['n_customers']:,} customers, {doc['n_scored']:,} scored"
        + "".join(f"; {n:,} not scored: {why}" for why, n in left.items())
    )
    lines.append("")
    lines.append("RFM segments (customers, share of revenue) -> action:")
    width = max(len(s["rfm_segment"]) for s in doc["segments"])
    for s in doc["segments"]:
        if s["customers"]:
            lines.append(
                f"  {s['rfm_segment']:<{width}}  {s['customers']:>7,} ({s['revenue_share']:.0%} "
                f"of revenue)  -> {_first_clause(s['action'])}"
            )
    if clusters is not None:
        lines.append("")
        lines.append(
            f"clusters of {', '.join(doc['cluster_features'])}: "
            f"k = {clusters.k}: {clusters.k_selection.note}"
        )
        width = max(len(c["name"]) for c in doc["clusters"])
        for c in doc["clusters"]:
            lines.append(
                f"  {c['cluster']:>2}  {c['name']:<{width}}  {c['customers']:>7,}  "
                f"(median {c['median_recency_days']:.0f} days, {_orders(c['median_frequency'])}, "
                f"{c['median_monetary']:,.0f})  -> {c['action']}"
            )
    return lines


def _columns(cols: dict[str, Any]) -> str:
    parts = [f"customer {cols['customer']!r}", f"date {cols['date']!r}"]
    if cols.get("invoice"):
        parts.append(f"invoice {cols['invoice']!r}")
    if cols.get("amount"):
        parts.append(f"amount {cols['amount']!r}")
    else:
        parts.append(f"quantity {cols['quantity']!r} x price {cols['price']!r}")
    for role in ("product", "currency"):
        if cols.get(role):
            parts.append(f"{role} {cols[role]!r}")
    given = cols.get("given") or []
    return ", ".join(parts) + (f" (given: {', '.join(given)})" if given else " (detected)")


def _first_clause(text: str) -> str:
    head = text.split(":")[0].split(";")[0]
    if len(head) > 60 and ", " in head:
        head = head.split(", ")[0]
    return head.rstrip(".")


def _orders(n: float) -> str:
    return f"{n:.0f} order" if round(n) == 1 else f"{n:.0f} orders"
