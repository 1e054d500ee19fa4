"""Segmenting with a distributed data engine (``engine="spark"``): reading and checking.

The input is read by the engine (a Parquet or CSV path, or any URI Spark reads). The
columns, the id and the validation rules are the same local code as ``engine="local"``
(:func:`custseg.data.prepare.prepare`); then the pipeline hands the engine's handle to
:func:`custseg.pipeline.segment_prepared`, which runs the passes over all customers
(column statistics for the scaling, the k-selection sample, the final Lloyd iterations
and the assignment, or the micro-clusters of hierarchical clustering) on the engine.

Validation: the driver reads the head of the file (at most :data:`DRIVER_SAMPLE` rows).
A table no longer than that is checked there entirely by the local rules. For a longer one
the head decides the columns, the id, the roles, kinds and categories (with the local
rules), and the engine applies the rules that depend on every row as aggregates
(:mod:`custseg.engines.spark_rules`), with the same messages and stated repairs.

A table no longer than the head comes to the driver entirely (as with ``engine="local"``).
For a longer one nothing of size n does: the driver gets the head, the engine's seeded
sample of the fitted customers (``SWEEP_SAMPLE``, in original units) that k is chosen
on, and k-sized aggregates (with ``--method hierarchical``, the micro-clusters' sums:
Ward runs here on them, and the engine gives each customer its micro-cluster's segment);
profiles come from those aggregates (:mod:`custseg.engines.spark_profile`), and the
per-customer segments are written by the engine as a Parquet folder (``assignments/`` of
the result folder; the result's ``labels`` are empty).

This step refuses, with the option to change, what the engine does not do yet: left-out
rows and derived features (the engine fills empty cells with the chosen medians and
log-transforms skewed amounts as it reads; atypical customers are kept out of its fitting
passes).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import SegmentationConfig
from .data.prepare import ROW_RULE_NOTES, PreparedData, ids_text, prepare
from .engines.contract import CustomerData, get_data_engine
from .errors import ConfigError
from .pipeline import SWEEP_SAMPLE

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
        When the table fails validation.
    """
    name = config.engine
    if not isinstance(data, (str, Path)):
        raise ConfigError(
            f"engine={name!r} reads the customers itself: pass the path of a Parquet or CSV "
            f"file (or a URI Spark reads), not a {type(data).__name__}"
        )
    for option, value in (("previous", config.previous), ("sample", config.sample)):
        if value is not None:
            raise ConfigError(f"--{option} is not supported with engine={name!r} yet")
    engine = get_data_engine(name)
    head = engine.read_table(data, limit=DRIVER_SAMPLE + 1)  # type: ignore[attr-defined]
    fmt = "csv" if str(data).lower().endswith((".csv", ".txt")) else "parquet"
    if head.num_rows > DRIVER_SAMPLE:
        return _prepare_every_row(engine, data, head.slice(0, DRIVER_SAMPLE), config, fmt)
    # The whole table: the local rules, exactly.
    prepared = prepare(head.to_pandas(), config, source=str(data), file_format=fmt)
    _check_supported(prepared, name)
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
) -> tuple[PreparedData, CustomerData]:
    """The validated sample and the engine's handle when the table is longer than
    :data:`DRIVER_SAMPLE` rows: the head's decisions, the engine's rules of every row, and
    only the seeded sample of k-selection on the driver (``n_total`` set; see
    :func:`custseg.pipeline.segment_prepared`)."""
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
    summary = first.summary
    features = first.features
    # Only the features with empty cells (no-ops elsewhere): the 'imputed' column is
    # written when some were filled, as locally.
    fill = {f: checks.impute_values[f] for f in features if f in checks.imputed} or None
    atypical = np.zeros(0, dtype=np.int64)
    if config.outliers == "flag":
        atypical = np.asarray(checks.flagged_rows, dtype=np.int64)
    # Nothing atypical (or too much to call it atypical): fit on all, as prepare does.
    if len(atypical) and n - len(atypical) < max(2, 0.5 * n):
        atypical = atypical[:0]
    # The customers stay on the engine; the driver gets the seeded sample of the fitted
    # ones that k is chosen on, in original units (read without the log: the same rows,
    # since the sample's keys depend on the row numbers only).
    plain = engine.read(data, features=features, id_column=summary.id_column, fill=fill)
    if len(atypical):
        plain = plain.without_rows(atypical)
    sample = plain.sample(SWEEP_SAMPLE, seed=config.seed)
    m = len(sample.rows)
    handle = engine.read(
        data,
        features=features,
        id_column=summary.id_column,
        categories=summary.categorical,
        log=checks.log_features or None,
        fill=fill,
        raw=True,  # original units for the profiles
    )
    repairs = [r for r in summary.repairs if not r.startswith(ROW_RULE_NOTES)]
    prepared = replace(
        first,
        X=np.asarray(sample.X, dtype=np.float64),
        used=np.ones(m, dtype=bool),
        ids=(
            ids_text(pd.Series(sample.ids))
            if summary.id_column is not None and sample.ids is not None
            else pd.Series((sample.rows + 1).astype(str))
        ),
        left_out=pd.Series(np.full(m, "", dtype=object), dtype=object),
        categories=pd.DataFrame(index=range(m)),
        impute_values=checks.impute_values,
        log_features=checks.log_features,
        fit_rows=None,
        row_flags=None,
        n_total=n,
        atypical_rows=atypical if len(atypical) else None,
        summary=replace(
            summary,
            n_rows=n,
            n_used=n,
            imputed=checks.imputed,
            repairs=tuple(_in_folder(r) for r in (*repairs, *checks.repairs)),
            transformed=checks.transformed,
            n_atypical=len(atypical),
            warnings=tuple(_in_folder(w) for w in checks.warnings),
        ),
    )
    return prepared, handle


def _in_folder(text: str) -> str:
    """A statement about assignments.csv, for a run whose assignments Spark writes."""
    return text.replace("assignments.csv", "the assignments/ folder")


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
