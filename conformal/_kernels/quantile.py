"""Order statistics and weighted quantiles.

Ranks are 1-based and computed by the caller (:func:`conformal.calibration.conformal_rank` is the
one place that turns a confidence level into a rank). A rank of 0 means "-inf" and a rank above the
number of points means "+inf": the kernels return infinities rather than clamping.
"""

from __future__ import annotations

import itertools

import numpy as np
from numba import prange

from ._config import jit, jit_parallel

_SMALL = 16  # below this many elements a sort beats further partitioning

# Arguments of compiled helpers are typed at each call site, and a literal (``0``, ``True``) or a
# variable that starts as one (``m = 0`` then ``m += 1``) makes numba compile the helper once more
# for ``Literal[int](0)``: up to three copies of one helper, each a second or more of a cold start.
# These are typed values, not literals, so each helper compiles once.
_ZERO = np.int64(0)
_LEFT = np.bool_(False)  # _first_above: first value >= pivot
_RIGHT = np.bool_(True)  # _first_above: first value > pivot


_QUICKSORT_SMALL = 15  # numba's SMALL_QUICKSORT: ranges up to this (high - low) are insertion-sorted
_QUICKSORT_STACK = 100  # numba's MAX_STACK


@jit
def _partition(a, low, high):  # pragma: no cover - compiled
    """Numba's quicksort partition of ``a[low:high + 1]`` (inclusive bounds), pivot index out."""
    mid = (low + high) >> 1
    if a[mid] < a[low]:
        a[low], a[mid] = a[mid], a[low]
    if a[high] < a[mid]:
        a[high], a[mid] = a[mid], a[high]
    if a[mid] < a[low]:
        a[low], a[mid] = a[mid], a[low]
    pivot = a[mid]
    a[high], a[mid] = a[mid], a[high]
    i = low
    j = high - 1
    while True:
        while i < high and a[i] < pivot:
            i += 1
        while j >= low and pivot < a[j]:
            j -= 1
        if i >= j:
            break
        a[i], a[j] = a[j], a[i]
        i += 1
        j -= 1
    a[i], a[high] = a[high], a[i]
    return i


@jit
def _insertion_sort(a, low, high):  # pragma: no cover - compiled
    """Numba's insertion sort of ``a[low:high + 1]`` (inclusive bounds)."""
    for i in range(low + 1, high + 1):
        v = a[i]
        j = i
        while j > low and v < a[j - 1]:
            a[j] = a[j - 1]
            j -= 1
        a[j] = v


@jit
def _sort_range(a, lo, hi):  # pragma: no cover - compiled
    """Sort ``a[lo:hi]`` in place, moving elements exactly as ``a[lo:hi] = np.sort(a[lo:hi])``
    does (a transcription of numba's ``quicksort.run_quicksort1`` for float arrays, NaN-free).

    Written out because compiling ``np.sort`` and the slice assignment (its shape check builds
    an error message from strings) took about 3 s of every cold start; this compiles in a
    fraction of that and leaves the same arrangement (so even the sign of a zero is unchanged).
    """
    low = lo
    high = hi - 1
    if high - low < _QUICKSORT_SMALL:  # the common case: no stack
        _insertion_sort(a, low, high)
        return
    stack_low = np.empty(_QUICKSORT_STACK, dtype=np.int64)
    stack_high = np.empty(_QUICKSORT_STACK, dtype=np.int64)
    stack_low[0] = low
    stack_high[0] = high
    n = 1
    while n > 0:
        n -= 1
        low = stack_low[n]
        high = stack_high[n]
        while high - low >= _QUICKSORT_SMALL:
            i = _partition(a, low, high)
            if high - i > i - low:  # push the larger part, iterate on the smaller
                if high > i:
                    stack_low[n] = i + 1
                    stack_high[n] = high
                    n += 1
                high = i - 1
            else:
                if i > low:
                    stack_low[n] = low
                    stack_high[n] = i - 1
                    n += 1
                low = i + 1
        _insertion_sort(a, low, high)


