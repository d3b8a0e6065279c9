"""The one place where numba options live.

- ``cache=True``: compiled kernels are written next to the sources, so only the first run pays.
- No ``fastmath``: it allows the compiler to assume there is no NaN or inf, and the kernels rely on
  +-inf as the "too few calibration points" answer.
- ``parallel=True`` only for kernels whose ``prange`` iterations each write their own output slice.
"""

from __future__ import annotations

import numba

SERIAL = {"cache": True, "nogil": True}
PARALLEL = {"cache": True, "nogil": True, "parallel": True}


def jit(func):
    """Compile ``func`` lazily with the package's serial options."""
    return numba.njit(**SERIAL)(func)


def jit_parallel(func):
    """Compile ``func`` lazily with the package's parallel options (``prange`` loops)."""
    return numba.njit(**PARALLEL)(func)
