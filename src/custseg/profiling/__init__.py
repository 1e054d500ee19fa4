"""Describe each segment in business words: sizes, profiles, levels and names."""

from .naming import display_name, name_segments
from .profile import LEVEL_RULE, SegmentProfile, level_of, profile_segments

__all__ = [
    "LEVEL_RULE",
    "SegmentProfile",
    "display_name",
    "level_of",
    "name_segments",
    "profile_segments",
]
