"""Row-wise rearrangement of quantile matrices: sort and isotonic regression (PAV).

Each row of an ``(n, Q)`` float64 matrix holds one sample's predicted quantiles at increasing
levels; the kernels make every row non-decreasing. Rows are independent: a kernel is a serial
function of a range of rows (``_*_rows(..., begin, end)``) that
:func:`~conformal._kernels._config.parallel_rows` runs on threads, each row written by one call.

The sort is NumPy's ``np.sort(axis=1)``, not a kernel: measured against an insertion sort (the
natural choice for short, nearly sorted rows) and numba's ``np.sort`` per row, both on threads, it
was about 3x and 5x faster on crossing rows and 8x to 12x on random rows; only on rows that are
already sorted did the insertion sort win (``benchmarks/results/speed_isotonic.md``).

Isotonic regression is the pool-adjacent-violators algorithm (Ayer et al. 1955; Barlow et al.
1972) on a stack of blocks: each value enters as a block, and while the last two blocks are in
decreasing order they merge into one whose value is their weighted mean. O(Q) per row. Only a
strict decrease merges, so with unit weights (all the public function uses) a non-decreasing row
comes back unchanged, bit for bit; with other weights the cross-multiplied comparison can merge
equal neighbours, which changes values by a rounding error at most.
"""

from __future__ import annotations

import numpy as np

from ._config import jit, parallel_rows

# Entries per thread below which the kernel runs in the calling thread only (see parallel_rows):
# PAV costs a few ns per entry, so this is about a millisecond of work, well above the cost of
# handing a range to a thread.
_ENTRIES = 1 << 18


def sort_rows(values: np.ndarray) -> np.ndarray:
    """Each row of ``values`` sorted increasingly: ``np.sort(values, axis=1)``.

    Not a numba kernel, by measurement: NumPy's vectorised sort of many short rows beat both an
    insertion sort (O(Q + inversions) per row, the natural choice for nearly sorted quantile
    rows) and numba's ``np.sort`` per row, on threads, on every kind of row that crosses (see
    the module docstring), and it adds no compile time.

    Parameters
    ----------
    values : float64 (n, Q)
        NaN-free (NumPy sorts NaN last, which the caller refuses earlier); +-inf sort like any
        number.

    Returns
    -------
    float64 (n, Q)
        A new array; ``values`` is not modified.
    """
    return np.sort(values, axis=1)


@jit
def _isotonic_rows(values, weights, out, begin, end):  # pragma: no cover - compiled
    n_columns = values.shape[1]
    # The block stack: block b holds columns [first[b], first[b + 1]), with weighted sum
    # total[b] and weight mass[b]; its value is total[b] / mass[b].
    total = np.empty(n_columns, dtype=np.float64)
    mass = np.empty(n_columns, dtype=np.float64)
    first = np.empty(n_columns + 1, dtype=np.int64)
    for i in range(begin, end):
        m = 0
        for t in range(n_columns):
            w = weights[t]
            tw = w * values[i, t]
            start = t
            # Pool while the block below has the larger mean. The means are compared by cross-
            # multiplying (the masses are positive), not divided out: a division per merge sat on
            # the critical path and made crossing rows 1.7x slower. A NaN sum (+inf pooled with
            # -inf) compares false and stops the pooling; the caller reports it.
            while m > 0 and total[m - 1] * w > tw * mass[m - 1]:
                m -= 1
                tw += total[m]
                w += mass[m]
                start = first[m]
            total[m] = tw
            mass[m] = w
            first[m] = start
            m += 1
        first[m] = n_columns
        for b in range(m):
            lo = first[b]
            hi = first[b + 1]
            if hi - lo == 1:
                out[i, lo] = values[i, lo]  # a value left alone is copied, not (w * v) / w
            else:
                v = total[b] / mass[b]
                for t in range(lo, hi):
                    out[i, t] = v


def isotonic_rows(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each row of ``values`` projected onto non-decreasing vectors (weighted least squares).

    ``out[i]`` minimises ``sum_t weights[t] * (out[i, t] - values[i, t]) ** 2`` over
    non-decreasing rows: scikit-learn's ``IsotonicRegression().fit_transform(range(Q),
    values[i], sample_weight=weights)``, row by row.

    Parameters
    ----------
    values : float64 (n, Q), C-contiguous
        NaN-free. Infinite entries follow the limit of large finite ones: a block pooled with
        ``+inf`` (``-inf``) is ``+inf`` (``-inf``); a block that pools ``+inf`` with ``-inf`` is
        NaN (the limit depends on the rates), and the caller must check for it. Finite values
        must keep ``|value| * sum(weights) ** 2`` below the float64 maximum (about 1e308): the
        block means are compared by cross-multiplication.
    weights : float64 (Q,)
        Positive, finite column weights (ones: the unweighted projection).

    Returns
    -------
    float64 (n, Q)
        A new array; ``values`` is not modified. With unit weights a row that is already
        non-decreasing comes back unchanged, bit for bit. O(Q) per row, O(Q) workspace per
        thread; rows on threads.
    """
    out = np.empty_like(values)
    if values.shape[1] > 0:
        min_rows = max(1, _ENTRIES // values.shape[1])
        parallel_rows(_isotonic_rows, values.shape[0], (values, weights, out), min_rows)
    return out
