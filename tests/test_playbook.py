"""The playbook: default rules, fallback with its reason, custom playbooks."""

from __future__ import annotations

import pytest

from custseg.errors import ConfigError
from custseg.playbook import load_playbook

FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


@pytest.mark.parametrize(
    ("income", "spending", "rule", "words"),
    [
        ("high", "high", "loyalty", "loyalty programme"),
        ("low", "high", "value-deals", "cost-effective deals"),
        ("high", "low", "high-value-products", "high-value products"),
        ("low", "low", "budget", "budget options"),
        ("average", "average", "lift-spending", "personalised offers"),
        ("average", "high", "keep-engaged", "loyalty rewards"),
        ("high", "average", "lift-spending-any", "personalised offers"),
    ],
)
def test_default_rules(income, spending, rule, words):
    rec = load_playbook().recommend(dict(zip(FEATURES, [income, spending])), FEATURES)
    assert rec.rule == rule
    assert words in (rec.title + " " + rec.action).lower()


def test_fallback_says_why():
    rec = load_playbook().recommend({"Tenure": "high"}, ["Tenure"])
    assert rec.rule is None
    assert rec.title == "Review this segment"
    assert "none of the features plays a role" in rec.reason


def test_roles_match_whole_words_only():
    pb = load_playbook()
    assert pb.roles_of(["Average Order Value", "Page Views"]) == {
        "spending": ["Average Order Value"]
    }


def test_custom_playbook(tmp_path):
    p = tmp_path / "pb.yaml"
    p.write_text(
        "roles: {tenure: [tenure]}\n"
        "rules:\n  - id: vip\n    title: VIP care\n    when: {tenure: high}\n    action: Call them.\n"
        "fallback: {title: Nothing, action: Wait.}\n"
    )
    pb = load_playbook(p)
    assert pb.recommend({"Tenure (years)": "high"}, ["Tenure (years)"]).rule == "vip"
    fb = pb.recommend({"Tenure (years)": "low"}, ["Tenure (years)"])
    assert fb.rule is None and fb.title == "Nothing" and "tenure" in fb.reason.lower()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", "not valid YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("roles: {x: [x]}\nrules: []\n", "'rules' must be a non-empty list"),
        ("roles: {x: [x]}\nrules:\n  - {title: t, when: {y: high}, action: a}\n", "role 'y'"),
        ("roles: {x: [x]}\nrules:\n  - {title: t, when: {x: huge}, action: a}\n", "level 'huge'"),
        ("roles: {x: [x]}\nrules:\n  - {title: t, when: {x: high}}\n", "has no 'action'"),
    ],
)
def test_invalid_playbooks_name_the_problem(tmp_path, text, message):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_playbook(p)
