"""Order statistics and weighted quantiles.

Ranks are 1-based and computed by the caller (:func:`conformal.calibration.conformal_rank` is the
one place that turns a confidence level into a rank). A rank of 0 means "-inf" and a rank above the
number of points means "+inf": the kernels return infinities rather than clamping.

Compile time is part of the design (a user's first call pays it; ``benchmarks/cold_start.py``
measures it). Numba links every callee's optimised code into each caller and optimises it again,
so the compiled helpers are few and shallow: a kernel is a serial function of a range of rows
(``_*_rows(..., begin, end)``) run on threads by :func:`~conformal._kernels._config.parallel_rows`,
its helpers at most two calls deep; the kernels compile no ``np.sort`` / ``np.argsort`` /
``np.searchsorted`` (each brings a large generic implementation) and no slice assignment (its
shape check builds an error message from strings).
"""

from __future__ import annotations

import itertools

import numpy as np

from ._config import jit, parallel_rows

_SMALL = 16  # below this many elements a sort beats further partitioning

# Arguments of compiled helpers are typed at each call site, and a literal (``0``, ``True``) or a
# variable that starts as one (``m = 0`` then ``m += 1``) makes numba compile the helper once more
# for ``Literal[int](0)``. These are typed values, not literals, so each helper compiles once.
_ZERO = np.int64(0)
_LEFT = np.bool_(False)  # _first_above: first value >= pivot
_RIGHT = np.bool_(True)  # _first_above: first value > pivot

_QUICKSORT_SMALL = 15  # numba's SMALL_QUICKSORT: insertion sort once high - low is below it
_QUICKSORT_STACK = 100  # numba's MAX_STACK

# Rows per thread below which a kernel runs in the calling thread only (see parallel_rows).
_ROWS_BINARY_SEARCH = 4096  # O(L log n) per row
_ROWS_PLUS = 256  # O(K log^2 n) or O(n) per row


@jit
def _select_ranks(buffer, ranks, out):  # pragma: no cover - compiled
    """Write the ``ranks``-th smallest of ``buffer`` into ``out`` (``buffer`` is reordered).

    ``ranks`` need not be sorted; they are visited in increasing order (a stable insertion
    argsort, which is what ``np.argsort`` does for fewer than 16 ranks) and each selection only
    searches to the right of the previous one, so several levels cost little more than one.

    Each selection is an introselect: median-of-three quickselect on the active range; once it
    holds at most ``_SMALL`` elements, or if partitioning degenerates (past ``2 log2 n + 8``
    rounds: the worst case stays O(n log n)), the range is sorted by a transcription of numba's
    ``np.sort`` quicksort, so that elements move exactly as they did when this called
    ``np.sort`` (even the sign of a zero result is unchanged).
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
    stack = np.empty(2 * _QUICKSORT_STACK, dtype=np.int64)
    begin = _ZERO
    for t in range(n_ranks):
        r = ranks[order[t]]
        if r < 1:
            out[order[t]] = -np.inf
            continue
        if r > n:
            out[order[t]] = np.inf
            continue
        k = r - 1
        lo = begin
        hi = n
        depth = 0
        limit = 2 * int(np.log2(hi - lo + 1)) + 8
        found = False
        while hi - lo > _SMALL and depth <= limit:
            depth += 1
            mid = (lo + hi - 1) // 2
            last = hi - 1
            if buffer[mid] < buffer[lo]:
                buffer[mid], buffer[lo] = buffer[lo], buffer[mid]
            if buffer[last] < buffer[lo]:
                buffer[last], buffer[lo] = buffer[lo], buffer[last]
            if buffer[last] < buffer[mid]:
                buffer[last], buffer[mid] = buffer[mid], buffer[last]
            pivot = buffer[mid]
            i = lo
            j = last
            while i <= j:
                while buffer[i] < pivot:
                    i += 1
                while buffer[j] > pivot:
                    j -= 1
                if i <= j:
                    buffer[i], buffer[j] = buffer[j], buffer[i]
                    i += 1
                    j -= 1
            # buffer[lo:j+1] <= pivot, buffer[j+1:i] == pivot, buffer[i:hi] >= pivot
            if k <= j:
                hi = j + 1
            elif k >= i:
                lo = i
            else:
                found = True
                break
        if not found:
            # Sort buffer[lo:hi]: numba's quicksort.run_quicksort1 on a float array (NaN-free),
            # inclusive bounds, larger part pushed on the stack, insertion sort of small parts.
            stack[0] = lo
            stack[1] = hi - 1
            depth = 1
            while depth > 0:
                depth -= 1
                low = stack[2 * depth]
                high = stack[2 * depth + 1]
                while high - low >= _QUICKSORT_SMALL:
                    mid = (low + high) >> 1
                    if buffer[mid] < buffer[low]:
                        buffer[low], buffer[mid] = buffer[mid], buffer[low]
                    if buffer[high] < buffer[mid]:
                        buffer[high], buffer[mid] = buffer[mid], buffer[high]
                    if buffer[mid] < buffer[low]:
                        buffer[low], buffer[mid] = buffer[mid], buffer[low]
                    pivot = buffer[mid]
                    buffer[high], buffer[mid] = buffer[mid], buffer[high]
                    i = low
                    j = high - 1
                    while True:
                        while i < high and buffer[i] < pivot:
                            i += 1
                        while j >= low and pivot < buffer[j]:
                            j -= 1
                        if i >= j:
                            break
                        buffer[i], buffer[j] = buffer[j], buffer[i]
                        i += 1
                        j -= 1
                    buffer[i], buffer[high] = buffer[high], buffer[i]
                    if high - i > i - low:
                        if high > i:
                            stack[2 * depth] = i + 1
                            stack[2 * depth + 1] = high
                            depth += 1
                        high = i - 1
                    else:
                        if i > low:
                            stack[2 * depth] = low
                            stack[2 * depth + 1] = i - 1
                            depth += 1
                        low = i + 1
                for i in range(low + 1, high + 1):
                    v = buffer[i]
                    j = i
                    while j > low and v < buffer[j - 1]:
                        buffer[j] = buffer[j - 1]
                        j -= 1
                    buffer[j] = v
        out[order[t]] = buffer[k]
        begin = k


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
    code selects with ``_select_ranks``; the Python side of the kernels (the pooled order
    statistics of :func:`union_order_statistics`) uses this.
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


@jit
def _bucket(values, codes, starts):  # pragma: no cover - compiled
    """``values`` grouped by code, in their order within each group (a counting sort, O(n));
    ``starts`` are the groups' first positions (cumulative counts)."""
    fill = starts[:-1].copy()
    buffer = np.empty(values.shape[0], dtype=np.float64)
    for i in range(values.shape[0]):
        g = codes[i]
        buffer[fill[g]] = values[i]
        fill[g] += 1
    return buffer


