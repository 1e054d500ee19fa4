"""The per-customer table of a transaction log on Spark (``custseg rfm --engine spark``).

The same table and :class:`~custseg.rfm.query.LogSummary` as the DuckDB path
(:func:`custseg.rfm.query.per_customer_table`), by the same rules, each defined once in
:mod:`custseg.rfm.query`: the columns detected on the first
:data:`~custseg.rfm.query.SAMPLE_LINES` lines, identical lines counted once, currencies,
text dates read with the same strptime formats (translated to Spark's patterns by
:func:`spark_pattern`) and slash dates ordered by the whole column, each line's kind by
the first rule that applies, the as-of date, and the per-customer aggregates; the same
errors for unreadable values. Spark reads the log (a CSV or Parquet file or a Parquet
folder, any URI Spark reads) and every pass over the lines runs there; the lines never reach this
computer. What comes back is a few counts and the per-customer table, which has one row
per customer and is brought to the driver when it has at most :data:`DRIVER_CUSTOMERS`
rows (the scores, segments and clusters are then the local code).

Not reproduced, and refused with one line naming what to do instead: Excel workbooks
and lines wrapped in quotes as a whole (a repair of the DuckDB path).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, DataError
from ..rfm.query import (
    CUSTOMER_COLUMNS,
    DATED_KINDS,
    SAMPLE_LINES,
    SLASH_DATE,
    TYPED_DATES,
    TZ_SUFFIX,
    ZONED_DATES,
    LogRules,
    LogSummary,
    bad_date_message,
    bad_number_message,
    check_currencies,
    check_log_file,
    date_format_groups,
    finish_customers,
    log_columns,
    log_encoding,
    log_summary,
    slash_order,
    text_dates,
    used_columns,
    wrapped_line,
)
from .spark import SparkEngine, quiet_spark, read_text_csv, unreadable
from .spark_assign import MALFORMED_RECORD, is_uri

#: The most customers whose per-customer table is brought to this computer. The table has
#: about a dozen columns (some 200 bytes a customer in pandas), so 2,000,000 customers take
#: about 0.5 GB on the driver, and the scores, named segments and clustering that follow
#: run locally on it in seconds to minutes. A log with more customers is refused rather
#: than risk the driver's memory.
DRIVER_CUSTOMERS = 2_000_000

#: Settings for the duration of the run: times with an offset are read as UTC and dates
#: are days in UTC (as DuckDB's TimeZone='UTC'); Spark 3's date parser, not the legacy one.
_SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
}
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv", ".tsv.gz", ".txt.gz")
_JAVA_ENCODING = {"utf-8": "UTF-8", "latin-1": "ISO-8859-1"}
_OTHERS, _COPIES = "_custseg_others", "_custseg_copies"

# --- strptime formats as Spark datetime patterns --------------------------------------

# Python's strptime reads %d, %m, %H, %M and %S with one or two digits: Spark's one-letter
# fields do the same. Next to another number field (no separator, as in %Y%m%d) a field
# needs its fixed width for the text to split at all.
_FIELDS = {
    "%Y": "y",  # DuckDB's %Y reads 1 to 4 digits (2/3/24 is the year 24): so does y
    "%y": "yy",
    "%m": "M",
    "%d": "d",
    "%H": "H",
    "%M": "m",
    "%S": "s",
    "%f": "SSSSSS",  # Spark reads 1 to 6 digits, as %f
    "%z": "XXX",  # offsets are written +HH:MM before parsing (see _offset_as_colon)
    "%b": "MMM",
}
_FIXED = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss"}
_NUMBER_FIELDS = {"%Y", "%y", "%m", "%d", "%H", "%M", "%S", "%f"}


def spark_pattern(fmt: str) -> str:
    """The Spark datetime pattern reading what the strptime format ``fmt`` reads.

    Examples
    --------
    >>> spark_pattern("%Y-%m-%dT%H:%M:%S.%f%z")
    "y-M-d'T'H:m:s.SSSSSSXXX"
    >>> spark_pattern("%Y%m%d")
    'yyyyMMdd'
    >>> spark_pattern("%d-%b-%Y %H:%M")
    'd-MMM-y H:m'
    """
    tokens = re.findall(r"%.|[^%]+", fmt)
    out = []
    for i, token in enumerate(tokens):
        if token.startswith("%"):
            if token not in _FIELDS:
                raise ValueError(f"strptime field {token} has no Spark pattern here")
            beside = [tokens[j] for j in (i - 1, i + 1) if 0 <= j < len(tokens)]
            fixed = any(t in _NUMBER_FIELDS for t in beside) and token in _NUMBER_FIELDS
            out.append(_FIXED.get(token, _FIELDS[token]) if fixed else _FIELDS[token])
        else:  # literal text: letters are quoted, quotes doubled
            out.append(
                re.sub(r"[A-Za-z']+", lambda m: "'" + m.group().replace("'", "''") + "'", token)
            )
    return "".join(out)


# --- reading the log -----------------------------------------------------------------


def _name(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def read_log(engine: SparkEngine, path: str | Path) -> tuple[Any, str, str, list[str]]:
    """(Spark DataFrame of the log, source name, format, repairs stated).

    CSV is read with every column as text, with the delimiter and encoding sniffed as
    locally (on other URIs than local files: ``,``, or a tab for ``.tsv``, and UTF-8).

    Raises
    ------
    DataError
        The file is missing or empty, or Spark cannot read it.
    ConfigError
        An Excel workbook, or lines wrapped in quotes as a whole (``--engine local`` reads
        both).
    """
    source = str(path)
    name = source.lower()
    repairs: list[str] = []
    local = None if is_uri(source) else Path(source.removeprefix("file://"))
    fmt = "csv" if name.endswith(_CSV_SUFFIXES) else "parquet"
    if name.endswith((".xlsx", ".xlsm", ".xls")):
        fmt = "excel"
    if local is not None:
        check_log_file(local, folder_ok=True)  # a folder: Parquet (or CSV) files Spark reads
        if local.is_file():
            from ..data.loading import detect_format

            with local.open("rb") as fh:
                fmt = {"csv.gz": "csv", "xls": "excel"}.get(
                    d := detect_format(local, fh.read(8)), d
                )
    if fmt == "excel":
        raise ConfigError(
            f"'{source}' is an Excel workbook; --engine spark reads CSV or Parquet logs: "
            "export it as CSV or Parquet, or use --engine local"
        )
    reader = engine.session.read
    try:
        with quiet_spark():
            if fmt == "parquet":
                return reader.parquet(source), source, fmt, repairs
            sep, encoding = ("\t" if ".tsv" in name else ","), "UTF-8"
            if local is not None and local.is_file():
                sep, encoding = _sniff(local, source, repairs)
            df = read_text_csv(
                engine.session,
                source,
                sep=sep,
                encoding=encoding,
                options={"quote": '"', "escape": '"'},  # as DuckDB reads the log
            )
            return df, source, fmt, repairs
    except (ConfigError, DataError):
        raise
    except Exception as exc:  # pyspark's AnalysisException and friends: lazy imports
        raise unreadable(exc, source) from None


def _sniff(p: Path, source: str, repairs: list[str]) -> tuple[str, str]:
    """(delimiter, Java encoding) of a local CSV log, as the local reader sniffs it."""
    import csv

    from ..data.loading import sniff_csv

    compressed = p.name.lower().endswith(".gz")
    sniff = sniff_csv(p, compressed)
    sniff.require_plain(p, "--engine spark")
    lines = sniff.text.splitlines()
    if lines:
        n_fields = len(next(csv.reader([lines[0]], delimiter=sniff.delimiter)))
        if any(wrapped_line(line, sniff.delimiter, n_fields) for line in lines[1:-1]):
            raise ConfigError(
                f"'{source}' has lines wrapped in quotes as a whole (one field instead of "
                f"{n_fields}); --engine spark does not repair them: use --engine local (it "
                "does, and says so), or export the log again without the outer quotes"
            )
    encoding = log_encoding(sniff.encoding, p.name, repairs)
    return sniff.delimiter, _JAVA_ENCODING[encoding]


@contextlib.contextmanager
def _session_conf(session: Any) -> Iterator[None]:
    """:data:`_SESSION_CONF` for the run; the session's own values afterwards."""
    before = {k: session.conf.get(k, None) for k in _SESSION_CONF}
    for k, v in _SESSION_CONF.items():
        session.conf.set(k, v)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                session.conf.unset(k)
            else:
                session.conf.set(k, v)


