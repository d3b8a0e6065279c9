"""Rounding interval bounds outward: the single-ulp steps of :mod:`conformal._outward`, compiled.

For each finite bound, the next float outward (``np.nextafter`` towards ``-inf`` for a lower
bound, ``+inf`` for an upper one) is scored with the score's own float64 expression; while it is
still at most the threshold the bound moves there, up to ``max_steps`` times. A bound still
moving after that (a long run of floats sharing one score, near 0) is finished in closed
form, or where that does not hold by doubling and bisection on the floats' ordered integer
keys. The score is chosen by a code, not a Python
function (kernels take arrays):

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
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from ._config import jit, parallel_rows

__all__ = ["round_outward"]

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


@intrinsic
def _bits(typingctx, x):  # pragma: no cover - compiled
    """The IEEE bit pattern of a float64 as an int64: one LLVM bitcast, no memory."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _float(typingctx, b):  # pragma: no cover - compiled
    """The float64 whose bit pattern is the int64 ``b``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@jit
def _next_float(x, up):  # pragma: no cover - compiled
    """The next float after finite ``x`` towards ``+inf`` (``up``) or ``-inf``, on its bit
    pattern: libm's nextafter is a call per element, this two integer operations."""
    if x == 0.0:
        return 5e-324 if up else -5e-324
    b = _bits(x)
    # the int64 view of a float grows with its magnitude, positive or negative: moving away
    # from zero is +1 on the pattern, towards zero -1
    return _float(b + 1 if (b >= 0) == up else b - 1)


_SIGN = np.int64(-(2**63))
_INF_KEY = np.int64(0x7FF0000000000000)  # the key of +inf (-_INF_KEY: of -inf)


@jit
def _key(x):  # pragma: no cover - compiled
    """An int64 that orders like the float ``x`` (-0.0 and +0.0 share 0): one ulp is one."""
    b = _bits(x)
    return b if b >= 0 else _SIGN - b


@jit
def _from_key(k):  # pragma: no cover - compiled
    return _float(k if k >= 0 else _SIGN - k)


@jit
def _outermost(bound, d, kind, lo, hi, s, threshold):  # pragma: no cover
    """The last float beyond ``bound`` (inside) whose score is still at most ``threshold``,
    by doubling then bisection on the keys: about 2 log2(run) scores for a run of floats that
    share one score (up to 2**62 of them near 0). The scores are monotone along a side."""
    start = _key(bound)
    # The keys from a bound to the infinity it moves towards can span more than int64 holds
    # when the walk crosses zero, so a crossing is settled first: if 0.0 is inside the walk
    # restarts there, otherwise the end lies before it. An infinity is always outside.
    if d * start < 0:
        if _side_score(kind, 0.0, lo, hi, s) <= threshold:
            start = np.int64(0)
            room = _INF_KEY
        else:
            room = -d * start
    else:
        room = _INF_KEY - d * start
    good = np.int64(0)
    bad = np.int64(-1)
    step = np.int64(1)
    while good < room:
        trial = good + min(step, room - good)
        y = _from_key(start + d * trial)
        if _side_score(kind, y, lo, hi, s) <= threshold:
            good = trial
            step = step * 2 if step < (np.int64(1) << 61) else step  # never past int64
        else:
            bad = trial
            break
    if bad < 0:
        bad = room
    while bad - good > 1:
        mid = good + (bad - good) // 2
        y = _from_key(start + d * mid)
        if _side_score(kind, y, lo, hi, s) <= threshold:
            good = mid
        else:
            bad = mid
    return _from_key(start + d * good)


@jit
def _jump(bound, up, kind, lo, hi, s, threshold):  # pragma: no cover - compiled
    """The end of a long run of floats with one score, in closed form (NaN if it does not
    hold there; the caller then searches). Every side score is a difference from a centre
    (``lo`` below, ``hi`` above) divided by ``s`` (1 if none): with ``D`` the largest float such
    that ``fl(D / s) <= q`` and ``h`` half the gap above ``D``, ``fl(lo - y) <= D`` holds for
    ``y >= lo - D - h`` (the rounding of the difference); the candidate and its neighbours are
    checked with the score (see :func:`conformal._outward._jump`, the same rule in NumPy)."""
    divisor = s if kind == 1 else 1.0
    limit = threshold * divisor
    for _ in range(2):  # the largest D with fl(D / s) <= q
        above = _next_float(limit, True)
        if above / divisor <= threshold:
            limit = above
    for _ in range(2):
        if limit / divisor > threshold:
            limit = _next_float(limit, False)
    half_gap = (_next_float(limit, True) - limit) * 0.5
    if up:
        candidate = (hi + limit) + half_gap
    else:
        candidate = (lo - limit) - half_gap
    if not np.isfinite(candidate):
        return np.nan
    if not _side_score(kind, candidate, lo, hi, s) <= threshold:
        candidate = _next_float(candidate, not up)
    if not _side_score(kind, candidate, lo, hi, s) <= threshold:
        return np.nan
    if _side_score(kind, _next_float(candidate, up), lo, hi, s) <= threshold:
        return np.nan
    if (up and candidate < bound) or (not up and candidate > bound):
        return np.nan
    return candidate


@jit
def _finish(bound, up, kind, lo, hi, s, threshold, max_steps):  # pragma: no cover - compiled
    """The outermost float from ``bound`` (already known inside): single steps, then the
    closed form, then the search. Kept out of the row loop, which it would slow down."""
    moved = 1
    while moved < max_steps:
        beyond = _next_float(bound, up)
        if not _side_score(kind, beyond, lo, hi, s) <= threshold:
            return bound
        bound = beyond
        moved += 1
    end = _jump(bound, up, kind, lo, hi, s, threshold)
    if end == end:  # not NaN: the closed form holds
        return end
    return _outermost(bound, np.int64(1) if up else np.int64(-1), kind, lo, hi, s, threshold)


@jit
def _round_rows(
    out, side, q, kind, lo, hi, scale, max_steps, begin, end
):  # pragma: no cover - compiled
    n_levels = out.shape[1]
    q_step = 1 if q.shape[0] > 1 else 0
    s_step = 1 if scale.shape[0] > 1 else 0
    up = side == 1
    for i in range(begin, end):
        s = scale[i * s_step]
        for t in range(n_levels):
            bound = out[i, t, side]
            threshold = q[i * q_step, t]
            # one neighbour per bound (an infinite bound's neighbour is NaN: never inside); the
            # few bounds that move finish out of line
            beyond = _next_float(bound, up)
            if _side_score(kind, beyond, lo[i], hi[i], s) <= threshold and np.isfinite(bound):
                out[i, t, side] = _finish(beyond, up, kind, lo[i], hi[i], s, threshold, max_steps)


def round_outward(
    out: np.ndarray,
    side: int,
    q: np.ndarray,
    kind: int,
    lo: np.ndarray,
    hi: np.ndarray,
    scale: np.ndarray,
    max_steps: int = 3,
) -> None:
    """Move the bounds ``out[..., side]`` outward in place, to the last float whose score is
    still at most the threshold.

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
    max_steps : int, default=3
        Single-ulp steps before a bound that is still moving is finished by doubling and
        bisection (a long run of floats with one score, near 0).

    Notes
    -----
    O(n L) time in the usual case (a bound moves 0, 1 or 2 ulps), O(log run) more for a bound
    in a long run; no allocation; rows on threads.
    """
    args = (out, int(side), q, int(kind), lo, hi, scale, int(max_steps))
    parallel_rows(_round_rows, out.shape[0], args, _ROWS)