@jit
def _grouped_rows(buffer, starts, ranks, out, begin, end):  # pragma: no cover - compiled
    for g in range(begin, end):
        _select_ranks(buffer[starts[g] : starts[g + 1]], ranks[g], out[g])


def grouped_order_statistics(
    values: np.ndarray, codes: np.ndarray, n_groups: int, ranks: np.ndarray
) -> np.ndarray:
    """Per-group order statistics in one pass over the data.

    ``codes`` are group indices in ``[0, n_groups)``; ``ranks`` is ``(n_groups, n_levels)`` with
    each group's 1-based ranks. Values are bucketed by group with a counting sort (O(n)), then
    each group's ranks are selected in its own contiguous block (O(n) expected in all), groups on
    threads when there are many values.
    """
    n_groups = int(n_groups)
    starts = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes, minlength=n_groups), out=starts[1:])
    buffer = _bucket(values, codes, starts)
    out = np.empty(ranks.shape, dtype=np.float64)
    per_thread = 1 if values.shape[0] >= 2**16 else max(n_groups, 1)
    parallel_rows(_grouped_rows, n_groups, (buffer, starts, ranks, out), per_thread)
    return out


@jit
def _weighted_rows(
    sorted_values, cumulative_weights, test_weights, levels, rtol, out, begin, end
):  # pragma: no cover - compiled
    n = sorted_values.shape[0]
    n_levels = levels.shape[0]
    total = cumulative_weights[n - 1] if n > 0 else 0.0
    for j in range(begin, end):
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


