"""custseg: customer segmentation end to end.

Load and validate a customer table, scale features, cluster with k-means or
hierarchical clustering, choose the number of segments with evidence, name each
segment in business words and recommend an action for it.

>>> from custseg import Segmenter, make_customers
>>> seg = Segmenter(random_state=0).fit(make_customers(300))
>>> [s.name for s in seg.result_.segments][:2]  # doctest: +SKIP
['Average Annual Income · Average Spending Score', 'High Annual Income · High Spending Score']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .config import SegmentationConfig
from .data.demo import make_customers
from .data.loading import load_table
from .errors import (
    ConfigError,
    CustsegError,
    DataError,
    ModelError,
    OutputError,
    SegmentationWarning,
)
from .model import SegmentModel, load_model
from .outputs import write_results
from .pipeline import segment
from .results import KCandidate, KSelection, Segment, SegmentationResult
from .rfm import RFMResult, rfm  # custseg.rfm(...) is the function; its package: custseg.rfm.*

if TYPE_CHECKING:
    from .not_fitted import NotFittedError
    from .segmenter import Segmenter

__all__ = [
    "ConfigError",
    "CustsegError",
    "DataError",
    "KCandidate",
    "KSelection",
    "ModelError",
    "NotFittedError",
    "OutputError",
    "RFMResult",
    "Segment",
    "SegmentModel",
    "SegmentationConfig",
    "SegmentationResult",
    "SegmentationWarning",
    "Segmenter",
    "__version__",
    "load_model",
    "load_table",
    "make_customers",
    "rfm",
    "segment",
    "write_results",
]


def __getattr__(name: str) -> Any:
    # The estimator and its NotFittedError subclass scikit-learn's classes, whose import
    # takes about a second: `import custseg` (and so the command line) does not pay it.
    if name == "Segmenter":
        from .segmenter import Segmenter

        return Segmenter
    if name == "NotFittedError":
        from .not_fitted import NotFittedError

        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
