"""The per-customer table of a transaction log, computed by DuckDB with SQL over the file.

DuckDB reads CSV and Parquet files directly (Excel workbooks are read with
openpyxl and registered as a table), in parallel and within a memory limit,
spilling to a temporary folder when the log is larger than memory. Nothing here
loops in Python over lines or customers: every pass over the lines is one SQL
statement, and only the per-customer table and a few counts come back.

The rules (which lines count, how returns are netted, how dates are read) are
listed in ``docs/rfm.md``; every line that is left out is counted by reason.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, DataError
from .detect import LogColumns, detect_columns

# Stock codes of lines that are not products: postage, carriage, fees, manual
# adjustments, discounts, samples, bank charges (codes of the widely used UCI
# Online Retail export and common ERP exports). Matched case-insensitively on the
# trimmed code; replace with --non-product.
DEFAULT_NON_PRODUCT = (
    "POST",
    "DOT",
    "C2",
    "M",
    "MANUAL",
    "D",
    "S",
    "B",
    "CRUK",
    "PADS",
    "BANK CHARGES",
    "AMAZONFEE",
    "ADJUST",
    "FEE",
    "SHIPPING",
    "DISCOUNT",
)
RETURNS = ("net", "drop")
SAMPLE_LINES = 2_000

# Date formats tried in order on text dates (ISO first), as strptime formats: the one
# definition every engine reads them from (custseg.engines.spark_rfm translates them to
# Spark's patterns). Slash dates are read month-first or day-first as the whole column
# decides (see slash_order).
ISO_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y%m%d",
]
ISO_TZ_FORMATS = [
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M%z",
    "%Y-%m-%dT%H:%M%z",
]
_TIME_SUFFIXES = [" %H:%M:%S", " %H:%M", ""]
#: A text date ending in a time-zone offset after its time (read with ISO_TZ_FORMATS, Z and
#: UTC as +00:00). The time is required: the year of '15-Jan-2024' is not an offset.
TZ_SUFFIX = "[0-9]:[0-9][0-9](:[0-9][0-9](\\.[0-9]+)?)? ?(Z|UTC|[+-][0-9][0-9]:?[0-9][0-9])$"
#: A text date starting with a slash date (d/m/y or m/d/y), whose order the column decides.
SLASH_DATE = "^[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}"


def slash_formats(day_first: bool) -> list[str]:
    """The formats of non-ISO text dates, slash dates in the column's order."""
    d = "%d/%m" if day_first else "%m/%d"
    out = []
    # Two-digit years first: a 1-4 digit %Y would read 2/3/24 as the year 24 (and %y does
    # not read a four-digit year).
    for year in ("%y", "%Y"):
        out += [f"{d}/{year}{t}" for t in _TIME_SUFFIXES]
    out += [f"%d.%m.%Y{t}" for t in _TIME_SUFFIXES]  # dotted dates are day-first everywhere
    out += [f"%d-%b-%Y{t}" for t in _TIME_SUFFIXES]
    return out


def date_format_groups(day_first: bool) -> tuple[list[str], list[str], list[str]]:
    """The formats tried on a text date, by kind of text: (with a time-zone offset, with a
    slash, any other), each in the order tried (the first that reads the text wins).

    A text ending in :data:`TZ_SUFFIX` is read with the first list (``Z`` and ``UTC``
    as ``+00:00``), else a text with a ``/`` with the second, else with the third.
    """
    # ISO dates written with slashes (2024/03/31) are slash texts too.
    slash = [f for f in slash_formats(day_first) if "/" in f]
    slash += [f for f in ISO_FORMATS if "/" in f]
    other = [f for f in ISO_FORMATS if "/" not in f]
    other += [f for f in slash_formats(day_first) if "/" not in f]
    return list(ISO_TZ_FORMATS), slash, other


@dataclass(frozen=True)
class LogRules:
    """How lines count. See ``docs/rfm.md`` for each rule.

    Parameters
    ----------
    returns : {"net", "drop"}
        ``net``: cancellations and returns are subtracted from the customer's
        purchases; ``drop``: they are left out of monetary (still counted, and in
        ``return_share``).
    non_product : tuple of str
        Product codes of lines that are not products (postage, fees ...).
    currency : str, optional
        The one currency to keep when the log has a currency column with several.
    as_of : date, optional
        The day recency is counted to (default: the day after the last line).
    memory_limit : str, optional
        DuckDB's memory limit (default: half the available memory).
    """

    returns: str = "net"
    non_product: tuple[str, ...] = DEFAULT_NON_PRODUCT
    currency: str | None = None
    as_of: date | None = None
    memory_limit: str | None = None

    def __post_init__(self) -> None:
        if self.returns not in RETURNS:
            raise ConfigError(f"returns={self.returns!r} is not one of {', '.join(RETURNS)}")
        object.__setattr__(
            self, "non_product", tuple(str(c).strip().upper() for c in self.non_product)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "returns": self.returns,
            "non_product": list(self.non_product),
            "currency": self.currency,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }


