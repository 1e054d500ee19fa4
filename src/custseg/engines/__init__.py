"""Engines run the heavy steps; the pipeline calls one seam, :class:`Engine`.

Engines register themselves by name. ``local`` (NumPy, scikit-learn, SciPy) is
the default; a distributed engine registers under its own name in its own
module, and its absence only matters when it is asked for.
"""

from .base import Engine, MicroClusters, available_engines, get_engine, register_engine

__all__ = ["Engine", "MicroClusters", "available_engines", "get_engine", "register_engine"]
