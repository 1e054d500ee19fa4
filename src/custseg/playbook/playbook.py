"""A playbook maps patterns of levels over column roles (income high, recency low ...) to actions.

Each segment gets every rule whose conditions all hold, ranked: more conditions first
(a more specific pattern), then the larger differences of the features that matched,
then the playbook's order. The first is the segment's recommendation; the next ones
(at most :data:`MAX_ACTIONS` in all) are its further actions. Each says why it matched,
naming the features and the differences it used.

A feature plays the first playbook role whose words its name contains (the playbook's
own ``roles`` section, as in version 1 playbooks), or else the role custseg's column-role
registry recognised from its name (``registry_roles``: names in other languages). Numeric
descriptors (flags, counts not clustered on) take part with their levels too.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .._packaged import packaged_yaml
from ..errors import ConfigError
from ..results import LEVELS, Recommendation

DEFAULT_PLAYBOOK = "default.yaml"
MAX_ACTIONS = 3
EVERY = "every"
"""The condition ``every: average`` holds when every feature is average."""
_CONDITION = re.compile(r"^\s*([A-Za-z_][\w ]*?)\s*(?:\[([^\]]+)\])?\s*$")
# Words that name the kind of a column rather than its subject ("MntWines" -> "wines").
_NOT_SUBJECT = frozenset(
    [
        "mnt",
        "amt",
        "amount",
        "amounts",
        "num",
        "number",
        "no",
        "of",
        "on",
        "in",
        "for",
        "the",
        "total",
        "sum",
        "avg",
        "average",
        "qty",
        "quantity",
        "spend",
        "spent",
        "spending",
        "purchases",
        "purchase",
        "orders",
        "order",
        "sales",
        "trx",
        "transactions",
        "count",
    ]
)


def name_words(name: str) -> list[str]:
    """A column name as lower-case words, camelCase and digits split.

    >>> name_words("MntWines"), name_words("NumWebPurchases"), name_words("PRC_FULL_PAYMENT")
    (['mnt', 'wines'], ['num', 'web', 'purchases'], ['prc', 'full', 'payment'])
    >>> name_words("Dépenses_loisirs")
    ['dépenses', 'loisirs']
    """
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", str(name))
    spaced = re.sub(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])", " ", spaced)
    # Letters of any language ('Dépenses', 'Ausgaben für Lebensmittel') stay whole words.
    return re.sub(r"[\W_]+", " ", spaced.lower()).split()


def subject_of(name: str) -> str:
    """What a column is about, without words for its kind: 'MntWines' -> 'wines'.

    >>> subject_of("MntWines"), subject_of("NumWebPurchases"), subject_of("Detergents_Paper")
    ('wines', 'web', 'detergents paper')
    """
    words = [w for w in name_words(re.sub(r"\s*[\(\[][^\)\]]*[\)\]]", "", name))]
    kept = [w for w in words if w not in _NOT_SUBJECT]
    return " ".join(kept or words)


@dataclass(frozen=True)
class Condition:
    """``role: level``, or ``role[word|word]: level`` for features of the role whose name
    holds one of the words."""

    role: str
    words: tuple[str, ...]
    level: str

    def text(self) -> str:
        return self.role + (f"[{'|'.join(self.words)}]" if self.words else "")


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    when: dict[str, str]
    action: str
    conditions: tuple[Condition, ...] = field(default=())


@dataclass(frozen=True)
class Playbook:
    """Roles by words, role families, naming words, ordered rules, fallback."""

    source: str
    roles: dict[str, tuple[str, ...]]
    words: dict[str, dict[str, str]]
    rules: tuple[Rule, ...]
    fallback_title: str
    fallback_action: str
    families: dict[str, tuple[str, ...]] = field(default_factory=dict)
    version: int = 1

    def _word_role(self, feature: str) -> str | None:
        lowered = " " + " ".join(name_words(feature)) + " "
        plain = " " + re.sub(r"[\W_]+", " ", feature.lower()) + " "
        for role, words in self.roles.items():
            # Whole words only: 'Average Order Value' is not an age.
            if any(f" {w} " in lowered or f" {w} " in plain for w in words):
                return role
        return None

    def feature_roles(
        self, features: Sequence[str], registry: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Feature -> its role: the playbook's words first (the user edits them), else the
        column-role registry's role (names in other languages: 'Einkommen', 'Edad')."""
        out: dict[str, str] = {}
        for f in features:
            role = self._word_role(f) or (registry or {}).get(f)
            if role:
                out[f] = role
        return out

    def knows(self, role: str) -> bool:
        """Whether this playbook's words, families or rules use ``role``."""
        return (
            role in self.roles
            or role in self.words
            or role in self.families
            or any(role in members for members in self.families.values())
            or any(c.role == role for r in self.rules for c in r.conditions)
        )

    def registry_roles(self, column_roles: Iterable[Any]) -> dict[str, str]:
        """Column -> role from the column-role registry (:mod:`custseg.features.roles`),
        for the roles this playbook knows.

        ``column_roles`` are :class:`~custseg.features.roles.ColumnRole` records; a role
        recognised from the column's name or set by the user counts, one guessed from its
        content alone (a plain number, a flag) does not.
        """
        return {
            r.column: r.role
            for r in column_roles
            if r.matched_by in ("name", "user", "derived") and self.knows(r.role)
        }

    def roles_of(
        self, features: Sequence[str], registry: Mapping[str, str] | None = None
    ) -> dict[str, list[str]]:
        """Role -> the features that play it."""
        out: dict[str, list[str]] = {}
        for f, role in self.feature_roles(features, registry).items():
            out.setdefault(role, []).append(f)
        return out

    def _plays(self, role: str, wanted: str) -> bool:
        return role == wanted or role in self.families.get(wanted, ())

    def vocabulary(
        self, features: Sequence[str], registry: Mapping[str, str] | None = None
    ) -> dict[str, dict[str, str]]:
        """Feature -> level words for naming, from the words of its role (or family);
        ``{subject}`` in a word is what the column is about ('MntWines' -> 'Wines')."""
        vocab: dict[str, dict[str, str]] = {}
        for f, role in self.feature_roles(features, registry).items():
            words = self.words.get(role)
            if words is None:
                words = next(
                    (w for fam, w in self.words.items() if role in self.families.get(fam, ())),
                    None,
                )
            if words:
                subject = subject_of(f)
                vocab[f] = {
                    lvl: _capitalise(w.replace("{subject}", subject)) for lvl, w in words.items()
                }
        return vocab

    def _matches(
        self,
        rule: Rule,
        levels: Mapping[str, str],
        roles: Mapping[str, str],
        effects: Mapping[str, float],
    ) -> list[tuple[Condition, list[str]]] | None:
        matched: list[tuple[Condition, list[str]]] = []
        for cond in rule.conditions:
            if cond.role == EVERY:
                if not levels or any(lv != cond.level for lv in levels.values()):
                    return None
                matched.append((cond, []))
                continue
            feats = [
                f
                for f, role in roles.items()
                if self._plays(role, cond.role)
                and levels.get(f) == cond.level
                and (not cond.words or any(w in name_words(f) for w in cond.words))
            ]
            if not feats:
                return None
            feats.sort(key=lambda f: -abs(effects.get(f, 0.0)))
            matched.append((cond, feats))
        return matched

    def recommend_all(
        self,
        levels: Mapping[str, str],
        features: Sequence[str],
        effects: Mapping[str, float] | None = None,
        registry: Mapping[str, str] | None = None,
        limit: int = MAX_ACTIONS,
    ) -> tuple[Recommendation, ...]:
        """Every rule that holds for ``levels``, ranked, at most ``limit``; the fallback
        with its reason when none does."""
        effects = effects or {}
        roles = self.feature_roles(features, registry)
        found = []
        for order, rule in enumerate(self.rules):
            matched = self._matches(rule, levels, roles, effects)
            if matched is None:
                continue
            strength = sum(abs(effects.get(feats[0], 0.0)) for _, feats in matched if feats)
            found.append((-len(rule.conditions), -strength, order, rule, matched))
        found.sort(key=lambda t: t[:3])
        recs = []
        for *_, rule, matched in found[:limit]:
            recs.append(
                Recommendation(
                    rule=rule.id,
                    title=rule.title,
                    action=rule.action,
                    reason="matched " + "; ".join(_because(c, f, effects) for c, f in matched),
                )
            )
        if recs:
            return tuple(recs)
        pattern = ", ".join(f"{f} {levels[f]}" for f in features if f in levels)
        if not roles:
            known = ", ".join(sorted(set(self.roles) | set(self.families)))
            why = f"none of the features plays a role the playbook knows ({known})"
        else:
            why = f"no rule matches this pattern ({pattern})"
        return (
            Recommendation(
                rule=None, title=self.fallback_title, action=self.fallback_action, reason=why
            ),
        )

    def recommend(
        self,
        levels: Mapping[str, str],
        features: Sequence[str],
        effects: Mapping[str, float] | None = None,
        registry: Mapping[str, str] | None = None,
    ) -> Recommendation:
        """The best-ranked rule that holds for ``levels``, or the fallback with the reason."""
        return self.recommend_all(levels, features, effects, registry, limit=1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "version": self.version,
            "roles": {k: list(v) for k, v in self.roles.items()},
            "families": {k: list(v) for k, v in self.families.items()},
            "words": self.words,
            "rules": [
                {"id": r.id, "title": r.title, "when": r.when, "action": r.action}
                for r in self.rules
            ],
            "fallback": {"title": self.fallback_title, "action": self.fallback_action},
        }


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _because(cond: Condition, feats: list[str], effects: Mapping[str, float]) -> str:
    if cond.role == EVERY:
        return f"every feature {cond.level}"
    shown = []
    for f in feats[:2]:
        e = effects.get(f)
        shown.append(f"{f} {e:+.2f} sd" if e is not None else f)
    return f"{cond.text()} {cond.level} ({', '.join(shown)})"


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