# --- typed columns (the same rules as the DuckDB path's SQL) ---------------------------


def _blank_null(c: Any) -> Any:
    from pyspark.sql import functions as F

    return F.when(c != "", c)


def _as_text(column: str, dtype: Any) -> Any:
    """The column as text, as DuckDB's CAST(... AS VARCHAR) writes it, trimmed."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    c = F.col(_name(column))
    if isinstance(dtype, (DoubleType, FloatType)):
        # Java writes 17850000.0 as 1.785E7; DuckDB (and custseg's ids) as 17850000.0.
        whole = (c == F.floor(c)) & (F.abs(c) < 1e15)
        text = F.when(whole, F.concat(c.cast("long").cast("string"), F.lit(".0")))
        return F.trim(text.otherwise(c.cast("string")))
    return F.trim(c.cast("string"))


def _text(column: str, dtype: Any) -> Any:
    """An id or code as text: trimmed, empty as null, '17850.0' as '17850'."""
    from pyspark.sql import functions as F

    fixed = F.regexp_replace(_as_text(column, dtype), r"^(-?[0-9]+)\.0+$", "$1")
    return _blank_null(fixed)


def _number_text(column: str, dtype: Any) -> Any:
    return _blank_null(_as_text(column, dtype))


def _number(column: str, dtype: Any) -> Any:
    """The column as a double; text that DuckDB's cast does not read as a number is null."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, NumericType

    if isinstance(dtype, NumericType) and not isinstance(dtype, BooleanType):
        return F.col(_name(column)).cast("double")
    text = _number_text(column, dtype)
    # DuckDB reads 1_000 (an underscore between digits); Java reads 1.5d, 1.5f and hex.
    java_only = text.rlike(r"(?i)([0-9.][df]$|0x)")
    plain = F.regexp_replace(text, r"(?<=[0-9])_(?=[0-9])", "")
    return F.when(~java_only, plain).try_cast("double")


