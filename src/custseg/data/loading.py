"""Read a customer table from CSV (any delimiter/encoding), Parquet or Excel.

Reading is the only step that touches the file system for input; everything
after it works on the returned :class:`LoadedTable`.

Before reading, the memory guard refuses a file that would not fit in memory.
While reading, anything that would silently lose or misplace data is refused with
one line naming the place (duplicate column names, a first row of data taken for
a header, a header with more fields than most rows, an unclosed quote, text in two
encodings); anything repaired (encoding, short rows, the sheet chosen) is returned
in ``LoadedTable.repairs``. The rules and messages: ``docs/data-requirements.md``.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#NULL!",
]
DELIMITERS = [",", ";", "\t", "|"]
#: The "delimiter" of a text table whose fields are separated by runs of spaces (the
#: layout of many clustering benchmark sets: ``    664159    550946``).
WHITESPACE = "whitespace"


def pandas_sep(delimiter: str) -> str:
    """The ``sep`` pandas reads a sniffed delimiter with."""
    return r"\s+" if delimiter == WHITESPACE else delimiter


def split_records(lines: Any, delimiter: str) -> Any:
    """The fields of each line (an iterable of text lines), as the delimiter splits them."""
    if delimiter == WHITESPACE:
        return (line.split() for line in lines)
    return csv.reader(lines, delimiter=delimiter, skipinitialspace=True)


def column_names(n: int) -> list[str]:
    """The names given to the columns of a table without a header row."""
    return [f"column_{j}" for j in range(1, n + 1)]


def headerless_note(first_row: list[str]) -> str:
    """The repair stated when a table without a header row is read (its first row given)."""
    shown = ", ".join(_cell(c) for c in first_row[:4]) + (", ..." if len(first_row) > 4 else "")
    names = column_names(len(first_row))
    return (
        f"no header row: the first row ({shown}) holds data, so every row is read as a "
        f"customer and the columns are named {names[0]} to {names[-1]}; add a header row "
        "to name them"
    )


def na_values_by_position(
    header: list[str], id_columns: set[str], markers: list[str] | None = None
) -> dict[int, list[str]]:
    """Missing-value markers per column position: in an id column only an empty cell is missing.

    Ids are text: a customer whose id is 'NA' (Namibia) or 'None' is a customer, while
    the same words in a number column mean "no value". Keys are positions, so names
    that pandas would strip or rename cannot slip through.
    """
    markers = NA_VALUES if markers is None else markers
    return {i: [""] if name.strip() in id_columns else markers for i, name in enumerate(header)}


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


def check_regular_file(p: Path) -> None:
    """Refuse a pipe, socket or device: reading one blocks, or never ends, without a word."""
    import stat

    mode = p.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "not a regular file"
        raise DataError(
            f"'{p}' is {kind}; custseg reads tables from files: save the table to a file "
            "and give its path"
        )


def load_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    columns: list[str] | None = None,
    id_column: str | None = None,
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
    id_column : str, optional
        The id column (``--id``). It and every column named like an id are read as
        text in which only an empty cell is missing: 'NA' or 'None' is an id.

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
    check_regular_file(p)
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
    check_memory(p, fmt)
    if fmt == "parquet":
        return _load_parquet(p, columns)
    if fmt == "excel":
        return _load_excel(p, sheet, id_column)
    if fmt == "xls":
        raise DataError(
            f"file '{p}' is an old Excel .xls workbook; save it as .xlsx or .csv and try again"
        )
    if sheet is not None:
        raise DataError(f"--sheet {sheet!r} applies to Excel files; '{p}' is a {fmt} file")
    return _load_csv(p, compressed=(fmt == "csv.gz"), id_column=id_column)


# Bytes of memory needed per byte of file. Measured: reading and validating a 21 MB
# CSV of 1M customers x 5 columns (one of them text) peaks 220 MB above the start,
# about 10x: a ~4-character number becomes an 8-byte float, parsing holds text and
# columns at once, and validation copies the features. Parquet's figure is per byte
# of uncompressed column data; an .xlsx is zipped XML whose cells openpyxl turns
# into Python objects.
MEMORY_FACTOR = {"csv": 10.0, "csv.gz": 10.0, "parquet": 5.0, "excel": 50.0, "xls": 0.0}
MEMORY_LIMIT_ENV = "CUSTSEG_MEMORY_LIMIT"
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def _parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if not m:
        raise DataError(f"{MEMORY_LIMIT_ENV}={text!r} is not a size; use bytes or e.g. 500M, 8G")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def human_size(n: float) -> str:
    """'1.5 GB' style size (binary units, written as users read them)."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def available_memory() -> int | None:
    """Bytes of memory a load may use: ``CUSTSEG_MEMORY_LIMIT`` if set, else MemAvailable.

    ``None`` when it cannot be known (no ``/proc/meminfo``): then there is no guard.
    """
    limit = os.environ.get(MEMORY_LIMIT_ENV)
    if limit:
        return _parse_size(limit)
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def estimate_memory(p: Path, fmt: str) -> int:
    """Bytes of memory loading ``p`` is expected to need (file size x a factor per format)."""
    size = p.stat().st_size
    if fmt == "csv.gz":
        # A lower bound only (text compresses at least 3x). gzip's last 4 bytes claim
        # the uncompressed size, but a cut-off file ends in random bytes there and a
        # multi-member file ends with its last (maybe empty) member's: the decoded
        # size is measured while streaming instead (see MeteredGzip).
        size = 3 * size
    elif fmt == "parquet":
        try:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(p).metadata
            # Run-length and dictionary encoding make the stored size say nothing of
            # the decoded one: every cell becomes at least 8 bytes in memory.
            decoded = meta.num_rows * max(meta.num_columns, 1) * 8
            stored = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            size = max(size, stored, decoded)
        except Exception:  # a broken file is reported by the reader, with its reason
            pass
    return int(size * MEMORY_FACTOR.get(fmt, 10.0))