@dataclass(frozen=True)
class LogSummary:
    """What was read, and every line left out, by reason."""

    source: str
    file_format: str
    columns: LogColumns
    n_lines: int
    n_purchase_lines: int
    n_return_lines: int
    left_out: dict[str, int]
    left_out_amount: dict[str, float]
    as_of: date
    as_of_chosen_by: str
    first_date: date
    last_date: date
    date_formats: str
    repairs: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.file_format,
            "columns": self.columns.to_dict(),
            "n_lines": self.n_lines,
            "n_purchase_lines": self.n_purchase_lines,
            "n_return_lines": self.n_return_lines,
            "left_out": dict(self.left_out),
            "left_out_amount": {k: round(v, 2) for k, v in self.left_out_amount.items()},
            "as_of": self.as_of.isoformat(),
            "as_of_chosen_by": self.as_of_chosen_by,
            "first_date": self.first_date.isoformat(),
            "last_date": self.last_date.isoformat(),
            "date_formats": self.date_formats,
            "repairs": list(self.repairs),
        }


# Why a line is left out, in the order the rules apply (a line gets the first).
LEFT_OUT_REASONS = {
    "duplicate": "identical to an earlier line (counted once)",
    "no_customer": "without a customer id",
    "no_date": "without a date",
    "no_amount": "without an amount (empty quantity, price or amount)",
    "other_currency": "in another currency than --currency",
    "non_product": "not products (postage, fees, adjustments: --non-product)",
    "zero_price": "with a zero price",
    "negative_price": "with a negative price (adjustments, not sales)",
    "zero_amount": "with a zero quantity or amount",
    "after_as_of": "dated on or after the as-of date",
    "return_dropped": "cancellations or returns, left out by --returns drop",
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextlib.contextmanager
def duckdb_connection(memory_limit: str | None = None) -> Iterator[Any]:
    """A DuckDB connection with a memory limit that spills to a private temporary folder."""
    import duckdb

    from ..data.loading import available_memory

    tmp = tempfile.mkdtemp(prefix="custseg-rfm-")
    try:
        con = duckdb.connect(os.path.join(tmp, "rfm.duckdb"))
        try:
            if memory_limit is None:
                avail = available_memory()
                memory_limit = f"{max(avail // 2, 256 * 2**20) // 2**20}MB" if avail else "2GB"
            con.execute(f"SET memory_limit={_literal(memory_limit)}")
            con.execute(f"SET temp_directory={_literal(os.path.join(tmp, 'spill'))}")
            con.execute("SET TimeZone='UTC'")  # times with an offset are read as UTC
            con.execute("SET enable_progress_bar=false")
            yield con
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- reading the file -----------------------------------------------------------


def wrapped_line(line: str, delimiter: str, n_fields: int) -> str | None:
    """The line without its outer quotes when the whole line was quoted as one field."""
    s = line.rstrip("\r\n")
    if len(s) < 2 or not (s.startswith('"') and s.endswith('"')):
        return None
    fields = next(csv.reader([s], delimiter=delimiter))
    if len(fields) != 1 or n_fields < 2:
        return None
    inner = fields[0]
    if len(next(csv.reader([inner], delimiter=delimiter))) == n_fields:
        return inner
    return None


def _unwrap_quoted_lines(p: Path, encoding: str, delimiter: str, workdir: str) -> tuple[Path, int]:
    """Copy ``p`` with lines quoted as a whole unquoted; returns the copy and how many."""
    out = Path(workdir) / "unwrapped.csv"
    count = 0
    with (
        p.open(encoding=encoding, newline="") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
    ):
        header = src.readline()
        n_fields = len(next(csv.reader([header.rstrip("\r\n")], delimiter=delimiter)))
        dst.write(header.rstrip("\r\n") + "\n")
        for line in src:
            inner = wrapped_line(line, delimiter, n_fields)
            if inner is None:
                dst.write(line.rstrip("\r\n") + "\n")
            else:
                count += 1
                dst.write(inner + "\n")
    return out, count


class _NothingToUnwrap(Exception):
    """The whole file was scanned for lines wrapped in quotes, and there were none."""


def log_encoding(encoding: str, name: str, repairs: list[str]) -> str:
    """How a CSV log in ``encoding`` (as sniffed) is read, ``utf-8`` or ``latin-1``, on
    every engine; a cp1252 file is read as Latin-1 and that is stated in ``repairs``."""
    if encoding in ("latin-1", "iso-8859-1", "cp1252"):
        if encoding == "cp1252":
            repairs.append(f"'{name}' is read as Latin-1 (its encoding, cp1252, is close to it)")
        return "latin-1"
    return "utf-8"


def _csv_source(
    con: Any, p: Path, compressed: bool, repairs: list[str], *, scan_all: bool = False
) -> tuple[str, str]:
    """A DuckDB table expression over a CSV file (every column read as text).

    Lines wrapped in quotes as a whole are looked for in the first 256 KB, or in the
    whole file with ``scan_all`` (after the reader failed on a later line).
    """
    from ..data.loading import sniff_csv

    sniff = sniff_csv(p, compressed)  # the one CSV sniffer of every reader
    sniff.require_plain(p, "custseg rfm")
    encoding, text, delimiter = sniff.encoding, sniff.text, sniff.delimiter
    path = p
    lines = text.splitlines()
    if lines and not compressed:
        n_fields = len(next(csv.reader([lines[0]], delimiter=delimiter)))
        # The whole sample (256 KB) is checked: an export that wraps lines does so throughout.
        if scan_all or any(wrapped_line(line, delimiter, n_fields) for line in lines[1:-1]):
            workdir = str(
                Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0]).parent
            )
            path, count = _unwrap_quoted_lines(p, encoding, delimiter, workdir)
            encoding = "utf-8"
            if count == 0:
                raise _NothingToUnwrap
            repairs.append(
                f"{count:,} lines were wrapped in quotes as a whole (one field instead of "
                f"{n_fields}); the outer quotes were removed and the line read as {n_fields} fields"
            )
    duck_encoding = log_encoding(encoding, p.name, repairs)
    expr = (
        f"read_csv({_literal(str(path))}, header=true, all_varchar=true, "
        f"delim={_literal(delimiter)}, quote='\"', escape='\"', "
        f"encoding={_literal(duck_encoding)})"
    )
    return expr, "csv"


