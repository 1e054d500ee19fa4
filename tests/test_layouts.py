"""Table layouts beyond a plain CSV: no header row and fields separated by spaces (the
layouts of clustering benchmark sets: ``s1.txt``, ``    664159    550946``; ``iris.data``,
numbers and a label), and a title above the header (report exports)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from custseg.data.loading import (
    WHITESPACE,
    detect_delimiter,
    first_row_is_data,
    load_table,
    preamble_lines,
)


def _blobs(n_per: int = 60, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[100_000, 900_000], [500_000, 200_000], [850_000, 700_000]])
    return np.vstack([rng.normal(c, 20_000, (n_per, 2)) for c in centres]).astype(int)


def _spaced(path, X) -> None:
    path.write_text("".join(f"    {a:7d}    {b:7d}\n" for a, b in X), encoding="utf-8")


def test_fields_separated_by_spaces_without_a_header(tmp_path):
    path = tmp_path / "s1.txt"
    X = _blobs()
    _spaced(path, X)
    table = load_table(path)
    assert list(table.frame.columns) == ["column_1", "column_2"]
    assert len(table.frame) == len(X)  # the first row is a customer
    assert table.frame.to_numpy().tolist() == X.tolist()
    assert table.repairs == (
        f"no header row: the first row ({X[0, 0]}, {X[0, 1]}) holds data, so every row is "
        "read as a customer and the columns are named column_1 to column_2; add a header "
        "row to name them",
    )


def test_a_headerless_table_segments_and_assigns_by_the_same_names(tmp_path):
    path = tmp_path / "s1.txt"
    _spaced(path, _blobs())
    out = tmp_path / "out"
    code, stdout, _ = run_cli("segment", str(path), "--out", str(out), "-q")
    assert code == 0
    assert "repaired: no header row: the first row (" in stdout
    doc = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    assert doc["features"] == ["column_1", "column_2"]
    assert doc["k"] == 3
    code, stdout, _ = run_cli(
        "assign", str(out / "model.json"), str(path), "--out", str(tmp_path / "a.csv")
    )
    assert code == 0
    assert "read: no header row: the first row (" in stdout
    again = pd.read_csv(tmp_path / "a.csv")["segment"]
    fitted = pd.read_csv(out / "assignments.csv")["segment"]
    assert again.tolist() == fitted.tolist()


def test_numbers_and_a_label_without_a_header(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(np.round(rng.normal(5, 1, (90, 4)), 1))
    frame["label"] = np.repeat(["Iris-setosa", "Iris-versicolor", "Iris-virginica"], 30)
    path = tmp_path / "iris.data"
    frame.to_csv(path, header=False, index=False)
    table = load_table(path)
    assert list(table.frame.columns) == [f"column_{j}" for j in range(1, 6)]
    assert len(table.frame) == 90
    assert table.frame["column_5"].iloc[0] == "Iris-setosa"


def test_fields_separated_by_spaces_under_a_header(tmp_path):
    path = tmp_path / "spaced.txt"
    path.write_text("spend visits\n" + "".join(f"{a} {b}\n" for a, b in _blobs()), encoding="utf-8")
    table = load_table(path)
    assert list(table.frame.columns) == ["spend", "visits"]
    assert table.repairs == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Age,Income\n30,100\n40,200\n", False),  # a header
        ("2023,2024\n30,100\n40,200\n", False),  # years name columns
        ("1,2,Segment\n30,100,a\n40,200,b\n", False),  # 'Segment' is not found below
        ("30,100,a\n40,200,b\n50,300,a\n", True),  # 'a' is found below: a value
        ("30,100\n40,200\n", True),
        ("30\n40\n", False),  # one column: no evidence either way
    ],
)
def test_first_row_is_data_by_hand(text, expected):
    assert first_row_is_data(text, ",") is expected


def test_spaces_are_a_delimiter_only_when_lines_split_alike():
    assert detect_delimiter("  1  2\n  3  4\n  5  6\n") == WHITESPACE
    assert detect_delimiter("a b,c\n1,2\n") == ","
    assert detect_delimiter("Annual Income\n15\n16\n") == ","  # one column with a spaced name


def test_readers_that_need_a_plain_csv_say_so(tmp_path):
    path = tmp_path / "s1.txt"
    _spaced(path, _blobs())
    code, _, stderr = run_cli("rfm", str(path), "--out", str(tmp_path / "r"))
    assert code == 1
    assert stderr.strip().splitlines()[-1] == (
        f"Error: file '{path}' separates its fields with spaces; custseg rfm reads fields "
        "separated by a comma, semicolon, tab or |: save it as CSV"
    )
    assert not (tmp_path / "r").exists()


# --- a title above the table (report exports) --------------------------------------------


def _titled(path, title: str = "Customer Report - exported 2024-05-01") -> pd.DataFrame:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(1, 301),
            "spend": np.round(rng.lognormal(5, 1, 300), 2),
            "visits": rng.poisson(4, 300),
        }
    )
    path.write_text(f"{title}\n\n" + frame.to_csv(index=False), encoding="utf-8")
    return frame


@pytest.mark.parametrize(
    "title", ["Customer Report - exported 2024-05-01", "Report,May 2024", "sep=,"]
)
def test_lines_above_the_header_are_skipped_and_said(tmp_path, title):
    path = tmp_path / "titled.csv"
    frame = _titled(path, title)
    table = load_table(path)
    assert list(table.frame.columns) == ["customer_id", "spend", "visits"]
    assert len(table.frame) == len(frame)
    assert table.repairs == (f"skipped 1 line above the header ({title!r})",)


@pytest.mark.parametrize(
    ("text", "skip"),
    [
        ("id,spend,visits\n1,2,3\n4,5,6\n", 0),
        ("Report\n\n\nid,spend,visits\n1,2,3\n4,5,6\n", 3),
        ("id,spend\n1,2,note\n3,4,x\n5,6,y\n", 0),  # notes beside the table: a header
        ("1,2,3\n4,5,6\n", 0),
        ("Title\nspend\n1\n2\n", 0),  # one column: nothing to tell a title by
    ],
)
def test_preamble_lines_by_hand(text, skip):
    assert preamble_lines(text, ",") == skip


def test_rows_are_counted_from_the_header_below_a_title(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Report May 2024\n\nid,spend,visits\n1,2,3\n4,5,6,7\n8,9,10\n")
    code, _, stderr = run_cli("segment", str(path), "--out", str(tmp_path / "o"))
    assert code == 1
    assert stderr.strip().splitlines()[-1] == (
        f"Error: file '{path}' row 2 (line 5) has 4 fields but the header has 3; fix that "
        "row (a missing quote or an extra ',')"
    )


def test_assign_skips_the_title_as_segment_does(tmp_path):
    path = tmp_path / "titled.csv"
    _titled(path)
    out = tmp_path / "out"
    assert run_cli("segment", str(path), "--out", str(out), "-q")[0] == 0
    code, stdout, _ = run_cli(
        "assign", str(out / "model.json"), str(path), "--out", str(tmp_path / "a.csv")
    )
    assert code == 0
    assert (
        "read: skipped 1 line above the header ('Customer Report - exported 2024-05-01')" in stdout
    )
    again = pd.read_csv(tmp_path / "a.csv")["segment"]
    assert again.tolist() == pd.read_csv(out / "assignments.csv")["segment"].tolist()
    code, _, stderr = run_cli("rfm", str(path), "--out", str(tmp_path / "r"))
    assert code == 1
    assert stderr.strip().splitlines()[-1] == (
        f"Error: file '{path}' has lines above its header ('Customer Report - exported "
        "2024-05-01'); custseg rfm needs the header on the first line: delete them"
    )
