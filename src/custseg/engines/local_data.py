"""The local engine behind the data seam: the customers are NumPy arrays in memory.

Every pass reuses custseg's existing code: Lloyd's iterations are
:func:`custseg.cluster.lloyd.lloyd` (the fused compiled pass), the nearest-centre search
is :meth:`custseg.engines.local.LocalEngine.assign` and the per-group sums are
:meth:`~custseg.engines.local.LocalEngine.segment_sums`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..cluster.lloyd import lloyd
from ..errors import ConfigError, OutputError
from ..outputs.atomic import atomic_file
from .contract import (
    QUARTILES,
    ColumnStats,
    GroupSums,
    LloydResult,
    Profiles,
    Sample,
    check_centres,
    check_columns,
    check_features,
    check_mapping,
    register_data_engine,
    relabel_batch,
    smallest_keys,
)
from .local import LocalEngine

_ENGINE = LocalEngine()


@dataclass(frozen=True)
class LocalData:
    """Customers in memory: X (n, d) float64, optional ids and category columns, and after
    :meth:`assign` the segment (n,) and distance (n,) of each customer.

    ``rows`` are the customers' row numbers in the data (0-based, file order), as Spark keeps
    them: None means positions 0..n-1 (nothing left out before this handle was made).
    """

    X: np.ndarray
    features: tuple[str, ...]
    ids: np.ndarray | None = None
    id_column: str | None = None
    category_values: dict[str, np.ndarray] = field(default_factory=dict)
    segment: np.ndarray | None = None
    distance: np.ndarray | None = None
    engine: str = "local"
    rows: np.ndarray | None = None

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.category_values)

    @property
    def assigned(self) -> bool:
        return self.segment is not None

    def count(self) -> int:
        return len(self.X)

    def _row_numbers(self) -> np.ndarray:
        return np.arange(len(self.X), dtype=np.int64) if self.rows is None else self.rows

    def without_rows(self, rows: np.ndarray) -> LocalData:
        keep = ~np.isin(self._row_numbers(), np.asarray(rows, dtype=np.int64))
        return LocalData(
            X=self.X[keep],
            features=self.features,
            ids=None if self.ids is None else self.ids[keep],
            id_column=self.id_column,
            category_values={k: v[keep] for k, v in self.category_values.items()},
            segment=None if self.segment is None else self.segment[keep],
            distance=None if self.distance is None else self.distance[keep],
            rows=self._row_numbers()[keep],
        )

    def column_stats(self, quantiles: Sequence[float] = QUARTILES) -> ColumnStats:
        X = self.X
        qs = tuple(float(q) for q in quantiles)
        values = np.percentile(X, [100 * q for q in qs], axis=0) if qs and len(X) else None
        return ColumnStats(
            n=len(X),
            mean=X.mean(axis=0),
            std=X.std(axis=0),
            min=X.min(axis=0),
            max=X.max(axis=0),
            quantiles={} if values is None else {q: values[i] for i, q in enumerate(qs)},
            quantile_error=0.0,
        )

    def scale(self, center: np.ndarray, scale: np.ndarray) -> LocalData:
        X = (self.X - np.asarray(center, dtype=np.float64)) / np.asarray(scale, dtype=np.float64)
        return replace(self, X=X, segment=None, distance=None)

    def sample(self, m: int, *, seed: int) -> Sample:
        # Keyed by row number in the data, so a handle without some rows draws the
        # same customers as Spark's (which keeps the row numbers of the file).
        at = smallest_keys(self._row_numbers(), m, seed)
        return Sample(
            rows=self._row_numbers()[at],
            X=self.X[at],
            ids=None if self.ids is None else self.ids[at],
        )

    def lloyd(self, init: np.ndarray, *, max_iter: int = 300, tol: float = 1e-4) -> LloydResult:
        init = check_centres(init, self.X.shape[1])
        fit = lloyd(self.X, init, max_iter=max_iter, tol=tol)
        counts = np.bincount(fit.labels, minlength=len(init)).astype(np.float64)
        return LloydResult(
            centres=fit.centres, counts=counts, inertia=float(fit.inertia), n_iter=fit.n_iter
        )

    def assign(self, centres: np.ndarray) -> LocalData:
        centres = check_centres(centres, self.X.shape[1])
        labels, dist = _ENGINE.assign(self.X, centres)
        return replace(self, segment=labels, distance=dist)

    def relabel(self, mapping: np.ndarray, centres: np.ndarray) -> LocalData:
        if self.segment is None:
            raise ConfigError("assign customers to centres before relabelling their segments")
        held = int(self.segment.max()) + 1 if len(self.segment) else None
        values, centres = check_mapping(mapping, centres, self.X.shape[1], held)
        segment, distance = relabel_batch(self.X, self.segment, values, centres)
        return replace(self, segment=segment, distance=distance)

    def _labels(self) -> np.ndarray:
        if self.segment is None:
            raise ConfigError("assign customers to centres before asking for per-segment sums")
        return self.segment

    def group_sums(self, k: int) -> GroupSums:
        counts, sums, sumsq = _ENGINE.segment_sums(self.X, self._labels(), k)
        return GroupSums(counts=counts, sums=sums, sumsq=sumsq)

    def profile(self, k: int, quantiles: Sequence[float] = QUARTILES) -> Profiles:
        labels = self._labels()
        groups = self.group_sums(k)
        qs = tuple(float(q) for q in quantiles)
        d = self.X.shape[1]
        qv = {q: np.full((k, d), np.nan) for q in qs}
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], np.arange(k + 1))
        for s in range(k):
            rows = order[bounds[s] : bounds[s + 1]]
            if len(rows) and qs:
                values = np.percentile(self.X[rows], [100 * q for q in qs], axis=0)
                for i, q in enumerate(qs):
                    qv[q][s] = values[i]
        cats: dict[str, list[dict[Any, int]]] = {}
        for name, col in self.category_values.items():
            per: list[dict[Any, int]] = [{} for _ in range(k)]
            for s in range(k):
                values = col[order[bounds[s] : bounds[s + 1]]]
                missing = _missing(values)
                uniq, cnt = np.unique(values[~missing].astype(str), return_counts=True)
                per[s] = {str(u): int(c) for u, c in zip(uniq, cnt)}
                if missing.any():
                    per[s][None] = int(missing.sum())
            cats[name] = per
        return Profiles(counts=groups.counts, means=groups.means, quantiles=qv, categories=cats)

    def write_assignments(self, path: str | Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        labels = self._labels()
        target = Path(path)
        if target.exists():
            raise OutputError(f"'{target}' already exists; choose a new output path")
        key = (
            {"row": self._row_numbers()} if self.ids is None else {self.id_column or "id": self.ids}
        )
        table = pa.table({**key, "segment": labels.astype(np.int32), "distance": self.distance})
        with atomic_file(target) as tmp:
            pq.write_table(table, tmp)

    def to_numpy(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {"row": self._row_numbers()}
        for j, name in enumerate(self.features):
            out[name] = self.X[:, j]
        if self.ids is not None:
            out[self.id_column or "id"] = self.ids
        out.update(self.category_values)
        if self.segment is not None and self.distance is not None:
            out["segment"], out["distance"] = self.segment, self.distance
        return out


def read_table(path: str | Path, columns: Sequence[str]) -> Any:
    """The named columns of a Parquet file or folder, or of a CSV file, as an Arrow table."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    p = Path(path)
    csv = p.suffix.lower() in (".csv", ".txt")
    if csv:
        with pcsv.open_csv(p) as reader:
            names = reader.schema.names
    else:
        names = pq.ParquetDataset(p).schema.names
    check_columns(columns, names)
    if csv:
        options = pcsv.ConvertOptions(include_columns=list(columns))
        return pcsv.read_csv(p, convert_options=options)
    return pq.read_table(p, columns=list(columns))


