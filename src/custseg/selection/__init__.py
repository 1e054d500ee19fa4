"""Choosing the number of segments with evidence: elbow, dendrogram gap, indices."""

from .indices import quality_indices
from .knee import find_elbow
from .rules import INDEX_LABELS, choose_k

__all__ = ["INDEX_LABELS", "choose_k", "find_elbow", "quality_indices"]
