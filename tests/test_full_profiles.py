"""Issue 14, part 2: descriptors profiled with levels, names and actions over the
column-role registry, top traits in the summary, and the roles corpus held to the
"words match numbers" and "rarely the fallback" promises."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from custseg.pipeline import segment
from custseg.playbook import load_playbook
from custseg.profiling.naming import TYPICAL, name_segments
from custseg.profiling.profile import describe_numeric
from tables import ALL as CORPUS
from tables import crm_marketing

# --- describe_numeric: hand-worked ------------------------------------------------------


def test_a_flag_descriptor_is_a_rate_with_its_ratio_and_level():
    # Ten copies of 10 customers, segment 0 = the first 4 of each: Complain is 1 for 3 of
    # its 4 and for 1 of the other 6. Rates 0.75 and 0.167 against 0.4 for the base; the
    # v-tests (about +5.8 and -5.8 on 100 customers) are far beyond 1.96.
    cats = pd.DataFrame(
        {"Complain": [1, 1, 1, 0, 0, 0, 0, 0, 0, 1] * 10, "Region": list("abababaaba") * 10}
    )
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1] * 10)
    out = describe_numeric(cats, labels, 2)
    assert set(out[0]) == {"Complain"}  # a text column is a mix, not a number
    c0, c1 = out[0]["Complain"], out[1]["Complain"]
    assert c0["kind"] == "flag" and c0["mean"] == pytest.approx(0.75)
    assert c0["base"] == pytest.approx(0.4)
    assert c0["ratio"] == pytest.approx(0.75 / 0.4)  # 1.875 >= 1.25: high
    assert c1["ratio"] == pytest.approx((1 / 6) / 0.4)  # 0.42 <= 0.8: low
    assert (c0["level"], c1["level"]) == ("high", "low")
    assert c0["vtest"] == pytest.approx(5.8, abs=0.1)
    # On 10 customers the same rates are not significant: average, as the v-test says.
    small = describe_numeric(cats.head(10), labels[:10], 2)
    assert small[0]["Complain"]["level"] == "average"


def test_empty_cells_of_a_descriptor_do_not_count():
    cats = pd.DataFrame({"Kids": [2.0, np.nan, 2.0, 0.0, 0.0, np.nan]})
    labels = np.array([0, 0, 0, 1, 1, 1])
    out = describe_numeric(cats, labels, 2)
    assert out[0]["Kids"]["mean"] == 2.0 and out[1]["Kids"]["mean"] == 0.0
    assert out[0]["Kids"]["base"] == 1.0


def test_a_constant_or_textual_descriptor_is_not_described():
    cats = pd.DataFrame({"Same": [1, 1, 1, 1], "Note": ["x", "y", "1", "2"]})
    assert describe_numeric(cats, np.array([0, 0, 1, 1]), 2) == [{}, {}]


# --- names -------------------------------------------------------------------------------


def test_two_features_with_the_same_words_are_named_once():
    feats = ("CASH_ADVANCE", "CASH_ADVANCE_TRX", "PURCHASES", "TENURE")
    vocab = load_playbook(None).vocabulary(feats)
    assert vocab["CASH_ADVANCE"] == vocab["CASH_ADVANCE_TRX"]
    levels = [
        {
            "CASH_ADVANCE": "high",
            "CASH_ADVANCE_TRX": "high",
            "PURCHASES": "low",
            "TENURE": "average",
        }
    ]
    effects = [{"CASH_ADVANCE": 1.2, "CASH_ADVANCE_TRX": 1.1, "PURCHASES": -0.6, "TENURE": 0.0}]
    (name,) = name_segments(levels, levels, effects, feats, vocab)
    assert name == "Cash-advance heavy · Low PURCHASES"


def test_a_segment_average_on_every_feature_is_typical():
    feats = ("a", "b", "c", "d")
    avg = [{f: "average" for f in feats}]
    assert name_segments(avg, avg, [{f: 0.1 for f in feats}], feats) == [TYPICAL]


# --- the playbook over the registry's roles ----------------------------------------------


def test_the_registrys_role_names_a_column_the_playbook_has_no_words_for():
    pb = load_playbook(None)
    feats = ("Einkommen", "Gesamtausgaben")
    assert pb.feature_roles(feats) == {}
    registry = {"Einkommen": "income", "Gesamtausgaben": "spend"}
    assert pb.feature_roles(feats, registry) == registry
    rec = pb.recommend({"Einkommen": "high", "Gesamtausgaben": "high"}, feats, None, registry)
    assert rec.rule == "loyalty"
    assert "Einkommen" in rec.reason and "Gesamtausgaben" in rec.reason


def test_the_playbooks_own_words_come_before_the_registry():
    pb = load_playbook(None)
    # The registry calls a count of cash advances a frequency; the playbook's words know
    # it is about cash advances, and the user edits the playbook.
    roles = pb.feature_roles(["CASH_ADVANCE_TRX"], {"CASH_ADVANCE_TRX": "frequency"})
    assert roles == {"CASH_ADVANCE_TRX": "cash_advance"}


def test_registry_roles_keep_names_and_skip_content_guesses():
    from custseg.features.roles import ColumnRole

    pb = load_playbook(None)
    roles = [
        ColumnRole("Edad", "age", "number", "none", "feature", "named like age", "name"),
        ColumnRole("x1", "number", "number", "none", "feature", "a number", "content"),
        ColumnRole("Sitz", "birth_year", "number", "none", "derived-from", "", "name"),
    ]
    assert pb.registry_roles(roles) == {"Edad": "age"}


# --- end to end ------------------------------------------------------------------------


def _marketing(tmp_path: Path) -> Path:
    path = tmp_path / "crm.csv"
    path.write_text(crm_marketing().text, encoding="utf-8")
    return path


def test_descriptors_reach_segments_json_summary_and_report(tmp_path):
    src = _marketing(tmp_path)
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("segment", str(src), "--out", str(out))
    assert code == 0, stderr
    doc = json.loads((out / "segments.json").read_text())
    described = doc["segments"][0]["profile"]["described"]
    assert described  # the campaign flags, complaints, kids at home ...
    for seg in doc["segments"]:
        for col, d in seg["profile"]["described"].items():
            if d["level"] == "high":
                assert d["mean"] > d["base"], (seg["id"], col)
            if d["level"] == "low":
                assert d["mean"] < d["base"], (seg["id"], col)
    assert "      traits: " in stdout
    html = (out / "report.html").read_text()
    assert "Other columns, not clustered on" in html
    # read back from segments.json (custseg report) the same
    from custseg.results_json import load_result

    again = load_result(doc, json.loads((out / "model.json").read_text()))
    assert again.segments[0].described == doc["segments"][0]["profile"]["described"]


@pytest.mark.parametrize("table", CORPUS, ids=lambda t: t.__name__)
def test_on_the_corpus_words_match_numbers_and_the_fallback_is_rare(tmp_path, table):
    t = table()
    path = tmp_path / f"{t.name}.csv"
    path.write_bytes(t.text.encode(t.encoding))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = segment(path)
    fallbacks = [s.id for s in result.segments if s.recommendation.rule is None]
    assert len(fallbacks) <= 1, fallbacks
    for s in result.segments:
        for f, level in s.levels.items():
            diff = s.centre[f] - result.population[f].mean
            assert not (level == "high" and diff < 0), (s.id, f)
            assert not (level == "low" and diff > 0), (s.id, f)
        if s.recommendation.rule is not None:
            assert s.recommendation.reason.startswith("matched ")
        words = s.name.split(" · ")
        assert len(words) == len(set(words)), s.name
    assert len({s.name for s in result.segments}) == result.k
