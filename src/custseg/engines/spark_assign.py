"""``custseg assign --engine spark``: a saved model assigns the customers of a table on Spark.

Spark reads the table (Parquet file or folder, CSV, or any URI Spark reads); every Arrow
batch is assigned on the executors by the **same code** as ``custseg assign`` on this
computer (:func:`custseg.model.assign.assign_arrow`, or :meth:`SegmentModel.assign` for
columns that need the general parsing): the model's missing-value policy, log transform,
scaler, nearest centre, distance, atypical flag and output columns. Spark writes the
result as a Parquet folder; the counts per segment for the summary come from one
aggregate over it. Nothing of size n reaches the driver.

The model travels to the executors as its JSON document and is rebuilt there with
:meth:`SegmentModel.from_dict` (numbers and strings, never pickled code).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import ConfigError, CustsegError, DataError, ModelError, OutputError
from ..model.assign import AssignmentSummary, output_schema
from ..model.fitted import SegmentModel
from .spark import ROW, SparkEngine, numbered, quiet_spark, read_text_csv, unreadable

#: Marks a custseg error raised on an executor, so the driver can repeat its one line.
_ERROR_MARK = "custseg-error"
_ERROR = re.compile(rf"{_ERROR_MARK}\[(\w+)\]: ([^\n]*)")
#: Spark's message for a CSV line whose fields do not match the header (FAILFAST mode).
MALFORMED_RECORD = re.compile(r"Malformed records are detected in record parsing: \[([^\n]*)\]\.")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")
# The encodings Spark 4 reads CSV in, by Python's codec names (a BOM is dropped below).
_JAVA_CHARSETS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16LE",
    "utf-16-be": "UTF-16BE",
}


@functools.lru_cache(maxsize=4)
def _model_of(document: str) -> SegmentModel:
    """The model rebuilt from its JSON text, once per executor process."""
    import json

    return SegmentModel.from_dict(json.loads(document), "<model sent to the executors>")


def _assign_partition(batches, document, id_column, schema):  # pragma: no cover - executors
    from ..model.assign import assign_arrow

    model = _model_of(document)
    for batch in batches:
        if not batch.num_rows:
            continue
        # Rows of one partition arrive in file order, numbered consecutively.
        offset = int(batch.column(ROW)[0].as_py())
        data = batch.drop_columns([ROW])
        try:
            fast = assign_arrow(model, data, offset, id_column)
            if fast is not None:
                arrays = fast[0]
            else:
                assigned = model.assign(data.to_pandas(), row_offset=offset)
                arrays = [
                    pa.array(assigned.iloc[:, 0].astype(str).to_numpy(dtype=object), pa.string()),
                    pa.array(assigned["segment"], pa.int64(), from_pandas=True),
                    pa.array(assigned["segment_name"].to_numpy(dtype=object), pa.string()),
                    pa.array(assigned["distance"].to_numpy(), pa.float64(), from_pandas=True),
                    pa.array(assigned["atypical"], pa.bool_(), from_pandas=True),
                    pa.array(assigned["left_out_reason"].to_numpy(dtype=object), pa.string()),
                ]
        except CustsegError as exc:
            raise RuntimeError(f"{_ERROR_MARK}[{type(exc).__name__}]: {exc}") from None
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _driver_error(exc: BaseException, source: str) -> CustsegError | None:
    """The custseg error an executor raised, from Spark's wrapped exception, or the
    malformed CSV line Spark met; None for anything else."""
    m = _ERROR.search(str(exc))
    if m is None:
        bad = MALFORMED_RECORD.search(str(exc))
        if bad is not None:
            return DataError(
                f"file '{source}' has a line whose fields do not match the header: "
                f"{bad.group(1)!r}; fix that row (a missing quote or an extra delimiter)"
            )
        return None
    kind = {"ModelError": ModelError, "ConfigError": ConfigError}.get(m.group(1), DataError)
    return kind(m.group(2).strip())


def is_uri(target: str) -> bool:
    """Whether ``target`` is a location other than this computer's files (s3a://, hdfs://)."""
    return "://" in target and not target.startswith("file://")


