"""Weighted p-values agree with weighted thresholds: {p > a} is {s <= q}, for per-test-point
weights over a (m, K) score table and for fixed weights above 1."""

import numpy as np
import pytest

from conformal.calibration import Calibrator, TestContext


@pytest.mark.parametrize("scale", [0.5, 1.0, 40.0])
def test_fixed_weights_pvalues_match_thresholds_at_every_scale(scale):
    rng = np.random.default_rng(0)
    scores = rng.normal(size=200)
    weights = scale * rng.uniform(0.1, 1.0, size=200)
    calibrator = Calibrator(scores, weights=weights)
    test = rng.normal(size=(50, 3))
    p = calibrator.pvalues(test)
    for level in (0.8, 0.9):
        q = calibrator.threshold(level)[0]
        np.testing.assert_array_equal(p > 1 - level + 1e-12, test <= q)


def test_per_row_test_weights_apply_to_every_score_of_the_row():
    rng = np.random.default_rng(1)
    scores, weights = rng.normal(size=100), rng.uniform(0.5, 2.0, size=100)
    calibrator = Calibrator(scores, weights=weights)
    test, row_weights = rng.normal(size=(30, 4)), rng.uniform(0.1, 5.0, size=30)
    p = calibrator.pvalues(test, test=TestContext(weights=row_weights))
    for i in range(30):  # the reference: one row at a time, one weight for its 4 scores
        one = calibrator.pvalues(test[i], test=TestContext(weights=np.full(4, row_weights[i])))
        np.testing.assert_allclose(p[i], one, rtol=0, atol=1e-15)
        manual = [
            (weights[scores >= s].sum() + row_weights[i]) / (weights.sum() + row_weights[i])
            for s in test[i]
        ]
        np.testing.assert_allclose(p[i], manual, rtol=1e-12)
