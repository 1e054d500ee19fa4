"""Profiles computed on Spark as aggregates (issue 18): the same profiles, levels and
names as the local profiles of the same customers and segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.errors import ConfigError
from custseg.profiling import name_segments, profile_segments

pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 2400
    group = rng.integers(0, 3, size=n)
    region = np.array(["north", "south", "east"], dtype=object)[rng.integers(0, 3, size=n)]
    region[rng.random(n) < 0.05] = None
    kids = rng.poisson(1 + group).astype(float)
    kids[rng.random(n) < 0.1] = np.nan  # empty cells do not count
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "spend": rng.lognormal(3 + 0.8 * group, 0.9),  # skewed: logged, robust levels
            "age": rng.normal(30 + 10 * group, 5),
            "region": region,
            "complain": rng.random(n) < 0.1 + 0.3 * (group == 1),
            "kids": kids,
        }
    )


def _profiles_both_ways(spark_session, customers, tmp_path, k=3):
    from custseg.engines.spark import SparkEngine
    from custseg.engines.spark_profile import profile_on_spark
    from custseg.features.scaling import fit_scaler

    path = tmp_path / "c.parquet"
    customers.to_parquet(path, index=False)
    features = ("spend", "age")
    cats = ("region", "complain", "kids")
    X = customers[list(features)].to_numpy()
    log = (True, False)
    scaler = fit_scaler(X, "standard", log=log)
    Xs = scaler.transform(X)
    # Centres: the scaled means of three slices by age, so every segment has customers.
    order = np.argsort(X[:, 1])
    centres = np.array([Xs[part].mean(axis=0) for part in np.array_split(order, k)])
    data = SparkEngine(spark_session).read(
        path, features=features, id_column="customer_id", categories=cats, log=log, raw=True
    )
    assigned = data.scale(scaler.center, scaler.scale).assign(centres)
    labels = np.asarray(assigned.to_numpy()["segment"], dtype=np.int64)  # the test's check only
    spark = profile_on_spark(assigned, k)
    local = profile_segments(X, labels, k, features, customers[list(cats)])
    return features, local, spark


def test_spark_profiles_equal_local_profiles(spark_session, customers, tmp_path):
    features, (pop, local), (pop2, spark) = _profiles_both_ways(spark_session, customers, tmp_path)
    for f in features:
        assert pop2[f].mean == pytest.approx(pop[f].mean, rel=1e-9)
        assert pop2[f].std == pytest.approx(pop[f].std, rel=1e-9)
        assert (pop2[f].min, pop2[f].max) == (pop[f].min, pop[f].max)
    for a, b in zip(local, spark, strict=True):
        assert (a.size, a.share) == (b.size, b.share)
        assert a.levels == b.levels and a.fine_levels == b.fine_levels
        assert a.distinctive == b.distinctive
        assert a.categories == b.categories
        assert set(a.described) == set(b.described) == {"complain", "kids"}
        for c in a.described:
            da, db = a.described[c], b.described[c]
            for key, value in da.items():
                if isinstance(value, float):
                    assert db[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (c, key)
                else:
                    assert db[key] == value, (c, key)
        for f in features:
            assert b.effect[f] == pytest.approx(a.effect[f], rel=1e-9, abs=1e-12)
            sa, sb = a.stats[f], b.stats[f]
            assert (sb.min, sb.max) == (sa.min, sa.max)
            assert sb.mean == pytest.approx(sa.mean, rel=1e-9)
            assert sb.std == pytest.approx(sa.std, rel=1e-9)
            # percentile_approx gives a value of the data within its rank error; the local
            # median interpolates: both lie between the segment's neighbouring quantiles.
            assert sb.median == pytest.approx(sa.median, rel=0.02)
    assert spark[0].evidence["spend"].ratio is None  # a number, not a share
    # Not a vacuous agreement: segments differ on both features and on the flag.
    assert {p.levels["age"] for p in spark} == {"low", "average", "high"}
    assert {p.described["complain"]["level"] for p in spark} != {"average"}
    names = [
        name_segments(
            [p.levels for p in ps], [p.fine_levels for p in ps], [p.effect for p in ps], features
        )
        for ps in (local, spark)
    ]
    assert names[0] == names[1]


def test_profiles_need_an_assigned_handle_in_original_units(spark_session, customers, tmp_path):
    from custseg.engines.spark import SparkEngine
    from custseg.engines.spark_profile import profile_on_spark

    path = tmp_path / "c.parquet"
    customers.to_parquet(path, index=False)
    data = SparkEngine(spark_session).read(path, features=("spend", "age"))
    with pytest.raises(ConfigError, match="assign customers"):
        profile_on_spark(data, 2)
    with pytest.raises(ConfigError, match="read with raw=True"):
        profile_on_spark(data.assign(np.array([[0.0, 0.0], [100.0, 100.0]])), 2)