def check_memory(p: Path, fmt: str, need: int | None = None) -> None:
    """Refuse, with a clear message, a file that would not fit in memory once loaded.

    Better than being killed by the operating system half-way with no message.
    ``need`` overrides the estimate (a reader that keeps only some columns knows better).
    """
    if need is None:
        need = estimate_memory(p, fmt)
    have = available_memory()
    if have is None or need <= have:
        return
    raise DataError(
        f"file '{p}' ({human_size(p.stat().st_size)}) needs about {human_size(need)} of "
        f"memory to load, more than the {human_size(have)} available; save a random sample "
        "of its rows (or only the columns you need) as a smaller file and segment that "
        "(--sample samples only after loading, so it does not help here), or use a machine "
        "with more memory"
    )


class MeteredGzip(io.RawIOBase):
    """A gzip stream that refuses, mid-read, to decode more than memory allows.

    The memory guard for compressed text: it counts the bytes actually decoded, so
    neither a lying size field nor a gzip bomb gets past it.
    """

    def __init__(self, p: Path, have: int, factor: float = MEMORY_FACTOR["csv"]) -> None:
        self._p = p
        self._fh = gzip.open(p, "rb")  # noqa: SIM115 - closed in close()
        self._have = have
        self._factor = factor
        self._decoded = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        n = self._fh.readinto(buffer)
        self._decoded += n
        if self._decoded * self._factor > self._have:
            raise DataError(
                f"file '{self._p}' ({human_size(self._p.stat().st_size)}) decompresses to "
                f"more than {human_size(self._decoded)}, which needs more than "
                f"{human_size(self._decoded * self._factor)} of memory to load, more "
                f"than the {human_size(self._have)} available; save a random sample of its "
                "rows (or only the columns you need) as a smaller file and segment that, or "
                "use a machine with more memory"
            )
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def _load_parquet(p: Path, columns: list[str] | None) -> LoadedTable:
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(p, columns=columns).to_pandas()
    except Exception as exc:  # pyarrow raises many types for broken files
        reason = _first_line(exc).replace(f"'{p}'", "").replace(str(p), "")
        if "magic bytes" in reason:
            reason = "it is damaged, cut short, or not Parquet at all"
        raise DataError(
            f"file '{p}' is not a readable Parquet file ({reason}); export it again"
        ) from None
    from .prepare import nested_to_text

    repairs: list[str] = []
    frame = nested_to_text(frame, repairs)  # list/struct columns: text, before anyone hashes them
    return LoadedTable(frame=frame, source=str(p), file_format="parquet", repairs=tuple(repairs))


