"""The fitted model: everything needed to assign new customers, as versioned JSON.

No pickle anywhere: loading a model reads numbers and strings, never code.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, ModelError
from ..features.scaling import Scaler
from ..json_values import json_safe, json_text
from .schema import FORMAT, FORMAT_VERSION, content_checksum, validate_model_document

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
class ColumnCheck:
    """How the columns of new data meet the model: what is ignored, which id is used."""

    extra: tuple[str, ...]
    id_column: str | None


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
    lineage: dict[str, Any] | None = None

    @property
    def k(self) -> int:
        return len(self.segments)

    @property
    def segment_ids(self) -> np.ndarray:
        """Segment id of each row of ``centres`` (1..k fresh; kept ids with --previous)."""
        return np.array([s.id for s in self.segments], dtype=np.int64)

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Columns of new data the model reads: its features, or the inputs of derived ones."""
        derived = self.extra.get("derived") or {}
        out: list[str] = []
        for f in self.features:
            out.extend(_inputs(derived[f]) if f in derived else [f])
        return tuple(dict.fromkeys(out))

    # -- assigning ------------------------------------------------------------------
    def check_columns(self, columns: list[str]) -> ColumnCheck:
        """Compare the columns of new data with the model's features.

        Raises :class:`ModelError` for a missing feature (suggesting close names);
        returns the columns that will be ignored.
        """
        from ..data.prepare import suggest

        names = [str(c).strip() for c in columns]
        dupes = sorted({n for n in names if names.count(n) > 1} & {*self.features, self.id_column})
        if dupes:
            raise ModelError(
                f"the data has two columns named {dupes[0]!r}; rename one so every column "
                "name is unique (custseg cannot know which one the model should use)"
            )
        derived = self.extra.get("derived") or {}
        absent = [
            f
            for f in self.features
            if f not in names and not (f in derived and set(_inputs(derived[f])) <= set(names))
        ]
        if absent:
            f = absent[0]
            more = f" (and {len(absent) - 1} more)" if len(absent) > 1 else ""
            raise ModelError(
                f"the data has no column {f!r}{more}, which the model was trained on"
                f"{suggest(f, names)}; the model needs: {', '.join(self.features)}"
            )
        used = {*self.features, self.id_column, *self.input_columns}
        extra = tuple(c for c in names if c not in used)
        id_column = self.id_column if self.id_column in names else None
        return ColumnCheck(extra=extra, id_column=id_column)

    def assign(self, frame: pd.DataFrame, *, row_offset: int = 0) -> pd.DataFrame:
        """Assign customers in ``frame`` to segments.

        Parameters
        ----------
        frame : DataFrame
            New customers; it needs every feature of the model (other columns
            are ignored, see :meth:`check_columns`).
        row_offset : int
            Rows before this frame in its file (streaming in chunks): row
            numbers in messages and the ``row`` column count from there.

        Returns
        -------
        DataFrame
            One row per input row: the id column (or ``row``, 1-based),
            ``segment``, ``segment_name``, ``distance`` (to the segment centre,
            in scaled units), ``atypical`` (distance above the segment's 99th
            percentile in training) and ``left_out_reason`` (rows that cannot
            be assigned under the model's missing-value policy).

        Examples
        --------
        >>> load_model("result/model.json").assign(new_customers)  # doctest: +SKIP
        """
        frame = self._with_derived(frame.set_axis([str(c).strip() for c in frame.columns], axis=1))
        check = self.check_columns(list(frame.columns))
        n = len(frame)
        X = self._feature_matrix(frame, row_offset)
        ok, index, dist, atypical, reasons = self.assign_matrix(X, row_offset=row_offset)
        segment_ids = self.segment_ids
        names = np.array([s.name for s in self.segments], dtype=object)
        if check.id_column:
            ids = frame[check.id_column].astype(str).to_numpy()
        else:
            ids = np.arange(row_offset + 1, row_offset + n + 1).astype(str)
        return pd.DataFrame(
            {
                check.id_column or "row": ids,
                "segment": pd.Series(segment_ids[index], dtype="Int64").mask(~ok),
                "segment_name": np.where(ok, names[index], ""),
                "distance": np.round(dist, 6),
                "atypical": pd.Series(atypical, dtype="boolean").mask(~ok),
                "left_out_reason": reasons,
            }
        )

    def assign_matrix(
        self, X: np.ndarray, *, row_offset: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The core of :meth:`assign` on a float64 matrix of the model's features (raw units).

        Returns ``ok`` (assigned), ``index`` (row of the segment in ``segments``; 0 where not
        ok), ``dist`` (NaN where not ok), ``atypical`` and ``reasons`` (text, "" where ok).
        Missing values follow the model's policy (``X`` is imputed in place).
        """
        from ..engines import get_engine

        n = len(X)
        X, reasons = self._missing_policy(X, row_offset)
        ok = reasons == ""
        index = np.zeros(n, dtype=np.int64)
        dist = np.full(n, np.nan)
        if ok.all():
            index, dist = get_engine("local").assign(self.scaler.transform(X), self.centres)
        elif ok.any():
            index[ok], dist[ok] = get_engine("local").assign(
                self.scaler.transform(X[ok]), self.centres
            )
        limits = np.array([s.distance["p99"] for s in self.segments])
        # Relative tolerance: a training member exactly at the p99 is not atypical.
        atypical = dist > limits[index] * (1 + 1e-9) + 1e-12
        return ok, index, dist, atypical, reasons

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Segment id of each row (0 where a row cannot be assigned)."""
        return self.assign(frame)["segment"].fillna(0).to_numpy(dtype=np.int64)

    def feature_rows(
        self, frame: pd.DataFrame, *, row_offset: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """The model's features of each row of ``frame``, unscaled, under its missing policy.

        Returns
        -------
        X : ndarray of shape (n_rows, n_features)
            Float values in the order of ``features``; gaps imputed when the
            policy is ``"impute"``, left as NaN when it is ``"drop"``.
        left_out_reason : ndarray of str, shape (n_rows,)
            Empty for rows that can be assigned, else why not.
        """
        frame = self._with_derived(frame)
        return self._missing_policy(self._feature_matrix(frame, row_offset), row_offset)

    def _with_derived(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the model's derived features (e.g. age from a birth year) added."""
        if not self.extra.get("derived"):
            return frame
        from ..data.rules import apply_derivations

        return apply_derivations(frame, self.extra["derived"])

    def _feature_matrix(self, frame: pd.DataFrame, row_offset: int) -> np.ndarray:
        X = np.empty((len(frame), len(self.features)), dtype=np.float64)
        for j, f in enumerate(self.features):
            X[:, j] = _numeric_column(frame[f], f, row_offset)
        return X

    def _missing_policy(self, X: np.ndarray, row_offset: int) -> tuple[np.ndarray, np.ndarray]:
        """Refuse infinite values; impute, flag or refuse gaps by the model's policy."""
        from ..data.prepare import rows_list

        n = len(X)
        inf = np.isinf(X)
        if inf.any():
            i, j = np.argwhere(inf)[0]
            raise DataError(
                f"feature {self.features[j]!r} has an infinite value in row {row_offset + i + 1}; "
                "replace it with a real number or leave the cell empty"
            )
        missing = np.isnan(X)
        reasons = np.full(n, "", dtype=object)
        if missing.any():
            if self.missing == "error":
                j = int(np.flatnonzero(missing.any(axis=0))[0])
                pos = np.flatnonzero(missing[:, j])
                raise DataError(
                    f"feature {self.features[j]!r} has empty values "
                    f"({rows_list(pos + row_offset)}) and the model's missing-value policy is "
                    "'error'; fill them in"
                )
            if self.missing == "impute":
                for j, f in enumerate(self.features):
                    X[missing[:, j], j] = self.impute_values[f]
            else:
                for i in np.flatnonzero(missing.any(axis=1)):
                    cols = [self.features[j] for j in np.flatnonzero(missing[i])]
                    reasons[i] = "missing value in " + ", ".join(f"'{c}'" for c in cols)
        return X, reasons

    def to_dict(self) -> dict[str, Any]:
        """The ``model.json`` document (see docs/model-format.md)."""
        doc = json_safe(
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
                **({"lineage": self.lineage} if self.lineage else {}),
                **({"extra": self.extra} if self.extra else {}),
            }
        )
        doc["checksum"] = content_checksum(doc)
        return doc

    def to_json(self) -> str:
        return json_text(self.to_dict())

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON (atomically)."""
        from ..outputs.atomic import atomic_write_text

        atomic_write_text(path, self.to_json())
        return Path(path)

    @classmethod
    def from_dict(cls, doc: dict[str, Any], source: str = "<dict>") -> SegmentModel:
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
            lineage=dict(doc["lineage"]) if doc.get("lineage") else None,
        )


# Far above any model custseg writes (centres and names of a few thousand features).
MAX_MODEL_BYTES = 256 * 2**20


def _inputs(recipe: dict[str, Any]) -> list[str]:
    """Columns a derived feature is computed from (see custseg.data.rules.apply_derivations)."""
    if "sum" in recipe:
        return [str(c) for c in recipe["sum"]]
    return [str(recipe.get("from_birth_year") or recipe.get("months_since"))]


def load_model(path: str | Path) -> SegmentModel:
    """Load a model saved by custseg; a clear :class:`ModelError` for anything else.

    Loading reads JSON numbers and strings only: a pickle is recognised and
    refused without being run, and the document is checked against the JSON
    Schema shipped with custseg, its checksum and its internal consistency.

    Examples
    --------
    >>> model = load_model("result/model.json")  # doctest: +SKIP
    >>> model.assign(new_customers)  # doctest: +SKIP
    """
    p = Path(path)
    if not p.is_file():
        hint = " (name the model.json inside it)" if p.is_dir() else ""
        raise ModelError(f"model file '{p}' does not exist{hint}")
    if p.stat().st_size > MAX_MODEL_BYTES:
        raise ModelError(
            f"'{p}' is {p.stat().st_size:,} bytes; a custseg model is far smaller (at most "
            f"{MAX_MODEL_BYTES:,}), so this is not one"
        )
    raw = p.read_bytes()
    if not raw.strip():
        raise ModelError(f"model file '{p}' is empty; save the model again with custseg segment")
    if _is_pickle(raw):
        raise ModelError(
            f"'{p}' is a Python pickle, not a custseg model; custseg never loads pickles "
            "because they can run code"
        )
    from .._bounded import NestingError, loads_bounded

    try:
        doc = loads_bounded(raw.decode("utf-8"), parse_constant=_reject_constant)
    except NestingError as exc:
        raise ModelError(f"'{p}' is not a custseg model ({exc})") from None
    except UnicodeDecodeError:
        raise ModelError(f"'{p}' is not a custseg model (not UTF-8 JSON text)") from None
    except json.JSONDecodeError as exc:
        # A model document is one JSON object: text that stops before its closing
        # brace was cut off (a partial download or copy).
        end = not raw.decode("utf-8").rstrip().endswith("}")
        raise ModelError(
            f"'{p}' is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            + ("; the file is truncated" if end else "")
        ) from None
    except ValueError as exc:
        raise ModelError(f"'{p}' holds {exc}, which a custseg model never does") from None
    return SegmentModel.from_dict(doc, str(p))


def _is_pickle(raw: bytes) -> bool:
    """True when ``raw`` is a pickle stream; decided by parsing opcodes, never by running them."""
    if raw[:1] == b"\x80":  # protocol 2+ header
        return True
    if raw[:1] in (b"{", b"[") or not raw[:1]:
        return False
    import pickletools

    try:
        ops = list(pickletools.genops(raw))
    except Exception:  # not a pickle: any parse failure
        return False
    return bool(ops) and ops[-1][0].name == "STOP"


def _numeric_column(col: pd.Series, name: str, row_offset: int) -> np.ndarray:
    """A feature column as float64, with file-wide row numbers in errors."""
    from ..data.numbers import coerce_numeric

    try:
        values, _ = coerce_numeric(col, name, strict=True)
        assert values is not None  # strict never returns None
        return values
    except DataError:
        # The loader's message suggests --features, which assigning has not: say it here.
        if pd.api.types.is_bool_dtype(col):
            raise DataError(
                f"feature {name!r} holds true/false values; the model was trained on numbers "
                "in this column"
            ) from None
    # Find the first bad cell so the message counts rows from the start of the file.
    values = col.astype(object).to_numpy()
    suspects = np.flatnonzero(pd.to_numeric(col, errors="coerce").isna().to_numpy())
    for i in suspects:
        try:
            coerce_numeric(pd.Series([values[i]], dtype=object), name, strict=True)
        except DataError:
            raise DataError(
                f"feature {name!r} has text where a number is expected: row "
                f"{row_offset + i + 1} is {str(values[i])!r}; fix the value (the model was "
                "trained on numbers in this column)"
            ) from None
    raise DataError(f"feature {name!r} has values that are not numbers")  # pragma: no cover


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
