"""A user's renamed segments and edited actions, carried into the model and the downloads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from ..errors import ConfigError
from ..model import SegmentModel
from ..results import SegmentationResult


@dataclass(frozen=True)
class SegmentEdit:
    """What the user wants a segment to be called and what to do with it.

    Parameters
    ----------
    name : str
        The segment's name (shown on cards, in ``assignments.csv`` and the model).
    title : str
        The action's headline.
    action : str
        The action's text.
    """

    name: str
    title: str
    action: str


@dataclass(frozen=True)
class EditedResult:
    """A result with the user's edits applied, to its segments and its model."""

    result: SegmentationResult

    @property
    def model(self) -> SegmentModel:
        return self.result.model

    @property
    def names(self) -> dict[int, str]:
        return {s.id: s.name for s in self.model.segments}


def _tidy(edit: SegmentEdit, segment_id: int) -> SegmentEdit:
    name = " ".join(edit.name.split())
    if not name:
        raise ConfigError(f"segment {segment_id} has an empty name; type a name for it")
    return SegmentEdit(name=name, title=edit.title.strip(), action=edit.action.strip())


def apply_edits(result: SegmentationResult, edits: Mapping[int, SegmentEdit]) -> EditedResult:
    """Apply renames and action edits to a result's segments and its model.

    Parameters
    ----------
    result : SegmentationResult
        The result; a new one is returned (results and models are immutable).
    edits : mapping of segment id to SegmentEdit
        Segments without an entry keep their generated name and action.

    Returns
    -------
    EditedResult
        The edited result and model; the model is checked against the model
        schema, so what the user downloads loads again with ``load_model``.

    Raises
    ------
    ConfigError
        A name is empty, two segments share a name, or an id is not a segment.
    """
    model = result.model
    known = {s.id for s in model.segments}
    unknown = sorted(set(edits) - known)
    if unknown:
        raise ConfigError(f"there is no segment {unknown[0]}; segments are 1 to {len(known)}")
    cleaned = {sid: _tidy(e, sid) for sid, e in edits.items()}

    infos = []
    for info in model.segments:
        e = cleaned.get(info.id)
        if e is None:
            infos.append(info)
            continue
        rec = dict(info.recommendation)
        rec["title"] = e.title
        rec["action"] = e.action
        infos.append(replace(info, name=e.name, recommendation=rec))
    seen: dict[str, int] = {}
    for info in infos:
        other = seen.setdefault(info.name.casefold(), info.id)
        if other != info.id:
            raise ConfigError(
                f"segments {other} and {info.id} are both named {info.name!r}; "
                "give each segment its own name"
            )
    edited_model = replace(model, segments=tuple(infos))
    # Round-trip through the schema: the downloaded model must load again.
    edited_model = SegmentModel.from_dict(edited_model.to_dict(), "the edited model")

    segments = []
    for seg in result.segments:
        e = cleaned.get(seg.id)
        if e is not None:
            new_rec = replace(seg.recommendation, title=e.title, action=e.action)
            seg = replace(seg, name=e.name, recommendation=new_rec)
        segments.append(seg)
    return EditedResult(replace(result, segments=tuple(segments), model=edited_model))


__all__ = ["EditedResult", "SegmentEdit", "apply_edits"]