@jit
def _select_inplace(a, lo, hi, k):  # pragma: no cover - compiled
    """Move the ``k``-th smallest (0-based) of ``a[lo:hi]`` to ``a[k]`` with ``a[lo:k] <= a[k]``
    and ``a[k+1:hi] >= a[k]`` (introselect: median-of-three quickselect, sorting the current
    range if partitioning degenerates so the worst case stays O(n log n))."""
    depth = 0
    limit = 2 * int(np.log2(hi - lo + 1)) + 8
    while hi - lo > _SMALL:
        if depth > limit:
            _sort_range(a, lo, hi)
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
    _sort_range(a, lo, hi)


@jit
def _select_ranks(buffer, ranks, out):  # pragma: no cover - compiled
    """Write the ``ranks``-th smallest of ``buffer`` into ``out`` (``buffer`` is reordered).

    ``ranks`` need not be sorted; each selection only searches to the right of the previous one
    when ranks are visited in increasing order, so several levels cost little more than one.
    The visiting order is a stable insertion argsort of the ranks (what ``np.argsort`` does for
    fewer than 16 ranks; not ``np.argsort`` itself, whose compilation cost a second of cold start).
    """
    n = buffer.shape[0]
    n_ranks = ranks.shape[0]
    order = np.empty(n_ranks, dtype=np.int64)
    for t in range(n_ranks):
        current = ranks[t]
        u = t
        while u > 0 and current < ranks[order[u - 1]]:
            order[u] = order[u - 1]
            u -= 1
        order[u] = t
    lo = _ZERO
    for t in range(n_ranks):
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


