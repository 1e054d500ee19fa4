"""``custseg rfm --engine spark``: the per-customer table on Spark equals DuckDB's (issue 18).

Every rule of ``docs/rfm.md`` is met by a line of the small logs below; for each log and
set of options the Spark table equals the DuckDB table (money within 1e-6: Spark adds
sums in another order) and the summaries are equal, and the errors are the same one line.
Skips cleanly without pyspark or Java.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pandas as pd
import pytest

from conftest import run_cli
from custseg.errors import ConfigError, DataError
from custseg.rfm.query import LogRules, date_format_groups, per_customer_table
from rfm_logs import make_invoice_log

pytestmark = pytest.mark.xdist_group("spark")

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Currency\n"
# Quantity x price, day-first slash dates, two currencies: a line for every rule.
EVERY_RULE = HEADER + (
    "1001,P1,Mug,2,10/01/2024 10:00,5.00,17850.0,EUR\n"  # an id exported as a float
    "1001,P2,Plate,1,10/01/2024 10:00,10.00,17850,EUR\n"
    "1001,P2,Plate,1,10/01/2024 10:00,10.00,17850,EUR\n"  # a duplicate: counted once
    "1001,P2,Plate (blue),1,10/01/2024 10:00,10.00,17850,EUR\n"  # differs elsewhere: kept
    "1001,post,POSTAGE,1,10/01/2024 10:00,15.00,17850,EUR\n"  # not a product (any case)
    "1002,P1,Mug,4,01/02/2024 09:00,5.00,17850,EUR\n"
    "C1003,P1,Mug,-2,03/02/2024 09:00,5.00,17850,EUR\n"  # a cancellation
    "1004,P1,Mug,1,05/01/2024 12:00,5.00,C2,EUR\n"
    "1005,P2,Plate,3,20/02/2024 12:00,10.00,C2,eur\n"
    "1005,P1,Mug,-1,21/02/2024 12:00,5.00,C2,EUR\n"  # a return: negative quantity
    "C1006,P1,Mug,-3,10/02/2024 12:00,5.00,C3,EUR\n"  # C3 has only a return
    "1007,P1,Mug,10,15/02/2024 12:00,5.00,,EUR\n"  # no customer
    "1008,P1,Mug,2,,5.00,C4,EUR\n"  # no date
    "1009,P1,Mug,,28/02/2024 18:00,5.00,C4,EUR\n"  # no amount
    "1010,P1,Mug,2,28/02/2024 18:00,0.00,C4,EUR\n"  # zero price
    "1011,P9,Bad debt,1,28/02/2024 18:00,-50.00,C4,EUR\n"  # negative price
    "1012,P1,Mug,0,28/02/2024 18:00,5.00,C4,EUR\n"  # zero quantity
    "1013,P2,Plate,1,27/02/2024 18:00,10.00,C4,EUR\n"
    "1014,P9,Lamp,1,13/02/2024 08:00,40.00,C5,GBP\n"  # another currency
    "1015,P1,Mug,2,14/02/2024 08:00,4.00,C5,GBP\n"
    "1016,P2,Plate,1,29/02/2024 08:00,9.00,C6,GBP\n"
)
# A line amount, no invoice: ISO dates with offsets and fractions, dotted and month-name
# dates, month-first slash dates with two-digit years, numbers DuckDB reads.
AMOUNT_LOG = "client,order_date,total\n" + (
    "a,2024-03-01,10\n"
    "a,2024-03-01 23:30:00-02:00,5\n"  # 2024-03-02 01:30 UTC: a second order day
    "a,2024-03-05T08:00:00Z,7\n"
    "b,2024-03-02T23:00:00.5+0200,-4\n"  # a return: a negative amount
    "b,2024-03-01T12:00:00UTC,20\n"
    "c,2024-02-29T10:15,1_000\n"  # an underscore between digits: DuckDB reads 1000
    "c,20240228,+1.5\n"
    "d,31.01.2024 9:05,1e1\n"
    "d,15-Jan-2024 10:00,2.5\n"
    "e,1/13/2024 10:00,3\n"  # month-first (13 cannot be a month)
    "e,2/3/24,4\n"  # a two-digit year: 2024
    "e,2024/01/20,1\n"  # an ISO date with slashes
    "d,16-Jan-2024,1\n"  # a month-name date without a time (not an offset)
    "f,2024-03-04 10:00:00.1234567,6\n"  # more than 6 digits of a second
    "f,2024-3-6 9:05:07,0\n"  # zero amount
)


@pytest.fixture(scope="module")
def engine(spark_session):
    from custseg.engines.spark import SparkEngine

    return SparkEngine(spark_session)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rfm_spark")
    paths = {}
    for name, text in (("every_rule.csv", EVERY_RULE), ("amount.csv", AMOUNT_LOG)):
        (folder / name).write_text(text, encoding="utf-8")
        paths[name] = folder / name
    make_invoice_log(150, seed=3).to_csv(folder / "invoices.csv", index=False)
    paths["invoices.csv"] = folder / "invoices.csv"
    # Typed columns: UTC and naive timestamps, float ids (empty ones null), int quantities.
    utc = pd.Timestamp("2024-01-01 23:30", tz="UTC")
    typed = pd.DataFrame(
        {
            "CustomerID": [17850.0, 17850.0, None, 12345678.0, 12345678.0, 99.0],
            "InvoiceDate": [utc + pd.Timedelta(days=d) for d in (0, 3, 4, 5, 9, 10)],
            "InvoiceNo": ["1", "2", "3", "4", "C5", "6"],
            "Quantity": [1, 2, 3, 1, -1, 4],
            "UnitPrice": [2.5, 1.25, 3.0, 10.0, 10.0, 0.5],
            "Country": ["UK", "UK", "FR", "DE", "DE", "UK"],
        }
    )
    typed.to_parquet(folder / "typed.parquet", index=False)
    paths["typed.parquet"] = folder / "typed.parquet"
    naive = typed.assign(InvoiceDate=typed["InvoiceDate"].dt.tz_localize(None))
    naive.to_parquet(folder / "naive.parquet", index=False)
    paths["naive.parquet"] = folder / "naive.parquet"
    return paths


def _spark_table(path, rules, engine, **columns):
    from custseg.engines.spark_rfm import per_customer_table_spark

    return per_customer_table_spark(path, rules, columns=columns or None, engine=engine)


def _same(path, rules, engine, **columns):
    """The DuckDB and Spark tables and summaries of ``path``; asserts they are equal."""
    local, local_summary = per_customer_table(path, rules, columns=columns or None)
    spark, spark_summary = _spark_table(path, rules, engine, **columns)
    pd.testing.assert_frame_equal(spark, local, check_exact=False, rtol=0, atol=1e-6)
    assert spark_summary.left_out_amount.keys() == local_summary.left_out_amount.keys()
    for k, v in local_summary.left_out_amount.items():
        assert spark_summary.left_out_amount[k] == pytest.approx(v, abs=1e-6)
    amounts = {"left_out_amount": local_summary.left_out_amount}
    assert dataclasses.replace(spark_summary, **amounts) == local_summary
    return local, local_summary


def _same_error(path, rules, engine, kind=DataError, **columns):
    with pytest.raises(kind) as local:
        per_customer_table(path, rules, columns=columns or None)
    with pytest.raises(kind) as spark:
        _spark_table(path, rules, engine, **columns)
    assert str(spark.value) == str(local.value)
    return str(local.value)


def test_spark_patterns_come_from_the_strptime_formats():
    pytest.importorskip("pyspark")  # custseg.engines.spark_rfm needs it to import
    from custseg.engines.spark_rfm import spark_pattern

    assert spark_pattern("%Y-%m-%dT%H:%M:%S.%f%z") == "y-M-d'T'H:m:s.SSSSSSXXX"
    assert spark_pattern("%Y%m%d") == "yyyyMMdd"  # fixed widths where no separator splits
    assert spark_pattern("%d-%b-%Y %H:%M") == "d-MMM-y H:m"
    assert spark_pattern("%d/%m/%y") == "d/M/yy"
    for day_first in (True, False):
        for group in date_format_groups(day_first):
            assert all(spark_pattern(f) for f in group)  # every format has a pattern
    with pytest.raises(ValueError, match="%j"):
        spark_pattern("%Y-%j")


def test_every_rule_with_two_currencies(engine, logs):
    customers, summary = _same(logs["every_rule.csv"], LogRules(currency="EUR"), engine)
    assert summary.left_out == {
        "duplicate": 1,
        "no_customer": 1,
        "no_date": 1,
        "no_amount": 1,
        "other_currency": 3,
        "non_product": 1,
        "zero_price": 1,
        "negative_price": 1,
        "zero_amount": 1,
    }
    assert "day-first" in summary.date_formats
    c = customers.set_index("customer_id")
    assert c.loc["17850", "frequency"] == 2 and c.loc["17850", "monetary"] == pytest.approx(40.0)
    assert c.loc["C3", "left_out_reason"] != ""


def test_returns_dropped_as_of_and_other_non_products(engine, logs):
    rules = LogRules(currency="gbp", returns="drop", as_of=date(2024, 2, 20), non_product=("P9",))
    customers, summary = _same(logs["every_rule.csv"], rules, engine)
    assert summary.left_out["after_as_of"] == 1 and summary.left_out["non_product"] == 1
    assert list(customers["customer_id"]) == ["C5"]


def test_amount_column_iso_offsets_and_other_date_formats(engine, logs):
    customers, summary = _same(logs["amount.csv"], LogRules(), engine)
    c = customers.set_index("customer_id")
    assert c.loc["a", "frequency"] == 3  # 2024-03-01, 2024-03-02 (UTC) and 2024-03-05
    assert c.loc["b", "returns"] == pytest.approx(4.0)
    assert c.loc["c", "purchases"] == pytest.approx(1001.5)
    assert c.loc["e", "last_purchase"] == pd.Timestamp("2024-02-03")  # 2/3/24 is 2024
    assert c.loc["e", "first_purchase"] == pd.Timestamp("2024-01-13")
    assert "month-first" in summary.date_formats


@pytest.mark.parametrize("name", ["typed.parquet", "naive.parquet"])
def test_typed_parquet_columns(engine, spark_session, logs, name):
    # The same table whatever the session's time zone (set back afterwards).
    key = "spark.sql.session.timeZone"
    before = spark_session.conf.get(key)
    spark_session.conf.set(key, "America/New_York")
    try:
        customers, summary = _same(logs[name], LogRules(), engine)
        assert spark_session.conf.get(key) == "America/New_York"
    finally:
        spark_session.conf.set(key, before)
    assert "time zone" in summary.date_formats if name == "typed.parquet" else True
    assert list(customers["customer_id"]) == ["12345678", "17850", "99"]


def test_several_currencies_are_refused_alike(engine, logs):
    message = _same_error(logs["every_rule.csv"], LogRules(), engine)
    assert "currencies in 'Currency': EUR (18 lines), GBP (3 lines)" in message


def test_a_bad_date_and_a_bad_number_are_refused_alike(engine, tmp_path):
    p = tmp_path / "dates.csv"
    p.write_text("client,order_date,total\na,2024-01-01,1\nb,yesterday,2\nc,2024/13/45,3\n")
    message = _same_error(p, LogRules(), engine, date="order_date")
    assert "has 2 dates custseg cannot read (e.g. '2024/13/45')" in message
    p = tmp_path / "numbers.csv"
    # 1.5d is a number to Java, not to DuckDB (nor to custseg)
    p.write_text("client,order_date,total\na,2024-01-01,1\nb,2024-01-02,two\nc,2024-01-03,1.5d\n")
    message = _same_error(p, LogRules(), engine, amount="total")
    assert "has 2 values that are not numbers (e.g. '1.5d')" in message


def test_what_spark_does_not_read_is_refused_with_what_to_do(engine, logs, tmp_path):
    from custseg.engines.spark_rfm import per_customer_table_spark

    lines = EVERY_RULE.splitlines()
    wrapped = tmp_path / "wrapped.csv"
    wrapped.write_text(
        "\n".join([lines[0], lines[1], '"' + lines[2] + '"', *lines[3:]]) + "\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as exc:
        per_customer_table_spark(wrapped, LogRules(currency="EUR"), engine=engine)
    assert str(exc.value) == (
        f"'{wrapped}' has lines wrapped in quotes as a whole (one field instead of 8); "
        "--engine spark does not repair them: use --engine local (it does, and says so), "
        "or export the log again without the outer quotes"
    )
    workbook = tmp_path / "log.xlsx"
    pd.read_csv(logs["amount.csv"]).to_excel(workbook, index=False)
    with pytest.raises(ConfigError, match="Excel workbook; --engine spark reads CSV or Parquet"):
        per_customer_table_spark(workbook, LogRules(), engine=engine)
    with pytest.raises(DataError, match="does not exist"):
        per_customer_table_spark(tmp_path / "nowhere.csv", LogRules(), engine=engine)


def _rfm_json(folder):
    return json.loads((folder / "rfm.json").read_text(encoding="utf-8"))


def test_cli_spark_writes_what_local_writes(spark_session, logs, tmp_path):
    # The generated invoice log (tests/rfm_logs.py): every output of the per-customer table
    # is the local one; the scores, segments and clusters are the same local code.
    log = str(logs["invoices.csv"])
    local, spark = tmp_path / "local", tmp_path / "spark"
    code, _, err = run_cli("rfm", log, "--out", str(local), "--quiet")
    assert code == 0, err
    code, _, err = run_cli("rfm", log, "--engine", "spark", "--out", str(spark), "--quiet")
    assert code == 0, err
    assert (spark / "customers.csv").read_text() == (local / "customers.csv").read_text()
    assert _rfm_json(spark) == _rfm_json(local)
    assert _rfm_json(spark)["n_customers"] == 150
    # A new log assigned with the model: the same customers' scores and clusters.
    new_log = tmp_path / "new.csv"
    make_invoice_log(60, seed=8).to_csv(new_log, index=False)
    outs = {}
    for eng in ("local", "spark"):
        outs[eng] = tmp_path / f"assigned_{eng}.csv"
        code, out, err = run_cli(
            "assign",
            str(local / "model.json"),
            str(new_log),
            "--engine",
            eng,
            "--out",
            str(outs[eng]),
            "--quiet",
        )
        assert code == 0, err
        assert "scored with the model's score edges" in out
    assert outs["spark"].read_text() == outs["local"].read_text()


def test_cli_too_many_customers_is_one_line(spark_session, logs, tmp_path, monkeypatch):
    from custseg.engines import spark_rfm

    monkeypatch.setattr(spark_rfm, "DRIVER_CUSTOMERS", 100)
    log, out = str(logs["invoices.csv"]), tmp_path / "out"
    code, stdout, err = run_cli("rfm", log, "--engine", "spark", "--out", str(out), "--quiet")
    assert (code, stdout) == (1, "")
    assert err == (
        f"Error: '{log}' has 150 customers; --engine spark brings the per-customer table to "
        "this computer for at most 100 (custseg.engines.spark_rfm.DRIVER_CUSTOMERS): split "
        "the log (by customer) or use --engine local\n"
    )
    assert not out.exists()
