"""SegmentationResult serialised once: to_dict / from_dict, the segments.json schema, k evidence."""

from __future__ import annotations

import copy
import json
import re

import jsonschema
import pytest

from custseg import SegmentationConfig, make_customers, segment
from custseg.errors import ReportError
from custseg.results import SegmentationResult
from custseg.results_json import load_result, result_schema


@pytest.fixture(scope="module", params=["kmeans", "hierarchical"])
def result(request):
    return segment(make_customers(180, seed=4), SegmentationConfig(method=request.param))


def saved(result: SegmentationResult) -> dict:
    return json.loads(json.dumps(result.to_dict()))


def test_to_dict_follows_the_schema(result):
    jsonschema.Draft202012Validator(result_schema()).validate(saved(result))


def test_from_dict_gives_back_the_same_document(result):
    back = SegmentationResult.from_dict(saved(result), result.model)
    assert saved(back) == saved(result)
    assert [(s.id, s.name, s.size) for s in back.segments] == [
        (s.id, s.name, s.size) for s in result.segments
    ]
    assert back.config == result.config and back.k == result.k
    assert len(back.labels) == 0  # per-customer labels live in assignments.csv


def test_load_result_reads_a_results_folder(result):
    back = load_result(saved(result), result.model.to_dict())
    assert back.model.to_dict() == result.model.to_dict()
    assert [s.name for s in back.segments] == [s.name for s in result.segments]


def test_a_newer_option_in_config_is_ignored(result):
    doc = saved(result)
    doc["config"]["an_option_of_a_later_version"] = 3
    assert SegmentationResult.from_dict(doc, result.model).config == result.config


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["data"].pop("n_rows"), "segments.json has no 'data.n_rows'"),
        (lambda d: d.update(k="5"), "segments.json: 'k' should be a whole number, not '5'"),
        (lambda d: d["segments"][0].update(share=2), "segments.json: at 'segments[1].share'"),
    ],
)
def test_broken_documents_name_the_key(result, change, message):
    doc = copy.deepcopy(saved(result))
    change(doc)
    with pytest.raises(ReportError, match="^" + re.escape(message)):
        SegmentationResult.from_dict(doc, result.model)


def test_with_k_evidence_keeps_the_sweep_and_states_the_users_k():
    frame = make_customers(150, seed=2)
    auto = segment(frame, SegmentationConfig())
    k = 3 if auto.k != 3 else 4
    fixed = segment(frame, SegmentationConfig(k=k, k_min=k, k_max=k))
    shown = fixed.with_k_evidence(auto)
    sel = shown.k_selection
    assert sel.candidates == auto.k_selection.candidates
    assert sel.rule == "fixed" and sel.chosen == k == shown.k
    assert sel.note == (
        f"k={k} was set by the user; the automatic choice was k={auto.k}: {auto.k_selection.note}"
    )
    assert shown.segments == fixed.segments
    assert len(fixed.k_selection.candidates) == 1  # the fixed run compared only its own k
