"""The data rules that depend on every row, as Spark aggregates.

For a table larger than the part the driver reads (:data:`custseg.distributed.DRIVER_SAMPLE`
rows, the head of the file), the local rules (:func:`custseg.data.prepare.prepare`) decide
the columns, the id, the roles, kinds and categories from that head; :func:`check_rows` then
applies the rules whose outcome depends on every row, over the whole DataFrame, with the
messages of the local rules (each defined once, in :mod:`custseg.data`):

* the id: empty or repeated ids (an error for ``--id``; a detected id that turns out not
  to be one is refused, since the head chose it);
* text in a number column, a feature empty in every row, infinite or too large values,
  a feature with one value for every customer (errors);
* the last row as a totals row, and empty cells that ``--missing`` would leave out (the
  customers left out are counted and the run refused, as for the head);
* negative values where the name says they cannot be (flagged);
* ``--transform auto`` (skewness, sign and distinct values of every row), the medians that
  fill empty cells and that every feature keeps in the model, and implausible or extreme
  values (quartiles of every row; ``--outliers``).

Medians and quartiles come from ``percentile_approx`` with a rank error of at most
:data:`~custseg.engines.contract.QUANTILE_ERROR` of the customers (the local rules
interpolate exact ones); everything else is exact. A decision the head made that every
row would change (a default feature more than 30% empty or near-constant, a category
with too many values) is refused with the option to change, never silently kept.
Only counts, a few first rows per rule and the flagged rows' numbers reach the driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import SegmentationConfig
from ..data.numbers import text_in_number_message
from ..data.prepare import (
    FILL_WARNING_SHARE,
    TOO_LARGE,
    PreparedData,
    all_empty_message,
    cannot_be_negative,
    constant_message,
    empty_values_message,
    filled_note,
    filled_warning,
    id_duplicate_message,
    id_duplicate_why,
    id_empty_message,
    id_empty_why,
    infinite_message,
    missing_reasons,
    negative_note,
    outlier_note,
    too_large_message,
    totals_reason,
)
from ..data.rules import (
    DISTINCT_PROBE,
    MAX_CATEGORY_LEVELS,
    MAX_EMPTY_SHARE,
    NEAR_CONSTANT_SHARE,
    OUTLIER_IQR,
    extreme_line,
    implausible_line,
    log_decision,
    plausible_ranges,
)
from ..errors import ConfigError, DataError
from ..features.roles import load_registry
from .contract import QUANTILE_ERROR
from .spark import ROW, quiet_spark

#: First rows fetched for a message: ``rows_list`` shows five and "..." when there are more.
FIRST_ROWS = 6


@dataclass(frozen=True)
class RowChecks:
    """What the rules of every row decided (see :func:`check_rows`).

    ``flagged_rows`` are the row numbers (0-based, file order) with an implausible or
    extreme value; ``left_out`` the number of customers the local rules would leave out,
    and the reason of the first, or None.
    """

    n_rows: int
    log_features: tuple[bool, ...]
    transformed: dict[str, str]
    impute_values: dict[str, float]
    imputed: dict[str, int]
    repairs: tuple[str, ...]
    warnings: tuple[str, ...]
    flagged_rows: np.ndarray
    left_out: tuple[int, str] | None


def _first(raw: Any, condition: Any, *values: Any) -> list[Any]:
    """The first :data:`FIRST_ROWS` rows (in file order) meeting ``condition``."""
    return raw.filter(condition).select(ROW, *values).orderBy(ROW).limit(FIRST_ROWS).collect()


def _positions(rows: list[Any]) -> np.ndarray:
    return np.array([int(r[ROW]) for r in rows], dtype=np.int64)


def _quote(name: str) -> str:
    return f"`{name}`"


def check_rows(
    raw: Any,
    head: PreparedData,
    config: SegmentationConfig,
    *,
    head_rows: int,
    engine: str = "spark",
) -> RowChecks:
    """Apply the rules of every row to ``raw`` (a DataFrame of every column of the file and
    the row number ``ROW``), given the decisions ``head`` made on its first ``head_rows``.

    Raises
    ------
    DataError
        The local rules' error, naming the column, the first rows and the value.
    ConfigError
        When every row would change a decision of the head (the option to change named).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, NumericType, StringType

    with quiet_spark():
        types = {f.name: f.dataType for f in raw.schema.fields}
        features = head.features
        summary = head.summary
        n = int(raw.count())
        given_features = set(config.features or ())

        # A totals row is set aside before any other rule (as prepare does); the engine
        # cannot leave a row out yet, so the run stops there.
        left_out = _totals_row(raw, n, types)
        if left_out is not None:
            return RowChecks(n, head.log_features, {}, {}, {}, (), (), np.array([]), left_out)
        _check_ids(
            raw,
            summary.id_column,
            given=config.id_column is not None,
            engine=engine,
            head_rows=head_rows,
        )

        # --- text in a number column: the value as a double, NaN read as empty ----------
        value: dict[str, Any] = {}
        for f in features:
            c = F.col(_quote(f))
            if isinstance(types[f], StringType):
                as_number = c.try_cast("double")  # ANSI mode: an error, not null
                bad = c.isNotNull() & as_number.isNull()
                n_bad = raw.filter(bad).count()
                if n_bad:
                    cleaned = any(r.startswith(f"column {f!r}: removed ") for r in summary.repairs)
                    first = raw.filter(bad).select(ROW, c).orderBy(ROW).first()
                    if cleaned:  # the head held numbers written as text, read by the local rules
                        raise ConfigError(
                            f"column {f!r} holds numbers written as text (row "
                            f"{int(first[ROW]) + 1} is {str(first[1])!r}); engine={engine!r} "
                            "reads plain numbers only: store them as numbers, or use "
                            "--engine local"
                        )
                    raise DataError(
                        text_in_number_message(
                            f, int(first[ROW]), first[1], n_bad, strict=f in given_features
                        )
                    )
                c = as_number
            elif isinstance(types[f], BooleanType) or not isinstance(types[f], NumericType):
                raise ConfigError(
                    f"feature {f!r} is a {types[f].simpleString()} column; engine={engine!r} "
                    "clusters on number columns only: use --engine local"
                )
            else:
                c = c.cast("double")
            value[f] = F.when(F.isnan(c), F.lit(None)).otherwise(c)

        # --- one pass: counts, extremes, moments and quartiles of every feature ---------
        accuracy = round(1 / QUANTILE_ERROR)
        modes = _head_modes(head) if config.features is None else {}
        aggs = []
        for j, f in enumerate(features):
            v = value[f]
            if modes.get(f) is not None:  # how many customers share the head's commonest value
                aggs.append(F.sum(F.when(v == modes[f], 1).otherwise(0)).alias(f"mode{j}"))
            infinite = v.isin(float("inf"), float("-inf"))
            finite = F.when(~infinite, v)
            aggs += [
                F.count(v).alias(f"present{j}"),
                F.sum(F.when(infinite, 1).otherwise(0)).alias(f"inf{j}"),
                F.sum(F.when(~infinite & (F.abs(v) > TOO_LARGE), 1).otherwise(0)).alias(f"big{j}"),
                F.sum(F.when(v < 0, 1).otherwise(0)).alias(f"neg{j}"),
                F.min(finite).alias(f"min{j}"),
                F.max(finite).alias(f"max{j}"),
                F.skewness(finite).alias(f"skew{j}"),
                F.percentile_approx(finite, [0.25, 0.5, 0.75], accuracy).alias(f"q{j}"),
            ]
        levels = [c for c in summary.categorical if isinstance(types.get(c), StringType)]
        aggs += [
            F.countDistinct(F.col(_quote(c))).alias(f"levels{i}") for i, c in enumerate(levels)
        ]
        stats = raw.agg(*aggs).first()

        for j, f in enumerate(features):
            if stats[f"present{j}"] == 0:
                raise DataError(all_empty_message(f))
            if stats[f"inf{j}"]:
                rows = _first(raw, value[f].isin(float("inf"), float("-inf")))
                raise DataError(infinite_message(f, _positions(rows)))
            if stats[f"big{j}"]:
                rows = _first(raw, F.abs(value[f]) > TOO_LARGE, value[f].alias("v"))
                raise DataError(too_large_message(f, rows[0]["v"], _positions(rows)))

        for i, name in enumerate(levels):
            if stats[f"levels{i}"] > MAX_CATEGORY_LEVELS:
                raise ConfigError(
                    f"column {name!r} has {stats[f'levels{i}']:,} distinct values in all {n:,} "
                    f"rows (more than {MAX_CATEGORY_LEVELS}, too many to profile), which the "
                    f"first {head_rows:,} rows did not show; engine={engine!r} chooses the "
                    f"columns from those rows: leave it out with --ignore {name!r}, or use "
                    "--engine local"
                )

        repairs: list[str] = []
        for j, f in enumerate(features):
            if cannot_be_negative(f) and stats[f"neg{j}"]:
                rows = _first(raw, value[f] < 0, value[f].alias("v"))
                repairs.append(negative_note(f, rows[0]["v"], _positions(rows)))

        # --- --transform: the same decision as log_features, from every row -------------
        kinds = {r.column: r.kind for r in summary.roles}
        log_flags: list[bool] = []
        transformed: dict[str, str] = {}
        for j, f in enumerate(features):
            nonneg = stats[f"min{j}"] is not None and stats[f"min{j}"] >= 0
            skew = stats[f"skew{j}"]
            skew = 0.0 if skew is None or not np.isfinite(skew) or n < 3 else float(skew)
            reason = log_decision(
                config.transform,
                kinds.get(f, "number"),
                nonneg=nonneg,
                skew=skew,
                n_distinct_first=_distinct_first(raw, value[f]),
            )
            log_flags.append(reason is not None)
            if reason is not None:
                transformed[f] = reason

        # --- implausible and extreme values (find_outliers), then --missing ----------------
        ranges = plausible_ranges(summary.roles, load_registry(config.roles))
        conditions: list[tuple[str, Any, Any]] = []  # (feature, implausible, extreme)
        for j, f in enumerate(features):
            v = value[f]
            ok = v.isNotNull()
            lo, hi = ranges.get(f, (None, None))
            bad = F.lit(False)
            if lo is not None:
                bad = bad | (ok & (v < float(lo)))
            if hi is not None:
                bad = bad | (ok & (v > float(hi)))
            quartiles = stats[f"q{j}"]
            q1, q3 = (float(quartiles[0]), float(quartiles[2])) if quartiles else (0.0, 0.0)
            z = v
            if log_flags[j]:  # the quartiles of log values are the log of the quartiles
                z = F.signum(v) * F.log1p(F.abs(v))
                q1, q3 = (float(np.sign(q) * np.log1p(abs(q))) for q in (q1, q3))
            iqr = q3 - q1
            extreme = F.lit(False)
            if iqr > 0:
                extreme = ok & ((z > q3 + OUTLIER_IQR * iqr) | (z < q1 - OUTLIER_IQR * iqr)) & ~bad
            conditions.append((f, bad, extreme))
        counted = raw.agg(
            *[
                agg
                for j, (_, bad, extreme) in enumerate(conditions)
                for agg in (
                    F.sum(F.when(bad, 1).otherwise(0)).alias(f"bad{j}"),
                    F.sum(F.when(extreme, 1).otherwise(0)).alias(f"extreme{j}"),
                )
            ]
        ).first()
        lines: list[str] = []
        for j, (f, bad, extreme) in enumerate(conditions):
            lo, hi = ranges.get(f, (None, None))
            if counted[f"bad{j}"]:
                rows = _first(raw, bad, value[f].alias("v"))
                lines.append(
                    implausible_line(f, counted[f"bad{j}"], lo, hi, rows[0]["v"], _positions(rows))
                )
            if counted[f"extreme{j}"]:
                rows = _first(raw, extreme, value[f].alias("v"))
                median = float(stats[f"q{j}"][1])
                lines.append(
                    extreme_line(f, counted[f"extreme{j}"], rows[0]["v"], median, _positions(rows))
                )
        flagged = np.array([], dtype=np.int64)
        if lines and config.outliers != "keep":
            any_flag = F.lit(False)
            for _, bad, extreme in conditions:
                any_flag = any_flag | bad | extreme
            flagged = np.sort(
                np.array([int(r[ROW]) for r in raw.filter(any_flag).select(ROW).collect()])
            ).astype(np.int64)
            if config.outliers == "exclude" and left_out is None:
                left_out = (len(flagged), "implausible or extreme value (--outliers exclude)")

        medians = {f: float(stats[f"q{j}"][1]) for j, f in enumerate(features)}
        present = np.array([int(stats[f"present{j}"]) for j in range(len(features))])
        impute_values, imputed, warns, left_out = _missing(
            raw, value, features, n, n - present, medians, config, repairs, left_out
        )
        repairs.extend(outlier_note(line, config.outliers) for line in lines)

        if config.features is None:
            _check_default_features(stats, features, modes, n, head_rows, engine)
        for j, f in enumerate(features):
            if stats[f"min{j}"] == stats[f"max{j}"]:
                raise DataError(constant_message(f, stats[f"min{j}"]))

    return RowChecks(
        n_rows=n,
        log_features=tuple(log_flags),
        transformed=transformed,
        impute_values=impute_values,
        imputed=imputed,
        repairs=tuple(repairs),
        warnings=tuple(warns),
        flagged_rows=flagged,
        left_out=left_out,
    )


