"""The data seam: engines own the customer data and every pass over all customers.

An engine hands out a :class:`CustomerData` handle (local: NumPy arrays; Spark: a
DataFrame) and the handle runs the passes that touch every customer:

* :meth:`CustomerData.column_stats` — count, mean, std, min, max and quantiles per feature
  (what :func:`custseg.features.scaling.scaler_from_stats` needs for every scaling);
* :meth:`CustomerData.scale` — the same customers in scaled units (lazy on Spark);
* :meth:`CustomerData.sample` — at most m customers to the driver, chosen by a seeded hash
  of each customer's row number, so every engine returns the same rows;
* :meth:`CustomerData.lloyd` — Lloyd's iterations from given centres with scikit-learn's
  stopping rule;
* :meth:`CustomerData.assign` — nearest centre and distance of every customer (a new
  handle; nothing of size n comes back);
* :meth:`CustomerData.relabel` — each customer's segment through a small array (its
  micro-cluster's segment of the tree cut), with the distance to the new segment's
  centre (a new handle; lazy on Spark);
* :meth:`CustomerData.group_sums` — count, sum and sum of squares per segment or per
  micro-cluster;
* :meth:`CustomerData.profile` — per-segment means, quantiles and category counts;
* :meth:`CustomerData.write_assignments` — id (or row number), segment and distance, as
  Parquet.

Only small things come back: statistics, a sample, centres, sums. Everything that works on
the sample (choosing k, indices, Ward on micro-clusters, naming, playbook) stays local code.

Engines register by name (:func:`register_data_engine`) or, from another package, by an
entry point in the group ``custseg.engines`` whose object is a factory (a class or a
function of no arguments) returning the engine; a third engine needs no change to custseg.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import ConfigError

#: Entry-point group through which other packages add engines.
ENTRY_POINT_GROUP = "custseg.engines"
#: Quantiles of every feature computed by :meth:`CustomerData.column_stats` by default
#: (the robust scaling needs the quartiles).
QUARTILES = (0.25, 0.5, 0.75)
#: Rank error allowed for approximate quantiles, as a fraction of the customers counted.
QUANTILE_ERROR = 1e-3


@dataclass(frozen=True)
class ColumnStats:
    """Per-feature statistics of all customers, each array of shape (n_features,).

    ``std`` is the population standard deviation (``ddof=0``, as scikit-learn's scaler and
    k-means tolerance use). ``quantiles[q]`` is a value whose rank among the customers is
    within ``quantile_error * n`` of ``q * n`` (exact, interpolated, on the local engine).
    """

    n: int
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    quantiles: dict[float, np.ndarray] = field(default_factory=dict)
    quantile_error: float = 0.0


@dataclass(frozen=True)
class Sample:
    """Customers brought to the driver, in row order.

    rows: (m,) row numbers in the data (0-based, file order); X: (m, n_features);
    ids: (m,) customer ids, or None when the data has no id column.
    """

    rows: np.ndarray
    X: np.ndarray
    ids: np.ndarray | None


@dataclass(frozen=True)
class LloydResult:
    """The end of Lloyd's iterations: centres (k, n_features), customers per centre (k,)
    and the within-segment sum of squares, both under the final centres, and the number
    of iterations run."""

    centres: np.ndarray
    counts: np.ndarray
    inertia: float
    n_iter: int


@dataclass(frozen=True)
class GroupSums:
    """Per group (segment or micro-cluster) count (k,), sum and sum of squares (k, d)."""

    counts: np.ndarray
    sums: np.ndarray
    sumsq: np.ndarray

    @property
    def means(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sums / self.counts[:, None]

    @property
    def sse(self) -> np.ndarray:
        """Within-group sum of squared distances to the group's mean, per group."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sumsq.sum(axis=1) - (self.sums**2).sum(axis=1) / self.counts


@dataclass(frozen=True)
class Profiles:
    """Per-segment aggregates for profiles.

    counts: (k,); means: (k, d); quantiles[q]: (k, d), values within ``quantile_error``
    in rank of the exact ones (NaN for an empty segment); categories[column][segment]:
    {value: count} (None for a missing value).
    """

    counts: np.ndarray
    means: np.ndarray
    quantiles: dict[float, np.ndarray]
    categories: dict[str, list[dict[Any, int]]]
    quantile_error: float = 0.0


