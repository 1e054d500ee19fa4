"""Writing results: the files of a run (:mod:`.writers`) and the atomic, manifest-kept
folder they are written into (:mod:`.atomic`)."""

from .writers import (
    FORMULA_PREFIXES,
    neutralise,
    safe_csv,
    segments_json,
    write_results,
    write_safe_csv,
)

__all__ = [
    "FORMULA_PREFIXES",
    "neutralise",
    "safe_csv",
    "segments_json",
    "write_results",
    "write_safe_csv",
]
