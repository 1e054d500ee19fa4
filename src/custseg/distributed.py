"""Segmenting with a distributed data engine (``engine="spark"``): reading and checking.

The input is read by the engine (a Parquet or CSV path, or any URI Spark reads). The
columns, the id and the validation rules are the same local code as ``engine="local"``
(:func:`custseg.data.prepare.prepare`); then the pipeline hands the engine's handle to
:func:`custseg.pipeline.segment_prepared`, which runs the passes over all customers
(column statistics for the scaling, the k-selection sample, the final Lloyd iterations
and the assignment) on the engine.

Validation: the driver reads the head of the file (at most :data:`DRIVER_SAMPLE` rows).
A table no longer than that is checked there entirely by the local rules. For a longer one
the head decides the columns, the id, the roles, kinds and categories (with the local
rules), and the engine applies the rules that depend on every row as aggregates
(:mod:`custseg.engines.spark_rules`), with the same messages and stated repairs.

This step still profiles the segments and writes the report on the driver, so the
features, ids and categories of every customer come there: at most :data:`DRIVER_LIMIT`
customers. It also refuses, with the option to change, what the engine does not do yet:
hierarchical clustering, left-out rows and derived features (the engine fills empty cells
with the chosen medians and log-transforms skewed amounts as it reads; atypical customers
are kept out of its fitting passes).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import SegmentationConfig
from .data.prepare import ROW_RULE_NOTES, PreparedData, _ids_text, missing_reasons, prepare
from .engines.contract import CustomerData, get_data_engine
from .errors import ConfigError, DataError

#: Most customers a distributed run brings to the driver for profiles and the report.
DRIVER_LIMIT = 2_000_000
#: Rows at the head of the file the driver reads to decide the columns (all of a shorter
#: table). The head, not a seeded sample: its rows are the file's first, so an error the
#: local rules find there names the first offending rows of the whole file; what every row
#: decides (medians, quartiles, skewness, ids, gaps) the engine recomputes from every row.
DRIVER_SAMPLE = 100_000


def prepare_on_engine(data: Any, config: SegmentationConfig) -> tuple[PreparedData, CustomerData]:
    """The validated table (on the driver) and the engine's handle to the same customers.

    Raises
    ------
    ConfigError
        When the engine is not installed, the input is not a path, or the run needs
        something the engine does not do yet (the message names the option to change).
    DataError
        When the table is larger than :data:`DRIVER_LIMIT` or fails validation.
    """
    name = config.engine
    if not isinstance(data, (str, Path)):
        raise ConfigError(
            f"engine={name!r} reads the customers itself: pass the path of a Parquet or CSV "
            f"file (or a URI Spark reads), not a {type(data).__name__}"
        )
    if config.method != "kmeans":
        raise ConfigError(
            f"engine={name!r} runs k-means only for now; use --method kmeans or --engine local"
        )
    for option, value in (("previous", config.previous), ("sample", config.sample)):
        if value is not None:
            raise ConfigError(f"--{option} is not supported with engine={name!r} yet")
    engine = get_data_engine(name)
    head = engine.read_table(data, limit=DRIVER_SAMPLE + 1)  # type: ignore[attr-defined]
    fmt = "csv" if str(data).lower().endswith((".csv", ".txt")) else "parquet"
    if head.num_rows <= DRIVER_SAMPLE:  # the whole table: the local rules, exactly
        prepared = prepare(head.to_pandas(), config, source=str(data), file_format=fmt)
        _check_supported(prepared, name)
    else:
        prepared = _prepare_every_row(engine, data, head.slice(0, DRIVER_SAMPLE), config, fmt)
    handle = engine.read(
        data,
        features=prepared.features,
        id_column=prepared.summary.id_column,
        log=prepared.log_features or None,  # the skewed amounts --transform logs
        fill=prepared.impute_values or None,  # the medians --missing filled in with
    )
    return prepared, handle


def _prepare_every_row(
    engine: Any, data: str | Path, head: Any, config: SegmentationConfig, fmt: str
) -> PreparedData:
    """The validated table when it is longer than :data:`DRIVER_SAMPLE` rows: the head's
    decisions, the engine's rules of every row, then every customer's features, id and
    categories on the driver (bounded by :data:`DRIVER_LIMIT`)."""
    name = config.engine
    first = prepare(head.to_pandas(), config, source=str(data), file_format=fmt)
    _check_supported(first, name)
    check_rows = getattr(engine, "check_rows", None)
    if check_rows is None:
        raise ConfigError(
            f"engine={name!r} cannot check the rows of a table longer than "
            f"{DRIVER_SAMPLE:,} rows; use --engine local"
        )
    checks = check_rows(data, first, config, head_rows=head.num_rows)
    if checks.left_out is not None:
        count, reason = checks.left_out
        raise _left_out_error(count, reason, name)
    n = checks.n_rows
    if n > DRIVER_LIMIT:
        raise DataError(
            f"{data} has more than {DRIVER_LIMIT:,} customers; engine={name!r} still "
            "profiles the segments on this computer, so it is limited to that many for now"
        )
    summary = first.summary
    features = first.features
    columns = engine.read(
        data,
        features=features,
        id_column=summary.id_column,
        categories=summary.categorical,
    ).to_numpy()
    X = np.column_stack([np.asarray(columns[f], dtype=np.float64) for f in features])
    X = X.reshape(n, len(features))
    # --missing: the cells the engine counted, filled with the medians it computed.
    fill = np.array([f in checks.imputed for f in features])
    gaps = np.isnan(X) & fill[None, :]
    imputed_rows = np.full(n, "", dtype=object)
    rows = gaps.any(axis=1)
    if rows.any():
        reasons = missing_reasons(gaps[rows], features)
        imputed_rows[rows] = [r.replace("missing value in ", "") for r in reasons]
        for j, f in enumerate(features):
            X[gaps[:, j], j] = checks.impute_values[f]
    atypical = np.zeros(n, dtype=bool)
    if config.outliers == "flag":
        atypical[checks.flagged_rows] = True
    fitted = ~atypical
    # Nothing atypical (or too much to call it atypical): fit on all, as prepare does.
    fit_rows = None if fitted.all() or fitted.sum() < max(2, 0.5 * n) else fitted
    row_flags = pd.DataFrame(index=range(n))
    if rows.any():
        row_flags["imputed"] = imputed_rows
    if fit_rows is not None:
        row_flags["atypical"] = atypical
    cats = list(summary.categorical)
    repairs = [r for r in summary.repairs if not r.startswith(ROW_RULE_NOTES)]
    return replace(
        first,
        X=X,
        used=np.ones(n, dtype=bool),
        ids=(
            _ids_text(pd.Series(columns[summary.id_column]))
            if summary.id_column is not None
            else pd.Series(np.arange(1, n + 1).astype(str))
        ),
        left_out=pd.Series(np.full(n, "", dtype=object), dtype=object),
        categories=(
            pd.DataFrame({c: columns[c] for c in cats}) if cats else pd.DataFrame(index=range(n))
        ),
        impute_values=checks.impute_values,
        log_features=checks.log_features,
        fit_rows=fit_rows,
        row_flags=row_flags if len(row_flags.columns) else None,
        summary=replace(
            summary,
            n_rows=n,
            n_used=n,
            imputed=checks.imputed,
            repairs=(*repairs, *checks.repairs),
            transformed=checks.transformed,
            n_atypical=int(atypical.sum()) if fit_rows is not None else 0,
            warnings=checks.warnings,
        ),
    )


def _left_out_error(count: int, reason: str, name: str) -> ConfigError:
    return ConfigError(
        f"{count} customer(s) would be left out ({reason}); engine={name!r} needs "
        "every row usable for now: clean the file or use --engine local"
    )


def _check_supported(prepared: PreparedData, name: str) -> None:
    """A clear error for the validation outcomes the engine cannot reproduce yet."""
    left_out = int((~prepared.used).sum())
    if left_out:
        reason = next(r for r in prepared.left_out if r)
        raise _left_out_error(left_out, reason, name)
    if prepared.derivations:
        raise ConfigError(
            f"derived features are not supported with engine={name!r} yet; use --engine local"
        )
