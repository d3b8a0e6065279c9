"""Numba-compiled kernels (private).

Everything here takes plain contiguous ``float64`` / ``int64`` arrays prepared by the Python
caller. Kernels compile lazily on first call (nothing compiles at import time) and are cached on
disk (``cache=True``); their options come from :mod:`conformal._kernels._config` only.
"""