def check_log_file(p: Path, *, folder_ok: bool = False) -> None:
    """Refuse a log path that does not exist, is a folder (unless ``folder_ok``: a Parquet
    folder Spark reads), a pipe or a device, or an empty file, with one line naming it."""
    from ..data.loading import check_regular_file

    if not p.exists():
        raise DataError(f"file '{p}' does not exist; check the path")
    if p.is_dir():
        if folder_ok:
            return
        raise DataError(f"'{p}' is a folder, not a file; name the log file inside it")
    check_regular_file(p)  # a named pipe or a device: refused instead of waited on
    if p.stat().st_size == 0:
        raise DataError(f"file '{p}' is empty (0 bytes); export the log again with a header row")


def source_relation(
    con: Any, path: str | Path | pd.DataFrame, sheet: str | None, repairs: list[str]
) -> tuple[str, str, str]:
    """(table expression, source name, format) for a path or a DataFrame."""
    if isinstance(path, pd.DataFrame):
        con.register("log_frame", path)
        return "log_frame", "<DataFrame>", "dataframe"
    from ..data.loading import detect_format, load_table

    p = Path(path)
    check_log_file(p)
    with p.open("rb") as fh:
        fmt = detect_format(p, fh.read(8))
    if fmt == "parquet":
        return f"read_parquet({_literal(str(p))})", str(p), "parquet"
    if fmt in ("excel", "xls"):
        table = load_table(p, sheet=sheet)  # openpyxl; the same checks as customer tables
        repairs.extend(table.repairs)
        con.register("log_frame", table.frame)
        return "log_frame", table.source, "excel"
    if sheet is not None:
        raise DataError(f"--sheet {sheet!r} applies to Excel files; '{p}' is a {fmt} file")
    expr, fmt = _csv_source(con, p, fmt == "csv.gz", repairs)
    return expr, str(p), fmt


# --- typed expressions ------------------------------------------------------------


def _text(col: str) -> str:
    # Ids exported by spreadsheets as floats ('17850.0') are the same ids as '17850'.
    text = f"trim(CAST({_quote(col)} AS VARCHAR))"
    # The regular expression only runs on the few values that end in '.0' (it is slow).
    fixed = f"regexp_replace({text}, '^(-?[0-9]+)\\.0+$', '\\1')"
    return f"NULLIF(CASE WHEN {text} LIKE '%.0' THEN {fixed} ELSE {text} END, '')"


