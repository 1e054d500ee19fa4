"""Validate a loaded table into the numeric matrix the clustering works on.

Rules (each one's message names the column, row and value):

* the id column is the one given, or a unique, complete column named like an id
  (``id``, ``CustomerID``, ``client_id`` ...); it is never clustered on;
* without explicit features, every numeric column but the id is a feature;
* text columns with few distinct values are profiled as categories;
* missing feature values are dropped (default), imputed with the median, or an error;
* a feature must be numeric, finite, and not constant;
* a column named like an id whose values repeat or are missing is not an id: it is
  neither the id nor a feature, and the rows are numbered instead (``--id`` with such
  a column is an error naming the value and rows);
* a last row labelled "Total" (or holding the sums of the rows above) is a totals row:
  it is left out with that reason and still listed in ``assignments.csv``;
* negative values in columns that cannot be negative (age, income, spending, ...) are
  flagged with their rows and kept as they are.

The full rule book, with every message, is ``docs/data-requirements.md``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..config import SegmentationConfig
from ..errors import ConfigError, DataError
from ..features.roles import Content, load_registry
from ..results import DataSummary
from .numbers import coerce_numeric, strict_numeric
from .rules import (
    LOSS_WARNING_SHARE,
    MAX_EMPTY_SHARE,
    column_label,
    find_outliers,
    log_features,
    plan_columns,
    plausible_ranges,
)

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
    # Per feature: log-transformed before scaling (--transform); stored in the model.
    log_features: tuple[bool, ...] = ()
    # Over the used rows: False for atypical customers kept out of fitting the centres.
    fit_rows: np.ndarray | None = None
    # Over all input rows: extra columns for assignments.csv ('imputed', 'atypical').
    row_flags: pd.DataFrame | None = None
    # Derived features and how to derive them from new data (stored in the model).
    derivations: dict[str, dict] = field(default_factory=dict)
    # Set when the customers stay on a data engine (a table longer than the driver's
    # head): X, ids and categories then hold only the engine's seeded sample of the
    # fitted customers, and this is the number of customers (custseg.distributed).
    n_total: int | None = None
    # With n_total: row numbers (0-based, file order) of the atypical customers, kept out
    # of fitting on the engine and assigned afterwards.
    atypical_rows: np.ndarray | None = None


def impute_medians(
    X: np.ndarray, missing: np.ndarray, features: tuple[str, ...] | list[str]
) -> tuple[dict[str, float], dict[str, int]]:
    """Fill X's missing cells with each feature's median, in place.

    Returns the median used and the number of cells filled, per feature with gaps.
    """
    values: dict[str, float] = {}
    counts: dict[str, int] = {}
    for j, f in enumerate(features):
        if missing[:, j].any():
            med = float(np.nanmedian(X[:, j]))
            values[f] = med
            counts[f] = int(missing[:, j].sum())
            X[missing[:, j], j] = med
    return values, counts


def missing_reasons(missing: np.ndarray, features: tuple[str, ...] | list[str]) -> np.ndarray:
    """'missing value in 'A', 'B'' for each row of a boolean (rows, features) matrix.

    One string per pattern of missing columns, not one Python step per row.
    """
    patterns, inverse = np.unique(missing, axis=0, return_inverse=True)
    reasons = np.array(
        [
            "missing value in " + ", ".join(f"'{f}'" for f, m in zip(features, row) if m)
            for row in patterns
        ],
        dtype=object,
    )
    return reasons[np.ravel(inverse)]


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


def show_value(value: object) -> str:
    """A cell value as users typed it: 7 not np.int64(7), 3.5 not np.float64(3.5)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value) if isinstance(value, str) else str(value)


# --- messages of the row rules, one definition for the local rules and the engines' checks
# of every row (custseg.engines.spark_rules): positions are 0-based rows of the file.


def id_empty_why(positions: np.ndarray) -> str:
    """Why an id-named column is not an id: it has empty cells."""
    return f"empty in {rows_list(positions)}"


def id_duplicate_why(value: object, positions: np.ndarray) -> str:
    """Why an id-named column is not an id: values repeat (``value`` at the first row)."""
    return f"duplicate values ({show_value(value)} in {rows_list(positions)})"


def id_empty_message(id_column: str, positions: np.ndarray) -> str:
    """The error for empty cells in the id column the user named."""
    return f"id column {id_column!r} is empty in {rows_list(positions)}; fill it in"


