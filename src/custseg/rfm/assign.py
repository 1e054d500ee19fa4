"""``custseg assign model.json new_log.csv``: a new log scored and clustered like the first.

A model written by ``custseg rfm`` clusters the per-customer table; the folder
also holds ``rfm.json`` with the log rules, the score edges and the segment map.
A new log is turned into customers with the same rules (its own as-of date: the
day after its last line), scored with the stored edges, named with the stored
map and assigned to the model's clusters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .analysis import CLUSTER_FEATURES, log_features, per_customer_function, score_customers
from .query import LogRules, LogSummary
from .scores import ScoreEdges, parse_segment_map

RFM_DOC = "rfm.json"


def is_rfm_model(features: tuple[str, ...]) -> bool:
    """Whether a model clusters the per-customer table of ``custseg rfm``."""
    return tuple(features) == tuple(CLUSTER_FEATURES.values())


@dataclass(frozen=True)
class LogAssignment:
    """What assigning a log did: the log read, customers, and where they went."""

    summary: LogSummary
    n_customers: int
    n_assigned: int
    rfm_segments: dict[str, int]
    clusters: dict[str, int]
    out: Path

    def lines(self) -> list[str]:
        s = self.summary
        out = [
            f"read {s.n_lines:,} lines of {s.source}; as of {s.as_of.isoformat()} "
            f"({s.as_of_chosen_by})",
        ]
        from .query import LEFT_OUT_REASONS

        for reason, n in s.left_out.items():
            out.append(f"left out: {n:,} lines {LEFT_OUT_REASONS.get(reason, reason)}")
        out.append(
            f"{self.n_customers:,} customers, {self.n_assigned:,} scored with the model's "
            "score edges and assigned to its clusters"
        )
        out += [f"  {name}: {n:,}" for name, n in self.rfm_segments.items()]
        out += [f"  cluster {name}: {n:,}" for name, n in self.clusters.items()]
        out.append(f"Written to {self.out}")
        return out


def _rfm_doc(model_path: Path) -> dict[str, Any]:
    doc_path = model_path.parent / RFM_DOC
    try:
        return json.loads(doc_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"model '{model_path}' was fitted by custseg rfm, but '{doc_path}' (its score "
            "edges and rules) is not beside it; keep the results folder together"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"'{doc_path}' cannot be read: {exc}") from None


def _header(path: str | Path, sheet: str | None, engine: str) -> list[str]:
    """The column names of a log, read by the engine that reads the log."""
    if engine == "spark":
        from ..engines.spark import SparkEngine
        from ..engines.spark_rfm import read_log

        frame, _, _, _ = read_log(SparkEngine(), path)
        return list(frame.columns)
    from .query import duckdb_connection, source_relation

    with duckdb_connection() as con:
        expr, _, _ = source_relation(con, path, sheet, [])
        return [d[0] for d in con.execute(f"DESCRIBE SELECT * FROM {expr}").fetchall()]


def assign_log(
    model: Any,
    model_path: str | Path,
    path: str | Path,
    out: str | Path,
    *,
    sheet: str | None,
    engine: str = "local",
) -> LogAssignment:
    """Score a new transaction log with a ``custseg rfm`` model and write one row per customer.

    Parameters
    ----------
    model : SegmentModel
        The cluster model (``model.json`` of a ``custseg rfm`` folder).
    model_path : path
        Where it was read from; ``rfm.json`` is read beside it.
    path : path
        The new log.
    out : path
        ``.csv`` or ``.parquet`` output, written atomically (on this computer).
    engine : {"local", "spark"}
        What computes the per-customer table of the new log (DuckDB, or Spark as
        ``custseg rfm --engine spark`` does); the scoring and assignment are local.
    """
    from ..model.assign import output_format
    from ..outputs import write_safe_csv
    from ..outputs.atomic import atomic_file

    fmt = output_format(out)
    model_path = Path(model_path)
    doc = _rfm_doc(model_path)
    try:
        rules_doc = doc["rules"]
        edges = ScoreEdges.from_dict(doc["score_edges"])
        smap = parse_segment_map(doc["segment_map"], f"{model_path.parent / RFM_DOC}")
        columns = doc["log"]["columns"]
    except (KeyError, TypeError) as exc:
        raise ModelError(
            f"'{model_path.parent / RFM_DOC}' lacks {exc}; rerun custseg rfm"
        ) from None
    rules = LogRules(
        returns=rules_doc["returns"],
        non_product=tuple(rules_doc["non_product"]),
        currency=rules_doc.get("currency"),
    )
    # The roles the first log used, where the new log has those columns.
    _, table_of = per_customer_function(engine, path, sheet, None)
    header = _header(path, sheet, engine)
    named = {
        role: columns.get(role) if columns.get(role) in header else None
        for role in ("customer", "date", "invoice", "amount", "quantity", "price", "product")
    }
    named["currency_column"] = (
        columns.get("currency") if columns.get("currency") in header else None
    )
    if named["amount"] is None and (named["quantity"] is None or named["price"] is None):
        named["quantity"] = named["price"] = None
    customers, summary = table_of(path, rules, sheet=sheet, columns=named)
    customers, _ = score_customers(customers, edges, smap)
    has = customers["left_out_reason"] == ""
    assigned = model.assign(log_features(customers[has], tuple(CLUSTER_FEATURES)))
    table = customers[
        [
            "customer_id",
            "recency_days",
            "frequency",
            "monetary",
            "tenure_days",
            "R",
            "F",
            "M",
            "rfm_score",
            "rfm_segment",
        ]
    ].copy()
    assigned.index = customers.index[has.to_numpy()]
    for col in ("segment", "segment_name", "distance", "atypical"):
        table[col] = assigned[col].reindex(customers.index)  # empty for the unscored
    table["segment_name"] = table["segment_name"].fillna("")
    table["left_out_reason"] = customers["left_out_reason"].to_numpy()
    with atomic_file(out) as tmp:
        if fmt == "parquet":
            table.to_parquet(tmp, index=False)
        else:
            write_safe_csv(table, tmp)
    scored = table[has.to_numpy()]
    return LogAssignment(
        summary=summary,
        n_customers=len(table),
        n_assigned=len(scored),
        rfm_segments={k: int(v) for k, v in scored["rfm_segment"].value_counts().items()},
        clusters={k: int(v) for k, v in scored["segment_name"].value_counts().items()},
        out=Path(out),
    )