def _number(col: str, col_type: str) -> str:
    if col_type in (
        "DOUBLE",
        "FLOAT",
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "TINYINT",
        "HUGEINT",
    ) or col_type.startswith("DECIMAL"):
        return f"CAST({_quote(col)} AS DOUBLE)"
    # Thousands separators and currency signs are not numbers here: refused with the value.
    return f"TRY_CAST(NULLIF(trim(CAST({_quote(col)} AS VARCHAR)), '') AS DOUBLE)"


def _number_raw(col: str) -> str:
    return f"NULLIF(trim(CAST({_quote(col)} AS VARCHAR)), '')"


def _slash_order(con: Any, src: str, col: str) -> tuple[bool, str]:
    """Whether slash dates are day-first, decided on the whole column, and how it was decided."""
    q = _quote(col)
    row = con.execute(
        f"""SELECT count(*),
                max(TRY_CAST(regexp_extract(v, '^(\\d{{1,2}})/', 1) AS INTEGER)),
                max(TRY_CAST(regexp_extract(v, '^\\d{{1,2}}/(\\d{{1,2}})/', 1) AS INTEGER))
            FROM (SELECT trim(CAST({q} AS VARCHAR)) AS v FROM {src})
            WHERE regexp_matches(v, {_literal(SLASH_DATE)})"""
    ).fetchone()
    return slash_order(col, *row)


def slash_order(col: str, n: int | None, first: int | None, second: int | None) -> tuple[bool, str]:
    """Whether slash dates are day-first, and how it was decided, from the column's slash
    dates: how many (``n``) and the largest first and second parts.

    Raises
    ------
    DataError
        Parts above 12 in both places: the column mixes both orders.
    """
    if not n:
        return False, "ISO dates"
    if first and first > 12 and second and second > 12:
        raise DataError(
            f"column {col!r} has slash dates both day-first and month-first (a first part up to "
            f"{first} and a second part up to {second}); export the dates in one format "
            "(ISO 2024-03-31 is unambiguous)"
        )
    if first and first > 12:
        return True, "slash dates read day-first (a first part above 12 was seen)"
    if second and second > 12:
        return False, "slash dates read month-first (a second part above 12 was seen)"
    return False, (
        "slash dates read month-first (no part above 12 was seen, so either order fits; "
        "check the as-of date)"
    )


def _formats(fmts: list[str]) -> str:
    return ", ".join(_literal(f) for f in fmts)


def _parse_text_date(day_first: bool) -> str:
    """SQL parsing the text date in column ``v``: DuckDB's ISO cast first, then the formats."""
    with_tz, slash, other = date_format_groups(day_first)
    tz = f"regexp_matches(v, {_literal(TZ_SUFFIX)})"
    vz = "regexp_replace(v, '(Z|UTC)$', '+00:00')"
    expr = f"""CASE
        WHEN {tz} THEN CAST(try_strptime({vz}, [{_formats(with_tz)}]) AS TIMESTAMP)
        WHEN v LIKE '%/%' THEN try_strptime(v, [{_formats(slash)}])
        ELSE COALESCE(TRY_CAST(v AS TIMESTAMP), try_strptime(v, [{_formats(other)}]))
    END"""
    return expr


#: How dates were read (``LogSummary.date_formats``): typed with a time zone, or without.
ZONED_DATES = "timestamps with time zone, converted to UTC"
TYPED_DATES = "typed dates"


def text_dates(how: str) -> str:
    """How text dates were read, ``how`` saying how the slash order was decided."""
    return f"text dates ({how}; times with an offset converted to UTC)"


def _date_table(con: Any, col: str, col_type: str) -> tuple[str, str, str]:
    """(SQL of the timestamp, join clause, how dates were read) for the ``raw`` table.

    Text dates are parsed once per distinct text (invoice lines share their
    invoice's time), in a small ``dates`` table joined back to the lines.
    """
    q = _quote(col)
    if col_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"CAST({q} AS TIMESTAMP)", "", ZONED_DATES
    if col_type.startswith("TIMESTAMP") or col_type == "DATE":
        return f"CAST({q} AS TIMESTAMP)", "", TYPED_DATES
    text = f"NULLIF(trim(CAST({q} AS VARCHAR)), '')"
    con.execute(f"CREATE TABLE date_texts AS SELECT DISTINCT {text} AS v FROM raw")
    day_first, how = _slash_order(con, "date_texts", "v")
    parse = _parse_text_date(day_first)
    con.execute(f"CREATE TABLE dates AS SELECT v AS date_key, {parse} AS ts FROM date_texts")
    con.execute("DROP TABLE date_texts")
    join = f"LEFT JOIN dates ON dates.date_key = {text}"
    return "dates.ts", join, text_dates(how)


# --- the per-customer query ----------------------------------------------------------


