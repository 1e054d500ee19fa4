"""The Spark engine behind the data seam: the customers are a Spark DataFrame.

Install with ``pip install 'custseg[spark]'`` (pyspark, and Java 17 or later on the
machine). Every pass over the customers runs on the executors, in Arrow batches with
NumPy (``mapInArrow``): the centres are broadcast, each partition adds up its own sums,
and only one small row per partition (k × d sums) comes back to the driver. Nothing of
size n is collected. The batch arithmetic (:func:`~custseg.engines.contract.batch_step`,
:func:`~custseg.engines.contract.nearest`, :func:`~custseg.engines.contract.sample_keys`)
is the same code the contract defines, so the local and Spark engines agree by
construction.

Row numbers (the key of the seeded sample) are 0-based positions in file order: Spark's
partitions of one file follow the file, so they match the local reader; a folder of
several files is numbered in Spark's order of its files.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import ConfigError, DataError, OutputError
from .contract import (
    QUANTILE_ERROR,
    QUARTILES,
    ColumnStats,
    GroupSums,
    LloydResult,
    Profiles,
    Sample,
    batch_step,
    check_centres,
    check_columns,
    check_features,
    check_mapping,
    lloyd_loop,
    nearest,
    register_data_engine,
    relabel_batch,
    sample_keys,
)

if importlib.util.find_spec("pyspark") is None:
    # The registry turns this into "install custseg[spark]".
    raise ImportError("pyspark is not installed", name="pyspark")

#: Internal column names (a customer table is unlikely to use them).
ROW, SEGMENT, DISTANCE, KEY = (
    "_custseg_row",
    "_custseg_segment",
    "_custseg_distance",
    "_custseg_key",
)
#: Prefix of the columns that keep each feature in original units (``read(raw=True)``),
#: and the column naming the features filled in each customer's row.
RAW, IMPUTED = "_custseg_raw", "_custseg_imputed"
#: Settings of a session custseg creates itself (one that already runs is used as it is).
DEFAULT_CONF = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


def local_conf(master: str) -> dict[str, str]:
    """Settings for a session custseg starts on this machine (``local``, ``local[N]``,
    ``local[*]``): twice as many shuffle partitions as cores instead of Spark's 200, which
    are meant for a cluster (on 2 cores the per-customer table of a 10⁶-line log took 53 s
    with 200, 27 s with 4). ``--spark-conf spark.sql.shuffle.partitions=N`` overrides it.

    Examples
    --------
    >>> local_conf("local[2]")
    {'spark.sql.shuffle.partitions': '4'}
    >>> local_conf("spark://head:7077")
    {}
    """
    m = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master.strip())
    if m is None:
        return {}
    cores = m.group(1)
    n = 1 if m.group(0) == "local" else (os.cpu_count() or 1) if cores == "*" else int(cores)
    return {"spark.sql.shuffle.partitions": str(max(2, 2 * n))}


def read_text_csv(
    session: Any,
    source: str,
    *,
    sep: str,
    encoding: str,
    options: Mapping[str, Any] | None = None,
) -> Any:
    """A CSV file or folder as Spark reads it: a header row, every column as text, a line
    whose fields do not match the header an error (FAILFAST), a byte-order mark dropped
    from the first column's name; ``options``: further reader options."""
    reader = (
        session.read.option("header", True)
        .option("inferSchema", False)
        .option("sep", sep)
        .option("encoding", encoding)
        .option("mode", "FAILFAST")
    )
    for key, value in (options or {}).items():
        reader = reader.option(key, value)
    df = reader.csv(source)
    first = df.columns[0] if df.columns else ""
    if first.startswith("\ufeff"):  # a byte-order mark Java keeps in the name
        df = df.withColumnRenamed(first, first.lstrip("\ufeff"))
    return df


def unreadable(exc: BaseException, source: str) -> DataError:
    """The one-line error for Spark failing to read ``source``: a missing path, or the
    first line of Spark's message."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    if "PATH_NOT_FOUND" in first or "does not exist" in first:
        return DataError(f"file '{source}' does not exist; check the path")
    return DataError(f"Spark cannot read '{source}' ({first})")


@contextlib.contextmanager
def quiet_spark() -> Iterator[None]:
    """pyspark warns that it does not fully support pandas >= 3 whenever it checks
    pandas; custseg's passes use Arrow and NumPy only, so the warning is not for users."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        yield


