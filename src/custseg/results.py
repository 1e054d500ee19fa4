"""Typed, immutable results handed from one stage to the next.

The report, the web app and the CLI read these objects (or their saved
``to_dict()`` form); none of them recomputes anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .json_values import json_safe

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .config import SegmentationConfig
    from .features.roles import ColumnRole
    from .model import SegmentModel
    from .model.identity import IdentityReport

LEVELS = ("low", "average", "high")


def clean(value: Any) -> Any:
    """JSON-safe ``value`` with floats rounded to 10 decimals: the numbers of ``segments.json``."""
    return json_safe(value, digits=10)


@dataclass(frozen=True)
class DataSummary:
    """What was read and what was used."""

    source: str
    file_format: str
    n_rows: int
    n_used: int
    dropped: dict[str, int]
    id_column: str | None
    features: tuple[str, ...]
    features_chosen_by: str
    categorical: tuple[str, ...]
    ignored: dict[str, str]
    missing_policy: str
    imputed: dict[str, int]
    repairs: tuple[str, ...] = ()
    # The role of every column (custseg.features.roles.ColumnRole): kind, direction, use.
    roles: tuple[ColumnRole, ...] = ()
    # Features log-transformed before scaling, with why (--transform).
    transformed: dict[str, str] = field(default_factory=dict)
    # Customers with implausible or extreme values kept out of fitting (--outliers flag).
    n_atypical: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def descriptors(self) -> tuple[str, ...]:
        """Columns profiled per segment but not clustered on (flags, codes, categories)."""
        return tuple(r.column for r in self.roles if r.use == "descriptor")

    @property
    def n_dropped(self) -> int:
        return self.n_rows - self.n_used

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "source": self.source,
                "format": self.file_format,
                "n_rows": self.n_rows,
                "n_used": self.n_used,
                "n_dropped": self.n_dropped,
                "dropped": dict(self.dropped),
                "id_column": self.id_column,
                "features": list(self.features),
                "features_chosen_by": self.features_chosen_by,
                "categorical": list(self.categorical),
                "ignored": dict(self.ignored),
                "missing_policy": self.missing_policy,
                "imputed": dict(self.imputed),
                "repairs": list(self.repairs),
                "roles": [r.to_dict() for r in self.roles],
                "descriptors": list(self.descriptors),
                "excluded": {r.column: r.reason for r in self.roles if r.use == "excluded"},
                "derived": {r.column: r.reason for r in self.roles if r.matched_by == "derived"},
                "transformed": dict(self.transformed),
                "n_atypical": self.n_atypical,
                "warnings": list(self.warnings),
            }
        )


@dataclass(frozen=True)
class KCandidate:
    """Quality indices of one candidate number of segments."""

    k: int
    inertia: float
    silhouette: float | None
    calinski_harabasz: float | None
    davies_bouldin: float | None
    merge_gap: float | None = None
    # Gap statistic (and its standard error) and the bootstrap Jaccard of the least
    # stable segment, on the evidence sample (custseg.selection.evidence).
    gap: float | None = None
    gap_se: float | None = None
    stability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {
            "k": self.k,
            "inertia": self.inertia,
            "silhouette": self.silhouette,
            "calinski_harabasz": self.calinski_harabasz,
            "davies_bouldin": self.davies_bouldin,
        }
        if self.merge_gap is not None:
            d["merge_gap"] = self.merge_gap
        for name in ("gap", "gap_se", "stability"):
            if getattr(self, name) is not None:
                d[name] = getattr(self, name)
        return clean(d)


@dataclass(frozen=True)
class KSelection:
    """The chosen number of segments and the evidence for it.

    ``preferred`` maps each index (``elbow``, ``dendrogram``, ``silhouette``,
    ``calinski``, ``davies``) to the k it prefers, or ``None`` with the reason in
    ``note`` (e.g. no clear elbow).
    """

    rule: str
    chosen: int
    candidates: tuple[KCandidate, ...]
    preferred: dict[str, int | None]
    agree: bool
    runner_up: int | None
    note: str
    elbow: int | None
    elbow_reason: str | None
    sample_size: int | None = None
    silhouette_sample_size: int | None = None
    # Is there group structure at all (gap statistic and Hopkins statistic)? None when
    # not measured. ``structure_note`` is the evidence in one sentence.
    clear_structure: bool | None = None
    structure_note: str | None = None
    hopkins: float | None = None
    gap_at_1: float | None = None
    evidence_sample_size: int | None = None
    # The chosen k's reason in one sentence (the report's "choosing k" section).
    reason: str | None = None
    # The automatic k never makes a segment smaller than this (max(1%, 10) customers).
    min_segment_size: int | None = None
    # Customers that would have formed a segment below min_segment_size at the k the
    # rule ranks best (``{"k", "count", "ids"}``); None when no such segment.
    atypical: dict[str, Any] | None = None
    # Per-segment stability: bootstrap resamples and the customers they were drawn from.
    stability_resamples: int | None = None
    stability_sample_size: int | None = None

    def candidate(self, k: int) -> KCandidate:
        for c in self.candidates:
            if c.k == k:
                return c
        raise KeyError(k)

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "rule": self.rule,
                "chosen": self.chosen,
                "candidates": [c.to_dict() for c in self.candidates],
                "preferred": dict(self.preferred),
                "agree": self.agree,
                "runner_up": self.runner_up,
                "note": self.note,
                "elbow": self.elbow,
                "elbow_reason": self.elbow_reason,
                "sample_size": self.sample_size,
                "silhouette_sample_size": self.silhouette_sample_size,
                "clear_structure": self.clear_structure,
                "structure_note": self.structure_note,
                "hopkins": self.hopkins,
                "gap_at_1": self.gap_at_1,
                "evidence_sample_size": self.evidence_sample_size,
                "reason": self.reason,
                "min_segment_size": self.min_segment_size,
                "atypical": self.atypical,
                "stability_resamples": self.stability_resamples,
                "stability_sample_size": self.stability_sample_size,
            }
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([c.to_dict() for c in self.candidates]).set_index("k")


@dataclass(frozen=True)
class FeatureStats:
    mean: float
    median: float
    min: float
    max: float
    std: float

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "mean": self.mean,
                "median": self.median,
                "min": self.min,
                "max": self.max,
                "std": self.std,
            }
        )


@dataclass(frozen=True)
class Recommendation:
    """A marketing action from the playbook, or a fallback that says why none matched."""

    rule: str | None
    title: str
    action: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Segment:
    """One segment: who is in it, what it is like, what to do."""

    id: int
    name: str
    size: int
    share: float
    centre: dict[str, float]
    levels: dict[str, str]
    stats: dict[str, FeatureStats]
    categories: dict[str, dict[str, float]]
    distinctive: tuple[str, ...]
    recommendation: Recommendation
    # Per feature, the figures its level rests on: standardised difference ``effect``,
    # ``vtest`` and, for flags and shares, the rate ``ratio`` (custseg.profiling.levels).
    evidence: dict[str, dict[str, float | None]] = field(default_factory=dict)
    # Who is in the segment as a rule over the features, from the surrogate tree
    # (custseg.profiling.surrogate): ``text``, ``precision``, ``recall``; None when the
    # tree gives the segment no leaf.
    rule: dict[str, Any] | None = None
    # Further playbook actions that also hold for the segment, ranked after the first.
    more_actions: tuple[Recommendation, ...] = ()
    # Mean bootstrap Jaccard with its best match over resamples (fpc::clusterboot), 0..1.
    stability: float | None = None
    # Numeric descriptors (flags as rates, counts and amounts not clustered on) against
    # the base: ``mean``, ``base``, ``kind``, ``level``, ``fine``, ``effect``, ``vtest``,
    # ``ratio`` (custseg.profiling.profile.describe_numeric).
    described: dict[str, dict[str, Any]] = field(default_factory=dict)

    def traits(self, limit: int = 3) -> list[tuple[str, str, dict[str, Any]]]:
        """The segment's most distinctive traits over features and descriptors:
        ``(column, level, figures)`` ranked by the size of the difference."""
        rows = [(f, self.levels[f], dict(self.evidence.get(f) or {})) for f in self.distinctive]
        rows += [(c, d["level"], d) for c, d in self.described.items() if d["level"] != "average"]
        rows.sort(key=lambda t: -abs(t[2].get("effect") or 0.0))
        return rows[:limit]

    @property
    def stability_reading(self) -> str:
        """stable / fairly stable / unstable, by fpc's published thresholds."""
        from .selection.stability import stability_word

        return stability_word(self.stability)

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "id": self.id,
                "name": self.name,
                "size": self.size,
                "share": self.share,
                "stability": self.stability,
                "stability_reading": self.stability_reading,
                "centre": dict(self.centre),
                "levels": dict(self.levels),
                "profile": {
                    "features": {f: s.to_dict() for f, s in self.stats.items()},
                    "categories": {c: dict(v) for c, v in self.categories.items()},
                    "distinctive": list(self.distinctive),
                    "evidence": {f: dict(e) for f, e in self.evidence.items()},
                    "rule": dict(self.rule) if self.rule else None,
                    "described": {c: dict(d) for c, d in self.described.items()},
                },
                "recommendation": self.recommendation.to_dict(),
                "more_actions": [r.to_dict() for r in self.more_actions],
            }
        )


