"""Interval bounds rounded outward: every ``y`` whose score is at most the threshold is inside.

Outward rounding. The interval is the inverse of the score computed in floating point
(``f - q * |f|``, ``f -+ q * s``, ``hi + q``, ...), whose rounding can put a bound one or a few
units in the last place (ulps) *inside* the ``y`` whose score is exactly the threshold, and leave
that ``y`` out (issue 9: an integer target at the threshold, left out of every interval). Every
``inverse`` of this module therefore guarantees: **every float64 ``y`` whose score, computed by
the score's own ``score`` in float64, is at most the threshold lies in the closed interval** (for
an asymmetric score: at most the threshold of its side; the score of a lower bound is the
lower-side score).

After the kernel has written the interval, each finite bound whose next float outward
(``np.nextafter`` towards ``-inf`` for a lower bound, ``+inf`` for an upper one) still has a score
at most the threshold is moved out to the last such float: the scores are monotone along each
side, so that float is the end of the set. The check is one dense vectorised pass; only bounds
that moved are checked again, an ulp at a time for two steps, then (runs of floats sharing the
threshold's score: up to 2**62 of them for a bound near 0) in closed form, with doubling and
bisection as the fallback. A bound that is already the outermost such float is returned bit for
bit as written (for instance ``f - q`` of the absolute score whenever ``f/2 <= f - q <= 2 f``: the
differences ``f - y`` near the bound are then exact, so the set is ``y >= f - q`` exactly); a
bound already outside (score above the threshold) is never moved, and neither is an infinite
bound. Floats whose score merely rounds to the threshold count as inside too: near a bound much
closer to 0 than ``f`` or ``q s``, a run of many floats shares one score, and the bound moves to
the end of that run. Where a bound moves, it moves by
rounding error only (at most a few ulps of the prediction's magnitude), but it then differs from
peers that compute ``f -+ q`` without this check.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ._kernels.intervals import fill_intervals
from ._kernels.outward import round_outward

Floats = NDArray[np.float64]
# The score of a candidate bound ``y`` from the centres ``lo``, ``hi`` and the scale ``s``
# (broadcast against ``y``): the exact float64 expression of the score class's ``score``.
SideScore = Callable[[Floats, Floats, Floats, Floats], Floats]

_UNIT_SCALE = np.ones(1)

# ---------------------------------------------------------------- outward rounding
#
# Floats in increasing order are the integers ``key`` below in increasing order (the sign-
# magnitude bit pattern turned into two's complement; -0.0 and +0.0 share key 0), so "k ulps
# outward" is ``key +- k``. Offsets are kept in uint64 (modular arithmetic): the distance from
# any finite float to an infinity is below 2**64.

_SIGN_BIT = np.int64(-(2**63))
_INT64_MAX = np.int64(2**63 - 1)
_INF_KEY = np.uint64(0x7FF0000000000000)  # the key of +inf
_CHUNK = 1 << 17  # bounds checked at once: the temporaries stay in cache
_ULP_STEPS = 2  # single-ulp steps before doubling and bisection


def _to_key(x: Floats) -> NDArray[np.uint64]:
    bits = np.ascontiguousarray(x, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, _SIGN_BIT - bits, bits).view(np.uint64)


def _from_key(key: NDArray[np.uint64]) -> Floats:
    signed = key.view(np.int64)
    return np.where(signed < 0, _SIGN_BIT - signed, signed).view(np.float64)


def _outermost(
    bound: Floats,
    q: Floats,
    side_score: SideScore,
    lo: Floats,
    hi: Floats,
    scale: Floats,
    outward: int,
) -> Floats:
    """The outermost float beyond each ``bound`` whose score is still at most ``q``.

    All arguments are 1-D, one entry per bound; the caller has checked that ``bound`` itself is
    inside (score at most ``q``). Doubling the offset in ulps finds one that is outside, then
    bisection the last one inside: about ``2 log2(run)`` evaluations, for the long runs of
    floats with one score (a bound near 0 whose threshold is much larger than the bound: up to
    2**62 floats, 125 evaluations). The scores are monotone along a side, so this is the last
    float of the set on that side.
    """
    m = bound.shape[0]
    key = _to_key(bound)
    # room: ulps from the bound to the infinity it moves towards (an infinity is always outside)
    room = (_INF_KEY - key) if outward > 0 else (key + _INF_KEY)

    def inside(offset: NDArray[np.uint64], rows: NDArray[np.intp]) -> NDArray[np.bool_]:
        moved = key[rows] + offset if outward > 0 else key[rows] - offset
        with np.errstate(all="ignore"):
            scores = side_score(_from_key(moved), lo[rows], hi[rows], scale[rows])
        return np.asarray(scores <= q[rows])

    good = np.zeros(m, dtype=np.uint64)  # offsets known inside
    bad = np.zeros(m, dtype=np.uint64)  # offsets known outside (0: none found yet)
    step = np.ones(m, dtype=np.uint64)
    rows = np.flatnonzero(good < room)
    while rows.size:  # doubling, capped at the infinity
        trial = good[rows] + np.minimum(step[rows], room[rows] - good[rows])
        ok = inside(trial, rows)
        good[rows[ok]] = trial[ok]
        bad[rows[~ok]] = trial[~ok]
        step[rows] *= np.uint64(2)
        rows = rows[ok & (trial < room[rows])]
    rows = np.flatnonzero(bad > good + np.uint64(1))
    while rows.size:  # bisection between the last offset inside and the first outside
        mid = good[rows] + (bad[rows] - good[rows]) // np.uint64(2)
        ok = inside(mid, rows)
        good[rows[ok]] = mid[ok]
        bad[rows[~ok]] = mid[~ok]
        rows = rows[bad[rows] > good[rows] + np.uint64(1)]
    moved = key + good if outward > 0 else key - good
    return _from_key(moved)


def _jump(
    bound: Floats,
    q: Floats,
    side_score: SideScore,
    lo: Floats,
    hi: Floats,
    scale: Floats,
    outward: int,
) -> tuple[Floats, NDArray[np.bool_]]:
    """The end of a long run of floats with one score, in closed form; verified by the score.

    Every score here is, on its side, a difference from a centre (``lo`` below, ``hi`` above)
    divided by a scale (1 if none): ``fl(fl(lo - y) / s) <= q``. With ``D`` the largest float
    such that ``fl(D / s) <= q`` (a step or two from ``fl(q s)``) and ``h`` half the gap from
    ``D`` to the next float, ``fl(lo - y) <= D`` holds for ``y >= lo - D - h`` (the rounding of
    the difference), which is exact in floating point where the runs are long (``lo`` close to
    ``D``, so ``lo - D`` is exact). The candidate and its neighbours are checked with the score;
    ``ok`` is False where the closed form does not hold (then the caller searches).
    """
    centre = lo if outward < 0 else hi
    with np.errstate(all="ignore"):
        limit = q * scale
        for _ in range(2):  # the largest D with fl(D / s) <= q
            up = _neighbours(limit, 1)
            limit = np.where(up / scale <= q, up, limit)
        for _ in range(2):
            limit = np.where(limit / scale > q, _neighbours(limit, -1), limit)
        half_gap = (_neighbours(limit, 1) - limit) * 0.5
        if outward < 0:
            candidate = (centre - limit) - half_gap
        else:
            candidate = (centre + limit) + half_gap
        inner = _neighbours(candidate, -outward)
        candidate = np.where(side_score(candidate, lo, hi, scale) <= q, candidate, inner)
        inside = side_score(candidate, lo, hi, scale) <= q
        outside = ~(side_score(_neighbours(candidate, outward), lo, hi, scale) <= q)
    beyond_bound = candidate <= bound if outward < 0 else candidate >= bound
    return candidate, inside & outside & beyond_bound & np.isfinite(candidate)


def _neighbours(bound: Floats, outward: int) -> Floats:
    """The next float outward of each bound (``np.nextafter`` towards ``-+inf``), computed on
    the bit patterns: a few integer operations, much cheaper than ``np.nextafter``. An infinite
    bound gives NaN or the largest finite float, whose score is never at most the threshold
    that made the bound infinite."""
    bits = bound.view(np.int64)
    step = (bits >> 63) | 1  # +1 for a positive float, -1 for a negative one
    moved = bits - step if outward < 0 else bits + step
    # +0.0 has no lower neighbour that way (nor -0.0 an upper one): both give a NaN pattern
    zero = moved == (-1 if outward < 0 else _INT64_MAX)
    if zero.any():
        moved[zero] = _SIGN_BIT + 1 if outward < 0 else 1
    return moved.view(np.float64)


def _round_side_outward(
    out: Floats,
    side: int,
    q: Floats,
    side_score: SideScore,
    lo: Floats,
    hi: Floats,
    scale: Floats,
) -> None:
    """Move the bounds ``out[..., side]`` outward in place (0: lower, 1: upper), see the module.

    Level by level and block of rows by block of rows (the temporaries stay in cache), a dense
    pass checks the float just outside every bound; only the bounds whose neighbour is inside
    are checked again, one ulp at a time for a few steps (most runs of floats with one score
    are one or two ulps long). Bounds still moving after that (a bound much closer to 0 than
    the prediction: runs of up to 2**62 floats) are finished in closed form (:func:`_jump`), or
    by doubling and bisection (:func:`_outermost`) where that does not apply.
    """
    n, n_levels = out.shape[:2]
    outward = 1 if side else -1
    point = hi is lo  # one centre: carry it once
    shared_q, shared_s = q.shape[0] == 1, scale.shape[0] == 1
    long_runs: list[tuple[int, NDArray[np.intp], Floats]] = []
    for level in range(n_levels):
        column = out[:, level, side]
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            chunk = column[start:stop]
            lo_c = lo[start:stop]
            hi_c = lo_c if point else hi[start:stop]
            s_c = scale if shared_s else scale[start:stop]
            q_c = q[0, level] if shared_q else q[start:stop, level]
            beyond = _neighbours(chunk, outward)
            with np.errstate(all="ignore"):
                inside = side_score(beyond, lo_c, hi_c, s_c) <= q_c
            if not inside.any():  # (an infinite bound is never inside: see _neighbours)
                continue
            # the bounds that moved, with their centres, scale and threshold; each step keeps
            # those whose next float outward is inside too
            local = np.flatnonzero(inside)
            bound = beyond[local]
            chunk[local] = bound
            lo_r = lo_c[local]
            hi_r = lo_r if point else hi_c[local]
            s_r = s_c if shared_s else s_c[local]
            q_r = q_c if shared_q else q_c[local]
            for _ in range(_ULP_STEPS):
                nxt = _neighbours(bound, outward)
                with np.errstate(all="ignore"):
                    ok = side_score(nxt, lo_r, hi_r, s_r) <= q_r
                if not ok.any():
                    break
                if not ok.all():
                    local, nxt, lo_r = local[ok], nxt[ok], lo_r[ok]
                    hi_r = lo_r if point else hi_r[ok]
                    s_r = s_r if shared_s else s_r[ok]
                    q_r = q_r if shared_q else q_r[ok]
                bound = nxt
                chunk[local] = bound
            else:  # still moving: a long run of floats with one score
                fields = [
                    bound,
                    np.broadcast_to(q_r, bound.shape),
                    lo_r,
                    hi_r,
                    np.broadcast_to(s_r, bound.shape),
                ]
                long_runs.append((level, local + start, np.stack(fields)))
    if not long_runs:
        return
    levels = np.concatenate([np.full(rows.shape, level) for level, rows, _ in long_runs])
    rows = np.concatenate([rows for _, rows, _ in long_runs])
    bound, q_r, lo_r, hi_r, s_r = np.concatenate([fields for _, _, fields in long_runs], axis=1)
    end, ok = _jump(bound, q_r, side_score, lo_r, hi_r, s_r, outward)
    if not ok.all():  # where the closed form does not hold: doubling and bisection
        miss = ~ok
        end[miss] = _outermost(
            bound[miss], q_r[miss], side_score, lo_r[miss], hi_r[miss], s_r[miss], outward
        )
    out[rows, levels, side] = end


def _interval(
    lo: Floats,
    hi: Floats,
    q_lo: Floats,
    q_hi: Floats,
    lower_score: SideScore,
    upper_score: SideScore,
    scale: Floats | None = None,
) -> Floats:
    """``[lo - q_lo * scale, hi + q_hi * scale]`` as ``(n, L, 2)``, rounded outward.

    The one interval-writing path of every score: the kernel writes the bounds in one pass, then
    each side is rounded outward against its own score and threshold (see the module).
    """
    lo = np.ascontiguousarray(lo, dtype=np.float64)
    hi = np.ascontiguousarray(hi, dtype=np.float64)
    q_lo = np.ascontiguousarray(q_lo, dtype=np.float64)
    q_hi = np.ascontiguousarray(q_hi, dtype=np.float64)
    s = _UNIT_SCALE if scale is None else np.ascontiguousarray(scale, dtype=np.float64)
    out = np.empty((lo.shape[0], q_lo.shape[-1], 2), dtype=np.float64)
    fill_intervals(lo, hi, q_lo, q_hi, s, out)
    _round_side(out, 0, q_lo, lower_score, lo, hi, s)
    _round_side(out, 1, q_hi, upper_score, lo, hi, s)
    return out


def _round_side(
    out: Floats,
    side: int,
    q: Floats,
    side_score: SideScore,
    lo: Floats,
    hi: Floats,
    scale: Floats,
) -> None:
    """Round one side outward: compiled (:func:`conformal._kernels.outward.round_outward`)
    for the package's side scores, the NumPy path (:func:`_round_side_outward`, the reference
    the tests compare it with) for any other; both give the same floats."""
    kind = _KINDS.get(side_score)
    if kind is None:
        _round_side_outward(out, side, q, side_score, lo, hi, scale)
        return
    round_outward(out, side, q, kind, lo, hi, scale, 1 + _ULP_STEPS)


# The forward scores of a candidate bound y, written exactly as the classes' ``score`` computes
# them (tests check that they agree bit for bit). lo / hi are the centres (the same array for a
# point prediction), s the scale (1 when unused).


def _absolute(y: Floats, lo: Floats, hi: Floats, s: Floats) -> Floats:
    return np.abs(y - lo)


def _scaled_absolute(y: Floats, lo: Floats, hi: Floats, s: Floats) -> Floats:
    return np.abs(y - lo) / s


def _below(y: Floats, lo: Floats, hi: Floats, s: Floats) -> Floats:
    return lo - y


def _above(y: Floats, lo: Floats, hi: Floats, s: Floats) -> Floats:
    return y - hi


def _outside_band(y: Floats, lo: Floats, hi: Floats, s: Floats) -> Floats:
    return np.maximum(lo - y, y - hi)


# The kernel's codes of the side scores above (see conformal._kernels.outward).
_KINDS: dict[SideScore, int] = {
    _absolute: 0,
    _scaled_absolute: 1,
    _below: 2,
    _above: 3,
    _outside_band: 4,
}