def weighted_quantiles(
    sorted_values: np.ndarray,
    cumulative_weights: np.ndarray,
    test_weights: np.ndarray,
    levels: np.ndarray,
    rtol: float,
) -> np.ndarray:
    """Weighted conformal quantiles with each test point's own mass at +inf.

    ``sorted_values`` are calibration scores in increasing order and ``cumulative_weights`` the
    running sums of their weights in that order (sort once, prefix sums once). For test point ``j``
    with weight ``w_j`` and level ``l``, the quantile is the smallest score whose cumulative weight
    reaches ``l * (W + w_j)`` (``W`` the total calibration weight), found by binary search:
    O(log n) per test point and level, test points on threads. If no score reaches it, the test
    point's own mass at +inf does, and the answer is +inf. ``rtol`` absorbs floating-point error
    in the running sums so that unit weights reproduce the exact unweighted order statistic.
    """
    m = test_weights.shape[0]
    out = np.empty((m, levels.shape[0]), dtype=np.float64)
    args = (sorted_values, cumulative_weights, test_weights, levels, float(rtol), out)
    parallel_rows(_weighted_rows, m, args, _ROWS_BINARY_SEARCH)
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
# it, so the result is bit-identical to sorting the matrix row (up to the sign of a zero when the
# row holds both +0.0 and -0.0 at the selected rank). NaN is not supported (a finite centre plus
# an infinite score is fine; +inf plus -inf is not). The weighted forms
# (:func:`weighted_union_quantiles`, :func:`weighted_shifted_quantiles`) are below them.

_INSERTION = 32  # up to this many folds the pivot candidates are sorted by insertion
_GATHER = 256  # once this few values remain active they are copied out and selected