def per_customer_table(
    path: str | Path | pd.DataFrame,
    rules: LogRules,
    *,
    sheet: str | None = None,
    columns: dict[str, str | None] | None = None,
) -> tuple[pd.DataFrame, LogSummary]:
    """One row per customer from a transaction log, by SQL over the file.

    Parameters
    ----------
    path : str, Path or DataFrame
        The log: CSV (any delimiter, UTF-8 or Latin-1, gzip), Parquet or .xlsx.
    rules : LogRules
    sheet : str, optional
        Excel sheet.
    columns : dict, optional
        Roles named by the user (``customer``, ``date``, ``invoice``, ``amount``,
        ``quantity``, ``price``, ``product``, ``currency_column``).

    Returns
    -------
    customers : DataFrame
        Columns ``customer_id``, ``recency_days``, ``frequency``, ``monetary``,
        ``tenure_days``, ``avg_order_value``, ``n_products``, ``return_share``,
        ``purchases``, ``returns``, ``first_purchase``, ``last_purchase``,
        sorted by ``customer_id``. Customers with only returns have no recency,
        frequency 0 and ``left_out_reason`` set.
    summary : LogSummary
    """
    repairs: list[str] = []
    with duckdb_connection(rules.memory_limit) as con:
        src_expr, source, fmt = source_relation(con, path, sheet, repairs)
        try:
            types = dict(
                con.execute(
                    f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {src_expr})"
                ).fetchall()
            )
            sample = con.execute(f"SELECT * FROM {src_expr} LIMIT {SAMPLE_LINES}").df()
        except Exception as exc:  # DuckDB's reader errors: a malformed file
            raise DataError(f"'{source}' cannot be read as a table: {_first_line(exc)}") from None
        cols = log_columns(sample, source, rules, columns)
        try:
            try:
                return _compute(con, src_expr, source, fmt, types, cols, rules, repairs)
            except Exception as exc:
                import duckdb

                wrapped_seen = any("wrapped in quotes" in r for r in repairs)
                if not (
                    fmt == "csv"
                    and isinstance(exc, duckdb.InvalidInputException)
                    and not wrapped_seen
                    and not str(source).lower().endswith(".gz")
                ):
                    raise
                # The reader failed on a line after the sample: lines wrapped in quotes
                # later in the file? Scan it all, and read the repaired copy if so.
                try:
                    src_expr, _ = _csv_source(con, Path(source), False, repairs, scan_all=True)
                except _NothingToUnwrap:
                    raise exc from None
                for table in ("raw", "date_texts", "dates", "kinds"):
                    con.execute(f"DROP TABLE IF EXISTS {table}")
                return _compute(con, src_expr, source, fmt, types, cols, rules, repairs)
        except DataError:
            raise
        except Exception as exc:
            import duckdb

            if isinstance(exc, duckdb.OutOfMemoryException):
                raise DataError(
                    f"'{source}' needs more memory than the limit "
                    f"({rules.memory_limit or 'half the available memory'}) "
                    "even when spilling to disk; free memory or raise it with --memory-limit"
                ) from None
            if isinstance(exc, (duckdb.InvalidInputException, duckdb.ConversionException)):
                raise DataError(f"'{source}' cannot be read: {_first_line(exc)}") from None
            raise


def log_columns(
    sample: pd.DataFrame, source: str, rules: LogRules, columns: dict[str, str | None] | None
) -> LogColumns:
    """The roles of the log's columns, from its first :data:`SAMPLE_LINES` lines (every
    engine reads the same lines), checked against ``--currency``."""
    if len(sample) == 0:
        raise DataError(f"'{source}' has a header but no lines; export the log with its lines")
    cols = detect_columns(sample, source, **(columns or {}))
    if rules.currency is not None and cols.currency is None:
        raise DataError(
            f"--currency {rules.currency} was given but '{source}' has no currency column "
            "(looked for Currency, ccy); name it with --currency-column, or drop --currency"
        )
    return cols


def used_columns(cols: LogColumns, names: Sequence[str]) -> list[str]:
    """The columns of ``names`` that custseg uses, in role order, each once."""
    used = [c for c in cols.to_dict().values() if isinstance(c, str) and c in names]
    return list(dict.fromkeys(used))


def check_currencies(
    found: Sequence[tuple[str, int]], cols: LogColumns, rules: LogRules, source: str
) -> None:
    """Refuse several currencies without ``--currency``, or a ``--currency`` not in the
    log; ``found`` is each currency code (upper case) and its lines, sorted by code."""
    codes = [c for c, _ in found]
    if rules.currency is None and len(codes) > 1:
        listed = ", ".join(f"{c} ({int(n):,} lines)" for c, n in found)
        raise DataError(
            f"'{source}' has amounts in {len(codes)} currencies in {cols.currency!r}: "
            f"{listed}; pick one with --currency {codes[0]} (lines in the others are "
            "left out and counted)"
        )
    if rules.currency is not None and rules.currency.upper() not in codes:
        raise DataError(
            f"--currency {rules.currency} is not in column {cols.currency!r} of '{source}'; "
            f"it has: {', '.join(codes)}"
        )


