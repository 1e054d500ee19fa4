"""Issue 11: ids 'NA', 'None', 'null', 'n/a' are customers, not missing ids.

Ids are text: a customer from Namibia ('NA') or one literally called 'None' keeps
its id on every path (the general loader, the fast path for large files, Excel,
``--id`` on a column not named like an id, ``custseg assign``), while the same
words in a number column still mean "no value".
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from corpus import FAST

WORDS = {3: "NA", 7: "None", 9: "null", 11: "n/a"}


def _table(id_name: str = "CustomerID") -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    ids = [WORDS.get(i, f"C{i}") for i in range(n)]
    income = rng.normal(50, 10, n).round(1).astype(object)
    income[5] = "NA"  # in a number column the word still means "no value"
    return pd.DataFrame(
        {
            id_name: ids,
            "Region": ["north", "south"] * (n // 2),
            "Income": income,
            "Spend": rng.normal(30, 5, n).round(1),
        }
    )


def _ids_kept(path) -> None:
    out = pd.read_csv(path, dtype=str, keep_default_na=False)
    first = out.columns[0]
    assert [out[first].iloc[i] for i in WORDS] == list(WORDS.values())
    assert (out[first] != "").all()


def _segment(src, out, *extra: str) -> dict:
    code, _, err = run_cli("segment", str(src), "--out", str(out), "--k", "2", *FAST, *extra)
    assert code == 0, err
    _ids_kept(out / "assignments.csv")
    return json.loads((out / "segments.json").read_text())["data"]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".xlsx"])
def test_na_words_are_ids_in_the_general_loader(tmp_path, suffix):
    src = tmp_path / f"customers{suffix}"
    frame = _table()
    if suffix == ".xlsx":
        frame.to_excel(src, index=False)
    else:
        frame.to_csv(src, index=False)
    data = _segment(src, tmp_path / "out")
    assert data["id_column"] == "CustomerID"
    assert data["imputed"] == {"Income": 1}  # 'NA' in Income is still a missing value


def test_na_words_are_ids_with_id_on_a_column_not_named_like_an_id(tmp_path):
    src = tmp_path / "countries.csv"
    _table("Country").to_csv(src, index=False)
    data = _segment(src, tmp_path / "out", "--id", "Country")
    assert data["id_column"] == "Country"


def test_na_words_are_ids_on_the_fast_path_for_large_files(tmp_path, monkeypatch):
    import custseg.data.fast as fast

    monkeypatch.setattr(fast, "FAST_PATH_BYTES", 0)
    src = tmp_path / "customers.csv"
    _table().to_csv(src, index=False)
    data = _segment(src, tmp_path / "out")
    assert data["ignored"]["Region"] == "text column, not profiled for large files"  # fast path
    assert data["id_column"] == "CustomerID"
    assert data["imputed"] == {"Income": 1}


def test_an_empty_id_still_is_missing_on_the_fast_path(tmp_path, monkeypatch):
    import custseg.data.fast as fast

    monkeypatch.setattr(fast, "FAST_PATH_BYTES", 0)
    frame = _table()
    frame.loc[4, "CustomerID"] = ""
    src = tmp_path / "customers.csv"
    frame.to_csv(src, index=False)
    code, _, err = run_cli(
        "segment", str(src), "--out", str(tmp_path / "out"), "--id", "CustomerID", *FAST
    )
    assert code == 1
    assert err.strip() == "Error: id column 'CustomerID' is empty in row 5; fill it in"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_assign_keeps_na_words_as_ids(tmp_path, suffix):
    src = tmp_path / "customers.csv"
    _table().to_csv(src, index=False)
    _segment(src, tmp_path / "out")
    new = tmp_path / f"new{suffix}"
    frame = _table()
    if suffix == ".xlsx":
        frame.to_excel(new, index=False)
    elif suffix == ".parquet":
        frame.assign(Income=pd.to_numeric(frame["Income"], errors="coerce")).to_parquet(new)
    else:
        frame.to_csv(new, index=False)
    model = str(tmp_path / "out" / "model.json")
    code, _, err = run_cli("assign", model, str(new), "--out", str(tmp_path / "a.csv"))
    assert code == 0, err
    _ids_kept(tmp_path / "a.csv")
