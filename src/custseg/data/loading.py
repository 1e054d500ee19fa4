"""Read a customer table from CSV (any delimiter/encoding), Parquet or Excel.

Reading is the only step that touches the file system for input; everything
after it works on the returned :class:`LoadedTable`.
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import DataError

NA_VALUES = [
    "",
    "NA",
    "N/A",
    "n/a",
    "na",
    "NaN",
    "nan",
    "null",
    "NULL",
    "Null",
    "None",
    "none",
    "-",
    "--",
    "?",
    "#N/A",
    "#NA",
    "#VALUE!",
    "#DIV/0!",
]
DELIMITERS = [",", ";", "\t", "|"]
SAMPLE_BYTES = 256 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


@dataclass(frozen=True)
class LoadedTable:
    """A table as read from a file, with how it was read."""

    frame: pd.DataFrame
    source: str
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    repairs: tuple[str, ...] = field(default=())


def detect_format(path: Path, head: bytes) -> str:
    """Format from the file's first bytes, then its name."""
    name = path.name.lower()
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_ZIP_MAGIC):
        return "excel"
    if head.startswith(_OLE_MAGIC):
        return "xls"
    if head.startswith(_GZIP_MAGIC):
        return "csv.gz"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".xlsx", ".xlsm")):
        return "excel"
    return "csv"


def load_table(
    path: str | Path, *, sheet: str | None = None, columns: list[str] | None = None
) -> LoadedTable:
    """Read a customer table.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` (also ``.csv.gz``, ``.tsv``, ``.txt``), ``.parquet`` or
        ``.xlsx`` file. The format is detected from the content, the delimiter
        and encoding of text files are detected, and a byte-order mark is
        handled.
    sheet : str, optional
        Excel sheet name (default: the first sheet).
    columns : list of str, optional
        Read only these columns (Parquet reads nothing else from disk).

    Examples
    --------
    >>> table = load_table("customers.csv")  # doctest: +SKIP
    >>> table.frame.shape  # doctest: +SKIP
    (200, 5)
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"file '{p}' does not exist; check the path")
    if p.is_dir():
        raise DataError(f"'{p}' is a folder, not a file; name the table file inside it")
    try:
        with p.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise DataError(f"file '{p}' cannot be read: {exc.strerror}") from None
    if p.stat().st_size == 0:
        raise DataError(
            f"file '{p}' is empty (0 bytes); export the table again with a header row "
            "and one row per customer"
        )
    fmt = detect_format(p, head)
    if fmt == "parquet":
        return _load_parquet(p, columns)
    if fmt == "excel":
        return _load_excel(p, sheet)
    if fmt == "xls":
        raise DataError(
            f"file '{p}' is an old Excel .xls workbook; save it as .xlsx or .csv and try again"
        )
    if sheet is not None:
        raise DataError(f"--sheet {sheet!r} applies to Excel files; '{p}' is a {fmt} file")
    return _load_csv(p, compressed=(fmt == "csv.gz"))


def _load_parquet(p: Path, columns: list[str] | None) -> LoadedTable:
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(p, columns=columns).to_pandas()
    except Exception as exc:  # pyarrow raises many types for broken files
        raise DataError(f"file '{p}' is not a readable Parquet file ({_first_line(exc)})") from None
    return LoadedTable(frame=frame, source=str(p), file_format="parquet")


def _load_excel(p: Path, sheet: str | None) -> LoadedTable:
    try:
        book = pd.ExcelFile(p, engine="openpyxl")
    except Exception as exc:
        raise DataError(
            f"file '{p}' is not a readable .xlsx workbook ({_first_line(exc)})"
        ) from None
    names = [str(n) for n in book.sheet_names]
    repairs: list[str] = []
    if sheet is None:
        chosen = names[0]
        if len(names) > 1:
            repairs.append(
                f"read sheet '{chosen}', the first of {len(names)} ({', '.join(names)}); "
                "choose another with --sheet"
            )
    elif sheet in names:
        chosen = sheet
    else:
        raise DataError(
            f"file '{p}' has no sheet named {sheet!r}; its sheets are: {', '.join(names)}"
        )
    frame = pd.read_excel(book, sheet_name=chosen, na_values=NA_VALUES, keep_default_na=True)
    return LoadedTable(
        frame=frame, source=str(p), file_format="excel", sheet=chosen, repairs=tuple(repairs)
    )


def _read_text_sample(p: Path, compressed: bool) -> bytes:
    opener = gzip.open if compressed else open
    try:
        with opener(p, "rb") as fh:
            return fh.read(SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise DataError(f"file '{p}' cannot be decompressed ({_first_line(exc)})") from None


def detect_encoding(sample: bytes) -> str:
    """The text encoding of a file sample: BOMs first, then UTF-8, then Windows-1252."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    # UTF-16 without a BOM: every other byte NUL.
    if len(sample) >= 4 and sample[1:40:2].count(0) > 0.8 * len(sample[1:40:2]):
        return "utf-16-le"
    if len(sample) >= 4 and sample[0:40:2].count(0) > 0.8 * len(sample[0:40:2]):
        return "utf-16-be"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start >= len(sample) - 3 and len(sample) >= SAMPLE_BYTES - 3:
            return "utf-8"
    return "cp1252"


