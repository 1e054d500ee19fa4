"""custseg's cache folder: compiled passes and report templates kept between runs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_dir() -> Path | None:
    """Where compiled passes and compiled report templates are kept between runs:
    ``$CUSTSEG_CACHE_DIR``, else the user's cache folder (``$XDG_CACHE_HOME/custseg`` or
    ``~/.cache/custseg``), else a private folder in the temporary directory; None when
    none can be used (they are then compiled in every run).

    The folder holds code that is run (generated source, Numba's cached machine code,
    Jinja2's template bytecode), so a folder is used only if it belongs to this user and
    nobody else may write to it.
    """
    env = os.environ.get("CUSTSEG_CACHE_DIR")
    if env:
        candidates = [Path(env)]
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        candidates = [Path(xdg) / "custseg", Path(tempfile.gettempdir()) / f"custseg-{os.getuid()}"]
    for folder in candidates:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = folder.stat()
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                continue
            probe = folder / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
            return folder
        except OSError:
            continue
    return None