def id_duplicate_message(id_column: str, value: object, positions: np.ndarray) -> str:
    """The error for repeated ids in the id column the user named."""
    return (
        f"id column {id_column!r} has duplicate value {show_value(value)} "
        f"({rows_list(positions)}); every customer needs a unique id"
    )


def all_empty_message(feature: str) -> str:
    """The error for a feature without any value."""
    return f"feature {feature!r} is empty in every row; fill it in or leave it out of --features"


def infinite_message(feature: str, positions: np.ndarray) -> str:
    """The error for infinite values in a feature."""
    return (
        f"feature {feature!r} has an infinite value in {rows_list(positions)}; "
        "replace it with a real number or leave the cell empty"
    )


#: Values beyond this size (absolute) are refused: their squares overflow.
TOO_LARGE = 1e150


def too_large_message(feature: str, value: float, positions: np.ndarray) -> str:
    """The error for values too large to compute with (first one: ``value``)."""
    return (
        f"feature {feature!r} has a value too large to compute with ({value:g} in "
        f"{rows_list(positions)}); check that value"
    )


def negative_note(feature: str, value: object, positions: np.ndarray) -> str:
    """The stated flag for negative values in a column that cannot be negative."""
    return (
        f"flagged: column {feature!r} has negative values, which make no sense for it, in "
        f"{rows_list(positions)} ({show_value(value)}); they were kept as they are "
        "- check them"
    )


def constant_message(feature: str, value: float) -> str:
    """The error for a feature with one value for every customer."""
    return (
        f"feature {feature!r} has the same value ({value:g}) for every customer, so it "
        "cannot separate segments; leave it out of --features"
    )


def outlier_note(line: str, outliers: str) -> str:
    """The stated flag for implausible or extreme values and what ``--outliers`` did."""
    what = {
        "keep": "kept and fitted like any customer",
        "flag": "kept out of fitting the centres, assigned and marked atypical in assignments.csv",
        "exclude": "left out (--outliers exclude)",
    }[outliers]
    return f"flagged: {line}; {what}"


#: How the notes of the rules that depend on every row begin (negative values, filled
#: cells, implausible and extreme values): an engine that applies those rules to every
#: row replaces the notes a part of the table gave.
ROW_RULE_NOTES = ("flagged: ", "filled ")


def cannot_be_negative(name: str) -> bool:
    """True for a column whose name says it cannot be negative (age, income, spend ...)."""
    return _cannot_be_negative(name)


def looks_like_id_name(name: str) -> bool:
    """True for a column name that names customer ids ('CustomerID', 'client_id')."""
    return _looks_like_id_name(name)


def _looks_like_id_name(name: str) -> bool:
    # 'CustomerID', 'client_id', 'Id' yes; 'Paid' or 'Valid' (words ending in -id) no.
    # The role registry adds other languages ('Kundennummer', 'Numéro client', 'ID Cliente').
    from ..features.roles import default_registry

    return bool(
        _ID_NAMES.match(_norm(name))
        or re.search(r"(^|[_\s.-])id$", name, re.IGNORECASE)
        or re.search(r"[a-z](Id|ID)$", name)
        or any(r.name == "id" for r in default_registry().match(name))
    )


# The columns custseg adds to assignments.csv (and to `custseg assign` outputs) beside the id.
RESERVED_OUTPUT_COLUMNS = ("segment", "segment_name", "distance", "atypical", "left_out_reason")


def check_id_name(id_column: str) -> None:
    """Refuse an id column whose name custseg's outputs use for another column."""
    if id_column in RESERVED_OUTPUT_COLUMNS:
        raise DataError(
            f"--id {id_column!r} has the name of a column custseg writes beside the id "
            f"({', '.join(RESERVED_OUTPUT_COLUMNS)}), so the ids would be lost; rename "
            "that column in the file (e.g. to customer_id) and pass the new name"
        )


