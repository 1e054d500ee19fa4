"""Assign the customers of a file to a saved model's segments, streaming in chunks.

Memory stays bounded by the chunk size whatever the file size: CSV is read with
pandas' chunked reader, Parquet one record batch at a time with pyarrow (only the
feature and id columns are read), and the output (CSV or Parquet) is written
chunk by chunk to a temporary file that replaces ``out`` only when every row is
done. Excel workbooks cannot be streamed; they are read whole, then assigned in
chunks.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, OutputError
from .fitted import SegmentModel

DEFAULT_CHUNK_ROWS = 100_000
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

# progress(done, total, unit): done and total in rows (Parquet, Excel) or bytes (CSV).
Progress = Callable[[int, "int | None", str], None]


@dataclass(frozen=True)
class AssignmentSummary:
    """What ``assign_file`` did: counts per segment, what was ignored, where it went."""

    source: str
    out: str
    input_format: str
    output_format: str
    n_rows: int
    n_assigned: int
    n_atypical: int
    n_left_out: int
    counts: dict[int, int]
    atypical_counts: dict[int, int]
    extra_columns: tuple[str, ...]
    id_column: str | None
    n_chunks: int
    method: str
    agreement_with_fit: float | None
    segment_names: dict[int, str] = field(default_factory=dict)
    #: How the file was read, when that changed something (no header row, an encoding).
    repairs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "out": self.out,
            "input_format": self.input_format,
            "output_format": self.output_format,
            "n_rows": self.n_rows,
            "n_assigned": self.n_assigned,
            "n_atypical": self.n_atypical,
            "n_left_out": self.n_left_out,
            "counts": {str(k): v for k, v in self.counts.items()},
            "atypical_counts": {str(k): v for k, v in self.atypical_counts.items()},
            "extra_columns": list(self.extra_columns),
            "id_column": self.id_column,
            "n_chunks": self.n_chunks,
            "method": self.method,
            "agreement_with_fit": self.agreement_with_fit,
            "repairs": list(self.repairs),
        }


def output_schema(id_column: str | None) -> Any:
    """The columns of ``custseg assign``'s Parquet output (on every engine), as Arrow types."""
    import pyarrow as pa

    return pa.schema(
        [
            (id_column or "row", pa.string()),
            ("segment", pa.int64()),
            ("segment_name", pa.string()),
            ("distance", pa.float64()),
            ("atypical", pa.bool_()),
            ("left_out_reason", pa.string()),
        ]
    )


def output_format(out: str | Path) -> str:
    """'csv' or 'parquet' from the output file name; a clear error otherwise."""
    suffix = Path(out).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise OutputError(f"cannot tell the output format of '{out}'; name it .csv or .parquet")
    return OUTPUT_FORMATS[suffix]