def _load_excel(p: Path, sheet: str | None, id_column: str | None = None) -> LoadedTable:
    try:
        book = pd.ExcelFile(p, engine="openpyxl")
    except Exception as exc:
        raise DataError(
            f"file '{p}' is not a readable .xlsx workbook ({_first_line(exc)})"
        ) from None
    with book:  # closes the workbook file on errors too
        try:
            chosen, frame, repairs = _read_sheet(p, book, sheet, id_column)
        except DataError:
            raise
        except Exception as exc:  # openpyxl fails in many ways on sheets that are not tables
            which = f"sheet {sheet!r}" if sheet is not None else "its first sheet"
            raise DataError(
                f"file '{p}': {which} cannot be read as a table ({_first_line(exc)}); it may "
                "be a chart sheet: choose the sheet holding the table with --sheet, or save "
                "that sheet as .csv"
            ) from None
    return LoadedTable(
        frame=frame, source=str(p), file_format="excel", sheet=chosen, repairs=tuple(repairs)
    )


def _read_sheet(
    p: Path, book: pd.ExcelFile, sheet: str | None, id_column: str | None = None
) -> tuple[str, pd.DataFrame, list[str]]:
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
    header = pd.read_excel(book, sheet_name=chosen, header=None, nrows=1)
    names = ["" if pd.isna(v) else str(v) for v in header.iloc[0]] if len(header) else []
    check_header(p, names)
    from pandas._libs.parsers import STR_NA_VALUES

    from .prepare import looks_like_id_name

    ids = {n.strip() for n in names if n.strip() and looks_like_id_name(n.strip())}
    if id_column is not None:
        ids.add(id_column)
    markers = sorted({*NA_VALUES, *STR_NA_VALUES})
    na_values = na_values_by_position(names, ids, markers)
    frame = pd.read_excel(book, sheet_name=chosen, na_values=na_values, keep_default_na=False)
    if frame.isna().to_numpy().any():
        repairs.extend(_uncalculated_formulas(p, chosen, frame))
    return chosen, frame, repairs


def _uncalculated_formulas(p: Path, sheet: str, frame: pd.DataFrame) -> list[str]:
    """Say which empty cells are formulas without a saved result, per column.

    A workbook written by a program other than Excel (or saved without
    recalculation) holds formulas but no results; they read as empty, and the
    user should learn why rather than see unexplained missing values.
    """
    import openpyxl

    try:
        book = openpyxl.load_workbook(p, read_only=True, data_only=False)
    except Exception:  # the values were read already; this is only an explanation
        return []
    try:
        ws = book[sheet]
        rows: dict[int, list[int]] = {}
        missing = frame.isna().to_numpy()
        for r, values in enumerate(ws.iter_rows(min_row=2, values_only=True)):
            if r >= len(frame):
                break
            for c, v in enumerate(values[: frame.shape[1]]):
                if missing[r, c] and isinstance(v, str) and v.startswith("="):
                    rows.setdefault(c, []).append(r + 1)
    except Exception:
        return []
    finally:
        book.close()
    return [
        f"column {str(frame.columns[c])!r} has formulas without a saved result "
        f"({_rows_text(r)}); they were read as empty: open the file in Excel and save it "
        "so the results are stored"
        for c, r in sorted(rows.items())
    ]


def _read_text_sample(p: Path, compressed: bool) -> bytes:
    opener = gzip.open if compressed else open
    try:
        with opener(p, "rb") as fh:
            return fh.read(SAMPLE_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"file '{p}' cannot be decompressed ({_first_line(exc)}); "
            "check that the download or copy is complete"
        ) from None


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
    return _east_asian_encoding(sample) or "cp1252"


# Multi-byte encodings of Japanese, Chinese and Korean exports. charset-normalizer's
# guess is taken only when it is one of these: for Western text it may name a rare
# code page (cp775 for Latin-1), where Windows-1252 is the right reading.
_EAST_ASIAN = {
    "cp932", "shift_jis", "shift_jis_2004", "shift_jisx0213", "euc_jp", "iso2022_jp",
    "gb2312", "gbk", "gb18030", "big5", "big5hkscs", "cp950", "euc_kr", "cp949", "johab",
}  # fmt: skip