def detect_id(frame: pd.DataFrame, repairs: list[str]) -> tuple[str | None, dict[str, str]]:
    """The id column, and id-named columns that are not ids (with why)."""
    not_ids: dict[str, str] = {}
    found = None
    for name in frame.columns:
        name = str(name)
        if not _looks_like_id_name(name) or name in RESERVED_OUTPUT_COLUMNS:
            continue
        col = frame[name]
        if col.isna().any():
            pos = np.flatnonzero(col.isna().to_numpy())
            why = id_empty_why(pos)
        elif not col.is_unique:
            dup = col.duplicated(keep=False).to_numpy()
            pos = np.flatnonzero(dup)
            why = id_duplicate_why(col.iloc[pos[0]], pos)
        else:
            if found is None:
                found = name
            continue
        # A customer id that repeats or is missing identifies nobody, and clustering
        # on it would be meaningless: it is neither the id nor a feature.
        not_ids[name] = f"named like an id but {why}; not used as the id or as a feature"
        repairs.append(
            f"column {name!r} looks like an id but is {why}, so it is not used as the id "
            f"or as a feature and rows are numbered instead; fix it and pass --id {name!r}"
            if why.startswith("empty")
            else f"column {name!r} looks like an id but has {why}, so it is not used as the "
            f"id or as a feature and rows are numbered instead; fix it and pass --id {name!r}"
        )
    return found, not_ids


def ids_text(col: pd.Series) -> pd.Series:
    """Ids as text; whole numbers read as floats (a column with a gap) lose the '.0'."""
    if pd.api.types.is_float_dtype(col):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if len(finite) and np.all(finite == np.round(finite)):
            return pd.Series([str(int(v)) if np.isfinite(v) else "" for v in values], dtype=object)
    return col.astype(str).reset_index(drop=True)


# The whole cell must be the label ('Total', 'Grand total:', 'Sum (2024)'): a customer
# called 'Total Wine & More' is a customer. Other totals rows are found by their sums.
_TOTAL_LABEL = re.compile(
    r"^\s*(grand\s+)?(totals?|sum|summe|gesamt|totaal|totale|somme|suma|totalt)"
    r"\s*[:.]?\s*(\(.*\))?\s*$",
    re.IGNORECASE,
)


_NESTED = (list, tuple, dict, set, frozenset, np.ndarray)


def _is_nested_column(col: pd.Series) -> bool:
    if col.dtype != object:
        return False
    values = col.dropna()
    # Parquet list/struct columns are typed: every value has the kind of the first few.
    return any(isinstance(v, _NESTED) for v in values.iloc[:100])


def _as_text(value: object) -> object:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    return value if value is None or isinstance(value, str) else str(value)


def nested_to_text(frame: pd.DataFrame, repairs: list[str]) -> pd.DataFrame:
    """Columns whose cells hold lists or records (Parquet list/struct) become text, stated.

    A cell must hold one value to be a feature or a descriptor; such a column is kept
    (as text, so it is shown and written back) and the repair says why it cannot be
    clustered on.
    """
    nested = [c for c in frame.columns if _is_nested_column(frame[c])]
    if not nested:
        return frame
    frame = frame.copy(deep=False)
    for c in nested:
        frame[c] = frame[c].map(_as_text, na_action="ignore")
        repairs.append(
            f"column {c!r} holds lists or records, not single values; it was read as text "
            "and cannot be a feature"
        )
    return frame


def _find_totals_row(frame: pd.DataFrame) -> str | None:
    """Why the last row is a totals row, or None.

    Spreadsheets often end with a "Total" row; clustering it as a customer would
    create a segment of one giant customer, and dropping it silently would hide
    that anything happened.
    """
    if len(frame) < 3:
        return None
    last = frame.iloc[-1]
    above = frame.iloc[:-1]
    sums = {
        c: float(np.nansum(above[c].to_numpy(dtype=np.float64, na_value=np.nan)))
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    }
    return totals_reason(last.to_dict(), sums)


def totals_reason(last: dict, sums: dict[str, float]) -> str | None:
    """Why a table's last row (column -> value, in file order) is a totals row, or None;
    ``sums`` holds, for each numeric column, the sum of the rows above it."""
    filled = [c for c, v in last.items() if not pd.isna(v)]
    # The label of a totals row is its first filled cell ('Total', 'Grand total', 'Sum').
    if filled and isinstance(last[filled[0]], str) and _TOTAL_LABEL.match(last[filled[0]]):
        return f"{last[filled[0]].strip()!r} in column {filled[0]!r}"
    matched = 0
    for c, total in sums.items():
        v = last[c]
        if pd.isna(v):
            continue
        if not np.isclose(float(v), total, rtol=1e-6, atol=1e-9) or total == 0:
            return None
        matched += 1
    return "its values are the sums of the rows above" if matched else None


