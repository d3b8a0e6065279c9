"""Kernels of batch predictive inference: the rank-sum law and the mean-bound knapsack.

Both are serial, ``nogil`` functions of plain arrays (options from :mod:`._config`).

- :func:`rank_sum_law` gives the law of ``sum_j (R_j - 1)`` for ``m`` test ranks uniform over the
  multisets of ``{1, ..., n + 1}``: the coefficients of the Gaussian binomial
  ``[n + m choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i)`` divided by ``C(n + m, m)``.
  Each factor is applied as a division by ``1 - q^i`` (lagged prefix sums of positive numbers)
  followed by a multiplication by ``1 - q^(n+i)``; only the lower half of each (palindromic,
  unimodal) polynomial is computed, the upper half is its mirror. That is ``O(m^2 n)`` work
  instead of the ``O(m^2 n^2)`` of the counting recursion over (size, largest value, sum), with a
  relative error of about ``eps * m * n`` (the prefix sums are at most ``s / i + 1`` times the
  new coefficient they produce). Each step is rescaled by its largest coefficient, so no count
  overflows.
- :func:`mean_bound_knapsack` is ``max sum_j f(r_j)`` over multisets ``r`` of size ``m`` with
  ``sum r_j <= capacity``: the exact dynamic programme ``dp[i][j] = max_r dp[i-1][j-r] + f(r)``
  (``O(m^2 n^2)`` as written), restricted exactly to sorted multisets (the ``i``-th smallest of
  ``m`` ranks summing to at most ``Q`` is at most ``(Q - (i - 1)) / (m - i + 1)``, the sum of the
  ``i`` smallest at most ``i Q / m``) and to the first rank of each run of tied values, and
  pruned by branch and bound: ``f`` is monotone, so its concave envelope ``G`` bounds any
  completion of ``c`` ranks with sum at most ``b`` by ``c G(b / c)`` (Jensen), and two vertices
  of the envelope give a feasible value; a state whose value plus its bound falls below that
  value cannot lead to the optimum and is dropped. The bound is tight up to about one rank's
  value, so few states survive: at ``n = 1000``, ``m = 100`` the programme runs about 100 times
  faster than the full one (``benchmarks/results/speed_batch.md``). The worst case is still
  ``O(m^2 n^2)``: ``f`` is not concave, so the envelope alone is not the answer (keeping only
  its vertices plus one free rank is wrong in about 2.5% of small random instances).
"""

from __future__ import annotations

import numpy as np

from ._config import jit

__all__ = ["mean_bound_knapsack", "rank_sum_law"]

BLOCK = 1024  # sums per block of the knapsack: 8 KB of the current row


