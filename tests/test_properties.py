"""Property tests: on any table, segmentation succeeds with its invariants or raises CustsegError.

Random tables mix column types (whole numbers, decimals with gaps, numbers written as
text with currency signs or thousands separators, categories, free text, true/false,
empty columns, ids), sizes from 0 to 40 rows and random options. Half of them go
through a CSV file, so reading is tested too. Nothing but custseg's own error may
escape, and a result must account for every input row exactly once.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from custseg import segment
from custseg.config import SegmentationConfig
from custseg.errors import CustsegError, SegmentationWarning
from custseg.outputs import safe_csv

KINDS = ("int", "float_gaps", "money_text", "category", "free_text", "bool", "empty", "id")
NAMES = ("Age", "Income", "Spend", "CustomerID", "=cmd", "名前", "<b>x</b>", "Unnamed: 9", "")


@st.composite
def tables(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 40))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5))
    columns: dict[str, object] = {}
    for j, kind in enumerate(kinds):
        name = f"{draw(st.sampled_from(NAMES))}{j}"
        ints = st.integers(-5, 200)
        if kind == "int":
            values: list = draw(st.lists(ints, min_size=n, max_size=n))
        elif kind == "float_gaps":
            cell = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))
            values = draw(st.lists(cell, min_size=n, max_size=n))
        elif kind == "money_text":
            fmt = draw(st.sampled_from(["${:,}", "{:,}", "{}%", "€ {}", "{}"]))
            cell = st.one_of(st.just("N/A"), st.just(""), ints.map(lambda v, f=fmt: f.format(v)))
            values = draw(st.lists(cell, min_size=n, max_size=n))
        elif kind == "category":
            values = draw(st.lists(st.sampled_from(["a", "b", "=c", "+d"]), min_size=n, max_size=n))
        elif kind == "free_text":
            text = st.text(
                st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=6
            )
            values = draw(st.lists(text, min_size=n, max_size=n))
        elif kind == "bool":
            values = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        elif kind == "empty":
            values = [None] * n
        else:
            values = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n, unique=True))
        columns[name] = values
    return pd.DataFrame(columns)


@st.composite
def configs(draw) -> SegmentationConfig:
    k_max = draw(st.integers(2, 5))
    return SegmentationConfig(
        method=draw(st.sampled_from(["kmeans", "hierarchical"])),
        k=draw(st.one_of(st.just("auto"), st.integers(1, 6))),
        k_max=k_max,
        missing=draw(st.sampled_from(["drop", "impute", "error"])),
        scale=draw(st.sampled_from(["standard", "minmax", "robust", "none"])),
        n_init=1,
        seed=draw(st.integers(0, 3)),
    )


def _expected_rows(frame: pd.DataFrame, via_csv: bool, text: str) -> int:
    if not via_csv:
        return len(frame)
    # a blank line is not a customer (a one-column table's empty cell writes one)
    return sum(1 for line in text.splitlines()[1:] if line.strip())


@settings(
    max_examples=int(os.environ.get("CUSTSEG_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frame=tables(), config=configs(), via_csv=st.booleans())
def test_segment_succeeds_with_invariants_or_raises_custseg_error(
    frame: pd.DataFrame, config: SegmentationConfig, via_csv: bool
) -> None:
    text = frame.to_csv(index=False)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", SegmentationWarning)
        data: object = frame
        if via_csv:
            data = Path(tmp) / "t.csv"
            data.write_text(text, encoding="utf-8")
        try:
            result = segment(data, config)
        except CustsegError as exc:
            event(f"refused: {type(exc).__name__}")
            message = str(exc)
            assert message and "\n" not in message  # one line
            return
    event("segmented")
    n_rows = _expected_rows(frame, via_csv, text)
    labels = result.labels
    # every input row exactly once
    assert len(labels) == len(result.ids) == len(result.left_out) == n_rows
    assign = result.assignments()
    assert len(assign) == n_rows
    assert assign.iloc[:, 0].is_unique
    # used rows have a segment and no reason; left-out rows a reason and no segment
    used = labels > 0
    assert ((result.left_out.to_numpy() == "") == used).all()
    assert result.data.n_rows == n_rows and result.data.n_used == int(used.sum())
    # sizes add up
    sizes = [s.size for s in result.segments]
    assert sum(sizes) == int(used.sum())
    assert sorted(np.bincount(labels[used])[1:].tolist()) == sorted(sizes)
    assert abs(sum(s.share for s in result.segments) - 1) < 1e-6
    # k in range, names unique
    if isinstance(config.k, int):
        assert result.k == config.k
    else:
        assert config.k_min <= result.k <= config.k_max
    names = [s.name for s in result.segments]
    assert len(set(names)) == len(names)
    # the outputs can be written: strict JSON, and assignments.csv as written holds
    # every row once, with no cell a spreadsheet would run as a formula
    json.dumps(result.to_dict(), allow_nan=False)
    import io

    written = pd.read_csv(
        io.StringIO(safe_csv(assign)), dtype=str, keep_default_na=False, na_filter=False
    )
    assert len(written) == n_rows
    assert (written["segment"] != "").sum() == int(used.sum())
    for cell in written.to_numpy().ravel():
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
        if cell.startswith("-"):
            float(cell)  # only numbers may start with '-'


@pytest.mark.parametrize("seed", range(3))
def test_same_input_same_result(seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    config = SegmentationConfig(k_max=5, n_init=2, seed=seed)
    first, second = segment(frame, config).to_dict(), segment(frame.copy(), config).to_dict()
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


_BASE_CSV = pd.DataFrame(
    {
        "CustomerID": range(1, 31),
        "Gender": ["Male", "Female", "Other"] * 10,
        "Age": [18 + (i * 7) % 50 for i in range(30)],
        "Income": [15 + (i * 13) % 120 for i in range(30)],
        "Spending": [1 + (i * 29) % 99 for i in range(30)],
    }
).to_csv(index=False)

# What breaks real exports: quotes, delimiters, line breaks, NULs, BOMs, odd characters.
_JUNK = st.sampled_from(
    ['"', ",", ";", "\t", "|", "\n", "\r", "\x00", "\ufeff", "=", "-", "€", "N/A", "é", " "]
)


@st.composite
def mangled_files(draw) -> bytes:
    text = _BASE_CSV
    for _ in range(draw(st.integers(0, 6))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        junk = draw(_JUNK)
        if op == "insert":
            text = text[:pos] + junk + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)) :]
        else:
            text = text[:pos] + junk + text[pos + 1 :]
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]  # truncated download
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


@settings(
    max_examples=int(os.environ.get("CUSTSEG_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=mangled_files(), gz=st.booleans())
def test_mangled_exports_segment_or_raise_custseg_error(data: bytes, gz: bool) -> None:
    import gzip

    config = SegmentationConfig(k_max=4, n_init=1)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", SegmentationWarning)
        path = Path(tmp) / ("t.csv.gz" if gz else "t.csv")
        path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        try:
            result = segment(path, config)
        except CustsegError as exc:
            event(f"refused: {type(exc).__name__}")
            assert str(exc) and "\n" not in str(exc)
            return
    event("segmented")
    used = result.labels > 0
    assert len(result.assignments()) == len(result.labels) == result.data.n_rows
    assert sum(s.size for s in result.segments) == int(used.sum()) == result.data.n_used
    assert ((result.left_out.to_numpy() == "") == used).all()


@pytest.mark.parametrize("scale", ["standard", "minmax", "robust", "none"])
@pytest.mark.parametrize("method", ["kmeans", "hierarchical"])
def test_values_apart_only_below_float_resolution_count_as_one(scale: str, method: str) -> None:
    """Found by the property test: 0 and 2e-201 made k=5 'possible', then a segment empty."""
    frame = pd.DataFrame({"Age": [0.0, 1.0, 2.0, 1.5, 2.056545e-201]})
    config = SegmentationConfig(k=5, scale=scale, method=method, n_init=1)
    with pytest.raises(CustsegError, match="k=5 is more than the 4 distinct customers"):
        segment(frame, config)
