"""Issue 11: a table of a few hundred customers and thousands of columns.

The review measured an 8.2 MB report and 30,887-character segment names at
200 x 2,000. The report keeps its cards, chart and map tooltip bounded (every
feature stays in segments.csv and segments.json) and names take at most three
features.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from conftest import run_cli

N_ROWS, N_FEATURES = 60, 300


def test_a_wide_table_gives_a_bounded_report_and_short_names(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(50, 10, (N_ROWS, N_FEATURES))
    X[: N_ROWS // 2, :20] += 60  # two clear groups on the first 20 columns
    frame = pd.DataFrame(X.round(2), columns=[f"measure_{j:04d}" for j in range(N_FEATURES)])
    frame.insert(0, "CustomerID", [f"C{i}" for i in range(N_ROWS)])
    src = tmp_path / "wide.csv"
    frame.to_csv(src, index=False)
    out = tmp_path / "out"
    code, summary, err = run_cli(
        "segment", str(src), "--out", str(out), "--k", "2", "--n-init", "2"
    )
    assert code == 0, err
    assert max(len(line) for line in summary.splitlines()) < 1000
    assert ", ... and 280 more (all in segments.json); scaling:" in summary
    html = (out / "report.html").read_text(encoding="utf-8")
    doc = json.loads((out / "segments.json").read_text())
    assert len(doc["data"]["features"]) == N_FEATURES  # nothing is dropped from the results
    assert all(len(s["name"]) <= 100 for s in doc["segments"])
    # Each card: 10 rows shown, 40 folded, and where the rest are.
    assert html.count('<tr class="distinctive">') + html.count("<tr>\n") < 2 * 60 + 40
    assert (
        html.count("The next 40 of the other 290 features (every feature is in segments.csv)") == 2
    )
    # The profile chart: the 30 bars furthest from the average, and says so.
    assert html.count("the 30 of 300 features furthest from the average") == 2
    # The map's tooltip: at most 12 features' values per customer.
    data = json.loads(re.search(r'id="map-data">(.*?)</script>', html, re.S).group(1))
    assert len(data["features"]) == 12
    assert {f["name"] for f in data["features"]} <= {f"measure_{j:04d}" for j in range(20)}
    assert len(html) < 500_000
