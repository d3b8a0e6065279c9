"""Weighted plus bounds (weighted CV+ / jackknife+) against a naive weighted computation."""

from __future__ import annotations

import numpy as np
import pytest

from conformal.calibration import Calibrator, TestContext


def _naive_weighted_quantile(values, weights, test_weight, level):
    """Smallest value whose cumulative weight reaches level * (W + w_test); +inf if none."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    total = w.sum() + test_weight
    cumulative = np.cumsum(w)
    hit = np.flatnonzero(cumulative >= level * total - 1e-12 * total)
    return v[hit[0]] if hit.size else np.inf


def _naive_plus(scores, folds, weights, centers, test_weights, level):
    out = np.empty((centers.shape[0], 2))
    for j in range(centers.shape[0]):
        c = centers[j, folds]
        upper = _naive_weighted_quantile(c + scores, weights, test_weights[j], level)
        lower = -_naive_weighted_quantile(-c + scores, weights, test_weights[j], level)
        out[j] = lower, upper
    return out


@pytest.mark.parametrize(("n", "n_folds"), [(40, 4), (300, 5), (50, 50)], ids=str)
@pytest.mark.parametrize("seed", range(3))
def test_weighted_plus_matches_the_naive_matrix_with_ties(n, n_folds, seed):
    """Union kernel (few folds) and streamed kernel (leave-one-out), on tied integer scores."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 8, size=n).astype(float)
    folds = np.arange(n) % n_folds
    rng.shuffle(folds)
    weights = rng.uniform(0.0, 1.0, size=n)
    centers = rng.integers(-3, 4, size=(11, n_folds)).astype(float)
    test_weights = rng.uniform(0.1, 2.0, size=11)
    cal = Calibrator(scores, weights=weights, folds=folds, n_folds=n_folds)
    got = cal.plus(centers, [0.8, 0.9], test=TestContext(weights=test_weights))
    top = max(weights.max(), test_weights.max())
    scale = 2.0 ** int(np.frexp(top)[1]) if top > 1 else 1.0
    for k, level in enumerate([0.8, 0.9]):
        want = _naive_plus(scores, folds, weights / scale, centers, test_weights / scale, level)
        np.testing.assert_array_equal(got[:, k], want)


def test_unit_weights_give_the_unweighted_plus_bounds():
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 9, size=60).astype(float)
    folds = np.arange(60) % 6
    centers = rng.normal(size=(9, 6))
    plain = Calibrator(scores, folds=folds).plus(centers, [0.7, 0.9])
    weighted = Calibrator(scores, weights=np.ones(60), folds=folds).plus(centers, [0.7, 0.9])
    np.testing.assert_array_equal(plain, weighted)


def test_weighted_plus_with_two_column_scores_takes_each_tail_at_half_the_level():
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(30, 2))
    folds = np.arange(30) % 3
    centers = rng.normal(size=(4, 3))
    weights = np.ones(30)
    got = Calibrator(scores, weights=weights, folds=folds).plus(centers, [0.8])
    low = Calibrator(scores[:, 0], weights=weights, folds=folds).plus(centers, [0.9])[..., 0]
    high = Calibrator(scores[:, 1], weights=weights, folds=folds).plus(centers, [0.9])[..., 1]
    np.testing.assert_array_equal(got[..., 0], low)
    np.testing.assert_array_equal(got[..., 1], high)