def _east_asian_encoding(sample: bytes) -> str | None:
    """The East Asian encoding of a sample that is not UTF-8, or None."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a dependency; Windows-1252 as before
        return None
    best = from_bytes(sample).best()
    if best is None or best.encoding not in _EAST_ASIAN:
        return None
    try:
        sample.decode(best.encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # only a character cut at the end is allowed
            return None
    return str(best.encoding)


def _looks_binary(text: str) -> bool:
    if "\x00" in text:
        return True
    control = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\r\n\t\f")
    return control > 0.05 * max(1, min(len(text), 4096))


def _usual(counts: list[int]) -> int:
    """The count most lines have (the larger one on a tie)."""
    return max(set(counts), key=lambda c: (counts.count(c), c))


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
        # The count most lines have: a title line above the table does not decide it.
        usual = _usual(counts)
        if usual == 0:
            continue
        consistent = sum(c == usual for c in counts) / len(counts)
        score = consistent * 1000 + usual
        if score > best_score:
            best, best_score = d, score
    if best_score < 0:
        # No delimiter splits the lines: fields separated by spaces, when nearly every
        # line splits into as many (2 or more) as the first.
        widths = [len(ln.split()) for ln in lines]
        if widths[0] >= 2 and sum(w == widths[0] for w in widths) >= 0.9 * len(widths):
            return WHITESPACE
    return best


#: Lines above the header that are looked for (a report's title, an export date).
MAX_PREAMBLE_LINES = 10


def _filled_cells(line: str, delimiter: str) -> list[str]:
    """The non-empty cells of one line of CSV text, stripped."""
    if not line.strip():
        return []
    cells = next(iter(split_records([line], delimiter)), [])
    return [c.strip() for c in cells if c.strip()]


def preamble_lines(text: str, delimiter: str) -> int:
    """How many lines at the top of CSV text come before the table: a title or a note
    above a table of 2 or more columns (one filled cell; fewer than half the table's from
    4 columns on; or fewer than the table's above a line of names that fills every
    column), and blank lines between them. 0 when the table starts at once (a header
    with one name fewer than the rows is a header: notes typed beside the table).

    Examples
    --------
    >>> preamble_lines("Customer report, May 2024\\n\\nid,spend,visits\\n1,2,3\\n4,5,6\\n", ",")
    2
    >>> preamble_lines("id,spend,visits\\n1,2,3\\n", ",")
    0
    """
    if "\n" not in text:
        return 0
    lines = text.lstrip("\ufeff").split("\n")[:200]
    body = lines[:-1] if len(lines) > 1 else lines  # the last line may be cut short
    try:
        counts = [len(_filled_cells(ln, delimiter)) for ln in body]
    except csv.Error:
        return 0
    filled = [c for c in counts if c]
    if not filled:
        return 0
    width = _usual(filled)
    if width < 2:
        return 0

    def names_the_columns(j: int) -> bool:  # a full line, mostly text: a header
        filled = _filled_cells(body[j], delimiter)
        return counts[j] == width and sum(_is_number(c) for c in filled) * 2 < len(filled)

    above = 0  # filled lines above the table
    for i, c in enumerate(counts[: MAX_PREAMBLE_LINES + 1]):
        if c == 0:
            continue
        below = next((j for j in range(i + 1, len(counts)) if counts[j]), None)
        if (
            c == 1
            or (width >= 4 and c * 2 < width)
            or (c < width and below is not None and names_the_columns(below))
        ):
            above += 1
            continue
        # The table's first line: skip everything above it (blank lines included).
        return i if above else 0
    return 0


def first_row_is_data(text: str, delimiter: str) -> bool:
    """Whether the first row of CSV text is a customer, not a header: at least two
    cells, at least half of them numbers (a year such as 2024 names a column), and each
    other cell a value found again in its column below (a label such as 'Iris-setosa').
    """
    try:
        lines = io.StringIO(text.lstrip("\ufeff"), newline="")
        records = []
        for record in split_records(lines, delimiter):
            if any(cell.strip() for cell in record):
                records.append([cell.strip() for cell in record])
            if len(records) >= 200:
                break
    except csv.Error:
        return False
    if len(records) < 2:
        return False
    first = records[0]
    filled = [c for c in first if c]
    numbers = {c for c in filled if _is_number(c) and not _is_year(c)}
    if len(filled) < 2 or len(numbers) * 2 < len(filled):
        return False
    for j, cell in enumerate(first):
        if cell and cell not in numbers and all(len(r) <= j or r[j] != cell for r in records[1:]):
            return False
    return True


@dataclass(frozen=True)
class CsvSniff:
    """How a CSV file is written: detected once, for every reader of CSV files."""

    encoding: str  # as detected (reported)
    codec: str  # what to decode with
    delimiter: str  # one of DELIMITERS, or WHITESPACE
    text: str  # the decoded sample
    headerless: bool = False  # the first row is a customer (see first_row_is_data)
    skip_lines: int = 0  # lines above the table: a title, an export date (preamble_lines)

    @property
    def body(self) -> str:
        """The sample from the table's first line on."""
        if not self.skip_lines:
            return self.text
        return "\n".join(self.text.lstrip("\ufeff").split("\n")[self.skip_lines :])

    def _above(self) -> list[str]:
        """The lines above the table that have text, as written (the empty cells at their
        ends left out; Excel's ``sep=;`` line kept whole)."""
        edge = self.delimiter if len(self.delimiter) == 1 else ""
        out = []
        for line in self.text.lstrip("\ufeff").split("\n")[: self.skip_lines]:
            if _filled_cells(line, self.delimiter):
                text = line.strip()
                out.append(text if re.fullmatch(r"sep=.", text) else text.strip(edge).strip())
        return out

    @property
    def title(self) -> str:
        """The filled lines above the table, as one line of text for a message."""
        return " / ".join(_cell(line) for line in self._above())

    def skipped_note(self) -> str:
        """The repair stated when the lines above the table are skipped."""
        n = len(self._above())
        return f"skipped {n} line{'s' if n > 1 else ''} above the header ({self.title!r})"

    @property
    def plain(self) -> bool:
        """A header on the first line and a one-character delimiter: what every CSV
        reader handles (see :meth:`require_plain` for the others)."""
        return self.delimiter != WHITESPACE and not self.headerless and not self.skip_lines

    def require_plain(self, p: Path | str, reader: str) -> None:
        """Refuse a layout only the table reader of ``custseg segment`` handles.

        Raises
        ------
        DataError
            No header row, or fields separated by spaces (``reader`` names what needs
            a plain CSV file).
        """
        if self.delimiter == WHITESPACE:
            raise DataError(
                f"file '{p}' separates its fields with spaces; {reader} reads fields "
                "separated by a comma, semicolon, tab or |: save it as CSV"
            )
        if self.headerless:
            raise DataError(
                f"file '{p}' has no header row (its first row holds data); {reader} needs "
                "one: add a header row naming each column"
            )
        if self.skip_lines:
            raise DataError(
                f"file '{p}' has lines above its header ({self.title!r}); {reader} needs "
                "the header on the first line: delete them"
            )