def _read(engine: SparkEngine, source: str) -> tuple[Any, str]:
    """The raw table as Spark reads it, every column, and its format (csv, parquet)."""
    reader = engine.session.read
    name = source.lower()
    if name.endswith((".xlsx", ".xlsm", ".xls")):
        raise DataError(
            f"file '{source}' is an Excel workbook; with --engine spark the data is Parquet "
            "or CSV (or use --engine local)"
        )
    try:
        with quiet_spark():
            if name.endswith(_CSV_SUFFIXES):
                sep = "\t" if name.endswith(".tsv") else ","
                encoding = "utf-8"
                if not is_uri(source):
                    from ..data.loading import sniff_csv

                    path = Path(source.removeprefix("file://"))
                    sniff = sniff_csv(path, name.endswith(".gz"))
                    sniff.require_plain(path, "--engine spark")
                    sep = sniff.delimiter
                    if sniff.codec not in _JAVA_CHARSETS:
                        raise DataError(
                            f"file '{source}' is {sniff.encoding} text; with --engine spark "
                            "CSV must be UTF-8 or UTF-16: save it as UTF-8 (or as Parquet)"
                        )
                    encoding = _JAVA_CHARSETS[sniff.codec]
                # Every column as text, as written (ids like '007' stay text); the model
                # parses its features with the same rules as on this computer.
                df = read_text_csv(
                    engine.session,
                    source,
                    sep=sep,
                    encoding=encoding,
                    options={"ignoreLeadingWhiteSpace": True},
                )
                return df, "csv"
            return reader.parquet(source), "parquet"
    except CustsegError:
        raise
    except Exception as exc:  # pyspark's AnalysisException and friends: lazy imports
        raise unreadable(exc, source) from None


def _na_as_null(df: Any, columns: list[str]) -> Any:
    """Text feature cells that ``custseg assign`` reads as empty ('NA', '-', ...) as nulls."""
    from pyspark.sql import functions as F

    from ..data.loading import NA_VALUES

    wanted = set(columns)
    cols = []
    for field in df.schema.fields:
        c = F.col(f"`{field.name}`")
        if field.name in wanted and field.dataType.typeName() == "string":
            c = F.when(F.ltrim(c).isin(NA_VALUES), None).otherwise(c).alias(field.name)
        cols.append(c)
    return df.select(*cols)


def _temporary_sibling(target: Path) -> Path:
    from ..outputs.atomic import temporary_name

    return temporary_name(target)


