"""A playbook maps patterns of levels (income high, spending low ...) to actions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..results import LEVELS, Recommendation

DEFAULT_PLAYBOOK = "default.yaml"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    when: dict[str, str]
    action: str


@dataclass(frozen=True)
class Playbook:
    """Roles (which columns mean income, spending ...), naming words, ordered rules, fallback."""

    source: str
    roles: dict[str, tuple[str, ...]]
    words: dict[str, dict[str, str]]
    rules: tuple[Rule, ...]
    fallback_title: str
    fallback_action: str

    def roles_of(self, features: Sequence[str]) -> dict[str, list[str]]:
        """Role -> the features that play it (a feature plays the first role it matches)."""
        out: dict[str, list[str]] = {}
        for f in features:
            # Whole words only: 'Average Order Value' is not an age.
            lowered = " " + re.sub(r"[^a-z0-9]+", " ", f.lower()) + " "
            for role, words in self.roles.items():
                if any(f" {w} " in lowered for w in words):
                    out.setdefault(role, []).append(f)
                    break
        return out

    def vocabulary(self, features: Sequence[str]) -> dict[str, dict[str, str]]:
        """Feature -> level words for naming, from the roles' words."""
        vocab: dict[str, dict[str, str]] = {}
        for role, feats in self.roles_of(features).items():
            if role in self.words:
                for f in feats:
                    vocab[f] = self.words[role]
        return vocab

    def recommend(self, levels: Mapping[str, str], features: Sequence[str]) -> Recommendation:
        """The first rule whose conditions hold for ``levels``, or the fallback with the reason."""
        roles = self.roles_of(features)
        for rule in self.rules:
            if all(
                role in roles and any(levels[f] == lvl for f in roles[role])
                for role, lvl in rule.when.items()
            ):
                cond = ", ".join(f"{role} {lvl}" for role, lvl in rule.when.items())
                return Recommendation(
                    rule=rule.id, title=rule.title, action=rule.action, reason=f"matched {cond}"
                )
        pattern = ", ".join(f"{f} {levels[f]}" for f in features)
        if not roles:
            why = f"none of the features plays a role the playbook knows ({', '.join(self.roles)})"
        else:
            why = f"no rule matches this pattern ({pattern})"
        return Recommendation(
            rule=None, title=self.fallback_title, action=self.fallback_action, reason=why
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "roles": {k: list(v) for k, v in self.roles.items()},
            "words": self.words,
            "rules": [
                {"id": r.id, "title": r.title, "when": r.when, "action": r.action}
                for r in self.rules
            ],
            "fallback": {"title": self.fallback_title, "action": self.fallback_action},
        }


def _fail(source: str, msg: str) -> ConfigError:
    return ConfigError(f"playbook '{source}': {msg}")


# Bounds on a playbook, far above any real one: a few hundred bytes of nested YAML
# aliases can otherwise expand to gigabytes of text in names, models and reports.
MAX_PLAYBOOK_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_TEXT = 2_000  # characters in a title, action or word
MAX_ITEMS = 1_000  # roles, words per role, rules


def _text(source: str, value: Any, what: str) -> str:
    """A scalar of the playbook as text: a string (or number), not a list, within bounds."""
    if isinstance(value, (list, dict, set, tuple)) or value is None:
        raise _fail(source, f"{what} must be text, not {_kind(value)}")
    text = str(value)
    if len(text) > MAX_TEXT:
        raise _fail(source, f"{what} is {len(text):,} characters long; keep it under {MAX_TEXT:,}")
    return text


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, dict):
        return "a mapping"
    return "a set" if isinstance(value, set) else "a list"


def _count(source: str, items: Any, what: str) -> None:
    if len(items) > MAX_ITEMS:
        raise _fail(source, f"{what} has {len(items):,} entries; at most {MAX_ITEMS:,} are read")


class _BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses documents using more than MAX_ALIASES aliases."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            self._aliases = getattr(self, "_aliases", 0) + 1
            if self._aliases > MAX_ALIASES:
                raise _AliasBomb
        return super().compose_node(parent, index)


class _AliasBomb(Exception):
    pass


