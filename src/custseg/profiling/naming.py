"""Plain-business names from levels: 'High Annual Income · Low Spending Score'."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

MAX_NAME_FEATURES = 3
SEPARATOR = " · "
# The name of a segment that is average on every feature (no level sets it apart).
TYPICAL = "Typical customers"
_UNITS = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")


def display_name(feature: str) -> str:
    """A feature's name without units in brackets.

    >>> display_name("Annual Income (k$)")
    'Annual Income'
    """
    cleaned = _UNITS.sub("", str(feature)).strip()
    cleaned = re.sub(r"[_]+", " ", cleaned)
    return cleaned or str(feature).strip()


def _phrase(feature: str, level: str, vocabulary: Mapping[str, Mapping[str, str]]) -> str:
    words = vocabulary.get(feature, {})
    if level in words:
        return words[level]
    return f"{level.title()} {display_name(feature)}"


def _name(
    levels: Mapping[str, str],
    effect: Mapping[str, float],
    features: Sequence[str],
    vocabulary: Mapping[str, Mapping[str, str]],
    limit: int | None,
) -> str:
    if limit is None or len(features) <= limit:
        candidates = list(features)
    else:
        candidates = [f for f in features if levels[f] not in ("average",)]
        candidates.sort(key=lambda f: (-abs(effect[f]), features.index(f)))
        if not candidates:
            return TYPICAL
    # Two features of one role can give the same words ('Rarely use cash advances' from
    # both the amount and the number of cash advances): each phrase is said once.
    phrases: dict[str, str] = {}
    for f in candidates:
        phrase = _phrase(f, levels[f], vocabulary)
        if phrase not in phrases.values():
            phrases[f] = phrase
        if limit is not None and len(phrases) == limit:
            break
    return SEPARATOR.join(phrases[f] for f in features if f in phrases)


def name_segments(
    levels: Sequence[Mapping[str, str]],
    fine_levels: Sequence[Mapping[str, str]],
    effects: Sequence[Mapping[str, float]],
    features: Sequence[str],
    vocabulary: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """One unique name per segment, in segment order.

    Names use the three-step levels; segments that would share a name are told
    apart by finer levels (very low / very high), then by more features, and as
    a last resort by a number.

    ``vocabulary`` maps a feature to words for its levels (e.g. Age:
    {"low": "Younger", "high": "Older"}).
    """
    vocab = vocabulary or {}
    names = [_name(lv, ef, features, vocab, MAX_NAME_FEATURES) for lv, ef in zip(levels, effects)]
    for attempt in ("fine", "all"):
        clashes = _clashing(names)
        if not clashes:
            return names
        for i in clashes:
            if attempt == "fine":
                names[i] = _name(fine_levels[i], effects[i], features, vocab, MAX_NAME_FEATURES)
            else:
                names[i] = _name(fine_levels[i], effects[i], features, vocab, None)
    seen: dict[str, int] = {}
    out = []
    for nm in names:
        seen[nm] = seen.get(nm, 0) + 1
        out.append(nm if seen[nm] == 1 else f"{nm} ({seen[nm]})")
    return out


def _clashing(names: list[str]) -> list[int]:
    return [i for i, nm in enumerate(names) if names.count(nm) > 1]
