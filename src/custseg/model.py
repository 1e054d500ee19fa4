"""The fitted model: everything needed to assign new customers, as versioned JSON.

No pickle anywhere: loading a model reads numbers and strings, never code.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError, ModelError
from .features.scaling import Scaler

FORMAT = "custseg-model"
FORMAT_VERSION = 1
ATYPICAL_QUANTILE = 0.99


@dataclass(frozen=True)
class SegmentInfo:
    """What the model knows of one segment."""

    id: int
    name: str
    levels: dict[str, str]
    centre: dict[str, float]
    recommendation: dict[str, Any]
    size: int
    distance: dict[str, float]


@dataclass(frozen=True)
class SegmentModel:
    """A fitted segmentation that assigns customers to segments.

    ``centres`` are in the scaled feature space, one row per segment in
    ``segments`` order. A customer goes to the nearest centre; it is flagged
    ``atypical`` when its distance exceeds the 99th percentile of the distances
    of that segment's training members.
    """

    features: tuple[str, ...]
    scaler: Scaler
    missing: str
    impute_values: dict[str, float]
    method: str
    linkage: str | None
    centres: np.ndarray
    segments: tuple[SegmentInfo, ...]
    id_column: str | None
    training: dict[str, Any]
    config: dict[str, Any]
    assignment_agreement: float | None = None
    custseg_version: str = ""
    created_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return len(self.segments)

    # -- assigning ------------------------------------------------------------------
    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Assign customers in ``frame`` to segments.

        Returns one row per input row with the id (or row number), ``segment``,
        ``segment_name``, ``distance`` (to the segment centre, in scaled units),
        ``atypical`` and ``left_out_reason`` (for rows that cannot be assigned).
        """
        from .data.numbers import coerce_numeric
        from .data.prepare import rows_list, suggest
        from .engines import get_engine

        columns = [str(c).strip() for c in frame.columns]
        frame = frame.set_axis(columns, axis=1)
        absent = [f for f in self.features if f not in frame.columns]
        if absent:
            f = absent[0]
            raise ModelError(
                f"the data has no column {f!r}, which the model was trained on"
                f"{suggest(f, columns)}; the model needs: {', '.join(self.features)}"
            )
        n = len(frame)
        X = np.column_stack(
            [coerce_numeric(frame[f], f, strict=True)[0] for f in self.features]
        ).reshape(n, len(self.features))
        inf = np.isinf(X)
        if inf.any():
            i, j = np.argwhere(inf)[0]
            raise DataError(f"feature {self.features[j]!r} has an infinite value in row {i + 1}")
        missing = np.isnan(X)
        reasons = np.full(n, "", dtype=object)
        if missing.any():
            if self.missing == "error":
                j = int(np.flatnonzero(missing.any(axis=0))[0])
                pos = np.flatnonzero(missing[:, j])
                raise DataError(
                    f"feature {self.features[j]!r} has empty values ({rows_list(pos)}) and the "
                    "model's missing-value policy is 'error'; fill them in"
                )
            if self.missing == "impute":
                for j, f in enumerate(self.features):
                    X[missing[:, j], j] = self.impute_values[f]
            else:
                for i in np.flatnonzero(missing.any(axis=1)):
                    cols = [self.features[j] for j in np.flatnonzero(missing[i])]
                    reasons[i] = "missing value in " + ", ".join(f"'{c}'" for c in cols)
        ok = reasons == ""
        labels = np.zeros(n, dtype=np.int64)
        dist = np.full(n, np.nan)
        if ok.any():
            lab, d = get_engine("local").assign(self.scaler.transform(X[ok]), self.centres)
            labels[ok] = lab + 1
            dist[ok] = d
        ids_col = self.id_column if self.id_column in frame.columns else None
        ids = frame[ids_col].astype(str).to_numpy() if ids_col else np.arange(1, n + 1).astype(str)
        names = {s.id: s.name for s in self.segments}
        limits = np.array([s.distance.get("p99", math.inf) for s in self.segments])
        atypical = np.zeros(n, dtype=bool)
        atypical[ok] = dist[ok] > limits[labels[ok] - 1] + 1e-12
        return pd.DataFrame(
            {
                ids_col or "row": ids,
                "segment": pd.array([v if v else pd.NA for v in labels], dtype="Int64"),
                "segment_name": [names.get(int(v), "") for v in labels],
                "distance": np.round(dist, 6),
                "atypical": pd.array(
                    [bool(a) if o else pd.NA for a, o in zip(atypical, ok)], dtype="boolean"
                ),
                "left_out_reason": reasons,
            }
        )

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Segment id of each row (0 where a row cannot be assigned)."""
        return self.assign(frame)["segment"].fillna(0).to_numpy(dtype=np.int64)

    # -- persistence ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return _json_safe(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "custseg_version": self.custseg_version,
                "created_at": self.created_at,
                "training": self.training,
                "id_column": self.id_column,
                "features": [{"name": f, "type": "number"} for f in self.features],
                "preprocessing": {
                    "scaler": self.scaler.to_dict(),
                    "missing": self.missing,
                    "impute_values": self.impute_values,
                },
                "method": self.method,
                "linkage": self.linkage,
                "k": self.k,
                "centres": self.centres.tolist(),
                "assignment": {
                    "rule": "nearest centre (Euclidean, scaled features)",
                    "atypical_quantile": ATYPICAL_QUANTILE,
                    "agreement_with_fit": self.assignment_agreement,
                },
                "segments": [
                    {
                        "id": s.id,
                        "name": s.name,
                        "size": s.size,
                        "levels": s.levels,
                        "centre": s.centre,
                        "recommendation": s.recommendation,
                        "distance": s.distance,
                    }
                    for s in self.segments
                ],
                "config": self.config,
                **({"extra": self.extra} if self.extra else {}),
            }
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON (atomically)."""
        from ._atomic import atomic_write_text

        atomic_write_text(path, self.to_json())
        return Path(path)

    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "<dict>") -> SegmentModel:
        from .model_schema import validate_model_document

        validate_model_document(doc, source)
        features = tuple(f["name"] for f in doc["features"])
        pre = doc["preprocessing"]
        centres = np.asarray(doc["centres"], dtype=np.float64)
        return cls(
            features=features,
            scaler=Scaler.from_dict(pre["scaler"]),
            missing=pre["missing"],
            impute_values={str(k): float(v) for k, v in (pre.get("impute_values") or {}).items()},
            method=doc["method"],
            linkage=doc.get("linkage"),
            centres=centres,
            segments=tuple(
                SegmentInfo(
                    id=int(s["id"]),
                    name=str(s["name"]),
                    levels=dict(s.get("levels", {})),
                    centre={k: float(v) for k, v in s.get("centre", {}).items()},
                    recommendation=dict(s.get("recommendation", {})),
                    size=int(s.get("size", 0)),
                    distance={k: float(v) for k, v in s.get("distance", {}).items()},
                )
                for s in doc["segments"]
            ),
            id_column=doc.get("id_column"),
            training=dict(doc.get("training", {})),
            config=dict(doc.get("config", {})),
            assignment_agreement=(doc.get("assignment") or {}).get("agreement_with_fit"),
            custseg_version=str(doc.get("custseg_version", "")),
            created_at=str(doc.get("created_at", "")),
            extra=dict(doc.get("extra", {})),
        )