def sniff_csv(p: Path, compressed: bool, *, sample: bytes | None = None) -> CsvSniff:
    """Encoding and delimiter of a CSV file, from its first :data:`SAMPLE_BYTES`.

    The one place CSV files are sniffed: the general loader, the large-file reader
    and ``custseg assign`` all read CSV the same way.

    Raises
    ------
    DataError
        The file cannot be decompressed, is binary or is empty.
    """
    sample = _read_text_sample(p, compressed) if sample is None else sample
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
    sniff = CsvSniff(
        encoding=encoding,
        codec=codec,
        delimiter=delimiter,
        text=text,
        skip_lines=preamble_lines(text, delimiter),
    )
    return replace(sniff, headerless=first_row_is_data(sniff.body, delimiter))


def _extra_trailing_field(text: str, delimiter: str) -> int | None:
    """Header fields when data rows carry one more field than the header (a side column
    of notes typed next to the table, without a header), else None."""
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    if len(lines) < 2:
        return None
    try:
        records = list(split_records(lines, delimiter))
    except csv.Error:
        return None
    n = len(records[0])
    widths = {len(r) for r in records[1:-1] or records[1:]}
    return n if widths <= {n, n + 1} and n + 1 in widths else None


def _load_csv(p: Path, compressed: bool, id_column: str | None = None) -> LoadedTable:
    sniff = sniff_csv(p, compressed)
    encoding, codec, text, delimiter = sniff.encoding, sniff.codec, sniff.body, sniff.delimiter
    header = first_record(text, delimiter)
    repairs: list[str] = [sniff.skipped_note()] if sniff.skip_lines else []
    if sniff.headerless:
        repairs.append(headerless_note(header))
        header = column_names(len(header))
    else:
        check_header(p, header)
    from .prepare import looks_like_id_name

    # Ids are text: '00001' stays '00001', and '007' and '7.0' are two customers.
    id_text = {
        name: str
        for name in header
        if looks_like_id_name(name.strip()) or name.strip() == id_column
    }
    n_header = None if sniff.headerless else _extra_trailing_field(text, delimiter)
    # pandas would silently turn the first column into the index (shifting every value
    # under the wrong name); an explicit header with a nameless last column keeps the
    # values in place and lets prepare() say what it does with that column.
    names: dict[str, Any] = (
        {"names": [*header, f"Unnamed: {n_header}"], "header": 0} if n_header is not None else {}
    )
    if sniff.headerless:
        names = {"names": header, "header": None}
    if encoding not in ("utf-8", "utf-8-sig"):
        repairs.append(f"read as {encoding} text")
    have = available_memory() if compressed else None
    source: Any = p
    if have is not None:
        source = io.BufferedReader(MeteredGzip(p, have), buffer_size=1 << 20)
    try:
        frame = pd.read_csv(
            source,
            sep=pandas_sep(delimiter),
            skiprows=sniff.skip_lines,
            encoding=codec,
            compression=None if have is not None else ("gzip" if compressed else None),
            # In id columns only an empty cell is missing ('NA' is Namibia); a nameless
            # last column (no position in the header) keeps the usual markers.
            na_values={
                len(header): NA_VALUES,
                **na_values_by_position(header, {n.strip() for n in id_text}),
            },
            keep_default_na=False,
            skipinitialspace=True,
            low_memory=False,
            dtype=id_text or None,
            **names,
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"file '{p}' has no header row and no data") from None
    except pd.errors.ParserError as exc:
        msg = _first_line(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            line = int(m.group(2))  # in the file, the lines above the table counted
            row = line - 1 - sniff.skip_lines
            raise DataError(
                f"file '{p}' row {row} (line {line}) has {m.group(3)} fields but the "
                f"header has {m.group(1)}; fix that row (a missing quote or an extra "
                f"'{_show(delimiter)}')"
            ) from None
        m = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:
            row = int(m.group(1))  # pandas counts lines from 0, the header being 0
            raise DataError(
                f"file '{p}' row {row} (line {row + 1}) opens a quote (\") that is never "
                "closed, so the rest of the file would be one cell; close or remove that quote"
            ) from None
        raise DataError(f"file '{p}' is not a well-formed CSV table ({msg})") from None
    except UnicodeDecodeError:
        # pandas reports an offset within its read buffer; find the real place.
        where = _locate_undecodable(p, codec, compressed)
        raise DataError(
            f"file '{p}' is not valid {encoding} text{where}; it mixes encodings: "
            "save it as UTF-8 and try again"
        ) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"file '{p}' cannot be decompressed ({_first_line(exc)}); "
            "check that the download or copy is complete"
        ) from None
    finally:
        if source is not p:
            source.close()
    # A short row leaves the last column empty: with no gap there, skip the second pass.
    short = (
        _short_rows(p, codec, delimiter, compressed, frame.shape[1], sniff)
        if frame.shape[1] and frame.iloc[:, -1].isna().any() and n_header is None
        else None
    )
    if short and len(short[0]) * 2 > len(frame):
        # Most rows short: the header, not the rows, has extra fields; padding would
        # shift every value under the wrong name.
        raise DataError(
            f"file '{p}' has {frame.shape[1]} fields in its header row but fewer in most rows "
            f"({_rows_text(short[0])}); fix the header (an extra '{_show(delimiter)}'?) so "
            "it names each column once"
        )
    if short:
        rows, n_fields = short
        repairs.append(
            f"{_rows_text(rows)} had fewer fields than the header ({n_fields}); "
            "the missing cells at the end were read as empty"
        )
    return LoadedTable(
        frame=frame,
        source=str(p),
        file_format="csv.gz" if compressed else "csv",
        encoding=encoding,
        delimiter=delimiter,
        repairs=tuple(repairs),
    )


