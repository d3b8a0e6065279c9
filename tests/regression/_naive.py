"""The naive cross-conformal computation the estimators must equal: the full (n_test, n) matrix of
centres +- scores, each row sorted (tests/_reference.py), ranks in exact integer arithmetic."""

from __future__ import annotations

import numpy as np

from tests import _reference as ref


def plus_intervals(scores, fold_of, lower_centers, alpha, upper_centers=None, lower_scores=None):
    """(n_test, 2) plus intervals at miscoverage ``alpha = (num, den)``.

    Lower bound: the floor(a (n + 1))-th smallest of ``lower_centers[:, fold_of] - lower_scores``;
    upper bound: the ceil((1 - a)(n + 1))-th smallest of ``upper_centers[:, fold_of] + scores``.
    """
    upper_centers = lower_centers if upper_centers is None else upper_centers
    lower_scores = scores if lower_scores is None else lower_scores
    n = len(scores)
    up = ref.upper_rank(n, *alpha)
    low = ref.lower_rank(n, *alpha)
    out = np.empty((len(lower_centers), 2))
    for j in range(len(lower_centers)):
        matrix_row = np.asarray(lower_centers[j])[fold_of] - lower_scores
        out[j, 0] = ref.order_statistic(matrix_row, low)
        out[j, 1] = ref.plus_order_statistic(scores, fold_of, upper_centers[j], 1.0, up)
    return out