@jit
def rank_sum_law(n: int, m: int) -> np.ndarray:  # pragma: no cover - compiled
    """``P(sum_j (R_j - 1) = s)``, ``s = 0..m n``, for ``m`` ranks uniform over multisets of
    ``{1, ..., n + 1}``; shape ``(m n + 1,)``."""
    degree = m * n
    half = degree // 2
    a = np.zeros(half + 1)
    b = np.zeros(half + 1)
    a[0] = 1.0  # [n choose 0]_q = 1
    for i in range(1, m + 1):
        d_i = i * n  # degree of [n + i choose i]_q
        h_i = min(d_i // 2, half)
        # b = a / (1 - q^i) on 0..h_i (positive lagged prefix sums)
        for s in range(h_i + 1):
            b[s] = a[s] + (b[s - i] if s >= i else 0.0)
        # a = b (1 - q^(n+i)) on 0..h_i
        lag = n + i
        for s in range(h_i + 1):
            value = b[s] - (b[s - lag] if s >= lag else 0.0)
            a[s] = value if value > 0.0 else 0.0
        # upper half by symmetry, up to what the next step reads
        top = min(d_i, half)
        for s in range(h_i + 1, top + 1):
            a[s] = a[d_i - s]
        for s in range(top + 1, half + 1):
            a[s] = 0.0
        peak = a[h_i]
        if peak > 0.0:
            for s in range(top + 1):
                a[s] /= peak
    out = np.empty(degree + 1)
    for s in range(half + 1):
        out[s] = a[s]
        out[degree - s] = a[s]
    total = 0.0
    for s in range(degree + 1):
        total += out[s]
    for s in range(degree + 1):
        out[s] /= total
    return out


@jit
def _hull(values: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """1-based ranks of the vertices of the upper concave envelope of ``values``."""
    n1 = values.shape[0]
    hull = np.empty(n1, dtype=np.int64)
    size = 0
    for r in range(1, n1 + 1):
        while size >= 2:
            a, b = hull[size - 2], hull[size - 1]
            # drop b when it lies on or below the chord from a to r
            if (values[b - 1] - values[a - 1]) * (r - a) <= (values[r - 1] - values[a - 1]) * (
                b - a
            ):
                size -= 1
            else:
                break
        hull[size] = r
        size += 1
    return hull[:size]


@jit
def _envelope(values: np.ndarray, hull: np.ndarray, x: float) -> float:  # pragma: no cover
    """The concave envelope at ``x >= 1`` (``values[-1]`` from the last rank on)."""
    last = hull[hull.shape[0] - 1]
    if x >= last:
        return values[last - 1]
    lo, hi = 0, hull.shape[0] - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if hull[mid] <= x:
            lo = mid
        else:
            hi = mid
    a, b = hull[lo], hull[hi]
    return values[a - 1] + (values[b - 1] - values[a - 1]) * (x - a) / (b - a)


@jit
def _lower_bound(
    values: np.ndarray, hull: np.ndarray, m: int, capacity: int
) -> float:  # pragma: no cover - compiled
    """A feasible value: ranks at the two hull vertices around ``capacity / m``, and the
    leftover budget on one more rank."""
    n1 = values.shape[0]
    x = capacity / m
    lo = 0
    for h in range(hull.shape[0]):
        if hull[h] <= x:
            lo = h
    v1 = hull[lo]
    v2 = hull[lo + 1] if lo + 1 < hull.shape[0] else v1
    if v2 == v1:
        a = m if v1 * m <= capacity else 0
    else:
        a = min(m, (capacity - m * v1) // (v2 - v1))
    left = capacity - a * v2 - (m - a) * v1
    best = a * values[v2 - 1] + (m - a) * values[v1 - 1]
    if a < m and left > 0:
        up = min(n1, v1 + left)
        best += values[up - 1] - values[v1 - 1]
    return best


@jit
def mean_bound_knapsack(
    values: np.ndarray, candidates: np.ndarray, m: int, capacity: int
) -> float:  # pragma: no cover - compiled
    """``max sum_j values[r_j - 1]`` over multisets of ``m`` ranks in ``candidates`` (1-based,
    ascending, ``values`` nondecreasing and finite) with ``sum_j r_j <= capacity``; ``-inf``
    when none.

    Exact branch and bound on the programme: a state (``i`` ranks, sum ``j``) is dropped when its
    value plus an upper bound of the best completion (``m - i`` ranks with sum at most
    ``capacity - j``: ``(m - i)`` times the concave envelope of ``values`` at their mean rank)
    falls below a feasible value; the optimum's own states are never dropped.
    """
    neg = -np.inf
    if capacity < m:
        return neg
    hull = _hull(values)
    floor = _lower_bound(values, hull, m, capacity)
    slack = 1e-9 * (abs(floor) + 1.0)
    prev = np.full(capacity + 1, neg)
    cur = np.full(capacity + 1, neg)
    prev[0] = 0.0
    n_cand = candidates.shape[0]
    live_lo, live_hi = 0, 0  # the sums with a live state after the previous step
    for i in range(1, m + 1):
        rank_cap = (capacity - (i - 1)) // (m - i + 1)  # the i-th smallest rank
        sum_cap = (i * capacity) // m  # the sum of the i smallest ranks
        for j in range(sum_cap + 1):
            cur[j] = neg
        top_all = min(sum_cap, live_hi + rank_cap)
        for start in range(live_lo + 1, top_all + 1, BLOCK):
            stop = min(start + BLOCK, top_all + 1)
            for c in range(n_cand):
                r = candidates[c]
                if r > rank_cap:
                    break
                v = values[r - 1]
                lo = max(start, r + live_lo)
                hi = min(stop, live_hi + r + 1)
                # branch-free (-inf + v is -inf), so that the compiler can vectorise it
                for j in range(lo, hi):
                    total = prev[j - r] + v
                    cur[j] = total if total > cur[j] else cur[j]
        # prune: value + the best possible completion below a feasible value
        rest = m - i
        new_lo, new_hi = -1, -1
        for j in range(top_all + 1):
            if cur[j] == neg:
                continue
            if rest > 0:
                budget = capacity - j
                if budget < rest:
                    cur[j] = neg
                    continue
                bound = rest * _envelope(values, hull, budget / rest)
                if cur[j] + bound < floor - slack:
                    cur[j] = neg
                    continue
            if new_lo < 0:
                new_lo = j
            new_hi = j
        if new_lo < 0:
            return neg
        live_lo, live_hi = new_lo, new_hi
        prev, cur = cur, prev
    best = neg
    for j in range(live_lo, live_hi + 1):
        if prev[j] > best:
            best = prev[j]
    return best