# --- functions run on the executors (module level: shipped by reference) --------------


def _matrix(batch: pa.RecordBatch, columns: Sequence[str]) -> np.ndarray:
    return np.column_stack(
        [
            batch.column(c).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
            for c in columns
        ]
    ).reshape(batch.num_rows, len(columns))


def _one_row(acc: np.ndarray) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([acc.tobytes()], pa.binary())], names=["v"])


def _lloyd_partition(batches, columns, centres_bc, shift):  # pragma: no cover - executors
    centres = centres_bc.value
    k, d = centres.shape
    acc = np.zeros(k * d + k + 1)
    for batch in batches:
        if batch.num_rows:
            sums, counts, inertia = batch_step(_matrix(batch, columns), centres, shift)
            acc[: k * d] += sums.ravel()
            acc[k * d : k * d + k] += counts
            acc[-1] += inertia
    yield _one_row(acc)


def _sums_partition(batches, columns, k):  # pragma: no cover - executors
    d = len(columns)
    acc = np.zeros(k + 2 * k * d)
    for batch in batches:
        if not batch.num_rows:
            continue
        labels = batch.column(SEGMENT).to_numpy(zero_copy_only=False).astype(np.int64)
        _add_sums(acc, _matrix(batch, columns), labels, k)
    yield _one_row(acc)


def _nearest_sums_partition(batches, columns, centres_bc):  # pragma: no cover - executors
    centres = centres_bc.value
    k, d = centres.shape
    acc = np.zeros(k + 2 * k * d)
    for batch in batches:
        if not batch.num_rows:
            continue
        X = _matrix(batch, columns)
        labels, _ = nearest(X, centres)
        _add_sums(acc, X, labels, k)
    yield _one_row(acc)


def _add_sums(acc: np.ndarray, X: np.ndarray, labels: np.ndarray, k: int) -> None:
    """Add counts, then sums and sums of squares feature by feature, into ``acc``."""
    d = X.shape[1]
    acc[:k] += np.bincount(labels, minlength=k)
    for j in range(d):
        base = k + j * k
        acc[base : base + k] += np.bincount(labels, weights=X[:, j], minlength=k)
        base = k + k * d + j * k
        acc[base : base + k] += np.bincount(labels, weights=X[:, j] ** 2, minlength=k)


def _assign_partition(batches, columns, centres_bc):  # pragma: no cover - executors
    centres = centres_bc.value
    for batch in batches:
        labels, d2 = nearest(_matrix(batch, columns), centres)
        yield (
            batch.append_column(SEGMENT, pa.array(labels.astype(np.int32))).append_column(
                DISTANCE, pa.array(np.sqrt(d2))
            )
        )


def _relabel_partition(batches, columns, mapping_bc, centres_bc):  # pragma: no cover
    mapping, centres = mapping_bc.value, centres_bc.value
    for batch in batches:
        at = batch.schema.get_field_index(SEGMENT), batch.schema.get_field_index(DISTANCE)
        segment = batch.column(at[0]).to_numpy(zero_copy_only=False)
        new, distance = relabel_batch(_matrix(batch, columns), segment, mapping, centres)
        arrays = batch.columns
        arrays[at[0]] = pa.array(new.astype(np.int32))
        arrays[at[1]] = pa.array(distance)
        yield pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def _key_partition(batches, seed):  # pragma: no cover - executors
    for batch in batches:
        rows = batch.column(ROW).to_numpy(zero_copy_only=False)
        yield batch.append_column(KEY, pa.array(sample_keys(rows, seed)))


def _count_partition(batches):  # pragma: no cover - executors
    from pyspark import TaskContext

    ctx = TaskContext.get()
    pid = ctx.partitionId() if ctx is not None else 0
    n = sum(b.num_rows for b in batches)
    yield pa.RecordBatch.from_arrays(
        [pa.array([pid], pa.int64()), pa.array([n], pa.int64())], names=["p", "n"]
    )


def _row_partition(batches, offsets):  # pragma: no cover - executors
    from pyspark import TaskContext

    ctx = TaskContext.get()
    start = int(offsets.get(ctx.partitionId() if ctx is not None else 0, 0))
    for batch in batches:
        rows = np.arange(start, start + batch.num_rows, dtype=np.int64)
        start += batch.num_rows
        yield batch.append_column(ROW, pa.array(rows))