# Words in a column name that mean the quantity cannot be negative, and words that
# mean it can (a change, a balance, a net figure), which win.
_NON_NEGATIVE_WORDS = {
    "age", "income", "salary", "revenue", "spend", "spending", "spent", "score", "price",
    "amount", "purchase", "order", "visit", "count", "quantity", "tenure", "frequency",
    "recency", "day", "month", "year", "monetary", "sale", "transaction", "item",
}  # fmt: skip
_SIGNED_WORDS = {"change", "delta", "growth", "profit", "balance", "margin", "net", "diff", "nps"}


def _cannot_be_negative(name: str) -> bool:
    words = {
        w[:-1] if w.endswith("s") and len(w) > 3 else w for w in re.findall(r"[a-z]+", name.lower())
    }
    return bool(words & _NON_NEGATIVE_WORDS) and not (words & _SIGNED_WORDS)


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


def _unnamed_with_data(
    frame: pd.DataFrame, source: str, repairs: list[str], positions: dict[str, int]
) -> pd.DataFrame:
    """Drop a saved row index (first column, no name, 0..n-1 or 1..n) and a side column of
    notes (text, no name); refuse other unnamed data.

    A column with numbers but no name cannot be reported or chosen by name, and a
    header with several of them usually means title rows sit above the real header.
    """
    for pos, c in enumerate(frame.columns):
        if not (str(c).startswith("Unnamed:") or not str(c).strip()):
            continue
        col = frame[c]
        where = column_label(positions.get(c, pos + 1))
        if pos == 0 and pd.api.types.is_integer_dtype(col):
            values = col.to_numpy()
            if (
                len(values)
                and values[0] in (0, 1)
                and np.array_equal(values, np.arange(values[0], values[0] + len(values)))
            ):
                repairs.append(
                    f"dropped {where}: it has no name and holds row numbers "
                    f"{values[0]}..{values[-1]} (a saved row index)"
                )
                frame = frame.drop(columns=[c])
                continue
        first = np.flatnonzero(col.notna().to_numpy())[0]
        numbers, _ = coerce_numeric(col, str(c), strict=False)
        unnamed = [
            d
            for d in frame.columns
            if (str(d).startswith("Unnamed:") or not str(d).strip()) and frame[d].notna().any()
        ]
        if pos > 0 and pos == len(frame.columns) - 1 and unnamed == [c] and numbers is None:
            # Notes typed next to the table: text nobody meant as a customer attribute.
            repairs.append(
                f"ignored {where}: it has no header and holds text notes ({col.notna().sum()} "
                f"filled, e.g. row {first + 1}: {show_value(col.iloc[first])}); give it a "
                "header to profile it"
            )
            frame = frame.drop(columns=[c])
            continue
        raise DataError(
            f"{where} of '{source}' has values (row {first + 1}: "
            f"{show_value(col.iloc[first])}) but no name in the header row; name it or "
            "delete it (if there are title rows above the header, delete them so the first "
            "row holds the column names)"
        )
    return frame


#: Filling more than this share of a column's cells is a warning.
FILL_WARNING_SHARE = 0.05


def empty_values_message(feature: str, count: int, positions: np.ndarray) -> str:
    """The error of ``--missing error`` for a feature with empty cells."""
    return (
        f"feature {feature!r} has {count} empty value(s) ({rows_list(positions)}); "
        "fill them in, or use --missing drop or --missing impute"
    )


def filled_note(feature: str, count: int, value: float) -> str:
    """The stated repair of filling a feature's empty cells with its median."""
    return (
        f"filled {count:,} empty cell(s) of {feature!r} with its median "
        f"({value:g}); those rows say so in the 'imputed' column of "
        "assignments.csv"
    )


def filled_warning(feature: str, share: float, count: int, value: float) -> str:
    """The warning for filling more than :data:`FILL_WARNING_SHARE` of a feature."""
    return (
        f"{share:.0%} of {feature!r} ({count:,} cells) was "
        f"filled with its median ({value:g}); fill the cells "
        f"in, or leave it out with --ignore {feature!r}"
    )


@dataclass(frozen=True)
class MissingHandled:
    """What the missing-value policy did (see :func:`handle_missing`)."""

    impute_values: dict[str, float]
    imputed: dict[str, int]
    imputed_rows: np.ndarray  # per row: the columns filled ('' for none)
    left_out: np.ndarray  # per row: 'missing value in ...' or ''
    n_left_out: int
    repairs: list[str]
    warnings: list[str]


