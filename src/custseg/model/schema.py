"""Validation of model documents against the JSON Schema shipped with custseg."""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from importlib import resources
from typing import Any

from .._version import __version__
from ..errors import ModelError

SCHEMA_FILE = "model.schema.json"
FORMAT = "custseg-model"
FORMAT_VERSION = 1


@lru_cache(maxsize=1)
def model_schema() -> dict[str, Any]:
    """The JSON Schema of ``model.json`` (format version 1)."""
    text = resources.files("custseg.schemas").joinpath(SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


def validate_model_document(doc: Any, source: str) -> None:
    """Raise :class:`ModelError` naming the first problem of a model document."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelError(f'\'{source}\' is not a custseg model (no "format": "{FORMAT}" field)')
    version = doc.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ModelError(
            f"'{source}' is a model of format version {version}, written by custseg "
            f"{doc.get('custseg_version', '?')}; this custseg ({__version__}) reads up to version "
            f"{FORMAT_VERSION}: upgrade custseg"
        )
    import jsonschema

    validator = jsonschema.Draft202012Validator(model_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ModelError(f"'{source}' is not a valid custseg model: at {where}: {err.message}")
    _check_consistency(doc, source)


def _invalid(source: str, what: str) -> ModelError:
    return ModelError(f"'{source}' is not a valid custseg model: {what}")


def _check_consistency(doc: dict[str, Any], source: str) -> None:
    """What a schema cannot say: matching lengths, unique ids, finite numbers, the checksum."""
    if doc["checksum"] != content_checksum(doc):
        raise ModelError(
            f"'{source}' was changed after custseg wrote it (its checksum does not match its "
            "content), so it cannot be trusted; write it again with custseg segment"
        )
    bad = _first_non_finite(doc)
    if bad is not None:
        raise _invalid(source, f"at {bad}: a number is infinite or not a number")
    features = [f["name"] for f in doc["features"]]
    d = len(features)
    if len(set(features)) != d:
        raise _invalid(source, "a feature is listed twice")
    segments = doc["segments"]
    k = len(segments)
    if doc["k"] != k:
        raise _invalid(source, f"k is {doc['k']} but there are {k} segments")
    ids = [s["id"] for s in segments]
    if len(set(ids)) != k:
        raise _invalid(source, f"segment ids must be unique; got {ids}")
    centres = doc["centres"]
    if len(centres) != k or any(len(row) != d for row in centres):
        raise _invalid(
            source, f"centres must be {k} rows of {d} numbers (one per segment and feature)"
        )
    pre = doc["preprocessing"]
    scaler = pre["scaler"]
    if len(scaler["center"]) != d or len(scaler["scale"]) != d:
        raise _invalid(source, f"the scaler needs {d} values per list, one per feature")
    if any(v <= 0 for v in scaler["scale"]):
        raise _invalid(source, "a scaler scale is zero or negative")
    if "log" in scaler and len(scaler["log"]) != d:
        raise _invalid(source, f"the scaler's log list needs {d} values, one per feature")
    if pre["missing"] == "impute":
        absent = [f for f in features if f not in (pre.get("impute_values") or {})]
        if absent:
            raise _invalid(source, f"missing policy 'impute' has no value for {absent[0]!r}")
    for s in segments:
        dist = s["distance"]
        if not dist["p50"] <= dist["p90"] <= dist["p99"] <= dist["max"]:
            raise _invalid(source, f"segment {s['id']} distances are not p50 <= p90 <= p99 <= max")
        unknown = set(s["centre"]) - set(features) or set(s["levels"]) - set(features)
        if unknown:
            raise _invalid(
                source, f"segment {s['id']} names unknown feature {sorted(unknown)[0]!r}"
            )


def _first_non_finite(value: Any, where: str = "") -> str | None:
    """Path of the first infinite number (JSON like 1e999 parses to inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "(top level)"
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _first_non_finite(item, f"{where}/{key}" if where else str(key))
        if found:
            return found
    return None


def content_checksum(doc: dict[str, Any]) -> str:
    """SHA-256 of a model document's canonical JSON, without ``checksum`` and ``created_at``.

    Leaving out the timestamp makes the checksum a function of the fit alone, so
    the same fit saved twice has the same checksum.
    """
    body = {k: v for k, v in doc.items() if k not in ("checksum", "created_at")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
