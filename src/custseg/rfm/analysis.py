"""From a transaction log to RFM scores, named RFM segments and behaviour clusters.

:func:`rfm` chains the steps: the per-customer table (DuckDB, :mod:`.query`; or Spark,
:mod:`custseg.engines.spark_rfm`, with ``engine="spark"``),
the scores and named segments (:mod:`.scores`), and a clustering of the
log-scaled behaviour through the same pipeline as customer tables
(:func:`custseg.pipeline.segment`), with names and actions from the RFM cluster
playbook (``clusters.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .query import DEFAULT_NON_PRODUCT, LogRules, LogSummary, per_customer_table
from .scores import ScoreEdges, SegmentMap, cluster_playbook_path, load_segment_map

if TYPE_CHECKING:
    from ..results import SegmentationResult

# The clustering features: log-scaled so that a few very large customers do not
# make every other customer one cluster (R, F, M and tenure are all right-skewed).
CLUSTER_FEATURES = {
    "recency_days": "recency (log days)",
    "frequency": "frequency (log orders)",
    "monetary": "monetary (log, signed)",
    "tenure_days": "tenure (log days)",
}
MIN_CLUSTER_CUSTOMERS = 20


def log_features(customers: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``customer_id`` and ``log1p`` of each column (monetary: sign(m) * log1p(|m|))."""
    out = {"customer_id": customers["customer_id"].to_numpy()}
    for c in columns:
        x = customers[c].to_numpy(dtype=float)
        out[CLUSTER_FEATURES.get(c, f"{c} (log)")] = np.sign(x) * np.log1p(np.abs(x))
    return pd.DataFrame(out)


