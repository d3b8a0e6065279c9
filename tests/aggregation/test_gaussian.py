"""ConditionalGaussianRegressor: mu(x) + sigma(x) Phi^{-1}(t), sigma from out-of-fold absolute
residuals scaled by sqrt(pi/2)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from conformal.aggregation._gaussian import ConditionalGaussianRegressor


def _heteroscedastic(n, seed):
    """y = 1 + 2x + (0.5 + x) eps, eps ~ N(0, 1): E|e| given x is linear in x."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 2, size=(n, 1))
    y = 1 + 2 * X[:, 0] + (0.5 + X[:, 0]) * rng.normal(size=n)
    return X, y


def test_coverage_on_gaussian_heteroscedastic_data():
    levels = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    X, y = _heteroscedastic(4000, 0)
    model = ConditionalGaussianRegressor(
        LinearRegression(), LinearRegression(), quantiles=levels, random_state=0
    ).fit(X, y)
    X_test, y_test = _heteroscedastic(20000, 1)
    q = model.predict_quantiles(X_test)
    # Overall and within the low- and high-noise halves: the scale follows x.
    for rows in (slice(None), X_test[:, 0] < 1, X_test[:, 0] >= 1):
        below = (y_test[rows, None] <= q[rows]).mean(axis=0)
        np.testing.assert_allclose(below, levels, atol=0.02)
    np.testing.assert_allclose(model.predict_scale([[0.0], [2.0]]), [0.5, 2.5], atol=0.1)


def test_scale_is_out_of_fold_not_in_sample():
    """A 1-nearest-neighbour mean fits its training rows exactly (in-sample residuals are 0); the
    out-of-fold residuals still see the noise (about sqrt(2) times it: two noisy neighbours)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(2000, 1))
    y = rng.normal(size=2000)
    model = ConditionalGaussianRegressor(
        KNeighborsRegressor(n_neighbors=1), DummyRegressor(), random_state=0
    ).fit(X, y)
    assert (model.mean_estimator_.predict(X) == y).all()
    np.testing.assert_allclose(model.predict_scale(X[:3]), np.sqrt(2), rtol=0.1)
    assert model.oof_residuals_.shape == (2000,)


def test_any_level_monotone_and_predict_is_the_mean():
    X, y = _heteroscedastic(200, 0)
    model = ConditionalGaussianRegressor(Ridge(), Ridge(), random_state=0).fit(X, y)
    assert model.predict_quantiles(X[:4]).shape == (4, 3)
    levels = np.linspace(0.01, 0.99, 25)
    q = model.predict_quantiles(X, levels)
    assert q.shape == (200, 25) and (np.diff(q, axis=1) > 0).all()
    np.testing.assert_allclose(model.predict(X), model.mean_estimator_.predict(X))
    np.testing.assert_allclose(model.predict_quantiles(X, 0.5)[:, 0], model.predict(X))
    with pytest.raises(ValueError, match="strictly increasing; got duplicated"):
        model.predict_quantiles(X, [0.5, 0.5])
    with pytest.raises(ValueError, match=r"strictly between 0 and 1; got \[0.0\]"):
        model.predict_quantiles(X, [0.0, 0.5])


def test_floor_lifts_a_non_positive_scale_model_and_says_so():
    X, y = _heteroscedastic(200, 0)
    negative = DummyRegressor(strategy="constant", constant=-1.0)
    model = ConditionalGaussianRegressor(Ridge(), negative, scale_floor=0.01).fit(X, y)
    expected = 0.01 * np.sqrt(np.pi / 2) * np.abs(model.oof_residuals_).mean()
    assert model.scale_floor_ == pytest.approx(expected) and model.scale_floor_ > 0
    assert model.floored_fraction_ == 1.0
    np.testing.assert_allclose(model.predict_scale(X), expected)
    assert (np.diff(model.predict_quantiles(X), axis=1) > 0).all()


def test_estimators_not_mutated_dataframe_and_same_seed_same_output():
    X, y = _heteroscedastic(150, 0)
    frame = pd.DataFrame(X, columns=["x"])
    mean, scale = Ridge(), Ridge()
    model = ConditionalGaussianRegressor(mean, scale, random_state=3).fit(frame, y)
    assert not hasattr(mean, "coef_") and not hasattr(scale, "coef_")
    assert model.mean_estimator_ is not mean
    assert list(model.feature_names_in_) == ["x"]
    again = clone(model).fit(frame, y)
    np.testing.assert_array_equal(model.oof_residuals_, again.oof_residuals_)
    # One OpenMP thread: oversubscribed boosting barriers take seconds on a busy machine.
    with threadpool_limits(1):
        default = ConditionalGaussianRegressor(random_state=0).fit(X[:60], y[:60])
    assert default.mean_estimator_.random_state == 0


def test_bad_input():
    X, y = _heteroscedastic(8, 0)
    with pytest.raises(ValueError, match="cv=10 folds need at least 10 samples; got 8"):
        ConditionalGaussianRegressor(Ridge(), Ridge(), cv=10).fit(X, y)
    with pytest.raises(InvalidParameterError, match=r"'scale_floor' parameter.*Got 0"):
        ConditionalGaussianRegressor(scale_floor=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'mean_estimator' parameter"):
        ConditionalGaussianRegressor(mean_estimator="ridge").fit(X, y)
    with pytest.raises(ValueError, match="strictly increasing; got unsorted"):
        ConditionalGaussianRegressor(Ridge(), Ridge(), quantiles=[0.9, 0.1]).fit(X, y)
    with pytest.raises(ValueError, match="y contains NaN"):
        ConditionalGaussianRegressor(Ridge(), Ridge()).fit(X, np.r_[np.nan, y[1:]])
    overlapping = [(np.arange(4, 8), np.arange(0, 5)), (np.arange(0, 4), np.arange(4, 8))]
    with pytest.raises(ValueError, match="trains on samples it holds out"):
        ConditionalGaussianRegressor(Ridge(), Ridge(), cv=overlapping).fit(X, y)


# The default HistGradientBoosting pair is left out: six boosted fits per fit make the check
# suite minutes long; the estimator logic checked is the same.
@parametrize_with_checks([ConditionalGaussianRegressor(Ridge(), Ridge(), cv=3, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
