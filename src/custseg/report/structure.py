"""The report's content as typed objects, independent of how it is rendered.

:func:`build_report` arranges a :class:`~custseg.results.SegmentationResult`
(a fresh run, or one read back from ``segments.json`` and ``model.json`` with
:func:`custseg.results_json.load_result`) into what the report adds to it: a
row per candidate k with who prefers it, and a card per segment next to the
whole customer base. Everything else the template reads from the result
itself. It never sees raw data and computes nothing but arrangement (the whole
base's category mix is the size-weighted mix of the segments). Formatting
numbers and escaping text are the renderer's job (:mod:`custseg.report.html`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..results import KCandidate, Segment, SegmentationResult
from .palette import segment_colour

# "(k$)" is a unit; "(1-100)" is a range, not a unit.
_UNIT = re.compile(r"\(\s*([^()]*?[^\d\s.,()\-–][^()]*?)\s*\)\s*$")


def unit_of(feature: str) -> str | None:
    """The unit written in parentheses at the end of a column name, if any.

    >>> unit_of("Annual Income (k$)"), unit_of("Spending Score (1-100)"), unit_of("Age")
    ('k$', None, None)
    """
    m = _UNIT.search(feature)
    if not m or re.search(r"\d", m.group(1)):
        return None
    return m.group(1)


@dataclass(frozen=True)
class IndexRow:
    """One candidate k of the index table: its indices, whether it was chosen, who prefers it."""

    candidate: KCandidate
    chosen: bool
    preferred_by: tuple[str, ...]


@dataclass(frozen=True)
class FeatureRow:
    """One feature of one segment next to the whole customer base."""

    feature: str
    unit: str | None
    segment_mean: float
    base_mean: float
    segment_min: float | None
    segment_max: float | None
    level: str | None
    distinctive: bool
    # What the level rests on (segments.json profile.evidence; absent in older files).
    effect: float | None = None
    vtest: float | None = None
    ratio: float | None = None


@dataclass(frozen=True)
class CategoryShare:
    value: str
    segment_share: float
    base_share: float


@dataclass(frozen=True)
class DescribedRow:
    """A numeric column that was not clustered on (a flag as a rate, a count, an amount)."""

    column: str
    kind: str
    segment_mean: float
    base_mean: float
    level: str
    effect: float | None
    vtest: float | None
    ratio: float | None

    @property
    def is_rate(self) -> bool:
        return self.kind == "flag"


@dataclass(frozen=True)
class CategoryMix:
    """The mix of one categorical column in a segment and in the whole base."""

    column: str
    shares: tuple[CategoryShare, ...]


@dataclass(frozen=True)
class SegmentCard:
    """Everything one segment's card shows."""

    id: int
    name: str
    colour: str
    size: int
    share: float
    features: tuple[FeatureRow, ...]
    distinctive: tuple[str, ...]
    categories: tuple[CategoryMix, ...]
    action_title: str
    action: str
    action_reason: str
    # Who is in it, from the surrogate tree (None in older files or without a leaf).
    rule: str | None = None
    rule_precision: float | None = None
    rule_recall: float | None = None
    # Further actions that also fit: (title, action, reason).
    more_actions: tuple[tuple[str, str, str], ...] = ()
    # Numeric descriptors (not clustered on) against the base, most different first.
    described: tuple[DescribedRow, ...] = ()
    # Mean bootstrap Jaccard with its best match (None when not measured) and its reading.
    stability: float | None = None
    stability_reading: str | None = None

    @property
    def ranked_features(self) -> tuple[FeatureRow, ...]:
        """The features by how much they set the segment apart: the distinctive ones
        first, each group by the size of its difference, then in the data's order."""
        order = {row.feature: i for i, row in enumerate(self.features)}
        return tuple(
            sorted(
                self.features,
                key=lambda row: (
                    not row.distinctive,
                    -abs(row.effect or 0.0),
                    order[row.feature],
                ),
            )
        )