def _check_ids(
    raw: Any, id_column: str | None, *, given: bool, engine: str, head_rows: int
) -> None:
    """Empty and repeated ids over every row: the local error for ``--id``; a refusal for
    an id the head detected (every row would make it no id)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    if id_column is None:
        return
    c = F.col(_quote(id_column))
    dtype = raw.schema[id_column].dataType
    empty = c.isNull() | (
        F.isnan(c) if isinstance(dtype, (DoubleType, FloatType)) else F.lit(False)
    )
    rows = _first(raw, empty)
    if rows:
        positions = _positions(rows)
        if given:
            raise DataError(id_empty_message(id_column, positions))
        _refuse_id(id_column, "is " + id_empty_why(positions), engine, head_rows)
    repeated = raw.groupBy(c.alias("_id")).count().filter(F.col("count") > 1).select("_id")
    rows = (
        raw.join(repeated, c == F.col("_id"), "left_semi")
        .select(ROW, c.alias("v"))
        .orderBy(ROW)
        .limit(FIRST_ROWS)
        .collect()
    )
    if rows:
        positions = _positions(rows)
        if given:
            raise DataError(id_duplicate_message(id_column, rows[0]["v"], positions))
        _refuse_id(id_column, "has " + id_duplicate_why(rows[0]["v"], positions), engine, head_rows)


def _refuse_id(id_column: str, why: str, engine: str, head_rows: int) -> None:
    raise ConfigError(
        f"column {id_column!r} looks like an id in the first {head_rows:,} rows but {why}; "
        f"engine={engine!r} takes the id from those rows: fix the column and pass --id "
        f"{id_column!r}, or use --engine local"
    )


def _totals_row(raw: Any, n: int, types: dict[str, Any]) -> tuple[int, str] | None:
    """The last row as a totals row (its label, or the sums of the rows above)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, NumericType

    if n < 3:
        return None
    columns = [c for c in raw.columns if c != ROW]
    last_row = raw.filter(F.col(ROW) == n - 1).select(*map(_quote, columns)).first()
    numeric = [
        c
        for c in columns
        if isinstance(types[c], NumericType) and not isinstance(types[c], BooleanType)
    ]
    sums: dict[str, float] = {}
    if numeric:
        above = raw.filter(F.col(ROW) < n - 1)
        totals = above.agg(
            *[
                F.sum(F.when(~F.isnan(F.col(_quote(c))), F.col(_quote(c)))).alias(f"s{i}")
                for i, c in enumerate(numeric)
            ]
        ).first()
        sums = {c.strip(): float(totals[f"s{i}"] or 0.0) for i, c in enumerate(numeric)}
    last = {c.strip(): last_row[i] for i, c in enumerate(columns)}
    reason = totals_reason(last, sums)
    return None if reason is None else (1, f"totals row ({reason})")