def _parsed(text: Any, fmt: str) -> Any:
    """``text`` read with one strptime format (null when it does not fit)."""
    from pyspark.sql import functions as F

    ts = F.try_to_timestamp(text, F.lit(spark_pattern(fmt)))
    if "%y" in fmt:  # two-digit years 69-99 are 1969-1999, as strptime and DuckDB read them
        ts = F.when(F.year(ts) >= 2069, ts - F.expr("INTERVAL 100 YEARS")).otherwise(ts)
    return ts


def _offset_as_colon(text: Any) -> Any:
    from pyspark.sql import functions as F

    utc = F.regexp_replace(text, "(Z|UTC)$", "+00:00")
    return F.regexp_replace(utc, "([+-][0-9][0-9]):?([0-9][0-9])$", "$1:$2")


def _text_date(text: Any, day_first: bool) -> Any:
    """The timestamp of a text date, by the formats of :func:`date_format_groups`."""
    from pyspark.sql import functions as F

    with_tz, slash, other = date_format_groups(day_first)
    vz = _offset_as_colon(text)
    # DuckDB's ISO cast (tried first there) keeps 6 digits of a longer fraction.
    v6 = F.regexp_replace(
        text, r"^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9:]+\.[0-9]{6})[0-9]+$", "$1"
    )
    return (
        F.when(text.rlike(TZ_SUFFIX), F.coalesce(*[_parsed(vz, f) for f in with_tz]))
        .when(text.contains("/"), F.coalesce(*[_parsed(text, f) for f in slash]))
        .otherwise(F.coalesce(*[_parsed(v6, f) for f in other]))
    )


