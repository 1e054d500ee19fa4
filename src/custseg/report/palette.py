"""A colour-blind-safe palette (Okabe & Ito, 2008), cycled for more segments."""

OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)


def segment_colour(segment_id: int) -> str:
    """Colour of segment ``segment_id`` (1-based)."""
    return OKABE_ITO[(segment_id - 1) % len(OKABE_ITO)]
