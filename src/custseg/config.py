"""Options of a segmentation run, validated once at the boundary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .errors import ConfigError

Method = Literal["kmeans", "hierarchical"]
Scale = Literal["standard", "minmax", "robust", "none"]
Missing = Literal["drop", "impute", "error"]
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

METHODS = ("kmeans", "hierarchical")
SCALES = ("standard", "minmax", "robust", "none")
MISSING = ("drop", "impute", "error")
LINKAGES = ("ward", "complete", "average", "single")
K_RULES = (
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
)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


@dataclass(frozen=True)
class SegmentationConfig:
    """Every option of a run; recorded verbatim in ``segments.json`` and ``model.json``.

    Parameters
    ----------
    method : {"kmeans", "hierarchical"}
    k : int or "auto"
        Number of segments, or ``"auto"`` to choose it over ``k_min..k_max``.
    k_rule : str
        How ``k="auto"`` chooses: ``"auto"`` is ``"combined"`` (the best total
        rank over silhouette, Calinski–Harabasz, Davies–Bouldin, gap statistic and
        bootstrap stability, never a segment below 1% / 10 customers); the elbow,
        the dendrogram gap and each index alone remain available.
    features : tuple of str or None
        Columns to cluster on; ``None`` means every numeric column but the id.
    previous : str or None
        A previous ``model.json``: segments that persist keep its ids and names
        (see :mod:`custseg.identity`).
    """

    method: str = "kmeans"
    k: int | str = "auto"
    k_min: int = 2
    k_max: int = 10
    k_rule: str = "auto"
    scale: str = "standard"
    missing: str = "drop"
    linkage: str = "ward"
    features: tuple[str, ...] | None = None
    id_column: str | None = None
    seed: int = 0
    n_init: int = 10
    engine: str = "local"
    sample: int | None = None
    playbook: str | None = field(default=None)
    previous: str | None = None

    def __post_init__(self) -> None:
        _choice("method", self.method, METHODS)
        _choice("scale", self.scale, SCALES)
        _choice("missing", self.missing, MISSING)
        _choice("linkage", self.linkage, LINKAGES)
        _choice("k_rule", self.k_rule, K_RULES)
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
        return "combined" if self.k_rule == "auto" else self.k_rule

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["features"] = list(self.features) if self.features is not None else None
        if d["previous"] is None:
            del d["previous"]  # fresh runs record the same config as before --previous existed
        else:
            d["previous"] = str(d["previous"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SegmentationConfig:
        return cls(**d)