def _is_typed_date(dtype: Any) -> bool:
    from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

    return isinstance(dtype, (DateType, TimestampType, TimestampNTZType))


def _slash_stats(text: Any) -> list[Any]:
    """Aggregates for :func:`slash_order`: slash dates, largest first and second part."""
    from pyspark.sql import functions as F

    slash = text.rlike(SLASH_DATE)
    first = F.regexp_extract(text, r"^([0-9]{1,2})/", 1).try_cast("int")
    second = F.regexp_extract(text, r"^[0-9]{1,2}/([0-9]{1,2})/", 1).try_cast("int")
    return [
        F.sum(F.when(slash, 1).otherwise(0)).alias("slash_n"),
        F.max(F.when(slash, first)).alias("slash_first"),
        F.max(F.when(slash, second)).alias("slash_second"),
    ]


# --- the per-customer table ----------------------------------------------------------


def per_customer_table_spark(
    path: str | Path,
    rules: LogRules,
    *,
    columns: dict[str, str | None] | None = None,
    engine: SparkEngine | None = None,
    max_customers: int = DRIVER_CUSTOMERS,
) -> tuple[pd.DataFrame, LogSummary]:
    """One row per customer from a transaction log, computed by Spark.

    The same table and summary as :func:`custseg.rfm.query.per_customer_table` (money
    within rounding of sums added in another order).

    Parameters
    ----------
    path : str or Path
        The log: a CSV or Parquet file or a Parquet folder (a folder named ``*.csv`` is
        read as CSV); a local path or any URI Spark reads.
    rules : LogRules
        ``memory_limit`` (DuckDB's) does not apply.
    columns : dict, optional
        Roles named by the user (``customer``, ``date``, ``invoice``, ``amount``,
        ``quantity``, ``price``, ``product``, ``currency_column``).
    engine : SparkEngine, optional
        The engine (its session); by default the active session, or a new one.
    max_customers : int
        The most customers brought to this computer (:data:`DRIVER_CUSTOMERS`).

    Returns
    -------
    customers : DataFrame
        As :func:`~custseg.rfm.query.per_customer_table`, sorted by ``customer_id``.
    summary : LogSummary

    Raises
    ------
    DataError
        The errors of the DuckDB path (unreadable dates or numbers, several currencies,
        no purchase ...), with the same messages.
    ConfigError
        An Excel log, lines wrapped in quotes as a whole, or more than ``max_customers``
        customers.

    Examples
    --------
    >>> customers, summary = per_customer_table_spark(
    ...     "s3a://lake/invoices/", LogRules(as_of=date(2011, 12, 10)))  # doctest: +SKIP
    """
    engine = engine or SparkEngine()
    session = engine.session
    df, source, fmt, repairs = read_log(engine, path)
    with _session_conf(session):
        try:
            return _compute(df, source, fmt, rules, columns, repairs, max_customers)
        except (ConfigError, DataError):
            raise
        except Exception as exc:  # Spark's errors: a malformed CSV line, an unreadable file
            bad = MALFORMED_RECORD.search(str(exc))
            if bad is not None:
                raise DataError(
                    f"'{source}' has a line whose fields do not match the header: "
                    f"{bad.group(1)!r}; fix that row (a missing quote or an extra delimiter; "
                    "lines wrapped in quotes as a whole are repaired by --engine local)"
                ) from None
            raise


