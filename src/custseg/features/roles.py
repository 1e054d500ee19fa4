"""Column roles: what a column of a customer table means, from its name and content.

The registry is a YAML file (``roles.yaml`` next to this module; replaced or
extended with ``--roles FILE`` / ``roles=``). Each role has a *kind* (amount,
count, rate, number, flag, date, code, category, id), a *direction* (which way
is better: ``higher``, ``lower`` or ``none``) and a default *use* (feature,
descriptor, derive, id). A column gets the first role whose name pattern
matches its normalised name and whose content check passes; a column no
pattern names gets a role from its content alone (0/1 -> flag, few whole
numbers -> code, text -> category, other numbers -> number).

:class:`ColumnRole` is the typed answer, one per column, carried in
``SegmentationResult.data.roles`` and ``segments.json`` ``data.roles``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._packaged import packaged_yaml
from ..errors import ConfigError

KINDS = ("amount", "count", "rate", "number", "flag", "date", "code", "category", "id")
DIRECTIONS = ("higher", "lower", "none")
USES = ("feature", "descriptor", "derive", "id")
CHECKS = ("numeric", "integer", "binary", "share", "year", "date", "text", "unique")
# What a user may write for a column in a roles file besides a role name.
IGNORE = "ignore"


@dataclass(frozen=True)
class Role:
    """One entry of the registry."""

    name: str
    kind: str
    direction: str
    use: str
    names: tuple[re.Pattern[str], ...] = ()
    values: str | None = None
    plausible: tuple[float | None, float | None] | None = None
    outcome: bool = False


@dataclass(frozen=True)
class ColumnRole:
    """The role of one column of the input table, and what the segmentation did with it.

    Attributes
    ----------
    column : str
        The column name as in the file (derived columns: the new name).
    position : int or None
        1-based position in the file (``None`` for derived columns).
    role : str
        Registry role (``income``, ``recency``, ...), or ``number`` / ``flag`` /
        ``code`` / ``category`` / ``text`` / ``date`` when only the content spoke.
    kind : str
        One of :data:`KINDS`.
    direction : str
        ``higher``, ``lower`` or ``none``: which way is better for the business.
    use : str
        ``feature`` (clustered on), ``descriptor`` (profiled, not clustered on),
        ``derived-from`` (input of a derived column), ``id`` or ``excluded``.
    reason : str
        Why: how the role was recognised, and why a column is not a feature.
    matched_by : str
        ``name``, ``content``, ``user`` (a roles file or ``--features``) or ``derived``.
    """

    column: str
    role: str
    kind: str
    direction: str
    use: str
    reason: str
    matched_by: str = "name"
    position: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "position": self.position,
            "role": self.role,
            "kind": self.kind,
            "direction": self.direction,
            "use": self.use,
            "reason": self.reason,
            "matched_by": self.matched_by,
        }


@dataclass(frozen=True)
class RoleRegistry:
    """The roles in matching order, plus per-column choices from a user's roles file."""

    roles: tuple[Role, ...]
    columns: dict[str, str] = field(default_factory=dict)
    source: str = "default"

    def get(self, name: str) -> Role | None:
        for r in self.roles:
            if r.name == name:
                return r
        return None

    def match(self, column: str) -> list[Role]:
        """Roles whose name patterns match ``column``, in registry order."""
        key = normalise_name(column)
        return [r for r in self.roles if any(p.search(key) for p in r.names)]