@dataclass(frozen=True)
class Report:
    """The result and what the report arranges from it (index rows, segment cards)."""

    result: SegmentationResult
    k_rows: tuple[IndexRow, ...]
    segments: tuple[SegmentCard, ...]

    @property
    def has_merge_gap(self) -> bool:
        return any(row.candidate.merge_gap is not None for row in self.k_rows)

    @property
    def has_evidence(self) -> bool:
        """Whether the gap statistic and stability were measured (the combined rule)."""
        return any(row.candidate.stability is not None for row in self.k_rows)


def build_report(result: SegmentationResult) -> Report:
    """Arrange a result into the report's index rows and segment cards.

    Parameters
    ----------
    result : SegmentationResult
        A run's result (or one read back with :func:`custseg.results_json.load_result`).

    Returns
    -------
    Report
    """
    sel = result.k_selection
    rows = tuple(
        IndexRow(
            candidate=c,
            chosen=c.k == sel.chosen,
            preferred_by=tuple(name for name, pk in sel.preferred.items() if pk == c.k),
        )
        for c in sel.candidates
    )
    cards = tuple(_card(s, result) for s in result.segments)
    return Report(result=result, k_rows=rows, segments=cards)


def _optional_float(figures: Any, key: str) -> float | None:
    value = figures.get(key) if isinstance(figures, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def _evidence(s: Segment, feature: str, key: str) -> float | None:
    return _optional_float(s.evidence.get(feature), key)


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _card(s: Segment, result: SegmentationResult) -> SegmentCard:
    features = result.data.features
    rows = []
    for f in features:
        stats = s.stats.get(f)
        rows.append(
            FeatureRow(
                feature=f,
                unit=unit_of(f),
                segment_mean=float(s.centre[f]),
                base_mean=float(result.population[f].mean),
                segment_min=_number(stats.min) if stats else None,
                segment_max=_number(stats.max) if stats else None,
                level=s.levels.get(f),
                distinctive=f in s.distinctive,
                effect=_evidence(s, f, "effect"),
                vtest=_evidence(s, f, "vtest"),
                ratio=_evidence(s, f, "ratio"),
            )
        )
    described = sorted(
        (
            DescribedRow(
                column=str(c),
                kind=str(d.get("kind") or "number"),
                segment_mean=float(d["mean"]),
                base_mean=float(d["base"]),
                level=str(d["level"]),
                effect=_optional_float(d, "effect"),
                vtest=_optional_float(d, "vtest"),
                ratio=_optional_float(d, "ratio"),
            )
            for c, d in s.described.items()
        ),
        key=lambda row: -abs(row.effect or 0.0),
    )
    total = sum(other.size for other in result.segments) or 1
    mixes = []
    for column, shares in s.categories.items():
        if column in s.described:  # shown as a rate or a mean with its level instead
            continue
        # The base's mix is the size-weighted mix of its segments (every used customer is in one).
        base: dict[str, float] = {}
        for other in result.segments:
            w = other.size / total
            for value, share in (other.categories.get(column) or {}).items():
                base[value] = base.get(value, 0.0) + w * float(share)
        mixes.append(
            CategoryMix(
                column=str(column),
                shares=tuple(
                    CategoryShare(str(v), float(sh), base.get(v, 0.0))
                    for v, sh in sorted(shares.items(), key=lambda kv: (-kv[1], str(kv[0])))
                ),
            )
        )
    rec = s.recommendation
    return SegmentCard(
        id=s.id,
        name=s.name,
        colour=segment_colour(s.id),
        size=s.size,
        share=s.share,
        features=tuple(rows),
        distinctive=s.distinctive,
        categories=tuple(mixes),
        action_title=rec.title,
        action=rec.action,
        action_reason=rec.reason,
        rule=str(s.rule["text"]) if s.rule else None,
        rule_precision=_optional_float(s.rule, "precision"),
        rule_recall=_optional_float(s.rule, "recall"),
        more_actions=tuple((a.title, a.action, a.reason) for a in s.more_actions),
        described=tuple(described),
        stability=s.stability,
        stability_reading=s.stability_reading if s.stability is not None else None,
    )
