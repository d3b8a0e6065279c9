"""Rounding interval bounds outward: the single-ulp steps of :mod:`conformal._outward`, compiled.

For each finite bound, the next float outward (``np.nextafter`` towards ``-inf`` for a lower
bound, ``+inf`` for an upper one) is scored with the score's own float64 expression; while it is
still at most the threshold the bound moves there, up to ``max_steps`` times. Bounds still moving
after that (long runs of floats sharing one score, near 0) are flagged for the caller's closed
form and search. The score is chosen by a code, not a Python function (kernels take arrays):

- 0: ``|y - lo|``          (absolute)
- 1: ``|y - lo| / s``      (normalized, gamma with ``s = |f|``)
- 2: ``lo - y``            (lower side of signed / asymmetric CQR)
- 3: ``y - hi``            (upper side of signed / asymmetric CQR)
- 4: ``max(lo - y, y - hi)`` (CQR)

The expressions are those of :mod:`conformal._outward` operation for operation (IEEE float64,
no fastmath), so both paths move every bound to the same float; a test checks it.
"""

from __future__ import annotations

import numpy as np

from ._config import jit, parallel_rows

__all__ = ["round_outward_steps"]

_ROWS = 32768  # rows per thread below which one thread does everything


@jit
def _side_score(kind, y, lo, hi, s):  # pragma: no cover - compiled
    if kind == 0:
        return abs(y - lo)
    if kind == 1:
        return abs(y - lo) / s
    if kind == 2:
        return lo - y
    if kind == 3:
        return y - hi
    return max(lo - y, y - hi)


@jit
def _next_float(x, up, scratch, bits):  # pragma: no cover - compiled
    """The next float after finite ``x`` towards ``+inf`` (``up``) or ``-inf``, on its bit
    pattern (``scratch`` float64 (1,) and ``bits`` its int64 view): libm's nextafter is a call
    per element, this a few integer operations."""
    if x == 0.0:
        return 5e-324 if up else -5e-324
    scratch[0] = x
    b = bits[0]
    # the int64 view of a float grows with its magnitude, positive or negative: moving away
    # from zero is +1 on the pattern, towards zero -1
    bits[0] = b + 1 if (b >= 0) == up else b - 1
    return scratch[0]


@jit
def _round_rows(
    out, side, q, kind, lo, hi, scale, max_steps, unfinished, begin, end
):  # pragma: no cover - compiled
    n_levels = out.shape[1]
    q_step = 1 if q.shape[0] > 1 else 0
    s_step = 1 if scale.shape[0] > 1 else 0
    up = side == 1
    scratch = np.empty(1, dtype=np.float64)
    bits = scratch.view(np.int64)
    for i in range(begin, end):
        s = scale[i * s_step]
        for t in range(n_levels):
            bound = out[i, t, side]
            if not np.isfinite(bound):
                continue
            threshold = q[i * q_step, t]
            moved = 0
            while moved < max_steps:
                beyond = _next_float(bound, up, scratch, bits)
                if not _side_score(kind, beyond, lo[i], hi[i], s) <= threshold:
                    break
                bound = beyond
                moved += 1
            if moved == max_steps:
                beyond = _next_float(bound, up, scratch, bits)
                if _side_score(kind, beyond, lo[i], hi[i], s) <= threshold:
                    unfinished[i, t] = True
            out[i, t, side] = bound


def round_outward_steps(
    out: np.ndarray,
    side: int,
    q: np.ndarray,
    kind: int,
    lo: np.ndarray,
    hi: np.ndarray,
    scale: np.ndarray,
    max_steps: int,
) -> np.ndarray:
    """Move the bounds ``out[..., side]`` outward in place, one ulp at a time.

    Parameters
    ----------
    out : float64 (n, L, 2)
        Intervals, written in place (side 0: lower bounds, side 1: upper bounds).
    side : int
        0 or 1.
    q : float64 (1, L) or (n, L)
        The threshold of that side, shared or per test point.
    kind : int
        The side's score (see the module).
    lo, hi : float64 (n,)
        Centres (the same array for a point prediction).
    scale : float64 (1,) or (n,)
        Divisor of kind 1 (ignored by the others).
    max_steps : int
        Steps per bound before it is left to the caller.

    Returns
    -------
    bool (n, L)
        True where the bound moved ``max_steps`` times and its next float is still inside: a
        long run, finished by the caller. O(n L) time in the usual case (a bound moves 0, 1 or
        2 ulps), rows on threads.
    """
    unfinished = np.zeros(out.shape[:2], dtype=np.bool_)
    args = (out, int(side), q, int(kind), lo, hi, scale, int(max_steps), unfinished)
    parallel_rows(_round_rows, out.shape[0], args, _ROWS)
    return unfinished
