"""Describe each segment in business words: sizes, profiles, levels and names."""

from .levels import LEVEL_RULE, Level, column_base, infer_kind, segment_level
from .naming import display_name, name_segments
from .profile import SegmentProfile, profile_segments

__all__ = [
    "LEVEL_RULE",
    "Level",
    "SegmentProfile",
    "column_base",
    "display_name",
    "infer_kind",
    "name_segments",
    "profile_segments",
    "segment_level",
]
