"""Segment identity across refits: keep the ids and names of segments that persist.

A segmentation is used for months; next quarter's refit must call the same
group of customers by the same id and name, or every CRM campaign keyed on
"segment 2" breaks. Given the previous model, the new segments are matched to
the previous ones by an optimal one-to-one matching of their centres (the
Hungarian algorithm, :func:`scipy.optimize.linear_sum_assignment`):

* centres are compared in original units scaled by the **previous** model's
  scaler, so both runs are measured with the same ruler;
* a pair is a match only when the new centre lies within the previous
  segment's 99th-percentile member distance (a centre the previous model
  would flag ``atypical`` is not the same segment) or within half the
  distance to the previous segment's nearest neighbour (unambiguously its
  region; this keeps tiny, tight segments, whose p99 is near 0, from losing
  their id over noise) — see :func:`match_radius`;
* matched segments keep the previous id and name; the other new segments get
  new ids above every id the lineage has used (an id is never reused for a
  different group); previous segments left unmatched are reported as vanished;
* when the previous run's ``assignments.csv`` sits beside its ``model.json``
  and both runs have a customer id column, a migration table counts the
  customers who moved from each old segment to each new one.

Ids mean: 1..k ordered by size in a fresh run; with a previous model they
follow the previous model, so they no longer need to be 1..k.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError
from ..results import SegmentationResult, clean
from .fitted import SegmentModel, load_model

NOT_PRESENT = "(not in that run)"
LEFT_OUT = "(left out)"


@dataclass(frozen=True)
class SegmentMatch:
    """A new segment that continues a previous one."""

    id: int
    name: str
    computed_name: str
    distance: float
    size_before: int
    size_now: int

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "id": self.id,
                "name": self.name,
                "computed_name": self.computed_name,
                "centre_distance": self.distance,
                "size_before": self.size_before,
                "size_now": self.size_now,
            }
        )


@dataclass(frozen=True)
class SegmentChange:
    """A segment that is new in this run, or one of the previous run that vanished."""

    id: int
    name: str
    size: int
    nearest_distance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "id": self.id,
                "name": self.name,
                "size": self.size,
                "nearest_distance": self.nearest_distance,
            }
        )


@dataclass(frozen=True)
class IdentityReport:
    """How this run's segments relate to the previous model's.

    ``migration`` has one row per (previous segment, new segment) pair with
    customers: ``from_segment``, ``from_name``, ``to_segment``, ``to_name``,
    ``customers`` (segment <NA> with a name in brackets for customers left
    out or not present in one of the runs); ``None`` with the reason in
    ``migration_note`` when the runs share no customer ids.
    """

    previous_model: str
    previous_fingerprint: str
    rule: str
    matched: tuple[SegmentMatch, ...]
    new: tuple[SegmentChange, ...]
    vanished: tuple[SegmentChange, ...]
    migration: pd.DataFrame | None
    migration_note: str

    def to_dict(self) -> dict[str, Any]:
        return clean(
            {
                "previous_model": self.previous_model,
                "previous_fingerprint": self.previous_fingerprint,
                "rule": self.rule,
                "matched": [m.to_dict() for m in self.matched],
                "new": [s.to_dict() for s in self.new],
                "vanished": [s.to_dict() for s in self.vanished],
                "migration": (
                    self.migration.astype(object)
                    .where(self.migration.notna(), None)
                    .to_dict(orient="records")
                    if self.migration is not None
                    else None
                ),
                "migration_note": self.migration_note,
            }
        )


RULE = (
    "optimal one-to-one matching (Hungarian) of segment centres, compared in original units "
    "scaled by the previous model's scaler; a pair matches when the new centre is within the "
    "previous segment's 99th-percentile member distance or half the distance to its nearest "
    "neighbouring centre"
)


def match_radius(model: SegmentModel) -> np.ndarray:
    """How far a new centre may lie from each segment's centre and still be that segment.

    The segment's 99th-percentile member distance (a centre within it would be
    a typical member), or half the distance to the nearest other centre when
    that is larger: any point that close is unambiguously in the segment's own
    region, which keeps small, tight segments from losing their id over noise.
    """
    radius = np.array([s.distance["p99"] for s in model.segments])
    if model.k > 1:
        c = model.centres
        between = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(axis=2))
        np.fill_diagonal(between, np.inf)
        radius = np.maximum(radius, between.min(axis=1) / 2)
    return radius


def load_previous(previous: str | Path | SegmentModel) -> SegmentModel:
    """The previous model, loaded and checked (fails before any fitting work)."""
    if isinstance(previous, SegmentModel):
        return previous
    return load_model(previous)


def check_features(previous: SegmentModel, features: tuple[str, ...], source: str = "") -> None:
    """Segment identity needs the same features as the previous model."""
    if set(previous.features) != set(features):
        gone = [f for f in previous.features if f not in features]
        added = [f for f in features if f not in previous.features]
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(map(repr, gone))}" if gone else "",
                f"new {', '.join(map(repr, added))}" if added else "",
            )
            if part
        )
        raise ModelError(
            f"the previous model{f' {source!r}' if source else ''} was fitted on "
            f"{', '.join(previous.features)}; this run uses {', '.join(features)} ({detail}); "
            "segment identity needs the same features: pass the same --features"
        )


def apply_previous(
    result: SegmentationResult,
    previous: str | Path | SegmentModel,
    *,
    previous_assignments: str | Path | pd.DataFrame | None = None,
) -> SegmentationResult:
    """Renumber and rename ``result``'s segments to follow a previous model.

    Parameters
    ----------
    result : SegmentationResult
        A fresh run (ids 1..k by size).
    previous : path to model.json, or SegmentModel
    previous_assignments : path or DataFrame, optional
        The previous run's assignments (id column and ``segment``). Default:
        ``assignments.csv`` beside the previous ``model.json`` when it exists.

    Returns
    -------
    SegmentationResult
        The same segmentation with kept ids and names, segments in id order,
        and ``identity`` describing matches, new and vanished segments and
        the migration of customers.

    Examples
    --------
    >>> q2 = apply_previous(segment("customers_q2.csv"), "q1/model.json")  # doctest: +SKIP
    >>> [m.name for m in q2.identity.matched]  # doctest: +SKIP
    """
    from scipy.optimize import linear_sum_assignment

    source = str(previous) if not isinstance(previous, SegmentModel) else "<model>"
    prev = load_previous(previous)
    model = result.model
    check_features(prev, model.features, source)

    # Centres of this run in original units, in the previous model's feature order.
    order = [model.features.index(f) for f in prev.features]
    new_orig = model.scaler.inverse_transform(model.centres)[:, order]
    new_z = prev.scaler.transform(new_orig)
    cost = np.sqrt(((new_z[:, None, :] - prev.centres[None, :, :]) ** 2).sum(axis=2))
    gate = match_radius(prev)
    allowed = cost <= gate[None, :] + 1e-12
    # Disallowed pairs cost more than any set of allowed ones, so the solver
    # maximises the number of real matches first, then minimises distance.
    big = cost.sum() + 1.0
    rows, cols = linear_sum_assignment(np.where(allowed, cost, big + cost))
    pairs = {int(i): int(j) for i, j in zip(rows, cols) if allowed[i, j]}

    prev_ids = [s.id for s in prev.segments]
    highest = max([*prev_ids, int((prev.lineage or {}).get("highest_segment_id", 0))])
    kept_names = {prev.segments[j].name for j in pairs.values()}
    new_id: dict[int, int] = {}
    new_name: dict[int, str] = {}
    matched, created = [], []
    next_id = highest + 1
    for i, seg in enumerate(result.segments):  # size order: new ids by size too
        if i in pairs:
            p = prev.segments[pairs[i]]
            new_id[i], new_name[i] = p.id, p.name
            matched.append(
                SegmentMatch(
                    id=p.id,
                    name=p.name,
                    computed_name=seg.name,
                    distance=float(cost[i, pairs[i]]),
                    size_before=p.size,
                    size_now=seg.size,
                )
            )
        else:
            new_id[i] = next_id
            next_id += 1
            name = seg.name
            if name in kept_names:
                name = f"{name} (segment {new_id[i]})"
            new_name[i] = name
            created.append(
                SegmentChange(
                    id=new_id[i], name=name, size=seg.size, nearest_distance=float(cost[i].min())
                )
            )
    vanished = tuple(
        SegmentChange(id=p.id, name=p.name, size=p.size, nearest_distance=float(cost[:, j].min()))
        for j, p in enumerate(prev.segments)
        if j not in pairs.values()
    )

    # --- renumber the result -----------------------------------------------------------
    old_ids = [s.id for s in result.segments]
    lookup = np.zeros(max(old_ids) + 1, dtype=np.int64)
    for i, old in enumerate(old_ids):
        lookup[old] = new_id[i]
    by_id = sorted(range(len(old_ids)), key=lambda i: new_id[i])
    segments = tuple(replace(result.segments[i], id=new_id[i], name=new_name[i]) for i in by_id)
    infos = {s.id: s for s in model.segments}
    model_segments = tuple(
        replace(infos[old_ids[i]], id=new_id[i], name=new_name[i]) for i in by_id
    )
    index_of_old = {s.id: r for r, s in enumerate(model.segments)}
    centres = model.centres[[index_of_old[old_ids[i]] for i in by_id]]
    lineage = {
        "previous_fingerprint": prev.training["fingerprint"],
        "previous_checksum": prev.to_dict()["checksum"],
        "highest_segment_id": max(highest, *new_id.values()),
        "matched": sorted(m.id for m in matched),
        "new": [c.id for c in created],
        "vanished": [v.id for v in vanished],
    }
    new_model = replace(model, segments=model_segments, centres=centres, lineage=lineage)
    labels = np.where(result.labels > 0, lookup[result.labels], 0)
    projection = result.projection
    if projection is not None:
        projection = replace(projection, segment=lookup[projection.segment])

    migration, note = _migration(result, prev, previous, previous_assignments, labels, segments)
    identity = IdentityReport(
        previous_model=source,
        previous_fingerprint=prev.training["fingerprint"],
        rule=RULE,
        matched=tuple(sorted(matched, key=lambda m: m.id)),
        new=tuple(created),
        vanished=vanished,
        migration=migration,
        migration_note=note,
    )
    return replace(
        result,
        segments=segments,
        labels=labels,
        model=new_model,
        projection=projection,
        identity=identity,
    )


def _migration(
    result: SegmentationResult,
    prev: SegmentModel,
    previous: str | Path | SegmentModel,
    previous_assignments: str | Path | pd.DataFrame | None,
    labels: np.ndarray,
    segments: tuple,
) -> tuple[pd.DataFrame | None, str]:
    id_now = result.data.id_column
    if previous_assignments is None:
        if isinstance(previous, SegmentModel):
            return None, "no previous assignments given"
        candidate = Path(previous).parent / "assignments.csv"
        if not candidate.is_file():
            return None, f"no assignments.csv beside '{previous}', so customers cannot be followed"
        previous_assignments = candidate
    id_before = prev.id_column
    if id_now is None or id_before is None:
        return None, (
            "customers cannot be followed across runs: "
            + ("this run" if id_now is None else "the previous run")
            + " has no customer id column (set one with --id)"
        )
    if isinstance(previous_assignments, pd.DataFrame):
        before = previous_assignments
    else:
        try:
            before = pd.read_csv(previous_assignments, dtype={id_before: str})
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ModelError(
                f"previous assignments '{previous_assignments}' cannot be read ({exc})"
            ) from None
    if id_before not in before.columns or "segment" not in before.columns:
        raise ModelError(
            f"previous assignments '{previous_assignments}' need the columns {id_before!r} and "
            f"'segment'; found: {', '.join(map(str, before.columns))}"
        )
    old = pd.DataFrame(
        {
            "id": before[id_before].astype(str).to_numpy(),
            "from_segment": pd.to_numeric(before["segment"], errors="coerce").astype("Int64"),
        }
    ).drop_duplicates("id")
    new = pd.DataFrame(
        {
            "id": result.ids.astype(str).to_numpy(),
            "to_segment": pd.Series(labels, dtype="Int64").mask(labels == 0),
        }
    )
    both = old.merge(new, on="id", how="outer", indicator=True)
    if not (both["_merge"] == "both").any():
        return None, (
            f"no customer id of this run ({id_now!r}) appears in the previous assignments "
            f"({id_before!r}), so customers cannot be followed"
        )
    prev_names = {s.id: s.name for s in prev.segments}
    now_names = {s.id: s.name for s in segments}

    def label(seg: pd.Series, present: pd.Series, names: dict[int, str]) -> list[str]:
        return [
            NOT_PRESENT if not p else (LEFT_OUT if pd.isna(s) else names.get(int(s), ""))
            for s, p in zip(seg, present)
        ]

    both["from_name"] = label(both["from_segment"], both["_merge"] != "right_only", prev_names)
    both["to_name"] = label(both["to_segment"], both["_merge"] != "left_only", now_names)
    table = (
        both.groupby(
            ["from_segment", "from_name", "to_segment", "to_name"], dropna=False, sort=False
        )
        .size()
        .rename("customers")
        .reset_index()
    )
    table["customers"] = table["customers"].astype(np.int64)
    # Deterministic order: previous segment, then new segment; missing ones last.
    table = table.sort_values(
        ["from_segment", "from_name", "to_segment", "to_name"], na_position="last", kind="stable"
    ).reset_index(drop=True)
    return table[["from_segment", "from_name", "to_segment", "to_name", "customers"]], ""


__all__ = ["IdentityReport", "SegmentMatch", "apply_previous", "check_features", "load_previous"]
