"""A fast path for large, clean CSV and Parquet files: read only the needed columns.

:func:`prepare_large_file` reads the feature (and id) columns with pyarrow,
straight into one float32 matrix: no pandas object columns, no Python object
per row, no columns that are not used. It handles the common case of a large
export whose feature columns are plain numbers (missing cells allowed). Any
doubt (a feature that does not parse as a number, an infinite or constant
feature, a bad id column, ``missing="error"`` with missing values, too few
rows) returns ``None``, and the caller falls back to :func:`~custseg.data.load_table`
and :func:`~custseg.data.prepare`, which handle messy files and say what is wrong.

Text columns are not profiled as categories on this path (their values would
become millions of Python strings); ``segments.json`` lists them under ``ignored``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import SegmentationConfig
from ..errors import DataError
from ..features.roles import Content, load_registry
from ..results import DataSummary
from .loading import (
    NA_VALUES,
    MeteredGzip,
    available_memory,
    check_memory,
    detect_format,
    sniff_csv,
)
from .prepare import (
    PreparedData,
    check_id_name,
    handle_missing,
    looks_like_id_name,
)
from .rules import find_outliers, log_features, plan_columns, plausible_ranges

# Files smaller than this go through the general loader (it is fast enough there and
# handles every messy case); larger ones try the columnar path first.
FAST_PATH_BYTES = 32 * 1024 * 1024


def _is_number_type(t) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


# Bytes of memory per decoded byte of the columns read: the Arrow columns, the float32
# matrix, its missing-value mask and the copy of the rows used are held at once.
FAST_MEMORY_FACTOR = 2.5


def parquet_memory(path: Path, columns: list[str]) -> int:
    """Bytes of memory reading ``columns`` of a Parquet file needs, from its metadata.

    The decoded size is the larger of the column chunks' uncompressed sizes and
    8 bytes per cell; the stored size says nothing of it.
    """
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    wanted = set(columns)
    uncompressed = 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        for j in range(group.num_columns):
            chunk = group.column(j)
            if chunk.path_in_schema.split(".")[0] in wanted:
                uncompressed += chunk.total_uncompressed_size
    decoded = max(uncompressed, meta.num_rows * max(len(columns), 1) * 8)
    return int(decoded * FAST_MEMORY_FACTOR)


def _csv_options(path: Path, compressed: bool):
    """The delimiter of a UTF-8 CSV file, sniffed as the general loader does; None otherwise."""
    sniff = sniff_csv(path, compressed)
    if sniff.encoding not in ("utf-8", "utf-8-sig"):
        return None  # pyarrow reads UTF-8 only; let the general loader transcode
    if not sniff.plain:
        return None  # spaces, no header row, a title above it: the general loader
    return sniff.delimiter


def _open_table(path: Path, fmt: str, config: SegmentationConfig):
    """(pyarrow schema, reader(columns) -> pyarrow.Table), or None when not applicable."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)

        def read_parquet(columns):
            # The memory guard, before anything is decoded: run-length and dictionary
            # encoding let a few hundred KB hold tens of millions of rows.
            check_memory(path, fmt, parquet_memory(path, columns))
            return pq.read_table(path, columns=columns)

        return schema, read_parquet
    if fmt not in ("csv", "csv.gz"):
        return None
    import pyarrow.csv as pacsv

    delimiter = _csv_options(path, fmt == "csv.gz")
    if delimiter is None:
        return None
    parse = pacsv.ParseOptions(delimiter=delimiter)
    # Text is read verbatim: in an id column 'NA' (Namibia) or 'None' is an id, and only
    # an empty cell is missing. Number columns still read the markers as missing.
    base = {"null_values": NA_VALUES, "strings_can_be_null": False}
    with pacsv.open_csv(
        path, parse_options=parse, convert_options=pacsv.ConvertOptions(**base)
    ) as reader:
        schema = reader.schema  # types inferred from the first block

    def read_csv(columns):
        import pyarrow as pa

        types = {c: pa.float32() for c in columns if _is_number_type(schema.field(c).type)}
        convert = pacsv.ConvertOptions(include_columns=columns, column_types=types, **base)
        have = available_memory() if fmt == "csv.gz" else None
        if have is None:
            return pacsv.read_csv(path, parse_options=parse, convert_options=convert)
        # The memory guard for compressed text: decoded bytes are counted as they stream
        # (a gzip's size field is not to be trusted). Only the needed columns are kept,
        # as float32: about 2 bytes of memory per byte of text at most.
        import io

        source = io.BufferedReader(MeteredGzip(path, have, factor=2.0), buffer_size=1 << 20)
        with source:
            return pacsv.read_csv(source, parse_options=parse, convert_options=convert)

    return schema, read_csv


