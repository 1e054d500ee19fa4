"""Validation of model documents against the JSON Schema shipped with custseg."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from .errors import ModelError

SCHEMA_FILE = "model.schema.json"


@lru_cache(maxsize=1)
def model_schema() -> dict[str, Any]:
    """The JSON Schema of ``model.json`` (format version 1)."""
    text = resources.files("custseg.schemas").joinpath(SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


def validate_model_document(doc: Any, source: str) -> None:
    """Raise :class:`ModelError` naming the first problem of a model document."""
    from . import __version__
    from .model import FORMAT, FORMAT_VERSION

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
    k = len(doc["segments"])
    d = len(doc["features"])
    centres = doc["centres"]
    if len(centres) != k or any(len(row) != d for row in centres):
        raise ModelError(
            f"'{source}' is not a valid custseg model: centres must be {k} rows of {d} numbers "
            "(one per segment and feature)"
        )
    scaler = doc["preprocessing"]["scaler"]
    if len(scaler["center"]) != d or len(scaler["scale"]) != d:
        raise ModelError(
            f"'{source}' is not a valid custseg model: scaler needs {d} values per list"
        )
    if any(v == 0 for v in scaler["scale"]):
        raise ModelError(f"'{source}' is not a valid custseg model: a scaler scale is 0")