def handle_missing(
    X: np.ndarray, missing: np.ndarray, features: tuple[str, ...] | list[str], policy: str
) -> MissingHandled:
    """Apply ``--missing`` to X (filled in place); the one rule for both readers.

    ``auto``: a feature at most 30% empty has its gaps filled with its median (stated,
    flagged per row); a feature more empty than that leaves its rows out. ``impute``
    fills every gap, ``drop`` leaves every row with a gap out. Losing more than 3% of
    the customers, or filling more than 5% of a column, is a warning naming the
    columns and the fix.

    Raises
    ------
    DataError
        ``policy="error"`` and a gap, naming the feature and rows.
    """
    features = list(features)
    n_rows = len(X)
    left_out = np.full(n_rows, "", dtype=object)
    imputed_rows = np.full(n_rows, "", dtype=object)
    impute_values: dict[str, float] = {}
    imputed: dict[str, int] = {}
    repairs: list[str] = []
    warns: list[str] = []
    if policy == "error":
        j = int(np.flatnonzero(missing.any(axis=0))[0])
        pos = np.flatnonzero(missing[:, j])
        raise DataError(empty_values_message(features[j], len(pos), pos))
    share: np.ndarray = missing.mean(axis=0)
    fill: np.ndarray
    if policy == "impute":
        fill = np.asarray(missing.any(axis=0))
    elif policy == "auto":
        # A few gaps per column are filled (and flagged per row); a column too empty
        # to invent leaves its rows out instead, said below.
        fill = np.asarray(missing.any(axis=0) & (share <= MAX_EMPTY_SHARE))
    else:
        fill = np.zeros(len(features), dtype=bool)
    if fill.any():
        sub = np.where(fill[None, :], missing, False)
        rows = sub.any(axis=1)
        reasons = missing_reasons(sub[rows], features)
        imputed_rows[rows] = [r.replace("missing value in ", "") for r in reasons]
        impute_values, imputed = impute_medians(X, sub, features)
        for f, count in imputed.items():
            repairs.append(filled_note(f, count, impute_values[f]))
        for f in (features[i] for i in np.flatnonzero(fill & (share > FILL_WARNING_SHARE))):
            warns.append(filled_warning(f, share[features.index(f)], imputed[f], impute_values[f]))
        missing = np.where(fill[None, :], False, missing)
    rows_missing = missing.any(axis=1)
    n_out = int(rows_missing.sum())
    if n_out:
        left_out[rows_missing] = missing_reasons(missing[rows_missing], features)
        lost = n_out / max(n_rows, 1)
        if lost > LOSS_WARNING_SHARE:
            cols = [
                f"{features[j]!r} ({share[j]:.0%} empty)"
                for j in np.flatnonzero(missing.any(axis=0))
            ]
            warns.append(
                f"{n_out:,} customers ({lost:.0%}) left out because "
                f"{', '.join(cols)} is empty for them; fill the cells in, leave the "
                "column out (--ignore, or not in --features), or use --missing impute"
            )
    return MissingHandled(
        impute_values=impute_values,
        imputed=imputed,
        imputed_rows=imputed_rows,
        left_out=left_out,
        n_left_out=n_out,
        repairs=repairs,
        warnings=warns,
    )


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
    frame = nested_to_text(frame, repairs_l)
    # Columns are named in messages as the user counts them: position in the file.
    positions = {c: i + 1 for i, c in enumerate(frame.columns)}
    frame = _drop_empty_unnamed(frame, repairs_l)
    frame = _unnamed_with_data(frame, source, repairs_l, positions)
    if len(frame) == 0:
        raise DataError(f"'{source}' has a header but no customers; add at least 2 rows of data")
    if len(frame) == 1:
        raise DataError(
            f"'{source}' has only 1 customer; segmentation needs at least 2 (and is "
            "meaningful with hundreds)"
        )
    columns = list(frame.columns)
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise DataError(
            f"'{source}' has two columns named {dupes[0]!r}; rename one so every column "
            "name is unique"
        )
    totals = _find_totals_row(frame)
    if totals is None:
        return _prepare_rows(frame, config, source, file_format, repairs_l, positions)
    n_rows = len(frame)
    repairs_l.append(
        f"row {n_rows} is a totals row ({totals}); it is left out of the segmentation "
        "and listed in assignments.csv with that reason"
    )
    body = _prepare_rows(frame.iloc[:-1], config, source, file_format, repairs_l, positions)
    last_id = ""
    if body.summary.id_column is not None:
        v = frame[body.summary.id_column].iloc[-1]
        last_id = "" if pd.isna(v) else str(v)
    if not last_id or last_id in set(body.ids):
        last_id = str(n_rows) if body.summary.id_column is None else f"row {n_rows}"
    summary = replace(
        body.summary,
        n_rows=n_rows,
        dropped={**body.summary.dropped, "totals row": 1},
    )
    return replace(
        body,
        used=np.append(body.used, False),
        ids=pd.concat([body.ids, pd.Series([last_id])], ignore_index=True),
        left_out=pd.concat(
            [body.left_out, pd.Series([f"totals row ({totals})"], dtype=object)],
            ignore_index=True,
        ),
        summary=summary,
    )


