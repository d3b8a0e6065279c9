"""Validity of the weight schemes (seeded repetitions; tests/_validity.py for the machinery).

- Exchangeable data with drift weights (nexCP; Barber et al. 2023, Theorem 2): the coverage gap
  is zero when the data do not drift, so coverage is at least 1 - a.
- Covariate shift with the true likelihood ratio (Tibshirani et al. 2019, Corollary 1): the
  weighted interval covers the shifted test distribution at least 1 - a, while the unweighted
  one, on this heteroscedastic data, does not (which shows the test can fail).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from conformal import SplitConformalRegressor
from conformal.weights import ExponentialDecayWeights, SlidingWindowWeights
from tests import _validity as v

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "scheme", [ExponentialDecayWeights(0.995), SlidingWindowWeights(150)], ids=repr
)
def test_drift_weights_keep_coverage_on_exchangeable_data(scheme):
    def fit_predict(x, y, x_test, seed):
        model = SplitConformalRegressor(
            LinearRegression(), weights=scheme, calibration_size=0.5, random_state=seed
        )
        return model.fit(x, y).predict_interval(x_test, 0.9)

    coverages = v.repeated_coverage(fit_predict, n=400, repetitions=200)
    v.assert_in_band(coverages, 0.9, 1.0)


def _shifted_test_points(n: int) -> np.ndarray:
    """Test x with density 2x/25 on [0, 5] (training x is uniform): likelihood ratio 2x/5."""
    u = np.random.default_rng(999).uniform(size=n)
    return (5.0 * np.sqrt(u))[:, None]


def _ratio(X):
    return 2.0 * np.asarray(X, dtype=float)[:, 0] / 5.0


def _shift_coverages(weights):
    x_test = _shifted_test_points(500)
    out = np.empty(200)
    for seed in range(200):
        x, y = v.draw(400, np.random.default_rng(seed))
        model = SplitConformalRegressor(
            LinearRegression(), weights=weights, calibration_size=0.5, random_state=seed
        )
        intervals = model.fit(x, y).predict_interval(x_test, 0.9)
        out[seed] = v.exact_coverage(x_test, intervals).mean()
    return out


def test_likelihood_ratio_weights_cover_the_shifted_distribution():
    weighted = _shift_coverages(_ratio)
    v.assert_in_band(weighted, 0.9, 1.0)
    plain = _shift_coverages(None)
    assert plain.mean() < 0.88 < weighted.mean()  # the unweighted interval under-covers