def _locate_undecodable(p: Path, codec: str, compressed: bool) -> str:
    """' at line N (byte B)' of the first byte that does not decode, or ''."""
    import codecs

    decoder = codecs.getincrementaldecoder(codec)()
    opener = gzip.open if compressed else open
    offset, line = 0, 1
    try:
        with opener(p, "rb") as fh:
            while chunk := fh.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad = offset + exc.start
                    line += chunk[: exc.start].count(b"\n")
                    return f" at line {line} (byte {bad:,})"
                offset += len(chunk)
                line += chunk.count(b"\n")
    except (OSError, EOFError, zlib.error):
        pass
    return ""


def first_record(text: str, delimiter: str) -> list[str]:
    """The header cells of CSV text (the first non-blank record)."""
    try:
        lines = io.StringIO(text.lstrip("\ufeff"), newline="")  # \n, \r\n and old Mac \r
        for record in split_records(lines, delimiter):
            if any(cell.strip() for cell in record):
                return record
    except csv.Error:
        pass  # pandas reports a malformed file with its own message
    return []


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def check_header(p: Path, names: list[str]) -> None:
    """Refuse headers that would silently lose or mislabel data.

    Two columns with the same name would be renamed by pandas ('Age', 'Age.1') and
    either could be clustered on; a first row of numbers is a customer, not a header,
    and reading it as one would lose that customer.
    """
    cleaned = [n.strip() for n in names]
    seen: dict[str, int] = {}
    for pos, name in enumerate(cleaned, start=1):
        if not name:
            continue
        if name in seen:
            raise DataError(
                f"file '{p}' has two columns named {name!r} (columns {seen[name]} and {pos}); "
                "rename one so every column name is unique"
            )
        seen[name] = pos
    filled = [n for n in cleaned if n]
    numbers = [n for n in filled if _is_number(n) and not _is_year(n)]
    if filled and len(numbers) * 2 >= len(filled) and len(filled) >= 2:
        shown = ", ".join(_cell(n) for n in filled[:4]) + (", ..." if len(filled) > 4 else "")
        raise DataError(
            f"file '{p}' has no header row: its first row ({shown}) looks like data, "
            "not column names; add a header row naming each column"
        )