def _prepare_rows(
    frame: pd.DataFrame,
    config: SegmentationConfig,
    source: str,
    file_format: str,
    repairs_l: list[str],
    positions: dict[str, int],
) -> PreparedData:
    """:func:`prepare` on the customer rows (a totals row already set aside)."""
    columns = list(frame.columns)

    # --- id column ---------------------------------------------------------------
    id_column = config.id_column
    if id_column is not None:
        check_id_name(id_column)
        if id_column not in frame.columns:
            raise DataError(
                f"id column {id_column!r} is not in '{source}'{suggest(id_column, columns)}; "
                f"columns are: {', '.join(columns)}"
            )
        ids_col = frame[id_column]
        if ids_col.isna().any():
            pos = np.flatnonzero(ids_col.isna().to_numpy())
            raise DataError(id_empty_message(id_column, pos))
        dup = ids_col.duplicated(keep=False).to_numpy()
        if dup.any():
            pos = np.flatnonzero(dup)
            raise DataError(id_duplicate_message(id_column, ids_col.iloc[pos[0]], pos))
        not_ids: dict[str, str] = {}
    else:
        id_column, not_ids = detect_id(frame, repairs_l)
    if id_column is not None:
        ids = ids_text(frame[id_column])
    else:
        ids = pd.Series(np.arange(1, len(frame) + 1).astype(str))

    # --- features, descriptors and left-out columns: the rulebook (data/rules.py) ------
    candidates = [c for c in frame.columns if c != id_column]
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
    for c in config.ignore or ():
        if c not in frame.columns:
            raise DataError(
                f"--ignore column {c!r} is not a column of '{source}'{suggest(c, columns)}; "
                f"columns are: {', '.join(columns)}"
            )
        if config.features is not None and c in config.features:
            raise DataError(f"column {c!r} is both in --features and in --ignore; choose one")
    registry = load_registry(config.roles)
    contents: dict[str, Content] = {}
    numeric: dict[str, np.ndarray] = {}
    for c in frame.columns:
        col = frame[c]
        values = None
        if c in (config.features or ()):
            values, note = strict_numeric(col, c)
            if note:
                repairs_l.append(note)
        elif not pd.api.types.is_bool_dtype(col):
            values, note = coerce_numeric(col, c, strict=False)
            if values is not None and note and config.features is None:
                repairs_l.append(note)
        if values is not None:
            numeric[c] = values
        contents[c] = Content(
            numeric=values, text=None if values is not None else col, n_rows=len(frame)
        )
    plan = plan_columns(
        contents,
        registry,
        id_column=id_column,
        not_ids=not_ids,
        features=config.features,
        ignore=config.ignore or (),
        positions={c: positions.get(c, i + 1) for i, c in enumerate(frame.columns)},
    )
    features = list(plan.features)
    numeric.update(plan.derived)
    repairs_l.extend(plan.notes)
    ignored = dict(plan.excluded)
    chosen_by = "given" if config.features is not None else "column roles"
    if not features:
        varying = [c for c, r in ignored.items() if r.startswith("the same value")]
        if varying and not any(r.use == "descriptor" for r in plan.roles):
            raise DataError(
                f"'{source}' has no column that varies between customers: every numeric "
                f"column ({', '.join(varying)}) has the same value in every row, so there "
                "is nothing to segment"
            )
        raise DataError(
            f"'{source}' has no behaviour or value columns to cluster on (columns: "
            f"{', '.join(columns)}); name the features with --features, or set column "
            "roles with --roles"
        )
    cat_cols = [c for c in plan.descriptors if c in frame.columns]
    kinds = {r.column: r.kind for r in plan.roles}

    n_rows = len(frame)
    X = np.column_stack([numeric[f] for f in features]).astype(np.float64, copy=False)

    for j, f in enumerate(features):
        col = X[:, j]
        if np.isnan(col).all():
            raise DataError(all_empty_message(f))
        inf = np.isinf(col)
        if inf.any():
            pos = np.flatnonzero(inf)
            raise DataError(infinite_message(f, pos))
        big = np.abs(col) > TOO_LARGE
        if big.any():
            pos = np.flatnonzero(big)
            raise DataError(too_large_message(f, col[pos[0]], pos))

    # --- values that cannot be negative: flagged, never changed ---------------------
    for j, f in enumerate(features):
        if not _cannot_be_negative(f):
            continue
        neg = np.flatnonzero(X[:, j] < 0)
        if len(neg):
            repairs_l.append(negative_note(f, X[neg[0], j], neg))

    # --- transform and implausible values (the rulebook) ----------------------------
    log_flags, transformed = log_features(X, tuple(features), kinds, config.transform)
    ranges = plausible_ranges(plan.roles, registry)
    outlier_rows, outlier_lines = find_outliers(X, tuple(features), ranges, log_flags)
    warns: list[str] = []

    # --- missing values ----------------------------------------------------------
    missing = np.isnan(X)
    left_out = np.full(n_rows, "", dtype=object)
    impute_values: dict[str, float] = {}
    imputed: dict[str, int] = {}
    dropped: dict[str, int] = {}
    imputed_rows = np.full(n_rows, "", dtype=object)
    if missing.any():
        gaps = handle_missing(X, missing, features, config.missing)
        impute_values, imputed = gaps.impute_values, gaps.imputed
        imputed_rows, left_out = gaps.imputed_rows, gaps.left_out
        if gaps.n_left_out:
            dropped["missing values"] = gaps.n_left_out
        repairs_l.extend(gaps.repairs)
        warns.extend(gaps.warnings)
    # Every feature gets a value, so a saved model can fill gaps in any column of new data.
    for j, f in enumerate(features):
        impute_values.setdefault(f, float(np.nanmedian(X[:, j])))

    # --- implausible and extreme values: flagged, and per --outliers -----------------
    atypical = np.zeros(n_rows, dtype=bool)
    if outlier_lines:
        for line in outlier_lines:
            repairs_l.append(outlier_note(line, config.outliers))
        if config.outliers == "exclude":
            out = outlier_rows & (left_out == "")
            left_out[out] = "implausible or extreme value (--outliers exclude)"
            if out.any():
                dropped["implausible or extreme values"] = int(out.sum())
        elif config.outliers == "flag":
            atypical = outlier_rows & (left_out == "")
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
            f"only {n_used} customer(s) of {n_rows} have a value in every feature "
            f"({', '.join(features)}); segmentation needs at least 2: fill in the empty "
            "cells or use --missing impute"
        )
    for j, f in enumerate(features):
        col = X_used[:, j]
        if np.all(col == col[0]):
            raise DataError(constant_message(f, col[0]))
    if isinstance(config.k, int) and config.k > n_used:
        raise ConfigError(
            f"n_customers={n_used} is smaller than k={config.k}; ask for fewer segments"
        )
    fit_rows = ~atypical[used]
    if fit_rows.all() or fit_rows.sum() < max(2, 0.5 * n_used):
        fit_rows = None  # nothing atypical (or too much to call it atypical): fit on all

    categories = (
        frame.loc[used, cat_cols].reset_index(drop=True)
        if cat_cols
        else pd.DataFrame(index=range(n_used))
    )
    row_flags = pd.DataFrame(index=range(n_rows))
    if (imputed_rows != "").any():
        row_flags["imputed"] = imputed_rows
    if fit_rows is not None:
        row_flags["atypical"] = atypical
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
        roles=plan.roles,
        transformed=transformed,
        n_atypical=int(atypical.sum()) if fit_rows is not None else 0,
        warnings=tuple(warns),
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
        log_features=log_flags,
        fit_rows=fit_rows,
        row_flags=row_flags if len(row_flags.columns) else None,
        derivations=plan.recipes,
    )
