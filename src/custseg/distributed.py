"""Segmenting with a distributed data engine (``engine="spark"``): reading and checking.

The input is read by the engine (a Parquet or CSV path, or any URI Spark reads). The
columns, the id and every validation rule are decided by the same local code as
``engine="local"`` (:func:`custseg.data.prepare.prepare`), run on the table as Spark
read it; then the pipeline hands the engine's handle to
:func:`custseg.pipeline.segment_prepared`, which runs the passes over all customers
(column statistics for the scaling, the k-selection sample, the final Lloyd iterations
and the assignment, or the micro-clusters of hierarchical clustering) on the engine.

This first step keeps the profiles, names and report on the driver, so the table must
fit there: at most :data:`DRIVER_LIMIT` customers. It also refuses, with the option to
change, what the engine does not do yet: left-out rows (the engine fills empty cells
with the chosen medians and log-transforms skewed amounts as it reads; atypical customers
are kept out of its fitting passes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import SegmentationConfig
from .data.prepare import PreparedData, prepare
from .engines.contract import CustomerData, get_data_engine
from .errors import ConfigError, DataError

#: Most customers a distributed run brings to the driver for profiles and the report.
DRIVER_LIMIT = 2_000_000


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
    for option, value in (("previous", config.previous), ("sample", config.sample)):
        if value is not None:
            raise ConfigError(f"--{option} is not supported with engine={name!r} yet")
    engine = get_data_engine(name)
    table = engine.read_table(data, limit=DRIVER_LIMIT + 1)  # type: ignore[attr-defined]
    if table.num_rows > DRIVER_LIMIT:
        raise DataError(
            f"{data} has more than {DRIVER_LIMIT:,} customers; engine={name!r} still "
            "profiles the segments on this computer, so it is limited to that many for now"
        )
    fmt = "csv" if str(data).lower().endswith((".csv", ".txt")) else "parquet"
    prepared = prepare(table.to_pandas(), config, source=str(data), file_format=fmt)
    _check_supported(prepared, name)
    handle = engine.read(
        data,
        features=prepared.features,
        id_column=prepared.summary.id_column,
        log=prepared.log_features or None,  # the skewed amounts --transform logs
        fill=prepared.impute_values or None,  # the medians --missing filled in with
    )
    return prepared, handle


def _check_supported(prepared: PreparedData, name: str) -> None:
    """A clear error for the validation outcomes the engine cannot reproduce yet."""
    left_out = int((~prepared.used).sum())
    if left_out:
        reason = next(r for r in prepared.left_out if r)
        raise ConfigError(
            f"{left_out} customer(s) would be left out ({reason}); engine={name!r} needs "
            "every row usable for now: clean the file or use --engine local"
        )
    if prepared.derivations:
        raise ConfigError(
            f"derived features are not supported with engine={name!r} yet; use --engine local"
        )
