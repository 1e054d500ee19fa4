"""custseg rfm: hand-computed R, F, M, scores, named segments, messages, end to end."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_cli
from custseg.errors import ConfigError, DataError
from custseg.rfm import (
    LogRules,
    ScoreEdges,
    load_segment_map,
    per_customer_table,
    rfm,
)
from custseg.rfm.scores import parse_segment_map
from rfm_logs import make_invoice_log

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
# Every kind of line the rules name; the expected figures are worked out by hand below.
HAND_LOG = HEADER + (
    "1001,P1,Mug,2,2024-01-10 10:00,5.00,C1,UK\n"  # C1, invoice 1001, two lines: 10 + 10
    "1001,P2,Plate,1,2024-01-10 10:00,10.00,C1,UK\n"
    "1001,P2,Plate,1,2024-01-10 10:00,10.00,C1,UK\n"  # an exported duplicate: counted once
    "1001,POST,POSTAGE,1,2024-01-10 10:00,15.00,C1,UK\n"  # postage: not a product
    "1002,P1,Mug,4,2024-02-01 09:00,5.00,C1,UK\n"  # C1's second invoice: 20
    "C1003,P1,Mug,-2,2024-02-03 09:00,5.00,C1,UK\n"  # C1 cancels 10
    "1004,P1,Mug,1,2024-01-05 12:00,5.00,C2,UK\n"  # C2: 5
    "1005,P2,Plate,3,2024-02-20 12:00,10.00,C2,UK\n"  # C2: 30
    "1005,P1,Mug,-1,2024-02-21 12:00,5.00,C2,UK\n"  # C2 returns 5 (negative quantity, no C)
    "C1006,P1,Mug,-3,2024-02-10 12:00,5.00,C3,UK\n"  # C3: only a return
    "1007,P1,Mug,10,2024-02-15 12:00,5.00,,UK\n"  # no customer: 50 left out and counted
    "1008,P1,Mug,2,2024-02-28 18:00,0.00,C4,UK\n"  # a free line: zero price
    "1008,P2,Plate,1,2024-02-28 18:00,10.00,C4,UK\n"  # C4: 10, the last line
)


@pytest.fixture
def hand_log(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text(HAND_LOG, encoding="utf-8")
    return p


def _by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("customer_id")


def test_hand_computed_recency_frequency_monetary(hand_log):
    customers, summary = per_customer_table(hand_log, LogRules())
    c = _by_id(customers)
    # as of the day after the last line (2024-02-28)
    assert summary.as_of == date(2024, 2, 29)
    # C1: invoices 1001 (10 + 10) and 1002 (20) = 40, less the cancellation of 10
    assert c.loc["C1", "frequency"] == 2
    assert c.loc["C1", "monetary"] == pytest.approx(30.0)
    assert c.loc["C1", "recency_days"] == 28  # last purchase 2024-02-01
    assert c.loc["C1", "tenure_days"] == 50  # first purchase 2024-01-10
    assert c.loc["C1", "avg_order_value"] == pytest.approx(20.0)
    assert c.loc["C1", "return_share"] == pytest.approx(0.25)
    assert c.loc["C1", "n_products"] == 2
    # C2: 5 + 30 less a return of 5
    assert (c.loc["C2", "frequency"], c.loc["C2", "monetary"]) == (2, pytest.approx(30.0))
    assert (c.loc["C2", "recency_days"], c.loc["C2", "tenure_days"]) == (9, 55)
    # C3 only returned: listed, not scored
    assert c.loc["C3", "frequency"] == 0
    assert c.loc["C3", "monetary"] == pytest.approx(-15.0)
    assert c.loc["C3", "left_out_reason"].startswith("only returns")
    # C4: the zero-price line does not count; the other does
    assert (c.loc["C4", "frequency"], c.loc["C4", "monetary"]) == (1, pytest.approx(10.0))
    assert (c.loc["C4", "recency_days"], c.loc["C4", "tenure_days"]) == (1, 1)
    assert list(c.index) == ["C1", "C2", "C3", "C4"]
    # every line left out is counted, by reason
    assert summary.n_lines == 13
    assert summary.left_out == {
        "duplicate": 1,
        "no_customer": 1,
        "non_product": 1,
        "zero_price": 1,
    }
    assert summary.left_out_amount["no_customer"] == pytest.approx(50.0)
    assert summary.n_purchase_lines == 6
    assert summary.n_return_lines == 3
    assert summary.n_purchase_lines + summary.n_return_lines + sum(summary.left_out.values()) == 13


def test_returns_drop_keeps_gross_purchases(hand_log):
    customers, summary = per_customer_table(hand_log, LogRules(returns="drop"))
    c = _by_id(customers)
    assert c.loc["C1", "monetary"] == pytest.approx(40.0)
    assert c.loc["C2", "monetary"] == pytest.approx(35.0)
    assert c.loc["C1", "return_share"] == pytest.approx(0.25)  # still reported
    assert summary.left_out["return_dropped"] == 3


def test_as_of_given_leaves_later_lines_out(hand_log):
    customers, summary = per_customer_table(hand_log, LogRules(as_of=date(2024, 2, 15)))
    c = _by_id(customers)
    assert summary.as_of_chosen_by == "--as-of"
    assert c.loc["C1", "recency_days"] == 14  # 2024-02-01 -> 02-15
    assert c.loc["C2", "frequency"] == 1  # the 02-20 invoice is after the as-of date
    assert "C4" not in c.index
    assert summary.left_out["after_as_of"] == 3


def test_non_product_list_can_be_replaced(hand_log):
    customers, _ = per_customer_table(hand_log, LogRules(non_product=()))
    assert _by_id(customers).loc["C1", "monetary"] == pytest.approx(45.0)  # postage counted


def test_amount_column_and_no_invoice_column(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text(
        "client,order_date,total\n"
        "a,2024-03-01,10\na,2024-03-01,5\na,2024-03-05,7\nb,2024-03-02,-4\nb,2024-03-01,20\n",
        encoding="utf-8",
    )
    customers, summary = per_customer_table(p, LogRules())
    c = _by_id(customers)
    assert summary.columns.amount == "total" and summary.columns.invoice is None
    # without an invoice column an order is a day with purchases
    assert c.loc["a", "frequency"] == 2
    assert c.loc["a", "monetary"] == pytest.approx(22.0)
    assert c.loc["b", "monetary"] == pytest.approx(16.0)  # the negative line is a return


def test_dates_in_several_formats_and_time_zones(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text(
        "CustomerID,InvoiceDate,Amount\n"
        "a,31/01/2024 10:00,1\n"  # day-first (31 cannot be a month)
        "a,2024-01-31T23:30:00-02:00,1\n"  # 2024-02-01 01:30 UTC
        "b,2024-02-01T00:30:00Z,1\n"
        "b,01/02/2024,1\n",  # day-first too: 1 February
        encoding="utf-8",
    )
    customers, summary = per_customer_table(p, LogRules())
    c = _by_id(customers)
    assert "day-first" in summary.date_formats
    assert c.loc["a", "last_purchase"] == pd.Timestamp("2024-02-01")
    assert c.loc["a", "first_purchase"] == pd.Timestamp("2024-01-31")
    assert c.loc["b", "first_purchase"] == pd.Timestamp("2024-02-01")
    assert summary.as_of == date(2024, 2, 2)


def test_month_names_slashed_iso_and_two_digit_years(tmp_path):
    # A date-only month-name date ends in '-2024', which is not a time-zone offset; an ISO
    # date written with slashes is read as ISO; a two-digit year is this century's.
    p = tmp_path / "log.csv"
    p.write_text(
        "CustomerID,InvoiceDate,Amount\n"
        "a,15-Jan-2024,1\n"
        "a,2024/03/31,1\n"
        "b,2/3/24,1\n"
        "b,12/30/23 10:00,1\n",  # month-first (30 cannot be a month)
        encoding="utf-8",
    )
    customers, summary = per_customer_table(p, LogRules())
    c = _by_id(customers)
    assert c.loc["a", "first_purchase"] == pd.Timestamp("2024-01-15")
    assert c.loc["a", "last_purchase"] == pd.Timestamp("2024-03-31")
    assert c.loc["b", "first_purchase"] == pd.Timestamp("2023-12-30")
    assert c.loc["b", "last_purchase"] == pd.Timestamp("2024-02-03")
    assert "month-first" in summary.date_formats


def test_lines_wrapped_in_quotes_are_repaired_and_stated(tmp_path):
    lines = HAND_LOG.splitlines()
    wrapped = [lines[0]] + [
        '"' + line.replace('"', '""') + '"' if i % 2 else line for i, line in enumerate(lines[1:])
    ]
    p = tmp_path / "wrapped.csv"
    p.write_text("\n".join(wrapped) + "\n", encoding="utf-8")
    customers, summary = per_customer_table(p, LogRules())
    plain, _ = per_customer_table(_write(tmp_path / "plain.csv", HAND_LOG), LogRules())
    pd.testing.assert_frame_equal(customers, plain)
    assert summary.repairs == (
        "6 lines were wrapped in quotes as a whole (one field instead of 8); the outer "
        "quotes were removed and the line read as 8 fields",
    )


def _write(p, text):
    p.write_text(text, encoding="utf-8")
    return p


def test_parquet_excel_and_dataframe_give_the_same_table(tmp_path, hand_log):
    frame = pd.read_csv(hand_log, dtype=str)
    frame.to_parquet(tmp_path / "log.parquet")
    frame.to_excel(tmp_path / "log.xlsx", index=False)
    csv_table, _ = per_customer_table(hand_log, LogRules())
    for source in (tmp_path / "log.parquet", tmp_path / "log.xlsx", frame):
        table, _ = per_customer_table(source, LogRules())
        pd.testing.assert_frame_equal(table, csv_table)


# --- scores --------------------------------------------------------------------------


def test_score_edges_are_quintiles_and_r_is_reversed():
    x = np.arange(1, 11, dtype=float)
    edges = ScoreEdges.fit(x, x, x)
    assert edges.frequency == pytest.approx((2.8, 4.6, 6.4, 8.2))
    r, f, _ = edges.score(x, x, x)
    assert f.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert r.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # fewest days -> 5


def test_value_on_an_edge_gets_the_lower_score():
    edges = ScoreEdges((1, 2, 3, 5), (1, 2, 3, 5), (1, 2, 3, 5))
    _, f, _ = edges.score(np.zeros(7), np.array([0, 1, 2, 3, 4, 5, 6.0]), np.zeros(7))
    assert f.tolist() == [1, 1, 2, 3, 4, 4, 5]


def test_ties_share_a_score():
    freq = np.array([1, 1, 1, 1, 1, 1, 2, 3, 4, 5], dtype=float)
    edges = ScoreEdges.fit(freq, freq, freq)
    _, f, _ = edges.score(freq, freq, freq)
    # edges 1, 1, 1.4, 3.2: the six 1s share score 1; scores 2 and 3 stay empty
    assert edges.frequency == pytest.approx((1, 1, 1.4, 3.2))
    assert f.tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=5, max_size=60), st.randoms())
def test_scores_do_not_depend_on_order(values, rnd):
    x = np.array(values, dtype=float)
    perm = np.array(rnd.sample(range(len(x)), len(x)))
    edges = ScoreEdges.fit(x, x, x)
    assert ScoreEdges.fit(x[perm], x[perm], x[perm]) == edges
    r, f, _ = edges.score(x, x, x)
    r2, f2, _ = edges.score(x[perm], x[perm], x[perm])
    assert (f[perm] == f2).all() and (r[perm] == r2).all()
    assert ((r + f) == 6).all()  # R is F reversed on the same values
    # equal values, equal scores
    for v in np.unique(x):
        assert len(set(f[x == v])) == 1


def test_edges_round_trip_through_a_dict():
    edges = ScoreEdges((1, 2, 3, 4), (1, 1, 2, 5), (10, 20, 30.5, 40))
    assert ScoreEdges.from_dict(json.loads(json.dumps(edges.to_dict()))) == edges


# --- named segments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "f", "m", "name"),
    [
        (5, 5, 5, "Champions"),
        (4, 4, 4, "Champions"),
        (5, 4, 1, "Loyal"),
        (3, 3, 3, "Loyal"),
        (4, 2, 1, "Potential loyalists"),
        (5, 1, 5, "New"),
        (4, 1, 1, "Promising"),
        (3, 1, 2, "Promising"),
        (3, 2, 2, "Need attention"),
        (1, 5, 5, "Can't lose them"),
        (1, 5, 3, "At risk"),
        (2, 4, 4, "At risk"),
        (2, 2, 5, "About to sleep"),
        (1, 1, 5, "Lost"),
        (2, 1, 1, "Hibernating"),
        (1, 2, 2, "Hibernating"),
    ],
)
def test_named_segment_of_score_combinations(r, f, m, name):
    smap = load_segment_map()
    assert smap.name(np.array([r]), np.array([f]), np.array([m])).tolist() == [name]


def test_default_map_names_all_125_combinations_with_an_action():
    smap = load_segment_map()
    grid = np.array([(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)])
    names = smap.name(grid[:, 0], grid[:, 1], grid[:, 2])
    assert set(names) == {s.name for s in smap.segments}
    assert all(s.action and s.reason for s in smap.segments)


def test_a_map_with_a_gap_is_refused():
    doc = {"segments": [{"name": "Best", "when": {"R": [4, 5]}}]}
    with pytest.raises(ConfigError) as err:
        parse_segment_map(doc, "mine.yaml")
    assert str(err.value) == (
        "segment map 'mine.yaml': no segment covers R=1, F=1, M=1 (75 of the 125 combinations "
        "are not covered); add a last rule such as {name: Others, when: {R: [1, 5]}}"
    )


# --- the whole analysis ------------------------------------------------------------------


def test_rfm_scores_clusters_and_crosstab_on_a_generated_log(tmp_path):
    path = tmp_path / "invoices.csv"
    make_invoice_log(300, seed=1).to_csv(path, index=False)
    result = rfm(path, seed=0)
    s = result.scored
    assert len(result.customers) == 300
    assert s["R"].between(1, 5).all() and s["rfm_segment"].ne("").all()
    assert result.clustering is not None
    assert s["cluster"].between(1, result.clustering.k).all()
    # the cross-table holds every scored customer once
    assert int(result.crosstab().to_numpy().sum()) == len(s)
    # the clusters were named and given actions by the RFM cluster playbook
    assert all(c.recommendation.title for c in result.clustering.segments)
    names = " ".join(c.name for c in result.clustering.segments)
    assert any(w in names for w in ("Recent", "Lapsed", "Frequent", "One-off"))


def _pandas_recipe(frame: pd.DataFrame) -> pd.DataFrame:
    """The hand-written pandas recipe a CRM analyst uses, as an independent check."""
    f = frame.drop_duplicates().copy()
    f = f[f["CustomerID"].fillna("").str.strip() != ""]
    f = f[~f["StockCode"].isin(["POST", "M", "BANK CHARGES"])]
    f["cust"] = f["CustomerID"].str.replace(r"\.0$", "", regex=True)
    f["amount"] = f["Quantity"].astype(float) * f["UnitPrice"].astype(float)
    f["ts"] = pd.to_datetime(f["InvoiceDate"], format="mixed", utc=True).dt.tz_localize(None)
    ret = f["InvoiceNo"].str.startswith("C") | (f["Quantity"].astype(float) < 0)
    buy = f[~ret]
    g = buy.groupby("cust")
    out = pd.DataFrame(
        {
            "frequency": g["InvoiceNo"].nunique(),
            "purchases": g["amount"].sum(),
            "last": g["ts"].max().dt.normalize(),
        }
    )
    out["returns"] = f[ret].groupby("cust")["amount"].sum().abs()
    out["monetary"] = out["purchases"] - out["returns"].fillna(0)
    return out


def test_per_customer_table_matches_the_pandas_recipe(tmp_path):
    frame = make_invoice_log(200, seed=3)
    path = tmp_path / "invoices.csv"
    frame.to_csv(path, index=False)
    customers, summary = per_customer_table(path, LogRules())
    ours = _by_id(customers)
    theirs = _pandas_recipe(frame)
    theirs = theirs.loc[ours.index]
    assert (ours["frequency"] == theirs["frequency"]).all()
    np.testing.assert_allclose(ours["monetary"], theirs["monetary"], rtol=1e-9)
    as_of = pd.Timestamp(summary.as_of)
    assert ((as_of - theirs["last"]).dt.days == ours["recency_days"]).all()


# --- the command -------------------------------------------------------------------------


def test_cli_end_to_end_on_a_generated_log(tmp_path):
    log = make_invoice_log(300, seed=2)
    path = tmp_path / "invoices.csv"
    log.to_csv(path, index=False)
    out = tmp_path / "rfm"
    code, stdout, stderr = run_cli("rfm", str(path), "--out", str(out), "--quiet")
    assert code == 0, stderr
    for name in (
        "customers.csv",
        "customers.parquet",
        "rfm.json",
        "rfm_segments.csv",
        "rfm_by_cluster.csv",
        "segments.json",
        "model.json",
        "report.html",
    ):
        assert (out / name).is_file(), name
    customers = pd.read_csv(out / "customers.csv")
    assert len(customers) == 300
    assert {"customer_id", "recency_days", "frequency", "monetary", "tenure_days"} <= set(
        customers.columns
    )
    assert {"R", "F", "M", "rfm_segment", "cluster", "cluster_name"} <= set(customers.columns)
    doc = json.loads((out / "rfm.json").read_text())
    n_blank = int((log["CustomerID"] == "").sum())
    assert doc["log"]["left_out"]["no_customer"] == n_blank
    assert f"left out: {n_blank:,} lines without a customer id" in stdout
    assert "read " in stdout and "RFM segments" in stdout and "Champions" in stdout
    assert pd.read_parquet(out / "customers.parquet").shape[0] == 300
    # report.html: the cluster report with the RFM section and a link to it
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('<section id="rfm"') == 1 and '<a href="#rfm">RFM</a>' in html
    assert "Score grid" in html and "RFM segments and clusters" in html
    assert html.index('id="rfm"') < html.index('id="choosing-k"')
    # `custseg report` rebuilds the same page from the folder, RFM section included.
    (out / "report.html").unlink()
    code, _, stderr = run_cli("report", str(out))
    assert code == 0, stderr
    assert (out / "report.html").read_text(encoding="utf-8") == html


def test_rfm_section_escapes_hostile_names(tmp_path):
    from custseg.rfm.report import rfm_section

    log = make_invoice_log(60, seed=6)
    log["CustomerID"] = log["CustomerID"].where(log["CustomerID"] == "", "<b>" + log["CustomerID"])
    path = tmp_path / "<script>.csv"
    log.to_csv(path, index=False)
    doc = rfm(path, cluster=False).to_dict()
    html = rfm_section(doc)
    assert "<script>" not in html and "&lt;script&gt;.csv" in html


def test_cli_missing_customer_column(tmp_path):
    p = _write(tmp_path / "log.csv", "InvoiceNo,InvoiceDate,Quantity,UnitPrice\n1,2024-01-01,1,2\n")
    code, _, err = run_cli("rfm", str(p), "--out", str(tmp_path / "o"))
    assert code == 1
    assert err.splitlines()[-1] + "\n" == (
        f"Error: no customer id column found in '{p}' (looked for names like CustomerID, "
        "customer_id, client); name it with --customer COLUMN; columns are: InvoiceNo, "
        "InvoiceDate, Quantity, UnitPrice\n"
    )


def test_cli_unknown_column_named(tmp_path, hand_log):
    code, _, err = run_cli(
        "rfm", str(hand_log), "--customer", "Client", "--out", str(tmp_path / "o")
    )
    assert code == 1
    assert err.splitlines()[-1].startswith(
        f"Error: customer column 'Client' (--customer) is not in '{hand_log}'"
    )


def test_cli_several_currencies_need_currency(tmp_path):
    p = _write(
        tmp_path / "log.csv",
        "CustomerID,Date,Amount,Currency\n"
        "a,2024-01-01,10,EUR\na,2024-01-05,10,GBP\nb,2024-01-02,5,EUR\n",
    )
    code, _, err = run_cli("rfm", str(p), "--out", str(tmp_path / "o"), "--no-cluster")
    assert code == 1
    assert err.splitlines()[-1] + "\n" == (
        f"Error: '{p}' has amounts in 2 currencies in 'Currency': EUR (2 lines), GBP (1 lines); "
        "pick one with --currency EUR (lines in the others are left out and counted)\n"
    )
    code, out, err = run_cli(
        "rfm", str(p), "--out", str(tmp_path / "o"), "--no-cluster", "--currency", "eur"
    )
    assert code == 0, err
    assert "left out: 1 lines in another currency than --currency, amount 10.00" in out


def test_cli_unreadable_dates_are_refused(tmp_path):
    p = _write(
        tmp_path / "log.csv", "CustomerID,InvoiceDate,Amount\na,2024-01-01,1\nb,yesterday,2\n"
    )
    code, _, err = run_cli("rfm", str(p), "--out", str(tmp_path / "o"), "--date", "InvoiceDate")
    assert code == 1
    assert err.splitlines()[-1] + "\n" == (
        f"Error: column 'InvoiceDate' of '{p}' has 1 dates custseg cannot read (e.g. "
        "'yesterday'); use ISO dates like 2024-03-31 or 2024-03-31 14:05, or name another "
        "column with --date\n"
    )


def test_cli_text_in_a_quantity_is_refused(tmp_path):
    p = _write(
        tmp_path / "log.csv",
        HEADER + "1,A,Mug,2,2024-01-01,1.5,c1,UK\n2,A,Mug,two,2024-01-02,1.5,c1,UK\n",
    )
    code, _, err = run_cli("rfm", str(p), "--out", str(tmp_path / "o"), "--quantity", "Quantity")
    assert code == 1
    assert err.splitlines()[-1] + "\n" == (
        f"Error: column 'Quantity' of '{p}' has 1 values that are not numbers (e.g. 'two'); "
        "export plain numbers with a decimal point\n"
    )


def test_cli_too_few_customers_to_cluster(tmp_path, hand_log):
    code, _, err = run_cli("rfm", str(hand_log), "--out", str(tmp_path / "o"))
    assert code == 1
    assert err.splitlines()[-1] + "\n" == (
        "Error: only 3 customers have a purchase; clustering needs at least 20 (scores and "
        "named segments do not: use --no-cluster)\n"
    )
    code, out, err = run_cli("rfm", str(hand_log), "--out", str(tmp_path / "o"), "--no-cluster")
    assert code == 0, err
    assert "1 not scored: only returns in the log" in out


def test_segment_points_a_transaction_log_to_rfm(tmp_path):
    path = tmp_path / "invoices.csv"
    make_invoice_log(50, seed=0).to_csv(path, index=False)
    for extra in ((), ("--features", "Quantity,UnitPrice")):
        code, _, err = run_cli("segment", str(path), "--out", str(tmp_path / "o"), *extra)
        assert code == 1
        assert err.splitlines()[-1] + "\n" == (
            f"Error: '{path}' looks like a transaction log, not a customer table: customer "
            "ids in 'CustomerID' repeat, with 'InvoiceNo', 'InvoiceDate', 'Quantity', "
            f"'UnitPrice'; turn it into one row per customer with: custseg rfm {path} --out DIR\n"
        )


def test_segment_still_takes_a_customer_table_with_a_date(make_customers):
    from custseg import segment

    df = make_customers(100, seed=0)
    df["signup_date"] = "2024-01-01"
    assert segment(df.drop(columns=["signup_date"])).k >= 2
    from custseg.rfm.detect import transaction_log_message

    assert transaction_log_message(df, "customers.csv") is None


def test_as_of_must_be_a_date(hand_log):
    with pytest.raises(ConfigError, match="as_of='last week' is not a date"):
        rfm(hand_log, as_of="last week", cluster=False)


def test_no_purchase_at_all(tmp_path):
    p = _write(tmp_path / "log.csv", "CustomerID,InvoiceDate,Amount\na,2024-01-01,0\n")
    with pytest.raises(DataError, match="has no purchase that custseg can count"):
        per_customer_table(p, LogRules())


def test_assign_a_new_log_with_an_rfm_model(tmp_path):
    log = make_invoice_log(150, seed=4)
    path = tmp_path / "invoices.csv"
    log.to_csv(path, index=False)
    out = tmp_path / "rfm"
    code, _, err = run_cli("rfm", str(path), "--out", str(out), "--quiet", "--no-plots")
    assert code == 0, err
    # the same log again: the same scores, names and clusters as the fit
    code, stdout, err = run_cli(
        "assign", str(out / "model.json"), str(path), "--out", str(tmp_path / "a.csv")
    )
    assert code == 0, err
    assert "150 customers, 150 scored with the model's score edges" in stdout
    fitted = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    again = pd.read_csv(tmp_path / "a.csv", dtype={"customer_id": str})
    for a, b in (
        ("R", "R"),
        ("F", "F"),
        ("M", "M"),
        ("rfm_segment", "rfm_segment"),
        ("cluster", "segment"),
    ):
        assert (fitted[a].to_numpy() == again[b].to_numpy()).all(), a
    # a new log: scored with the stored edges, its own as-of date
    new = tmp_path / "new.parquet"
    make_invoice_log(40, seed=8).to_parquet(new)
    code, stdout, err = run_cli(
        "assign", str(out / "model.json"), str(new), "--out", str(tmp_path / "b.parquet")
    )
    assert code == 0, err
    b = pd.read_parquet(tmp_path / "b.parquet")
    assert len(b) == 40 and b["segment"].notna().all() and b["rfm_segment"].ne("").all()


def test_assign_a_log_needs_rfm_json_beside_the_model(tmp_path):
    log = make_invoice_log(60, seed=4)
    path = tmp_path / "invoices.csv"
    log.to_csv(path, index=False)
    out = tmp_path / "rfm"
    code, _, err = run_cli("rfm", str(path), "--out", str(out), "--quiet", "--no-plots", "--k", "3")
    assert code == 0, err
    (tmp_path / "elsewhere").mkdir()
    moved = tmp_path / "elsewhere" / "model.json"
    moved.write_bytes((out / "model.json").read_bytes())
    code, _, err = run_cli("assign", str(moved), str(path), "--out", str(tmp_path / "a.csv"))
    assert code == 1
    assert err.splitlines()[-1] == (
        f"Error: model '{moved}' was fitted by custseg rfm, but '{tmp_path / 'elsewhere' / 'rfm.json'}' "
        "(its score edges and rules) is not beside it; keep the results folder together"
    )


def test_segmenter_on_the_per_customer_table_reproduces_the_clusters(tmp_path):
    from custseg import Segmenter
    from custseg.rfm.scores import cluster_playbook_path

    path = tmp_path / "invoices.csv"
    make_invoice_log(120, seed=11).to_csv(path, index=False)
    result = rfm(path, k=3)
    table = result.cluster_table()
    seg = Segmenter(
        k=3,
        id_column="customer_id",
        features=list(table.columns[1:]),
        playbook=cluster_playbook_path(),
        feature_transform="none",  # the option 'transform'; transform() is scikit-learn's
        outliers="keep",
    ).fit(table)
    # labels_ are 0..k-1 (scikit-learn's convention); segment_ids_ maps them to the ids
    assert (seg.segment_ids_[seg.labels_] == result.clustering.labels).all()
    assert [s.name for s in seg.result_.segments] == [s.name for s in result.clustering.segments]


def test_lines_wrapped_in_quotes_after_the_sample_are_repaired(tmp_path):
    frame = make_invoice_log(400, seed=0)
    lines = frame.to_csv(index=False).splitlines()
    n = len(lines)
    # wrapped lines only in the last quarter: past the 256 KB the reader samples
    late = [
        line if i < 3 * n // 4 or i % 3 else '"' + line.replace('"', '""') + '"'
        for i, line in enumerate(lines)
    ]
    wrapped = _write(tmp_path / "late.csv", "\n".join(late) + "\n")
    assert sum(len(x) + 1 for x in lines[: 3 * n // 4]) > 256 * 1024
    customers, summary = per_customer_table(wrapped, LogRules())
    plain, _ = per_customer_table(
        _write(tmp_path / "plain.csv", "\n".join(lines) + "\n"), LogRules()
    )
    pd.testing.assert_frame_equal(customers, plain)
    n_wrapped = sum(1 for i in range(n) if not (i < 3 * n // 4 or i % 3))
    assert summary.repairs[0].startswith(f"{n_wrapped} lines were wrapped in quotes as a whole")


def test_a_malformed_csv_is_refused_with_one_line(tmp_path):
    p = _write(tmp_path / "bad.csv", HAND_LOG + "1009,P1,Mug,2\n")  # 4 fields of 8
    with pytest.raises(DataError, match=r"^'.*bad.csv' cannot be read as a table: Invalid Input"):
        per_customer_table(p, LogRules())
