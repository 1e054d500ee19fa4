"""Write the results of :func:`~custseg.rfm.rfm` through the same writer as ``segment``.

The cluster outputs (``segments.json``, ``model.json``, ``report.html`` ...) come
from :func:`custseg.outputs.write_results`; the RFM files are handed to it as
extra files, so the whole folder is still replaced atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

from ..json_values import json_text
from ..outputs import safe_csv
from ..outputs.atomic import RFM_FILES
from .analysis import RFMResult


def _parquet_bytes(result: RFMResult) -> bytes:
    buf = io.BytesIO()
    frame = result.customers.copy()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def rfm_files(result: RFMResult) -> dict[str, bytes]:
    """The RFM files of a results folder, by name."""
    doc = json_text(result.to_dict())
    files = {
        "customers.csv": safe_csv(result.customers).encode("utf-8"),
        "customers.parquet": _parquet_bytes(result),
        "rfm.json": doc.encode("utf-8"),
        "rfm_segments.csv": safe_csv(result.segments_frame()).encode("utf-8"),
    }
    if result.clustering is not None:
        files["rfm_by_cluster.csv"] = safe_csv(result.crosstab().reset_index()).encode("utf-8")
        files["clusters.csv"] = safe_csv(result.clusters_frame()).encode("utf-8")
    return files


def write_rfm_results(
    result: RFMResult,
    out: str | Path,
    *,
    plots: bool = False,
    force: bool = False,
    inputs: tuple[str | Path | None, ...] = (),
) -> Path:
    """Write the customers, ``rfm.json``, ``rfm_segments.csv`` and the cluster outputs.

    Everything goes into ``out`` at once, with the same guard and manifest as
    ``segment`` (only files custseg wrote there before are replaced; see
    :func:`custseg.outputs.write_results` for ``force`` and ``inputs``). Without
    clustering, only the RFM files are written. ``plots``: also the PNG charts.
    """
    from ..outputs import write_results
    from ..outputs.atomic import atomic_directory

    files = rfm_files(result)
    if result.clustering is not None:
        from ..report.html import render_result
        from ..results_json import result_from_dict
        from .report import with_rfm_section

        clustering = result.clustering
        # Drawn from what segments.json holds, as `segment` does.
        saved = result_from_dict(clustering.to_dict(), clustering.model, validate=False)
        files["report.html"] = with_rfm_section(render_result(saved), result.to_dict()).encode(
            "utf-8"
        )
        return write_results(
            clustering,
            out,
            plots=plots,
            report=False,
            extra_files=files,
            force=force,
            inputs=inputs,
        )
    target = Path(out)
    with atomic_directory(target, force=force, inputs=inputs) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
    return target


__all__ = ["RFM_FILES", "rfm_files", "write_rfm_results"]
