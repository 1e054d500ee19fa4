"""The data rulebook: which columns are features, descriptors or left out, and why.

One definition for both readers (:func:`custseg.data.prepare.prepare`, the
general loader, and :func:`custseg.data.fast.prepare_large_file`, the large-file
reader): each hands :func:`plan_columns` the columns' content and gets back the
same plan.

Default features (no ``--features``) are what a data scientist would choose:
behaviour and value columns (amounts, counts, rates, recency, tenure, income,
age). Flags, codes, categories, campaign outcomes and ids are *descriptors*:
profiled per segment, never clustered on. Left out, each with its reason: ids,
constant and near-constant columns, columns more than :data:`MAX_EMPTY_SHARE`
empty, columns whose header is a spreadsheet error, free text. Derived when the
inputs exist: age from a birth year, tenure from a customer-since date, total
spend from category spends, total purchases from channel purchases.

The rules and their messages are listed in ``docs/guide.md`` ("Column roles")
and ``docs/data-requirements.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from ..features.roles import (
    IGNORE,
    ColumnRole,
    Content,
    RoleRegistry,
    assign_role,
    content_role,
    parse_dates,
)

# A column with more empty cells than this is not a default feature: imputing it
# would invent most of what the segments are built on.
MAX_EMPTY_SHARE = 0.30
# A feature whose most common value covers this share of customers cannot separate
# segments (it would make one segment of the few others).
NEAR_CONSTANT_SHARE = 0.99
# A skewed amount (skewness above this) is log-transformed by --transform auto.
SKEW_LIMIT = 1.0
# Values further than this many interquartile ranges beyond the quartiles (on the
# scale the clustering uses) are extreme.
OUTLIER_IQR = 5.0
# More than this share of customers left out is never silent: a warning names the
# columns responsible and the fix.
LOSS_WARNING_SHARE = 0.03
MAX_CATEGORY_LEVELS = 30
# A whole-number column that steps by +1 from one row to the next in at least this share
# of rows counts the rows (a row number, or ids handed out in order): nothing a customer
# did. Only columns whose name says nothing are judged by it.
COUNTER_SHARE = 0.99
COUNTER_MIN_ROWS = 20

SPREADSHEET_ERRORS = ("#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#N/A", "#NA")
_ERROR_HEADER = re.compile(r"^#(DIV/0!|VALUE!|REF!|NAME\?|NUM!|NULL!|N/A|NA)$", re.IGNORECASE)


def column_letter(position: int) -> str:
    """Spreadsheet letter of a 1-based column position: 1 -> A, 27 -> AA.

    Examples
    --------
    >>> column_letter(12), column_letter(28)
    ('L', 'AB')
    """
    letters = ""
    while position > 0:
        position, rem = divmod(position - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_label(position: int) -> str:
    """'column 12 (L)': a column as the user counts it in the file and the spreadsheet."""
    return f"column {position} ({column_letter(position)})"


@dataclass(frozen=True)
class ColumnPlan:
    """What the rulebook decided for every column."""

    roles: tuple[ColumnRole, ...]
    features: tuple[str, ...]
    descriptors: tuple[str, ...]
    excluded: dict[str, str]
    derived: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # How each derived column is computed, so a saved model derives it from new data too.
    recipes: dict[str, dict] = field(default_factory=dict)

    def role_of(self, column: str) -> ColumnRole | None:
        for r in self.roles:
            if r.column == column:
                return r
        return None


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 else f"{share:.1%}"


def _skewness(v: np.ndarray) -> float:
    v = v[np.isfinite(v)].astype(np.float64)
    if len(v) < 3 or v.std() == 0:
        return 0.0
    return float(((v - v.mean()) ** 3).mean() / v.std() ** 3)


def counter_breaks(values: np.ndarray) -> int | None:
    """When ``values`` (in file order) count the rows, how many rows are not the row
    before + 1 (at most 1 - :data:`COUNTER_SHARE` of them; whole numbers, no empty cell,
    at least :data:`COUNTER_MIN_ROWS` rows); None when they do not count the rows.

    Examples
    --------
    >>> counter_breaks(np.arange(1, 201, dtype=float))
    0
    >>> counter_breaks(np.array([5.0, 3, 8, 1] * 10)) is None
    True
    """
    if len(values) < COUNTER_MIN_ROWS or not np.all(np.isfinite(values)):
        return None
    if not np.all(values == np.round(values)):
        return None
    breaks = int(np.count_nonzero(np.diff(values) != 1))
    return breaks if breaks <= (1 - COUNTER_SHARE) * (len(values) - 1) else None


def plan_columns(
    contents: dict[str, Content],
    registry: RoleRegistry,
    *,
    id_column: str | None,
    not_ids: dict[str, str],
    features: tuple[str, ...] | None,
    ignore: tuple[str, ...] = (),
    positions: dict[str, int] | None = None,
    today: date | None = None,
) -> ColumnPlan:
    """Decide the role and use of every column.

    Parameters
    ----------
    contents : dict of column name -> Content, in file order
    registry : RoleRegistry
    id_column : str or None
        The detected or given id.
    not_ids : dict
        Columns named like an id that are not usable ids, with why.
    features : tuple of str or None
        ``--features``: when given they are the features (they win over roles).
    ignore : tuple of str
        ``--ignore``: left out, stated.
    positions : dict, optional
        1-based position of each column in the file (for messages).

    Returns
    -------
    ColumnPlan
    """
    positions = positions or {c: i + 1 for i, c in enumerate(contents)}
    roles: list[ColumnRole] = []
    excluded: dict[str, str] = {}
    descriptors: list[str] = []
    chosen: list[str] = []
    notes: list[str] = []
    derive_inputs: dict[str, list[str]] = {}
    role_by_col: dict[str, tuple[str, str, str]] = {}
    ignore_set = set(ignore) | {c for c, r in registry.columns.items() if r == IGNORE}

    def add(col: str, role: str, kind: str, direction: str, use: str, reason: str, how: str):
        roles.append(
            ColumnRole(
                column=col,
                role=role,
                kind=kind,
                direction=direction,
                use=use,
                reason=reason,
                matched_by=how,
                position=positions.get(col),
            )
        )
        role_by_col[col] = (role, kind, direction)
        if use == "excluded":
            excluded[col] = reason
        elif use == "descriptor":
            descriptors.append(col)
        elif use == "feature":
            chosen.append(col)

    for col, content in contents.items():
        if col == id_column:
            add(col, "id", "id", "none", "id", "the customer id", "name")
            continue
        if col in not_ids:
            add(col, "id", "id", "none", "excluded", not_ids[col], "name")
            continue
        if col in ignore_set:
            add(col, "ignored", "category", "none", "excluded", "ignored (--ignore)", "user")
            continue
        if _ERROR_HEADER.match(col.strip()):
            add(
                col,
                "error",
                "category",
                "none",
                "excluded",
                f"its header {col!r} is a spreadsheet error, not a column name; name it "
                "in the file or leave it out",
                "name",
            )
            continue
        n = content.n_rows
        if content.numeric is not None:
            n_empty = int(np.isnan(content.numeric).sum())
        else:
            n_empty = int(content.text.isna().sum()) if content.text is not None else n
        role, how, why = assign_role(col, content, registry)
        given = features is not None and col in features
        if role is not None:
            rname, kind, direction, use = role.name, role.kind, role.direction, role.use
        else:
            rname, kind, why2 = content_role(content)
            direction = "none"
            use = "feature" if rname == "number" else "descriptor"
            if rname == "number":
                why = f"{why}; no role recognised from its name"
            del why2
        forced = registry.columns.get(col)
        if forced in ("feature", "descriptor"):
            use, how, why = forced, "user", f"set to {forced} in {registry.source}"
        if n_empty == n:
            add(col, rname, kind, direction, "excluded", "empty in every row", how)
            continue
        if given:
            add(col, rname, kind, direction, "feature", f"{why}; named in --features", "user")
            continue
        if features is not None and use == "feature":
            # --features wins: other columns are described, never clustered on.
            use = "descriptor" if content.numeric is None else "excluded"
            reason = "numeric, not among the chosen features (--features)"
            if use == "descriptor":
                reason = "not among the chosen features (--features)"
            if content.numeric is None and _levels(content) > MAX_CATEGORY_LEVELS:
                use, reason = "excluded", _free_text(content)
            add(col, rname, kind, direction, use, f"{why}; {reason}", how)
            continue
        empty_share = n_empty / max(n, 1)
        if empty_share > MAX_EMPTY_SHARE and use != "derive":
            add(
                col,
                rname,
                kind,
                direction,
                "excluded",
                f"{_pct(empty_share)} of its cells are empty or spreadsheet errors "
                f"(more than {MAX_EMPTY_SHARE:.0%}); fill it in to use it",
                how,
            )
            continue
        if content.numeric is not None:
            present = content.present
            values, counts = np.unique(present, return_counts=True)
            if len(values) == 1:
                add(
                    col,
                    rname,
                    kind,
                    direction,
                    "excluded",
                    f"the same value ({values[0]:g}) in every row",
                    how,
                )
                continue
        if use == "id":
            add(col, rname, kind, direction, "excluded", f"{why}; an id carries no behaviour", how)
            continue
        if role is not None and role.outcome:
            add(
                col,
                rname,
                kind,
                direction,
                "descriptor",
                f"{why}; a target-like outcome: profiled per segment, never clustered on",
                how,
            )
            continue
        if use == "derive":
            derive_inputs.setdefault(rname, []).append(col)
            add(col, rname, kind, direction, "derived-from", why, how)
            continue
        if use == "feature" and content.numeric is None:
            use, why = "descriptor", f"{why}, but its values are text"
        if use == "feature" and role is None and forced is None:
            breaks = counter_breaks(content.numeric)
            if breaks is not None:
                but = f" except at {breaks:,} row{'s' if breaks > 1 else ''}" if breaks else ""
                add(
                    col,
                    "id",
                    "id",
                    "none",
                    "excluded",
                    f"counts the rows ({values[0]:g} to {values[-1]:g}, each row the one "
                    f"before + 1{but}): a row number or an id, not something a customer did; "
                    f"pass --id {col!r} if it is the customer id",
                    "content",
                )
                continue
        if use == "feature":
            top = counts.max() / counts.sum()
            if top >= NEAR_CONSTANT_SHARE:
                add(
                    col,
                    rname,
                    kind,
                    direction,
                    "excluded",
                    f"near-constant: {_pct(top)} of customers have {values[counts.argmax()]:g}, "
                    "so it cannot separate segments",
                    how,
                )
                continue
            add(col, rname, kind, direction, "feature", why, how)
            continue
        if content.numeric is None and _levels(content) > MAX_CATEGORY_LEVELS:
            if rname == "date":
                add(col, rname, kind, direction, "excluded", f"{why}; not a feature", how)
            else:
                add(col, rname, kind, direction, "excluded", _free_text(content), how)
            continue
        add(col, rname, kind, direction, "descriptor", f"{why}; profiled, not clustered on", how)

    derived: dict[str, np.ndarray] = {}
    derived_roles: list[ColumnRole] = []
    recipes: dict[str, dict] = {}
    if features is None:
        _derive(
            contents,
            derive_inputs,
            role_by_col,
            chosen,
            derived,
            derived_roles,
            notes,
            roles,
            recipes,
            today=today,
        )
    # A derivation input that produced nothing is described instead.
    final_roles = []
    for r in roles:
        if r.use == "derived-from" and not any(r.column in n for n in notes):
            r = ColumnRole(**{**r.to_dict(), "use": "descriptor"})
            descriptors.append(r.column)
        final_roles.append(r)
    out_features = tuple(features) if features is not None else tuple(chosen) + tuple(derived)
    return ColumnPlan(
        roles=tuple(final_roles) + tuple(derived_roles),
        features=out_features,
        descriptors=tuple(descriptors),
        excluded=excluded,
        derived=derived,
        notes=tuple(notes),
        recipes=recipes,
    )


def apply_derivations(frame: pd.DataFrame, recipes: dict[str, dict]) -> pd.DataFrame:
    """``frame`` with the derived columns of a saved model added (for assigning new data).

    Each recipe is what :func:`plan_columns` stated when it derived the column: a sum
    of columns, an age from a birth year or months since a date, as of the training
    reference date (so new customers are measured like the old ones).
    """
    from .numbers import coerce_numeric

    missing = [c for c in recipes if c not in frame.columns]
    if not missing:
        return frame
    frame = frame.copy(deep=False)

    def number(col: str) -> np.ndarray:
        if col not in frame.columns:
            return np.full(len(frame), np.nan)
        values, _ = coerce_numeric(frame[col], col, strict=False)
        return values if values is not None else np.full(len(frame), np.nan)

    for name in missing:
        r = recipes[name]
        if "sum" in r:
            frame[name] = np.sum([number(c) for c in r["sum"]], axis=0)
        elif "from_birth_year" in r:
            frame[name] = date.fromisoformat(r["as_of"]).year - number(r["from_birth_year"])
        elif "months_since" in r and r["months_since"] in frame.columns:
            parsed = parse_dates(frame[r["months_since"]].astype(object))
            months = np.full(len(frame), np.nan)
            ok = parsed.notna()
            delta = (pd.Timestamp(r["as_of"]) - parsed[ok]).dt.days / 30.4375
            months[parsed.index[ok]] = delta.round(1).to_numpy()
            frame[name] = months
    return frame


def _levels(content: Content) -> int:
    return 0 if content.text is None else int(content.text.nunique(dropna=True))


def _free_text(content: Content) -> str:
    return f"text with {_levels(content)} distinct values (too many to profile)"


def _derive(
    contents: dict[str, Content],
    inputs: dict[str, list[str]],
    role_by_col: dict[str, tuple[str, str, str]],
    chosen: list[str],
    derived: dict[str, np.ndarray],
    derived_roles: list[ColumnRole],
    notes: list[str],
    roles: list[ColumnRole],
    recipes: dict[str, dict],
    *,
    today: date | None,
) -> None:
    """Age, tenure, total spend and total purchases, when their inputs exist (stated)."""
    have = {role_by_col[c][0] for c in chosen}
    taken = set(contents)

    def name(base: str) -> str:
        return base if base not in taken else f"{base} (derived)"

    def put(
        col: str, values: np.ndarray, role: str, kind: str, direction: str, how: str, recipe: dict
    ):
        derived[col] = values  # a feature, placed after the file's own columns
        recipes[col] = recipe
        derived_roles.append(
            ColumnRole(
                column=col,
                role=role,
                kind=kind,
                direction=direction,
                use="feature",
                reason=how,
                matched_by="derived",
                position=None,
            )
        )
        notes.append(f"derived {col!r}: {how}")

    # The reference date: the latest customer-since date in the table (so a table keeps
    # its ages and tenures whenever it is analysed), else today; stated either way.
    since_cols = inputs.get("customer_since", [])
    since = {c: parse_dates(contents[c].text) for c in since_cols if contents[c].text is not None}
    latest = max((s.max() for s in since.values() if s.notna().any()), default=None)
    if latest is not None and not pd.isna(latest):
        as_of, as_of_why = latest.date(), f"the latest date in {since_cols[0]!r}"
    else:
        as_of, as_of_why = today or date.today(), "today"

    birth = inputs.get("birth_year", [])
    if birth and "age" not in have:
        col = birth[0]
        values = as_of.year - contents[col].numeric  # type: ignore[operator]
        put(
            name("Age"),
            values.astype(np.float64),
            "age",
            "number",
            "none",
            f"{as_of.year} minus {col!r} (age as of {as_of.isoformat()}, {as_of_why})",
            {"from_birth_year": col, "as_of": as_of.isoformat()},
        )
    if since and "tenure" not in have:
        col = since_cols[0]
        parsed = since[col]
        months = np.full(contents[col].n_rows, np.nan)
        stamp = pd.Timestamp(as_of)
        ok = parsed.notna()
        months[parsed.index[ok]] = ((stamp - parsed[ok]).dt.days / 30.4375).round(1).to_numpy()
        put(
            name("Tenure (months)"),
            months,
            "tenure",
            "number",
            "higher",
            f"months from {col!r} to {as_of.isoformat()} ({as_of_why})",
            {"months_since": col, "as_of": as_of.isoformat()},
        )
    for role, base, kind, what in (
        ("category_spend", "Total spend", "amount", "spend"),
        ("channel_purchases", "Total purchases", "count", "frequency"),
    ):
        parts = [c for c in chosen if role_by_col.get(c, ("",))[0] == role]
        if len(parts) >= 2 and what not in have:
            cols = [np.asarray(contents[c].numeric, dtype=np.float64) for c in parts]
            total = np.sum(cols, axis=0)  # a gap in any part stays a gap (filled later)
            put(
                name(base),
                np.asarray(total, dtype=np.float64),
                what,
                kind,
                "higher",
                "sum of " + ", ".join(repr(c) for c in parts),
                {"sum": parts},
            )


def log_features(
    X: np.ndarray, features: tuple[str, ...], kinds: dict[str, str], mode: str
) -> tuple[tuple[bool, ...], dict[str, str]]:
    """Which features the scaler log-transforms, and why (``--transform``).

    ``auto``: amounts (and numbers of unknown role) that are never negative and
    skewed (skewness above :data:`SKEW_LIMIT`); ``log``: every never-negative
    feature; ``none``: nothing.
    """
    flags: list[bool] = []
    why: dict[str, str] = {}
    for j, f in enumerate(features):
        col = X[:, j]
        finite = col[np.isfinite(col)]
        nonneg = len(finite) > 0 and finite.min() >= 0
        reason = log_decision(
            mode,
            kinds.get(f, "number"),
            nonneg=nonneg,
            skew=_skewness(finite),
            n_distinct_first=len(np.unique(finite[:DISTINCT_PROBE])),
        )
        flags.append(reason is not None)
        if reason is not None:
            why[f] = reason
    return tuple(flags), why


#: The first this many values (in row order) tell a continuous amount from a few levels.
DISTINCT_PROBE = 10_000


def log_decision(
    mode: str, kind: str, *, nonneg: bool, skew: float, n_distinct_first: int
) -> str | None:
    """Why ``--transform`` logs a feature, or None: from the feature's kind, whether it is
    never negative, its skewness and the distinct values among its first
    :data:`DISTINCT_PROBE` values (one rule for every engine)."""
    if mode == "log":
        return "log(1 + x) (--transform log)" if nonneg else None
    if (
        mode == "auto"
        and nonneg
        and kind in ("amount", "number")
        and skew > SKEW_LIMIT
        and n_distinct_first > 10
    ):
        return f"log(1 + x): skewed amount (skewness {skew:.1f})"
    return None


def plausible_ranges(roles: tuple[ColumnRole, ...], registry: RoleRegistry) -> dict[str, tuple]:
    """Plausible (low, high) per column, from its role (``plausible`` in the registry)."""
    out = {}
    year = date.today().year
    for r in roles:
        role = registry.get(r.role)
        if role is not None and role.plausible is not None:
            lo, hi = role.plausible
            if r.role == "birth_year" and hi is None:
                hi = year
            out[r.column] = (lo, hi)
    return out


def find_outliers(
    X: np.ndarray,
    features: tuple[str, ...],
    ranges: dict[str, tuple],
    log_flags: tuple[bool, ...],
) -> tuple[np.ndarray, list[str]]:
    """Rows with an implausible or extreme value, and one line per feature saying so.

    Implausible: outside the role's plausible range (an age of 150, a negative
    income). Extreme: beyond :data:`OUTLIER_IQR` interquartile ranges from the
    quartiles, on the scale the clustering uses (after any log transform).
    """
    flagged = np.zeros(len(X), dtype=bool)
    lines: list[str] = []
    for j, f in enumerate(features):
        col = np.asarray(X[:, j], dtype=np.float64)
        ok = np.isfinite(col)
        bad = np.zeros(len(col), dtype=bool)
        lo, hi = ranges.get(f, (None, None))
        if lo is not None:
            bad |= ok & (col < lo)
        if hi is not None:
            bad |= ok & (col > hi)
        if bad.any():
            pos = np.flatnonzero(bad)
            lines.append(implausible_line(f, len(pos), lo, hi, col[pos[0]], pos))
        z = np.sign(col) * np.log1p(np.abs(col)) if log_flags[j] else col
        q1, q3 = np.nanpercentile(z, [25, 75]) if ok.any() else (0.0, 0.0)
        iqr = q3 - q1
        extreme = np.zeros(len(col), dtype=bool)
        if iqr > 0:
            extreme = ok & ((z > q3 + OUTLIER_IQR * iqr) | (z < q1 - OUTLIER_IQR * iqr)) & ~bad
        if extreme.any():
            pos = np.flatnonzero(extreme)
            med = float(np.nanmedian(col))
            lines.append(extreme_line(f, len(pos), col[pos[0]], med, pos))
        flagged |= bad | extreme
    return flagged, lines


def implausible_line(
    feature: str, count: int, lo: float | None, hi: float | None, value: float, positions
) -> str:
    """The flag line for values outside a role's plausible range (first: ``value``)."""
    from .prepare import rows_list, show_value

    return (
        f"{feature!r}: {count} implausible value(s) (outside {_range(lo, hi)}), e.g. "
        f"{show_value(value)} in {rows_list(positions)}"
    )


def extreme_line(feature: str, count: int, value: float, median: float, positions) -> str:
    """The flag line for extreme values (first: ``value``; ``median`` of the feature)."""
    from .prepare import rows_list, show_value

    times = f" ({abs(value / median):,.0f} times the median)" if median else ""
    return (
        f"{feature!r}: {count} extreme value(s), e.g. {show_value(value)}{times} "
        f"in {rows_list(positions)}"
    )


def _range(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"{lo:g}..{hi:g}"
    return f">= {lo:g}" if lo is not None else f"<= {hi:g}"


__all__ = [
    "MAX_EMPTY_SHARE",
    "SPREADSHEET_ERRORS",
    "ColumnPlan",
    "column_label",
    "column_letter",
    "find_outliers",
    "log_features",
    "plan_columns",
    "plausible_ranges",
]
