"""Engines run the heavy steps; the pipeline calls one seam, :class:`Engine`.

Engines register themselves by name. ``local`` (NumPy, scikit-learn, SciPy) is
the default; a distributed engine registers under its own name in its own
module, and its absence only matters when it is asked for.

The data seam (:mod:`custseg.engines.contract`) hands engines a handle to the customers
instead of an array: ``local`` (:mod:`~custseg.engines.local_data`) and ``spark``
(:mod:`~custseg.engines.spark`) implement it; the pipeline moves onto it next.
"""

from .base import Engine, MicroClusters, available_engines, get_engine, register_engine
from .contract import (
    CustomerData,
    DataEngine,
    data_engines,
    get_data_engine,
    register_data_engine,
)

__all__ = [
    "CustomerData",
    "DataEngine",
    "Engine",
    "MicroClusters",
    "available_engines",
    "data_engines",
    "get_data_engine",
    "get_engine",
    "register_data_engine",
    "register_engine",
]
