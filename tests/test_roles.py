"""Column roles, default features, derived columns, repairs and outliers on realistic tables.

The corpus (tests/tables.py) holds generated tables of the kinds seen in practice;
each must get its expected roles, features, descriptors, exclusions, derived
columns and repairs, with at least 95% of its customers segmented.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import tables
from conftest import run_cli
from custseg import SegmentationConfig, segment
from custseg.errors import ConfigError
from custseg.features.roles import load_registry, normalise_name
from custseg.model import load_model

FAST = SegmentationConfig(k_max=5, n_init=2)


def _run(table: tables.Table, tmp_path, config: SegmentationConfig = FAST):
    path = tmp_path / f"{table.name}.csv"
    path.write_bytes(table.text.encode(table.encoding))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return segment(path, config), path


@pytest.mark.parametrize("make", tables.ALL, ids=lambda m: m.__name__)
def test_corpus_table_gets_expected_roles_features_and_keeps_customers(make, tmp_path):
    table = make()
    result, _ = _run(table, tmp_path)
    data = result.data
    roles = {r.column: r for r in data.roles}
    for column, role in table.roles.items():
        assert roles[column].role == role, (column, roles[column])
    assert set(data.features) == set(table.features)
    assert set(table.descriptors) <= set(data.descriptors)
    assert set(table.excluded) <= set(data.ignored)
    derived = {r.column for r in data.roles if r.matched_by == "derived"}
    assert derived == set(table.derived)
    repairs = " | ".join(data.repairs)
    for words in table.repairs:
        assert words in repairs, words
    assert set(table.transformed) <= set(data.transformed)
    assert data.n_used >= 0.95 * data.n_rows
    # Every labelled customer (atypical ones too) is in a segment.
    assert (result.labels > 0).sum() == data.n_used
    # Roles are a typed structure with kind and direction for part 2 of the work.
    for r in data.roles:
        assert r.kind and r.direction in ("higher", "lower", "none")


def test_roles_are_in_segments_json_and_the_cli_summary(tmp_path):
    table = tables.credit_card()
    path = tmp_path / "cards.csv"
    path.write_text(table.text)
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        "segment", str(path), "--out", str(out), "-q", "--no-plots", "--k-max", "4"
    )
    assert code == 0, stderr
    assert (
        "left out column '#DIV/0!': its header '#DIV/0!' is a spreadsheet error, not a column "
        "name; name it in the file or leave it out"
    ) in stdout
    assert "log-transformed: " in stdout
    doc = json.loads((out / "segments.json").read_text())
    by_col = {r["column"]: r for r in doc["data"]["roles"]}
    assert by_col["PRC_FULL_PAYMENT"] == {
        "column": "PRC_FULL_PAYMENT",
        "position": 15,
        "role": "full_payment_share",
        "kind": "rate",
        "direction": "higher",
        "use": "feature",
        "reason": "named like full payment share",
        "matched_by": "name",
    }
    assert "#DIV/0!" in doc["data"]["excluded"]
    html = (out / "report.html").read_text()
    assert "Columns left out of the grouping: #DIV/0! (its header &#39;#DIV/0!&#39; is a" in html
    assignments = pd.read_csv(out / "assignments.csv")
    assert "imputed" in assignments.columns
    assert assignments["imputed"].fillna("").str.contains("MINIMUM_PAYMENTS").sum() > 0
    assert assignments["segment"].notna().all()


def test_log_transform_is_stored_in_the_model_and_assign_applies_it(tmp_path):
    table = tables.retail_dates()
    result, path = _run(table, tmp_path)
    model = result.model
    j = model.features.index("total_spend")
    assert model.scaler.log is not None and model.scaler.log[j]
    saved = tmp_path / "model.json"
    model.save(saved)
    again = load_model(saved)
    assert again.scaler.log == model.scaler.log
    # The raw file again: the model derives Age and Tenure and log-transforms as in fitting.
    assigned = again.assign(pd.read_csv(path))
    used = result.labels > 0
    assert (assigned["segment"].to_numpy()[used] == result.labels[used]).mean() > 0.99


def test_features_still_win_and_ignore_leaves_columns_out(tmp_path):
    table = tables.crm_marketing()
    config = SegmentationConfig(
        features=("Income", "MntWines"), ignore=("Education",), k_max=4, n_init=2
    )
    result, _ = _run(table, tmp_path, config)
    assert result.data.features == ("Income", "MntWines")
    assert result.data.ignored["Education"] == "ignored (--ignore)"
    assert "Complain" in result.data.descriptors
    assert not any(r.matched_by == "derived" for r in result.data.roles)


def test_ignore_names_an_unknown_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(tables.mall().text)
    code, _, stderr = run_cli(
        "segment", str(path), "--ignore", "Incme", "--out", str(tmp_path / "o"), "-q"
    )
    assert code == 1
    assert stderr.startswith("Error: --ignore column 'Incme' is not a column of")


def test_roles_file_overrides_a_column(tmp_path):
    table = tables.wholesale()
    roles = tmp_path / "roles.yaml"
    roles.write_text(
        "columns:\n"
        + "".join(
            f"  {c}: category_spend\n"
            for c in ("Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen")
        )
    )
    config = SegmentationConfig(roles=str(roles), k_max=4, n_init=2)
    result, _ = _run(table, tmp_path, config)
    fresh = next(r for r in result.data.roles if r.column == "Fresh")
    assert (fresh.role, fresh.matched_by) == ("category_spend", "user")
    assert "Total spend" in result.data.features


def test_roles_file_with_an_unknown_role_is_refused():
    with pytest.raises(ConfigError, match="column 'Fresh' in 'roles' has role 'spendy'"):
        load_registry({"columns": {"Fresh": "spendy"}})


def test_outliers_exclude_leaves_them_out_with_the_reason(tmp_path):
    config = SegmentationConfig(outliers="exclude", k_max=4, n_init=2)
    result, _ = _run(tables.implausible(), tmp_path, config)
    frame = result.assignments()
    reasons = frame.loc[frame["segment"].isna(), "left_out_reason"]
    assert len(reasons) == 5
    assert set(reasons) == {"implausible or extreme value (--outliers exclude)"}


def test_outliers_flag_marks_them_atypical_but_assigns_them(tmp_path):
    result, _ = _run(tables.implausible(), tmp_path)
    frame = result.assignments()
    assert frame["atypical"].sum() == 5
    assert frame["segment"].notna().all()
    assert result.data.n_atypical == 5


def test_mostly_empty_feature_named_with_features_is_not_silent(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"spend": rng.lognormal(5, 1, n), "visits": rng.poisson(4, n)})
    frame["score"] = np.where(rng.random(n) < 0.6, np.nan, rng.random(n))
    result = segment(frame, SegmentationConfig(features=("spend", "score"), k_max=3, n_init=2))
    assert result.data.n_used < 0.5 * n
    assert any(
        w.startswith(f"{n - result.data.n_used:,} customers (")
        and "'score' (" in w
        and "--missing impute" in w
        for w in result.warnings
    )


def test_too_empty_default_column_is_left_out_with_its_share():
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({"spend": rng.lognormal(5, 1, n), "orders": rng.poisson(4, n)})
    frame["ratio"] = np.where(rng.random(n) < 0.8, np.nan, rng.random(n) * 3)
    result = segment(frame, SegmentationConfig(k_max=3, n_init=2))
    assert "ratio" not in result.data.features
    assert result.data.ignored["ratio"].endswith(
        "of its cells are empty or spreadsheet errors (more than 30%); fill it in to use it"
    )
    assert result.data.n_used == n


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MntWines", "mnt wines"),
        ("NumWebVisitsMonth", "num web visits month"),
        ("Year_Birth", "year birth"),
        ("Âge", "age"),
        ("Kunden-Nr.", "kunden nr"),
        ("AcceptedCmp3", "accepted cmp 3"),
    ],
)
def test_names_are_normalised_across_spellings(name, expected):
    assert normalise_name(name) == expected


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("annual_income", "income"),
        ("Einkommen", "income"),
        ("Revenu", "income"),
        ("ingresos", "income"),
        ("DaysSinceLastPurchase", "recency"),
        ("Tage seit letztem Kauf", "recency"),
        ("Kundennummer", "id"),
        ("Geburtsjahr", "birth_year"),
        ("Kreditlimit", "credit_limit"),
        ("AmtElectronics", "category_spend"),
        ("QtyOrders", "frequency"),
        ("Beschwerde", "complaints"),
        ("Retouren", "returns"),
    ],
)
def test_registry_recognises_names_in_several_languages(name, role):
    assert load_registry().match(name)[0].name == role


def test_large_file_reader_applies_the_same_rules(tmp_path):
    """The columnar reader (large files) and the general loader choose the same features."""
    from custseg.data.fast import prepare_large_file
    from custseg.data.loading import load_table
    from custseg.data.prepare import prepare

    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "Channel": rng.choice([1, 2], n),
            "Complain": (rng.random(n) < 0.02).astype(int),
            "Z_Revenue": 11,
            "Income": np.round(rng.lognormal(10, 0.4, n)),
            "Recency": rng.integers(0, 100, n),
            "NumStorePurchases": rng.poisson(5, n),
        }
    )
    frame.loc[rng.choice(n, 30, replace=False), "Income"] = np.nan
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    config = SegmentationConfig(outliers="keep")
    fast = prepare_large_file(path, config, min_bytes=0)
    general = prepare(load_table(path).frame, config)
    assert fast is not None
    assert fast.features == general.features == ("Income", "Recency", "NumStorePurchases")
    assert fast.log_features == general.log_features
    fast_roles = {r.column: (r.role, r.use) for r in fast.summary.roles}
    general_roles = {r.column: (r.role, r.use) for r in general.summary.roles}
    assert fast_roles == general_roles
    # Gaps: the same fill, the same repair, the same rows flagged.
    assert fast.summary.repairs[0] == general.summary.repairs[0]
    assert fast.summary.repairs[0].startswith("filled 30 empty cell(s) of 'Income'")
    assert fast.row_flags is not None and general.row_flags is not None
    assert (fast.row_flags["imputed"] == general.row_flags["imputed"]).all()


def _counted(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "cust": np.r_[np.arange(1, n - 2), [7, 8, 9]],  # a counter, three ids again
            "spend": np.round(rng.lognormal(5, 1, n), 2),
            "visits": rng.poisson(6, n),
        }
    )


def test_a_column_that_counts_the_rows_is_not_clustered_on(tmp_path):
    path = tmp_path / "counted.csv"
    _counted().to_csv(path, index=False)
    code, out, _ = run_cli("segment", str(path), "--out", str(tmp_path / "o"), "-q")
    assert code == 0
    assert (
        "left out column 'cust': counts the rows (1 to 397, each row the one before + 1 "
        "except at 1 row): a row number or an id, not something a customer did; pass --id "
        "'cust' if it is the customer id"
    ) in out
    doc = json.loads((tmp_path / "o" / "segments.json").read_text(encoding="utf-8"))
    assert doc["features"] == ["spend", "visits"]


@pytest.mark.parametrize(
    "values",
    [
        np.sort(np.random.default_rng(0).integers(18, 90, 400)),  # ages, sorted
        np.random.default_rng(1).permutation(400) + 1,  # ids, shuffled: a number like any
        np.arange(400) * 2.0,  # steps of 2
        np.arange(400) + 0.5,  # not whole numbers
    ],
)
def test_only_counters_are_left_out_as_counting_the_rows(values):
    frame = _counted()
    frame["cust"] = values
    result = segment(frame, SegmentationConfig(k_max=3, n_init=2))
    assert "cust" in result.data.features


def test_a_named_column_is_never_judged_as_a_counter():
    frame = _counted().rename(columns={"cust": "Orders"})
    result = segment(frame, SegmentationConfig(k_max=3, n_init=2))
    assert "Orders" in result.data.features


def test_large_file_reader_leaves_a_counter_out_too(tmp_path):
    from custseg.data.fast import prepare_large_file
    from custseg.data.loading import load_table
    from custseg.data.prepare import prepare

    path = tmp_path / "counted.csv"
    _counted(3000).to_csv(path, index=False)
    config = SegmentationConfig(outliers="keep")
    fast = prepare_large_file(path, config, min_bytes=0)
    general = prepare(load_table(path).frame, config)
    assert fast is not None
    assert fast.features == general.features == ("spend", "visits")
    assert fast.summary.ignored["cust"] == general.summary.ignored["cust"]
