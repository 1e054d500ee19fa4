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
    rec = load_playbook().recommend({"Shoe Size": "high"}, ["Shoe Size"])
    assert rec.rule is None
    assert rec.title == "Review this segment"
    assert "none of the features plays a role" in rec.reason


def test_roles_match_whole_words_only():
    pb = load_playbook()
    assert pb.roles_of(["Average Order Value", "Page Views", "Agency Fee"]) == {
        "spending": ["Average Order Value"],
        "web_visits": ["Page Views"],
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


def test_camel_case_names_get_roles_and_deal_purchases_are_not_spending():
    pb = load_playbook()
    roles = pb.feature_roles(
        ["MntWines", "NumWebPurchases", "NumDealsPurchases", "NumWebVisitsMonth", "Recency"]
    )
    assert roles == {
        "MntWines": "category_spend",
        "NumWebPurchases": "channel_purchases",
        "NumDealsPurchases": "deals",
        "NumWebVisitsMonth": "web_visits",
        "Recency": "recency",
    }


def test_registry_roles_fill_in_where_playbook_words_do_not():
    pb = load_playbook()
    # The playbook's words come first (the user edits them); 'Pay' has none: the registry's.
    assert pb.feature_roles(["Score", "Pay"], {"Score": "spend", "Pay": "income"}) == {
        "Score": "spending",
        "Pay": "income",
    }
    # 'spend' belongs to the family 'spending': the income x spending rules apply.
    rec = pb.recommend(
        {"Pay": "high", "Score": "high"},
        ["Pay", "Score"],
        None,
        {"Pay": "income", "Score": "spend"},
    )
    assert rec.rule == "loyalty"


def test_all_rules_that_hold_are_ranked_with_reasons():
    pb = load_playbook()
    feats = ["Recency", "Frequency", "Monetary"]
    levels = {"Recency": "low", "Frequency": "high", "Monetary": "high"}
    effects = {"Recency": -1.1, "Frequency": 1.4, "Monetary": 1.2}
    recs = pb.recommend_all(levels, feats, effects)
    # Three conditions beat two beat one; within one condition, the larger difference first.
    assert [r.rule for r in recs] == ["champions", "loyal-customers", "frequent-buyers"]
    assert recs[0].reason == (
        "matched recency low (Recency -1.10 sd); frequency high (Frequency +1.40 sd); "
        "spending high (Monetary +1.20 sd)"
    )


def test_conditions_on_a_role_limited_by_name_words():
    pb = load_playbook()
    feats = ["NumWebVisitsMonth", "NumWebPurchases", "NumStorePurchases"]
    levels = {"NumWebVisitsMonth": "high", "NumWebPurchases": "low", "NumStorePurchases": "high"}
    rules = [r.rule for r in pb.recommend_all(levels, feats)]
    assert rules[0] == "browsers"
    assert "store-buyers" in rules and "web-buyers" not in rules


def test_every_average_is_mainstream_not_the_fallback():
    pb = load_playbook()
    rec = pb.recommend({"Shoe Size": "average", "Height": "average"}, ["Shoe Size", "Height"])
    assert rec.rule == "mainstream"


def test_names_use_role_words_with_the_column_subject():
    vocab = load_playbook().vocabulary(["MntWines", "NumStorePurchases", "Recency", "Age"])
    assert vocab["MntWines"]["high"] == "Big on wines"
    assert vocab["NumStorePurchases"]["high"] == "Store buyers"
    assert vocab["Recency"] == {"low": "Recent", "high": "Lapsed"}
    assert vocab["Age"]["low"] == "Younger"


def test_version_1_playbooks_keep_working_and_typos_are_caught(tmp_path):
    p = tmp_path / "v1.yaml"
    p.write_text(
        "roles: {tenure: [tenure]}\n"
        "rules:\n  - {id: vip, title: VIP, when: {tenur: high}, action: Call.}\n"
    )
    with pytest.raises(ConfigError, match="role 'tenur'"):
        load_playbook(p)
    p.write_text("version: 3\nrules: [{title: t, when: {x: high}, action: a}]\n")
    with pytest.raises(ConfigError, match="version 3 is not 1 or 2"):
        load_playbook(p)
