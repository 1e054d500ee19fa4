"""What each column of a loaded table looks like to the segmentation.

The web app shows this before the user picks features; it applies the same
rules as :func:`custseg.data.prepare.prepare` so that the columns offered as
features by default are exactly the ones the pipeline would choose itself.
"""

from __future__ import annotations

import pandas as pd

from .numbers import coerce_numeric
from .prepare import MAX_CATEGORY_LEVELS, detect_id

KINDS = ("id", "number", "category", "text", "true/false", "empty", "constant", "unusable id")


def describe_columns(frame: pd.DataFrame, roles: dict | None = None) -> pd.DataFrame:
    """One row per column: its detected kind, empty cells, distinct values and an example.

    Parameters
    ----------
    frame : DataFrame
        The table as read by :func:`custseg.data.loading.load_table`.
    roles : dict, optional
        A user's column roles (as ``SegmentationConfig.roles``): the ``role`` and
        ``use`` columns then say what the pipeline does with them.

    Returns
    -------
    DataFrame
        Columns ``column``, ``kind`` (one of :data:`KINDS`), ``empty``,
        ``distinct``, ``example``, ``role`` and ``use`` (``feature``, ``descriptor``,
        ``id``, ``excluded``, ...: see :class:`custseg.features.roles.ColumnRole`), in
        the table's column order.

    Examples
    --------
    >>> from custseg import make_customers
    >>> describe_columns(make_customers(50))["kind"].tolist()
    ['id', 'category', 'number', 'number', 'number']
    """
    frame = frame.set_axis([str(c).strip() for c in frame.columns], axis=1)
    id_column, not_ids = detect_id(frame, [])
    rows = []
    for name in frame.columns:
        col = frame[name]
        non_empty = col.dropna()
        distinct = int(non_empty.nunique())
        if name == id_column:
            kind = "id"
        elif non_empty.empty:
            kind = "empty"
        elif pd.api.types.is_bool_dtype(col):
            kind = "true/false"
        elif name in not_ids:
            kind = "unusable id"  # named like an id but repeats or has gaps
        elif (values := coerce_numeric(col, name, strict=False)[0]) is not None:
            finite = values[~pd.isna(values)]
            kind = "constant" if len(finite) and (finite == finite[0]).all() else "number"
        elif distinct <= MAX_CATEGORY_LEVELS:
            kind = "category"
        else:
            kind = "text"
        rows.append(
            {
                "column": name,
                "kind": kind,
                "empty": int(col.isna().sum()),
                "distinct": distinct,
                "example": "" if non_empty.empty else str(non_empty.iloc[0]),
            }
        )
    out = pd.DataFrame(rows, columns=["column", "kind", "empty", "distinct", "example"])
    # The pipeline's own rulebook decides which columns are default features.
    try:
        from ..config import SegmentationConfig
        from .prepare import prepare

        config = SegmentationConfig(k_max=2, roles=roles)
        found = {r.column: r for r in prepare(frame, config).summary.roles}
    except Exception:  # a table the pipeline refuses: the app shows the error on run
        found = {}
    out["role"] = [found[c].role if c in found else "" for c in out["column"]]
    out["use"] = [found[c].use if c in found else "" for c in out["column"]]
    return out


def detected_id_column(frame: pd.DataFrame) -> str | None:
    """The column the pipeline would use as the customer id, or ``None``."""
    return detect_id(frame.set_axis([str(c).strip() for c in frame.columns], axis=1), [])[0]


def default_features(columns: pd.DataFrame) -> list[str]:
    """The features the pipeline uses when none are named (by column role), among the
    table's own columns (derived ones such as a total are not offered)."""
    if "use" in columns.columns:
        return columns.loc[columns["use"] == "feature", "column"].tolist()
    return columns.loc[columns["kind"] == "number", "column"].tolist()


__all__ = ["KINDS", "default_features", "describe_columns", "detected_id_column"]
