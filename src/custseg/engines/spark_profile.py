"""Segment profiles on Spark: the aggregates :mod:`custseg.profiling.profile` needs,
computed where the customers are (issue 18).

Two ``agg`` jobs over an assigned handle (one over every customer, one grouped by
segment) give, per feature in original units, the count, mean, population standard
deviation, minimum, maximum, approximate median (``percentile_approx``, rank error at
most :data:`~custseg.engines.contract.QUANTILE_ERROR` of the customers counted; the
local profiles interpolate the exact median), skewness, whether every value is 0 or 1,
and the mean and variance of ``log(1 + x)``; the numeric category columns (flags,
counts, amounts that are not features) get the same figures over their filled cells;
one grouped count per category column gives its values' counts per segment. Only
these k-sized rows reach the driver; :func:`custseg.profiling.profile.profile_from_aggregates`
turns them into the same profiles as :func:`~custseg.profiling.profile.profile_segments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from ..profiling.levels import Kind
from ..profiling.profile import (
    FeatureAggregates,
    GroupFigures,
    SegmentProfile,
    describe_from_aggregates,
    profile_from_aggregates,
)
from ..results import FeatureStats
from .contract import QUANTILE_ERROR
from .spark import DISTANCE, IMPUTED, RAW, ROW, SEGMENT, SparkData, quiet_spark

#: Column marking the atypical customers assigned after the fit.
ATYPICAL = "_custseg_atypical"
_NUMERIC_TYPES = ("double", "float", "int", "bigint", "smallint", "tinyint", "boolean")


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def feature_aggregates(df: Any, columns: Sequence[Any], k: int) -> list[FeatureAggregates]:
    """:class:`FeatureAggregates` of each column expression of ``df`` (which has the segment
    column), over its filled cells (null and NaN are empty), for segments 0..k-1."""
    from pyspark.sql import functions as F

    if not columns:
        return []
    accuracy = round(1 / QUANTILE_ERROR)
    values = [
        F.when(F.isnan(c.cast("double")), F.lit(None)).otherwise(c.cast("double")) for c in columns
    ]

    def figures(j: int, c: Any) -> list[Any]:
        return [
            F.count(c).alias(f"n{j}"),
            F.avg(c).alias(f"mean{j}"),
            F.percentile_approx(c, 0.5, accuracy).alias(f"median{j}"),
            F.min(c).alias(f"min{j}"),
            F.max(c).alias(f"max{j}"),
            F.stddev_pop(c).alias(f"std{j}"),
            F.avg(F.log1p(c)).alias(f"log{j}"),
        ]

    base_aggs = []
    group_aggs = []
    for j, c in enumerate(values):
        base_aggs += figures(j, c)
        base_aggs += [
            F.skewness(c).alias(f"skew{j}"),
            F.min(F.when(c.isNull() | (c == 0.0) | (c == 1.0), 1).otherwise(0)).alias(f"bin{j}"),
            F.var_pop(F.log1p(c)).alias(f"logvar{j}"),
        ]
        group_aggs += figures(j, c)
    with quiet_spark():
        base = df.agg(*base_aggs).first()
        groups = {int(r[SEGMENT]): r for r in df.groupBy(SEGMENT).agg(*group_aggs).collect()}

    def one(row: Any, j: int) -> GroupFigures:
        if row is None:
            nan = float("nan")
            return GroupFigures(n=0, mean=nan, median=nan, min=nan, max=nan, std=nan)
        return GroupFigures(
            n=int(row[f"n{j}"]),
            mean=_number(row[f"mean{j}"]),
            median=_number(row[f"median{j}"]),
            min=_number(row[f"min{j}"]),
            max=_number(row[f"max{j}"]),
            std=_number(row[f"std{j}"]),
            log_mean=0.0 if row[f"log{j}"] is None else float(row[f"log{j}"]),
        )

    return [
        FeatureAggregates(
            base=one(base, j),
            segments=tuple(one(groups.get(s), j) for s in range(k)),
            # Spark's skewness is null for a constant column: no skew.
            skewness=0.0 if base[f"skew{j}"] is None else float(base[f"skew{j}"]),
            binary=base[f"bin{j}"] == 1,
            log_var=0.0 if base[f"logvar{j}"] is None else float(base[f"logvar{j}"]),
        )
        for j in range(len(values))
    ]


def category_counts(df: Any, name: str, k: int) -> list[dict[Any, int]]:
    """Per segment, each value's count in category column ``name`` (None: empty cells),
    written as pandas writes it (``True``/``False`` for booleans)."""
    from pyspark.sql import functions as F

    c = F.col(f"`{name}`")
    if dict(df.dtypes)[name] == "boolean":
        text = F.when(c.isNull(), F.lit(None)).when(c, "True").otherwise("False")
    else:
        text = c.cast("string")
    per: list[dict[Any, int]] = [{} for _ in range(k)]
    with quiet_spark():
        for row in df.groupBy(SEGMENT, text.alias("v")).count().collect():
            per[int(row[SEGMENT])][row["v"]] = int(row["count"])
    return per


def profile_on_spark(
    data: SparkData, k: int, kinds: dict[str, Kind] | None = None
) -> tuple[dict[str, FeatureStats], list[SegmentProfile]]:
    """:func:`custseg.profiling.profile.profile_segments` of an assigned Spark handle, in
    original units: the handle must be read with ``raw=True`` (its features may then be
    logged and scaled).

    Raises
    ------
    ConfigError
        When the handle is not assigned or keeps no original units.
    """
    from pyspark.sql import functions as F

    if not data.assigned:
        raise ConfigError("assign customers to centres before profiling the segments")
    raw = [f"{RAW}{j}" for j in range(len(data.features))]
    if not set(raw) <= set(data.df.columns):
        raise ConfigError("profiles need the features in original units: read with raw=True")
    df = data.df
    features = feature_aggregates(df, [F.col(c) for c in raw], k)
    types = dict(df.dtypes)
    numeric = [c for c in data.categories if types[c] in _NUMERIC_TYPES]
    descriptors = dict(
        zip(numeric, feature_aggregates(df, [F.col(f"`{c}`") for c in numeric], k), strict=True)
    )
    counts = {c: category_counts(df, c, k) for c in data.categories}
    return profile_from_aggregates(
        features,
        data.features,
        counts,
        describe_from_aggregates(descriptors, k),
        kinds,
    )


def fingerprint_on_spark(data: SparkData) -> str:
    """``sha256:`` of the feature names, the number of customers and the sum over customers
    of a 64-bit hash of each one's row number and features in original units (an exact
    decimal sum, so it does not depend on the partitioning). It identifies the training
    data as the local fingerprint does, but is a different hash of it (docs/model-format.md).
    """
    import hashlib

    from pyspark.sql import functions as F

    raw = [F.col(f"{RAW}{j}") for j in range(len(data.features))]
    row = F.xxhash64(F.col(ROW), *raw).cast("decimal(38,0)")
    with quiet_spark():
        total = data.df.agg(F.count(F.lit(1)).alias("n"), F.sum(row).alias("h")).first()
    h = hashlib.sha256()
    h.update("\x1f".join(data.features).encode("utf-8"))
    h.update(f"\x1e{int(total['n'])}\x1e{total['h']}".encode())
    return "sha256:" + h.hexdigest()


def assign_atypical(
    fitted: SparkData, full: SparkData, rows: Sequence[int], centres: Any
) -> SparkData:
    """``fitted`` (assigned) with the customers at row numbers ``rows`` of ``full`` (both
    in the same scaled units) added, assigned to ``centres``: the atypical customers kept
    out of fitting go to the nearest centre of the fit, as locally."""
    from pyspark.sql import functions as F

    flagged = full._with(full.df.filter(F.col(ROW).isin([int(r) for r in rows])), False)
    atypical = flagged.assign(centres).df.withColumn(ATYPICAL, F.lit(True))
    df = fitted.df.withColumn(ATYPICAL, F.lit(False)).unionByName(atypical)
    return fitted._with(df, True)


def write_segments(
    data: SparkData, path: Any, segment_ids: Sequence[int], names: Sequence[str]
) -> None:
    """Write each customer's segment as a Parquet folder at ``path``, written by Spark in
    row order: the id column (or ``row``, 1-based), ``segment`` (``segment_ids[label]``:
    the result's numbering, not the engine's labels), ``segment_name``, ``distance`` to the
    centre, ``imputed`` (the features filled in the row) when empty cells were filled, and
    ``atypical`` when some customers were kept out of fitting."""
    from pyspark.sql import functions as F

    data._check_assigned()
    label = F.col(SEGMENT) + 1  # element_at counts from 1
    ids = F.array(*[F.lit(int(i)) for i in segment_ids])
    words = F.array(*[F.lit(str(w)) for w in names])
    key = F.col(f"`{data.id_column}`") if data.id_column else (F.col(ROW) + 1).alias("row")
    columns = [
        key,
        F.element_at(ids, label).alias("segment"),
        F.element_at(words, label).alias("segment_name"),
        F.col(DISTANCE).alias("distance"),
    ]
    if IMPUTED in data.df.columns:
        columns.append(F.col(IMPUTED).alias("imputed"))
    if ATYPICAL in data.df.columns:
        columns.append(F.col(ATYPICAL).alias("atypical"))
    out = data.df.orderBy(ROW).select(*columns)
    with quiet_spark():
        out.write.mode("errorifexists").parquet(str(path))
