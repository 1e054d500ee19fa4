"""model.json: round trips, reproducible bytes, and hostile or broken files."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from custseg import ModelError, SegmentationConfig, load_model, make_customers, segment
from custseg.model import content_checksum
from custseg.model.schema import model_schema

FEATURES = ("Annual Income (k$)", "Spending Score (1-100)")
DOCS = Path(__file__).resolve().parents[1] / "docs" / "model-format.md"


@pytest.fixture(scope="module")
def customers_frame() -> pd.DataFrame:
    """A generated table shaped like the Mall Customers data (200 rows, same columns)."""
    return make_customers(200, seed=11)


@pytest.fixture(scope="module")
def fitted(customers_frame):
    return segment(customers_frame, SegmentationConfig(features=FEATURES, k=5, k_max=5))


@pytest.fixture
def model_doc(fitted) -> dict:
    return fitted.model.to_dict()


def _write(tmp_path: Path, doc: dict, *, fix_checksum: bool = True) -> Path:
    if fix_checksum:
        doc["checksum"] = content_checksum(doc)
    p = tmp_path / "model.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


# -- round trips --------------------------------------------------------------------------


def test_kmeans_round_trip_assigns_training_data_to_fitted_segments(
    fitted, customers_frame, tmp_path
):
    path = fitted.model.save(tmp_path / "model.json")
    model = load_model(path)
    assigned = model.assign(customers_frame)
    assert (assigned["segment"].to_numpy(dtype=np.int64) == fitted.labels).all()
    assert assigned["CustomerID"].tolist() == customers_frame["CustomerID"].astype(str).tolist()
    names = {s.id: s.name for s in fitted.segments}
    assert assigned["segment_name"].tolist() == [names[v] for v in fitted.labels]
    # the loaded model writes exactly the document it was read from
    assert model.to_json() == path.read_text(encoding="utf-8")


def test_kmeans_agreement_with_fit_is_one(fitted):
    assert fitted.model.assignment_agreement == 1.0


def test_hierarchical_agreement_is_measured_and_stored(customers_frame, tmp_path):
    result = segment(
        customers_frame,
        SegmentationConfig(
            method="hierarchical", features=("Age", "Spending Score (1-100)"), scale="none"
        ),
    )
    nearest = result.model.predict(customers_frame)
    expected = float((nearest == result.labels).mean())
    doc = json.loads(result.model.to_json())
    assert doc["assignment"]["agreement_with_fit"] == pytest.approx(expected)
    assert 0.5 < expected <= 1.0


def test_same_fit_saved_twice_is_byte_identical_but_for_created_at(customers_frame, tmp_path):
    config = SegmentationConfig(features=FEATURES, k=5, k_max=5)
    a = segment(customers_frame, config).model.save(tmp_path / "a.json").read_text("utf-8")
    b = segment(customers_frame, config).model.save(tmp_path / "b.json").read_text("utf-8")
    stamp = re.compile(r'"created_at": "[^"]*"')
    assert stamp.search(a)
    assert stamp.sub("", a) == stamp.sub("", b)
    assert json.loads(a)["checksum"] == json.loads(b)["checksum"]


def test_created_at_honours_source_date_epoch(fitted, monkeypatch, customers_frame):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    result = segment(customers_frame, SegmentationConfig(features=FEATURES, k=5, k_max=5))
    assert result.model.created_at == "2023-11-14T22:13:20Z"


def test_model_records_what_the_issue_lists(model_doc):
    assert model_doc["format"] == "custseg-model" and model_doc["format_version"] == 1
    assert model_doc["custseg_version"]
    assert model_doc["training"]["fingerprint"].startswith("sha256:")
    assert model_doc["features"] == [{"name": f, "type": "number"} for f in FEATURES]
    assert set(model_doc["preprocessing"]) >= {"scaler", "missing", "impute_values"}
    assert model_doc["k"] == 5 and len(model_doc["centres"]) == 5
    for s in model_doc["segments"]:
        assert {"name", "levels", "recommendation", "distance"} <= set(s)
        assert set(s["distance"]) == {"p50", "p90", "p99", "max"}


def test_schema_ships_with_the_package_and_docs_describe_every_field():
    schema = model_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    text = DOCS.read_text(encoding="utf-8")
    for name in schema["properties"]:
        assert f"`{name}`" in text, f"docs/model-format.md does not describe {name!r}"
    segment_fields = schema["properties"]["segments"]["items"]["properties"]
    for name in segment_fields:
        assert f"`{name}`" in text, f"docs/model-format.md does not describe segments[].{name}"


# -- hostile and broken files ---------------------------------------------------------------


def _rejects(path: Path, pattern: str) -> None:
    with pytest.raises(ModelError, match=pattern):
        load_model(path)
    code, _, err = run_cli("assign", str(path), str(path.with_name("new.csv")), "--out", "x.csv")
    assert code == 1, err
    assert err.startswith("Error: ") and "Traceback" not in err
    assert re.search(pattern, err)
    assert len(err.strip().splitlines()) == 1


def test_truncated_file(fitted, tmp_path):
    text = fitted.model.to_json()
    p = tmp_path / "model.json"
    p.write_text(text[: len(text) // 2], encoding="utf-8")
    _rejects(p, r"not valid JSON .*the file is truncated")


def test_future_format_version(model_doc, tmp_path):
    model_doc["format_version"] = 7
    _rejects(_write(tmp_path, model_doc), r"format version 7.*reads up to version 1: upgrade")


def test_extra_field(model_doc, tmp_path):
    model_doc["run_this"] = "import os"
    _rejects(_write(tmp_path, model_doc), r"Additional properties are not allowed .*run_this")


def test_nan_centre(fitted, tmp_path):
    text = fitted.model.to_json()
    doc = json.loads(text)
    first = json.dumps(doc["centres"][0][0])
    p = tmp_path / "model.json"
    p.write_text(text.replace(first, "NaN", 1), encoding="utf-8")
    _rejects(p, r"holds the non-number NaN")


def test_infinite_centre_written_as_huge_number(fitted, tmp_path):
    # 1e999 is valid JSON that parses to infinity: caught after the schema and checksum
    doc = fitted.model.to_dict()
    doc["centres"][1][0] = float("inf")
    doc["checksum"] = content_checksum(doc)
    p = tmp_path / "model.json"
    p.write_text(json.dumps(doc).replace("Infinity", "1e999"), encoding="utf-8")
    _rejects(p, r"at centres/1/0: a number is infinite")


def test_pickle_renamed_to_json(fitted, tmp_path):
    for protocol in (0, 2, pickle.HIGHEST_PROTOCOL):
        p = tmp_path / "model.json"
        p.write_bytes(pickle.dumps({"centres": [[1.0, 2.0]]}, protocol=protocol))
        _rejects(p, r"is a Python pickle, not a custseg model; custseg never loads pickles")


def test_wrong_centre_shape(model_doc, tmp_path):
    model_doc["centres"] = [row[:1] for row in model_doc["centres"]]
    _rejects(_write(tmp_path, model_doc), r"centres must be 5 rows of 2 numbers")
    model_doc["centres"] = model_doc["centres"][:3]
    _rejects(_write(tmp_path, model_doc), r"centres must be 5 rows")


def test_tampered_content_fails_the_checksum(model_doc, tmp_path):
    model_doc["segments"][0]["distance"]["p99"] = 1000.0  # nobody would ever be atypical
    _rejects(_write(tmp_path, model_doc, fix_checksum=False), r"checksum does not match")


def test_schema_violation_names_the_place(model_doc, tmp_path):
    model_doc["method"] = "dbscan"
    _rejects(_write(tmp_path, model_doc), r"at method: 'dbscan' is not one of")


def test_inconsistent_documents(model_doc, tmp_path):
    doc = json.loads(json.dumps(model_doc))
    doc["segments"][1]["id"] = doc["segments"][0]["id"]
    _rejects(_write(tmp_path, doc), r"segment ids must be unique")
    doc = json.loads(json.dumps(model_doc))
    doc["preprocessing"]["scaler"]["scale"][0] = 0
    _rejects(_write(tmp_path, doc), r"scaler scale is zero")
    doc = json.loads(json.dumps(model_doc))
    doc["segments"][0]["distance"]["p50"] = 99.0
    _rejects(_write(tmp_path, doc), r"not p50 <= p90 <= p99 <= max")


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"", r"is empty"),
        (b"\xff\xfe\x00garbage", r"not UTF-8 JSON text"),
        (b"[1, 2, 3]", r"is not a custseg model \(no \"format\""),
        (b'{"format": "custseg-model", "format_version": 1}', r"at \(top level\): "),
    ],
)
def test_not_a_model(tmp_path, content, pattern):
    p = tmp_path / "model.json"
    p.write_bytes(content)
    _rejects(p, pattern)


def test_missing_model_file(tmp_path):
    _rejects(tmp_path / "nope.json", r"model file .*nope.json' does not exist")