def bad_date_message(column: str, source: str, n: int, example: str) -> str:
    """The error for text dates no format reads (``n`` lines, ``example`` the least)."""
    return (
        f"column {column!r} of '{source}' has {n:,} dates custseg "
        f"cannot read (e.g. {example!r}); use ISO dates like 2024-03-31 or "
        "2024-03-31 14:05, or name another column with --date"
    )


def bad_number_message(column: str, source: str, n: int, example: str) -> str:
    """The error for text in a number column (``n`` lines, ``example`` the least)."""
    return (
        f"column {column!r} of '{source}' has {n:,} values that "
        f"are not numbers (e.g. {example!r}); export plain numbers with a decimal point"
    )


#: The kinds of line with a date that counts for the as-of date and the first and last day.
DATED_KINDS = ("purchase", "return", "return_dropped", "after_as_of")
#: Why a customer has no scores: only returns in the log.
ONLY_RETURNS = "only returns in the log (no purchase to date recency from)"


def log_summary(
    *,
    source: str,
    fmt: str,
    cols: LogColumns,
    rules: LogRules,
    repairs: Sequence[str],
    n_lines: int,
    n_duplicates: int,
    counts: dict[str, tuple[int, float]],
    first_ts: datetime | None,
    last_ts: datetime | None,
    date_formats: str,
) -> LogSummary:
    """The summary of a log from its counts: lines and amount by kind (``counts``), the
    first and last time of a dated line (:data:`DATED_KINDS`); decides the as-of date.

    Raises
    ------
    DataError
        No purchase custseg can count, or ``--as-of`` on or before the first line.
    """
    if last_ts is None or first_ts is None or "purchase" not in counts:
        listed = ", ".join(
            f"{n:,} {LEFT_OUT_REASONS.get(k, k)}" for k, (n, _) in sorted(counts.items())
        )
        raise DataError(
            f"'{source}' has no purchase that custseg can count ({listed}); "
            "check the columns chosen or the --non-product and --currency options"
        )
    last_day = last_ts.date()
    if rules.as_of is None:
        as_of = last_day + timedelta(days=1)
        chosen_by = f"the day after the last line ({last_day.isoformat()})"
    else:
        as_of = rules.as_of
        chosen_by = "--as-of"
        if as_of <= first_ts.date():
            raise DataError(
                f"--as-of {as_of.isoformat()} is on or before the first line of '{source}' "
                f"({first_ts.date().isoformat()}); give a later date"
            )
    left_out = {"duplicate": n_duplicates} if n_duplicates else {}
    left_amount: dict[str, float] = {}
    for k in LEFT_OUT_REASONS:
        if k in counts and k != "duplicate":
            left_out[k] = counts[k][0]
            left_amount[k] = counts[k][1]
    return LogSummary(
        source=source,
        file_format=fmt,
        columns=cols,
        n_lines=n_lines,
        n_purchase_lines=counts.get("purchase", (0, 0.0))[0],
        n_return_lines=counts.get("return", (0, 0.0))[0],
        left_out=left_out,
        left_out_amount=left_amount,
        as_of=as_of,
        as_of_chosen_by=chosen_by,
        first_date=first_ts.date(),
        last_date=last_day,
        date_formats=date_formats,
        repairs=tuple(repairs),
    )


#: The per-customer table's columns, in order (before ``left_out_reason``).
CUSTOMER_COLUMNS = (
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "avg_order_value",
    "n_products",
    "return_share",
    "purchases",
    "returns",
    "first_purchase",
    "last_purchase",
)
#: Money columns and shares, rounded to 6 decimals.
ROUNDED = ("monetary", "avg_order_value", "purchases", "returns", "return_share")