def _distinct_first(raw: Any, value: Any) -> int:
    """Distinct values among a feature's first :data:`DISTINCT_PROBE` values in row order."""
    from pyspark.sql import functions as F

    first = (
        raw.filter(value.isNotNull() & ~value.isin(float("inf"), float("-inf")))
        .select(ROW, value.alias("v"))
        .orderBy(ROW)
        .limit(DISTINCT_PROBE)
    )
    return int(first.agg(F.countDistinct("v")).first()[0])


def _missing(
    raw: Any,
    value: dict[str, Any],
    features: Sequence[str],
    n: int,
    missing: np.ndarray,
    medians: dict[str, float],
    config: SegmentationConfig,
    repairs: list[str],
    left_out: tuple[int, str] | None,
) -> tuple[dict[str, float], dict[str, int], list[str], tuple[int, str] | None]:
    """``--missing`` over every row (handle_missing's rule): the fill values, the cells
    filled, the warnings, and the customers it would leave out."""
    from pyspark.sql import functions as F

    share = missing / max(n, 1)
    if config.missing == "error" and missing.any():
        j = int(np.flatnonzero(missing)[0])
        rows = _first(raw, value[features[j]].isNull())
        raise DataError(empty_values_message(features[j], int(missing[j]), _positions(rows)))
    if config.missing == "impute":
        fill = missing > 0
    elif config.missing == "auto":
        fill = (missing > 0) & (share <= MAX_EMPTY_SHARE)
    else:
        fill = np.zeros(len(features), dtype=bool)
    imputed: dict[str, int] = {}
    warns: list[str] = []
    for j, f in enumerate(features):
        if fill[j]:
            imputed[f] = int(missing[j])
            repairs.append(filled_note(f, imputed[f], medians[f]))
    for i in (int(x) for x in np.flatnonzero(fill & (share > FILL_WARNING_SHARE))):
        f = features[i]
        warns.append(filled_warning(f, share[i], imputed[f], medians[f]))
    gaps = [j for j in range(len(features)) if missing[j] and not fill[j]]
    if gaps and left_out is None:
        any_gap = F.lit(False)
        for j in gaps:
            any_gap = any_gap | value[features[j]].isNull()
        n_out = raw.filter(any_gap).count()
        first = (
            raw.filter(any_gap)
            .select(
                ROW, *[value[features[j]].isNull().alias(f"g{j}") for j in range(len(features))]
            )
            .orderBy(ROW)
            .first()
        )
        pattern = np.array([[bool(first[f"g{j}"]) and j in gaps for j in range(len(features))]])
        left_out = (int(n_out), str(missing_reasons(pattern, list(features))[0]))
    return dict(medians), imputed, warns, left_out