def _compute(
    df: Any,
    source: str,
    fmt: str,
    rules: LogRules,
    columns: dict[str, str | None] | None,
    repairs: list[str],
    max_customers: int,
) -> tuple[pd.DataFrame, LogSummary]:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    with quiet_spark():
        sample = df.limit(SAMPLE_LINES).toArrow().to_pandas()
    cols = log_columns(sample, source, rules, columns)
    types = {f.name: f.dataType for f in df.schema.fields}

    # 1. Identical lines kept once with their count: grouped by the used columns and a
    #    64-bit hash of the others (with which of them are empty: xxhash64 skips nulls).
    used = used_columns(cols, list(types))
    others = [c for c in types if c not in used]
    keep = [F.col(_name(c)) for c in used]
    if others:
        hashed = [x for c in others for x in (F.col(_name(c)), F.col(_name(c)).isNull())]
        keep.append(F.xxhash64(*hashed).alias(_OTHERS))
    grouped = df.select(*keep).groupBy(
        *[F.col(_name(c)) for c in used], *([_OTHERS] if others else [])
    )
    raw = grouped.agg(F.count(F.lit(1)).alias(_COPIES)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _from_distinct_lines(raw, source, fmt, types, cols, rules, repairs, max_customers)
    finally:
        raw.unpersist()


def _from_distinct_lines(
    raw: Any,
    source: str,
    fmt: str,
    types: dict[str, Any],
    cols: Any,
    rules: LogRules,
    repairs: list[str],
    max_customers: int,
) -> tuple[pd.DataFrame, LogSummary]:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    typed_date = _is_typed_date(types[cols.date])
    date_text = _blank_null(F.trim(F.col(_name(cols.date)).cast("string")))
    # 2. One pass: the lines, and per currency (several are refused unless --currency
    #    picks one), with what the slash dates say about their order.
    cur = F.upper(_text(cols.currency, types[cols.currency])) if cols.currency else F.lit(None)
    aggs = [F.sum(_COPIES).alias("n_lines"), F.count(F.lit(1)).alias("n_distinct")]
    if not typed_date:
        aggs += _slash_stats(date_text)
    with quiet_spark():
        per_currency = raw.groupBy(cur.cast("string").alias("cur")).agg(*aggs).collect()
    n_lines = sum(int(r["n_lines"] or 0) for r in per_currency)
    n_duplicates = n_lines - sum(int(r["n_distinct"]) for r in per_currency)
    if cols.currency:
        found = sorted((r["cur"], int(r["n_lines"])) for r in per_currency if r["cur"] is not None)
        check_currencies(found, cols, rules, source)

    # 3. Typed columns and each line's kind: the first rule that applies.
    if typed_date:
        ts = F.col(_name(cols.date)).cast("timestamp")
        zoned = isinstance(types[cols.date], TimestampType)  # Parquet's UTC-adjusted times
        date_formats = ZONED_DATES if zoned else TYPED_DATES
    else:
        day_first, how = slash_order(
            cols.date,
            sum(int(r["slash_n"] or 0) for r in per_currency),
            max((r["slash_first"] for r in per_currency if r["slash_first"]), default=None),
            max((r["slash_second"] for r in per_currency if r["slash_second"]), default=None),
        )
        ts = _text_date(date_text, day_first)
        date_formats = text_dates(how)
    num_cols = [c for c in (cols.amount, cols.quantity, cols.price) if c]
    num = {c: _number(c, types[c]) for c in num_cols}
    qty = price = F.lit(None).cast("double")
    if cols.amount:
        amount = num[cols.amount]
    else:
        qty, price = num[cols.quantity], num[cols.price]
        amount = qty * price
    inv = _text(cols.invoice, types[cols.invoice]) if cols.invoice else F.lit(None).cast("string")
    prod = F.upper(_text(cols.product, types[cols.product])) if cols.product else F.lit(None)
    typed = raw.select(
        _text(cols.customer, types[cols.customer]).alias("cust"),
        ts.alias("ts"),
        date_text.alias("date_text"),
        inv.alias("inv"),
        prod.cast("string").alias("prod"),
        cur.cast("string").alias("cur"),
        amount.alias("amount"),
        qty.alias("qty"),
        price.alias("price"),
        *[num[c].alias(f"num{j}") for j, c in enumerate(num_cols)],
        *[_number_text(c, types[c]).alias(f"raw{j}") for j, c in enumerate(num_cols)],
        _COPIES,
    )
    c = F.col
    kind: Any = F.when(c("ts").isNull() & c("date_text").isNotNull(), "bad_date")
    for j, name in enumerate(num_cols):
        kind = kind.when(c(f"num{j}").isNull() & c(f"raw{j}").isNotNull(), f"bad_number {name}")
    kind = (
        kind.when(c("cust").isNull(), "no_customer")
        .when(c("ts").isNull(), "no_date")
        .when(c("amount").isNull(), "no_amount")
    )
    if rules.currency:
        kind = kind.when(~c("cur").eqNullSafe(rules.currency.upper()), "other_currency")
    if rules.non_product:
        kind = kind.when(c("prod").isin(list(rules.non_product)), "non_product")
    if not cols.amount:
        kind = kind.when(c("price") == 0, "zero_price").when(c("price") < 0, "negative_price")
    kind = kind.when(c("amount") == 0, "zero_amount")
    if rules.as_of:
        kind = kind.when(F.to_date(c("ts")) >= F.lit(rules.as_of), "after_as_of")
    negative = c("amount") < 0 if cols.amount else c("qty") < 0
    is_return = F.upper(F.coalesce(c("inv"), F.lit(""))).startswith("C") | negative
    kind = kind.when(is_return, "return_dropped" if rules.returns == "drop" else "return")
    # Kept for the per-customer pass: the dates are parsed once.
    kinds = typed.withColumn("kind", kind.otherwise("purchase"))
    kinds = kinds.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _summary_and_customers(
            kinds,
            raw,
            source,
            fmt,
            cols,
            rules,
            repairs,
            n_lines,
            n_duplicates,
            num_cols,
            date_formats,
            max_customers,
        )
    finally:
        kinds.unpersist()


def _summary_and_customers(
    kinds: Any,
    raw: Any,
    source: str,
    fmt: str,
    cols: Any,
    rules: LogRules,
    repairs: list[str],
    n_lines: int,
    n_duplicates: int,
    num_cols: list[str],
    date_formats: str,
    max_customers: int,
) -> tuple[pd.DataFrame, LogSummary]:
    from pyspark.sql import functions as F

    c = F.col

    # 4. Counts and amounts by kind, the first and last dated day, and the least value of
    #    each column that cannot be read (for the message), in one pass.
    dated = c("kind").isin(list(DATED_KINDS))
    per_kind = [
        F.count(F.lit(1)).alias("n"),
        F.sum("amount").alias("amount"),
        F.to_date(F.min(F.when(dated, c("ts")))).alias("first"),
        F.to_date(F.max(F.when(dated, c("ts")))).alias("last"),
        F.min(F.when(c("ts").isNull(), c("date_text"))).alias("bad_date"),
        *[
            F.min(F.when(c(f"num{j}").isNull(), c(f"raw{j}"))).alias(f"bad{j}")
            for j in range(len(num_cols))
        ],
    ]
    with quiet_spark():
        by_kind = kinds.groupBy("kind").agg(*per_kind).collect()
    raw.unpersist()  # the kinds of the lines are kept: the lines themselves are not needed
    counts = {r["kind"]: (int(r["n"]), float(r["amount"] or 0.0)) for r in by_kind}

    def least(key: str) -> Any:
        return min((r[key] for r in by_kind if r[key] is not None), default=None)

    if "bad_date" in counts:
        raise DataError(
            bad_date_message(cols.date, source, counts["bad_date"][0], least("bad_date"))
        )
    for j, name in enumerate(num_cols):
        if f"bad_number {name}" in counts:
            n_bad = counts[f"bad_number {name}"][0]
            raise DataError(bad_number_message(name, source, n_bad, least(f"bad{j}")))

    # 5. The as-of date and the summary (the rules of the DuckDB path).
    first, last = least("first"), max((r["last"] for r in by_kind if r["last"]), default=None)
    summary = log_summary(
        source=source,
        fmt=fmt,
        cols=cols,
        rules=rules,
        repairs=repairs,
        n_lines=n_lines,
        n_duplicates=n_duplicates,
        counts=counts,
        first_ts=_midnight(first),
        last_ts=_midnight(last),
        date_formats=date_formats,
    )

    # 6. Per customer. Returns always lower monetary by their absolute amount.
    purchase = c("kind") == "purchase"
    returned = c("kind").isin("return", "return_dropped")
    orders = c("inv") if cols.invoice else F.to_date(c("ts"))
    per = (
        kinds.where(purchase | returned)
        .groupBy("cust")
        .agg(
            # Sizes of sets rather than count(DISTINCT): Spark runs two count(DISTINCT)
            # by copying every line once per distinct column; sets are one pass.
            F.size(F.collect_set(F.when(purchase, orders))).alias("frequency"),
            F.sum(F.when(purchase, c("amount"))).alias("purchases"),
            F.sum(F.when(returned, F.abs(c("amount")))).alias("returns"),
            F.to_date(F.min(F.when(purchase, c("ts")))).alias("first_day"),
            F.to_date(F.max(F.when(purchase, c("ts")))).alias("last_day"),
            F.size(F.collect_set(F.when(purchase, c("prod")))).alias("n_products"),
        )
    )
    as_of = F.lit(summary.as_of)
    bought = F.coalesce(c("purchases"), F.lit(0.0))
    back = F.coalesce(c("returns"), F.lit(0.0))
    table = per.select(
        c("cust").alias("customer_id"),
        F.datediff(as_of, c("last_day")).cast("long").alias("recency_days"),
        c("frequency").cast("long").alias("frequency"),
        (bought - back if rules.returns == "net" else bought).alias("monetary"),
        F.datediff(as_of, c("first_day")).cast("long").alias("tenure_days"),
        F.when(c("frequency") != 0, c("purchases") / c("frequency")).alias("avg_order_value"),
        c("n_products").cast("long").alias("n_products"),
        F.when(c("purchases") != 0, back / c("purchases")).alias("return_share"),
        bought.alias("purchases"),
        back.alias("returns"),
        c("first_day").cast("timestamp_ntz").alias("first_purchase"),
        c("last_day").cast("timestamp_ntz").alias("last_purchase"),
    )
    with quiet_spark():
        got = table.limit(max_customers + 1).toArrow()
    if got.num_rows > max_customers:
        with quiet_spark():
            n = per.count()
        raise ConfigError(
            f"'{source}' has {n:,} customers; --engine spark brings the per-customer table "
            f"to this computer for at most {max_customers:,} (custseg.engines.spark_rfm."
            "DRIVER_CUSTOMERS): split the log (by customer) or use --engine local"
        )
    return finish_customers(_frame(got), cols), summary


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time())


def _frame(table: Any) -> pd.DataFrame:
    """The per-customer Arrow table as the DuckDB path's frame: sorted by id, its dtypes."""
    frame = table.to_pandas()
    frame = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
    frame["customer_id"] = frame["customer_id"].astype("str")
    for col in ("recency_days", "tenure_days"):  # as DuckDB: nullable only with a null
        frame[col] = frame[col].astype("Int64" if frame[col].isna().any() else "int64")
    for col in ("first_purchase", "last_purchase"):
        frame[col] = frame[col].astype("datetime64[us]")
    return frame[list(CUSTOMER_COLUMNS)]


__all__: Sequence[str] = [
    "DRIVER_CUSTOMERS",
    "per_customer_table_spark",
    "read_log",
    "spark_pattern",
]
