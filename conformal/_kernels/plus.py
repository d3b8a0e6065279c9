"""Weighted plus bounds: weighted jackknife+ / CV+ (covariate shift) without the n_test x n matrix.

The unweighted plus bounds (:func:`~conformal._kernels.quantile.union_order_statistics`,
:func:`~conformal._kernels.quantile.shifted_order_statistics`) are order statistics of the n values
``v_i = sign * c[j, fold(i)] + R_i`` of test point ``j``. With calibration weights ``w_i`` (e.g.
likelihood ratios ``w(x_i)``) and the test point's own weight ``w_test[j]`` placed at ``+inf``
(Tibshirani et al. 2019; Barber et al. 2021, 2023), the bound at level ``beta`` is instead the
weighted quantile of those values, with the rule of
:func:`~conformal._kernels.quantile.weighted_quantiles`:

    the smallest ``v`` among the ``v_i`` with ``C(v) >= beta * M - rtol * M``, where
    ``C(v) = sum of w_i over v_i <= v``, ``M = W + w_test[j]`` and ``W = sum of all w_i``;
    ``+inf`` when even ``W`` falls short of that target (the test point's mass at ``+inf`` is then
    what reaches the level).

Ties are whole: ``C`` counts every ``v_i`` equal to ``v``, so the answer does not depend on how
tied values are ordered. ``rtol`` (``1e-12`` in the package) absorbs rounding in the sums, so unit
weights give exactly the unweighted order statistic of rank ``ceil(beta * (n + 1))``. The lower
bound is the caller's mirror image, as for the unweighted kernels: ``sign=-1`` and negate the
result (the test mass is then at ``-inf``).

Floating-point sums: the union kernel evaluates ``C(v)`` as a sum over folds (in fold order) of
per-fold running sums, the streamed kernel as partial sums in partition order. In exact arithmetic
both equal the definition; with non-integer weights they can differ from a plain running sum in
sorted order by a few ulps of ``W``, which only matters when ``C(v)`` lies within that of the
target, far inside the ``rtol`` slack. Integer (or dyadic) weights are summed exactly, so every
order gives the same answer. NaN is not supported (nor ``+inf`` centre plus ``-inf`` score).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import jit, jit_parallel
from .quantile import _BLOCK, _SMALL, _first_above, _sort_candidates


@jit
def _prefix(cumulative_weights, start, position):  # pragma: no cover - compiled
    """Weight of a fold's entries ``[start, position)``: its running sums restart at ``start``."""
    if position > start:
        return cumulative_weights[position - 1]
    return 0.0