def _collect_sum(df: Any, fn: Any, width: int) -> np.ndarray:
    """Run a per-partition pass that yields one binary row each; add them in partition
    order (the same total for the same partitioning)."""
    with quiet_spark():
        rows = df.mapInArrow(fn, "v binary").collect()
    total = np.zeros(width)
    for row in rows:
        total += np.frombuffer(row["v"], dtype=np.float64)
    return total


class SparkData:
    """A handle over a Spark DataFrame with a row-number column, the features (double),
    an optional id column, category columns and, after :meth:`assign`, each customer's
    segment and distance."""

    engine = "spark"

    def __init__(
        self,
        spark_engine: SparkEngine,
        df: Any,
        features: Sequence[str],
        id_column: str | None = None,
        categories: Sequence[str] = (),
        assigned: bool = False,
    ) -> None:
        self._engine = spark_engine
        self.df = df
        self.features = tuple(features)
        self.id_column = id_column
        self.categories = tuple(categories)
        self.assigned = assigned
        # After assign: the data before it and the broadcast centres, so that per-segment
        # sums run as one fused pass (nearest centre and sums in the same Arrow batch).
        self._assigned_from: tuple[Any, Any] | None = None
        # After assign or relabel: how many segments (0..n-1) the customers may hold.
        self._n_labels: int | None = None

    def _with(self, df: Any, assigned: bool) -> SparkData:
        return SparkData(self._engine, df, self.features, self.id_column, self.categories, assigned)

    def count(self) -> int:
        return int(self.df.count())

    def without_rows(self, rows: np.ndarray) -> SparkData:
        from pyspark.sql import functions as F

        # A filter keeps the rows' order (a join would not); the excluded are few (the
        # atypical customers), so the list travels with the query plan.
        dropped = [int(r) for r in np.asarray(rows, dtype=np.int64)]
        if not dropped:
            return self
        return self._with(self.df.filter(~F.col(ROW).isin(dropped)), self.assigned)

    def column_stats(self, quantiles: Sequence[float] = QUARTILES) -> ColumnStats:
        from pyspark.sql import functions as F

        qs = [float(q) for q in quantiles]
        accuracy = round(1 / QUANTILE_ERROR)
        aggs = [F.count(F.lit(1)).alias("n")]
        for j, f in enumerate(self.features):
            c = F.col(f"`{f}`")
            aggs += [
                F.avg(c).alias(f"mean{j}"),
                F.stddev_pop(c).alias(f"std{j}"),
                F.min(c).alias(f"min{j}"),
                F.max(c).alias(f"max{j}"),
            ]
            if qs:
                aggs.append(F.percentile_approx(c, qs, accuracy).alias(f"q{j}"))
        with quiet_spark():
            row = self.df.agg(*aggs).first()
        d = len(self.features)

        def col(prefix: str) -> np.ndarray:
            return np.array([row[f"{prefix}{j}"] for j in range(d)], dtype=np.float64)

        qv = np.array([row[f"q{j}"] for j in range(d)], dtype=np.float64) if qs else None
        return ColumnStats(
            n=int(row["n"]),
            mean=col("mean"),
            std=col("std"),
            min=col("min"),
            max=col("max"),
            quantiles={} if qv is None else {q: qv[:, i] for i, q in enumerate(qs)},
            quantile_error=QUANTILE_ERROR,
        )

    def scale(self, center: np.ndarray, scale: np.ndarray) -> SparkData:
        from pyspark.sql import functions as F

        center = np.asarray(center, dtype=np.float64)
        scale = np.asarray(scale, dtype=np.float64)
        scaled = {
            f: ((F.col(f"`{f}`") - float(center[j])) / float(scale[j])).alias(f)
            for j, f in enumerate(self.features)
        }
        cols = [
            scaled.get(c, F.col(f"`{c}`")) for c in self.df.columns if c not in (SEGMENT, DISTANCE)
        ]
        return self._with(self.df.select(*cols), assigned=False)

    def sample(self, m: int, *, seed: int) -> Sample:
        from pyspark.sql.types import LongType, StructField, StructType

        keep = [ROW, *self.features, *([self.id_column] if self.id_column else [])]
        base = self.df.select(*[f"`{c}`" for c in keep])
        schema = StructType([*base.schema.fields, StructField(KEY, LongType(), False)])
        # Spark keeps the m smallest keys per partition and merges them: at most m rows
        # (plus the partitions' candidates) ever reach the driver.
        with quiet_spark():
            keyed = base.mapInArrow(functools.partial(_key_partition, seed=int(seed)), schema)
            table = keyed.orderBy(KEY, ROW).limit(max(int(m), 0)).toArrow()
        table = table.sort_by(ROW)
        ids = (
            table.column(self.id_column).to_numpy(zero_copy_only=False) if self.id_column else None
        )
        return Sample(
            rows=table.column(ROW).to_numpy().astype(np.int64),
            X=np.column_stack(
                [table.column(f).to_numpy(zero_copy_only=False) for f in self.features]
            )
            .reshape(table.num_rows, len(self.features))
            .astype(np.float64),
            ids=ids,
        )

    def _pass(self, centres: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        k, d = centres.shape
        bc = self._engine.session.sparkContext.broadcast(centres)
        try:
            fn = functools.partial(
                _lloyd_partition, columns=self.features, centres_bc=bc, shift=shift
            )
            total = _collect_sum(
                self.df.select(*[f"`{f}`" for f in self.features]), fn, k * d + k + 1
            )
        finally:
            bc.unpersist()
        return total[: k * d].reshape(k, d), total[k * d : k * d + k], max(float(total[-1]), 0.0)

    def lloyd(self, init: np.ndarray, *, max_iter: int = 300, tol: float = 1e-4) -> LloydResult:
        init = check_centres(init, len(self.features))
        stats = self.column_stats(quantiles=())
        return lloyd_loop(
            lambda c: self._pass(c, stats.mean), init, stats, max_iter=max_iter, tol=tol
        )

    def assign(self, centres: np.ndarray) -> SparkData:
        from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

        centres = check_centres(centres, len(self.features))
        df = self.df.drop(SEGMENT, DISTANCE)
        schema = StructType(
            [
                *df.schema.fields,
                StructField(SEGMENT, IntegerType(), False),
                StructField(DISTANCE, DoubleType(), False),
            ]
        )
        # The broadcast lives as long as the lazy DataFrame may be recomputed.
        bc = self._engine.session.sparkContext.broadcast(centres)
        fn = functools.partial(_assign_partition, columns=self.features, centres_bc=bc)
        with quiet_spark():
            out = self._with(df.mapInArrow(fn, schema), assigned=True)
        out._assigned_from = (df, bc)
        out._n_labels = len(centres)
        return out

    def relabel(self, mapping: np.ndarray, centres: np.ndarray) -> SparkData:
        if not self.assigned:
            raise ConfigError("assign customers to centres before relabelling their segments")
        values, centres = check_mapping(mapping, centres, len(self.features), self._n_labels)
        # Broadcast, as the centres of assign: the lookup and the distance run in the
        # executors' Arrow batches, lazily (nothing comes back).
        context = self._engine.session.sparkContext
        mapping_bc, centres_bc = context.broadcast(values), context.broadcast(centres)
        fn = functools.partial(
            _relabel_partition, columns=self.features, mapping_bc=mapping_bc, centres_bc=centres_bc
        )
        with quiet_spark():
            out = self._with(self.df.mapInArrow(fn, self.df.schema), assigned=True)
        out._n_labels = len(centres)
        return out

    def _check_assigned(self) -> None:
        if not self.assigned:
            raise ConfigError("assign customers to centres before asking for per-segment sums")

    def group_sums(self, k: int) -> GroupSums:
        self._check_assigned()
        d = len(self.features)
        if self._assigned_from is not None and len(self._assigned_from[1].value) == k:
            df, bc = self._assigned_from
            fn = functools.partial(_nearest_sums_partition, columns=self.features, centres_bc=bc)
            df = df.select(*[f"`{f}`" for f in self.features])
        else:
            fn = functools.partial(_sums_partition, columns=self.features, k=int(k))
            df = self.df.select(*[f"`{f}`" for f in self.features], SEGMENT)
        total = _collect_sum(df, fn, k + 2 * k * d)
        sums = total[k : k + k * d].reshape(d, k).T
        sumsq = total[k + k * d :].reshape(d, k).T
        return GroupSums(counts=total[:k], sums=sums, sumsq=sumsq)

    def profile(self, k: int, quantiles: Sequence[float] = QUARTILES) -> Profiles:
        from pyspark.sql import functions as F

        groups = self.group_sums(k)
        qs = [float(q) for q in quantiles]
        d = len(self.features)
        qv = {q: np.full((k, d), np.nan) for q in qs}
        accuracy = round(1 / QUANTILE_ERROR)
        with quiet_spark():
            if qs:
                aggs = [
                    F.percentile_approx(F.col(f"`{f}`"), qs, accuracy).alias(f"q{j}")
                    for j, f in enumerate(self.features)
                ]
                for row in self.df.groupBy(SEGMENT).agg(*aggs).collect():
                    s = int(row[SEGMENT])
                    for j in range(d):
                        for i, q in enumerate(qs):
                            qv[q][s, j] = row[f"q{j}"][i]
            cats: dict[str, list[dict[Any, int]]] = {}
            for name in self.categories:
                per: list[dict[Any, int]] = [{} for _ in range(k)]
                c = F.col(f"`{name}`")
                counted = self.df.groupBy(SEGMENT, c.cast("string").alias("v")).count()
                for row in counted.collect():
                    per[int(row[SEGMENT])][row["v"]] = int(row["count"])
                cats[name] = per
        return Profiles(
            counts=groups.counts,
            means=groups.means,
            quantiles=qv,
            categories=cats,
            quantile_error=QUANTILE_ERROR,
        )

    # -- a run whose customers stay on Spark (custseg.engines.spark_profile) ------------
    def profile_segments(self, k: int, kinds: Any = None) -> Any:
        """Profiles of segments 0..k-1 in original units, from aggregates."""
        from .spark_profile import profile_on_spark

        return profile_on_spark(self, k, kinds)

    def fingerprint(self) -> str:
        from .spark_profile import fingerprint_on_spark

        return fingerprint_on_spark(self)

    def with_atypical(self, full: SparkData, rows: Sequence[int], centres: Any) -> SparkData:
        from .spark_profile import assign_atypical

        return assign_atypical(self, full, rows, centres)

    def write_segments(self, path: str | Path, segment_ids: Any, names: Sequence[str]) -> None:
        from .spark_profile import write_segments

        write_segments(self, path, segment_ids, names)

    def write_assignments(self, path: str | Path) -> None:
        from pyspark.sql import functions as F

        self._check_assigned()
        target = str(path)
        if "://" not in target and Path(target).exists():
            raise OutputError(f"'{target}' already exists; choose a new output path")
        key = F.col(f"`{self.id_column}`") if self.id_column else F.col(ROW).alias("row")
        out = self.df.select(
            key, F.col(SEGMENT).alias("segment"), F.col(DISTANCE).alias("distance")
        )
        try:
            with quiet_spark():
                out.write.mode("errorifexists").parquet(target)
        except Exception as exc:  # AnalysisException: pyspark's class, imported lazily
            if "PATH_ALREADY_EXISTS" in str(exc):
                raise OutputError(f"'{target}' already exists; choose a new output path") from None
            raise

    def to_numpy(self) -> dict[str, np.ndarray]:
        with quiet_spark():
            table = self.df.orderBy(ROW).toArrow()
        rename = {ROW: "row", SEGMENT: "segment", DISTANCE: "distance"}
        return {
            rename.get(name, name): table.column(name).to_numpy(zero_copy_only=False)
            for name in table.column_names
        }


class SparkEngine:
    """Handles over Spark DataFrames.

    Parameters
    ----------
    session : pyspark.sql.SparkSession, optional
        The session to use; by default the active one, else a new one.
    master : str, optional
        Where a new session runs (default ``$SPARK_MASTER``, else ``local[*]``: every core
        of this machine; or a cluster's URL). When a session already runs (under
        ``spark-submit``, or one the caller started) that session is used as it is, with
        its own master, and :attr:`note` says so.
    conf : dict, optional
        ``spark.*`` settings: for a new session all of them; for a running one those
        Spark lets change at run time (others are a :class:`ConfigError` naming
        ``spark-submit --conf``).
    """

    name = "spark"

    def __init__(
        self, session: Any = None, *, master: str | None = None, conf: dict[str, str] | None = None
    ) -> None:
        self._session = session
        self.master = master
        self.conf = dict(conf or {})

    @property
    def session(self) -> Any:
        if self._session is None:
            from pyspark.sql import SparkSession

            # Python workers run the interpreter that runs custseg (it has custseg).
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            active = SparkSession.getActiveSession()
            # Under spark-submit (it hands Python a gateway) the master is spark-submit's.
            submitted = "PYSPARK_GATEWAY_PORT" in os.environ
            if active is not None or submitted:
                self._session = self._running(active)
                return self._session
            builder = SparkSession.builder.appName("custseg")
            master = self.master or os.environ.get("SPARK_MASTER") or "local[*]"
            builder = builder.master(master)
            for key, value in {**DEFAULT_CONF, **local_conf(master), **self.conf}.items():
                builder = builder.config(key, value)
            try:
                with quiet_spark():
                    self._session = builder.getOrCreate()
            except Exception as exc:  # Java missing or too old: pyspark's own error types
                raise ConfigError(
                    "engine='spark' could not start Spark (it needs Java 17 or later on the "
                    f"PATH or in JAVA_HOME): {str(exc).splitlines()[0] if str(exc) else exc!r}"
                ) from None
            self.note = f"Spark: started a session on {self._session.sparkContext.master}"
        return self._session

    #: What :attr:`session` did, for the command line to say (None before it ran).
    note: str | None = None

    def _running(self, active: Any) -> Any:
        """The session that already runs (spark-submit's, or the caller's), never a second
        one: its master is kept; ``conf`` is applied where Spark allows it at run time."""
        from pyspark.sql import SparkSession

        if active is None:  # spark-submit's context, before any session: it has the master
            builder = SparkSession.builder.appName("custseg")
            for key, value in {**DEFAULT_CONF, **self.conf}.items():
                builder = builder.config(key, value)
            with quiet_spark():
                session = builder.getOrCreate()
        else:
            session = active
            for key, value in self.conf.items():
                if session.conf.get(key, None) == value:
                    continue
                try:
                    session.conf.set(key, value)
                except Exception:  # static settings: pyspark's AnalysisException
                    raise ConfigError(
                        f"the Spark setting {key}={value} cannot be changed in the running "
                        "Spark session; set it when Spark starts (spark-submit --conf "
                        f"{key}={value})"
                    ) from None
        master = session.sparkContext.master
        self.note = f"Spark: using the running session (master {master})"
        if self.master is not None and self.master != master:
            self.note += f"; --spark-master {self.master} is not applied"
        return session

    def _from_df(
        self,
        df: Any,
        features: Sequence[str],
        id_column: str | None,
        categories: Sequence[str],
        log: Sequence[bool] | None = None,
        fill: Mapping[str, float] | None = None,
        raw: bool = False,
    ) -> SparkData:
        from pyspark.sql import functions as F

        check_columns([*features, *([id_column] if id_column else []), *categories], df.columns)
        logged = set(np.flatnonzero(np.asarray(log or (), dtype=bool)).tolist())

        def filled(f: str) -> Any:
            col = F.col(f"`{f}`").cast("double")
            if fill and f in fill:  # empty (null) or NaN cells take the chosen value
                col = F.when(col.isNull() | F.isnan(col), F.lit(float(fill[f]))).otherwise(col)
            return col

        def feature(j: int, f: str) -> Any:
            col = filled(f)
            if j in logged:  # as Scaler._log: sign(x) * log(1 + |x|)
                col = F.signum(col) * F.log1p(F.abs(col))
            return col.alias(f)

        cols = [
            *([ROW] if ROW in df.columns else []),
            *[feature(j, f) for j, f in enumerate(features)],
            *([F.col(f"`{id_column}`")] if id_column else []),
            *[F.col(f"`{c}`") for c in categories],
            # Original units for profiles, carried through scale and assign untouched.
            *[filled(f).alias(f"{RAW}{j}") for j, f in enumerate(features) if raw],
        ]
        if raw and fill:  # as assignments.csv's 'imputed' column: "'a', 'b'" or ""
            empty = []
            for f in features:
                if f in fill:
                    c = F.col(f"`{f}`").cast("double")
                    empty.append(F.when(c.isNull() | F.isnan(c), F.lit(f"'{f}'")))
            cols.append(F.concat_ws(", ", *empty).alias(IMPUTED))
        return SparkData(self, df.select(*cols), features, id_column, categories)

    def from_arrays(
        self,
        X: np.ndarray,
        *,
        features: Sequence[str] | None = None,
        ids: np.ndarray | None = None,
        id_column: str = "id",
        categories: dict[str, np.ndarray] | None = None,
    ) -> SparkData:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ConfigError(f"X has shape {X.shape}; expected (n_customers, n_features)")
        names = check_features(features, X.shape[1])
        columns: dict[str, Any] = {ROW: pa.array(np.arange(len(X), dtype=np.int64))}
        for j, f in enumerate(names):
            columns[f] = pa.array(X[:, j])
        if ids is not None:
            columns[id_column] = pa.array(np.asarray(ids).tolist())
        cats = dict(categories or {})
        for name, values in cats.items():
            columns[name] = pa.array(
                [None if v is None or v != v else str(v) for v in values], pa.string()
            )
        with quiet_spark():
            df = self.session.createDataFrame(pa.table(columns))
        return self._from_df(df, names, id_column if ids is not None else None, list(cats))

    def _raw(self, path: str | Path) -> Any:
        uri = str(path)
        reader = self.session.read
        if uri.lower().endswith((".csv", ".txt")):
            local = Path(uri.removeprefix("file://"))
            if "://" not in uri.removeprefix("file://") and local.is_file():
                # Sniffed as the local reader does (one sniffer for every reader): a layout
                # this reader would misread is refused with what to change.
                from ..data.loading import sniff_csv

                sniff = sniff_csv(local, False)
                sniff.require_plain(local, "--engine spark")
                if sniff.delimiter != ",":
                    shown = sniff.delimiter.replace("\t", "\\t")
                    raise DataError(
                        f"file '{local}' separates its fields with '{shown}'; "
                        "--engine spark reads comma-separated CSV (with decimal points): "
                        "save it as such, or as Parquet, or use --engine local"
                    )
            with quiet_spark():
                return reader.option("header", True).option("inferSchema", True).csv(uri)
        with quiet_spark():
            return reader.parquet(uri)

    def read_table(self, path: str | Path, *, limit: int) -> pa.Table:
        """The first ``limit`` rows of the file as read by Spark, every column, on the driver
        (the pipeline validates and profiles them there, so only for bounded tables)."""
        with quiet_spark():
            return self._raw(path).limit(limit).toArrow()

    def read(
        self,
        path: str | Path,
        *,
        features: Sequence[str],
        id_column: str | None = None,
        categories: Sequence[str] = (),
        log: Sequence[bool] | None = None,
        fill: Mapping[str, float] | None = None,
        raw: bool = False,
    ) -> SparkData:
        """A handle to the file's customers (see the contract); with ``raw``, it also keeps
        each feature in original units (filled, not logged) for
        :func:`custseg.engines.spark_profile.profile_on_spark`."""
        df = self.read_numbered(path)
        return self._from_df(df, features, id_column, categories, log, fill, raw)

    def check_rows(self, path: str | Path, head: Any, config: Any, *, head_rows: int) -> Any:
        """The data rules that depend on every row, as Spark aggregates, given the decisions
        the local rules made on the file's first ``head_rows`` (see
        :func:`custseg.engines.spark_rules.check_rows`)."""
        from .spark_rules import check_rows

        return check_rows(
            self.read_numbered(path), head, config, head_rows=head_rows, engine=self.name
        )

    def read_numbered(self, path: str | Path) -> Any:
        """Every column of the file as Spark reads it, plus the 0-based row number in file
        order (column :data:`ROW`): what the checks of every row
        (:mod:`custseg.engines.spark_rules`) run on."""
        return numbered(self._raw(path))

    def assign_model(self, model: Any, path: str | Path, out: str | Path) -> Any:
        """Assign the customers of ``path`` to a saved model's segments; Spark writes ``out``
        (a Parquet folder). See :func:`custseg.engines.spark_assign.assign_on_spark`."""
        from .spark_assign import assign_on_spark

        return assign_on_spark(model, path, out, engine=self)


register_data_engine("spark", SparkEngine)


def numbered(df: Any) -> Any:
    """``df`` with the 0-based row number in file order (column :data:`ROW`): each
    partition's rows are counted (one pass over one column), then numbered from the
    partition's offset."""
    from pyspark.sql.types import LongType, StructField, StructType

    with quiet_spark():
        counts = df.select(df.columns[0]).mapInArrow(_count_partition, "p long, n long")
        per = sorted((int(r["p"]), int(r["n"])) for r in counts.collect())
    offsets, start = {}, 0
    for pid, n in per:
        offsets[pid] = start
        start += n
    schema = StructType([*df.schema.fields, StructField(ROW, LongType(), False)])
    with quiet_spark():
        return df.mapInArrow(functools.partial(_row_partition, offsets=offsets), schema)
