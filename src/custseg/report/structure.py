"""The report's content as typed objects, independent of how it is rendered.

:func:`build_report` reads the saved dictionaries of a run (``segments.json``
and ``model.json``) and arranges what the report says, section by section.
It never sees raw data and computes nothing but arrangement (the whole base's
category mix is the size-weighted mix of the segments). Formatting numbers
and escaping text are the renderer's job (:mod:`custseg.report.html`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import ReportError
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
class Overview:
    """What was read, what was used, and how it was segmented."""

    source: str
    n_rows: int
    n_used: int
    dropped: dict[str, int]
    imputed: dict[str, int]
    missing_policy: str
    id_column: str | None
    features: tuple[str, ...]
    features_chosen_by: str
    categorical: tuple[str, ...]
    ignored: dict[str, str]
    repairs: tuple[str, ...]
    scale: str
    method: str
    linkage: str | None
    k: int
    k_rule: str
    k_note: str
    sample_size: int | None

    @property
    def n_dropped(self) -> int:
        return self.n_rows - self.n_used


@dataclass(frozen=True)
class IndexRow:
    """Every quality index for one candidate k."""

    k: int
    inertia: float | None
    silhouette: float | None
    calinski_harabasz: float | None
    davies_bouldin: float | None
    merge_gap: float | None
    chosen: bool
    preferred_by: tuple[str, ...]
    gap: float | None = None
    stability: float | None = None


@dataclass(frozen=True)
class DendrogramInfo:
    """What the dendrogram chart shows: the whole tree or its truncated top."""

    truncated: bool
    n_leaves: int
    n_shown_leaves: int
    cut_height: float


@dataclass(frozen=True)
class ChoosingK:
    """How k was chosen, with the evidence for every candidate."""

    rule: str
    chosen: int
    rows: tuple[IndexRow, ...]
    preferred: dict[str, int | None]
    agree: bool
    runner_up: int | None
    note: str
    elbow: int | None
    elbow_reason: str | None
    silhouette_sample_size: int | None
    has_merge_gap: bool
    dendrogram: DendrogramInfo | None
    # The rule's reason in one sentence, whether there is group structure at all, and
    # the resampling behind the stability figures (None in files from older versions).
    reason: str | None = None
    clear_structure: bool | None = None
    structure_note: str | None = None
    has_evidence: bool = False
    evidence_sample_size: int | None = None
    stability_resamples: int | None = None
    stability_sample_size: int | None = None
    min_segment_size: int | None = None
    atypical_count: int | None = None
    atypical_k: int | None = None


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


@dataclass(frozen=True)
class CategoryShare:
    value: str
    segment_share: float
    base_share: float


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
    stability: float | None = None
    stability_reading: str | None = None


@dataclass(frozen=True)
class MapInfo:
    """The segment map: its axes and how many customers it draws."""

    axes: tuple[str, str]
    explained_variance: tuple[float, float] | None
    n_total: int
    n_shown: int

    @property
    def sampled(self) -> bool:
        return self.n_shown < self.n_total

    @property
    def on_components(self) -> bool:
        return self.explained_variance is not None


@dataclass(frozen=True)
class ModelInfo:
    created_at: str | None
    custseg_version: str | None
    fingerprint: str | None


@dataclass(frozen=True)
class Report:
    """The whole report, section by section (overview, choosing k, segments, map, data)."""

    overview: Overview
    choosing_k: ChoosingK
    segments: tuple[SegmentCard, ...]
    map: MapInfo | None
    model: ModelInfo
    level_rule: str
    warnings: tuple[str, ...]


class _Reader:
    """Read keys of a saved dict, failing with the file and key path that is wrong."""

    def __init__(self, file: str) -> None:
        self.file = file

    def get(self, obj: Any, path: str, kind: type | tuple[type, ...] | None = None) -> Any:
        value = obj
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                raise ReportError(
                    f"{self.file} has no '{path}'; it is not a complete custseg result "
                    "(rerun custseg segment to rebuild it)"
                )
            value = value[part]
        if kind is not None and not isinstance(value, kind):
            raise ReportError(
                f"{self.file}: '{path}' should be {_kind_name(kind)}, not "
                f"{type(value).__name__}; rerun custseg segment to rebuild it"
            )
        return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


_NUM = (int, float)


def build_report(doc: dict[str, Any], model_doc: dict[str, Any]) -> Report:
    """Arrange a saved result into the report's sections.

    Parameters
    ----------
    doc : dict
        The content of ``segments.json`` (``SegmentationResult.to_dict()``).
    model_doc : dict
        The content of ``model.json`` (``SegmentModel.to_dict()``).

    Returns
    -------
    Report

    Raises
    ------
    ReportError
        When either dict lacks something the report needs, or they come from
        different runs.
    """
    if not isinstance(doc, dict):
        raise ReportError("segments.json does not hold a JSON object; it is not a custseg result")
    if not isinstance(model_doc, dict):
        raise ReportError("model.json does not hold a JSON object; it is not a custseg model")
    r = _Reader("segments.json")
    m = _Reader("model.json")
    k = r.get(doc, "k", int)
    segments = r.get(doc, "segments", list)
    if len(segments) != k:
        raise ReportError(f"segments.json: k={k} but it lists {len(segments)} segments")
    model_k = m.get(model_doc, "k", int)
    if model_k != k:
        raise ReportError(
            f"model.json has k={model_k} but segments.json has k={k}: they come from "
            "different runs; keep the files of one result folder together"
        )
    features = tuple(r.get(doc, "features", list))
    population = r.get(doc, "population", dict)
    for f in features:
        stats = population.get(f)
        if not isinstance(stats, dict) or not isinstance(stats.get("mean"), _NUM):
            raise ReportError(
                f"segments.json: 'population' has no statistics for feature '{f}'; "
                "rerun custseg segment to rebuild it"
            )
    data = r.get(doc, "data", dict)
    sel = r.get(doc, "k_selection", dict)

    overview = Overview(
        source=str(r.get(data, "source")),
        n_rows=r.get(data, "n_rows", int),
        n_used=r.get(data, "n_used", int),
        dropped=dict(data.get("dropped") or {}),
        imputed=dict(data.get("imputed") or {}),
        missing_policy=str(data.get("missing_policy") or doc.get("missing") or "drop"),
        id_column=data.get("id_column"),
        features=features,
        features_chosen_by=str(data.get("features_chosen_by") or "given"),
        categorical=tuple(data.get("categorical") or ()),
        ignored=dict(data.get("ignored") or {}),
        repairs=tuple(data.get("repairs") or ()),
        scale=str(r.get(doc, "scale")),
        method=str(r.get(doc, "method")),
        linkage=doc.get("linkage"),
        k=k,
        k_rule=str(r.get(sel, "rule")),
        k_note=str(sel.get("note") or ""),
        sample_size=sel.get("sample_size"),
    )
    preferred = dict(r.get(sel, "preferred", dict))
    rows = tuple(
        IndexRow(
            k=r.get(c, "k", int),
            inertia=c.get("inertia"),
            silhouette=c.get("silhouette"),
            calinski_harabasz=c.get("calinski_harabasz"),
            davies_bouldin=c.get("davies_bouldin"),
            merge_gap=c.get("merge_gap"),
            chosen=c["k"] == sel.get("chosen"),
            preferred_by=tuple(name for name, pk in preferred.items() if pk == c["k"]),
            gap=c.get("gap"),
            stability=c.get("stability"),
        )
        for c in r.get(sel, "candidates", list)
    )
    dd = doc.get("dendrogram")
    choosing_k = ChoosingK(
        rule=overview.k_rule,
        chosen=r.get(sel, "chosen", int),
        rows=rows,
        preferred=preferred,
        agree=bool(sel.get("agree", True)),
        runner_up=sel.get("runner_up"),
        note=overview.k_note,
        elbow=sel.get("elbow"),
        elbow_reason=sel.get("elbow_reason"),
        silhouette_sample_size=sel.get("silhouette_sample_size"),
        has_merge_gap=any(row.merge_gap is not None for row in rows),
        dendrogram=(
            DendrogramInfo(
                truncated=bool(r.get(dd, "truncated")),
                n_leaves=r.get(dd, "n_leaves", int),
                n_shown_leaves=len(r.get(dd, "leaf_counts", list)),
                cut_height=float(r.get(dd, "cut_height", _NUM)),
            )
            if dd
            else None
        ),
        reason=sel.get("reason"),
        clear_structure=sel.get("clear_structure"),
        structure_note=sel.get("structure_note"),
        has_evidence=any(row.stability is not None for row in rows),
        evidence_sample_size=sel.get("evidence_sample_size"),
        stability_resamples=sel.get("stability_resamples"),
        stability_sample_size=sel.get("stability_sample_size"),
        min_segment_size=sel.get("min_segment_size"),
        atypical_count=(sel.get("atypical") or {}).get("count"),
        atypical_k=(sel.get("atypical") or {}).get("k"),
    )
    cards = tuple(_card(r, s, features, population, segments) for s in segments)
    proj = doc.get("projection")
    map_info = (
        MapInfo(
            axes=tuple(r.get(proj, "axes", list)),  # type: ignore[arg-type]
            explained_variance=(
                tuple(proj["explained_variance"])  # type: ignore[arg-type]
                if proj.get("explained_variance")
                else None
            ),
            n_total=r.get(proj, "n_total", int),
            n_shown=r.get(proj, "n_shown", int),
        )
        if proj
        else None
    )
    training = model_doc.get("training") or {}
    model = ModelInfo(
        created_at=model_doc.get("created_at"),
        custseg_version=model_doc.get("custseg_version") or doc.get("custseg_version"),
        fingerprint=training.get("fingerprint"),
    )
    return Report(
        overview=overview,
        choosing_k=choosing_k,
        segments=cards,
        map=map_info,
        model=model,
        level_rule=str(doc.get("level_rule") or ""),
        warnings=tuple(str(w) for w in doc.get("warnings") or ()),
    )


def _card(
    r: _Reader,
    s: dict[str, Any],
    features: tuple[str, ...],
    population: dict[str, Any],
    segments: list[dict[str, Any]],
) -> SegmentCard:
    sid = r.get(s, "id", int)
    centre = r.get(s, "centre", dict)
    profile = s.get("profile") or {}
    stats = profile.get("features") or {}
    distinctive = tuple(profile.get("distinctive") or ())
    levels = s.get("levels") or {}
    rows = []
    for f in features:
        if f not in centre:
            raise ReportError(f"segments.json: segment {sid} has no centre for feature '{f}'")
        fs = stats.get(f) or {}
        rows.append(
            FeatureRow(
                feature=f,
                unit=unit_of(f),
                segment_mean=float(centre[f]),
                base_mean=float(population[f]["mean"]),
                segment_min=fs.get("min"),
                segment_max=fs.get("max"),
                level=levels.get(f),
                distinctive=f in distinctive,
            )
        )
    total = sum(int(x.get("size") or 0) for x in segments) or 1
    mixes = []
    for column, shares in (profile.get("categories") or {}).items():
        # The base's mix is the size-weighted mix of its segments (every used customer is in one).
        base: dict[str, float] = {}
        for other in segments:
            w = int(other.get("size") or 0) / total
            other_mix = ((other.get("profile") or {}).get("categories") or {}).get(column) or {}
            for value, share in other_mix.items():
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
    rec = s.get("recommendation") or {}
    return SegmentCard(
        id=sid,
        name=str(r.get(s, "name")),
        colour=segment_colour(sid),
        size=r.get(s, "size", int),
        share=float(r.get(s, "share", _NUM)),
        features=tuple(rows),
        distinctive=distinctive,
        categories=tuple(mixes),
        action_title=str(rec.get("title") or "No recommendation"),
        action=str(rec.get("action") or ""),
        action_reason=str(rec.get("reason") or ""),
        stability=s.get("stability"),
        stability_reading=s.get("stability_reading"),
    )
