"""``segments.json`` read back into a typed :class:`~custseg.results.SegmentationResult`.

:meth:`SegmentationResult.to_dict` writes the document, :func:`result_from_dict`
(``SegmentationResult.from_dict``) reads it: the document is checked against
the JSON Schema shipped with custseg (``schemas/segments.schema.json``) and
against its ``model.json``, and every failure is one line naming the file and
the key. The report, the plots, the text summary and the app then read the
typed result only.
"""

from __future__ import annotations

import json
from dataclasses import fields
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .config import SegmentationConfig
from .errors import ConfigError, ReportError
from .results import (
    DataSummary,
    Dendrogram,
    FeatureStats,
    KCandidate,
    KSelection,
    Projection,
    Recommendation,
    Segment,
    SegmentationResult,
)

if TYPE_CHECKING:
    from .features.roles import ColumnRole
    from .model import SegmentModel
    from .model.identity import IdentityReport

SCHEMA_FILE = "segments.schema.json"
RERUN = "rerun custseg segment to rebuild it"
_JSON_TYPES = {
    "array": "a list",
    "object": "a mapping",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@lru_cache(maxsize=1)
def result_schema() -> dict[str, Any]:
    """The JSON Schema of ``segments.json``."""
    text = resources.files("custseg.schemas").joinpath(SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


def _role(d: dict[str, Any]) -> ColumnRole:
    from .features.roles import ColumnRole

    return ColumnRole(
        column=str(d["column"]),
        role=str(d["role"]),
        kind=str(d["kind"]),
        direction=str(d["direction"]),
        use=str(d["use"]),
        reason=str(d.get("reason") or ""),
        matched_by=str(d.get("matched_by") or "name"),
        position=d.get("position"),
    )


def _path_as_user_counts(path: list[Any]) -> str:
    """'segments.0.size' reads 'segments[1].size': list positions counted from 1."""
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate_result_document(doc: Any, file: str = "segments.json") -> None:
    """Raise :class:`ReportError` naming the first key of ``doc`` that breaks the schema."""
    if not isinstance(doc, dict):
        raise ReportError(f"{file} does not hold a JSON object; it is not a custseg result")
    import jsonschema

    validator = jsonschema.Draft202012Validator(result_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: (len(e.absolute_path), e.path))
    if not errors:
        return
    err = errors[0]
    where = _path_as_user_counts(list(err.absolute_path))
    if err.validator == "required":
        missing = err.message.split("'")[1]
        key = f"{where}.{missing}" if where else missing
        raise ReportError(f"{file} has no '{key}'; it is not a complete custseg result ({RERUN})")
    if err.validator == "type":
        wanted = (
            err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        )
        expected = " or ".join(_JSON_TYPES.get(str(t), str(t)) for t in wanted)
        raise ReportError(
            f"{file}: '{where}' should be {expected}, not {err.instance!r:.60}; {RERUN}"
        )
    raise ReportError(f"{file}: at '{where or '(top level)'}': {err.message}; {RERUN}")


def _check_same_run(doc: dict[str, Any], model: SegmentModel, features: tuple) -> None:
    """Refuse a segments.json and a model.json of different runs (same k is not enough).

    Both files hold each segment's id, size and centre; one run writes the same
    values into both (segments.json rounds to 10 significant digits).
    """
    mismatch = ReportError(
        "segments.json and model.json come from different runs (their segments differ); "
        "keep the files of one result folder together"
    )
    if sorted(map(str, features)) != sorted(map(str, model.features)):
        raise mismatch
    by_id = {info.id: info for info in model.segments}
    for seg in doc["segments"]:
        other = by_id.get(seg["id"])
        if other is None or seg["size"] != other.size:
            raise mismatch
        for f in model.features:
            a, b = seg["centre"].get(f), other.centre.get(f)
            if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
                raise mismatch
            if abs(a - b) > 1e-6 * max(1.0, abs(a), abs(b)):
                raise mismatch


def result_from_dict(
    doc: dict[str, Any],
    model: SegmentModel,
    *,
    file: str = "segments.json",
    validate: bool = True,
) -> SegmentationResult:
    """The typed result saved in ``doc`` (``segments.json``), with its fitted ``model``.

    Per-customer labels are not in ``segments.json`` (they are in
    ``assignments.csv``): the result's ``labels``, ``ids`` and ``left_out``
    are empty.

    Raises
    ------
    ReportError
        When ``doc`` breaks the schema, or it and ``model`` come from different runs.
    ``validate=False`` skips the schema check, for a document just made by
    :meth:`SegmentationResult.to_dict` (the tests check that those always pass it; the
    check takes most of a second for a document with a 5,000-customer map).
    """
    if validate:
        validate_result_document(doc, file)
    k = doc["k"]
    if len(doc["segments"]) != k:
        raise ReportError(f"{file}: k={k} but it lists {len(doc['segments'])} segments")
    if model.k != k:
        raise ReportError(
            f"model.json has k={model.k} but {file} has k={k}: they come from different "
            "runs; keep the files of one result folder together"
        )
    features = tuple(doc["features"])
    for f in features:
        if f not in doc["population"]:
            raise ReportError(f"{file}: 'population' has no statistics for feature '{f}'; {RERUN}")
    for s in doc["segments"]:
        for f in features:
            if f not in s["centre"]:
                raise ReportError(f"{file}: segment {s['id']} has no centre for feature '{f}'")
    _check_same_run(doc, model, features)
    data = doc["data"]
    projection = doc.get("projection")
    dendrogram = doc.get("dendrogram")
    return SegmentationResult(
        config=_config(doc),
        data=DataSummary(
            source=str(data["source"]),
            file_format=str(data.get("format", "")),
            n_rows=data["n_rows"],
            n_used=data["n_used"],
            dropped=dict(data.get("dropped") or {}),
            id_column=data.get("id_column"),
            features=tuple(data.get("features") or features),
            features_chosen_by=str(data.get("features_chosen_by") or "given"),
            categorical=tuple(data.get("categorical") or ()),
            ignored=dict(data.get("ignored") or {}),
            missing_policy=str(data.get("missing_policy") or doc.get("missing") or "drop"),
            imputed=dict(data.get("imputed") or {}),
            repairs=tuple(data.get("repairs") or ()),
            roles=tuple(_role(r) for r in data.get("roles") or ()),
            transformed=dict(data.get("transformed") or {}),
            n_atypical=int(data.get("n_atypical") or 0),
            warnings=tuple(data.get("warnings") or ()),
        ),
        k_selection=_k_selection(doc["k_selection"]),
        segments=tuple(_segment(s) for s in doc["segments"]),
        population={f: _stats(s) for f, s in doc["population"].items()},
        level_rule=str(doc.get("level_rule") or ""),
        labels=np.zeros(0, dtype=np.int64),
        assignments_file=str(doc.get("assignments") or "assignments.csv"),
        ids=pd.Series([], dtype=object),
        left_out=pd.Series([], dtype=object),
        model=model,
        projection=_projection(projection) if projection else None,
        dendrogram=(
            Dendrogram(
                linkage=np.asarray(dendrogram["linkage"], dtype=np.float64).reshape(-1, 4),
                cut_height=float(dendrogram["cut_height"]),
                n_leaves=int(dendrogram["n_leaves"]),
                leaf_counts=np.asarray(dendrogram["leaf_counts"], dtype=np.int64),
                truncated=bool(dendrogram["truncated"]),
            )
            if dendrogram
            else None
        ),
        warnings=tuple(str(w) for w in doc.get("warnings") or ()),
        identity=_identity(doc["identity"]) if doc.get("identity") else None,
        surrogate=dict(doc["surrogate"]) if isinstance(doc.get("surrogate"), dict) else None,
    )


def _config(doc: dict[str, Any]) -> SegmentationConfig:
    """The run's options; keys of newer versions are ignored, older files use the top level."""
    saved = doc.get("config") or {
        key: doc[key] for key in ("method", "scale", "missing", "seed") if key in doc
    }
    known = {f.name for f in fields(SegmentationConfig)}
    values = {key: value for key, value in saved.items() if key in known}
    if values.get("linkage") is None:
        values.pop("linkage", None)
    try:
        return SegmentationConfig(**values)
    except (ConfigError, TypeError) as exc:
        raise ReportError(f"segments.json: 'config' is not valid: {exc}; {RERUN}") from None


def _stats(d: dict[str, Any]) -> FeatureStats:
    def num(key: str) -> float:
        value = d.get(key)
        return float("nan") if value is None else float(value)

    return FeatureStats(
        mean=num("mean"), median=num("median"), min=num("min"), max=num("max"), std=num("std")
    )


def _k_selection(d: dict[str, Any]) -> KSelection:
    return KSelection(
        rule=str(d["rule"]),
        chosen=int(d["chosen"]),
        candidates=tuple(
            KCandidate(
                k=int(c["k"]),
                inertia=c.get("inertia"),
                silhouette=c.get("silhouette"),
                calinski_harabasz=c.get("calinski_harabasz"),
                davies_bouldin=c.get("davies_bouldin"),
                merge_gap=c.get("merge_gap"),
                gap=c.get("gap"),
                gap_se=c.get("gap_se"),
                stability=c.get("stability"),
            )
            for c in d["candidates"]
        ),
        preferred=dict(d["preferred"]),
        agree=bool(d.get("agree", True)),
        runner_up=d.get("runner_up"),
        note=str(d.get("note") or ""),
        elbow=d.get("elbow"),
        elbow_reason=d.get("elbow_reason"),
        sample_size=d.get("sample_size"),
        silhouette_sample_size=d.get("silhouette_sample_size"),
        clear_structure=d.get("clear_structure"),
        structure_note=d.get("structure_note"),
        hopkins=d.get("hopkins"),
        gap_at_1=d.get("gap_at_1"),
        evidence_sample_size=d.get("evidence_sample_size"),
        reason=d.get("reason"),
        min_segment_size=d.get("min_segment_size"),
        atypical=dict(d["atypical"]) if isinstance(d.get("atypical"), dict) else None,
        stability_resamples=d.get("stability_resamples"),
        stability_sample_size=d.get("stability_sample_size"),
    )


def _segment(d: dict[str, Any]) -> Segment:
    profile = d.get("profile") or {}
    rec = d.get("recommendation") or {}
    return Segment(
        id=int(d["id"]),
        name=str(d["name"]),
        size=int(d["size"]),
        share=float(d["share"]),
        centre={f: float(v) for f, v in d["centre"].items()},
        levels=dict(d.get("levels") or {}),
        stats={f: _stats(s) for f, s in (profile.get("features") or {}).items()},
        categories={c: dict(v) for c, v in (profile.get("categories") or {}).items()},
        distinctive=tuple(profile.get("distinctive") or ()),
        recommendation=_recommendation(rec),
        stability=d.get("stability"),
        described={
            str(c): dict(v)
            for c, v in (profile.get("described") or {}).items()
            if isinstance(v, dict)
        },
        evidence={
            str(f): {str(k): v for k, v in e.items()}
            for f, e in (profile.get("evidence") or {}).items()
            if isinstance(e, dict)
        },
        rule=dict(rule) if isinstance(rule := profile.get("rule"), dict) else None,
        more_actions=tuple(
            _recommendation(a) for a in d.get("more_actions") or () if isinstance(a, dict)
        ),
    )


def _recommendation(rec: dict[str, Any]) -> Recommendation:
    return Recommendation(
        rule=rec.get("rule"),
        title=str(rec.get("title") or "No recommendation"),
        action=str(rec.get("action") or ""),
        reason=str(rec.get("reason") or ""),
    )


def _projection(d: dict[str, Any]) -> Projection:
    ev = d.get("explained_variance")
    values = d.get("values")
    return Projection(
        axes=(str(d["axes"][0]), str(d["axes"][1])),
        explained_variance=(float(ev[0]), float(ev[1])) if ev else None,
        x=np.asarray(d["x"], dtype=np.float64),
        y=np.asarray(d["y"], dtype=np.float64),
        segment=np.asarray(d["segment"], dtype=np.int64),
        ids=tuple(str(i) for i in d["ids"]),
        n_total=int(d["n_total"]),
        values=(
            {f: np.asarray(v, dtype=np.float64) for f, v in values.items()}
            if values is not None
            else None
        ),
    )


def _identity(d: dict[str, Any]) -> IdentityReport:
    from .model.identity import IdentityReport, SegmentChange, SegmentMatch

    migration = d.get("migration")
    frame = None
    if migration is not None:
        frame = pd.DataFrame(
            migration, columns=["from_segment", "from_name", "to_segment", "to_name", "customers"]
        )
        for column in ("from_segment", "to_segment"):
            frame[column] = frame[column].astype("Int64")
    return IdentityReport(
        previous_model=str(d["previous_model"]),
        previous_fingerprint=str(d.get("previous_fingerprint") or ""),
        rule=str(d.get("rule") or ""),
        matched=tuple(
            SegmentMatch(
                id=m["id"],
                name=m["name"],
                computed_name=m["computed_name"],
                distance=m["centre_distance"],
                size_before=m["size_before"],
                size_now=m["size_now"],
            )
            for m in d.get("matched") or ()
        ),
        new=tuple(SegmentChange(**s) for s in d.get("new") or ()),
        vanished=tuple(SegmentChange(**s) for s in d.get("vanished") or ()),
        migration=frame,
        migration_note=str(d.get("migration_note") or ""),
    )


def load_result(doc: Any, model_doc: Any) -> SegmentationResult:
    """The typed result of a results folder's ``segments.json`` and ``model.json`` contents.

    Raises
    ------
    ReportError
        When either document is invalid, or they come from different runs.
    """
    from .errors import ModelError
    from .model import SegmentModel

    validate_result_document(doc)
    if not isinstance(model_doc, dict):
        raise ReportError("model.json does not hold a JSON object; it is not a custseg model")
    model_k = model_doc.get("k")
    if isinstance(model_k, int) and model_k != doc["k"]:
        raise ReportError(
            f"model.json has k={model_k} but segments.json has k={doc['k']}: they come from "
            "different runs; keep the files of one result folder together"
        )
    try:
        model = SegmentModel.from_dict(model_doc, "model.json")
    except ModelError as exc:
        raise ReportError(str(exc)) from None
    return result_from_dict(doc, model)