def prepare_large_file(
    path: str | Path, config: SegmentationConfig, *, min_bytes: int | None = None
) -> PreparedData | None:
    """Validated inputs of a large CSV/Parquet file via pyarrow, or None to use the general path.

    Parameters
    ----------
    path : str or Path
    config : SegmentationConfig
    min_bytes : int, optional
        Files smaller than this return None (default :data:`FAST_PATH_BYTES`).

    Returns
    -------
    PreparedData or None
        ``X`` is float32 of shape (n_used, n_features).

    Examples
    --------
    >>> prepared = prepare_large_file("customers.parquet", SegmentationConfig())  # doctest: +SKIP
    >>> prepared.X.dtype  # doctest: +SKIP
    dtype('float32')
    """
    p = Path(path)
    if config.id_column is not None:
        check_id_name(config.id_column)  # as prepare() does: ids must survive the output
    limit = FAST_PATH_BYTES if min_bytes is None else min_bytes
    try:
        if not p.is_file() or p.stat().st_size < limit:
            return None
        with p.open("rb") as fh:
            fmt = detect_format(p, fh.read(8))
        opened = _open_table(p, fmt, config)
    except Exception:  # anything odd about the file: the general loader explains it
        return None
    if opened is None:
        return None
    schema, read = opened
    names = [str(n) for n in schema.names]
    if len(set(names)) != len(names) or any(not n.strip() for n in names):
        return None

    # --- which columns --------------------------------------------------------------
    import pyarrow as pa
    import pyarrow.compute as pc

    id_column = config.id_column
    if id_column is not None and id_column not in names:
        return None
    # The id naming rule of the general loader (prepare.looks_like_id_name), not a copy.
    named_ids = [n for n in names if looks_like_id_name(n.strip())]
    id_candidates = [id_column] if id_column else named_ids
    if config.features is not None:
        if any(f not in names for f in config.features):
            return None
        wanted_features = list(config.features)
    else:
        wanted_features = [n for n in names if _is_number_type(schema.field(n).type)]
    text_columns = [n for n in names if n not in wanted_features and n not in id_candidates]
    # Without explicit features, prepare() also takes text columns that hold numbers
    # ("$1,200", "12,5"); any such column sends the file down the general path.
    checked = text_columns if config.features is None else []
    wanted = [n for n in names if n in wanted_features or n in id_candidates or n in checked]
    try:
        table = read(wanted)
    except DataError:  # the memory guard: the general path would only say it again
        raise
    except Exception:
        return None

    is_csv = fmt in ("csv", "csv.gz")
    for c in checked:
        col = table.column(c)
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            return None
        if pc.any(pc.match_substring_regex(col, r"\d")).as_py():
            return None
        if is_csv and c not in id_candidates:  # outside ids the markers mean missing
            missing_text = pc.is_in(col, value_set=pa.array(NA_VALUES))
            col = pc.if_else(missing_text, pa.scalar(None, col.type), col)
            table = table.set_column(table.schema.get_field_index(c), c, col)

    # --- id column: the first id-like column that is unique and complete (as prepare) ---
    n_rows = table.num_rows
    id_used = None
    for c in id_candidates:
        col = table.column(c)
        is_text = pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
        if is_csv and not is_text and col.null_count:
            return None  # 'NA' read as a missing number: the general path reads ids as text
        n_empty = col.null_count
        if is_csv and is_text:
            n_empty += int(pc.sum(pc.equal(col, "")).as_py() or 0)
        if n_empty == 0 and pc.count_distinct(col).as_py() == n_rows:
            id_used = c
            break
        if c == config.id_column:
            return None  # the general path names the empty or duplicate id
    plan = None
    if config.features is not None:
        features = list(config.features)
        if id_used in features:
            return None  # the general path explains that ids are not features
        chosen_by = "given"
    else:
        # The same rulebook as the general loader (data/rules.py), on the numbers read.
        contents = {}
        for n in names:
            if n in wanted_features:
                values = table.column(n).cast("float64").to_numpy(zero_copy_only=False)
                contents[n] = Content(numeric=values, text=None, n_rows=n_rows)
            elif n in checked or n in id_candidates:
                head = table.column(n).slice(0, 10_000).to_pandas()
                contents[n] = Content(numeric=None, text=head, n_rows=len(head))
        plan = plan_columns(
            contents,
            load_registry(config.roles),
            id_column=id_used,
            not_ids={},
            features=None,
            ignore=config.ignore or (),
        )
        if plan.derived or not plan.features:
            return None  # derived columns read text (dates): the general path does them
        features = list(plan.features)
        chosen_by = "column roles"
    if not features or any(not _is_number_type(table.schema.field(f).type) for f in features):
        return None  # text in a feature column: the general path coerces or explains
    if id_used is not None and pa.types.is_integer(table.schema.field(id_used).type):
        # Integer ids stay integers (printed the same); no ten million strings.
        ids = pd.Series(table.column(id_used).to_numpy())
    elif id_used is not None:
        ids = table.column(id_used).cast(pa.string()).to_pandas(types_mapper=pd.ArrowDtype)
    else:
        ids = pd.Series(np.arange(1, n_rows + 1))

    # --- the float32 matrix ---------------------------------------------------------
    X = np.empty((n_rows, len(features)), dtype=np.float32)
    for j, f in enumerate(features):
        col = table.column(f).cast("float32")
        X[:, j] = col.to_numpy(zero_copy_only=False)  # nulls become NaN
    del table
    if any(np.isinf(X[:, j]).any() for j in range(len(features))):
        return None  # infinite or too large for float32: the general path names the row

    # --- missing values -------------------------------------------------------------
    missing = np.isnan(X)
    rows_missing = missing.any(axis=1)
    left_out = np.full(n_rows, "", dtype=object)
    impute_values: dict[str, float] = {}
    imputed: dict[str, int] = {}
    dropped: dict[str, int] = {}
    imputed_rows = None
    repairs_missing: list[str] = []
    warns: list[str] = []
    if rows_missing.any():
        if config.missing == "error" or missing.all(axis=0).any():
            return None  # the general path names the feature and rows
        # The same rule as the general loader (prepare.handle_missing).
        gaps = handle_missing(X, missing, features, config.missing)
        impute_values, imputed = gaps.impute_values, gaps.imputed
        left_out = gaps.left_out
        rows_missing = left_out != ""
        if gaps.n_left_out:
            dropped["missing values"] = gaps.n_left_out
        if imputed:
            imputed_rows = gaps.imputed_rows
        repairs_missing, warns = gaps.repairs, gaps.warnings
    # Every feature gets a median, so a model can impute gaps in new data too.
    for j, f in enumerate(features):
        impute_values.setdefault(f, float(np.nanmedian(X[:, j])))
    used: np.ndarray = np.asarray(~rows_missing)

    if config.sample is not None and used.sum() > config.sample:
        # The same rows as prepare() picks for the same seed.
        rng = np.random.default_rng(config.seed)
        keep = np.sort(rng.choice(np.flatnonzero(used), size=config.sample, replace=False))
        out = used.copy()
        out[keep] = False
        left_out[out] = f"not in the --sample of {config.sample}"
        dropped["not sampled"] = int(out.sum())
        used &= ~out

    X_used = X[used] if not used.all() else X
    n_used = len(X_used)
    if n_used < 2 or (np.ptp(X_used, axis=0) == 0).any():
        return None
    kinds = {r.column: r.kind for r in plan.roles} if plan is not None else {}
    log_flags, transformed = log_features(X_used, tuple(features), kinds, config.transform)
    if plan is not None:
        ranges = plausible_ranges(plan.roles, load_registry(config.roles))
        flagged, lines = find_outliers(X_used, tuple(features), ranges, log_flags)
        if flagged.any() and config.outliers != "keep":
            return None  # the general path keeps them out of fitting or leaves them out
        repairs = tuple(f"flagged: {line}; kept and fitted like any customer" for line in lines)
    else:
        repairs = ()
    repairs = (*repairs_missing, *repairs)
    if isinstance(config.k, int) and config.k > n_used:
        return None
    ignored = {
        n: "text column, not profiled for large files"
        for n in names
        if n not in features and n != id_used and not _is_number_type(schema.field(n).type)
    }
    ignored.update(
        {
            n: "numeric, not among the chosen features"
            for n in names
            if n not in features and n != id_used and n not in ignored
        }
    )
    if plan is not None:
        ignored.update(plan.excluded)
    summary = DataSummary(
        source=str(p),
        file_format=fmt,
        n_rows=n_rows,
        n_used=n_used,
        dropped=dropped,
        id_column=id_used,
        features=tuple(features),
        features_chosen_by=chosen_by,
        categorical=(),
        ignored=ignored,
        missing_policy=config.missing,
        imputed=imputed,
        repairs=repairs,
        roles=plan.roles if plan is not None else (),
        transformed=transformed,
        warnings=tuple(warns),
    )
    return PreparedData(
        X=X_used,
        used=used,
        ids=ids,
        left_out=pd.Series(left_out, dtype=object),
        features=tuple(features),
        categories=pd.DataFrame(index=range(n_used)),
        impute_values=impute_values,
        summary=summary,
        log_features=log_flags,
        row_flags=None if imputed_rows is None else pd.DataFrame({"imputed": imputed_rows}),
    )