def _cell(text: str) -> str:
    """A header cell for a one-line message: as typed, with line breaks shown as \\n."""
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def _is_year(text: str) -> bool:
    # Column names like 2023, 2024 (one column per year) are real headers.
    return text.isdigit() and 1900 <= int(text) <= 2100


def _short_rows(
    p: Path, codec: str, delimiter: str, compressed: bool, n_columns: int, sniff: CsvSniff
) -> tuple[list[int], int] | None:
    """1-based data rows with fewer fields than the header (pandas pads them silently)."""
    opener = gzip.open if compressed else open
    rows: list[int] = []
    try:
        return _count_short(opener, p, codec, delimiter, n_columns, rows, sniff)
    except (OSError, EOFError, zlib.error, csv.Error):
        return None  # pandas read the file; this is only a check on top of it


def _count_short(opener, p, codec, delimiter, n_columns, rows, sniff):
    with opener(p, "rt", encoding=codec, errors="replace", newline="") as fh:
        for _ in range(sniff.skip_lines):
            fh.readline()
        reader = split_records(fh, delimiter)
        header_seen = sniff.headerless
        row = 0
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank lines are skipped by the reader too
            if not header_seen:
                header_seen = True
                continue
            row += 1
            if len(record) < n_columns:
                rows.append(row)
    return (rows, n_columns) if rows else None


def _rows_text(rows: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(r) for r in rows[:limit]) + (", ..." if len(rows) > limit else "")
    return f"row{'s' if len(rows) > 1 else ''} {shown}"


def _show(delimiter: str) -> str:
    return {"\t": "\\t", WHITESPACE: " "}.get(delimiter, delimiter)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def sheet_hint(table: LoadedTable) -> str:
    """The sheet note (" (read sheet ...; choose another with --sheet)") or ""."""
    for r in table.repairs:
        if r.startswith("read sheet "):
            return f" ({r})"
    return ""


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


__all__ = [
    "LoadedTable",
    "available_memory",
    "check_memory",
    "detect_delimiter",
    "detect_encoding",
    "estimate_memory",
    "load_table",
    "sheet_hint",
]
