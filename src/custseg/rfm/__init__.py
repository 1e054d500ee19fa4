"""Transaction logs to customers: RFM scores, named RFM segments and behaviour clusters.

>>> import custseg
>>> result = custseg.rfm("invoices.csv")  # doctest: +SKIP

The rules are in ``docs/rfm.md``.
"""

from __future__ import annotations

from .analysis import CLUSTER_FEATURES, RFMResult, log_features, rfm, score_customers
from .detect import LogColumns, detect_columns, transaction_log_message
from .outputs import write_rfm_results
from .query import DEFAULT_NON_PRODUCT, LEFT_OUT_REASONS, LogRules, LogSummary, per_customer_table
from .scores import ScoreEdges, SegmentMap, load_segment_map

__all__ = [
    "CLUSTER_FEATURES",
    "DEFAULT_NON_PRODUCT",
    "LEFT_OUT_REASONS",
    "LogColumns",
    "LogRules",
    "LogSummary",
    "RFMResult",
    "ScoreEdges",
    "SegmentMap",
    "detect_columns",
    "load_segment_map",
    "log_features",
    "per_customer_table",
    "rfm",
    "score_customers",
    "transaction_log_message",
    "write_rfm_results",
]
