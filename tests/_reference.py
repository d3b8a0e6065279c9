"""Plain NumPy references for every kernel: slow, obvious, and the truth the kernels must match."""

from __future__ import annotations

import math

import numpy as np


def order_statistic(values: np.ndarray, rank: int) -> float:
    """The ``rank``-th smallest (1-based) by full sort; 0 -> -inf, > n -> +inf."""
    if rank < 1:
        return -np.inf
    if rank > len(values):
        return np.inf
    return float(np.sort(values)[rank - 1])


def upper_rank(n: int, alpha_num: int, alpha_den: int) -> int:
    """ceil((1 - a)(n + 1)) with a = alpha_num / alpha_den in exact integer arithmetic."""
    return -((-(alpha_den - alpha_num) * (n + 1)) // alpha_den)


def lower_rank(n: int, alpha_num: int, alpha_den: int) -> int:
    """floor(a (n + 1)) in exact integer arithmetic."""
    return (alpha_num * (n + 1)) // alpha_den


def weighted_quantile(values, weights, test_weight, level) -> float:
    """Level quantile of sum_i p_i delta_{v_i} + p_test delta_{+inf}, by a loop in sorted order."""
    order = np.argsort(values, kind="stable")
    total = float(np.sum(weights)) + test_weight
    running = 0.0
    for i in order:
        running += weights[i]
        if running >= level * total - 1e-12 * total:
            return float(values[i])
    return math.inf


def grouped_order_statistics(values, groups, rank_of_count):
    """{group: order statistic of its values at rank_of_count(len(group))}."""
    out = {}
    for g in np.unique(groups):
        v = values[groups == g]
        out[g] = order_statistic(v, rank_of_count(len(v)))
    return out


def plus_order_statistic(scores, fold_of, centers_row, sign, rank) -> float:
    """The ``rank``-th smallest of ``sign * centers_row[fold_of] + scores``: the naive
    cross-conformal computation, one row of the (n_test, n) matrix, fully sorted."""
    return order_statistic(sign * np.asarray(centers_row)[fold_of] + scores, rank)


def oob_median(predictions_row, oob_row) -> float:
    """Median of the predictions of the models whose bootstrap sample left the point out."""
    return float(np.median(np.asarray(predictions_row)[np.asarray(oob_row, dtype=bool)]))


def fill_intervals(lo, hi, q_lo, q_hi, scale):
    """``[lo - q_lo * scale, hi + q_hi * scale]`` by broadcasting, shape (n, L, 2)."""
    scale = np.asarray(scale)[:, np.newaxis]
    lower = np.asarray(lo)[:, np.newaxis] - q_lo * scale
    upper = np.asarray(hi)[:, np.newaxis] + q_hi * scale
    return np.stack(np.broadcast_arrays(lower, upper), axis=-1)
