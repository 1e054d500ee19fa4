"""A corpus of bad and awkward customer tables, built on the fly, each with its expected outcome.

Every :class:`Case` writes its file into a folder (``build(folder) -> path``) and
says exactly what ``custseg segment`` must do with it:

* failures: exit code 1, the key words of the one-line message, no output folder;
* successes: exit code 0, the repairs stated in ``segments.json`` ``data.repairs``,
  every input row present exactly once in ``assignments.csv`` and, where a row is
  left out, the reason.

The files are generated (no third-party data is shipped) from a small seeded
customer table, then broken the way real exports are broken.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from custseg.data.demo import make_customers

N = 40  # rows in the base table: small enough for fast runs, enough for k up to 4

FAST = ("--no-plots", "--quiet", "--k-max", "4", "--n-init", "2")


def base(n: int = N, seed: int = 1) -> pd.DataFrame:
    """The seeded base table: CustomerID, Gender, Age, Annual Income (k$), Spending Score."""
    return make_customers(max(n, N), seed=seed).head(n).copy()


def csv_text(frame: pd.DataFrame, sep: str = ",") -> str:
    return frame.to_csv(index=False, sep=sep, lineterminator="\n")


@dataclass(frozen=True)
class Case:
    """One corpus entry and its exact expected outcome."""

    name: str
    build: Callable[[Path], Path]
    code: int
    message: tuple[str, ...] = ()  # key words of the error line (failures)
    repairs: tuple[str, ...] = ()  # key words that must appear in data.repairs (successes)
    args: tuple[str, ...] = ()
    n_rows: int | None = None  # rows expected in assignments.csv (successes)
    left_out: dict[int, str] = field(default_factory=dict)  # 1-based row -> reason words
    check: Callable[[Path], None] | None = None  # extra assertions on the output folder
    env: dict[str, str] = field(default_factory=dict)  # environment for the run


def _write(name: str, text: str, encoding: str = "utf-8") -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        p = folder / name
        p.write_bytes(text.encode(encoding))
        return p

    return build


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        p = folder / name
        p.write_bytes(data)
        return p

    return build


def _frame(name: str, make: Callable[[], pd.DataFrame], sep: str = ",", encoding="utf-8"):
    def build(folder: Path) -> Path:
        p = folder / name
        p.write_bytes(csv_text(make(), sep).encode(encoding))
        return p

    return build


def _with(column: str, rows: dict[int, object], df: pd.DataFrame | None = None) -> pd.DataFrame:
    """The base table with some cells (0-based rows) replaced; the column becomes text."""
    df = base() if df is None else df
    df[column] = df[column].astype(object)
    for i, v in rows.items():
        df.loc[i, column] = v
    return df


def _ids_in_assignments(expected_ids: list[str]) -> Callable[[Path], None]:
    def check(out: Path) -> None:
        a = pd.read_csv(out / "assignments.csv", dtype=str, keep_default_na=False)
        assert a.iloc[:, 0].tolist() == expected_ids

    return check


# --- builders for the cases that need more than one line -----------------------------


def _fewer_rows_than_k(folder: Path) -> Path:
    return _frame("three.csv", lambda: base(3))(folder)


def _identical(folder: Path) -> Path:
    df = pd.DataFrame({"Age": [30] * 10, "Income": [50] * 10, "Spending": [40] * 10})
    return _frame("same.csv", lambda: df)(folder)


def _decimal_commas(folder: Path) -> Path:
    df = base()
    df["Spending Score (1-100)"] = [f"{v / 10:.1f}".replace(".", ",") for v in df.iloc[:, 4]]
    return _frame("eu.csv", lambda: df, sep=";")(folder)


def _thousands(folder: Path) -> Path:
    df = base()
    df["Annual Income (k$)"] = [f"{v * 1000:,}" for v in df["Annual Income (k$)"]]
    return _frame("thousands.csv", lambda: df)(folder)


def _eu_thousands(folder: Path) -> Path:
    df = base()
    df["Annual Income (k$)"] = [
        f"{v * 1000 + 0.5:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        for v in df["Annual Income (k$)"]
    ]
    return _frame("eu_thousands.csv", lambda: df, sep=";")(folder)


def _currency(folder: Path) -> Path:
    df = base()
    df["Annual Income (k$)"] = [f"${v}" for v in df["Annual Income (k$)"]]
    df.loc[3, "Annual Income (k$)"] = "€ 45"
    return _frame("currency.csv", lambda: df)(folder)


def _percent(folder: Path) -> Path:
    df = base()
    df["Spending Score (1-100)"] = [f"{v}%" for v in df["Spending Score (1-100)"]]
    return _frame("percent.csv", lambda: df)(folder)


def _na_tokens(folder: Path) -> Path:
    df = _with("Age", {2: "N/A", 5: "-", 8: "null"})
    df = _with("Annual Income (k$)", {11: ""}, df)
    return _frame("na.csv", lambda: df)(folder)


def _negative(folder: Path) -> Path:
    df = base()
    df.loc[4, "Age"] = -34
    df.loc[9, "Annual Income (k$)"] = -20
    return _frame("negative.csv", lambda: df)(folder)


def _negative_check(out: Path) -> None:
    import json

    doc = json.loads((out / "segments.json").read_text())
    # flagged, not changed: the population minimum is still the negative value
    assert doc["population"]["Age"]["min"] == -34
    assert doc["population"]["Annual Income (k$)"]["min"] == -20


def _constant(folder: Path) -> Path:
    df = base()
    df.insert(2, "Country code", 44)
    return _frame("constant.csv", lambda: df)(folder)


def _constant_check(out: Path) -> None:
    import json

    doc = json.loads((out / "segments.json").read_text())
    assert "Country code" not in doc["features"]
    assert "same value" in doc["data"]["ignored"]["Country code"]


def _dup_columns(folder: Path) -> Path:
    df = base()
    text = csv_text(df).replace("Spending Score (1-100)", "Age", 1)
    return _write("dupcols.csv", text)(folder)


def _dup_ids(folder: Path) -> Path:
    df = base()
    df.loc[7, "CustomerID"] = 7  # row 8 repeats row 7's id
    return _frame("dupids.csv", lambda: df)(folder)


def _dup_ids_check(out: Path) -> None:
    import json

    doc = json.loads((out / "segments.json").read_text())
    assert doc["data"]["id_column"] is None
    assert "CustomerID" not in doc["features"]
    assert "duplicate" in doc["data"]["ignored"]["CustomerID"]


def _id_gaps(folder: Path) -> Path:
    df = base()
    df["CustomerID"] = [3 * i + 7 for i in range(N)]
    return _frame("idgaps.csv", lambda: df)(folder)


def _id_missing(folder: Path) -> Path:
    df = _with("CustomerID", {6: ""})
    return _frame("idmissing.csv", lambda: df)(folder)


def _latin1(folder: Path) -> Path:
    df = base()
    df["Gender"] = df["Gender"].map({"Male": "Mâle", "Female": "Femelle"})
    df = df.rename(columns={"Age": "Âge"})
    return _frame("latin1.csv", lambda: df, encoding="latin-1")(folder)


def _ragged_long(folder: Path) -> Path:
    lines = csv_text(base()).splitlines()
    lines[6] += ",99"
    return _write("ragged.csv", "\n".join(lines) + "\n")(folder)


def _ragged_short(folder: Path) -> Path:
    lines = csv_text(base()).splitlines()
    lines[6] = lines[6].rsplit(",", 1)[0]  # data row 6 lost its last cell
    return _write("short.csv", "\n".join(lines) + "\n")(folder)


def _quoted_newlines(folder: Path) -> Path:
    df = base()
    df.insert(1, "Note", ["line one\nline two" if i % 5 == 0 else "ok" for i in range(N)])
    return _frame("newlines.csv", lambda: df)(folder)


def _trailing_empty_columns(folder: Path) -> Path:
    lines = csv_text(base()).splitlines()
    return _write("trailing.csv", "\n".join(ln + ",,," for ln in lines) + "\n")(folder)


def _totals_row(folder: Path) -> Path:
    df = base()
    total = {c: df[c].sum() for c in ["Age", "Annual Income (k$)", "Spending Score (1-100)"]}
    text = csv_text(df) + f"Total,,{total['Age']},{total['Annual Income (k$)']},"
    text += f"{total['Spending Score (1-100)']}\n"
    return _write("totals.csv", text)(folder)


def _totals_unlabelled(folder: Path) -> Path:
    df = base()
    total = [df[c].sum() for c in ["Age", "Annual Income (k$)", "Spending Score (1-100)"]]
    text = csv_text(df.drop(columns="CustomerID")) + ",{},{},{}\n".format(*total)
    return _write("sums.csv", text)(folder)


def _xlsx(folder: Path) -> Path:
    p = folder / "book.xlsx"
    with pd.ExcelWriter(p, engine="openpyxl") as xw:
        pd.DataFrame({"note": ["cover sheet"]}).to_excel(xw, sheet_name="Cover", index=False)
        base().to_excel(xw, sheet_name="Customers", index=False)
    return p


def _xlsx_dup_header(folder: Path) -> Path:
    p = folder / "dup.xlsx"
    df = base()
    df.columns = ["CustomerID", "Gender", "Age", "Age", "Spending Score (1-100)"]
    df.to_excel(p, index=False, engine="openpyxl")
    return p


def _parquet(folder: Path) -> Path:
    p = folder / "customers.parquet"
    base().to_parquet(p)
    return p


def _gzip(folder: Path) -> Path:
    p = folder / "customers.csv.gz"
    p.write_bytes(gzip.compress(csv_text(base()).encode(), mtime=0))
    return p


def _garbage(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    return _bytes("garbage.csv", rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())(folder)


def _wide(n_columns: int) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        rng = np.random.default_rng(0)
        extra = pd.DataFrame(
            rng.integers(0, 100, (N, n_columns)), columns=[f"c{i}" for i in range(n_columns)]
        )
        return _frame("wide.csv", lambda: pd.concat([base(), extra], axis=1))(folder)

    return build


def _unicode_names(folder: Path) -> Path:
    df = base().rename(
        columns={"Age": "年齢 🎂", "Annual Income (k$)": "<b>Income</b> & <script>x</script>"}
    )
    return _frame("names.csv", lambda: df)(folder)


def _unicode_check(out: Path) -> None:
    import json

    doc = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    assert "年齢 🎂" in doc["features"]
    assert "<b>Income</b> & <script>x</script>" in doc["features"]


def _formulas(folder: Path) -> Path:
    df = base()
    df["CustomerID"] = [f"C{i}" for i in range(N)]
    df.loc[0, "CustomerID"] = '=HYPERLINK("http://x","y")'
    df.loc[1, "CustomerID"] = "+1+2"
    df.loc[2, "CustomerID"] = "-3+4"
    df.loc[3, "CustomerID"] = "@SUM(A1)"
    return _frame("formulas.csv", lambda: df)(folder)


def _formulas_check(out: Path) -> None:
    text = (out / "assignments.csv").read_text(encoding="utf-8")
    for cell in ["'=HYPERLINK", "'+1+2", "'-3+4", "'@SUM(A1)"]:
        assert cell in text
    first = [ln.split(",")[0] for ln in text.splitlines()[1:]]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in first)


def _text_in_numeric(folder: Path) -> Path:
    return _frame("typo.csv", lambda: _with("Annual Income (k$)", {4: "abc"}))(folder)


def _xls(folder: Path) -> Path:
    return _bytes("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)(folder)


def _bad_xlsx(folder: Path) -> Path:
    return _bytes("broken.xlsx", b"PK\x03\x04" + b"not really a zip" * 20)(folder)


def _bad_gzip(folder: Path) -> Path:
    return _bytes("broken.csv.gz", b"\x1f\x8b\x08\x00" + b"garbage" * 20)(folder)


def _no_header(folder: Path) -> Path:
    lines = csv_text(base()).splitlines()[1:]
    return _write("noheader.csv", "\n".join(lines) + "\n")(folder)


def _utf16(encoding: str, name: str, sep: str = "\t"):
    def build(folder: Path) -> Path:
        p = folder / name
        text = csv_text(base(), sep)
        data = text.encode(encoding)
        if encoding == "utf-16":  # Python writes a BOM: the Excel "Unicode text" export
            assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
        p.write_bytes(data)
        return p

    return build


def _bool_feature(folder: Path) -> Path:
    df = base()
    df["Member"] = [i % 2 == 0 for i in range(N)]
    return _frame("bool.csv", lambda: df)(folder)


def _blank_lines(folder: Path) -> Path:
    return _write("blank.csv", csv_text(base()) + "\n\n  \n\n")(folder)


def _whitespace_only(folder: Path) -> Path:
    return _write("spaces.csv", "\n\n   \n")(folder)


def _excel_errors(folder: Path) -> Path:
    df = _with("Age", {1: "#N/A", 3: "#VALUE!", 5: "#DIV/0!"})
    return _frame("excel_errors.csv", lambda: df)(folder)


def _single_column(folder: Path) -> Path:
    return _frame("one_col.csv", lambda: base()[["Spending Score (1-100)"]])(folder)


def _stray_named_empty(folder: Path) -> Path:
    df = base()
    df.insert(3, "Notes", "")
    return _frame("stray.csv", lambda: df)(folder)


def _mostly_text_column(folder: Path) -> Path:
    df = base()
    df.insert(1, "City", ["Leeds", "York", "Bath", "Hull"] * (N // 4))
    df.loc[3, "City"] = "1066"  # a number in a text column does not make it numeric
    return _frame("city.csv", lambda: df)(folder)


def _ids_base() -> list[str]:
    return [str(i) for i in base()["CustomerID"]]


def _out_is_file(folder: Path) -> Path:
    (folder / "out").write_text("my notes")
    return _frame("ok.csv", base)(folder)


def _out_not_results(folder: Path) -> Path:
    (folder / "out").mkdir()
    (folder / "out" / "thesis.docx").write_text("precious")
    return _frame("ok.csv", base)(folder)


def _out_working_folder(folder: Path) -> Path:
    """Issue 11 case 1: a working folder with code and an unrelated model.json."""
    (folder / "out" / "src").mkdir(parents=True)
    (folder / "out" / "train.py").write_text("print('training')\n")
    (folder / "out" / "src" / "code.py").write_text("x = 1\n")
    (folder / "out" / "model.json").write_text('{"mine": true}\n')
    return _frame("ok.csv", base)(folder)


def _out_working_folder_check(out: Path) -> None:
    assert (out / "train.py").read_text() == "print('training')\n"
    assert (out / "src" / "code.py").read_text() == "x = 1\n"


def _out_holds_input(folder: Path) -> Path:
    """Issue 11 case 2: the input file inside --out."""
    (folder / "out").mkdir()
    return _frame("ok.csv", base)(folder / "out")


def _out_dangling_link(folder: Path) -> Path:
    (folder / "out").symlink_to(folder / "gone")
    return _frame("ok.csv", base)(folder)


def _id_named_segment(folder: Path) -> Path:
    """Issue 11 case 4: the id column is called like an output column."""
    return _frame("ids.csv", lambda: base().rename(columns={"CustomerID": "segment"}))(folder)


def _zero_padded_ids() -> list[str]:
    return [f"{i:05d}" for i in range(1, N + 1)]


def _ids_zero_padded(folder: Path) -> Path:
    """Issue 11 case 20: ids are text; '00001' must not become '1'."""
    df = base()
    df["CustomerID"] = _zero_padded_ids()
    return _frame("padded.csv", lambda: df)(folder)


def _ids_007_and_7_0(folder: Path) -> Path:
    """Issue 11 case 20: '007' and '7.0' are two different ids, not duplicates."""
    df = base()
    df["CustomerID"] = df["CustomerID"].astype(object)
    df.loc[6, "CustomerID"], df.loc[7, "CustomerID"] = "007", "7.0"
    return _frame("ids.csv", lambda: df)(folder)


def _last_customer_total_wine(folder: Path) -> Path:
    """Issue 11 case 21: a last customer named 'Total Wine & More' is a customer."""
    df = base()
    df.insert(0, "Company", [f"Shop {i}" for i in range(N - 1)] + ["Total Wine & More"])
    return _frame("shops.csv", lambda: df)(folder)


def _shift_jis(folder: Path) -> Path:
    """Issue 11 case 24: a Japanese export in Shift-JIS is read, not called mixed encodings."""
    df = base()
    names = ["山田太郎", "佐藤花子", "鈴木一郎", "高橋美咲"]
    df.insert(1, "氏名", [names[i % 4] for i in range(N)])
    df.insert(2, "都市", ["東京" if i % 2 else "大阪" for i in range(N)])
    return _frame("sjis.csv", lambda: df, encoding="shift_jis")(folder)


def _xlsx_uncalculated(folder: Path) -> Path:
    """Issue 11 case 24: formulas without saved results (openpyxl never calculates)."""
    import openpyxl

    df = base()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append(list(row))
    ws["C4"] = "=C3+1"  # Age of customer rows 3 and 8
    ws["C9"] = "=C8*2"
    p = folder / "calc.xlsx"
    wb.save(p)
    return p


def _currency_decimals(folder: Path) -> Path:
    df = base()
    df["Annual Income (k$)"] = [f"${v}.125" for v in df["Annual Income (k$)"]]
    return _frame("cents.csv", lambda: df)(folder)


def _population(feature: str, stat: str, expected: float) -> Callable[[Path], None]:
    def check(out: Path) -> None:
        import json

        doc = json.loads((out / "segments.json").read_text())
        assert doc["population"][feature][stat] == expected

    return check


def _mixed_formats(folder: Path) -> Path:
    return _frame("mixed.csv", lambda: _with("Age", {3: "30,5", 4: "31.25", 5: "$32"}))(folder)


def _signed_and_paid(folder: Path) -> Path:
    df = base()
    df["Balance change"] = [(-1) ** i * (i + 3) for i in range(N)]
    df["Paid"] = [i % 7 for i in range(N)]  # ends in "id" but is an amount, with repeats
    return _frame("signed.csv", lambda: df)(folder)


def _signed_check(out: Path) -> None:
    import json

    doc = json.loads((out / "segments.json").read_text())
    assert {"Balance change", "Paid"} <= set(doc["features"])
    assert not any("negative" in r for r in doc["data"]["repairs"])


def _inc_min() -> float:
    return float(base()["Annual Income (k$)"].min()) + 0.125


def _saved_index(folder: Path) -> Path:
    p = folder / "indexed.csv"
    p.write_text(base().to_csv(lineterminator="\n"))  # pandas' default: the index, unnamed
    return p


def _title_rows(folder: Path) -> Path:
    text = "Customer report 2024,,,,\n,,,,\n" + csv_text(base())
    return _write("titled.csv", text)(folder)


def _late_bad_byte(folder: Path) -> Path:
    # valid UTF-8 for the first 256 KB read to detect the encoding, then one latin-1 byte
    df = base(N)
    big = pd.concat([df] * 400, ignore_index=True)
    big["CustomerID"] = range(1, len(big) + 1)
    data = csv_text(big).encode() + "9001,Mâle,30,40,50\n".encode("latin-1")
    return _bytes("late.csv", data)(folder)


def _space_thousands(folder: Path) -> Path:
    df = base()
    df["Annual Income (k$)"] = [f"{v * 1000:,}".replace(",", "\u00a0") for v in df.iloc[:, 3]]
    return _frame("spaces.csv", lambda: df, sep=";")(folder)


def _line_endings(ending: str, name: str) -> Callable[[Path], Path]:
    return lambda folder: _write(name, csv_text(base()).replace("\n", ending))(folder)


FEATURES_2 = ("--features", "Annual Income (k$),Spending Score (1-100)")

CASES: list[Case] = [
    # --- empty and tiny files ---------------------------------------------------
    Case("zero_byte", _bytes("empty.csv", b""), 1, ("empty", "0 bytes")),
    Case("whitespace_only", _whitespace_only, 1, ("no text", "header row")),
    Case(
        "header_only",
        _write("header.csv", "CustomerID,Age,Income\n"),
        1,
        ("header but no customers",),
    ),
    Case("one_row", _frame("one.csv", lambda: base(1)), 1, ("only 1 customer", "at least 2")),
    Case("fewer_rows_than_k", _fewer_rows_than_k, 1, ("smaller than k=5",), args=("--k", "5")),
    Case("all_rows_identical", _identical, 1, ("same value in every row", "nothing to segment")),
    # --- numbers as exported ------------------------------------------------------
    Case(
        "text_in_numeric_feature",
        _text_in_numeric,
        1,
        ("'Annual Income (k$)'", "row 5", "'abc'"),
        args=FEATURES_2,
    ),
    Case(
        "text_in_numeric_auto",
        _text_in_numeric,
        1,
        ("'Annual Income (k$)'", "row 5", "'abc'", "--features"),
    ),
    Case("decimal_commas", _decimal_commas, 0, repairs=("decimal commas",), n_rows=N),
    Case("thousands_separators", _thousands, 0, repairs=("thousands separators",), n_rows=N),
    Case(
        "eu_thousands_and_decimals", _eu_thousands, 0, repairs=("thousands separators",), n_rows=N
    ),
    Case("currency_signs", _currency, 0, repairs=("currency signs",), n_rows=N),
    Case("percent_signs", _percent, 0, repairs=("percent signs",), n_rows=N),
    Case(
        "na_dash_null_empty",
        _na_tokens,
        0,
        n_rows=N,
        args=("--missing", "drop"),
        left_out={3: "missing value in 'Age'", 6: "'Age'", 9: "'Age'", 12: "'Annual Income"},
    ),
    Case(
        "excel_error_cells",
        _excel_errors,
        0,
        n_rows=N,
        args=("--missing", "drop"),
        left_out={2: "'Age'", 4: "'Age'", 6: "'Age'"},
    ),
    Case("inf", _frame("inf.csv", lambda: _with("Age", {6: "inf"})), 1, ("infinite", "row 7")),
    Case(
        "huge_1e308",
        _frame("huge.csv", lambda: _with("Age", {6: "1e308"})),
        1,
        ("too large", "row 7", "1e+308"),
    ),
    Case(
        "negative_values_flagged",
        _negative,
        0,
        repairs=("negative", "'Age'", "row 5", "'Annual Income (k$)'", "row 10", "kept"),
        n_rows=N,
        check=_negative_check,
    ),
    Case("constant_column_auto", _constant, 0, n_rows=N, check=_constant_check),
    Case(
        "constant_column_given",
        _constant,
        1,
        ("'Country code'", "same value (44)"),
        args=("--features", "Country code,Age"),
    ),
    Case("bool_feature_given", _bool_feature, 1, ("true/false",), args=("--features", "Member")),
    Case(
        "all_text",
        _write("text.csv", "name,city\nAnn,Leeds\nBob,York\nCy,Bath\n"),
        1,
        ("no behaviour or value columns", "--features"),
    ),
    Case("mostly_text_column", _mostly_text_column, 0, n_rows=N),
    # --- columns and ids ---------------------------------------------------------
    Case("duplicate_column_names", _dup_columns, 1, ("two columns named 'Age'", "rename")),
    Case(
        "duplicate_ids_detected",
        _dup_ids,
        0,
        repairs=("'CustomerID'", "duplicate", "rows 7, 8"),
        n_rows=N,
        check=_dup_ids_check,
    ),
    Case(
        "duplicate_ids_given",
        _dup_ids,
        1,
        ("'CustomerID'", "duplicate value '7'", "rows 7, 8"),
        args=("--id", "CustomerID"),
    ),
    Case(
        "id_with_gaps",
        _id_gaps,
        0,
        n_rows=N,
        check=_ids_in_assignments([str(3 * i + 7) for i in range(N)]),
    ),
    Case("id_missing_detected", _id_missing, 0, repairs=("'CustomerID'", "empty"), n_rows=N),
    Case(
        "id_missing_given",
        _id_missing,
        1,
        ("'CustomerID'", "empty in row 7"),
        args=("--id", "CustomerID"),
    ),
    # A first row of data (numbers, and a label found again below): read as a customer,
    # the columns named column_1.. (the table of many clustering benchmark sets).
    Case(
        "no_header_row", _no_header, 0, repairs=("no header row", "column_1 to column_5"), n_rows=N
    ),
    Case("unicode_and_html_names", _unicode_names, 0, n_rows=N, check=_unicode_check),
    Case(
        "very_wide_file",
        _wide(5000),
        0,
        args=FEATURES_2,
        n_rows=N,
    ),
    # every column a feature: the whole pipeline on 1,000 dimensions (kept smaller for speed)
    Case("very_wide_file_auto", _wide(1000), 0, n_rows=N),
    Case("stray_named_empty_column", _stray_named_empty, 0, n_rows=N),
    Case(
        "trailing_empty_columns",
        _trailing_empty_columns,
        0,
        repairs=("dropped 3 empty column",),
        n_rows=N,
    ),
    Case("single_column", _single_column, 0, n_rows=N),
    # --- encodings and delimiters ------------------------------------------------
    Case(
        "utf8_bom",
        _bytes("bom.csv", b"\xef\xbb\xbf" + csv_text(base()).encode()),
        0,
        n_rows=N,
        check=_ids_in_assignments(_ids_base()),
    ),
    Case("latin1", _latin1, 0, repairs=("cp1252",), n_rows=N),
    Case("utf16_bom_tab", _utf16("utf-16", "unicode.txt"), 0, repairs=("utf-16",), n_rows=N),
    Case("utf16le_no_bom", _utf16("utf-16-le", "u16.csv", ","), 0, repairs=("utf-16",), n_rows=N),
    Case("semicolon", _frame("semi.csv", base, sep=";"), 0, n_rows=N),
    Case("tab", _frame("tab.tsv", base, sep="\t"), 0, n_rows=N),
    Case("pipe", _frame("pipe.txt", base, sep="|"), 0, n_rows=N),
    Case("ragged_long_row", _ragged_long, 1, ("row 6 (line 7)", "6 fields", "header has 5")),
    Case(
        "ragged_short_row",
        _ragged_short,
        0,
        repairs=("row 6", "fewer fields", "empty"),
        n_rows=N,
        args=("--missing", "drop"),
        left_out={6: "missing value"},
    ),
    Case("quoted_newlines", _quoted_newlines, 0, n_rows=N, check=_ids_in_assignments(_ids_base())),
    Case("blank_lines_at_end", _blank_lines, 0, n_rows=N),
    Case(
        "unclosed_quote",
        _write("quote.csv", csv_text(base()).replace("\n5,", '\n"5,', 1)),
        1,
        ("row 5 (line 6)", "never closed", "close or remove that quote"),
    ),
    Case(
        "header_with_extra_delimiters",
        _write("header_extra.csv", csv_text(base()).replace("Age,", "Age,,,", 1)),
        1,
        ("7 fields in its header row", "fewer in most rows", "fix the header"),
    ),
    # --- totals --------------------------------------------------------------------
    Case(
        "totals_row_labelled",
        _totals_row,
        0,
        repairs=("totals row", "row 41", "'Total'"),
        n_rows=N + 1,
        left_out={41: "totals row"},
    ),
    Case(
        "totals_row_sums",
        _totals_unlabelled,
        0,
        repairs=("totals row", "row 41", "sums"),
        n_rows=N + 1,
        left_out={41: "totals row"},
    ),
    # --- containers --------------------------------------------------------------
    Case(
        "xlsx_sheet_chosen",
        _xlsx,
        0,
        args=("--sheet", "Customers"),
        n_rows=N,
    ),
    Case("xlsx_first_sheet_not_a_table", _xlsx, 1, ("Cover", "--sheet")),
    Case(
        "xlsx_no_such_sheet",
        _xlsx,
        1,
        ("no sheet named 'Nope'", "Customers"),
        args=("--sheet", "Nope"),
    ),
    Case(
        "xlsx_duplicate_header",
        _xlsx_dup_header,
        1,
        ("two columns named 'Age' (columns 3 and 4)",),
    ),
    Case("parquet", _parquet, 0, n_rows=N, check=_ids_in_assignments(_ids_base())),
    Case(
        "broken_parquet",
        _bytes("broken.parquet", b"PAR1" + b"\x00garbage" * 30),
        1,
        ("not a readable Parquet file",),
    ),
    Case("gzip_csv", _gzip, 0, n_rows=N),
    Case("binary_garbage", _garbage, 1, ("binary", "CSV")),
    Case("old_xls", _xls, 1, (".xls", "save it as .xlsx")),
    Case("broken_xlsx", _bad_xlsx, 1, ("not a readable .xlsx",)),
    Case("broken_gzip", _bad_gzip, 1, ("cannot be decompressed",)),
    Case(
        "currency_with_decimal_points",
        _currency_decimals,
        0,
        repairs=("currency signs",),
        n_rows=N,
        check=_population("Annual Income (k$)", "min", _inc_min()),
    ),
    Case("mixed_number_formats", _mixed_formats, 1, ("'Age'", "mixes number formats", "'30,5'")),
    Case("signed_column_and_paid_column", _signed_and_paid, 0, n_rows=N, check=_signed_check),
    Case(
        "space_thousands_separators",
        _space_thousands,
        0,
        repairs=("thousands separators",),
        n_rows=N,
    ),
    Case(
        "saved_pandas_index",
        _saved_index,
        0,
        repairs=("dropped column 1", "row numbers 0..39"),
        n_rows=N,
    ),
    # A report's title (and an empty row) above the header: skipped, and said.
    Case(
        "title_rows_above_header",
        _title_rows,
        0,
        repairs=("skipped 1 line above the header ('Customer report 2024')",),
        n_rows=N,
    ),
    Case(
        "invalid_utf8_after_first_256kb",
        _late_bad_byte,
        1,
        ("not valid utf-8", "at line 16002", "save it as UTF-8"),
    ),
    Case("crlf_line_endings", _line_endings("\r\n", "crlf.csv"), 0, n_rows=N),
    Case("cr_line_endings", _line_endings("\r", "cr.csv"), 0, n_rows=N),
    # --- memory guard (the limit lowered so a small file trips it) ------------------
    Case(
        "memory_guard",
        _frame("ok.csv", base),
        1,
        ("needs about", "of memory", "more than the 1.0 KB available", "--sample"),
        env={"CUSTSEG_MEMORY_LIMIT": "1K"},
    ),
    Case(
        "memory_limit_not_a_size",
        _frame("ok.csv", base),
        1,
        ("CUSTSEG_MEMORY_LIMIT='lots'", "500M"),
        env={"CUSTSEG_MEMORY_LIMIT": "lots"},
    ),
    # --- formulas --------------------------------------------------------------------
    Case("formula_cells", _formulas, 0, n_rows=N, check=_formulas_check),
    # --- paths and options --------------------------------------------------------
    Case("missing_file", lambda folder: folder / "nope.csv", 1, ("does not exist",)),
    Case(
        "feature_typo",
        _frame("ok.csv", base),
        1,
        ("'Income'", "did you mean"),
        args=("--features", "Income"),
    ),
    Case(
        "missing_error_policy",
        _na_tokens,
        1,
        ("'Age'", "3 empty value", "rows 3, 6, 9", "--missing drop"),
        args=("--missing", "error"),
    ),
    Case("out_is_a_file", _out_is_file, 1, ("--out", "is a file")),
    Case("out_holds_other_files", _out_not_results, 1, ("not empty", "no custseg results")),
    Case(
        "ids_zero_padded",
        _ids_zero_padded,
        0,
        n_rows=N,
        check=_ids_in_assignments(_zero_padded_ids()),
    ),
    Case("ids_007_and_7.0", _ids_007_and_7_0, 0, n_rows=N, args=("--id", "CustomerID")),
    Case(
        "xlsx_formulas_without_results",
        _xlsx_uncalculated,
        0,
        repairs=("column 'Age' has formulas without a saved result (rows 3, 8)", "Excel"),
        n_rows=N,
        left_out={3: "missing value in 'Age'", 8: "missing value in 'Age'"},
        args=("--missing", "drop"),  # the default (auto) fills the two gaps, flagged
    ),
    Case("shift_jis", _shift_jis, 0, repairs=("read as cp932 text",), n_rows=N),
    Case("last_customer_named_total_wine", _last_customer_total_wine, 0, n_rows=N),
    Case("out_working_folder", _out_working_folder, 1, ("not empty", "--force")),
    Case(
        "out_working_folder_forced",
        _out_working_folder,
        0,
        args=("--force",),
        n_rows=N,
        check=_out_working_folder_check,
    ),
    Case("out_holds_the_input", _out_holds_input, 1, ("holds the input file",), args=("--force",)),
    Case("out_dangling_link", _out_dangling_link, 1, ("symbolic link", "does not exist")),
    Case(
        "id_named_segment",
        _id_named_segment,
        1,
        ("--id 'segment'", "ids would be lost"),
        args=("--id", "segment"),
    ),
]

CASES_BY_NAME = {c.name: c for c in CASES}
assert len(CASES_BY_NAME) == len(CASES), "case names must be unique"

__all__ = ["CASES", "CASES_BY_NAME", "FAST", "Case", "N", "base", "csv_text"]
