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


# ---- forest and neighbour quantiles (conformal/_kernels/forest.py) -------------------------------


def inverted_cdf_quantiles(values, weights, levels, rtol=1e-12):
    """Weighted quantiles with no interpolation: for each level, the first value (in stable
    sorted order) whose running weight reaches ``level * W - rtol * W``; NaN if ``W`` is 0."""
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    total = float(np.sum(weights))
    if not total > 0:
        return np.full(len(levels), np.nan)
    order = np.argsort(values, kind="stable")
    running = np.cumsum(weights[order])
    out = []
    for level in levels:
        hit = np.flatnonzero((running >= level * total - rtol * total) & (weights[order] > 0))
        out.append(values[order][hit[0]] if hit.size else values[order][weights[order] > 0][-1])
    return np.array(out)


def grouped_quantiles_row(groups_row, scale_row, starts, ranks, weights, sorted_values, levels):
    """One test row of ``grouped_weighted_quantiles``: a dense weight per rank, then
    :func:`inverted_cdf_quantiles` of the sorted values."""
    dense = np.zeros(len(sorted_values))
    for g, group in enumerate(groups_row):
        factor = 1.0 if scale_row is None else scale_row[g]
        for e in range(starts[group], starts[group + 1]):
            dense[ranks[e]] += weights[e] * factor
    return inverted_cdf_quantiles(sorted_values, dense, levels)


def forest_weights(forest, X_train, x, row_weights_per_tree):
    """Meinshausen's weights of the training rows at one point ``x``, by definition:
    ``(1 / T) sum_t c_ti 1{leaf_t(X_i) = leaf_t(x)} / sum_j c_tj 1{leaf_t(X_j) = leaf_t(x)}``
    with ``c_t = row_weights_per_tree[t]`` (bootstrap counts, or ones)."""
    train_leaves = forest.apply(X_train)
    x_leaves = forest.apply(np.asarray(x).reshape(1, -1))[0]
    out = np.zeros(X_train.shape[0])
    for t in range(len(forest.estimators_)):
        c = np.asarray(row_weights_per_tree[t], dtype=np.float64)
        same = (train_leaves[:, t] == x_leaves[t]) * c
        out += same / same.sum()
    return out / len(forest.estimators_)


# ---- end of forest and neighbour quantiles -------------------------------------------------------


# ---- row-wise rearrangement of quantile matrices (conformal/_kernels/isotonic.py) ------------


def sort_rows(values):
    """Each row sorted, one row at a time with Python's ``sorted``."""
    return np.array([sorted(row) for row in np.asarray(values, dtype=np.float64)]).reshape(
        np.shape(values)
    )


def isotonic_rows(values, weights=None):
    """Each row's least-squares non-decreasing fit: scikit-learn's ``IsotonicRegression`` with
    ``x`` the column index, refitted row by row (``weights`` as ``sample_weight``)."""
    from sklearn.isotonic import IsotonicRegression

    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    x = np.arange(values.shape[1], dtype=np.float64)
    for i, row in enumerate(values):
        out[i] = IsotonicRegression().fit_transform(x, row, sample_weight=weights)
    return out


def summed_pinball_loss(y, quantile_row, levels) -> float:
    """``sum_t psi_t(y - q_t)`` for one target and one row of quantiles, by its definition."""
    total = 0.0
    for q, t in zip(quantile_row, levels, strict=True):
        u = y - q
        total += t * u if u >= 0 else (t - 1.0) * u
    return total


# ---- end of row-wise rearrangement -------------------------------------------------------------