@jit
def _sort_candidates(keys, order, m):  # pragma: no cover - compiled
    """``order[:m]`` = indices of ``keys[:m]`` in increasing order (insertion sort up to
    ``_INSERTION`` keys, heapsort above, one sift-down loop for both of its phases).

    Hand-written on purpose: numba's ``np.argsort`` and ``np.sort`` on float64 arrays compile
    closures with the same mangled name, and two cached kernels compiled in different processes
    can then resolve to each other's code and crash (numba issue #10128); they are also slow to
    compile. The package's kernels use neither.
    """
    for t in range(m):
        order[t] = t
    if m > _INSERTION:
        start = m // 2
        end = m
        while end > 1:
            if start > 0:  # heapify
                start -= 1
            else:  # move the largest to the end
                end -= 1
                order[0], order[end] = order[end], order[0]
            root = start
            while 2 * root + 1 < end:
                child = 2 * root + 1
                if child + 1 < end and keys[order[child + 1]] > keys[order[child]]:
                    child += 1
                if keys[order[child]] <= keys[order[root]]:
                    break
                order[root], order[child] = order[child], order[root]
                root = child
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
    value = shift + sorted_scores[guess]
    if value > pivot or (not strict and value == pivot):
        hi = guess  # answer in [lo, guess]
        while hi - step >= lo:
            value = shift + sorted_scores[hi - step]
            if not (value > pivot or (not strict and value == pivot)):
                break
            hi -= step
            step *= 2
        if hi - step + 1 > lo:
            lo = hi - step + 1
    else:
        lo = guess + 1  # answer in [guess + 1, hi]
        while lo + step - 1 < hi:
            value = shift + sorted_scores[lo + step - 1]
            if value > pivot or (not strict and value == pivot):
                break
            lo += step
            step *= 2
        if lo + step - 1 < hi:
            hi = lo + step - 1
    while lo < hi:
        mid = (lo + hi) // 2
        value = shift + sorted_scores[mid]
        if value > pivot or (not strict and value == pivot):
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
    3. The at most ``_GATHER`` values left are copied out and selected (a plain quickselect:
       O(_GATHER^2) at worst, a constant).
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
    if target < 1 or target > total:  # the bracket missed the answer: only a NaN does this
        return np.nan
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
            upto[k] = _first_above(
                sorted_scores, shift[k], below[k], hi[k], below[k], pivot, _RIGHT
            )
            less += below[k] - lo[k]
            less_equal += upto[k] - lo[k]
        if less == total or less_equal == 0:  # no progress: only a NaN does this
            return np.nan
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
    m = 0
    for k in range(n_folds):
        for i in range(lo[k], hi[k]):
            gather[m] = shift[k] + sorted_scores[i]
            m += 1
    # Quickselect of the (target - 1)-th of gather[:m] (Hoare partition, middle pivot).
    select = target - 1
    first = 0
    last = m - 1
    while first < last:
        pivot = gather[(first + last) // 2]
        i = first
        j = last
        while i <= j:
            while gather[i] < pivot:
                i += 1
            while gather[j] > pivot:
                j -= 1
            if i <= j:
                gather[i], gather[j] = gather[j], gather[i]
                i += 1
                j -= 1
        if select <= j:
            last = j
        elif select >= i:
            first = i
        else:
            break
    return gather[select]


@jit
def _union_rows(
    sorted_scores, starts, shifts, sign, ranks, pooled, anchors, out, begin, end
):  # pragma: no cover - compiled
    n_folds = starts.shape[0] - 1
    n = starts[n_folds]
    n_levels = ranks.shape[0]
    lo = np.empty(n_folds, dtype=np.int64)
    hi = np.empty(n_folds, dtype=np.int64)
    below = np.empty(n_folds, dtype=np.int64)
    upto = np.empty(n_folds, dtype=np.int64)
    keys = np.empty(n_folds, dtype=np.float64)
    weights = np.empty(n_folds, dtype=np.int64)
    order = np.empty(n_folds, dtype=np.int64)
    shift = np.empty(n_folds, dtype=np.float64)
    gather = np.empty(_GATHER, dtype=np.float64)
    for j in range(begin, end):
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


def _fold_ids(starts: np.ndarray) -> np.ndarray:
    """Fold of each position of the fold-sorted scores."""
    return np.repeat(np.arange(starts.shape[0] - 1), np.diff(starts))


def union_order_statistics(
    sorted_scores: np.ndarray,
    starts: np.ndarray,
    shifts: np.ndarray,
    sign: float,
    ranks: np.ndarray,
) -> np.ndarray:
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
        O(K) workspace per test point, test points on threads. The pooled order statistics and
        each fold's position of them (where the searches start) are found once, in NumPy.
    """
    m = shifts.shape[0]
    n_folds = starts.shape[0] - 1
    n_levels = ranks.shape[0]
    out = np.empty((m, n_levels), dtype=np.float64)
    pooled = partitioned_order_statistics(sorted_scores, ranks)
    anchors = np.empty((n_levels, n_folds), dtype=np.int64)
    if n_levels and n_folds:
        folds = _fold_ids(starts)
        for t in range(n_levels):  # np.searchsorted(block k, pooled[t]) for every k at once
            below = np.bincount(folds[sorted_scores < pooled[t]], minlength=n_folds)
            anchors[t] = starts[:-1] + below
    args = (sorted_scores, starts, shifts, float(sign), ranks, pooled, anchors, out)
    parallel_rows(_union_rows, m, args, _ROWS_PLUS)
    return out


@jit
def _shifted_rows(centers, fold_of, scores, sign, ranks, out, begin, end):  # pragma: no cover
    n = scores.shape[0]
    buffer = np.empty(n, dtype=np.float64)
    for j in range(begin, end):
        for i in range(n):
            buffer[i] = sign * centers[j, fold_of[i]] + scores[i]
        _select_ranks(buffer, ranks, out[j])


def shifted_order_statistics(
    centers: np.ndarray, fold_of: np.ndarray, scores: np.ndarray, sign: float, ranks: np.ndarray
) -> np.ndarray:
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
    out = np.empty((m, ranks.shape[0]), dtype=np.float64)
    args = (centers, fold_of, scores, float(sign), ranks, out)
    parallel_rows(_shifted_rows, m, args, _ROWS_PLUS)
    return out


@jit
def _oob_rows(predictions, oob, counts, out, begin, end):  # pragma: no cover - compiled
    n_models = predictions.shape[1]
    n = oob.shape[0]
    order = np.empty(n_models, dtype=np.int64)
    for j in range(begin, end):
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


def oob_medians(predictions: np.ndarray, oob: np.ndarray) -> np.ndarray:
    """Median, per test point and calibration point i, of the predictions of the models whose
    bootstrap sample left i out (jackknife+-after-bootstrap with ``aggregation="median"``).

    ``predictions`` is (m, B), one column per bootstrap model; ``oob`` is (n, B) with
    ``oob[i, b]`` true when point i is out of bag b (every row has at least one). The median of
    an even count is the mean of the two middle values, as in ``np.median``. Each test point's
    predictions are sorted once; each median is then a walk over B values: O(m n B), test points
    on threads.
    """
    m = predictions.shape[0]
    counts = np.count_nonzero(oob, axis=1).astype(np.int64)
    out = np.empty((m, oob.shape[0]), dtype=np.float64)
    parallel_rows(_oob_rows, m, (predictions, oob, counts, out), _ROWS_PLUS)
    return out


# ------------------------------------------------------------------- weighted plus bounds
#
# Weighted jackknife+ / CV+ (covariate shift: calibration weights w_i, e.g. likelihood ratios,
# and each test point's own weight w_test[j] at +inf; Tibshirani et al. 2019, Barber et al. 2021
# and 2023). The bound of test point j at level beta is the weighted quantile of its n values
# v_i = (sign * c[j, fold(i)]) + R_i with the rule of weighted_quantiles:
#
#     the smallest v among the v_i with C(v) >= beta * M - rtol * M, where C(v) is the weight of
#     the v_i <= v, M = W + w_test[j] and W the total calibration weight; +inf when even W falls
#     short of that target (the test point's own mass at +inf is then what reaches the level).
#
# Ties are whole (C counts every v_i equal to v), so the answer does not depend on how tied
# values are ordered, and unit weights give exactly the unweighted order statistic of rank
# ceil(beta (n + 1)) (rtol absorbs 0.9 * 10 = 9.000000000000002). The lower bound is the
# caller's mirror image, as for the unweighted kernels: sign=-1, negate the result.
#
# Floating-point sums: the union kernel evaluates C(v) as a sum over folds (in fold order) of
# per-fold running sums, the streamed kernel as partial sums in partition order. Both equal the
# definition in exact arithmetic; with non-integer weights they can differ from a running sum in
# sorted order by a few ulps of W, which matters only when C(v) lies that close to the target,
# far inside the rtol slack. Integer and dyadic weights sum exactly, in any order.


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
    with ``C(v) >= target``, given that the largest value reaches it (``W >= target``, n > 0).

    ``C(x)`` is the sum over folds k (in order) of fold k's running weight up to its last value
    ``<= x``: a fixed, monotone function of ``x``, so the rounds below are exact with respect to
    it. Each fold keeps an active range ``[lo[k], hi[k])`` that holds the answer. A round takes
    the pivot as the (active-length weighted) lower median of the folds' middle active values,
    finds by galloping binary search how many values of each fold are below and at it, reads
    ``C(< pivot)`` and ``C(pivot)`` from the running sums, and returns the pivot or discards every
    active value on the wrong side of it (at least a quarter of them). O(log n) rounds of 2K
    searches: O(K log^2 n); workspace O(K).
    """
    n_folds = starts.shape[0] - 1
    for k in range(n_folds):
        lo[k] = starts[k]
        hi[k] = starts[k + 1]
    while True:
        m = _ZERO
        total = 0
        for k in range(n_folds):
            width = hi[k] - lo[k]
            if width > 0:
                keys[m] = shift[k] + sorted_scores[lo[k] + (width - 1) // 2]
                widths[m] = width
                m += 1
                total += width
        if m == 0:  # nothing active: only a NaN does this
            return np.nan
        _sort_candidates(keys, order, m)
        pivot = keys[order[m - 1]]
        running = 0
        for t in range(m):
            running += widths[order[t]]
            if 2 * running >= total:
                pivot = keys[order[t]]
                break
        n_less = 0
        active_less = 0
        active_less_equal = 0
        less = 0.0
        less_equal = 0.0
        for k in range(n_folds):
            middle = lo[k] + (hi[k] - lo[k] - 1) // 2
            below[k] = _first_above(sorted_scores, shift[k], lo[k], hi[k], middle, pivot, _LEFT)
            upto[k] = _first_above(
                sorted_scores, shift[k], below[k], hi[k], below[k], pivot, _RIGHT
            )
            n_less += below[k] - starts[k]
            active_less += below[k] - lo[k]
            active_less_equal += upto[k] - lo[k]
            # A fold's running sums restart at its start: the weight of [start, p) is cw[p - 1].
            if below[k] > starts[k]:
                less += cumulative_weights[below[k] - 1]
            if upto[k] > starts[k]:
                less_equal += cumulative_weights[upto[k] - 1]
        if active_less == total or active_less_equal == 0:  # no progress: only a NaN does this
            return np.nan
        if n_less > 0 and less >= target:
            # The largest value below the pivot already reaches the target: it is active (the
            # values left of the active ranges do not reach it), so the answer is below the pivot.
            for k in range(n_folds):
                hi[k] = below[k]
        elif less_equal >= target:
            return pivot
        else:
            for k in range(n_folds):
                lo[k] = upto[k]


@jit
def _weighted_union_rows(
    sorted_scores,
    cumulative_weights,
    starts,
    shifts,
    sign,
    test_weights,
    levels,
    rtol,
    out,
    begin,
    end,
):  # pragma: no cover - compiled
    n_folds = starts.shape[0] - 1
    n = starts[n_folds]
    n_levels = levels.shape[0]
    total = 0.0
    for k in range(n_folds):
        if starts[k + 1] > starts[k]:
            total += cumulative_weights[starts[k + 1] - 1]
    lo = np.empty(n_folds, dtype=np.int64)
    hi = np.empty(n_folds, dtype=np.int64)
    below = np.empty(n_folds, dtype=np.int64)
    upto = np.empty(n_folds, dtype=np.int64)
    keys = np.empty(n_folds, dtype=np.float64)
    widths = np.empty(n_folds, dtype=np.int64)
    order = np.empty(n_folds, dtype=np.int64)
    shift = np.empty(n_folds, dtype=np.float64)
    for j in range(begin, end):
        for k in range(n_folds):
            shift[k] = sign * shifts[j, k]
        mass = total + test_weights[j]
        for t in range(n_levels):
            target = levels[t] * mass - rtol * mass
            if n == 0 or not total >= target:  # (a NaN target: an infinite test weight)
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


def weighted_union_quantiles(
    sorted_scores: np.ndarray,
    cumulative_weights: np.ndarray,
    starts: np.ndarray,
    shifts: np.ndarray,
    sign: float,
    test_weights: np.ndarray,
    levels: np.ndarray,
    rtol: float,
) -> np.ndarray:
    """Weighted plus bounds across K sorted folds (the union form: few folds, e.g. weighted CV+).

    Parameters
    ----------
    sorted_scores : float64 (n,)
        The scores of fold 0, then fold 1, ..., each fold's block sorted increasingly (as for
        :func:`union_order_statistics`).
    cumulative_weights : float64 (n,)
        Running sums of the (non-negative) calibration weights in the order of
        ``sorted_scores``, restarting at each fold: ``cumulative_weights[i]`` is the weight of
        fold k's entries ``starts[k]..i``. Sort once, ``np.cumsum`` each block once.
    starts : int64 (K + 1,)
        Fold k occupies ``[starts[k], starts[k + 1])``; ``starts[0] == 0``, ``starts[K] == n``.
        Empty folds are allowed.
    shifts : float64 (m, K)
        ``shifts[j, k]``: the centre of fold k at test point j.
    sign : float
        ``1.0`` or ``-1.0``: the values are ``(sign * shifts[j, k]) + score``.
    test_weights : float64 (m,)
        Each test point's (non-negative) weight, placed at ``+inf``.
    levels : float64 (L,)
        Levels ``beta`` (``1 - a`` for an upper bound; any value, as in
        :func:`weighted_quantiles`).
    rtol : float
        Relative slack of the target mass, as in :func:`weighted_quantiles` (``1e-12``).

    Returns
    -------
    float64 (m, L)
        ``out[j, l]``: the smallest value ``v`` of test point j with ``C(v) >= levels[l] * M -
        rtol * M`` (``C(v)`` the weight of its values ``<= v``, ``M`` the calibration weight
        plus ``test_weights[j]``), ``+inf`` if there is none (see the section comment). O(K log^2
        n) time per test point and level, O(K) workspace per thread and no (m, n) matrix; test
        points on threads.
    """
    m = shifts.shape[0]
    out = np.empty((m, levels.shape[0]), dtype=np.float64)
    args = (
        sorted_scores,
        cumulative_weights,
        starts,
        shifts,
        float(sign),
        test_weights,
        levels,
        float(rtol),
        out,
    )
    parallel_rows(_weighted_union_rows, m, args, _ROWS_PLUS)
    return out


@jit
def _weighted_select(values, weights, target):  # pragma: no cover - compiled
    """The smallest ``v`` in ``values`` with ``C(v) >= target`` (``C(v)`` the weight of the
    values ``<= v``), ``+inf`` if none; ``values`` and ``weights`` are reordered together.

    Weighted introselect: a three-way partition around a median-of-three pivot sums the weights
    below and at the pivot; the pivot is the answer, or the search goes on in the part that holds
    it, with the weight of what lies left of the active range carried along. O(n) expected; once
    at most ``_SMALL`` values remain, or past ``2 log2 n + 8`` rounds (a degenerate input: the
    worst case stays O(n log n)), the rest is sorted (insertion or heap sort) and scanned.
    """
    n = values.shape[0]
    lo = 0
    hi = n
    acc = 0.0  # weight of the values left of the active range (all below it)
    fallback = np.inf  # a value whose C reached the target (rounding safety net)
    depth = 0
    limit = 2 * int(np.log2(n + 1)) + 8
    while hi - lo > _SMALL and depth <= limit:
        depth += 1
        mid = (lo + hi - 1) // 2
        a = values[lo]
        b = values[mid]
        c = values[hi - 1]
        if b < a:
            a, b = b, a
        if c < b:
            b = c if a <= c else a
        pivot = b
        # [lo, lt) < pivot, [lt, i) == pivot, [gt, hi) > pivot
        lt = lo
        i = lo
        gt = hi
        less = 0.0
        equal = 0.0
        top = -np.inf  # the largest value below the pivot
        while i < gt:
            v = values[i]
            w = weights[i]
            if v < pivot:
                less += w
                top = max(top, v)
                values[i] = values[lt]
                weights[i] = weights[lt]
                values[lt] = v
                weights[lt] = w
                lt += 1
                i += 1
            elif v > pivot:
                gt -= 1
                values[i] = values[gt]
                weights[i] = weights[gt]
                values[gt] = v
                weights[gt] = w
            else:
                equal += w
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
    size = hi - lo
    if size <= _SMALL:  # insertion sort of values[lo:hi], weights along
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
    else:  # heapsort (one sift-down loop for both phases)
        start = size // 2
        end = size
        while end > 1:
            if start > 0:
                start -= 1
            else:
                end -= 1
                values[lo], values[lo + end] = values[lo + end], values[lo]
                weights[lo], weights[lo + end] = weights[lo + end], weights[lo]
            root = start
            while 2 * root + 1 < end:
                child = 2 * root + 1
                if child + 1 < end and values[lo + child + 1] > values[lo + child]:
                    child += 1
                if values[lo + child] <= values[lo + root]:
                    break
                x = lo + root
                y = lo + child
                values[x], values[y] = values[y], values[x]
                weights[x], weights[y] = weights[y], weights[x]
                root = child
    for i in range(lo, hi):
        acc += weights[i]
        if acc >= target:
            return values[i]
    return fallback


@jit
def _weighted_shifted_rows(
    centers, fold_of, scores, weights, sign, test_weights, levels, rtol, out, begin, end
):  # pragma: no cover - compiled
    n = scores.shape[0]
    n_levels = levels.shape[0]
    total = 0.0
    for i in range(n):
        total += weights[i]
    values = np.empty(n, dtype=np.float64)
    masses = np.empty(n, dtype=np.float64)
    for j in range(begin, end):
        mass = total + test_weights[j]
        for t in range(n_levels):
            target = levels[t] * mass - rtol * mass
            if n == 0 or not total >= target:  # (a NaN target: an infinite test weight)
                out[j, t] = np.inf
                continue
            for i in range(n):  # refilled per level: a level's answer ignores the others
                values[i] = sign * centers[j, fold_of[i]] + scores[i]
                masses[i] = weights[i]
            out[j, t] = _weighted_select(values, masses, target)


def weighted_shifted_quantiles(
    centers: np.ndarray,
    fold_of: np.ndarray,
    scores: np.ndarray,
    weights: np.ndarray,
    sign: float,
    test_weights: np.ndarray,
    levels: np.ndarray,
    rtol: float,
) -> np.ndarray:
    """Weighted plus bounds, streamed (many folds: weighted jackknife+, bootstrap).

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
        Each test point's (non-negative) weight, placed at ``+inf``.
    levels : float64 (L,)
    rtol : float
        As for :func:`weighted_union_quantiles`.

    Returns
    -------
    float64 (m, L)
        The numbers of :func:`weighted_union_quantiles` on the same data (up to the order of the
        floating-point sums, see the section comment). Each test point's n values and weights are
        written to buffers owned by the thread and selected by a weighted introselect, per level:
        O(n L) expected time per test point, O(n) memory per thread, no (m, n) matrix; test
        points on threads.
    """
    m = centers.shape[0]
    out = np.empty((m, levels.shape[0]), dtype=np.float64)
    args = (
        centers,
        fold_of,
        scores,
        weights,
        float(sign),
        test_weights,
        levels,
        float(rtol),
        out,
    )
    parallel_rows(_weighted_shifted_rows, m, args, _ROWS_PLUS)
    return out
