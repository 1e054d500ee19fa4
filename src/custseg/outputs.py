"""Write a result folder: segments.json, assignments.csv, model.json, plots, report.

Everything goes to a hidden temporary folder beside ``out`` that replaces it
only when complete (see :mod:`custseg._atomic`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ._atomic import atomic_directory
from .results import SegmentationResult

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Defuse text a spreadsheet would run as a formula (OWASP CSV injection).

    Text starting with = + - @ tab or CR gets a leading apostrophe; numbers are
    left alone.

    >>> neutralise("=HYPERLINK(1)"), neutralise("-12.5"), neutralise("Anna")
    ("'=HYPERLINK(1)", '-12.5', 'Anna')
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def safe_csv(frame: pd.DataFrame) -> str:
    """CSV text of ``frame`` with formula-like text cells and headers neutralised."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out.to_csv(index=False, lineterminator="\n")


def segments_json(result: SegmentationResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_results(
    result: SegmentationResult,
    out: str | Path,
    *,
    plots: bool = True,
    report: bool = True,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write every output of ``result`` into the folder ``out`` (replaced atomically).

    Returns the folder. Files: ``segments.json``, ``segments.csv``,
    ``assignments.csv``, ``model.json``, PNG plots and ``report.html``.
    """
    target = Path(out)
    with atomic_directory(target) as tmp:
        (tmp / "segments.json").write_text(segments_json(result), encoding="utf-8")
        (tmp / "segments.csv").write_text(
            safe_csv(result.segments_frame().reset_index()), encoding="utf-8"
        )
        (tmp / "assignments.csv").write_text(safe_csv(result.assignments()), encoding="utf-8")
        (tmp / "model.json").write_text(result.model.to_json(), encoding="utf-8")
        if result.identity is not None and result.identity.migration is not None:
            (tmp / "migration.csv").write_text(
                safe_csv(result.identity.migration), encoding="utf-8"
            )
        for name, data in (extra_files or {}).items():
            (tmp / name).write_bytes(data)
        if plots:
            from .report.plots import write_plots

            write_plots(result.to_dict(), tmp)
        if report:
            from .report import write_report

            write_report(result.to_dict(), result.model.to_dict(), tmp / "report.html")
    return target