@dataclass(frozen=True)
class Projection:
    """2-D coordinates of (a sample of) customers for the segment map."""

    axes: tuple[str, str]
    explained_variance: tuple[float, float] | None
    x: np.ndarray
    y: np.ndarray
    segment: np.ndarray
    ids: tuple[str, ...]
    n_total: int
    # Feature values of the shown customers (the map's hover shows them, also on PCA axes).
    values: dict[str, np.ndarray] | None = None

    @property
    def sampled(self) -> bool:
        return len(self.x) < self.n_total

    def to_dict(self) -> dict[str, Any]:
        # Thousands of points: their lists are made JSON-ready here in one pass each.
        d: dict[str, Any] = {
            "axes": clean(list(self.axes)),
            "explained_variance": (
                clean(list(self.explained_variance)) if self.explained_variance else None
            ),
            "n_total": int(self.n_total),
            "n_shown": len(self.x),
            "x": _points(self.x),
            "y": _points(self.y),
            "segment": np.asarray(self.segment, dtype=np.int64).tolist(),
            "ids": [str(i) for i in self.ids],
        }
        if self.values is not None:
            d["values"] = {str(f): _points(col) for f, col in self.values.items()}
        return d


def _points(values: Any) -> list[float | None]:
    """Coordinates or feature values of the map's points: 6 decimals, NaN as null."""
    return [
        round(v, 6) if math.isfinite(v) else None
        for v in np.asarray(values, dtype=np.float64).tolist()
    ]