def _head_modes(head: PreparedData) -> dict[str, float | None]:
    """Each feature's commonest value in the head (its near-constant candidate)."""
    modes: dict[str, float | None] = {}
    for j, f in enumerate(head.features):
        col = head.X[:, j]
        values, counts = np.unique(col[np.isfinite(col)], return_counts=True)
        modes[f] = float(values[counts.argmax()]) if len(values) else None
    return modes


def _check_default_features(
    stats: Any,
    features: Sequence[str],
    modes: dict[str, float | None],
    n: int,
    head_rows: int,
    engine: str,
) -> None:
    """Refuse a default feature that every row would leave out (more than 30% empty, or
    near-constant) although the head kept it."""
    for j, f in enumerate(features):
        present = int(stats[f"present{j}"])
        empty = 1 - present / max(n, 1)
        why = None
        if empty > MAX_EMPTY_SHARE:
            why = f"is {empty:.0%} empty (more than {MAX_EMPTY_SHARE:.0%})"
        elif modes.get(f) is not None and present:
            top = stats[f"mode{j}"] / present
            if top >= NEAR_CONSTANT_SHARE:
                why = f"is near-constant ({top:.0%} of customers have {modes[f]:g})"
        if why:
            raise ConfigError(
                f"feature {f!r} {why} in all {n:,} rows, which the first {head_rows:,} rows "
                f"did not show; engine={engine!r} chooses the features from those rows: fill "
                f"it in, leave it out with --ignore {f!r}, or use --engine local"
            )
