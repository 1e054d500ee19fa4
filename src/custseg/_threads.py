"""How many threads custseg's own parallel loops use (the compiled passes, profiles)."""

from __future__ import annotations

import os


def n_threads() -> int:
    """The CPUs this process may use, capped by OMP_NUM_THREADS (the limit users already
    set for scikit-learn and BLAS)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    limit = os.environ.get("OMP_NUM_THREADS", "")
    if limit.strip().isdigit() and int(limit) > 0:
        cpus = min(cpus, int(limit))
    return max(1, cpus)
