"""Write a result folder: segments.json, assignments.csv, model.json, report, PNGs on request.

Everything goes to a hidden temporary folder inside ``out``; when complete its
files replace the ones custseg wrote there before, listed in the folder's
manifest, and nothing else in ``out`` is touched (see :mod:`custseg.outputs.atomic`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..json_values import json_text
from ..results import SegmentationResult
from .atomic import atomic_directory

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


def _neutralised_column(col: pd.Series) -> pd.Series:
    if not (col.dtype == object or pd.api.types.is_string_dtype(col)):
        return col
    try:
        # A vectorised test first: one Python call per cell costs more than segmenting.
        risky = col.str.startswith(FORMULA_PREFIXES).eq(True).to_numpy(dtype=bool)
    except AttributeError:  # an object column without any text
        return col
    if not risky.any():
        return col
    col = col.copy()
    col[risky] = col[risky].map(neutralise)
    return col


def _neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({i: _neutralised_column(frame.iloc[:, i]) for i in range(frame.shape[1])})
    out.columns = [neutralise(str(c)) for c in frame.columns]
    return out


def safe_csv(frame: pd.DataFrame) -> str:
    """CSV text of ``frame`` with formula-like text cells and headers neutralised."""
    return _neutralised(frame).to_csv(index=False, lineterminator="\n")


def write_safe_csv(frame: pd.DataFrame, path: Path) -> None:
    """:func:`safe_csv` written straight to ``path`` (no copy of the text in memory)."""
    _neutralised(frame).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def segments_json(result: SegmentationResult | dict) -> str:
    """The text of ``segments.json``: a result, or its :meth:`~SegmentationResult.to_dict`."""
    doc = result if isinstance(result, dict) else result.to_dict()
    return json_text(doc)


def write_results(
    result: SegmentationResult,
    out: str | Path,
    *,
    plots: bool = False,
    report: bool = True,
    extra_files: dict[str, bytes] | None = None,
    force: bool = False,
    inputs: tuple[str | Path | None, ...] = (),
) -> Path:
    """Write every output of ``result`` into the folder ``out``.

    Returns the folder. Files: ``segments.json``, ``segments.csv``,
    ``assignments.csv``, ``model.json`` and ``report.html`` (with ``plots`` also the
    charts as PNG files; the report draws the same charts inline), plus the
    manifest ``.custseg-manifest.json`` listing them. Only files custseg wrote
    there before are replaced, all at the end of the run; a folder that is not
    empty and holds no custseg results is refused unless ``force``, and so is a
    folder that is or holds one of ``inputs``
    (see :func:`custseg.outputs.atomic.check_replaceable`).
    """
    target = Path(out)
    with atomic_directory(target, force=force, inputs=inputs) as tmp:
        doc = result.to_dict()
        (tmp / "segments.json").write_text(segments_json(doc), encoding="utf-8")
        write_safe_csv(result.segments_frame().reset_index(), tmp / "segments.csv")
        if result.write_assignments is not None:  # written by the engine, as a folder
            result.write_assignments(tmp / "assignments")
        else:
            write_safe_csv(result.assignments(), tmp / "assignments.csv")
        (tmp / "model.json").write_text(result.model.to_json(), encoding="utf-8")
        if result.identity is not None and result.identity.migration is not None:
            write_safe_csv(result.identity.migration, tmp / "migration.csv")
        for name, data in (extra_files or {}).items():
            (tmp / name).write_bytes(data)
        if plots:
            from ..report.plots import write_plots

            write_plots(result, tmp)
        if report:
            from ..report.html import write_result_report
            from ..results_json import result_from_dict

            # Drawn from what segments.json holds (numbers rounded as saved), so that
            # `custseg report` rebuilds the same page from the folder.
            saved = result_from_dict(doc, result.model, validate=False)
            write_result_report(saved, tmp / "report.html")
    return target
