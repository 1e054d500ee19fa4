"""Validate a loaded table into the numeric matrix the clustering works on.

Rules (each one's message names the column, row and value):

* the id column is the one given, or a unique, complete column named like an id
  (``id``, ``CustomerID``, ``client_id`` ...); it is never clustered on;
* without explicit features, every numeric column but the id is a feature;
* text columns with few distinct values are profiled as categories;
* missing feature values are dropped (default), imputed with the median, or an error;
* a feature must be numeric, finite, and not constant.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import SegmentationConfig
from ..errors import ConfigError, DataError
from ..results import DataSummary
from .numbers import coerce_numeric, strict_numeric

MAX_CATEGORY_LEVELS = 30
_ID_NAMES = re.compile(
    r"^(id|key|customer|customerno|customernumber|customerkey|clientno|accountno|"
    r"(customer|cust|client|user|member|account|row|record)?_?id)$"
)


@dataclass(frozen=True)
class PreparedData:
    """The validated inputs of the clustering.

    ``X`` has shape (n_used, n_features) in original units; ``used`` is a boolean
    mask over the input rows; ``left_out`` holds the reason for every row that
    is not used ('' for used rows).
    """

    X: np.ndarray
    used: np.ndarray
    ids: pd.Series
    left_out: pd.Series
    features: tuple[str, ...]
    categories: pd.DataFrame
    impute_values: dict[str, float]
    summary: DataSummary


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def suggest(name: str, options: list[str]) -> str:
    """' (did you mean 'X'?)' or '': close spellings, or columns that contain the name."""
    key = _norm(name)
    by_key = {_norm(o): str(o) for o in options}
    close = difflib.get_close_matches(key, list(by_key), n=2, cutoff=0.6)
    if not close and len(key) >= 3:
        close = [k for k in by_key if key in k][:2]
    if not close:
        return ""
    return " (did you mean " + " or ".join(f"'{by_key[c]}'" for c in close) + "?)"


def rows_list(positions: np.ndarray, limit: int = 5) -> str:
    """'rows 3, 8, 11, ...' from 0-based positions, shown 1-based."""
    shown = ", ".join(str(int(i) + 1) for i in positions[:limit])
    more = ", ..." if len(positions) > limit else ""
    return f"row{'s' if len(positions) > 1 else ''} {shown}{more}"


def _is_id_like(name: str, col: pd.Series) -> bool:
    n = _norm(name)
    if not (_ID_NAMES.match(n) or (n.endswith("id") and len(n) <= 12)):
        return False
    return bool(col.notna().all() and col.is_unique)


def _detect_id(frame: pd.DataFrame) -> str | None:
    for name in frame.columns:
        if _is_id_like(str(name), frame[name]):
            return str(name)
    return None


def _drop_empty_unnamed(frame: pd.DataFrame, repairs: list[str]) -> pd.DataFrame:
    empty = [
        c
        for c in frame.columns
        if (str(c).startswith("Unnamed:") or not str(c).strip()) and frame[c].isna().all()
    ]
    if empty:
        repairs.append(f"dropped {len(empty)} empty column(s) without a header")
        frame = frame.drop(columns=empty)
    return frame


def prepare(
    frame: pd.DataFrame,
    config: SegmentationConfig,
    *,
    source: str = "<DataFrame>",
    file_format: str = "dataframe",
    repairs: tuple[str, ...] = (),
) -> PreparedData:
    """Validate ``frame`` against ``config`` and build the feature matrix.

    Raises
    ------
    DataError
        With one line naming the column, row and value at fault.
    """
    repairs_l = list(repairs)
    if frame.shape[1] == 0:
        raise DataError(f"'{source}' has no columns; it needs a header row naming each column")
    frame = frame.copy(deep=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = _drop_empty_unnamed(frame, repairs_l)
    if len(frame) == 0:
        raise DataError(f"'{source}' has a header but no customers; add at least 2 rows of data")
    columns = list(frame.columns)
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise DataError(
            f"'{source}' has two columns named {dupes[0]!r}; rename one so every column "
            "name is unique"
        )

    # --- id column ---------------------------------------------------------------
    id_column = config.id_column
    if id_column is not None:
        if id_column not in frame.columns:
            raise DataError(
                f"id column {id_column!r} is not in '{source}'{suggest(id_column, columns)}; "
                f"columns are: {', '.join(columns)}"
            )
        ids_col = frame[id_column]
        if ids_col.isna().any():
            pos = np.flatnonzero(ids_col.isna().to_numpy())
            raise DataError(f"id column {id_column!r} is empty in {rows_list(pos)}; fill it in")
        dup = ids_col.duplicated(keep=False).to_numpy()
        if dup.any():
            pos = np.flatnonzero(dup)
            raise DataError(
                f"id column {id_column!r} has duplicate value {str(ids_col.iloc[pos[0]])!r} "
                f"({rows_list(pos)}); every customer needs a unique id"
            )
    else:
        id_column = _detect_id(frame)
    if id_column is not None:
        ids = frame[id_column].astype(str).reset_index(drop=True)
    else:
        ids = pd.Series(np.arange(1, len(frame) + 1).astype(str))

    # --- features ----------------------------------------------------------------
    candidates = [c for c in frame.columns if c != id_column]
    ignored: dict[str, str] = {}
    numeric: dict[str, np.ndarray] = {}
    if config.features is not None:
        for f in config.features:
            if f not in frame.columns:
                raise DataError(
                    f"feature {f!r} is not a column of '{source}'{suggest(f, candidates)}; "
                    f"columns are: {', '.join(columns)}"
                )
            if f == id_column:
                raise DataError(
                    f"feature {f!r} is the id column; ids carry no customer behaviour, "
                    "choose other features (or set another id with --id)"
                )
        features = list(config.features)
        chosen_by = "given"
        for f in features:
            values, note = strict_numeric(frame[f], f)
            numeric[f] = values
            if note:
                repairs_l.append(note)
    else:
        features = []
        chosen_by = "all numeric columns"
        for c in candidates:
            col = frame[c]
            if pd.api.types.is_bool_dtype(col):
                continue
            maybe, note = coerce_numeric(col, c, strict=False)
            if maybe is None:
                continue
            values = maybe
            if np.isnan(values).all():
                ignored[c] = "empty in every row"
                continue
            features.append(c)
            numeric[c] = values
            if note:
                repairs_l.append(note)
        if not features:
            raise DataError(
                f"'{source}' has no numeric columns to cluster on (columns: {', '.join(columns)}); "
                "name the features with --features"
            )

    # --- categories and ignored columns -----------------------------------------
    cat_cols: list[str] = []
    for c in candidates:
        if c in features or c in ignored:
            continue
        col = frame[c]
        n_distinct = col.nunique(dropna=True)
        if n_distinct == 0:
            ignored[c] = "empty in every row"
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            ignored[c] = "numeric, not among the chosen features"
        elif n_distinct <= MAX_CATEGORY_LEVELS:
            cat_cols.append(c)
        else:
            ignored[c] = f"text with {n_distinct} distinct values (too many to profile)"

    n_rows = len(frame)
    X = np.column_stack([numeric[f] for f in features]).astype(np.float64, copy=False)

    for j, f in enumerate(features):
        col = X[:, j]
        if np.isnan(col).all():
            raise DataError(
                f"feature {f!r} is empty in every row; fill it in or leave it out of --features"
            )
        inf = np.isinf(col)
        if inf.any():
            pos = np.flatnonzero(inf)
            raise DataError(
                f"feature {f!r} has an infinite value in {rows_list(pos)}; "
                "replace it with a real number or leave the cell empty"
            )
        big = np.abs(col) > 1e150
        if big.any():
            pos = np.flatnonzero(big)
            raise DataError(
                f"feature {f!r} has a value too large to compute with ({col[pos[0]]:g} in "
                f"{rows_list(pos)}); check that value"
            )

    # --- missing values ----------------------------------------------------------
    missing = np.isnan(X)
    left_out = np.full(n_rows, "", dtype=object)
    impute_values: dict[str, float] = {}
    imputed: dict[str, int] = {}
    dropped: dict[str, int] = {}
    if missing.any():
        if config.missing == "error":
            j = int(np.flatnonzero(missing.any(axis=0))[0])
            pos = np.flatnonzero(missing[:, j])
            raise DataError(
                f"feature {features[j]!r} has {len(pos)} empty value(s) ({rows_list(pos)}); "
                "fill them in, or use --missing drop or --missing impute"
            )
        if config.missing == "impute":
            for j, f in enumerate(features):
                if missing[:, j].any():
                    med = float(np.nanmedian(X[:, j]))
                    impute_values[f] = med
                    imputed[f] = int(missing[:, j].sum())
                    X[missing[:, j], j] = med
        else:
            rows_missing = missing.any(axis=1)
            for i in np.flatnonzero(rows_missing):
                cols = [features[j] for j in np.flatnonzero(missing[i])]
                left_out[i] = "missing value in " + ", ".join(f"'{c}'" for c in cols)
            dropped["missing values"] = int(rows_missing.sum())
    # Every feature gets a value, so a saved model can fill gaps in any column of new data.
    for j, f in enumerate(features):
        impute_values.setdefault(f, float(np.nanmedian(X[:, j])))
    used = left_out == ""

    # --- sampling ----------------------------------------------------------------
    if config.sample is not None and used.sum() > config.sample:
        rng = np.random.default_rng(config.seed)
        keep = np.sort(rng.choice(np.flatnonzero(used), size=config.sample, replace=False))
        out = np.ones(n_rows, dtype=bool)
        out[keep] = False
        out &= used
        left_out[out] = f"not in the --sample of {config.sample}"
        dropped["not sampled"] = int(out.sum())
        used = left_out == ""

    X_used = X[used]
    n_used = int(used.sum())
    if n_used < 2:
        raise DataError(
            f"only {n_used} customer(s) left after removing rows with missing values "
            f"(of {n_rows}); segmentation needs at least 2"
        )
    for j, f in enumerate(features):
        col = X_used[:, j]
        if np.all(col == col[0]):
            raise DataError(
                f"feature {f!r} has the same value ({col[0]:g}) for every customer, so it "
                "cannot separate segments; leave it out of --features"
            )
    if isinstance(config.k, int) and config.k > n_used:
        raise ConfigError(
            f"n_customers={n_used} is smaller than k={config.k}; ask for fewer segments"
        )

    categories = (
        frame.loc[used, cat_cols].reset_index(drop=True)
        if cat_cols
        else pd.DataFrame(index=range(n_used))
    )
    summary = DataSummary(
        source=source,
        file_format=file_format,
        n_rows=n_rows,
        n_used=n_used,
        dropped=dropped,
        id_column=id_column,
        features=tuple(features),
        features_chosen_by=chosen_by,
        categorical=tuple(cat_cols),
        ignored=ignored,
        missing_policy=config.missing,
        imputed=imputed,
        repairs=tuple(repairs_l),
    )
    return PreparedData(
        X=X_used,
        used=used,
        ids=ids,
        left_out=pd.Series(left_out, dtype=object),
        features=tuple(features),
        categories=categories,
        impute_values=impute_values,
        summary=summary,
    )
