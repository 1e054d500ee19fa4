"""Clustering maths: k-means and hierarchical (agglomerative) trees, as functions."""

from .hierarchical import cut_tree, linkage_tree, merge_gaps, ward_tree
from .kmeans import KMeansFit, kmeans

__all__ = ["KMeansFit", "cut_tree", "kmeans", "linkage_tree", "merge_gaps", "ward_tree"]
