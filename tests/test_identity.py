"""--previous: segments that persist keep their ids and names across refits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from custseg import ModelError, SegmentationConfig, load_model, make_customers, segment
from custseg.model.identity import apply_previous

CENTRES = {"A": (20, 20), "B": (80, 20), "C": (20, 80), "D": (80, 80), "E": (50, 50)}


def blobs(sizes: dict[str, int], *, seed: int, first_id: int = 1) -> pd.DataFrame:
    """Customers around well-separated centres; column 'blob' says where each was drawn."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, n in sizes.items():
        cx, cy = CENTRES[name]
        parts.append(
            pd.DataFrame(
                {
                    "Income": rng.normal(cx, 3, n),
                    "Score": rng.normal(cy, 3, n),
                    "blob": name,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "CustomerID", np.arange(first_id, first_id + len(frame)))
    return frame


def config(k: int, **kw) -> SegmentationConfig:
    return SegmentationConfig(features=("Income", "Score"), k=k, k_max=max(k, 2), n_init=3, **kw)


def id_of_blob(result, frame: pd.DataFrame) -> dict[str, int]:
    """The segment id holding most customers of each blob."""
    lab = pd.Series(result.labels, index=frame.index)
    return {b: int(lab[frame["blob"] == b].mode()[0]) for b in frame["blob"].unique()}


@pytest.fixture(scope="module")
def q1(tmp_path_factory):
    folder = tmp_path_factory.mktemp("q1")
    frame = blobs({"A": 200, "B": 150, "C": 100, "D": 50}, seed=0)
    result = segment(frame, config(4))
    from custseg import write_results

    write_results(result, folder, plots=False)
    return folder, frame, result


def test_fresh_ids_are_by_size(q1):
    _, frame, result = q1
    assert id_of_blob(result, frame) == {"A": 1, "B": 2, "C": 3, "D": 4}


def test_ids_and_names_follow_segments_when_sizes_reorder(q1):
    folder, frame, before = q1
    # Shuffle, perturb, and shrink A so a fresh run would number the segments differently.
    rng = np.random.default_rng(5)
    q2 = frame.drop(frame.index[frame["blob"] == "A"][:130]).sample(frac=1, random_state=2)
    q2 = q2.assign(Income=q2["Income"] + rng.normal(0, 1, len(q2))).reset_index(drop=True)
    fresh = segment(q2, config(4))
    assert id_of_blob(fresh, q2) != {"A": 1, "B": 2, "C": 3, "D": 4}  # the test can fail

    kept = segment(q2, config(4, previous=str(folder / "model.json")))
    assert id_of_blob(kept, q2) == {"A": 1, "B": 2, "C": 3, "D": 4}
    names_before = {s.id: s.name for s in before.segments}
    assert {s.id: s.name for s in kept.segments} == names_before
    assert [s.id for s in kept.segments] == [1, 2, 3, 4]
    assert kept.segment(1).size == 70
    assert kept.identity.new == () and kept.identity.vanished == ()
    # migration: every customer in both runs stayed; A's dropped customers are reported
    mig = kept.identity.migration
    stay = mig[mig["from_segment"] == mig["to_segment"]]
    assert stay.set_index("from_segment")["customers"].to_dict() == {1: 70, 2: 150, 3: 100, 4: 50}
    gone = mig[mig["to_segment"].isna()]
    assert gone["customers"].tolist() == [130] and gone["to_name"].tolist() == ["(not in that run)"]
    # the model assigns with the kept ids
    assert (kept.model.predict(q2) == kept.labels).all()


def test_new_segment_gets_a_new_id_and_vanished_are_reported_and_ids_never_reused(q1, tmp_path):
    folder, _, before = q1
    q2 = blobs({"A": 200, "B": 150, "C": 100, "E": 60}, seed=1, first_id=1)
    r2 = segment(q2, config(4, previous=str(folder / "model.json")))
    assert id_of_blob(r2, q2) == {"A": 1, "B": 2, "C": 3, "E": 5}
    assert [(s.id, s.name) for s in r2.identity.vanished] == [(4, before.segment(4).name)]
    assert [s.id for s in r2.identity.new] == [5]
    doc = r2.to_dict()
    assert doc["identity"]["vanished"][0]["id"] == 4
    assert r2.model.lineage["highest_segment_id"] == 5
    # D comes back in the next quarter: it is a new segment again, and id 4 is not reused
    from custseg import write_results

    write_results(r2, tmp_path / "q2", plots=False)
    q3 = blobs({"A": 200, "B": 150, "C": 100, "D": 40, "E": 60}, seed=2)
    r3 = segment(q3, config(5, previous=str(tmp_path / "q2" / "model.json")))
    assert id_of_blob(r3, q3) == {"A": 1, "B": 2, "C": 3, "D": 6, "E": 5}
    # the saved model has non-contiguous ids and still assigns correctly
    model = load_model(r3.model.save(tmp_path / "q3.json"))
    assert (model.predict(q3) == r3.labels).all()
    assert [s.id for s in model.segments] == [1, 2, 3, 5, 6]


def test_customers_moving_between_segments_are_counted(q1):
    folder, frame, _ = q1
    q2 = frame.copy()
    movers = q2.index[q2["blob"] == "A"][:10]
    q2.loc[movers, "Income"] += 60  # from A's corner to B's
    result = segment(q2, config(4, previous=str(folder / "model.json")))
    mig = result.identity.migration.set_index(["from_segment", "to_segment"])["customers"]
    assert mig[(1, 2)] == 10 and mig[(1, 1)] == 190
    assert int(mig.sum()) == 500


def test_refit_on_shuffled_perturbed_customers_keeps_ids_and_names(tmp_path):
    features = "Annual Income (k$),Spending Score (1-100)"
    q1 = tmp_path / "q1.csv"
    make_customers(200, seed=11).to_csv(q1, index=False)
    code, _, err = run_cli("segment", str(q1), "-f", features, "--out", str(tmp_path / "q1"),
                           "--no-plots", "-q", "--k", "5", "--k-max", "5")  # fmt: skip
    assert code == 0, err
    frame = pd.read_csv(q1).sample(frac=1, random_state=7).reset_index(drop=True)
    rng = np.random.default_rng(7)
    for col in features.split(","):
        frame[col] = frame[col] + rng.normal(0, 1.5, len(frame))
    frame.to_csv(tmp_path / "q2.csv", index=False)
    code, out, err = run_cli(
        "segment", str(tmp_path / "q2.csv"), "-f", features, "--out", str(tmp_path / "q2"),
        "--previous", str(tmp_path / "q1" / "model.json"), "--no-plots", "-q", "--k", "5",
        "--k-max", "5",
    )  # fmt: skip
    assert code == 0, err
    one = json.loads((tmp_path / "q1" / "segments.json").read_text("utf-8"))
    two = json.loads((tmp_path / "q2" / "segments.json").read_text("utf-8"))
    assert [(s["id"], s["name"]) for s in two["segments"]] == [
        (s["id"], s["name"]) for s in one["segments"]
    ]
    assert "kept ids and names: 1, 2, 3, 4, 5" in out
    # the same customers carry the same segment, except the few the noise pushed over a border
    a1 = pd.read_csv(tmp_path / "q1" / "assignments.csv").set_index("CustomerID")["segment"]
    a2 = pd.read_csv(tmp_path / "q2" / "assignments.csv").set_index("CustomerID")["segment"]
    assert (a1 == a2.loc[a1.index]).mean() > 0.95
    mig = pd.read_csv(tmp_path / "q2" / "migration.csv")
    assert mig["customers"].sum() == 200


def test_features_must_match(q1, tmp_path):
    folder, frame, _ = q1
    src = tmp_path / "q2.csv"
    frame.assign(Age=np.arange(len(frame)) % 50).to_csv(src, index=False)
    code, _, err = run_cli(
        "segment", str(src), "-f", "Income,Age", "--k", "3", "--out", str(tmp_path / "q2"),
        "--previous", str(folder / "model.json"), "--no-plots", "-q",
    )  # fmt: skip
    assert code == 1
    assert err.startswith("Error: the previous model ") and "was fitted on Income, Score" in err
    assert "(missing 'Score'; new 'Age'); segment identity needs the same features" in err
    assert not (tmp_path / "q2").exists()


def test_bad_previous_model_fails_before_fitting(q1, tmp_path):
    _, frame, _ = q1
    bad = tmp_path / "model.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        segment(frame, config(4, previous=str(bad)))


def test_no_shared_ids_means_no_migration_table(q1):
    folder, frame, _ = q1
    result = apply_previous(
        segment(frame.drop(columns=["CustomerID"]), config(4)), folder / "model.json"
    )
    assert result.identity.migration is None
    assert "this run has no customer id column" in result.identity.migration_note
    assert [s.id for s in result.segments] == [1, 2, 3, 4]


@pytest.mark.filterwarnings("ignore:segment 3 has only 3:custseg.SegmentationWarning")
def test_a_tiny_tight_segment_keeps_its_id():
    rng = np.random.default_rng(0)
    big = blobs({"A": 200, "B": 150}, seed=0)
    vip = pd.DataFrame({"Income": [140.0, 140.1, 139.9], "Score": [99.0, 99.1, 98.9], "blob": "V"})
    q1 = pd.concat([big, vip], ignore_index=True).assign(CustomerID=lambda f: np.arange(len(f)))
    # Three far-out VIPs are extreme values by the outlier rule; here they are meant as a
    # segment of their own, so they are fitted like anyone.
    r1 = segment(q1, config(3, outliers="keep"))
    vip_id = int(r1.labels[-1])
    # next quarter: everyone jitters, the three VIPs drift by 3k$ together
    q2 = q1.assign(Income=q1["Income"] + rng.normal(0, 1, len(q1)))
    q2.loc[q2["blob"] == "V", "Income"] += 3
    fresh = segment(q2, config(3, outliers="keep"))
    moved = fresh.model.scaler.inverse_transform(fresh.model.centres[int(fresh.labels[-1]) - 1])
    drift = r1.model.scaler.transform(moved) - r1.model.centres[vip_id - 1]  # previous ruler
    assert np.hypot(*drift) > r1.model.segments[vip_id - 1].distance["p99"]  # p99 alone: no match
    r2 = apply_previous(fresh, r1.model)
    assert int(r2.labels[-1]) == vip_id
    assert r2.identity.new == () and r2.identity.vanished == ()


def test_segmenter_previous_parameter(q1):
    from custseg import Segmenter

    folder, frame, _ = q1
    q2 = frame.drop(frame.index[frame["blob"] == "A"][:130]).reset_index(drop=True)
    seg = Segmenter(features=["Income", "Score"], k=4, k_max=4, n_init=3,
                    previous=str(folder / "model.json")).fit(q2)  # fmt: skip
    assert id_of_blob(seg.result_, q2) == {"A": 1, "B": 2, "C": 3, "D": 4}
    assert (seg.predict(q2) == seg.labels_).all()
    assert "previous=" in repr(seg)
