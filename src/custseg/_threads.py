"""How many threads custseg's own parallel loops use (the compiled passes, profiles)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


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


_PREFIX = "custseg-pool"
_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def shared_pool() -> ThreadPoolExecutor:
    """One pool of :func:`n_threads` workers for the whole process, made on first use.

    The small fits of the evidence run their restarts on threads hundreds of times per
    run; starting threads for each costs more than the fit (on a busy machine most of
    it). The pool is made again in a forked child, whose copy has no threads.
    """
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(n_threads(), thread_name_prefix=_PREFIX))
        return _pool[1]


def pool_map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]`` on :func:`shared_pool`, in order; in the caller's thread
    when it is one of the pool's own (a task waiting on tasks of a full pool would wait
    for ever). Each item is handed to the pool as ``items`` yields it: a generator's work
    overlaps the tasks already running."""
    if threading.current_thread().name.startswith(_PREFIX):
        return [fn(x) for x in items]
    return list(shared_pool().map(fn, items))


_controller_lock = threading.Lock()
_controller = None


def one_blas_thread():  # type: ignore[no-untyped-def]
    """Context manager: NumPy's BLAS (and OpenMP) on one thread while it is open.

    ``threadpoolctl.threadpool_limits`` looks up the loaded libraries each time it is
    called (it reads the process's memory map: about a millisecond), and the evidence
    opens this around a hundred small fits per run. The libraries are looked up once
    here, at first use: NumPy's BLAS, the one these blocks call, is loaded by then.
    """
    global _controller
    with _controller_lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
    return _controller.limit(limits=1)
