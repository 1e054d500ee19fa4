"""Options of a segmentation run, validated once at the boundary.

This is the one list of options. Each field of :class:`SegmentationConfig`
carries its help text, its choices and how each front end shows it
(:class:`Option`, in the field's metadata); from it are generated the options
of ``custseg segment`` (:mod:`custseg.cli.options`), the parameters of
:class:`~custseg.segmenter.Segmenter` and the web app's form
(:mod:`custseg.app.form`). Adding an option is adding one field here.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

from .errors import ConfigError

# The allowed values of each option with choices; the Literal types say the same to a
# type checker (``get_args`` keeps the two one definition).
Method = Literal["kmeans", "hierarchical"]
Scale = Literal["standard", "minmax", "robust", "none"]
Missing = Literal["auto", "drop", "impute", "error"]
Linkage = Literal["ward", "complete", "average", "single"]
KRule = Literal[
    "auto",
    "combined",
    "elbow",
    "dendrogram",
    "silhouette",
    "calinski",
    "davies",
    "gap",
    "stability",
    "consensus",
]

METHODS: tuple[str, ...] = get_args(Method)
SCALES: tuple[str, ...] = get_args(Scale)
MISSING: tuple[str, ...] = get_args(Missing)
TRANSFORMS = ("auto", "none", "log")
OUTLIERS = ("flag", "keep", "exclude")
ENGINES = ("local", "spark")
LINKAGES: tuple[str, ...] = get_args(Linkage)
K_RULES: tuple[str, ...] = get_args(KRule)


@dataclass(frozen=True)
class AppField:
    """How the web app's form shows an option.

    ``choice_labels`` maps each choice to the words the form shows;
    ``widget`` is ``"select"`` (choices), ``"count"`` (a whole number where 0
    means "not set"), ``"features"`` or ``"id_column"`` (lists of the
    uploaded table's columns).
    """

    label: str
    widget: Literal["select", "count", "features", "id_column"] = "select"
    help: str | None = None
    choice_labels: Mapping[str, str] | None = None
    step: int = 1


@dataclass(frozen=True)
class Option:
    """What every front end needs to know about one field of :class:`SegmentationConfig`.

    Parameters
    ----------
    help : str
        One sentence for ``--help``, the estimator's docstring and the form.
    choices : tuple of str, optional
        The allowed values (checked in ``__post_init__``).
    flag : str, optional
        The CLI flag (default: ``--`` and the field name with dashes).
    short : str, optional
        A one-letter CLI alias, e.g. ``"-f"``.
    param : str, optional
        The estimator's parameter name (default: the field name;
        ``seed`` is scikit-learn's ``random_state``).
    kind : {"value", "path", "names"}
        How the CLI reads it: a plain value, a file path, or column names
        (comma-separated, repeatable).
    app : AppField or None
        The form field of the web app, or None when the app sets the option
        another way or not at all (``app_reason`` says which).
    """

    help: str
    choices: tuple[str, ...] | None = None
    flag: str | None = None
    short: str | None = None
    param: str | None = None
    kind: Literal["value", "path", "names"] = "value"
    app: AppField | None = None
    app_reason: str | None = None


def option(default: Any, **spec: Any) -> Any:
    """A dataclass field with an :class:`Option` in its metadata."""
    return field(default=default, metadata={"option": Option(**spec)})


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


NO_FORM_K = "the app sets k with its slider, after the automatic run"
NO_FORM_SEARCH = "the app keeps the default search range and rule"


@dataclass(frozen=True)
class SegmentationConfig:
    """Every option of a run; recorded verbatim in ``segments.json`` and ``model.json``.

    Each field's meaning is its ``help`` (see :func:`config_options`); in
    short: ``k`` is a number of segments or ``"auto"`` to choose it over
    ``k_min..k_max`` with ``k_rule``; ``features=None`` means every numeric
    column but the id; ``previous`` is an earlier ``model.json`` whose ids and
    names persisting segments keep (see :mod:`custseg.model.identity`).
    """

    method: str = option(
        "kmeans",
        help="Clustering method.",
        choices=METHODS,
        app=AppField(
            "Method",
            choice_labels={"kmeans": "k-means", "hierarchical": "hierarchical (agglomerative)"},
        ),
    )
    k: int | str = option("auto", help="Number of segments, or 'auto'.", app_reason=NO_FORM_K)
    k_min: int = option(2, help="Smallest k compared when k is 'auto'.", app_reason=NO_FORM_SEARCH)
    k_max: int = option(10, help="Largest k compared when k is 'auto'.", app_reason=NO_FORM_SEARCH)
    k_rule: str = option(
        "auto",
        help="How --k auto chooses (auto: for k-means combined, the best total rank over "
        "silhouette, Calinski-Harabasz, Davies-Bouldin, gap statistic and stability; for "
        "hierarchical the dendrogram's largest gap).",
        choices=K_RULES,
        app_reason=NO_FORM_SEARCH,
    )
    scale: str = option(
        "standard",
        help="How features are scaled before clustering.",
        choices=SCALES,
        app=AppField(
            "Scaling",
            choice_labels={
                "standard": "standardise (mean 0, sd 1)",
                "minmax": "min-max (0 to 1)",
                "robust": "robust (median, IQR)",
                "none": "none (original units)",
            },
        ),
    )
    missing: str = option(
        "auto",
        help="Missing feature values. auto: fill a column's few gaps with its median "
        "(flagged per row); a column over 30% empty leaves those rows out.",
        choices=MISSING,
        app=AppField(
            "Customers with empty values",
            choice_labels={
                "auto": "fill a few gaps with the median, leave out rows of mostly-empty columns",
                "drop": "leave those customers out",
                "impute": "fill with the column median",
                "error": "stop with an error",
            },
        ),
    )
    linkage: str = option(
        "ward",
        help="Hierarchical linkage.",
        choices=LINKAGES,
        app=AppField("Linkage (hierarchical only)"),
    )
    features: tuple[str, ...] | None = option(
        None,
        help="Columns to cluster on, comma-separated; may be repeated. A name with a comma "
        "goes in double quotes: -f '\"Income, net (k$)\",Age'. "
        "Default: the behaviour and value columns, by column role (see --roles).",
        short="-f",
        kind="names",
        app=AppField(
            "Features to cluster on",
            widget="features",
            help="Default: the behaviour and value columns, by column role, as in the "
            "command line.",
        ),
    )
    id_column: str | None = option(
        None,
        help="Id column (default: detected).",
        flag="--id",
        app=AppField("Id column", "id_column"),
    )
    seed: int = option(
        0,
        help="Random seed: the same seed gives the same segments.",
        param="random_state",
        app_reason="the app always uses seed 0, so a table gives the same segments every time",
    )
    n_init: int = option(
        10, help="k-means restarts.", app_reason="the app keeps the default restarts"
    )
    engine: str = option(
        "local",
        help="Compute engine: local (this computer) or spark (a Parquet or CSV path read by "
        'Spark; needs pip install "custseg[spark]").',
        choices=ENGINES,
        app_reason="the app runs on this computer only",
    )
    sample: int | None = option(
        None,
        help="Segment a random sample of this many customers (quick exploration).",
        app=AppField(
            "Quick look: segment a random sample of (0 = everyone)",
            widget="count",
            help="For large tables: the customers outside the sample are left out of the "
            "result, as with --sample on the command line.",
            step=1000,
        ),
    )
    playbook: str | None = option(
        None,
        help="YAML playbook replacing the default recommendations.",
        kind="path",
        app_reason="the app uses the default playbook; its actions are edited on the page",
    )
    previous: str | None = option(
        None,
        help="A previous model.json: segments that persist keep its ids and names; "
        "new and vanished segments and customer moves are reported.",
        kind="path",
        app_reason="the app segments one table at a time",
    )

    roles: str | dict | None = option(  # noqa: RUF009 (a field spec, not a default)
        None,
        help="YAML file of column roles extending the built-in registry "
        "(e.g. columns: {Fresh: category_spend}).",
        kind="path",
        app_reason="the app sets roles in its columns table (the role column)",
    )
    ignore: tuple[str, ...] | None = option(
        None,
        help="Columns to leave out of everything, comma-separated; may be repeated.",
        kind="names",
        app_reason="the app's feature list already leaves columns out",
    )
    transform: str = option(
        "auto",
        help="auto: log-transform skewed amounts before scaling; log: every non-negative "
        "feature; none: as they are.",
        choices=TRANSFORMS,
        # Segmenter.transform is scikit-learn's method (distances to the centres).
        param="feature_transform",
        app_reason="the app keeps the automatic transform, stated in the report",
    )
    outliers: str = option(
        "flag",
        help="Customers with implausible or extreme values: flag = kept out of fitting the "
        "centres, assigned and marked atypical; keep = fitted like anyone; exclude = left out.",
        choices=OUTLIERS,
        app_reason="the app flags outliers as the command line does by default",
    )

    def __post_init__(self) -> None:
        for name, opt, _ in config_options():
            if opt.choices is not None:
                _choice(name, getattr(self, name), opt.choices)
        if self.ignore is not None:
            object.__setattr__(self, "ignore", tuple(self.ignore) or None)
        if isinstance(self.k, str) and self.k != "auto":
            try:
                object.__setattr__(self, "k", int(self.k))
            except ValueError:
                raise ConfigError(
                    f"k={self.k!r} is neither 'auto' nor a whole number; use e.g. --k 5"
                ) from None
        if isinstance(self.k, bool) or (not isinstance(self.k, (int, str))):
            raise ConfigError(f"k={self.k!r} is neither 'auto' nor a whole number")
        if isinstance(self.k, int) and self.k < 1:
            raise ConfigError(f"k={self.k} must be at least 1")
        if self.k_min < 2:
            raise ConfigError(f"k_min={self.k_min} must be at least 2")
        if self.k_max < self.k_min:
            raise ConfigError(f"k_max={self.k_max} is smaller than k_min={self.k_min}")
        if self.n_init < 1:
            raise ConfigError(f"n_init={self.n_init} must be at least 1")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise ConfigError(f"seed={self.seed!r} must be a whole number from 0 to {2**32 - 1}")
        if not 0 <= self.seed < 2**32:  # what numpy and scikit-learn accept as a seed
            raise ConfigError(f"seed={self.seed} must be a whole number from 0 to {2**32 - 1}")
        if self.sample is not None and self.sample < 2:
            raise ConfigError(f"sample={self.sample} must be at least 2 customers")
        if self.k_rule == "dendrogram" and self.method != "hierarchical":
            raise ConfigError(
                "k_rule='dendrogram' reads the hierarchical tree; use it with "
                "method='hierarchical' or pick another rule"
            )
        if self.features is not None:
            object.__setattr__(self, "features", tuple(self.features))
            if not self.features:
                raise ConfigError("features is empty; name at least one column")
            dupes = sorted({f for f in self.features if self.features.count(f) > 1})
            if dupes:
                raise ConfigError(f"feature {dupes[0]!r} is named twice in features")

    @property
    def resolved_k_rule(self) -> str:
        """The rule actually used when ``k_rule='auto'``."""
        if self.k_rule != "auto":
            return self.k_rule
        # Ward's tree is cut at its largest gap, as the founding analysis did (the
        # reference data's README); k-means uses the combined rule.
        return "dendrogram" if self.method == "hierarchical" else "combined"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["features"] = list(self.features) if self.features is not None else None
        if d["previous"] is None:
            del d["previous"]  # fresh runs record the same config as before --previous existed
        else:
            d["previous"] = str(d["previous"])
        d["ignore"] = list(self.ignore) if self.ignore else None
        if self.roles is not None and not isinstance(self.roles, dict):
            d["roles"] = str(self.roles)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SegmentationConfig:
        d = dict(d)
        if d.get("features") is not None:
            d["features"] = tuple(d["features"])
        if d.get("ignore") is not None:
            d["ignore"] = tuple(d["ignore"])
        return cls(**d)


def config_options() -> Iterator[tuple[str, Option, Any]]:
    """``(field name, Option, default)`` of every option, in the order of the fields."""
    for f in fields(SegmentationConfig):
        yield f.name, option_of(f.name), f.default


def option_of(name: str) -> Option:
    """The :class:`Option` of one config field.

    A field declared without :func:`option` gets one without help, so that it
    still reaches every front end and ``tests/test_options.py`` says what is missing.
    """
    found = SegmentationConfig.__dataclass_fields__[name].metadata.get("option")
    return found if found is not None else Option(help="", app_reason="not described yet")


def estimator_param(name: str) -> str:
    """The :class:`~custseg.segmenter.Segmenter` parameter of a config field."""
    return option_of(name).param or name