def assign_file(
    model: SegmentModel,
    path: str | Path,
    out: str | Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    sheet: str | None = None,
    progress: Progress | None = None,
    engine: str = "local",
) -> AssignmentSummary:
    """Assign every customer in the file ``path`` and write the result to ``out``.

    Parameters
    ----------
    model : SegmentModel
        A loaded model (:func:`custseg.load_model`).
    path : str or Path
        CSV (any delimiter, also .csv.gz), Parquet or .xlsx file of new customers.
    out : str or Path
        ``.csv`` or ``.parquet`` file, written atomically: the id (or ``row``),
        ``segment``, ``segment_name``, ``distance``, ``atypical``,
        ``left_out_reason``.
    chunk_rows : int
        Rows held in memory at a time.
    progress : callable, optional
        ``progress(done, total, unit)`` after each chunk.
    engine : str
        ``"local"`` (this computer, streaming) or the name of a data engine that assigns
        models (``"spark"``: ``path`` is Parquet or CSV, a local path or any URI Spark
        reads, and ``out`` a Parquet folder written by Spark; ``chunk_rows``, ``sheet``
        and ``progress`` do not apply).

    Returns
    -------
    AssignmentSummary

    Examples
    --------
    >>> summary = assign_file(load_model("q1/model.json"), "new.csv", "new_assigned.parquet")
    ... # doctest: +SKIP
    >>> summary.n_assigned  # doctest: +SKIP
    1200
    """
    if engine != "local":
        if sheet is not None:
            raise ConfigError(
                f"--sheet reads an Excel workbook; engine={engine!r} reads Parquet and CSV"
            )
        from ..engines.contract import get_data_engine

        data_engine = get_data_engine(engine)
        if not hasattr(data_engine, "assign_model"):
            raise ConfigError(f"engine={engine!r} cannot assign customers to a saved model")
        return data_engine.assign_model(model, path, out)  # type: ignore[no-any-return]
    from ..data.loading import detect_format
    from ..outputs.atomic import atomic_file

    if chunk_rows < 1:
        raise DataError(f"chunk_rows={chunk_rows} must be at least 1")
    src, dst = Path(path), Path(out)
    fmt_out = output_format(dst)
    if src.exists() and not src.is_dir():
        from ..data.loading import check_regular_file

        check_regular_file(src)  # a FIFO would block without a word
    if src.is_dir():
        raise DataError(
            f"'{src}' is a folder; name a file (a folder of Parquet files needs --engine spark)"
        )
    if not src.is_file():
        raise DataError(f"file '{src}' does not exist; check the path")
    if src.stat().st_size == 0:
        raise DataError(f"file '{src}' is empty (0 bytes)")
    if dst.exists() and dst.resolve() == src.resolve():
        raise OutputError(f"--out '{dst}' is the input file; choose another name")
    with src.open("rb") as fh:
        fmt_in = detect_format(src, fh.read(8))
    if fmt_in == "parquet":
        chunks, columns, total, unit, repairs = _parquet_chunks(src, model, chunk_rows)
    elif fmt_in in ("csv", "csv.gz"):
        chunks, columns, total, unit, repairs = _csv_chunks(
            src, model, chunk_rows, fmt_in == "csv.gz"
        )
    else:
        chunks, columns, total, unit, repairs = _table_chunks(
            src, chunk_rows, sheet, model.id_column
        )
    check = model.check_columns(columns)

    n_rows = n_chunks = n_left = 0
    counts = np.zeros(model.k, dtype=np.int64)
    atyp = np.zeros(model.k, dtype=np.int64)
    order = np.argsort(model.segment_ids)
    sorted_ids = model.segment_ids[order]
    with atomic_file(dst) as tmp:
        writer = _CsvWriter(tmp) if fmt_out == "csv" else _ParquetWriter(tmp, check.id_column)
        try:
            for frame, done in chunks:
                if not isinstance(frame, pd.DataFrame):  # an Arrow batch of a Parquet file
                    fast = None
                    if isinstance(writer, _ParquetWriter):
                        fast = assign_arrow(model, frame, n_rows, check.id_column)
                    if fast is not None:
                        arrays, ok, index, atypical = fast
                        assert isinstance(writer, _ParquetWriter)
                        writer.write_arrays(arrays)
                        n_rows += frame.num_rows
                        n_chunks += 1
                        n_left += int((~ok).sum())
                        counts += np.bincount(index[ok], minlength=model.k)
                        atyp += np.bincount(index[ok & atypical], minlength=model.k)
                        if progress:
                            progress(done, total, unit)
                        continue
                    frame = frame.to_pandas()
                assigned = model.assign(frame, row_offset=n_rows)
                writer.write(assigned)
                n_rows += len(assigned)
                n_chunks += 1
                seg = assigned["segment"]
                ok = seg.notna().to_numpy()
                n_left += int((~ok).sum())
                if ok.any():
                    # segment ids -> row positions in the model, to count with bincount
                    pos = np.searchsorted(sorted_ids, seg[ok].to_numpy(dtype=np.int64))
                    pos = order[pos]
                    counts += np.bincount(pos, minlength=model.k)
                    flag = assigned["atypical"].to_numpy(dtype=bool, na_value=False)[ok]
                    atyp += np.bincount(pos[flag], minlength=model.k)
                if progress:
                    progress(done, total, unit)
        finally:
            writer.close()
        if n_rows == 0:
            raise DataError(f"file '{src}' has a header but no customers")
    ids = [int(s) for s in model.segment_ids]
    return AssignmentSummary(
        source=str(src),
        out=str(dst),
        input_format=fmt_in,
        output_format=fmt_out,
        n_rows=n_rows,
        n_assigned=n_rows - n_left,
        n_atypical=int(atyp.sum()),
        n_left_out=n_left,
        counts={s: int(c) for s, c in zip(ids, counts)},
        atypical_counts={s: int(c) for s, c in zip(ids, atyp)},
        extra_columns=check.extra,
        id_column=check.id_column,
        n_chunks=n_chunks,
        method=model.method,
        agreement_with_fit=model.assignment_agreement,
        segment_names={s.id: s.name for s in model.segments},
        repairs=repairs,
    )