def prepare_matrix(
    X: np.ndarray, features: tuple[str, ...], *, source: str = "<array>"
) -> PreparedData:
    """Wrap an in-memory feature matrix (n_customers, n_features) as validated inputs.

    For benchmarks and callers that already hold a clean numeric matrix: no
    copy is made, ids are row numbers 1..n, nothing is left out.

    Examples
    --------
    >>> prepared = prepare_matrix(np.random.default_rng(0).random((100, 2)), ("a", "b"))
    >>> prepared.summary.n_used
    100
    """
    n, d = X.shape
    if len(features) != d:
        raise ValueError(f"{len(features)} feature names for {d} columns")
    summary = DataSummary(
        source=source,
        file_format="array",
        n_rows=n,
        n_used=n,
        dropped={},
        id_column=None,
        features=tuple(features),
        features_chosen_by="given",
        categorical=(),
        ignored={},
        missing_policy="drop",
        imputed={},
    )
    return PreparedData(
        X=X,
        used=np.ones(n, dtype=bool),
        ids=pd.Series(np.arange(1, n + 1)),
        left_out=pd.Series(np.full(n, "", dtype=object), dtype=object),
        features=tuple(features),
        categories=pd.DataFrame(index=range(n)),
        impute_values={f: float(np.median(X[:, j])) for j, f in enumerate(features)},
        summary=summary,
    )