def finish_customers(frame: pd.DataFrame, cols: LogColumns) -> pd.DataFrame:
    """The per-customer table as every engine returns it, from the engine's aggregates
    (:data:`CUSTOMER_COLUMNS`, sorted by ``customer_id``)."""
    # Sums of float amounts carry binary noise (118.80000000000001); 6 decimals keep
    # every real digit of money amounts and drop the noise.
    for c in ROUNDED:
        frame[c] = frame[c].round(6)
    if not cols.product:
        frame["n_products"] = pd.NA
    frame["frequency"] = frame["frequency"].astype("int64")
    frame["left_out_reason"] = ""
    frame.loc[frame["frequency"] == 0, "left_out_reason"] = ONLY_RETURNS
    return frame


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _compute(
    con: Any,
    src_expr: str,
    source: str,
    fmt: str,
    types: dict[str, str],
    cols: LogColumns,
    rules: LogRules,
    repairs: list[str],
) -> tuple[pd.DataFrame, LogSummary]:
    # 1. One pass over the file: identical lines kept once, with their count. Only the
    #    columns custseg uses are kept; the others (descriptions, countries ...) take part
    #    in "identical" through a 64-bit hash of them, so the grouping stays narrow. Two
    #    lines equal on every used column and different elsewhere would also need equal
    #    hashes to be merged (a chance of 2^-64 per such pair).
    used = used_columns(cols, list(types))
    others = [c for c in types if c not in used]
    keep = ", ".join(_quote(c) for c in used)
    rest = f", hash({', '.join(_quote(c) for c in others)}) AS _others" if others else ""
    con.execute(
        f"CREATE TABLE raw AS SELECT {keep}{rest}, count(*) AS _copies FROM {src_expr} GROUP BY ALL"
    )
    n_lines, n_distinct = con.execute("SELECT sum(_copies), count(*) FROM raw").fetchone()
    n_lines = int(n_lines or 0)
    n_duplicates = n_lines - int(n_distinct)

    # 2. Currencies: several are refused unless --currency picks one.
    cur_sql = f"upper({_text(cols.currency)})" if cols.currency else "NULL::VARCHAR"
    if cols.currency:
        found = con.execute(
            f"SELECT {cur_sql} AS cur, sum(_copies) FROM raw WHERE cur IS NOT NULL "
            "GROUP BY cur ORDER BY cur"
        ).fetchall()
        check_currencies(found, cols, rules, source)

    # 3. Typed columns and each line's kind, in one statement: the first rule that
    #    applies (LEFT_OUT_REASONS order); unreadable values get a kind of their own.
    date_sql, date_join, date_formats = _date_table(con, cols.date, types[cols.date])
    num_cols = [c for c in (cols.amount, cols.quantity, cols.price) if c]
    typed = {c: _number(c, types[c]) for c in num_cols}
    if cols.amount:
        amount_sql, qty_sql, price_sql = typed[cols.amount], "NULL::DOUBLE", "NULL::DOUBLE"
    else:
        assert cols.quantity and cols.price
        qty_sql, price_sql = typed[cols.quantity], typed[cols.price]
        amount_sql = f"({qty_sql}) * ({price_sql})"
    inv_sql = _text(cols.invoice) if cols.invoice else "NULL::VARCHAR"
    prod_sql = f"upper({_text(cols.product)})" if cols.product else "NULL::VARCHAR"
    date_text = f"NULLIF(trim(CAST({_quote(cols.date)} AS VARCHAR)), '')"
    unreadable = "".join(
        f"WHEN {_quote('num ' + c)} IS NULL AND {_number_raw(c)} IS NOT NULL "
        f"THEN {_literal('bad_number ' + c)} "
        for c in num_cols
    )
    non_product = ", ".join(_literal(c) for c in rules.non_product) or "NULL"
    if cols.amount:
        is_return, price_rules = "(upper(coalesce(__inv, '')) LIKE 'C%' OR __amount < 0)", ""
    else:
        is_return = "(upper(coalesce(__inv, '')) LIKE 'C%' OR __qty < 0)"
        price_rules = "WHEN __price = 0 THEN 'zero_price' WHEN __price < 0 THEN 'negative_price'"
    currency_rule = (
        f"WHEN __cur IS DISTINCT FROM {_literal(rules.currency.upper())} THEN 'other_currency'"
        if rules.currency
        else ""
    )
    as_of_rule = (
        f"WHEN CAST(__ts AS DATE) >= DATE {_literal(rules.as_of.isoformat())} THEN 'after_as_of'"
        if rules.as_of
        else ""
    )
    return_kind = "'return_dropped'" if rules.returns == "drop" else "'return'"
    con.execute(
        f"""CREATE TABLE kinds AS
            WITH typed AS (
                SELECT raw.*,
                    {_text(cols.customer)} AS __cust,
                    {date_sql} AS __ts,
                    {date_text} AS __date_text,
                    {inv_sql} AS __inv,
                    {prod_sql} AS __prod,
                    {cur_sql} AS __cur,
                    {amount_sql} AS __amount,
                    {qty_sql} AS __qty,
                    {price_sql} AS __price,
                    {", ".join(f"{typed[c]} AS {_quote('num ' + c)}" for c in num_cols)}
                FROM raw {date_join}
            )
            SELECT __cust AS cust, __ts AS ts, __inv AS inv, __prod AS prod, __amount AS amount,
                _copies,
                CASE
                    WHEN __ts IS NULL AND __date_text IS NOT NULL THEN 'bad_date'
                    {unreadable}
                    WHEN __cust IS NULL THEN 'no_customer'
                    WHEN __ts IS NULL THEN 'no_date'
                    WHEN __amount IS NULL THEN 'no_amount'
                    {currency_rule}
                    WHEN __prod IN ({non_product}) THEN 'non_product'
                    {price_rules}
                    WHEN __amount = 0 THEN 'zero_amount'
                    {as_of_rule}
                    WHEN {is_return} THEN {return_kind}
                    ELSE 'purchase'
                END AS kind
            FROM typed"""
    )
    # Identical lines were kept once (GROUP BY ALL above): each counts once here, and the
    # copies are counted as 'duplicate', so the counts add up to the lines of the file.
    counts = {
        k: (int(n), float(a or 0.0))
        for k, n, a in con.execute(
            "SELECT kind, count(*), sum(amount) FROM kinds GROUP BY kind"
        ).fetchall()
    }

    # 4. Values that cannot be read: refused, naming the column and a value.
    if "bad_date" in counts:
        example = con.execute(
            "SELECT min(date_key) FROM dates WHERE ts IS NULL AND date_key IS NOT NULL"
        ).fetchone()[0]
        raise DataError(bad_date_message(cols.date, source, counts["bad_date"][0], example))
    for c in num_cols:
        if f"bad_number {c}" in counts:
            example = con.execute(
                f"SELECT min({_number_raw(c)}) FROM raw "
                f"WHERE {typed[c]} IS NULL AND {_number_raw(c)} IS NOT NULL"
            ).fetchone()[0]
            raise DataError(bad_number_message(c, source, counts[f"bad_number {c}"][0], example))
    con.execute("DROP TABLE raw")

    # 5. The as-of date: the day after the last dated line, or the user's.
    counted = "(" + ", ".join(_literal(k) for k in DATED_KINDS) + ")"
    first_ts, last_ts = con.execute(
        f"SELECT min(ts), max(ts) FROM kinds WHERE kind IN {counted}"
    ).fetchone()
    summary = log_summary(
        source=source,
        fmt=fmt,
        cols=cols,
        rules=rules,
        repairs=repairs,
        n_lines=n_lines,
        n_duplicates=n_duplicates,
        counts=counts,
        first_ts=first_ts,
        last_ts=last_ts,
        date_formats=date_formats,
    )
    as_of = summary.as_of

    # 7. Per customer. Returns always lower monetary by their absolute amount.
    orders = "inv" if cols.invoice else "CAST(ts AS DATE)"
    net = "- coalesce(returns, 0)" if rules.returns == "net" else ""
    as_of_sql = f"DATE {_literal(as_of.isoformat())}"
    frame = con.execute(
        f"""WITH per AS (
                SELECT cust,
                    count(DISTINCT {orders}) FILTER (WHERE kind = 'purchase') AS frequency,
                    sum(amount) FILTER (WHERE kind = 'purchase') AS purchases,
                    sum(abs(amount)) FILTER (WHERE kind IN ('return', 'return_dropped')) AS returns,
                    min(ts) FILTER (WHERE kind = 'purchase') AS first_purchase,
                    max(ts) FILTER (WHERE kind = 'purchase') AS last_purchase,
                    count(DISTINCT prod) FILTER (WHERE kind = 'purchase') AS n_products
                FROM kinds WHERE kind IN ('purchase', 'return', 'return_dropped')
                GROUP BY cust
            )
            SELECT cust AS customer_id,
                date_diff('day', CAST(last_purchase AS DATE), {as_of_sql}) AS recency_days,
                frequency,
                coalesce(purchases, 0) {net} AS monetary,
                date_diff('day', CAST(first_purchase AS DATE), {as_of_sql}) AS tenure_days,
                purchases / NULLIF(frequency, 0) AS avg_order_value,
                n_products,
                coalesce(returns, 0) / NULLIF(purchases, 0) AS return_share,
                coalesce(purchases, 0) AS purchases,
                coalesce(returns, 0) AS returns,
                CAST(first_purchase AS DATE) AS first_purchase,
                CAST(last_purchase AS DATE) AS last_purchase
            FROM per ORDER BY cust"""
    ).df()
    return finish_customers(frame, cols), summary


__all__ = [
    "CUSTOMER_COLUMNS",
    "DEFAULT_NON_PRODUCT",
    "LEFT_OUT_REASONS",
    "LogRules",
    "LogSummary",
    "duckdb_connection",
    "per_customer_table",
]