def partitioned_order_statistics(values: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """:func:`order_statistics` for callers in Python: the same numbers, by ``np.partition``.

    NumPy's introselect uses SIMD partitioning where the CPU has it (x86-simd-sort), which our
    compiled scalar quickselect cannot match: at 10^6 points it is about 5 times faster. Compiled
    kernels keep calling :func:`order_statistics`.
    """
    n = values.shape[0]
    out = np.where(ranks < 1, -np.inf, np.inf)
    inside = (ranks >= 1) & (ranks <= n)
    kth = np.unique(ranks[inside] - 1)
    if kth.size == 0:
        return out
    # One partition per rank, each over what lies right of the previous one: several ranks in
    # one np.partition call take a slower, non-SIMD path (7x slower for three ranks at 10^6).
    buffer = np.partition(values, kth[0])
    for previous, k in itertools.pairwise(kth):
        buffer[previous + 1 :].partition(k - previous - 1)
    out[inside] = buffer[ranks[inside] - 1]
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


# ---------------------------------------------------------------- cross-conformal ("plus") bounds
#
# The plus bounds of cross-conformal prediction are order statistics of n values per test point,
# ``sign * c[fold(i)] + s[i]``, one per calibration point: a centre ``c`` (a fold model's
# prediction at the test point) shifted by a score ``s``. The kernels below never build the
# (n_test, n) matrix of those values. With K folds, the values of fold k are fold k's sorted
# scores shifted by one constant, so the union of K sorted arrays is searched directly
# (:func:`union_order_statistics`); with many folds (leave-one-out, bootstrap) the n values of
# one test point are written to a per-thread buffer and selected (:func:`shifted_order_statistics`).
# Every returned value is an element ``sign * c + s`` computed exactly as the naive code computes
# it, so the result is bit-identical to sorting the matrix row. NaN is not supported (a finite
# centre plus an infinite score is fine; +inf plus -inf is not).

_BLOCK = 64  # test points per parallel task: workspaces are allocated once per block
_INSERTION = 32  # up to this many folds the pivot candidates are sorted by insertion
_GATHER = 256  # once this few values remain active they are copied out and selected


@jit
def _sift_down(keys, order, root, end):  # pragma: no cover - compiled
    while 2 * root + 1 < end:
        child = 2 * root + 1
        if child + 1 < end and keys[order[child + 1]] > keys[order[child]]:
            child += 1
        if keys[order[child]] <= keys[order[root]]:
            return
        order[root], order[child] = order[child], order[root]
        root = child


@jit
def _sort_candidates(keys, order, m):  # pragma: no cover - compiled
    """``order[:m]`` = indices of ``keys[:m]`` in increasing order (insertion sort up to
    ``_INSERTION`` keys, heapsort above).

    Hand-written on purpose: numba's ``np.argsort`` and ``np.sort`` on float64 arrays compile
    closures with the same mangled name, and two cached kernels compiled in different processes
    can then resolve to each other's code and crash (numba issue #10128). The package's kernels
    therefore only ``np.sort`` float64 arrays, never ``np.argsort`` them.
    """
    for t in range(m):
        order[t] = t
    if m > _INSERTION:
        for root in range(m // 2 - 1, -1, -1):
            _sift_down(keys, order, root, m)
        for end in range(m - 1, 0, -1):
            order[0], order[end] = order[end], order[0]
            _sift_down(keys, order, _ZERO, end)
        return
    for t in range(1, m):
        current = order[t]
        key = keys[current]
        u = t - 1
        while u >= 0 and keys[order[u]] > key:
            order[u + 1] = order[u]
            u -= 1
        order[u + 1] = current


@jit
def _is_above(value, pivot, strict):  # pragma: no cover - compiled
    return value > pivot or (not strict and value == pivot)


@jit
def _first_above(sorted_scores, shift, lo, hi, guess, pivot, strict):  # pragma: no cover
    """First position in ``[lo, hi)`` whose value ``shift + s`` is ``>= pivot`` (``> pivot`` if
    ``strict``), ``hi`` if none. Values are non-decreasing: float addition is monotone. The
    search gallops from ``guess`` (1, 2, 4, ... positions away, either way) before bisecting,
    so it costs O(log d) for an answer d positions from the guess."""
    if lo >= hi:
        return lo
    if guess < lo:
        guess = lo
    elif guess > hi - 1:
        guess = hi - 1
    step = 1
    if _is_above(shift + sorted_scores[guess], pivot, strict):
        hi = guess  # answer in [lo, guess]
        while hi - step >= lo and _is_above(shift + sorted_scores[hi - step], pivot, strict):
            hi -= step
            step *= 2
        if hi - step + 1 > lo:
            lo = hi - step + 1
    else:
        lo = guess + 1  # answer in [guess + 1, hi]
        while lo + step - 1 < hi and not _is_above(
            shift + sorted_scores[lo + step - 1], pivot, strict
        ):
            lo += step
            step *= 2
        if lo + step - 1 < hi:
            hi = lo + step - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _is_above(shift + sorted_scores[mid], pivot, strict):
            hi = mid
        else:
            lo = mid + 1
    return lo


@jit
def _union_select(
    sorted_scores,
    starts,
    shift,
    rank,
    pooled,
    anchor,
    lo,
    hi,
    below,
    upto,
    keys,
    weights,
    order,
    gather,
):  # pragma: no cover - compiled
    """The ``rank``-th smallest (1 <= rank <= n) of the union over folds k of
    ``shift[k] + sorted_scores[starts[k]:starts[k + 1]]``; ``pooled`` is the ``rank``-th
    smallest of all the scores and ``anchor[k]`` the position of ``pooled`` in fold k (where
    the searches for the bracket start).

    Each fold keeps an active range ``[lo[k], hi[k])`` that holds the answer's candidates.

    1. Bracket: the answer lies in ``[min(shift) + pooled, max(shift) + pooled]`` (at least
       ``n - rank + 1`` values are at or above the left end, at least ``rank`` at or below the
       right end; float addition is monotone, so this holds exactly). When the fold models
       agree, the bracket holds few values.
    2. Rounds, while more than ``_GATHER`` values are active: the pivot is the weighted (by
       active length) lower median of the folds' middle active values; count the active values
       below and at it by binary search in each fold, then return the pivot or discard every
       active value on the wrong side of it, at least a quarter of them. O(log n) rounds of K
       searches: O(K log^2 n) in the worst case.
    3. The at most ``_GATHER`` values left are copied out and selected.
    """
    n_folds = starts.shape[0] - 1
    low = np.inf
    high = -np.inf
    for k in range(n_folds):
        if starts[k + 1] > starts[k]:
            low = min(low, shift[k])
            high = max(high, shift[k])
    left = low + pooled
    right = high + pooled
    if np.isnan(left) or np.isnan(right):  # opposite infinities: no bracket
        left = -np.inf
        right = np.inf
    target = rank
    total = 0
    for k in range(n_folds):
        a, b = starts[k], starts[k + 1]
        lo[k] = _first_above(sorted_scores, shift[k], a, b, anchor[k], left, _LEFT)
        hi[k] = _first_above(sorted_scores, shift[k], lo[k], b, anchor[k], right, _RIGHT)
        target -= lo[k] - starts[k]
        total += hi[k] - lo[k]
    while total > _GATHER:
        m = _ZERO
        for k in range(n_folds):
            width = hi[k] - lo[k]
            if width > 0:
                keys[m] = shift[k] + sorted_scores[lo[k] + (width - 1) // 2]
                weights[m] = width
                m += 1
        _sort_candidates(keys, order, m)
        pivot = keys[order[m - 1]]
        running = 0
        for t in range(m):
            running += weights[order[t]]
            if 2 * running >= total:
                pivot = keys[order[t]]
                break
        less = 0
        less_equal = 0
        for k in range(n_folds):
            middle = lo[k] + (hi[k] - lo[k] - 1) // 2
            below[k] = _first_above(sorted_scores, shift[k], lo[k], hi[k], middle, pivot, _LEFT)
            upto[k] = _first_above(sorted_scores, shift[k], below[k], hi[k], below[k], pivot, _RIGHT)
            less += below[k] - lo[k]
            less_equal += upto[k] - lo[k]
        if target <= less:
            for k in range(n_folds):
                hi[k] = below[k]
            total = less
        elif target <= less_equal:
            return pivot
        else:
            for k in range(n_folds):
                lo[k] = upto[k]
            target -= less_equal
            total -= less_equal
    m = _ZERO
    for k in range(n_folds):
        for i in range(lo[k], hi[k]):
            gather[m] = shift[k] + sorted_scores[i]
            m += 1
    _select_inplace(gather, _ZERO, m, target - 1)
    return gather[target - 1]


@jit_parallel
def union_order_statistics(sorted_scores, starts, shifts, sign, ranks):  # pragma: no cover
    """Order statistics of a union of sorted arrays, each shifted by one constant per test point.

    Parameters
    ----------
    sorted_scores : float64 (n,)
        The scores of fold 0, then fold 1, ..., each fold's block sorted increasingly.
    starts : int64 (K + 1,)
        Fold k occupies ``sorted_scores[starts[k]:starts[k + 1]]``; ``starts[0] == 0``,
        ``starts[K] == n``. Empty folds are allowed.
    shifts : float64 (m, K)
        ``shifts[j, k]``: the centre of fold k at test point j.
    sign : float
        ``1.0`` or ``-1.0``: the values are ``(sign * shifts[j, k]) + score``.
    ranks : int64 (L,)
        1-based ranks; 0 or less gives -inf, more than n gives +inf.

    Returns
    -------
    float64 (m, L)
        ``out[j, l]`` is the ``ranks[l]``-th smallest of the n values of test point j, equal to
        ``np.sort(sign * shifts[j, fold] + scores)[ranks[l] - 1]``, in O(K log^2 n) time and
        O(K) workspace per test point, parallel over test points.
    """
    m = shifts.shape[0]
    n_folds = starts.shape[0] - 1
    n = starts[n_folds]
    n_levels = ranks.shape[0]
    out = np.empty((m, n_levels), dtype=np.float64)
    pooled = order_statistics(sorted_scores, ranks)
    anchors = np.empty((n_levels, n_folds), dtype=np.int64)
    for t in range(n_levels):
        for k in range(n_folds):  # np.searchsorted(block, pooled[t]), without compiling it
            a, b = starts[k], starts[k + 1]
            anchors[t, k] = _first_above(sorted_scores, 0.0, a, b, a, pooled[t], _LEFT)
    n_blocks = (m + _BLOCK - 1) // _BLOCK
    for block in prange(n_blocks):
        lo = np.empty(n_folds, dtype=np.int64)
        hi = np.empty(n_folds, dtype=np.int64)
        below = np.empty(n_folds, dtype=np.int64)
        upto = np.empty(n_folds, dtype=np.int64)
        keys = np.empty(n_folds, dtype=np.float64)
        weights = np.empty(n_folds, dtype=np.int64)
        order = np.empty(n_folds, dtype=np.int64)
        shift = np.empty(n_folds, dtype=np.float64)
        gather = np.empty(_GATHER, dtype=np.float64)
        stop = min(m, (block + 1) * _BLOCK)
        for j in range(block * _BLOCK, stop):
            for k in range(n_folds):
                shift[k] = sign * shifts[j, k]
            for t in range(n_levels):
                r = ranks[t]
                if r < 1:
                    out[j, t] = -np.inf
                elif r > n:
                    out[j, t] = np.inf
                else:
                    out[j, t] = _union_select(
                        sorted_scores,
                        starts,
                        shift,
                        r,
                        pooled[t],
                        anchors[t],
                        lo,
                        hi,
                        below,
                        upto,
                        keys,
                        weights,
                        order,
                        gather,
                    )
    return out


@jit_parallel
def shifted_order_statistics(centers, fold_of, scores, sign, ranks):  # pragma: no cover
    """Order statistics of ``sign * centers[j, fold_of[i]] + scores[i]`` over i, per test point.

    The streamed form for many folds (leave-one-out, bootstrap): each test point's n values are
    written to a buffer owned by the thread and selected in O(n), so memory is O(n) per thread
    beyond the inputs, whatever the number of test points.

    Parameters
    ----------
    centers : float64 (m, K)
        ``centers[j, k]``: the centre of fold k at test point j.
    fold_of : int64 (n,)
        Fold (column of ``centers``) of each calibration point.
    scores : float64 (n,)
    sign : float
        ``1.0`` or ``-1.0``.
    ranks : int64 (L,)
        1-based ranks; 0 or less gives -inf, more than n gives +inf.

    Returns
    -------
    float64 (m, L)
    """
    m = centers.shape[0]
    n = scores.shape[0]
    n_levels = ranks.shape[0]
    out = np.empty((m, n_levels), dtype=np.float64)
    n_blocks = (m + _BLOCK - 1) // _BLOCK
    for block in prange(n_blocks):
        buffer = np.empty(n, dtype=np.float64)
        stop = min(m, (block + 1) * _BLOCK)
        for j in range(block * _BLOCK, stop):
            for i in range(n):
                buffer[i] = sign * centers[j, fold_of[i]] + scores[i]
            _select_ranks(buffer, ranks, out[j])
    return out


@jit_parallel
def oob_medians(predictions, oob):  # pragma: no cover - compiled
    """Median, per test point and calibration point i, of the predictions of the models whose
    bootstrap sample left i out (jackknife+-after-bootstrap with ``aggregation="median"``).

    ``predictions`` is (m, B), one column per bootstrap model; ``oob`` is (n, B) with
    ``oob[i, b]`` true when point i is out of bag b (every row has at least one). The median of
    an even count is the mean of the two middle values, as in ``np.median``. Each test point's
    predictions are sorted once; each median is then a walk over B values: O(m n B).
    """
    m, n_models = predictions.shape
    n = oob.shape[0]
    counts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for b in range(n_models):
            if oob[i, b]:
                counts[i] += 1
    out = np.empty((m, n), dtype=np.float64)
    for j in prange(m):
        order = np.empty(n_models, dtype=np.int64)
        _sort_candidates(predictions[j], order, n_models)
        for i in range(n):
            low = (counts[i] - 1) // 2
            high = counts[i] // 2
            seen = 0
            first = np.nan
            for t in range(n_models):
                b = order[t]
                if oob[i, b]:
                    if seen == low:
                        first = predictions[j, b]
                    if seen == high:
                        out[j, i] = (first + predictions[j, b]) / 2.0 if high > low else first
                        break
                    seen += 1
    return out
