"""nexCP on real drift (Barber et al. 2023, Section 5.2, ELEC2), through the estimator.

At every 4th time t >= 100 a SplitConformalRegressor (least squares, random halves of the past)
is fitted on rows 0..t-1 and asked for the interval of row t, once unweighted and once with
ExponentialDecayWeights(0.99). The paper's finding, which this test checks with the estimator:
unweighted split CP under-covers on the original order and not on a random permutation; nexCP
restores coverage near 0.9. benchmarks/nexcp_drift.py has the full table (every t, 30 trials).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from conformal import SplitConformalRegressor, conformal_quantile
from conformal.datasets import load_dataset
from conformal.weights import ExponentialDecayWeights

pytestmark = pytest.mark.slow


def _coverage(X, y, weights, stride=4):
    covered = []
    for t in range(100, len(y), stride):
        model = SplitConformalRegressor(calibration_size=0.5, weights=weights, random_state=t)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no small-sample warning may hide in the numbers
            model.fit(X[:t], y[:t])
        lower, upper = model.predict_interval(X[t : t + 1])[0]
        covered.append(lower <= y[t] <= upper)
    return float(np.mean(covered))


def test_elec2_cp_undercovers_in_time_order_and_nexcp_restores_coverage():
    X, y = load_dataset("elec2")
    decay = ExponentialDecayWeights(0.99)
    # 836 test times: a Monte Carlo standard error of about 0.010 at coverage 0.9.
    original_cp, original_nexcp = _coverage(X, y, None), _coverage(X, y, decay)
    order = np.random.default_rng(0).permutation(len(y))
    permuted_cp = _coverage(X[order], y[order], None)
    assert original_cp < 0.875, original_cp  # full run (every t): 0.858
    assert original_nexcp > 0.885, original_nexcp  # full run: 0.907
    assert abs(permuted_cp - 0.9) < 0.03, permuted_cp  # exchangeable: 0.9 within 3 se


def test_estimator_matches_the_calibration_layer_loop_of_the_benchmark():
    # The benchmark's loop computes nexCP thresholds with conformal_quantile and weights
    # 0.99 ** (t - i); the estimator must give the same interval at the same split.
    X, y = load_dataset("elec2")
    t = 700
    model = SplitConformalRegressor(
        calibration_size=0.5, weights=ExponentialDecayWeights(0.99), random_state=1
    ).fit(X[:t], y[:t])
    ages = np.round(np.log(model.calibration_weights_) / np.log(0.99)).astype(int)
    calibration = t - ages  # each calibration row's index
    np.testing.assert_allclose(
        model.conformity_scores_,
        np.abs(y[calibration] - model.estimator_.predict(X[calibration])),
    )
    q = conformal_quantile(model.conformity_scores_, 0.9, weights=0.99 ** (t - calibration))
    center = model.predict(X[t : t + 1])[0]
    lower, upper = model.predict_interval(X[t : t + 1])[0]
    assert lower <= center - q and upper >= center + q  # outward rounding, never inward
    np.testing.assert_allclose([lower, upper], [center - q, center + q], rtol=0, atol=1e-12)
