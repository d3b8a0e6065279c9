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


def venn_abers_pair(calibration_scores, calibration_labels, test_scores):
    """Venn-ABERS ``(p0, p1)`` by definition: for every test score and each label ``l`` in
    {0, 1}, refit scikit-learn's IsotonicRegression on the calibration points plus ``(s, l)`` and
    evaluate it at ``s`` (tied scores are pooled, as IsotonicRegression does)."""
    from sklearn.isotonic import IsotonicRegression

    scores = np.asarray(calibration_scores, dtype=np.float64)
    labels = np.asarray(calibration_labels, dtype=np.float64)
    tests = np.asarray(test_scores, dtype=np.float64)
    pair = np.empty((2, tests.shape[0]))
    for t, s in enumerate(tests):
        for label in (0, 1):
            model = IsotonicRegression(out_of_bounds="clip")
            model.fit(np.append(scores, s), np.append(labels, label))
            pair[label, t] = model.predict([s])[0]
    return pair[0], pair[1]


def venn_abers_upper(counts, positives):
    """The Venn-ABERS kernel's answer by definition: for each distinct score ``j``, refit
    IsotonicRegression on the group means with the test point (label 1) added to group ``j``,
    weighted by the group sizes, and read the fit at ``j``."""
    from sklearn.isotonic import IsotonicRegression

    counts = np.asarray(counts, dtype=np.float64)
    positives = np.asarray(positives, dtype=np.float64)
    k = counts.shape[0]
    out = np.empty(k)
    for j in range(k):
        weights, ones = counts.copy(), positives.copy()
        weights[j] += 1
        ones[j] += 1
        model = IsotonicRegression().fit(np.arange(k), ones / weights, sample_weight=weights)
        out[j] = model.predict([j])[0]
    return out


def weighted_plus_quantile(
    scores, weights, fold_of, centers_row, sign, test_weight, level, rtol=1e-12
) -> float:
    """Weighted plus bound, one test point, the naive way: build the n values
    ``sign * centers_row[fold_of] + scores``, sort them (stably), accumulate their weights in
    that order and return the first value whose running weight reaches
    ``level * M - rtol * M`` (``M`` = total weight + ``test_weight``); ``+inf`` if none (the test
    point's mass sits at ``+inf``)."""
    values = sign * np.asarray(centers_row, dtype=np.float64)[np.asarray(fold_of)] + scores
    weights = np.asarray(weights, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    total = float(np.sum(weights)) + test_weight
    target = level * total - rtol * total
    running = 0.0
    for i in order:
        running += weights[i]
        if running >= target:
            return float(values[i])
    return math.inf