def _string_lists(source: str, raw: Any, section: str, example: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise _fail(source, f"'{section}' must map a name to a list of words, e.g. {example}")
    _count(source, raw, f"'{section}'")
    out = {}
    for name, words in raw.items():
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise _fail(source, f"{section[:-1]} {name!r} must list words, e.g. {example}")
        _count(source, words, f"{section[:-1]} {name!r}")
        key = _text(source, name, f"a name in '{section}'")
        out[key] = tuple(
            _text(source, w, f"a word of {section[:-1]} {name!r}").lower() for w in words
        )
    return out


def _condition(source: str, i: int, key: Any, lvl: Any, known: set[str], version: int) -> Condition:
    m = _CONDITION.match(_text(source, key, f"rule {i}: a condition"))
    if not m:
        raise _fail(source, f"rule {i}: condition {key!r} is not 'role' or 'role[word|word]'")
    role, words = m.group(1).strip(), m.group(2)
    if role != EVERY and version == 1 and role not in known:
        raise _fail(source, f"rule {i} names role {role!r}, which 'roles' does not define")
    if lvl not in LEVELS:
        raise _fail(
            source, f"rule {i}: level {lvl!r} for {role!r} is not one of {', '.join(LEVELS)}"
        )
    parts = tuple(w.strip().lower() for w in words.split("|")) if words else ()
    return Condition(role=role, words=parts, level=str(lvl))


def parse_playbook(doc: Any, source: str) -> Playbook:
    """Validate a parsed playbook document (version 1: rules over the playbook's own roles;
    version 2: rules over the column-role registry's roles, families and word filters)."""
    if not isinstance(doc, dict):
        raise _fail(source, "must be a YAML mapping with 'roles', 'rules' and 'fallback'")
    version = doc.get("version", 1)
    if version not in (1, 2) or isinstance(version, bool):
        raise _fail(source, f"version {version!r} is not 1 or 2")
    roles = _string_lists(source, doc.get("roles") or {}, "roles", "[income, salary]")
    families = _string_lists(source, doc.get("families") or {}, "families", "[spend, score]")
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
    known = set(roles) | set(families)
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
        conditions = tuple(
            _condition(source, i, key, lvl, known, version) for key, lvl in when.items()
        )
        rules.append(
            Rule(
                id=_text(source, r.get("id", f"rule-{i}"), f"rule {i} 'id'"),
                title=_text(source, r["title"], f"rule {i} 'title'"),
                when={str(k): str(v) for k, v in when.items()},
                action=" ".join(_text(source, r["action"], f"rule {i} 'action'").split()),
                conditions=conditions,
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
        families=families,
        version=int(version),
    )


@lru_cache(maxsize=1)
def _default_document() -> Any:
    return packaged_yaml("custseg.playbook", DEFAULT_PLAYBOOK)


def load_playbook(path: str | Path | None = None) -> Playbook:
    """The playbook at ``path``, or the default one shipped with custseg.

    Examples
    --------
    >>> pb = load_playbook()
    >>> pb.recommend({"Income": "high", "Spend": "high"}, ["Income", "Spend"]).rule
    'loyalty'
    """
    if path is None:
        # Parsed once per process (YAML parsing is most of a k change's fixed cost in the
        # app); each caller gets its own copy of the document.
        return parse_playbook(copy.deepcopy(_default_document()), "default")
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