def _missing(values: np.ndarray) -> np.ndarray:
    """True where a category value is missing (None or NaN)."""
    return np.array([v is None or (isinstance(v, float) and v != v) for v in values], bool)


class LocalDataEngine:
    """Handles over arrays in memory."""

    name = "local"

    def from_arrays(
        self,
        X: np.ndarray,
        *,
        features: Sequence[str] | None = None,
        ids: np.ndarray | None = None,
        id_column: str = "id",
        categories: dict[str, np.ndarray] | None = None,
    ) -> LocalData:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ConfigError(f"X has shape {X.shape}; expected (n_customers, n_features)")
        return LocalData(
            X=X,
            features=check_features(features, X.shape[1]),
            ids=None if ids is None else np.asarray(ids),
            id_column=None if ids is None else id_column,
            category_values={k: np.asarray(v, dtype=object) for k, v in (categories or {}).items()},
        )

    def read(
        self,
        path: str | Path,
        *,
        features: Sequence[str],
        id_column: str | None = None,
        categories: Sequence[str] = (),
        log: Sequence[bool] | None = None,
        fill: Mapping[str, float] | None = None,
    ) -> LocalData:
        table = read_table(path, [*features, *([id_column] if id_column else []), *categories])
        X = np.column_stack(
            [table.column(f).to_numpy(zero_copy_only=False).astype(np.float64) for f in features]
        )
        for col, f in enumerate(features):
            if fill and f in fill:
                X[np.isnan(X[:, col]), col] = fill[f]
        for logged in np.flatnonzero(np.asarray(log or (), dtype=bool)):
            X[:, logged] = np.sign(X[:, logged]) * np.log1p(np.abs(X[:, logged]))
        ids = table.column(id_column).to_numpy(zero_copy_only=False) if id_column else None
        cats = {c: table.column(c).to_numpy(zero_copy_only=False) for c in categories}
        return self.from_arrays(
            X, features=features, ids=ids, id_column=id_column or "id", categories=cats
        )


register_data_engine("local", LocalDataEngine)
