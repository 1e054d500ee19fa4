"""Classic RFM scores (1..5) and the named segments of a score map.

Scores are quintiles of the customers' values with stored bin edges, so a new
log is scored with the same edges. R is reversed: fewer days since the last
purchase is a higher score.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import ConfigError

QUANTILES = (0.2, 0.4, 0.6, 0.8)
SCORE_COLUMNS = {"R": "recency_days", "F": "frequency", "M": "monetary"}
DEFAULT_SEGMENT_MAP = "segments.yaml"


@dataclass(frozen=True)
class ScoreEdges:
    """The four bin edges of each of R, F and M.

    A value ``v`` falls in bin ``1 + (number of edges below v)``: a value equal to
    an edge goes to the lower bin (right-closed bins, as :func:`pandas.qcut`), so
    equal values always get the same score whatever their order or customer id.
    R's score is ``6 - bin`` (5 = fewest days since the last purchase).
    """

    recency_days: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]

    @classmethod
    def fit(cls, recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray) -> ScoreEdges:
        """Edges at the 20/40/60/80% quantiles (linear interpolation) of each column."""

        def edges(x: np.ndarray) -> tuple[float, ...]:
            if len(x) == 0:
                raise ConfigError("there are no customers to score")
            return tuple(float(e) for e in np.quantile(np.asarray(x, dtype=float), QUANTILES))

        return cls(edges(recency), edges(frequency), edges(monetary))

    def score(
        self, recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """R, F and M scores (int8 arrays of 1..5)."""

        def bins(x: np.ndarray, e: tuple[float, ...]) -> np.ndarray:
            # side="left": the number of edges strictly below x, so x == edge -> lower bin.
            return (
                1 + np.searchsorted(np.asarray(e), np.asarray(x, dtype=float), side="left")
            ).astype(np.int8)

        r = (6 - bins(recency, self.recency_days)).astype(np.int8)
        return r, bins(frequency, self.frequency), bins(monetary, self.monetary)

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantiles": list(QUANTILES),
            "recency_days": list(self.recency_days),
            "frequency": list(self.frequency),
            "monetary": list(self.monetary),
            "rule": "bin = 1 + number of edges below the value (a value equal to an edge "
            "gets the lower bin); R = 6 - bin, F = bin, M = bin",
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScoreEdges:
        try:
            out = cls(*(tuple(float(v) for v in d[k]) for k in SCORE_COLUMNS.values()))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                "score edges must list four numbers for each of recency_days, frequency, monetary"
            ) from None
        for name, e in zip(SCORE_COLUMNS.values(), (out.recency_days, out.frequency, out.monetary)):
            if len(e) != 4 or list(e) != sorted(e):
                raise ConfigError(
                    f"score edges of {name} must be four increasing numbers, not {list(e)}"
                )
        return out


@dataclass(frozen=True)
class NamedSegment:
    name: str
    when: dict[str, tuple[int, int]]
    description: str
    action: str
    reason: str

    def matches(self, r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
        ok = np.ones(len(r), dtype=bool)
        for key, x in (("R", r), ("F", f), ("M", m)):
            if key in self.when:
                lo, hi = self.when[key]
                ok &= (x >= lo) & (x <= hi)
        return ok


@dataclass(frozen=True)
class SegmentMap:
    """Ordered score rules: the first segment whose ranges hold names the customer."""

    source: str
    segments: tuple[NamedSegment, ...]

    def name(self, r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Segment name per customer (object array)."""
        out = np.full(len(r), "", dtype=object)
        done = np.zeros(len(r), dtype=bool)
        for seg in self.segments:
            hit = seg.matches(r, f, m) & ~done
            out[hit] = seg.name
            done |= hit
        return out

    def segment(self, name: str) -> NamedSegment:
        for s in self.segments:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "segments": [
                {
                    "name": s.name,
                    "when": {k: list(v) for k, v in s.when.items()},
                    "description": s.description,
                    "action": s.action,
                    "reason": s.reason,
                }
                for s in self.segments
            ],
        }


def _fail(source: str, msg: str) -> ConfigError:
    return ConfigError(f"segment map '{source}': {msg}")


def parse_segment_map(doc: Any, source: str) -> SegmentMap:
    """Validate a parsed segment map; every one of the 125 score combinations must be named."""
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("segments"), list)
        or not doc["segments"]
    ):
        raise _fail(source, "must be a YAML mapping with a non-empty list 'segments'")
    segments = []
    for i, s in enumerate(doc["segments"], start=1):
        if not isinstance(s, dict) or "name" not in s or "when" not in s:
            raise _fail(source, f"segment {i} needs a 'name' and a 'when'")
        when = s["when"]
        if not isinstance(when, dict) or not when:
            raise _fail(
                source, f"segment {i} ({s['name']}): 'when' must map R, F or M to [low, high]"
            )
        ranges: dict[str, tuple[int, int]] = {}
        for key, rng in when.items():
            if key not in ("R", "F", "M"):
                raise _fail(source, f"segment {i} ({s['name']}): {key!r} is not R, F or M")
            if isinstance(rng, int):
                rng = [rng, rng]
            if (
                not isinstance(rng, list)
                or len(rng) != 2
                or not all(isinstance(v, int) and 1 <= v <= 5 for v in rng)
                or rng[0] > rng[1]
            ):
                raise _fail(
                    source,
                    f"segment {i} ({s['name']}): {key} must be [low, high] with "
                    f"1 <= low <= high <= 5, not {rng!r}",
                )
            ranges[key] = (int(rng[0]), int(rng[1]))
        segments.append(
            NamedSegment(
                name=str(s["name"]),
                when=ranges,
                description=" ".join(str(s.get("description", "")).split()),
                action=" ".join(str(s.get("action", "")).split()),
                reason=" ".join(str(s.get("reason", "")).split()),
            )
        )
    smap = SegmentMap(source=source, segments=tuple(segments))
    grid = np.array([(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)])
    names = smap.name(grid[:, 0], grid[:, 1], grid[:, 2])
    unnamed = np.flatnonzero(names == "")
    if len(unnamed):
        r, f, m = grid[unnamed[0]]
        raise _fail(
            source,
            f"no segment covers R={r}, F={f}, M={m} ({len(unnamed)} of the 125 combinations "
            "are not covered); add a last rule such as {name: Others, when: {R: [1, 5]}}",
        )
    return smap


def load_segment_map(path: str | Path | None = None) -> SegmentMap:
    """The packaged map (``path=None``) or a user's YAML file."""
    if path is None:
        text = resources.files("custseg.rfm").joinpath(DEFAULT_SEGMENT_MAP).read_text("utf-8")
        source = "custseg default"
    else:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"segment map '{p}' cannot be read: {exc.strerror}") from None
        source = str(p)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(source, f"is not valid YAML: {str(exc).splitlines()[0]}") from None
    return parse_segment_map(doc, source)


def cluster_playbook_path() -> str:
    """Path of the packaged playbook that names and recommends for RFM clusters."""
    return str(resources.files("custseg.rfm").joinpath("clusters.yaml"))