@dataclass(frozen=True)
class Dendrogram:
    """The top of a hierarchical tree, in SciPy's linkage format, and the cut."""

    linkage: np.ndarray
    cut_height: float
    n_leaves: int
    leaf_counts: np.ndarray
    truncated: bool

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "linkage": self.linkage.tolist(),
                "cut_height": self.cut_height,
                "n_leaves": self.n_leaves,
                "leaf_counts": self.leaf_counts.tolist(),
                "truncated": self.truncated,
            }
        )


@dataclass(frozen=True)
class SegmentationResult:
    """Everything a run found. ``labels`` has one entry per input row (0 = left out)."""

    config: SegmentationConfig
    data: DataSummary
    k_selection: KSelection
    segments: tuple[Segment, ...]
    population: dict[str, FeatureStats]
    level_rule: str
    labels: np.ndarray
    ids: pd.Series
    left_out: pd.Series
    model: SegmentModel
    projection: Projection | None = None
    dendrogram: Dendrogram | None = None
    warnings: tuple[str, ...] = field(default=())
    identity: IdentityReport | None = None
    # The shallow decision tree behind the segments' rules: depth, fidelity, its text.
    surrogate: dict[str, Any] | None = None
    # Over all input rows: 'imputed' (columns filled) and 'atypical' (kept out of fitting).
    row_flags: pd.DataFrame | None = None
    # When the customers stay on a data engine (a Spark table longer than the driver's
    # head): ``labels``, ``ids`` and ``left_out`` are empty, and this writes each
    # customer's segment as a Parquet folder (``assignments/`` of the result folder).
    write_assignments: Callable[[Path], None] | None = None
    # Where the result folder holds each customer's segment (said by the summary and report).
    assignments_file: str = "assignments.csv"

    @property
    def k(self) -> int:
        return len(self.segments)

    def segment(self, segment_id: int) -> Segment:
        for s in self.segments:
            if s.id == segment_id:
                return s
        raise KeyError(segment_id)

    def to_dict(self) -> dict[str, Any]:
        """The content of ``segments.json``."""
        from ._version import __version__

        cfg = self.config
        return clean(
            {
                "custseg_version": __version__,
                "method": cfg.method,
                "linkage": cfg.linkage if cfg.method == "hierarchical" else None,
                "features": list(self.data.features),
                "scale": cfg.scale,
                "missing": cfg.missing,
                "seed": cfg.seed,
                "k": self.k,
                "k_selection": self.k_selection.to_dict(),
                "level_rule": self.level_rule,
                "data": self.data.to_dict(),
                "population": {f: s.to_dict() for f, s in self.population.items()},
                "segments": [s.to_dict() for s in self.segments],
                "projection": self.projection.to_dict() if self.projection else None,
                "dendrogram": self.dendrogram.to_dict() if self.dendrogram else None,
                **(
                    {"assignments": self.assignments_file}
                    if self.assignments_file != "assignments.csv"
                    else {}
                ),
                "warnings": list(self.warnings),
                # How often "nearest segment centre" (used for new customers) agrees with
                # the fitted segments on these customers: 1.0 for k-means by construction.
                "assignment_agreement": self.model.assignment_agreement,
                "surrogate": self.surrogate,
                "config": cfg.to_dict(),
                **({"identity": self.identity.to_dict()} if self.identity else {}),
            }
        )

    @classmethod
    def from_dict(cls, doc: dict[str, Any], model: SegmentModel) -> SegmentationResult:
        """The result saved as ``segments.json`` (``doc``), with its ``model.json`` model.

        Checked against the JSON Schema shipped with custseg; per-customer labels
        are not in ``segments.json``, so ``labels``, ``ids`` and ``left_out`` are
        empty. See :func:`custseg.results_json.result_from_dict`.
        """
        from .results_json import result_from_dict

        return result_from_dict(doc, model)

    def with_k_evidence(self, sweep: SegmentationResult) -> SegmentationResult:
        """This result of a k set by the user, with the k evidence of ``sweep``.

        ``sweep`` is the automatic run on the same data and options: its
        candidates and indices are kept, the rule becomes ``"fixed"`` and the
        note says which k the automatic choice was (the app's k slider).
        """
        auto = sweep.k_selection
        selection = replace(
            auto,
            rule="fixed",
            chosen=self.k,
            atypical=None,  # the automatic k's size rule does not apply to a user's k
            # Per-segment stability belongs to this run's segments.
            stability_resamples=self.k_selection.stability_resamples,
            stability_sample_size=self.k_selection.stability_sample_size,
            note=f"k={self.k} was set by the user; the automatic choice was "
            f"k={auto.chosen}: {auto.note}",
        )
        return replace(self, k_selection=selection)

    def segments_frame(self) -> pd.DataFrame:
        """One row per segment: id, name, size, share, centre per feature, action."""
        rows = []
        for s in self.segments:
            row: dict[str, Any] = {
                "segment": s.id,
                "name": s.name,
                "size": s.size,
                "share": s.share,
            }
            row.update({f"centre: {f}": v for f, v in s.centre.items()})
            row["action"] = s.recommendation.title
            rows.append(row)
        return pd.DataFrame(rows).set_index("segment")

    def assignments(self) -> pd.DataFrame:
        """One row per input row: id, ``segment``, ``segment_name``, ``left_out_reason``."""
        labels = np.asarray(self.labels, dtype=np.int64)
        # Vectorised: millions of rows must not mean millions of Python-level steps.
        seg = pd.arrays.IntegerArray(labels, labels <= 0)
        # Ids are 1..k for a fresh run but may have gaps when kept from a previous model.
        names = np.full(max((s.id for s in self.segments), default=0) + 1, "", dtype=object)
        for s in self.segments:
            names[s.id] = s.name
        id_name = self.data.id_column or "row"
        frame = pd.DataFrame(
            {
                id_name: self.ids.to_numpy(),
                "segment": seg,
                "segment_name": names[labels],
                "left_out_reason": self.left_out.to_numpy(),
            }
        )
        if self.row_flags is not None:
            for c in self.row_flags.columns:
                frame[c] = self.row_flags[c].to_numpy()
        return frame
