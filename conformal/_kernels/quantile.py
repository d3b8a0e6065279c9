"""Order statistics and weighted quantiles.

Ranks are 1-based and computed by the caller (:func:`conformal.calibration.conformal_rank` is the
one place that turns a confidence level into a rank). A rank of 0 means "-inf" and a rank above the
number of points means "+inf": the kernels return infinities rather than clamping.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import jit, jit_parallel

_SMALL = 16  # below this many elements a sort beats further partitioning


@jit
def _select_inplace(a, lo, hi, k):  # pragma: no cover - compiled
    """Move the ``k``-th smallest (0-based) of ``a[lo:hi]`` to ``a[k]`` with ``a[lo:k] <= a[k]``
    and ``a[k+1:hi] >= a[k]`` (introselect: median-of-three quickselect, sorting the current
    range if partitioning degenerates so the worst case stays O(n log n))."""
    depth = 0
    limit = 2 * int(np.log2(hi - lo + 1)) + 8
    while hi - lo > _SMALL:
        if depth > limit:
            a[lo:hi] = np.sort(a[lo:hi])
            return
        depth += 1
        mid = (lo + hi - 1) // 2
        last = hi - 1
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[last] < a[lo]:
            a[last], a[lo] = a[lo], a[last]
        if a[last] < a[mid]:
            a[last], a[mid] = a[mid], a[last]
        pivot = a[mid]
        i = lo
        j = last
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        # a[lo:j+1] <= pivot, a[j+1:i] == pivot, a[i:hi] >= pivot
        if k <= j:
            hi = j + 1
        elif k >= i:
            lo = i
        else:
            return
    a[lo:hi] = np.sort(a[lo:hi])


@jit
def _select_ranks(buffer, ranks, out):  # pragma: no cover - compiled
    """Write the ``ranks``-th smallest of ``buffer`` into ``out`` (``buffer`` is reordered).

    ``ranks`` need not be sorted; each selection only searches to the right of the previous one
    when ranks are visited in increasing order, so several levels cost little more than one.
    """
    n = buffer.shape[0]
    order = np.argsort(ranks)
    lo = 0
    for t in range(ranks.shape[0]):
        r = ranks[order[t]]
        if r < 1:
            out[order[t]] = -np.inf
        elif r > n:
            out[order[t]] = np.inf
        else:
            _select_inplace(buffer, lo, n, r - 1)
            out[order[t]] = buffer[r - 1]
            lo = r - 1


@jit
def order_statistics(values, ranks):  # pragma: no cover - compiled
    """The ``ranks``-th smallest values (1-based; 0 -> -inf, > n -> +inf) by selection."""
    out = np.empty(ranks.shape[0], dtype=np.float64)
    buffer = values.copy()
    _select_ranks(buffer, ranks, out)
    return out


@jit_parallel
def grouped_order_statistics(values, codes, n_groups, ranks):  # pragma: no cover - compiled
    """Per-group order statistics in one pass over the data.

    ``codes`` are group indices in ``[0, n_groups)``; ``ranks`` is ``(n_groups, n_levels)`` with
    each group's 1-based ranks. Values are bucketed by group with a counting sort (O(n)), then each
    group's ranks are selected in its own contiguous block, groups in parallel.
    """
    n = values.shape[0]
    counts = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(n):
        counts[codes[i] + 1] += 1
    starts = np.cumsum(counts)
    fill = starts[:-1].copy()
    buffer = np.empty(n, dtype=np.float64)
    for i in range(n):
        g = codes[i]
        buffer[fill[g]] = values[i]
        fill[g] += 1
    out = np.empty(ranks.shape, dtype=np.float64)
    for g in prange(n_groups):
        _select_ranks(buffer[starts[g] : starts[g + 1]], ranks[g], out[g])
    return out


@jit_parallel
def weighted_quantiles(
    sorted_values, cumulative_weights, test_weights, levels, rtol
):  # pragma: no cover - compiled
    """Weighted conformal quantiles with each test point's own mass at +inf.

    ``sorted_values`` are calibration scores in increasing order and ``cumulative_weights`` the
    running sums of their weights in that order (sort once, prefix sums once). For test point ``j``
    with weight ``w_j`` and level ``l``, the quantile is the smallest score whose cumulative weight
    reaches ``l * (W + w_j)`` (``W`` the total calibration weight), found by binary search:
    O(log n) per test point and level. If no score reaches it, the test point's own mass at +inf
    does, and the answer is +inf. ``rtol`` absorbs floating-point error in the running sums so that
    unit weights reproduce the exact unweighted order statistic.
    """
    n = sorted_values.shape[0]
    m = test_weights.shape[0]
    n_levels = levels.shape[0]
    total = cumulative_weights[n - 1] if n > 0 else 0.0
    out = np.empty((m, n_levels), dtype=np.float64)
    for j in prange(m):
        mass = total + test_weights[j]
        for t in range(n_levels):
            target = levels[t] * mass - rtol * mass
            lo = 0
            hi = n
            while lo < hi:  # first index with cumulative weight >= target
                mid = (lo + hi) // 2
                if cumulative_weights[mid] < target:
                    lo = mid + 1
                else:
                    hi = mid
            out[j, t] = sorted_values[lo] if lo < n else np.inf
    return out