def normalise_name(name: str) -> str:
    """'MntWines' -> 'mnt wines', 'Year_Birth' -> 'year birth', 'Âge' -> 'age'.

    Examples
    --------
    >>> normalise_name("NumWebVisitsMonth")
    'num web visits month'
    >>> normalise_name("PRC_FULL_PAYMENT")
    'prc full payment'
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("ß", "ss")
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)  # camelCase
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", text)  # HTMLParser -> HTML Parser
    text = re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", text)
    text = re.sub(r"[^A-Za-z0-9]+", " ", text)
    return text.lower().strip()


def _role_from_dict(d: dict[str, Any], source: str) -> Role:
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a role in '{source}' has no name; give each role a 'name:'")
    kind = d.get("kind", "number")
    direction = d.get("direction", "none")
    use = d.get("use", "feature")
    for what, value, allowed in (
        ("kind", kind, KINDS),
        ("direction", direction, DIRECTIONS),
        ("use", use, USES),
    ):
        if value not in allowed:
            raise ConfigError(
                f"role {name!r} in '{source}' has {what} {value!r}; use one of {', '.join(allowed)}"
            )
    values = d.get("values")
    if values is not None and values not in CHECKS:
        raise ConfigError(
            f"role {name!r} in '{source}' has values check {values!r}; use one of "
            f"{', '.join(CHECKS)}"
        )
    patterns = []
    for p in d.get("names") or []:
        try:
            patterns.append(re.compile(str(p)))
        except re.error as exc:
            raise ConfigError(
                f"role {name!r} in '{source}' has a name pattern that is not a regular "
                f"expression ({p!r}: {exc})"
            ) from None
    plausible = d.get("plausible")
    return Role(
        name=name,
        kind=kind,
        direction=direction,
        use=use,
        names=tuple(patterns),
        values=values,
        plausible=(plausible[0], plausible[1]) if plausible else None,
        outcome=bool(d.get("outcome", False)),
    )


def _parse(doc: Any, source: str) -> tuple[list[Role], dict[str, str]]:
    if not isinstance(doc, dict):
        raise ConfigError(
            f"'{source}' is not a roles file: it needs 'roles:' (a list of roles) and/or "
            "'columns:' (column name: role name)"
        )
    roles = [_role_from_dict(r, source) for r in (doc.get("roles") or [])]
    columns = doc.get("columns") or {}
    if not isinstance(columns, dict):
        raise ConfigError(f"'columns' in '{source}' must map column names to role names")
    return roles, {str(k): str(v) for k, v in columns.items()}


@lru_cache(maxsize=1)
def default_registry() -> RoleRegistry:
    """The packaged registry (``custseg/features/roles.yaml``)."""
    roles, columns = _parse(packaged_yaml("custseg.features", "roles.yaml"), "roles.yaml")
    return RoleRegistry(roles=tuple(roles), columns=columns)


def load_registry(roles: str | Path | dict[str, Any] | None = None) -> RoleRegistry:
    """The registry with a user's roles file (or dict) applied.

    A user's ``roles:`` are tried before the packaged ones (a role of the same
    name replaces the packaged one); ``columns:`` sets the role of named columns
    outright (``ignore`` leaves a column out).

    Examples
    --------
    >>> reg = load_registry({"columns": {"Fresh": "category_spend"}})
    >>> reg.columns
    {'Fresh': 'category_spend'}
    """
    base = default_registry()
    if roles is None:
        return base
    if isinstance(roles, dict):
        doc, source = roles, "roles"
    else:
        import yaml

        path = Path(roles)
        source = str(path)
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read roles file '{path}' ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"roles file '{path}' is not valid YAML ({exc})") from None
    extra, columns = _parse(doc, source)
    names = {r.name for r in extra}
    merged = tuple(extra) + tuple(r for r in base.roles if r.name not in names)
    known = {r.name for r in merged} | {IGNORE, "feature", "descriptor"}
    for col, role in columns.items():
        if role not in known:
            raise ConfigError(
                f"column {col!r} in '{source}' has role {role!r}, which is not in the registry; "
                f"use one of {', '.join(sorted(known))}"
            )
    return RoleRegistry(roles=merged, columns=columns, source=source)


# --- content checks ------------------------------------------------------------------


@dataclass(frozen=True)
class Content:
    """What the rules need to know of a column's values."""

    numeric: np.ndarray | None  # float values (NaN = empty) when the column is numeric
    text: pd.Series | None  # the raw column when it is text
    n_rows: int

    @property
    def present(self) -> np.ndarray:
        assert self.numeric is not None
        v = self.numeric
        return v[~np.isnan(v)]


def parse_dates(text: pd.Series) -> pd.Series:
    """Parsed dates of a text column (NaT where a cell is not a date)."""
    import warnings

    s = text.dropna().astype(str).str.strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Day-first when the first field can only be a day (31.12.2019, 13/05/2020).
        dayfirst = bool(s.str.match(r"^(1[3-9]|2\d|3[01])[./-]").any())
        iso = bool(s.str.match(r"^\d{4}-\d{1,2}-\d{1,2}").all())
        if iso:
            return pd.to_datetime(s, errors="coerce", format="ISO8601")
        return pd.to_datetime(s, errors="coerce", dayfirst=dayfirst, format="mixed")