@jit
def _weighted_union_select(
    sorted_scores,
    cumulative_weights,
    starts,
    shift,
    target,
    lo,
    hi,
    below,
    upto,
    keys,
    widths,
    order,
):  # pragma: no cover - compiled
    """The smallest value ``v`` of the union over folds k of ``shift[k] + sorted_scores[fold k]``
    with ``C(v) >= target``, given that the largest value reaches it (``C(max) = W >= target``).

    ``C(x)`` is evaluated as ``sum over k (in order) of`` the running weight of fold k up to its
    last value ``<= x``: a fixed, monotone function of ``x``, so the rounds below are exact with
    respect to it. Each fold keeps an active range ``[lo[k], hi[k])`` that holds the answer. A
    round takes the pivot as the (active-length weighted) lower median of the folds' middle active
    values, finds by galloping binary search how many values of each fold are below and at it,
    reads the masses ``C(< pivot)`` and ``C(pivot)`` from the running sums, and either returns
    the pivot or discards every active value on the wrong side of it, at least a quarter of them.
    O(log n) rounds of 2K searches: O(K log^2 n); workspace O(K).
    """
    n_folds = starts.shape[0] - 1
    for k in range(n_folds):
        lo[k] = starts[k]
        hi[k] = starts[k + 1]
    while True:
        m = 0
        total = 0
        for k in range(n_folds):
            width = hi[k] - lo[k]
            if width > 0:
                keys[m] = shift[k] + sorted_scores[lo[k] + (width - 1) // 2]
                widths[m] = width
                m += 1
                total += width
        _sort_candidates(keys, order, m)
        pivot = keys[order[m - 1]]
        running = 0
        for t in range(m):
            running += widths[order[t]]
            if 2 * running >= total:
                pivot = keys[order[t]]
                break
        n_less = 0
        less = 0.0
        less_equal = 0.0
        for k in range(n_folds):
            middle = lo[k] + (hi[k] - lo[k] - 1) // 2
            below[k] = _first_above(sorted_scores, shift[k], lo[k], hi[k], middle, pivot, False)
            upto[k] = _first_above(sorted_scores, shift[k], below[k], hi[k], below[k], pivot, True)
            n_less += below[k] - starts[k]
            less += _prefix(cumulative_weights, starts[k], below[k])
            less_equal += _prefix(cumulative_weights, starts[k], upto[k])
        if n_less > 0 and less >= target:
            # The largest value below the pivot already reaches the target, and it is active.
            for k in range(n_folds):
                hi[k] = below[k]
        elif less_equal >= target:
            return pivot
        else:
            for k in range(n_folds):
                lo[k] = upto[k]


@jit_parallel
def weighted_union_quantiles(
    sorted_scores, cumulative_weights, starts, shifts, sign, test_weights, levels, rtol
):  # pragma: no cover - compiled
    """Weighted plus bounds across K sorted folds (the union form: few folds, e.g. CV+).

    Parameters
    ----------
    sorted_scores : float64 (n,)
        The scores of fold 0, then fold 1, ..., each fold's block sorted increasingly (as for
        :func:`~conformal._kernels.quantile.union_order_statistics`).
    cumulative_weights : float64 (n,)
        Running sums of the calibration weights (non-negative) in the order of
        ``sorted_scores``, restarting at each fold: ``cumulative_weights[i]`` is the weight of
        fold k's entries ``starts[k]..i``. Sort once and ``np.cumsum`` each block once.
    starts : int64 (K + 1,)
        Fold k occupies ``[starts[k], starts[k + 1])``; ``starts[0] == 0``, ``starts[K] == n``.
        Empty folds are allowed.
    shifts : float64 (m, K)
        ``shifts[j, k]``: the centre of fold k at test point j.
    sign : float
        ``1.0`` or ``-1.0``: the values are ``(sign * shifts[j, k]) + score``.
    test_weights : float64 (m,)
        Each test point's weight (non-negative), placed at ``+inf``.
    levels : float64 (L,)
        Levels ``beta`` (``1 - a`` for an upper bound).
    rtol : float
        Relative slack of the target mass, as in
        :func:`~conformal._kernels.quantile.weighted_quantiles` (``1e-12``).

    Returns
    -------
    float64 (m, L)
        ``out[j, l]``: the smallest value ``v`` of test point j with ``C(v) >= levels[l] * M -
        rtol * M`` (``M`` = total calibration weight + ``test_weights[j]``), ``+inf`` if none (see
        the module docstring). O(K log^2 n) time per test point and level, O(K) workspace per
        thread, no (m, n) matrix; parallel over blocks of test points.
    """
    m = shifts.shape[0]
    n_folds = starts.shape[0] - 1
    n = starts[n_folds]
    n_levels = levels.shape[0]
    total = 0.0
    for k in range(n_folds):
        total += _prefix(cumulative_weights, starts[k], starts[k + 1])
    out = np.empty((m, n_levels), dtype=np.float64)
    n_blocks = (m + _BLOCK - 1) // _BLOCK
    for block in prange(n_blocks):
        lo = np.empty(n_folds, dtype=np.int64)
        hi = np.empty(n_folds, dtype=np.int64)
        below = np.empty(n_folds, dtype=np.int64)
        upto = np.empty(n_folds, dtype=np.int64)
        keys = np.empty(n_folds, dtype=np.float64)
        widths = np.empty(n_folds, dtype=np.int64)
        order = np.empty(n_folds, dtype=np.int64)
        shift = np.empty(n_folds, dtype=np.float64)
        stop = min(m, (block + 1) * _BLOCK)
        for j in range(block * _BLOCK, stop):
            for k in range(n_folds):
                shift[k] = sign * shifts[j, k]
            mass = total + test_weights[j]
            for t in range(n_levels):
                target = levels[t] * mass - rtol * mass
                if n == 0 or total < target:
                    out[j, t] = np.inf
                else:
                    out[j, t] = _weighted_union_select(
                        sorted_scores,
                        cumulative_weights,
                        starts,
                        shift,
                        target,
                        lo,
                        hi,
                        below,
                        upto,
                        keys,
                        widths,
                        order,
                    )
    return out


@jit
def _sort_pairs(values, weights, lo, hi):  # pragma: no cover - compiled
    """Sort ``values[lo:hi]`` increasingly, carrying ``weights`` along (insertion sort up to
    ``_SMALL`` entries, heapsort above: the introselect fallback stays O(n log n))."""
    if hi - lo <= _SMALL:
        for i in range(lo + 1, hi):
            v = values[i]
            w = weights[i]
            u = i - 1
            while u >= lo and values[u] > v:
                values[u + 1] = values[u]
                weights[u + 1] = weights[u]
                u -= 1
            values[u + 1] = v
            weights[u + 1] = w
        return
    size = hi - lo
    for start in range(size // 2 - 1, -1, -1):
        _sift_pairs(values, weights, lo, start, size)
    for end in range(size - 1, 0, -1):
        values[lo], values[lo + end] = values[lo + end], values[lo]
        weights[lo], weights[lo + end] = weights[lo + end], weights[lo]
        _sift_pairs(values, weights, lo, 0, end)


@jit
def _sift_pairs(values, weights, lo, root, end):  # pragma: no cover - compiled
    while 2 * root + 1 < end:
        child = 2 * root + 1
        if child + 1 < end and values[lo + child + 1] > values[lo + child]:
            child += 1
        if values[lo + child] <= values[lo + root]:
            return
        a, b = lo + root, lo + child
        values[a], values[b] = values[b], values[a]
        weights[a], weights[b] = weights[b], weights[a]
        root = child


@jit
def _weighted_select(values, weights, target):  # pragma: no cover - compiled
    """The smallest ``v`` in ``values`` with ``C(v) >= target`` (``C`` the weight of the values
    ``<= v``), ``+inf`` if none; ``values`` and ``weights`` are reordered.

    Weighted introselect: a three-way partition around a median-of-three pivot sums the weights
    below and at the pivot; the pivot is returned, or the search continues on the side that holds
    the answer with the mass of the discarded left part carried along. O(n) expected; past a
    depth limit the remaining range is heapsorted and scanned (O(n log n) worst case).
    """
    n = values.shape[0]
    lo = 0
    hi = n
    acc = 0.0  # mass of the values left of the active range (all below it)
    fallback = np.inf  # an upper bound on the answer: a value whose C reached the target
    depth = 0
    limit = 2 * int(np.log2(n + 1)) + 8
    while hi - lo > _SMALL and depth <= limit:
        depth += 1
        mid = (lo + hi - 1) // 2
        a, b, c = values[lo], values[mid], values[hi - 1]
        if b < a:
            a, b = b, a
        if c < b:
            b = c if a <= c else a
        pivot = b
        # Three-way partition: [lo, lt) < pivot, [lt, i) == pivot, [gt, hi) > pivot.
        lt = lo
        i = lo
        gt = hi
        less = 0.0
        equal = 0.0
        top = -np.inf  # the largest value below the pivot
        while i < gt:
            v = values[i]
            if v < pivot:
                less += weights[i]
                top = max(top, v)
                values[i], values[lt] = values[lt], v
                weights[i], weights[lt] = weights[lt], weights[i]
                lt += 1
                i += 1
            elif v > pivot:
                gt -= 1
                values[i], values[gt] = values[gt], v
                weights[i], weights[gt] = weights[gt], weights[i]
            else:
                equal += weights[i]
                i += 1
        below = acc + less
        if lt > lo and below >= target:
            fallback = top
            hi = lt
            continue
        upto = below + equal
        if upto >= target:
            return pivot
        acc = upto
        lo = gt
    _sort_pairs(values, weights, lo, hi)
    for i in range(lo, hi):
        acc += weights[i]
        if acc >= target:
            return values[i]
    return fallback


@jit_parallel
def weighted_shifted_quantiles(
    centers, fold_of, scores, weights, sign, test_weights, levels, rtol
):  # pragma: no cover - compiled
    """Weighted plus bounds, streamed (many folds: leave-one-out, bootstrap).

    Parameters
    ----------
    centers : float64 (m, K)
        ``centers[j, k]``: the centre of fold k at test point j.
    fold_of : int64 (n,)
        Fold (column of ``centers``) of each calibration point.
    scores : float64 (n,)
    weights : float64 (n,)
        Non-negative calibration weights, in the order of ``scores``.
    sign : float
        ``1.0`` or ``-1.0``: the values are ``(sign * centers[j, fold_of[i]]) + scores[i]``.
    test_weights : float64 (m,)
        Each test point's weight (non-negative), placed at ``+inf``.
    levels : float64 (L,)
    rtol : float
        As for :func:`weighted_union_quantiles`.

    Returns
    -------
    float64 (m, L)
        The same numbers as :func:`weighted_union_quantiles` on the same data (up to the order of
        the floating-point sums, see the module docstring). Each test point's n values and
        weights are written to buffers owned by the thread and a weighted selection runs per
        level (buffers refilled, so a level's answer does not depend on the others): O(n L)
        expected time per test point, O(n) memory per thread, no (m, n) matrix.
    """
    m = centers.shape[0]
    n = scores.shape[0]
    n_levels = levels.shape[0]
    total = 0.0
    for i in range(n):
        total += weights[i]
    out = np.empty((m, n_levels), dtype=np.float64)
    n_blocks = (m + _BLOCK - 1) // _BLOCK
    for block in prange(n_blocks):
        values = np.empty(n, dtype=np.float64)
        masses = np.empty(n, dtype=np.float64)
        stop = min(m, (block + 1) * _BLOCK)
        for j in range(block * _BLOCK, stop):
            mass = total + test_weights[j]
            for t in range(n_levels):
                target = levels[t] * mass - rtol * mass
                if n == 0 or total < target:
                    out[j, t] = np.inf
                    continue
                for i in range(n):
                    values[i] = sign * centers[j, fold_of[i]] + scores[i]
                    masses[i] = weights[i]
                out[j, t] = _weighted_select(values, masses, target)
    return out
