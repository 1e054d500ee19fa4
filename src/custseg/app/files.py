"""Uploads in, downloads out: bytes to library objects and back, with no paths from users.

An uploaded file's name is only ever shown in messages; its bytes go to a
private temporary folder that is removed as soon as they are read.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..errors import ModelError
from ..model import SegmentModel, load_model
from ..outputs import safe_csv
from ..results import SegmentationResult

MB = 1024 * 1024


def display_name(name: str) -> str:
    """An uploaded file's name as shown in messages: its last part, printable, at most 80 chars."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:80] or "upload"


def check_size(data: bytes, name: str, limit_mb: int) -> None:
    """Refuse an upload above the limit (Streamlit enforces it too; this covers other callers)."""
    from ..errors import DataError

    if len(data) > limit_mb * MB:
        raise DataError(
            f"file '{display_name(name)}' is {len(data) / MB:,.1f} MB, more than the "
            f"{limit_mb} MB upload limit; upload a smaller file or restart with "
            f"custseg app --max-upload-mb {int(len(data) / MB) + 1}"
        )


def read_model_bytes(data: bytes, name: str) -> SegmentModel:
    """Load an uploaded ``model.json`` through :func:`custseg.model.load_model` and its checks.

    Raises
    ------
    ModelError
        Naming the uploaded file (never the temporary path) and what is wrong.
    """
    shown = display_name(name)
    with tempfile.TemporaryDirectory(prefix="custseg-upload-") as tmp:
        path = Path(tmp) / "model.json"
        path.write_bytes(data)
        try:
            return load_model(path)
        except ModelError as exc:
            raise ModelError(str(exc).replace(str(path), shown)) from None


def assignments_csv(result: SegmentationResult, names: Mapping[int, str]) -> bytes:
    """``assignments.csv`` of a result, with the segment names the user chose."""
    frame = result.assignments()
    frame["segment_name"] = [
        names.get(int(s), "") if pd.notna(s) else "" for s in frame["segment"].tolist()
    ]
    return safe_csv(frame).encode("utf-8")


def assigned_csv(frame: pd.DataFrame) -> bytes:
    """New customers' assignments (``SegmentModel.assign``) as CSV bytes."""
    return safe_csv(frame).encode("utf-8")


def model_json(model: SegmentModel) -> bytes:
    return model.to_json().encode("utf-8")


def report_html(result: SegmentationResult) -> bytes:
    """The HTML report of a (possibly edited) result."""
    from .. import report

    return report.render_result(result).encode("utf-8")


def demo_csv(n_rows: int = 1000, seed: int = 0) -> bytes:
    """The built-in demo table (the same one ``custseg demo`` writes) as CSV bytes."""
    from ..data.demo import make_customers

    return make_customers(n_rows, seed=seed).to_csv(index=False).encode("utf-8")


__all__ = [
    "assigned_csv",
    "assignments_csv",
    "check_size",
    "demo_csv",
    "display_name",
    "model_json",
    "read_model_bytes",
    "report_html",
]
