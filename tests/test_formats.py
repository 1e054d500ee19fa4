"""The same table read from CSV variants, Parquet and Excel gives the same segments."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from custseg import SegmentationConfig, load_table, segment


@pytest.fixture
def table(make_customers):
    return make_customers(200, seed=4)


def _sizes(source):
    r = segment(source, SegmentationConfig(k=4, n_init=3))
    return [s.size for s in r.segments], r.data.id_column


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("plain.csv", lambda df, p: df.to_csv(p, index=False)),
        ("semicolon.csv", lambda df, p: df.to_csv(p, index=False, sep=";")),
        ("tabs.tsv", lambda df, p: df.to_csv(p, index=False, sep="\t")),
        ("bom.csv", lambda df, p: df.to_csv(p, index=False, encoding="utf-8-sig")),
        ("utf16.csv", lambda df, p: df.to_csv(p, index=False, encoding="utf-16")),
        ("gzipped.csv.gz", lambda df, p: df.to_csv(p, index=False, compression="gzip")),
        ("table.parquet", lambda df, p: df.to_parquet(p, index=False)),
        ("book.xlsx", lambda df, p: df.to_excel(p, index=False)),
    ],
)
def test_formats_agree(tmp_path, table, name, writer):
    path = tmp_path / name
    writer(table, path)
    assert _sizes(path) == _sizes(table)
    loaded = load_table(path)
    assert list(loaded.frame.columns) == list(table.columns)


def test_excel_sheet_choice(tmp_path, table):
    import pandas as pd

    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"note": ["cover sheet"]}).to_excel(xl, sheet_name="Cover", index=False)
        table.to_excel(xl, sheet_name="Customers", index=False)
    out = tmp_path / "o"
    code, _, err = run_cli("segment", str(path), "--sheet", "Custmers", "--out", str(out), "-q")
    assert code == 1 and "has no sheet named 'Custmers'; its sheets are: Cover, Customers" in err
    code, _, err = run_cli(
        "segment", str(path), "--sheet", "Customers", "--out", str(out), "-q", "--no-plots"
    )
    assert code == 0, err
    assert json.loads((out / "segments.json").read_text())["data"]["n_used"] == 200
