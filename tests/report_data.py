"""Saved results (segments.json / model.json dicts) for the report tests, built once per run.

Plain functions with a cache rather than fixtures, so the HTML tests and the
browser tests share them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd

from custseg.config import SegmentationConfig
from custseg.data.demo import make_customers
from custseg.data.loading import LoadedTable
from custseg.pipeline import segment

PROBE = "<img src=x onerror=alert(1)>"
SCRIPT_VALUE = "</script><script>alert(2)</script>"
QUOTE_VALUE = "\"'><svg onload=alert(3)>"
PLAYBOOK_TITLE = "<b onmouseover=alert(4)>Hostile action</b>"

HOSTILE_PLAYBOOK = f"""
version: 1
roles:
  spending: [spending]
rules:
  - id: hostile
    title: {json.dumps(PLAYBOOK_TITLE)}
    when: {{spending: high}}
    action: "Text with <script>alert(5)</script> in it"
fallback:
  title: "Review <i>this</i> segment"
  action: "Fallback & more"
"""


def _run(frame: pd.DataFrame, config: SegmentationConfig, source: str) -> tuple[dict, dict]:
    table = LoadedTable(frame=frame, source=source, file_format="csv")
    result = segment(table, config)
    # Through JSON, as the report reads them from disk.
    doc = json.loads(json.dumps(result.to_dict()))
    return doc, json.loads(result.model.to_json())


@functools.cache
def kmeans_result() -> tuple[dict, dict]:
    """k-means on income and spending of 300 demo customers (k=5 by the elbow)."""
    frame = make_customers(300, seed=0)
    config = SegmentationConfig(
        method="kmeans",
        features=("Annual Income (k$)", "Spending Score (1-100)"),
        k_max=8,
        n_init=3,  # fewer restarts than the default keep the suite fast; k=5 is clear-cut
        seed=0,
    )
    return _run(frame, config, "customers.csv")


@functools.cache
def hierarchical_result() -> tuple[dict, dict]:
    """Ward on age and spending, unscaled, 200 customers: a truncated dendrogram."""
    frame = make_customers(200, seed=1)
    config = SegmentationConfig(
        method="hierarchical",
        features=("Age", "Spending Score (1-100)"),
        scale="none",
        seed=0,
    )
    return _run(frame, config, "customers.csv")


@functools.cache
def hostile_result(tmp_dir: str) -> tuple[dict, dict]:
    """Three features (so the map is on principal components), every string hostile."""
    frame = make_customers(150, seed=2).rename(columns={"Annual Income (k$)": PROBE})
    frame["CustomerID"] = [f"<b>c{i}</b>" if i % 2 else f"c{i}&amp;" for i in range(len(frame))]
    frame["Gender"] = [SCRIPT_VALUE if i % 3 else QUOTE_VALUE for i in range(len(frame))]
    playbook = Path(tmp_dir) / "hostile.yaml"
    playbook.write_text(HOSTILE_PLAYBOOK, encoding="utf-8")
    config = SegmentationConfig(
        method="kmeans",
        features=("Age", PROBE, "Spending Score (1-100)"),
        id_column="CustomerID",
        playbook=str(playbook),
        k_max=6,
        n_init=2,
        seed=0,
    )
    return _run(frame, config, "<script>alert(6)</script>.csv")
