"""Validation: id detection, feature choice, categories, missing values, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg import SegmentationConfig, segment
from custseg.data import prepare
from custseg.errors import ConfigError, DataError


def frame():
    return pd.DataFrame(
        {
            "CustomerID": [101, 102, 103, 104, 105, 106],
            "Gender": ["F", "M", "F", "M", "F", "M"],
            "Age": [20, 25, 30, 50, 55, 60],
            "Income": [10.0, 12.0, 11.0, 80.0, 85.0, 90.0],
            "Notes": [f"note {i}" for i in range(6)],
        }
    )


def test_id_detected_features_default_categories_profiled():
    p = prepare(frame(), SegmentationConfig())
    assert p.summary.id_column == "CustomerID"
    assert p.features == ("Age", "Income")
    assert p.summary.features_chosen_by == "column roles"
    assert p.summary.categorical == ("Gender", "Notes")
    assert p.ids.tolist() == ["101", "102", "103", "104", "105", "106"]


def test_non_unique_id_like_column_is_not_an_id():
    df = frame().assign(CustomerID=[1, 1, 2, 3, 4, 5])
    p = prepare(df, SegmentationConfig(features=("Age",)))
    assert p.summary.id_column is None
    assert p.ids.tolist() == ["1", "2", "3", "4", "5", "6"]


def test_given_id_with_duplicates_is_an_error():
    df = frame().assign(CustomerID=[1, 1, 2, 3, 4, 5])
    with pytest.raises(
        DataError, match=r"id column 'CustomerID' has duplicate value 1 \(rows 1, 2\)"
    ):
        prepare(df, SegmentationConfig(id_column="CustomerID"))


def test_unknown_feature_suggests_close_names():
    with pytest.raises(DataError, match=r"feature 'Incom' is not a column .*did you mean 'Income'"):
        prepare(frame(), SegmentationConfig(features=("Incom",)))


def test_text_feature_names_row_and_value():
    with pytest.raises(DataError, match=r"feature 'Gender' has text .* row 1 is 'F'"):
        prepare(frame(), SegmentationConfig(features=("Gender", "Age")))


def test_constant_feature_is_an_error():
    df = frame().assign(Age=40)
    with pytest.raises(
        DataError, match=r"feature 'Age' has the same value \(40\) for every customer"
    ):
        prepare(df, SegmentationConfig(features=("Age", "Income")))


def test_all_empty_column_given_as_feature():
    df = frame().assign(Age=np.nan)
    with pytest.raises(DataError, match="feature 'Age' is empty in every row"):
        prepare(df, SegmentationConfig(features=("Age", "Income")))


def test_missing_values_drop_impute_error():
    df = frame()
    df.loc[2, "Income"] = np.nan
    dropped = prepare(df, SegmentationConfig(missing="drop"))
    assert dropped.used.tolist() == [True, True, False, True, True, True]
    assert dropped.left_out[2] == "missing value in 'Income'"
    assert dropped.summary.dropped == {"missing values": 1}
    imputed = prepare(df, SegmentationConfig(missing="impute"))
    assert imputed.used.all()
    assert imputed.X[2, 1] == 80.0  # median of 10, 12, 80, 85, 90
    assert imputed.summary.imputed == {"Income": 1}
    with pytest.raises(DataError, match=r"'Income' has 1 empty value\(s\) \(row 3\)"):
        prepare(df, SegmentationConfig(missing="error"))


def test_fewer_customers_than_k():
    with pytest.raises(ConfigError, match="n_customers=6 is smaller than k=7"):
        prepare(frame(), SegmentationConfig(k=7))


def test_left_out_rows_are_listed_in_assignments():
    df = frame()
    df.loc[0, "Age"] = np.nan
    result = segment(df, SegmentationConfig(k=2, missing="drop"))
    a = result.assignments()
    assert len(a) == 6
    assert pd.isna(a.loc[0, "segment"]) and a.loc[0, "left_out_reason"] == "missing value in 'Age'"
    assert a["segment"].notna().sum() == 5
    assert sum(s.size for s in result.segments) == 5


def test_repairs_are_reported():
    df = pd.DataFrame(
        {
            "Spend": ["$1,200", "$950", "$3,400", "$80", "$2,000", "$1,100"],
            "Visits": ["3,5", "2,0", "7,5", "1,0", "4,5", "3,0"],
        }
    )
    p = prepare(df, SegmentationConfig())
    assert p.X[:, 0].tolist() == [1200, 950, 3400, 80, 2000, 1100]
    assert p.X[:, 1].tolist() == [3.5, 2.0, 7.5, 1.0, 4.5, 3.0]
    assert any("currency signs" in r for r in p.summary.repairs)
    assert any("decimal commas" in r for r in p.summary.repairs)
