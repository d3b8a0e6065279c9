"""The one place where numba options and kernel threading live.

- ``cache=True``: compiled kernels are written next to the sources, so only the first run pays.
- No ``fastmath``: it allows the compiler to assume there is no NaN or inf, and the kernels rely on
  +-inf as the "too few calibration points" answer.
- ``nogil=True`` and no ``parallel=True``: the kernels are serial functions of a range of rows
  (``worker(*args, begin, end)``, each row written by one call), and :func:`parallel_rows` runs
  the ranges on threads. Numba's own ``prange`` would do the same work, but lowering a ``prange``
  loop compiles an extra gufunc around the body and optimises every callee once more: 1.5 to 2 s
  of CPU per kernel on a user's first call, against nothing for threads (see
  ``benchmarks/results/cold_start.md``).

Nothing here compiles or starts a thread at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba

SERIAL = {"cache": True, "nogil": True}


def jit(func):
    """Compile ``func`` lazily (on its first call) with the package's options."""
    return numba.njit(**SERIAL)(func)


_pool: ThreadPoolExecutor | None = None
_pool_owner = -1  # pid that created the pool: a forked child makes its own
_pool_lock = threading.Lock()


def n_threads() -> int:
    """Threads the kernels may use: numba's setting, so that ``NUMBA_NUM_THREADS`` and
    ``numba.set_num_threads`` (once numba's threading layer is running) limit them too."""
    from numba.np.ufunc import parallel

    if parallel._is_initialized:  # reading it otherwise would start numba's idle thread pool
        return int(numba.get_num_threads())
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_owner
    with _pool_lock:
        if _pool is None or _pool_owner != os.getpid() or _pool._max_workers < workers:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="conformal-kernel")
            _pool_owner = os.getpid()
        return _pool


def parallel_rows(worker: Callable[..., Any], n_rows: int, args: tuple, min_rows: int) -> None:
    """Call ``worker(*args, begin, end)`` on consecutive ranges covering ``[0, n_rows)``.

    One range per thread (as numba's static ``prange`` schedule), none smaller than ``min_rows``:
    below ``2 * min_rows`` rows, or with one thread, the calling thread does everything. The
    first range runs in the calling thread, the others on a pool created on first use; the
    worker releases the GIL (``nogil=True``), so they run concurrently. A worker compiled by
    none of them yet compiles once (numba's compiler lock), then all run.
    """
    parts = min(n_threads(), n_rows // max(min_rows, 1))
    if parts <= 1:
        worker(*args, 0, n_rows)
        return
    bounds = [n_rows * p // parts for p in range(parts + 1)]
    pool = _executor(parts - 1)
    futures = [pool.submit(worker, *args, bounds[p], bounds[p + 1]) for p in range(1, parts)]
    try:
        worker(*args, bounds[0], bounds[1])
    finally:
        for future in futures:
            future.result()