Chunks = Iterator[tuple[Any, int]]  # a DataFrame, or an Arrow record batch (Parquet)


def assign_arrow(
    model: SegmentModel, batch: Any, row_offset: int, id_column: str | None
) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray] | None:
    """Assign one Arrow batch straight to the output's Arrow columns (the same values as
    :meth:`SegmentModel.assign` gives through pandas); None when a column needs the
    general path (features that are not plain numbers, ids that are not whole numbers
    or text, or empty ids)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    position = {str(c).strip(): i for i, c in enumerate(batch.schema.names)}
    if any(f not in position for f in model.features):
        return None  # a derived feature (age from a birth year): the general path adds it
    n = batch.num_rows
    X = np.empty((n, len(model.features)), dtype=np.float64)
    for j, f in enumerate(model.features):
        col = batch.column(position[f])
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
            return None
        X[:, j] = col.to_numpy(zero_copy_only=False)
    if id_column is not None:
        raw = batch.column(position[id_column])
        if raw.null_count or not (
            pa.types.is_integer(raw.type)
            or pa.types.is_string(raw.type)
            or pa.types.is_large_string(raw.type)
        ):
            return None
        ids = pc.cast(raw, pa.string())
    else:
        ids = pc.cast(pa.array(np.arange(row_offset + 1, row_offset + n + 1)), pa.string())
    ok, index, dist, atypical, reasons = model.assign_matrix(X, row_offset=row_offset)
    names = pa.array([s.name for s in model.segments] + [""], type=pa.string())
    name_index = pa.array(np.where(ok, index, model.k).astype(np.int32))
    distance = np.round(dist, 6)
    if ok.all():  # n empty strings: every offset 0, no characters
        offsets = pa.py_buffer(np.zeros(n + 1, dtype=np.int32))
        why = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(b""))
    else:
        why = pa.array(reasons, type=pa.string())
    arrays = [
        ids,
        pa.array(model.segment_ids[index], type=pa.int64(), mask=~ok),
        names.take(name_index),
        pa.array(distance, type=pa.float64(), mask=np.isnan(distance)),
        pa.array(atypical, type=pa.bool_(), mask=~ok),
        why,
    ]
    return arrays, ok, index, atypical


def _needed(columns: list[str], model: SegmentModel) -> list[str]:
    """The raw header names to read: the features and the id (names compared stripped)."""
    wanted = {*model.features, *model.input_columns, model.id_column}
    return [c for c in columns if c.strip() in wanted]


def _parquet_chunks(
    src: Path, model: SegmentModel, chunk_rows: int
) -> tuple[Chunks, list[str], int, str, tuple[str, ...]]:
    import pyarrow.parquet as pq

    try:
        # pre_buffer caches read ranges for the whole file: memory grew with file size.
        pf = pq.ParquetFile(src, pre_buffer=False)
    except Exception as exc:  # pyarrow raises many types for broken files
        raise DataError(
            f"file '{src}' is not a readable Parquet file ({_first_line(exc)})"
        ) from None
    columns = [str(c) for c in pf.schema_arrow.names]
    total = pf.metadata.num_rows

    def chunks() -> Chunks:
        done = 0
        try:
            for batch in pf.iter_batches(batch_size=chunk_rows, columns=_needed(columns, model)):
                # Handed on as Arrow: Parquet -> Parquet never builds a pandas frame.
                done += batch.num_rows
                yield batch, done
        except DataError:
            raise
        except Exception as exc:
            raise DataError(
                f"file '{src}' cannot be read after row {done} ({_first_line(exc)})"
            ) from None

    return chunks(), columns, total, "rows", ()


def _csv_chunks(
    src: Path, model: SegmentModel, chunk_rows: int, compressed: bool
) -> tuple[Chunks, list[str], int, str, tuple[str, ...]]:
    from ..data.loading import NA_VALUES, SAMPLE_BYTES, na_values_by_position, sniff_csv

    opener: Any = gzip.open if compressed else open
    try:
        with opener(src, "rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise DataError(f"file '{src}' cannot be decompressed ({_first_line(exc)})") from None
    sniff = sniff_csv(src, compressed, sample=sample)
    encoding, codec, sep = sniff.encoding, sniff.codec, sniff.delimiter
    text = sniff.body  # from the table's first line (a title above it is skipped)
    from ..data.loading import (
        check_header,
        column_names,
        first_record,
        headerless_note,
        pandas_sep,
    )

    first = first_record(text, sep)
    if not sniff.headerless:
        # As `custseg segment` does: two columns named 'Age' would become 'Age', 'Age.1'
        # and the first would be used without a word.
        check_header(src, first)
    options: dict[str, Any] = dict(
        sep=pandas_sep(sep),
        skiprows=sniff.skip_lines,
        encoding=codec,
        na_values=NA_VALUES,
        keep_default_na=False,
        skipinitialspace=True,
    )
    repairs: tuple[str, ...] = (sniff.skipped_note(),) if sniff.skip_lines else ()
    if sniff.headerless:  # named as `custseg segment` names them
        columns = column_names(len(first))
        options.update(header=None, names=columns)
        repairs += (headerless_note(first),)
    else:
        try:
            with opener(src, "rb") as fh:
                header = pd.read_csv(fh, nrows=0, **options)
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            raise DataError(f"file '{src}' has no header row") from None
        columns = [str(c) for c in header.columns]
    # Ids stay text exactly as written ('007' is not 7).
    dtype = {c: str for c in columns if c.strip() == model.id_column}
    # In the id column only an empty cell is missing: 'NA' (Namibia) or 'None' is an id.
    options["na_values"] = na_values_by_position(columns, {model.id_column or ""} - {""})
    total = src.stat().st_size

    def chunks() -> Chunks:
        raw = open(src, "rb")  # noqa: SIM115 - closed below; its position is the progress
        fh = gzip.open(raw, "rb") if compressed else raw  # noqa: SIM115
        try:
            # Every column is parsed (not usecols): only then does pandas check that each
            # line has as many fields as the header, so a stray delimiter cannot shift
            # values into the wrong feature unnoticed.
            reader = pd.read_csv(fh, dtype=dtype, chunksize=chunk_rows, **options)
            line = 1 + sniff.skip_lines  # the header's line in the file
            while True:
                try:
                    frame = next(reader)
                except StopIteration:
                    break
                except pd.errors.ParserError as exc:
                    raise DataError(_csv_error(src, exc, sep, line)) from None
                except UnicodeDecodeError as exc:
                    raise DataError(
                        f"file '{src}' is not valid {encoding} text; save it as UTF-8"
                        f" ({_first_line(exc)})"
                    ) from None
                line += len(frame)
                yield frame, raw.tell()
        finally:
            fh.close()
            raw.close()

    return chunks(), columns, total, "bytes", repairs


def _csv_error(src: Path, exc: Exception, sep: str, line: int) -> str:
    msg = _first_line(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        return (
            f"file '{src}' line {m.group(2)} has {m.group(3)} fields but the header has "
            f"{m.group(1)}; fix that row (a missing quote or an extra delimiter)"
        )
    return f"file '{src}' is not a well-formed CSV table near line {line} ({msg})"


def _table_chunks(
    src: Path, chunk_rows: int, sheet: str | None, id_column: str | None = None
) -> tuple[Chunks, list[str], int, str, tuple[str, ...]]:
    from ..data.loading import load_table

    table = load_table(src, sheet=sheet, id_column=id_column)
    frame = table.frame
    n = len(frame)

    def chunks() -> Chunks:
        for start in range(0, n, chunk_rows):
            part = frame.iloc[start : start + chunk_rows]
            yield part, start + len(part)

    return chunks(), [str(c) for c in frame.columns], n, "rows", tuple(table.repairs)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _CsvWriter:
    """Appends chunks to one CSV file; header once; spreadsheet formulas defused."""

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._header = True

    def write(self, frame: pd.DataFrame) -> None:
        from ..outputs import FORMULA_PREFIXES, neutralise

        out = frame.copy()
        for col in (out.columns[0], "segment_name", "left_out_reason"):
            text = out[col].astype(str)
            # Vectorised test first: a per-cell Python call costs more than assigning.
            risky = text.str.startswith(FORMULA_PREFIXES).to_numpy(dtype=bool)
            if risky.any():
                text = text.copy()
                text[risky] = text[risky].map(neutralise)
                out[col] = text
        if self._header:
            out.columns = [neutralise(str(c)) for c in out.columns]
        out.to_csv(self._fh, index=False, header=self._header, lineterminator="\n")
        self._header = False

    def close(self) -> None:
        self._fh.close()


class _ParquetWriter:
    """Appends chunks to one Parquet file with a fixed schema (row groups = chunks)."""

    def __init__(self, path: Path, id_column: str | None) -> None:
        import pyarrow as pa

        self._pa = pa
        self._path = path
        self._schema = output_schema(id_column)
        self._writer: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        pa = self._pa
        arrays = [
            pa.array(frame.iloc[:, 0].astype(str).to_numpy(dtype=object), type=pa.string()),
            pa.array(frame["segment"], type=pa.int64(), from_pandas=True),
            pa.array(frame["segment_name"].to_numpy(dtype=object), type=pa.string()),
            pa.array(frame["distance"].to_numpy(), type=pa.float64(), from_pandas=True),
            pa.array(frame["atypical"], type=pa.bool_(), from_pandas=True),
            pa.array(frame["left_out_reason"].to_numpy(dtype=object), type=pa.string()),
        ]
        self.write_arrays(arrays)

    def write_arrays(self, arrays: list[Any]) -> None:
        import pyarrow.parquet as pq

        table = self._pa.Table.from_arrays(arrays, schema=self._schema)
        if self._writer is None:
            # Dictionary pages for the columns of few values (segment, name, flag, reason);
            # ids and distances are nearly all different, and trying a dictionary for them
            # first took half of the writing (and made the file larger).
            repeating = [f.name for f in self._schema][1:]
            repeating.remove("distance")
            self._writer = pq.ParquetWriter(
                self._path, self._schema, compression="zstd", use_dictionary=repeating
            )
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        else:  # no rows: still a valid (empty) Parquet file
            import pyarrow.parquet as pq

            pq.write_table(self._schema.empty_table(), self._path)


__all__ = ["AssignmentSummary", "assign_file", "output_format"]