def is_date_column(content: Content) -> bool:
    """At least 90% of the non-empty cells of a text column read as dates."""
    if content.text is None:
        return False
    s = content.text.dropna()
    if s.empty or not s.astype(str).str.contains(r"\d").all():
        return False
    if not s.astype(str).str.match(r"^\s*\d{1,4}[./-]\d{1,2}[./-]\d{1,4}").mean() >= 0.9:
        return False
    return bool(parse_dates(content.text).notna().mean() >= 0.9)


def check(values: str | None, content: Content) -> str | None:
    """None when the content fits the check, else what is wrong (for the reason)."""
    if values is None:
        return None
    num = content.numeric
    if values == "date":
        return None if is_date_column(content) else "its values are not dates"
    if values == "text":
        return None if content.text is not None else "its values are numbers"
    if values == "unique":
        if num is not None:
            present = content.present
            return None if len(np.unique(present)) == len(present) else "its values repeat"
        col = content.text.dropna() if content.text is not None else pd.Series([])
        return None if col.is_unique and not col.empty else "its values repeat"
    if values == "binary":
        if num is None:
            if content.text is None:
                return "it is empty"
            levels = {str(v).strip().lower() for v in content.text.dropna().unique()}
            ok = bool(levels) and levels <= {
                "yes",
                "no",
                "true",
                "false",
                "y",
                "n",
                "ja",
                "nein",
                "oui",
                "non",
                "si",
                "0",
                "1",
            }
            return None if ok else "its values are not 0/1 or yes/no"
        present = content.present
        return None if len(present) and np.isin(present, (0, 1)).all() else "not only 0/1"
    if num is None:
        return "its values are not numbers"
    present = content.present
    if len(present) == 0:
        return None
    if values == "numeric":
        return None
    if values == "integer":
        return None if (present == np.round(present)).all() else "not whole numbers"
    if values == "share":
        return None if present.min() >= 0 and present.max() <= 1 else "not between 0 and 1"
    if values == "year":
        whole = bool((present == np.round(present)).all())
        ok = whole and bool(np.mean((present >= 1850) & (present <= 2100)) >= 0.9)
        return None if ok else "its values are not years"
    if values == "unique":
        return None if len(np.unique(present)) == len(present) else "its values repeat"
    return None


def content_role(content: Content) -> tuple[str, str, str]:
    """(role, kind, why) from the values alone, for a column no name pattern matches."""
    if content.numeric is None:
        if content.text is None or content.text.dropna().empty:
            return "empty", "category", "empty"
        if is_date_column(content):
            return "date", "date", "its values are dates"
        if check("binary", content) is None:
            return "flag", "flag", "yes/no values"
        return "category", "category", "text values"
    present = content.present
    if len(present) and np.isin(present, (0, 1)).all():
        return "flag", "flag", "only 0/1 values"
    distinct = np.unique(present)
    whole = len(present) and (present == np.round(present)).all()
    # A code repeats a few values over many customers (3 rows of 0, 1, 10 are numbers).
    if whole and len(distinct) <= 5 and distinct.min() >= 0 and len(present) >= 10 * len(distinct):
        return "code", "code", f"only {len(distinct)} whole-number values (a code or small count)"
    return "number", "number", "numeric values"


def assign_role(
    column: str, content: Content, registry: RoleRegistry
) -> tuple[Role | None, str, str]:
    """The role of one column: (registry role or None, how matched, reason text).

    ``how`` is ``user``, ``name`` or ``content``.
    """
    forced = registry.columns.get(column)
    if forced is not None and forced not in (IGNORE, "feature", "descriptor"):
        role = registry.get(forced)
        return role, "user", f"role {forced!r} set in {registry.source}"
    rejected: list[str] = []
    for role in registry.match(column):
        problem = check(role.values, content)
        if problem is None:
            note = f" (not {', '.join(rejected)})" if rejected else ""
            return role, "name", f"named like {role.name.replace('_', ' ')}{note}"
        rejected.append(f"{role.name.replace('_', ' ')}: {problem}")
    why = content_role(content)[2]
    note = f"; named like {'; '.join(rejected)}" if rejected else ""
    return None, "content", why + note


__all__ = [
    "KINDS",
    "ColumnRole",
    "Content",
    "Role",
    "RoleRegistry",
    "assign_role",
    "default_registry",
    "load_registry",
    "normalise_name",
]
