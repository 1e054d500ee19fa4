"""The web app: a thin Streamlit interface over the same pipeline, model and plots.

Nothing here computes segments. :mod:`custseg.app.launch` starts the server
(``custseg app``), :mod:`custseg.app.streamlit_app` is the page, and the small
modules beside it turn a user's edits and downloads into library calls. Streamlit
is an optional extra (``pip install "custseg[app]"``) and is imported only by
the page and the launcher.
"""

from __future__ import annotations

from .edits import SegmentEdit, apply_edits

__all__ = ["SegmentEdit", "apply_edits"]