@dataclass(frozen=True)
class RFMResult:
    """Everything :func:`rfm` found.

    Attributes
    ----------
    customers : DataFrame
        One row per customer of the log: ``customer_id``, ``recency_days``,
        ``frequency``, ``monetary``, ``tenure_days``, ``avg_order_value``,
        ``n_products``, ``return_share``, ``purchases``, ``returns``,
        ``first_purchase``, ``last_purchase``, scores ``R``, ``F``, ``M``,
        ``rfm_score`` ("545"), ``rfm_segment``, ``cluster``, ``cluster_name``,
        ``left_out_reason`` (empty for customers scored and clustered).
    summary : LogSummary
        The lines read, left out (by reason) and the as-of date.
    edges : ScoreEdges
        The score bin edges (stored so new logs are scored the same way).
    segment_map : SegmentMap
    clustering : SegmentationResult or None
        The clusters of the log-scaled behaviour (``None`` with ``cluster=False``).
    """

    customers: pd.DataFrame
    summary: LogSummary
    rules: LogRules
    edges: ScoreEdges
    segment_map: SegmentMap
    cluster_features: tuple[str, ...]
    clustering: SegmentationResult | None = None

    @property
    def scored(self) -> pd.DataFrame:
        """The customers that have scores (at least one purchase)."""
        return self.customers[self.customers["left_out_reason"] == ""]

    def cluster_table(self) -> pd.DataFrame:
        """The table the clusters were fitted on: ``customer_id`` and the log features.

        Pass it to :class:`custseg.Segmenter` (``id_column="customer_id"``) to try
        other options on the same behaviour.
        """
        return log_features(self.scored, self.cluster_features)

    def segments_frame(self) -> pd.DataFrame:
        """One row per named RFM segment: size, revenue share, medians, action and reason."""
        s = self.scored
        total_rev = float(s["monetary"].clip(lower=0).sum()) or 1.0
        rows = []
        for seg in self.segment_map.segments:
            part = s[s["rfm_segment"] == seg.name]
            rows.append(
                {
                    "rfm_segment": seg.name,
                    "customers": len(part),
                    "share": len(part) / max(len(s), 1),
                    "revenue": float(part["monetary"].sum()),
                    "revenue_share": float(part["monetary"].clip(lower=0).sum()) / total_rev,
                    "median_recency_days": _median(part["recency_days"]),
                    "median_frequency": _median(part["frequency"]),
                    "median_monetary": _median(part["monetary"]),
                    "description": seg.description,
                    "action": seg.action,
                    "reason": seg.reason,
                }
            )
        return pd.DataFrame(rows)

    def crosstab(self) -> pd.DataFrame:
        """Customers per RFM segment (rows) and cluster (columns), to compare both views."""
        s = self.scored
        if self.clustering is None:
            return pd.DataFrame()
        names = {seg.name: i for i, seg in enumerate(self.segment_map.segments)}
        table = pd.crosstab(s["rfm_segment"], s["cluster_name"])
        order = sorted(table.index, key=lambda n: names.get(n, len(names)))
        cluster_order = [c.name for c in self.clustering.segments if c.name in table.columns]
        return table.loc[order, cluster_order]

    def clusters_frame(self) -> pd.DataFrame:
        """One row per cluster: size, medians of R, F, M and tenure in days and money, action."""
        if self.clustering is None:
            return pd.DataFrame()
        s = self.scored
        rows = []
        for c in self.clustering.segments:
            part = s[s["cluster"] == c.id]
            rows.append(
                {
                    "cluster": c.id,
                    "name": c.name,
                    "customers": len(part),
                    "median_recency_days": _median(part["recency_days"]),
                    "median_frequency": _median(part["frequency"]),
                    "median_monetary": _median(part["monetary"]),
                    "median_tenure_days": _median(part["tenure_days"]),
                    "revenue": float(part["monetary"].sum()),
                    "action": c.recommendation.title,
                    "detail": c.recommendation.action,
                    "reason": c.recommendation.reason,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """The content of ``rfm.json``."""
        from ..results import clean

        s = self.scored
        return clean(
            {
                "log": self.summary.to_dict(),
                "rules": self.rules.to_dict(),
                "n_customers": len(self.customers),
                "n_scored": len(s),
                "left_out_customers": {
                    k: int(v)
                    for k, v in self.customers.loc[
                        self.customers["left_out_reason"] != "", "left_out_reason"
                    ]
                    .value_counts()
                    .items()
                },
                "score_edges": self.edges.to_dict(),
                "segment_map": self.segment_map.to_dict(),
                "segments": self.segments_frame().to_dict(orient="records"),
                "score_grid": _score_grid(s),
                "distributions": {
                    "recency_days": _bins(s["recency_days"], RECENCY_BINS),
                    "frequency": _bins(s["frequency"], FREQUENCY_BINS),
                },
                "cluster_features": [CLUSTER_FEATURES.get(c, c) for c in self.cluster_features],
                "clusters": self.clusters_frame().to_dict(orient="records"),
                "crosstab": {
                    seg: {str(c): int(n) for c, n in row.items()}
                    for seg, row in self.crosstab().iterrows()
                },
            }
        )


def _median(x: pd.Series) -> float | None:
    return float(x.median()) if len(x) else None


RECENCY_BINS = ((0, 30), (31, 90), (91, 180), (181, 365), (366, None))
FREQUENCY_BINS = ((1, 1), (2, 2), (3, 3), (4, 5), (6, 10), (11, None))


def _bins(x: pd.Series, bins: tuple[tuple[int, int | None], ...]) -> list[dict[str, Any]]:
    """Customers per bin of whole numbers (both ends included; None = no upper end)."""
    v = x.to_numpy(dtype=float)
    n = max(len(v), 1)
    out = []
    for lo, hi in bins:
        inside = (v >= lo) & (v <= (np.inf if hi is None else hi))
        label = f"{lo}+" if hi is None else (str(lo) if lo == hi else f"{lo}–{hi}")
        out.append({"bin": label, "customers": int(inside.sum()), "share": inside.sum() / n})
    return out


def _score_grid(s: pd.DataFrame) -> dict[str, Any]:
    """Customers and mean monetary per (R, F) cell: the classic RFM heat map."""
    grid = s.groupby(["R", "F"])["monetary"].agg(["size", "mean"])
    return {
        f"R{r}F{f}": {"customers": int(row["size"]), "mean_monetary": float(row["mean"])}
        for (r, f), row in grid.iterrows()
    }


def _as_date(value: str | date | datetime | None) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value  # type: ignore[return-value]
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"as_of={value!r} is not a date; write it as 2024-03-31") from None


def per_customer_function(
    engine: str, transactions: Any, sheet: str | None, memory_limit: str | None
) -> tuple[str, Callable[..., tuple[pd.DataFrame, LogSummary]]]:
    """(what computes it, the function computing the per-customer table) of an engine."""
    from ..config import ENGINES

    if engine == "local":
        return "DuckDB", per_customer_table
    if engine != "spark":
        raise ConfigError(f"engine={engine!r} is not one of {', '.join(ENGINES)}")
    if isinstance(transactions, pd.DataFrame):
        raise ConfigError(
            "engine='spark' reads the log itself: pass the path of a CSV or Parquet log"
        )
    if memory_limit is not None:
        raise ConfigError(
            "--memory-limit is DuckDB's (--engine local); with --engine spark set Spark's "
            "memory with --spark-conf spark.driver.memory=4g (or spark-submit)"
        )
    if sheet is not None:
        raise ConfigError("--sheet applies to Excel logs, which --engine spark does not read")
    from ..engines.contract import get_data_engine

    get_data_engine("spark")  # a clear error when pyspark is not installed
    from ..engines import spark_rfm

    def spark(path: Any, rules: LogRules, *, sheet: Any, columns: Any) -> Any:
        # The limit is read when the run starts (a test may lower it).
        return spark_rfm.per_customer_table_spark(
            path, rules, columns=columns, max_customers=spark_rfm.DRIVER_CUSTOMERS
        )

    return "Spark", spark


def score_customers(
    customers: pd.DataFrame, edges: ScoreEdges | None, segment_map: SegmentMap
) -> tuple[pd.DataFrame, ScoreEdges]:
    """Add R, F, M, ``rfm_score`` and ``rfm_segment`` to the customers with a purchase."""
    out = customers.copy()
    has = (out["left_out_reason"] == "").to_numpy()
    sub = out[has]
    if edges is None:
        edges = ScoreEdges.fit(
            sub["recency_days"].to_numpy(), sub["frequency"].to_numpy(), sub["monetary"].to_numpy()
        )
    r, f, m = edges.score(
        sub["recency_days"].to_numpy(dtype=float),
        sub["frequency"].to_numpy(dtype=float),
        sub["monetary"].to_numpy(dtype=float),
    )
    for name, values in (("R", r), ("F", f), ("M", m)):
        col = pd.array(np.zeros(len(out), dtype=np.int64), dtype="Int64")
        col[:] = pd.NA
        col[has] = values.astype(np.int64)
        out[name] = col
    code = np.full(len(out), "", dtype=object)
    code[has] = (
        pd.Series(r).astype(str) + pd.Series(f).astype(str) + pd.Series(m).astype(str)
    ).to_numpy()
    out["rfm_score"] = code
    seg = np.full(len(out), "", dtype=object)
    seg[has] = segment_map.name(r, f, m)
    out["rfm_segment"] = seg
    return out, edges


def rfm(
    transactions: str | Path | pd.DataFrame,
    *,
    as_of: str | date | None = None,
    returns: str = "net",
    currency: str | None = None,
    non_product: Sequence[str] = DEFAULT_NON_PRODUCT,
    customer: str | None = None,
    date: str | None = None,
    invoice: str | None = None,
    amount: str | None = None,
    quantity: str | None = None,
    price: str | None = None,
    product: str | None = None,
    currency_column: str | None = None,
    segment_map: str | Path | None = None,
    edges: ScoreEdges | None = None,
    cluster: bool = True,
    k: int | str = "auto",
    method: str = "kmeans",
    seed: int = 0,
    sheet: str | None = None,
    memory_limit: str | None = None,
    engine: str = "local",
    progress: Callable[[str], None] | None = None,
) -> RFMResult:
    """Turn a transaction log into one row per customer, RFM scores, named segments, clusters.

    Parameters
    ----------
    transactions : path or DataFrame
        Invoice or order lines: CSV, Parquet or .xlsx, any size (DuckDB reads it
        within a memory limit, spilling to disk).
    as_of : date or 'YYYY-MM-DD', optional
        The day recency and tenure are counted to (default: the day after the
        last line). Lines on or after it are left out and counted.
    returns : {"net", "drop"}
        Cancellations and returns: subtracted from monetary (``net``) or left out.
    currency : str, optional
        Keep only lines in this currency (required when the log has several).
    non_product : sequence of str
        Product codes that are not products (postage, fees, adjustments).
    customer, date, invoice, amount, quantity, price, product, currency_column : str, optional
        Column names, overriding detection.
    segment_map : path, optional
        A YAML map from scores to named segments (default: the packaged one).
    edges : ScoreEdges, optional
        Score with these bin edges (from an earlier run's ``rfm.json``) instead of
        this log's quintiles.
    cluster : bool
        Also cluster the log-scaled R, F, M and tenure through the segmentation
        pipeline.
    k, method, seed : clustering options (see :class:`custseg.SegmentationConfig`).
    engine : {"local", "spark"}
        Where the per-customer table is computed: ``local`` by DuckDB on this computer,
        ``spark`` by Spark (``transactions`` is a CSV or Parquet path or any URI Spark
        reads; the active Spark session, else a new one). The table then comes to this
        computer (at most :data:`custseg.engines.spark_rfm.DRIVER_CUSTOMERS` customers)
        and the scores, segments and clusters are the same local code on both engines.

    Returns
    -------
    RFMResult

    Examples
    --------
    >>> import custseg
    >>> result = custseg.rfm("invoices.csv", as_of="2011-12-10")  # doctest: +SKIP
    >>> result.customers[["customer_id", "R", "F", "M", "rfm_segment"]].head()  # doctest: +SKIP
    """
    say = progress or (lambda _: None)
    rules = LogRules(
        returns=returns,
        non_product=tuple(non_product),
        currency=currency,
        as_of=_as_date(as_of),
        memory_limit=memory_limit,
    )
    smap = load_segment_map(segment_map)
    by, table = per_customer_function(engine, transactions, sheet, memory_limit)
    say(f"reading the log and computing the per-customer table ({by})")
    customers, summary = table(
        transactions,
        rules,
        sheet=sheet,
        columns={
            "customer": customer,
            "date": date,
            "invoice": invoice,
            "amount": amount,
            "quantity": quantity,
            "price": price,
            "product": product,
            "currency_column": currency_column,
        },
    )
    say("scoring R, F and M")
    customers, fitted = score_customers(customers, edges, smap)
    features = tuple(CLUSTER_FEATURES)
    customers["cluster"] = pd.array([pd.NA] * len(customers), dtype="Int64")
    customers["cluster_name"] = ""
    clustering = None
    n_scored = int((customers["left_out_reason"] == "").sum())
    if cluster and n_scored < MIN_CLUSTER_CUSTOMERS:
        raise ConfigError(
            f"only {n_scored} customers have a purchase; clustering needs at least "
            f"{MIN_CLUSTER_CUSTOMERS} (scores and named segments do not: use --no-cluster)"
        )
    if cluster:
        from ..config import SegmentationConfig
        from ..data.loading import LoadedTable
        from ..pipeline import segment

        table = log_features(customers[customers["left_out_reason"] == ""], features)
        config = SegmentationConfig(
            method=method,
            k=k,
            features=tuple(CLUSTER_FEATURES[c] for c in features),
            id_column="customer_id",
            seed=seed,
            playbook=cluster_playbook_path(),
            # The features are log-scaled already, and a net monetary below zero (returns
            # above purchases) is a rule of the log, not an implausible value.
            transform="none",
            outliers="keep",
        )
        loaded = LoadedTable(
            frame=table,
            source=f"{summary.source} (per-customer RFM table)",
            file_format="rfm",
        )
        clustering = segment(loaded, config, progress=say)
        has = (customers["left_out_reason"] == "").to_numpy()
        labels = np.asarray(clustering.labels, dtype=np.int64)
        names = {s.id: s.name for s in clustering.segments}
        cl = customers["cluster"].copy()
        cl[has] = labels
        customers["cluster"] = cl
        cn = customers["cluster_name"].to_numpy(dtype=object).copy()
        lookup = np.full(max(names, default=0) + 1, "", dtype=object)
        for i, name in names.items():
            lookup[i] = name
        cn[has] = lookup[labels]
        customers["cluster_name"] = cn
    order = [c for c in customers.columns if c != "left_out_reason"] + ["left_out_reason"]
    return RFMResult(
        customers=customers[order],
        summary=summary,
        rules=rules,
        edges=fitted,
        segment_map=smap,
        cluster_features=features,
        clustering=clustering,
    )
