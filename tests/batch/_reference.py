"""Plain Python / NumPy references for the batch kernels (brute force and the DP as written)."""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import comb

import numpy as np


def multisets(n: int, m: int):
    """Every sorted rank multiset of size ``m`` from ``1..n+1`` (``C(n + m, m)`` of them)."""
    return itertools.combinations_with_replacement(range(1, n + 2), m)


def rank_law_exact(n: int, m: int, zeta: int) -> list[Fraction]:
    """``P(R_(zeta) = k)``, ``k = 1..n+1``, by enumerating the multisets (exact fractions)."""
    counts = [0] * (n + 1)
    for ranks in multisets(n, m):
        counts[ranks[zeta - 1] - 1] += 1
    total = comb(n + m, m)
    return [Fraction(c, total) for c in counts]


def rank_sum_exact(n: int, m: int) -> list[Fraction]:
    """``P(sum of ranks = m + s)``, ``s = 0..m n``, by enumeration."""
    counts = [0] * (m * n + 1)
    for ranks in multisets(n, m):
        counts[sum(ranks) - m] += 1
    total = comb(n + m, m)
    return [Fraction(c, total) for c in counts]


def mean_bound_brute(values: np.ndarray, m: int, capacity: int) -> float:
    """``max sum f(r_j)`` over all multisets with rank sum ``<= capacity``."""
    best = -np.inf
    for ranks in multisets(values.shape[0] - 1, m):
        if sum(ranks) <= capacity:
            best = max(best, float(sum(values[r - 1] for r in ranks)))
    return best


def mean_bound_dp(values: np.ndarray, m: int, capacity: int) -> float:
    """The knapsack as written, ``dp[i][j] = max_r dp[i-1][j-r] + f(r)``, in NumPy (vectorised
    over ``j``): the baseline of the speed benchmark."""
    n1 = values.shape[0]
    dp = np.full(capacity + 1, -np.inf)
    dp[0] = 0.0
    for _ in range(m):
        new = np.full(capacity + 1, -np.inf)
        for r in range(1, n1 + 1):
            if r > capacity:
                break
            np.maximum(new[r:], dp[: capacity + 1 - r] + values[r - 1], out=new[r:])
        dp = new
    return float(dp.max())