def parse_playbook(doc: Any, source: str) -> Playbook:
    """Validate a parsed playbook document."""
    if not isinstance(doc, dict):
        raise _fail(source, "must be a YAML mapping with 'roles', 'rules' and 'fallback'")
    roles_raw = doc.get("roles") or {}
    if not isinstance(roles_raw, dict):
        raise _fail(source, "'roles' must map a role to a list of words")
    _count(source, roles_raw, "'roles'")
    roles = {}
    for role, words in roles_raw.items():
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise _fail(source, f"role {role!r} must list words, e.g. [income, salary]")
        _count(source, words, f"role {role!r}")
        role_name = _text(source, role, "a role name")
        roles[role_name] = tuple(
            _text(source, w, f"a word of role {role!r}").lower() for w in words
        )
    words_raw = doc.get("words") or {}
    if not isinstance(words_raw, dict):
        raise _fail(source, "'words' must map a role to {low: ..., high: ...}")
    _count(source, words_raw, "'words'")
    words = {}
    for r, w in words_raw.items():
        if not isinstance(w or {}, dict):
            raise _fail(
                source,
                f"'words' for {r!r} must map levels to words, e.g. {{low: Budget, high: Affluent}},"
                f" not {_kind(w) if isinstance(w, (list, dict)) else repr(w)}",
            )
        _count(source, w or {}, f"'words' for {r!r}")
        words[_text(source, r, "a role in 'words'")] = {
            _text(source, k, f"a level in 'words' for {r!r}"): _text(
                source, v, f"the word for {r!r} {k}"
            )
            for k, v in (w or {}).items()
        }
    rules_raw = doc.get("rules")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise _fail(source, "'rules' must be a non-empty list")
    _count(source, rules_raw, "'rules'")
    rules = []
    for i, r in enumerate(rules_raw, start=1):
        if not isinstance(r, dict):
            raise _fail(source, f"rule {i} must be a mapping with id, title, when, action")
        missing = [key for key in ("title", "when", "action") if key not in r]
        if missing:
            raise _fail(source, f"rule {i} has no {missing[0]!r}")
        when = r["when"]
        if not isinstance(when, dict) or not when:
            raise _fail(source, f"rule {i}: 'when' must map roles to levels, e.g. {{income: high}}")
        for role, lvl in when.items():
            if role not in roles:
                raise _fail(source, f"rule {i} names role {role!r}, which 'roles' does not define")
            if lvl not in LEVELS:
                raise _fail(
                    source,
                    f"rule {i}: level {lvl!r} for {role!r} is not one of {', '.join(LEVELS)}",
                )
        rules.append(
            Rule(
                id=_text(source, r.get("id", f"rule-{i}"), f"rule {i} 'id'"),
                title=_text(source, r["title"], f"rule {i} 'title'"),
                when={str(k): str(v) for k, v in when.items()},
                action=" ".join(_text(source, r["action"], f"rule {i} 'action'").split()),
            )
        )
    fb = doc.get("fallback") or {}
    if not isinstance(fb, dict):
        raise _fail(
            source,
            "'fallback' must be a mapping with 'title' and 'action', e.g. "
            "{title: Review this segment, action: Decide by hand.}",
        )
    return Playbook(
        source=source,
        roles=roles,
        words=words,
        rules=tuple(rules),
        fallback_title=_text(source, fb.get("title", "Review this segment"), "'fallback' 'title'"),
        fallback_action=" ".join(
            _text(
                source,
                fb.get("action", "No playbook rule fits this segment; decide by hand."),
                "'fallback' 'action'",
            ).split()
        ),
    )


def load_playbook(path: str | Path | None = None) -> Playbook:
    """The playbook at ``path``, or the default one shipped with custseg.

    Examples
    --------
    >>> pb = load_playbook()
    >>> pb.recommend({"Income": "high", "Spend": "high"}, ["Income", "Spend"]).rule
    'loyalty'
    """
    if path is None:
        text = resources.files("custseg.playbook").joinpath(DEFAULT_PLAYBOOK).read_text("utf-8")
        source = "default"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"playbook file '{p}' does not exist")
        source = str(p)
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise ConfigError(f"playbook file '{p}' cannot be read: {exc.strerror}") from None
        if len(raw) > MAX_PLAYBOOK_BYTES:
            raise _fail(
                source, f"is {len(raw):,} bytes; a playbook is at most {MAX_PLAYBOOK_BYTES:,}"
            )
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line_no = raw[: exc.start].count(b"\n") + 1
            raise _fail(
                source,
                f"is not UTF-8 text (byte {raw[exc.start]:#04x} on line {line_no}); "
                "save it as UTF-8 and try again",
            ) from None
    try:
        doc = yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader subclass: no tags run
    except _AliasBomb:
        raise _fail(
            source,
            f"uses more than {MAX_ALIASES} YAML aliases (*name); write the text out instead",
        ) from None
    except RecursionError:
        raise _fail(source, "is nested too deeply to be a playbook") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" near line {line + 1}" if line is not None else ""
        raise ConfigError(f"playbook '{source}' is not valid YAML{where}") from None
    return parse_playbook(doc, source)
