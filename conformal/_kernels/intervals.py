"""Writing intervals: ``[lo(x) - q_lo * s(x), hi(x) + q_hi * s(x)]`` for every test point and level.

The output ``(n, L, 2)`` is the largest array a conformal regressor builds (48 MB at a million test
points and three levels); NumPy builds it in three passes (two temporaries and a stack), this
kernel in one, rows on threads.
"""

from __future__ import annotations

import numpy as np

from ._config import jit, parallel_rows

_ROWS = 65536  # rows per thread below which one thread writes everything


@jit
def _fill_rows(lo, hi, q_lo, q_hi, scale, out, begin, end):  # pragma: no cover - compiled
    n_levels = q_lo.shape[1]
    # Row strides of 0 broadcast a single row; integer arithmetic keeps numba's types simple.
    q_step = 1 if q_lo.shape[0] > 1 else 0
    s_step = 1 if scale.shape[0] > 1 else 0
    for i in range(begin, end):
        r = i * q_step
        s = scale[i * s_step]
        for t in range(n_levels):
            out[i, t, 0] = lo[i] - q_lo[r, t] * s
            out[i, t, 1] = hi[i] + q_hi[r, t] * s


def fill_intervals(
    lo: np.ndarray,
    hi: np.ndarray,
    q_lo: np.ndarray,
    q_hi: np.ndarray,
    scale: np.ndarray,
    out: np.ndarray,
) -> None:
    """Write ``out[i, l] = [lo[i] - q_lo[r, l] * s, hi[i] + q_hi[r, l] * s]``.

    Parameters
    ----------
    lo, hi : float64 (n,)
        Lower and upper centres (the same array for a point prediction).
    q_lo, q_hi : float64 (1, L) or (n, L)
        Thresholds per level, shared by all test points (one row) or one row per test point.
    scale : float64 (1,) or (n,)
        Multiplier of the thresholds, shared or per test point.
    out : float64 (n, L, 2)
        Written in place. Allocate it with NumPy: its allocator asks the kernel for transparent
        huge pages on large arrays, numba's does not, and the page faults of a fresh 48 MB array
        then cost four times the arithmetic. ``+-inf`` thresholds give ``-+inf`` bounds,
        whatever the (finite, positive) scale. O(n L), rows on threads.
    """
    parallel_rows(_fill_rows, lo.shape[0], (lo, hi, q_lo, q_hi, scale, out), _ROWS)
