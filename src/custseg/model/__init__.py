"""The fitted model and everything that uses it after a run.

* :mod:`.fitted`: :class:`SegmentModel` (scaler, centres, segment names and actions)
  and :func:`load_model`;
* :mod:`.schema`: the ``model.json`` format (JSON Schema, checksum, validation);
* :mod:`.assign`: assigning new customers from a file, in chunks (``custseg assign``);
* :mod:`.identity`: keeping segment ids and names across refits (``--previous``).
"""

from .fitted import (
    ATYPICAL_QUANTILE,
    MAX_MODEL_BYTES,
    ColumnCheck,
    SegmentInfo,
    SegmentModel,
    created_timestamp,
    fingerprint,
    load_model,
)
from .schema import content_checksum, model_schema

__all__ = [
    "ATYPICAL_QUANTILE",
    "MAX_MODEL_BYTES",
    "ColumnCheck",
    "SegmentInfo",
    "SegmentModel",
    "content_checksum",
    "created_timestamp",
    "fingerprint",
    "load_model",
    "model_schema",
]