def assign_on_spark(
    model: SegmentModel,
    path: str | Path,
    out: str | Path,
    *,
    engine: SparkEngine | None = None,
) -> AssignmentSummary:
    """Assign every customer of ``path`` on Spark and write a Parquet folder at ``out``.

    Parameters
    ----------
    model : SegmentModel
        A loaded model (fitted by any engine).
    path : str or Path
        Parquet file or folder, or CSV with a header row; a local path or any URI Spark
        reads (``s3a://``, ``hdfs://``, ...).
    out : str or Path
        The Parquet folder Spark writes: the same columns as ``custseg assign`` (id or
        ``row``, ``segment``, ``segment_name``, ``distance``, ``atypical``,
        ``left_out_reason``). It must not exist yet. A local folder is written under a
        temporary name beside it and renamed when complete; on other URIs Spark's own
        commit makes the files appear only when the job succeeds.
    engine : SparkEngine, optional
        The engine (its session); by default the active session, or a new ``local[*]`` one.

    Returns
    -------
    AssignmentSummary

    Examples
    --------
    >>> summary = assign_on_spark(load_model("q1/model.json"), "s3a://lake/new/",
    ...                           "s3a://lake/new_assigned.parquet")  # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    from ..rfm.assign import is_rfm_model

    if is_rfm_model(model.features):
        raise ConfigError(
            "this is a `custseg rfm` model: it assigns a transaction log, through "
            "custseg.rfm.assign.assign_log(..., engine='spark') (what `custseg assign "
            "MODEL LOG --engine spark` runs)"
        )
    engine = engine or SparkEngine()
    source, target = str(path), str(out)
    if target.lower().endswith((".csv", ".csv.gz")):
        raise OutputError(
            f"--out '{target}': with --engine spark the output is a Parquet folder written "
            "by Spark; name it .parquet"
        )
    if target.rstrip("/") == source.rstrip("/"):
        raise OutputError(f"--out '{target}' is the input file; choose another name")
    local_out = None if is_uri(target) else Path(target.removeprefix("file://"))
    if local_out is not None:
        from ..outputs.atomic import clean_stale_files, parent_of

        parent = parent_of(local_out)
        if not parent.is_dir():
            raise OutputError(f"folder '{parent}' does not exist; create it first")
        if os.path.lexists(local_out):
            raise OutputError(
                f"'{target}' already exists; choose a new output path (Spark writes a "
                "Parquet folder and never replaces one)"
            )
        clean_stale_files(local_out)  # the leftovers of killed runs

    raw, fmt_in = _read(engine, source)
    check = model.check_columns([str(c) for c in raw.columns])
    wanted = {*model.features, *model.input_columns, model.id_column}
    needed = [c for c in raw.columns if str(c).strip() in wanted]
    if fmt_in == "csv":
        raw = _na_as_null(raw, [c for c in needed if str(c).strip() != model.id_column])
    df = numbered(raw.select(*[F.col(f"`{c}`") for c in needed]))
    schema = output_schema(check.id_column)
    fn = functools.partial(
        _assign_partition, document=model.to_json(), id_column=check.id_column, schema=schema
    )
    from pyspark.sql.pandas.types import from_arrow_schema

    with quiet_spark():
        assigned = df.mapInArrow(fn, from_arrow_schema(schema))
    written = target if local_out is None else str(_temporary_sibling(local_out))
    try:
        try:
            with quiet_spark():
                assigned.write.mode("errorifexists").parquet(written)
        except Exception as exc:
            error = _driver_error(exc, source)
            if error is not None:
                raise error from None
            if "PATH_ALREADY_EXISTS" in str(exc):
                raise OutputError(f"'{target}' already exists; choose a new output path") from None
            raise
        if local_out is not None:
            try:
                os.rename(written, local_out)  # refuses a folder created meanwhile
            except OSError as exc:
                raise OutputError(
                    f"cannot write '{target}': {exc.strerror or exc}; nothing was written there"
                ) from None
    except BaseException:
        # Spark's committer removes its own temporary files when a job fails; the folder
        # custseg named goes too.
        if local_out is not None:
            shutil.rmtree(written, ignore_errors=True)
        raise
    # The summary: one small aggregate over the finished folder (at most 2k + 1 rows).
    # (Read after the rename: Spark skips folders whose names start with a dot.)
    with quiet_spark():
        counts = engine.session.read.parquet(target).groupBy("segment", "atypical").count()
        counts = counts.collect()
    n_rows = sum(int(r["count"]) for r in counts)
    if n_rows == 0:
        if local_out is not None:
            shutil.rmtree(local_out, ignore_errors=True)
        raise DataError(f"file '{source}' has a header but no customers")

    ids = [int(s) for s in model.segment_ids]
    per = dict.fromkeys(ids, 0)
    atypical = dict.fromkeys(ids, 0)
    n_left = 0
    for r in counts:
        if r["segment"] is None:
            n_left += int(r["count"])
            continue
        per[int(r["segment"])] += int(r["count"])
        if r["atypical"]:
            atypical[int(r["segment"])] += int(r["count"])
    return AssignmentSummary(
        source=source,
        out=target,
        input_format=fmt_in,
        output_format="parquet",
        n_rows=n_rows,
        n_assigned=n_rows - n_left,
        n_atypical=int(sum(atypical.values())),
        n_left_out=n_left,
        counts=per,
        atypical_counts=atypical,
        extra_columns=check.extra,
        id_column=check.id_column,
        n_chunks=0,
        method=model.method,
        agreement_with_fit=model.assignment_agreement,
        segment_names={s.id: s.name for s in model.segments},
    )
