"""Numba-compiled kernels (private).

Everything here takes plain contiguous ``float64`` / ``int64`` arrays prepared by the Python
caller. Kernels compile lazily on first call (nothing compiles at import time) and are cached on
disk (``cache=True``); their options come from :mod:`conformal._kernels._config` only. The
compiled functions are serial and release the GIL; a public kernel is a Python function that
runs them on ranges of rows in threads (:func:`conformal._kernels._config.parallel_rows`), so
that a user's first call pays no ``parallel=True`` compilation (``benchmarks/cold_start.py``).
"""