@runtime_checkable
class CustomerData(Protocol):
    """A handle to customers: features (numeric), optional ids and category columns, and,
    after :meth:`assign`, each customer's segment and distance to its centre."""

    @property
    def engine(self) -> str:
        """The engine's name."""
        ...

    @property
    def features(self) -> tuple[str, ...]: ...

    @property
    def id_column(self) -> str | None: ...

    @property
    def categories(self) -> tuple[str, ...]:
        """Category columns kept for profiles."""
        ...

    @property
    def assigned(self) -> bool:
        """True after :meth:`assign` (each customer has a segment and a distance)."""
        ...

    def count(self) -> int:
        """Number of customers (a pass on engines that do not know it)."""
        ...

    def without_rows(self, rows: np.ndarray) -> CustomerData:
        """The same customers but those at ``rows`` (0-based positions in the file), in the
        same order: the customers kept out of fitting the centres (``--outliers flag``)."""
        ...

    def column_stats(self, quantiles: Sequence[float] = QUARTILES) -> ColumnStats: ...

    def scale(self, center: np.ndarray, scale: np.ndarray) -> CustomerData:
        """The same customers with features ``(x - center) / scale``."""
        ...

    def sample(self, m: int, *, seed: int) -> Sample: ...

    def lloyd(self, init: np.ndarray, *, max_iter: int = 300, tol: float = 1e-4) -> LloydResult:
        """Lloyd's iterations from ``init`` (k, n_features) until the squared shift of the
        centres is at most ``tol`` times the mean feature variance (scikit-learn's rule)."""
        ...

    def assign(self, centres: np.ndarray) -> CustomerData:
        """Nearest centre (the first on a tie) and Euclidean distance of every customer."""
        ...

    def relabel(self, mapping: np.ndarray, centres: np.ndarray) -> CustomerData:
        """The same customers, each one's segment s (after :meth:`assign`) replaced by
        ``mapping[s]`` and its distance by the Euclidean distance to
        ``centres[mapping[s]]``: the micro-clusters of a hierarchical run mapped to the
        segments of the tree cut (:func:`relabel_batch` on every engine)."""
        ...

    def group_sums(self, k: int) -> GroupSums:
        """Sums per assigned segment 0..k-1 (needs :meth:`assign` first)."""
        ...

    def profile(self, k: int, quantiles: Sequence[float] = QUARTILES) -> Profiles: ...

    def write_assignments(self, path: str | Path) -> None:
        """Write id (or ``row``), ``segment`` and ``distance`` as Parquet (a file on the
        local engine, a folder of part files on Spark); refuses an existing path."""
        ...

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Every column, in row order, on the driver: for small data and tests only."""
        ...


@runtime_checkable
class DataEngine(Protocol):
    """Makes handles: from arrays already in memory, or by reading a file or URI."""

    name: str

    def from_arrays(
        self,
        X: np.ndarray,
        *,
        features: Sequence[str] | None = None,
        ids: np.ndarray | None = None,
        id_column: str = "id",
        categories: dict[str, np.ndarray] | None = None,
    ) -> CustomerData: ...

    def read(
        self,
        path: str | Path,
        *,
        features: Sequence[str],
        id_column: str | None = None,
        categories: Sequence[str] = (),
        log: Sequence[bool] | None = None,
        fill: Mapping[str, float] | None = None,
    ) -> CustomerData:
        """Parquet (a file or a folder of part files) or CSV with a header row.

        ``fill`` gives the value of a feature's empty cells (the medians ``--missing
        auto`` or ``impute`` chose), applied before ``log``.

        ``log`` marks features read as ``sign(x) * log(1 + |x|)`` (the skewed amounts of
        ``--transform``, :class:`custseg.features.scaling.Scaler`), so that every later
        pass (statistics, sample, Lloyd) sees the values the model scales.
        """
        ...


_REGISTRY: dict[str, Callable[[], DataEngine]] = {}
# Engines shipped with custseg, imported only when asked for (their modules register
# themselves); also found through the entry points of an installed custseg.
_BUILTIN = {"local": "custseg.engines.local_data", "spark": "custseg.engines.spark"}


def register_data_engine(name: str, factory: Callable[[], DataEngine]) -> None:
    """Make an engine available under ``name``; ``factory()`` returns the engine."""
    _REGISTRY[name] = factory


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def data_engines() -> list[str]:
    """Names of the engines that can be asked for (installed or not)."""
    return sorted(set(_REGISTRY) | set(_BUILTIN) | set(_entry_points()))


def get_data_engine(name: str) -> DataEngine:
    """The engine registered under ``name``; a clear error when it is unknown or when its
    optional dependencies are not installed."""
    if name not in _REGISTRY:
        try:
            if name in _BUILTIN:
                importlib.import_module(_BUILTIN[name])
            elif name in (eps := _entry_points()):
                register_data_engine(name, eps[name].load())
        except ImportError as exc:
            raise ConfigError(
                f"engine={name!r} needs a package that is not installed ({exc.name or exc}); "
                f"install it with: pip install 'custseg[{name}]'"
            ) from None
    if name not in _REGISTRY:
        raise ConfigError(
            f"engine={name!r} is not available; choose one of {', '.join(data_engines())}"
        )
    return _REGISTRY[name]()


# --- helpers every engine uses, so that they agree by construction -------------------

_MASK64 = (1 << 64) - 1


def sample_keys(rows: np.ndarray, seed: int) -> np.ndarray:
    """A seeded pseudo-random key (int64 >= 0) for each row number: the sample is the m rows
    with the smallest keys, whatever engine computes them (SplitMix64's mixing function).

    Examples
    --------
    >>> sample_keys(np.arange(3), seed=0).tolist() == sample_keys(np.arange(3), 0).tolist()
    True
    """
    offset = np.uint64((int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _MASK64)
    z = np.asarray(rows, dtype=np.int64).astype(np.uint64) + offset
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(1)).astype(np.int64)


def smallest_keys(rows: np.ndarray, m: int, seed: int) -> np.ndarray:
    """Positions (sorted) of the m rows with the smallest :func:`sample_keys` among
    ``rows`` (row numbers in the data): the seeded sample every engine draws.

    Examples
    --------
    >>> at = smallest_keys(np.arange(100), 5, seed=1)
    >>> len(at), bool(np.all(np.diff(at) > 0))
    (5, True)
    """
    rows = np.asarray(rows, dtype=np.int64)
    if m >= len(rows):
        return np.arange(len(rows), dtype=np.int64)
    if m <= 0:
        return np.empty(0, dtype=np.int64)
    keys = sample_keys(rows, seed)
    return np.sort(np.argpartition(keys, m - 1)[:m]).astype(np.int64)


def batch_step(
    X: np.ndarray, centres: np.ndarray, shift: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """One Lloyd step over a batch: per-centre sums of ``X - shift`` (k, d), counts (k,)
    and the batch's inertia; nearest centre by squared distance, the first on a tie.

    Sums are taken around ``shift`` (the column means, as scikit-learn centres its data)
    so that large values do not cancel.
    """
    labels, d2 = nearest(X, centres)
    k, d = centres.shape
    Z = X - shift
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.empty((k, d))
    for j in range(d):
        sums[:, j] = np.bincount(labels, weights=Z[:, j], minlength=k)
    return sums, counts, float(d2.sum())


#: From this many centres on (micro-clusters), every engine finds the nearest one with
#: :func:`nearest_of_many`: looping over the centres would cost one pass per centre.
MANY_CENTRES = 64


def nearest_of_many(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest of many centres (k >= :data:`MANY_CENTRES`) and the Euclidean distance to it:
    scikit-learn's chunked, parallel search (no n x k matrix), in X's precision (a float32
    table is not copied)."""
    from sklearn.metrics import pairwise_distances_argmin_min

    dtype = np.float32 if np.asarray(X).dtype == np.float32 else np.float64
    labels, dist = pairwise_distances_argmin_min(X, np.asarray(centres, dtype=dtype))
    return np.asarray(labels, dtype=np.int64), np.asarray(dist, dtype=np.float64)


def nearest(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of each row (the first on a tie) and the squared distance to it,
    computed from differences (no cancellation), one centre at a time; with many centres
    (micro-clusters) by :func:`nearest_of_many`, as the local engine does."""
    if len(centres) >= MANY_CENTRES:
        labels, dist = nearest_of_many(X, centres)
        return labels, dist**2
    best = np.full(len(X), np.inf)
    labels = np.zeros(len(X), dtype=np.int64)
    for c, centre in enumerate(centres):
        diff = X - centre
        d2 = np.einsum("ij,ij->i", diff, diff)
        closer = d2 < best
        best[closer] = d2[closer]
        labels[closer] = c
    return labels, best


def check_mapping(
    mapping: np.ndarray, centres: np.ndarray, n_features: int, n_labels: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`CustomerData.relabel`'s arguments as int64 (m,) and float64 (k, n_features)
    arrays: every ``mapping`` value a row of ``centres``, and a value for each of the
    ``n_labels`` segments 0..n_labels-1 the customers may hold (when the handle knows);
    a clear error otherwise."""
    centres = check_centres(centres, n_features)
    values = np.asarray(mapping)
    if values.ndim != 1 or len(values) == 0 or not np.issubdtype(values.dtype, np.integer):
        raise ConfigError(
            f"mapping has shape {values.shape} and type {values.dtype}; expected (m,) "
            "whole numbers, the new segment of each current one"
        )
    if values.min() < 0 or values.max() >= len(centres):
        raise ConfigError(
            f"mapping sends segments to {int(values.min())}..{int(values.max())}; expected "
            f"0..{len(centres) - 1}, one of the {len(centres)} centres"
        )
    if n_labels is not None and len(values) < n_labels:
        raise ConfigError(
            f"mapping has {len(values)} values; the customers hold segments 0..{n_labels - 1}"
        )
    return values.astype(np.int64), centres


def relabel_batch(
    X: np.ndarray, segment: np.ndarray, mapping: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """New segment ``mapping[segment]`` (n,) of each row of X (n, d) and its Euclidean
    distance to that segment's centre (n,), computed from differences.

    Examples
    --------
    >>> new, dist = relabel_batch(
    ...     np.array([[0.0], [3.0]]), np.array([1, 0]), np.array([1, 0]), np.array([[0.0], [1.0]])
    ... )
    >>> new.tolist(), dist.tolist()
    ([0, 1], [0.0, 2.0])
    """
    new = mapping[np.asarray(segment, dtype=np.int64)]
    diff = X - centres[new]
    return new, np.sqrt(np.einsum("ij,ij->i", diff, diff))


def lloyd_loop(
    step: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, float]],
    init: np.ndarray,
    stats: ColumnStats,
    *,
    max_iter: int,
    tol: float,
) -> LloydResult:
    """Lloyd's iterations driven from the driver: ``step(centres)`` is one pass over every
    customer returning sums around ``stats.mean``, counts and inertia. scikit-learn's
    stopping rule; a last pass gives the counts and inertia under the final centres.

    A centre that loses all its customers stays where it was (scikit-learn moves it to a
    far customer, which needs a pass that finds one).
    """
    centres = np.asarray(init, dtype=np.float64)
    threshold = tol * float(np.mean(stats.std**2))
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        sums, counts, _ = step(centres)
        with np.errstate(invalid="ignore", divide="ignore"):
            new = np.where(counts[:, None] > 0, sums / counts[:, None] + stats.mean, centres)
        shift = float(((new - centres) ** 2).sum())
        centres = new
        if shift <= threshold:
            break
    _, counts, inertia = step(centres)
    return LloydResult(centres=centres, counts=counts, inertia=inertia, n_iter=n_iter)


def check_centres(centres: np.ndarray, n_features: int) -> np.ndarray:
    """Centres as a float64 (k, n_features) array; a clear error otherwise."""
    centres = np.asarray(centres, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[1] != n_features or len(centres) == 0:
        raise ConfigError(
            f"centres have shape {centres.shape}; expected (k, {n_features}) with k >= 1"
        )
    return centres


def check_features(features: Iterable[str] | None, n_features: int) -> tuple[str, ...]:
    """Feature names, ``x0, x1, ...`` when none are given."""
    names = tuple(features) if features is not None else tuple(f"x{j}" for j in range(n_features))
    if len(names) != n_features:
        raise ConfigError(f"{len(names)} feature names given for {n_features} features")
    return names


def check_columns(wanted: Iterable[str], present: Sequence[str]) -> None:
    """A clear error naming the first wanted column that the data does not have."""
    have = [c for c in present if not c.startswith("_custseg_")]
    for name in wanted:
        if name not in present:
            raise ConfigError(
                f"column {name!r} is not in the data; its columns are "
                + ", ".join(repr(c) for c in have)
            )