def _looks_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    control = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\r\n\t\f")
    return control > 0.05 * max(1, min(len(text), 4096))


def detect_delimiter(text: str) -> str:
    """The field delimiter of CSV text: the candidate that splits lines most consistently."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters="".join(DELIMITERS))
        if dialect.delimiter in DELIMITERS:
            return dialect.delimiter
    except csv.Error:
        pass
    best, best_score = ",", -1.0
    for d in DELIMITERS:
        counts = [len(next(csv.reader([ln], delimiter=d))) - 1 for ln in lines]
        if counts[0] == 0:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        score = consistent * 1000 + counts[0]
        if score > best_score:
            best, best_score = d, score
    return best


def _load_csv(p: Path, compressed: bool) -> LoadedTable:
    sample = _read_text_sample(p, compressed)
    encoding = detect_encoding(sample)
    codec = (
        "utf-16"
        if encoding.startswith("utf-16") and sample[:2] in (b"\xff\xfe", b"\xfe\xff")
        else encoding
    )
    text = sample.decode(codec, errors="replace")
    if _looks_binary(text):
        raise DataError(
            f"file '{p}' does not look like a text table (it has binary content); "
            "export the data as CSV, Parquet or .xlsx"
        )
    if not text.strip():
        raise DataError(f"file '{p}' has no text in it; export the table again with a header row")
    delimiter = detect_delimiter(text)
    repairs: list[str] = []
    if encoding not in ("utf-8", "utf-8-sig"):
        repairs.append(f"read as {encoding} text")
    try:
        frame = pd.read_csv(
            p,
            sep=delimiter,
            encoding=codec,
            compression="gzip" if compressed else None,
            na_values=NA_VALUES,
            keep_default_na=False,
            skipinitialspace=True,
            low_memory=False,
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"file '{p}' has no header row and no data") from None
    except pd.errors.ParserError as exc:
        msg = _first_line(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            raise DataError(
                f"file '{p}' line {m.group(2)} has {m.group(3)} fields but the header has "
                f"{m.group(1)}; fix that row (a missing quote or an extra '{_show(delimiter)}')"
            ) from None
        raise DataError(f"file '{p}' is not a well-formed CSV table ({msg})") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"file '{p}' is not valid {encoding} text near byte {exc.start}; "
            "save it as UTF-8 and try again"
        ) from None
    return LoadedTable(
        frame=frame,
        source=str(p),
        file_format="csv.gz" if compressed else "csv",
        encoding=encoding,
        delimiter=delimiter,
        repairs=tuple(repairs),
    )


def _show(delimiter: str) -> str:
    return {"\t": "\\t"}.get(delimiter, delimiter)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_bytes_as_table(data: bytes, name: str) -> LoadedTable:
    """Read an uploaded file's bytes (the web app) through the same rules as a path."""
    import tempfile

    suffix = "".join(Path(name).suffixes[-2:]) or ".csv"
    suffix = re.sub(r"[^A-Za-z0-9.]", "", suffix)[:16]
    with tempfile.TemporaryDirectory(prefix="custseg-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            table = load_table(path)
        except DataError as exc:
            # Name the file the user uploaded, never the private temporary path.
            raise DataError(str(exc).replace(str(path), name)) from None
    return LoadedTable(
        frame=table.frame,
        source=name,
        file_format=table.file_format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        sheet=table.sheet,
        repairs=table.repairs,
    )


__all__ = ["LoadedTable", "detect_delimiter", "detect_encoding", "load_table"]
