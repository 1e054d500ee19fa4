"""Scaling to millions of customers (issue 6), checked at small sizes.

k chosen on a sample == k chosen on all customers; two-stage Ward == exact Ward
when every micro-cluster is one customer; bounded memory on 2 x 10^6 rows; the
columnar fast path reads what the general loader reads.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import linkage
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score

from conftest import run_cli
from custseg import pipeline
from custseg.cluster.hierarchical import cut_tree, ward_tree
from custseg.config import SegmentationConfig
from custseg.data.fast import prepare_large_file, prepare_matrix
from custseg.data.loading import load_table
from custseg.data.prepare import prepare
from custseg.engines import get_engine
from custseg.pipeline import segment, segment_prepared
from custseg.selection.indices import silhouette


def _blobs(n: int, d: int = 3, centers: int = 4, seed: int = 0, std: float = 1.0) -> np.ndarray:
    X, _ = make_blobs(
        n_samples=n, n_features=d, centers=centers, cluster_std=std, random_state=seed
    )
    return X


def _features(d: int) -> tuple[str, ...]:
    return tuple(f"f{j}" for j in range(d))


# --- choosing k on a sample -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _one_thread():
    # The results do not depend on the thread count; one thread keeps these tests quick
    # on a shared 2-core machine, where OpenMP workers otherwise spin against each other.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.mark.parametrize(
    ("centers", "method", "rule"),
    [(3, "kmeans", "auto"), (4, "kmeans", "auto"), (5, "hierarchical", "silhouette")],
)
def test_sampled_k_equals_full_data_k(monkeypatch, centers, method, rule):
    X, _ = make_blobs(
        n_samples=4_000,
        n_features=3,
        centers=centers,
        cluster_std=0.7,
        center_box=(-15, 15),
        random_state=centers,
    )
    prepared = prepare_matrix(X, _features(3))
    config = SegmentationConfig(method=method, k_rule=rule)
    # Hierarchical runs two-stage here, so its indices really are computed on a sample.
    monkeypatch.setattr(pipeline, "EXACT_TREE_LIMIT", 1_000)
    monkeypatch.setattr(pipeline, "MICRO_CLUSTERS", 300)

    monkeypatch.setattr(pipeline, "SWEEP_SAMPLE", 10**9)  # every customer
    full = segment_prepared(prepared, config)
    monkeypatch.setattr(pipeline, "SWEEP_SAMPLE", 1_500)
    sampled = segment_prepared(prepared, config)

    assert full.k_selection.sample_size is None
    assert sampled.k_selection.sample_size == 1_500
    assert sampled.to_dict()["k_selection"]["sample_size"] == 1_500
    assert "sample of 1,500" in sampled.k_selection.note
    assert sampled.k_selection.chosen == full.k_selection.chosen == centers
    # The final fit runs on every customer: the same segments as the full-data run.
    assert adjusted_rand_score(full.labels, sampled.labels) > 0.99
    assert sum(s.size for s in sampled.segments) == len(X)


def test_final_kmeans_on_all_customers_matches_full_sweep_inertia(monkeypatch):
    X = _blobs(5_000, d=4, centers=5, seed=3, std=1.5)
    prepared = prepare_matrix(X, _features(4))
    config = SegmentationConfig(k=5)
    monkeypatch.setattr(pipeline, "SWEEP_SAMPLE", 10**9)
    full = segment_prepared(prepared, config)
    monkeypatch.setattr(pipeline, "SWEEP_SAMPLE", 1_000)
    sampled = segment_prepared(prepared, config)

    def inertia(result):
        Xs = result.model.scaler.transform(X)
        lab = result.labels - 1
        return sum(((Xs[lab == s] - Xs[lab == s].mean(axis=0)) ** 2).sum() for s in range(5))

    assert inertia(sampled) == pytest.approx(inertia(full), rel=1e-3)


def test_silhouette_equals_scikit_learn():
    X = _blobs(3_000, centers=5, seed=1, std=2.0)
    labels = get_engine("local").kmeans(X, 5, n_init=1, seed=0).labels
    labels[0] = 5  # a segment of one customer scores 0
    assert silhouette(X, labels) == pytest.approx(silhouette_score(X, labels), abs=1e-9)


# --- hierarchical in two stages ----------------------------------------------------------


def test_ward_tree_with_unit_weights_equals_scipy_ward():
    X = np.random.default_rng(0).normal(size=(150, 3))
    Z = ward_tree(X, np.ones(len(X)))
    ref = linkage(X, "ward")
    np.testing.assert_allclose(Z[:, 2], ref[:, 2], rtol=1e-10)
    for k in (2, 3, 5, 8):
        assert adjusted_rand_score(cut_tree(Z, k), cut_tree(ref, k)) == 1.0


def test_two_stage_equals_exact_ward_when_each_micro_cluster_is_one_customer(monkeypatch):
    X = np.random.default_rng(1).normal(size=(400, 3)) + np.repeat(
        [[0, 0, 0], [6, 0, 0], [0, 6, 0]], [150, 150, 100], axis=0
    )
    prepared = prepare_matrix(X, _features(3))
    config = SegmentationConfig(method="hierarchical")
    exact = segment_prepared(prepared, config)
    assert exact.k_selection.sample_size is None

    # Two stages forced; at least as many micro-clusters as customers -> singletons.
    monkeypatch.setattr(pipeline, "EXACT_TREE_LIMIT", 10)
    monkeypatch.setattr(pipeline, "MICRO_CLUSTERS", 1_000)
    micro = get_engine("local").summarise(X, 1_000, seed=0)
    assert len(micro.counts) == len(X) and (micro.counts == 1).all()
    two_stage = segment_prepared(prepared, config)

    assert two_stage.k_selection.chosen == exact.k_selection.chosen
    np.testing.assert_array_equal(two_stage.labels, exact.labels)
    for a, b in zip(two_stage.k_selection.candidates, exact.k_selection.candidates):
        assert a.inertia == pytest.approx(b.inertia, rel=1e-9)
        assert a.merge_gap == pytest.approx(b.merge_gap, rel=1e-9)


def test_two_stage_ward_agrees_with_exact_ward(monkeypatch):
    X = _blobs(4_000, centers=4, seed=7, std=1.2)
    prepared = prepare_matrix(X, _features(3))
    config = SegmentationConfig(method="hierarchical", k=4)
    exact = segment_prepared(prepared, config)
    monkeypatch.setattr(pipeline, "EXACT_TREE_LIMIT", 1_000)
    monkeypatch.setattr(pipeline, "MICRO_CLUSTERS", 200)
    two_stage = segment_prepared(prepared, config)
    assert two_stage.dendrogram is not None and two_stage.dendrogram.n_leaves <= 200
    assert adjusted_rand_score(exact.labels, two_stage.labels) >= 0.9


def test_a_tree_of_few_micro_clusters_draws_with_their_counts(monkeypatch):
    # Regression: with at most DENDROGRAM_LEAVES micro-clusters the whole tree was kept,
    # its customer counts in SciPy's leaf-count column ("excessive observations" when
    # the report drew it) and every leaf counted as one customer.
    from scipy.cluster.hierarchy import fcluster

    from custseg.report.charts import dendrogram_svg

    X = _blobs(3_000, centers=4, seed=7, std=1.2)
    monkeypatch.setattr(pipeline, "EXACT_TREE_LIMIT", 1_000)
    monkeypatch.setattr(pipeline, "MICRO_CLUSTERS", 20)
    result = segment_prepared(
        prepare_matrix(X, _features(3)), SegmentationConfig(method="hierarchical", k=4)
    )
    dd = result.dendrogram
    assert dd is not None and dd.n_leaves == len(dd.leaf_counts) <= 20 and dd.truncated
    assert dd.leaf_counts.sum() == len(X)
    flat = fcluster(dd.linkage, t=dd.cut_height, criterion="distance")
    sizes = sorted((dd.leaf_counts[flat == c].sum() for c in np.unique(flat)), reverse=True)
    assert sizes == [s.size for s in result.segments]
    assert "leaf labels count customers" in dendrogram_svg(result)


def test_micro_cluster_summaries_are_exact():
    X = _blobs(5_000, centers=3, seed=2)
    micro = get_engine("local").summarise(X, 50, seed=0)
    assert micro.counts.sum() == len(X)
    for m in (0, 7, len(micro.counts) - 1):
        members = X[micro.labels == m]
        assert micro.counts[m] == len(members)
        np.testing.assert_allclose(micro.sums[m], members.sum(axis=0))
        np.testing.assert_allclose(micro.sumsq[m], (members**2).sum(axis=0))


def test_micro_clusters_to_segments_hand_worked():
    # Three centres, the middle one empty; micro-clusters 0 and 1 cut into segments 1, 0.
    from custseg.engines.contract import GroupSums
    from custseg.engines.local_data import LocalData
    from custseg.engines.micro import MicroSummary

    X = np.array([[0.0], [2.0], [10.0]])
    centres = np.array([[1.0], [5.0], [10.0]])
    assigned = LocalData(X=X, features=("x",)).assign(centres)
    sums = GroupSums(np.array([2.0, 1.0]), np.array([[2.0], [10.0]]), np.array([[4.0], [100.0]]))
    summary = MicroSummary(
        sums=sums, centres=centres, remap=np.array([0, -1, 1]), assigned=assigned
    )
    of_centre, segments = summary.segments(np.array([1, 0]), 2)
    assert of_centre.tolist() == [1, 0, 0]  # the empty centre: 0, it holds no customer
    assert segments.counts.tolist() == [1.0, 2.0]
    assert segments.sums.tolist() == [[10.0], [2.0]]
    assert segments.sse.tolist() == [0.0, 2.0]
    out = assigned.relabel(of_centre, segments.means).to_numpy()
    assert out["segment"].tolist() == [1, 1, 0]
    assert out["distance"].tolist() == [1.0, 1.0, 0.0]


# --- bounded memory ----------------------------------------------------------------------

_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    from custseg.config import SegmentationConfig
    from custseg.data.fast import prepare_matrix
    from custseg.pipeline import segment_prepared

    n, method = int(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0, 0], [5, 0, 0], [0, 5, 0], [0, 0, 5]], dtype=np.float32)
    X = centres[rng.integers(0, 4, n)]
    X += rng.standard_normal((n, 3), dtype=np.float32)
    prepared = prepare_matrix(X, ("a", "b", "c"))
    # Warm up imports and scikit-learn's thread pools so they are not counted.
    segment_prepared(prepare_matrix(X[:3000].copy(), ("a", "b", "c")),
                     SegmentationConfig(method=method, k_max=4, n_init=1))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = segment_prepared(prepared, SegmentationConfig(method=method, k_max=4, n_init=1))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"before": before, "peak": peak, "raw": X.nbytes,
                      "k": result.k_selection.chosen}))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["kmeans", "hierarchical"])
def test_memory_stays_bounded_on_two_million_customers(method):
    n = 2_000_000
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(n), method],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    stats = json.loads(out.stdout.strip().splitlines()[-1])
    assert stats["k"] == 4
    extra = stats["peak"] - stats["before"]
    # Working memory is a few per-customer vectors (scaled copy, labels, distances), not
    # a pairwise matrix: at most ~12x the raw float32 matrix (24 MB here).
    assert extra < 12 * stats["raw"], f"peak grew by {extra / 2**20:.0f} MiB"


# --- reading large files -----------------------------------------------------------------


def _table(n: int = 3_000) -> pd.DataFrame:
    X = _blobs(n, centers=3, seed=5)
    frame = pd.DataFrame(
        {
            "CustomerID": np.arange(1000, 1000 + n),
            "Gender": np.where(np.arange(n) % 2, "Male", "Female"),
            "Age": X[:, 0] * 3 + 40,
            "Income": X[:, 1] * 10 + 60,
            "Score": X[:, 2] * 8 + 50,
        }
    )
    frame.loc[[3, 10, 11], "Income"] = np.nan
    frame.loc[[10, 20], "Score"] = np.nan
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("missing", ["drop", "impute"])
def test_fast_path_reads_what_the_general_loader_reads(tmp_path, suffix, missing):
    frame = _table()
    path = tmp_path / f"customers{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    config = SegmentationConfig(missing=missing, sample=2_500, seed=3)
    fast = prepare_large_file(path, config, min_bytes=0)
    general = prepare(load_table(path).frame, config)

    assert fast is not None
    assert fast.X.dtype == np.float32
    assert fast.features == general.features == ("Age", "Income", "Score")
    assert fast.summary.id_column == general.summary.id_column == "CustomerID"
    np.testing.assert_allclose(fast.X, general.X, rtol=1e-6)
    np.testing.assert_array_equal(fast.used, general.used)
    assert list(fast.left_out) == list(general.left_out)
    assert list(fast.ids.astype(str)) == list(general.ids)
    assert fast.summary.dropped == general.summary.dropped
    assert fast.summary.ignored["Gender"].startswith("text column")


def test_fast_path_leaves_messy_files_to_the_general_loader(tmp_path):
    frame = _table(200).astype({"Income": object})
    frame.loc[5, "Income"] = "$1,200"
    path = tmp_path / "messy.csv"
    frame.to_csv(path, index=False)
    assert prepare_large_file(path, SegmentationConfig(), min_bytes=0) is None
    assert prepare_large_file(path, SegmentationConfig()) is None  # small file


def test_segment_a_large_file_through_the_fast_path(tmp_path, monkeypatch):
    frame = _table()
    path = tmp_path / "customers.parquet"
    frame.to_parquet(path, index=False)
    config = SegmentationConfig(features=("Income", "Score"))
    general = segment(path, config)
    import custseg.data.fast as fast

    monkeypatch.setattr(fast, "FAST_PATH_BYTES", 0)
    quick = segment(path, config)
    assert quick.data.file_format == "parquet"
    assert quick.model.centres.shape == general.model.centres.shape
    assert quick.k_selection.chosen == general.k_selection.chosen
    assert adjusted_rand_score(quick.labels, general.labels) > 0.99
    assert len(quick.assignments()) == len(frame)


# --- Ctrl-C --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["segment", "report"])
def test_ctrl_c_exits_130_and_writes_nothing(tmp_path, monkeypatch, where):
    frame = _table(300)
    src = tmp_path / "customers.csv"
    frame.to_csv(src, index=False)
    out = tmp_path / "result"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if where == "segment":
        monkeypatch.setattr(pipeline, "segment_prepared", interrupt)
    else:  # while writing the results (the PNG charts, asked for with --png)
        import custseg.report.plots as plots

        monkeypatch.setattr(plots, "write_plots", interrupt)
    code, _, err = run_cli("segment", str(src), "--out", str(out), "--k", "3", "--png")
    assert code == 130
    assert err.strip().endswith("Interrupted; nothing was written.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv"]


# --- progress --------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_each_step_on_a_terminal_and_plain_lines_elsewhere():
    from custseg.progress import StepProgress

    plain = io.StringIO()
    with StepProgress(stream=plain) as say:
        say("reading data")
        say("scoring candidate k")
    assert plain.getvalue() == "... reading data\n... scoring candidate k\n"

    term = _Terminal()
    with pytest.raises(KeyboardInterrupt), StepProgress(stream=term) as say:
        say("reading data")
        say("fitting k-means")
        raise KeyboardInterrupt
    shown = term.getvalue()
    assert "reading data" in shown and "fitting k-means" in shown
    assert "0:00:0" in shown  # elapsed time
    assert shown.endswith("\x1b[?25h") or "\x1b[?25h" in shown  # cursor restored