def load_model(path: str | Path) -> SegmentModel:
    """Load a model saved by custseg; a clear :class:`ModelError` for anything else.

    Examples
    --------
    >>> model = load_model("result/model.json")  # doctest: +SKIP
    >>> model.assign(new_customers)  # doctest: +SKIP
    """
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"model file '{p}' does not exist")
    raw = p.read_bytes()
    if raw[:2] in (b"\x80\x03", b"\x80\x04", b"\x80\x05") or raw[:1] == b"\x80":
        raise ModelError(
            f"'{p}' is a Python pickle, not a custseg model; custseg never loads pickles "
            "because they can run code"
        )
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ModelError(f"'{p}' is not a custseg model (not UTF-8 JSON text)") from None
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"'{p}' is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "the file may be truncated"
        ) from None
    except ValueError as exc:
        raise ModelError(f"'{p}' holds {exc}, which a custseg model never does") from None
    return SegmentModel.from_dict(doc, str(p))


def _reject_constant(name: str) -> float:
    raise ValueError(f"the non-number {name}")


def fingerprint(X: np.ndarray, features: tuple[str, ...]) -> str:
    """SHA-256 of the training matrix and feature names (identifies the training data)."""
    h = hashlib.sha256()
    h.update("\x1f".join(features).encode("utf-8"))
    # In row blocks: the same bytes as hashing the whole float64 matrix, without a copy of it.
    for start in range(0, len(X), 1 << 16):
        h.update(np.ascontiguousarray(X[start : start + (1 << 16)], dtype=np.float64).data)
    return "sha256:" + h.hexdigest()


def created_timestamp() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (
        datetime.fromtimestamp(int(epoch), tz=UTC)
        if epoch and epoch.isdigit()
        else datetime.now(UTC)
    )
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return value
    return value
