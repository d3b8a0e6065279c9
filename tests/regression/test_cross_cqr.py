"""CrossConformalizedQuantileRegressor: the naive (n_test, n) matrix, levels, validity,
scikit-learn use, errors. (MAPIE 1.6 has CQR only in split form: nothing to compare with.)"""

import pickle
from fractions import Fraction

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conformal import ConformalWarning, CrossConformalizedQuantileRegressor
from conformal.calibration._plus import PlusCalibration
from tests import _validity as v
from tests.regression._naive import plus_intervals


class LinearQuantile(RegressorMixin, BaseEstimator):
    """A cheap quantile model: the least-squares line shifted to the ``quantile`` of its
    residuals, optionally rounded (``decimals``) to make ties."""

    def __init__(self, quantile=0.5, decimals=None):
        self.quantile = quantile
        self.decimals = decimals

    def fit(self, X, y):
        self.line_ = LinearRegression().fit(X, y)
        self.shift_ = np.quantile(y - self.line_.predict(X), self.quantile)
        return self

    def predict(self, X):
        out = self.line_.predict(X) + self.shift_
        return out if self.decimals is None else np.round(out, self.decimals)


@pytest.fixture
def data():
    return v.draw(200, np.random.default_rng(0))


def _test_points(m=30):
    return np.random.default_rng(99).uniform(0, 5, size=(m, 1))


# ---------------------------------------------------------------- the naive matrix


@pytest.mark.parametrize(
    ("n", "cv", "union"),
    [(400, 3, True), (60, 5, False), (40, "loo", False)],
    ids=["kfold-union", "kfold-streamed", "loo"],
)
@pytest.mark.parametrize("level", [0.8, 0.9])
def test_equal_to_the_naive_matrix_with_ties(n, cv, union, level):
    rng = np.random.default_rng(n)
    x = rng.uniform(0, 5, size=(n, 1))
    y = np.round(x[:, 0] + rng.normal(size=n))
    x_test = _test_points()
    model = CrossConformalizedQuantileRegressor(
        LinearQuantile(decimals=0), confidence_level=level, cv=cv, random_state=0
    ).fit(x, y)
    scores, fold_of = model.conformity_scores_[0], model.fold_of_
    assert PlusCalibration(scores, fold_of, len(model.estimators_)).union is union
    assert len(np.unique(scores)) < 12  # integer scores: ties
    a = 1 - Fraction(repr(level))
    lo_q, hi_q = float(a / 2), float(1 - a / 2)
    lo_train = np.array(
        [model.estimators_[k][lo_q].predict(x[i : i + 1])[0] for i, k in enumerate(fold_of)]
    )
    hi_train = np.array(
        [model.estimators_[k][hi_q].predict(x[i : i + 1])[0] for i, k in enumerate(fold_of)]
    )
    np.testing.assert_array_equal(scores, np.maximum(lo_train - y, y - hi_train))
    lower = np.column_stack([fold[lo_q].predict(x_test) for fold in model.estimators_])
    upper = np.column_stack([fold[hi_q].predict(x_test) for fold in model.estimators_])
    expected = plus_intervals(scores, fold_of, lower, (a.numerator, a.denominator), upper)
    np.testing.assert_array_equal(model.predict_interval(x_test), expected)


def test_each_fitted_level_uses_its_own_models(data):
    x, y = data
    x_test = _test_points()
    both = CrossConformalizedQuantileRegressor(
        LinearQuantile(), confidence_level=[0.8, 0.9], random_state=0
    ).fit(x, y)
    assert both.fit_levels_ == [0.8, 0.9]
    assert all(sorted(fold) == [0.05, 0.1, 0.5, 0.9, 0.95] for fold in both.estimators_)
    got = both.predict_interval(x_test, [0.8, 0.9])
    for j, level in enumerate([0.8, 0.9]):
        alone = clone(both).set_params(confidence_level=level).fit(x, y)
        np.testing.assert_array_equal(got[:, j], alone.predict_interval(x_test))
    # a level without models of its own is calibrated on those of the nearest fitted level
    assert both.predict_interval(x_test, 0.85).shape == (30, 2)


def test_predict_is_the_mean_of_the_fold_medians(data):
    x, y = data
    model = CrossConformalizedQuantileRegressor(LinearQuantile(), cv=4, random_state=0).fit(x, y)
    medians = np.column_stack([fold[0.5].predict(x) for fold in model.estimators_])
    np.testing.assert_allclose(model.predict(x), medians.mean(axis=1))


def test_intervals_adapt_to_the_noise():
    x, y = v.draw(1000, np.random.default_rng(2))
    gbr = GradientBoostingRegressor(loss="quantile", n_estimators=30, max_depth=2, random_state=0)
    model = CrossConformalizedQuantileRegressor(gbr, cv=3, random_state=0).fit(x, y)
    widths = np.diff(model.predict_interval([[0.5], [4.5]]), axis=1).ravel()
    assert widths[1] > 3 * widths[0]  # true ratio of noise scales: 5.4


def test_eight_points_give_infinite_bounds_and_a_warning():
    x = np.arange(8.0).reshape(-1, 1)
    model = CrossConformalizedQuantileRegressor(LinearQuantile(), cv="loo").fit(x, x[:, 0] ** 2)
    with pytest.warns(ConformalWarning, match="8 points; confidence_level=0.9 needs at least 9"):
        got = model.predict_interval([[0.0]])
    np.testing.assert_array_equal(got, [[-np.inf, np.inf]])


# ---------------------------------------------------------------- validity


@pytest.mark.slow
def test_coverage_near_the_target():
    """CV+ with nested (CQR) scores: guarantee 1 - 2a (Gupta, Kuchibhotla, Ramdas 2022); on
    smooth data about 1 - a: mean coverage in [1 - a - 0.03, 1 - a + 0.03], 200 data sets."""

    def fit_predict(x, y, x_test, seed):
        model = CrossConformalizedQuantileRegressor(LinearQuantile(), cv=5, random_state=seed)
        return model.fit(x, y).predict_interval(x_test)

    cov = v.repeated_coverage(fit_predict, n=100)
    assert cov.mean() >= 0.8
    v.assert_in_band(cov, 0.87, 0.93)


# ---------------------------------------------------------------- scikit-learn use


def test_pipeline_quantile_param_grid_search_clone_pickle(data):
    x, y = data
    pipe = make_pipeline(StandardScaler(), LinearQuantile())
    model = CrossConformalizedQuantileRegressor(
        pipe, quantile_param="linearquantile__quantile", random_state=0
    ).fit(x, y)
    assert model.estimators_[0][0.95].get_params()["linearquantile__quantile"] == 0.95
    grid = GridSearchCV(
        CrossConformalizedQuantileRegressor(LinearQuantile(), cv=3, random_state=0),
        {"cv": [3, 4]},
        cv=3,
    ).fit(x, y)
    assert grid.best_estimator_.predict_interval(x[:3]).shape == (3, 2)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_interval(x), model.predict_interval(x))
    np.testing.assert_array_equal(
        clone(model).fit(x, y).predict_interval(x), model.predict_interval(x)
    )


def test_user_objects_are_not_mutated(data):
    x, y = data
    base = LinearQuantile()
    x0, y0 = x.copy(), y.copy()
    CrossConformalizedQuantileRegressor(base, random_state=0).fit(x, y)
    assert base.quantile == 0.5 and not hasattr(base, "line_")
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"estimator": LinearRegression()}, r"Cannot tell which parameter of LinearRegression"),
        (
            {"estimator": GradientBoostingRegressor()},
            r"GradientBoostingRegressor\(loss='squared_error'\) does not fit quantiles",
        ),
        ({"quantile_param": "tau"}, r"quantile_param='tau' is not a parameter of LinearQuantile"),
        ({"cv": 0}, r"'cv' parameter of CrossConformalizedQuantileRegressor"),
        ({"confidence_level": 1.0}, r"'confidence_level' parameter"),
    ],
)
def test_bad_parameters(data, params, match):
    x, y = data
    params = {"estimator": LinearQuantile(), **params}
    with pytest.raises(ValueError, match=match):
        CrossConformalizedQuantileRegressor(**params).fit(x, y)


def test_frozen_nan_unfitted(data):
    x, y = data
    frozen = FrozenEstimator(LinearQuantile().fit(x, y))
    with pytest.raises(ValueError, match="refits the quantile models on each fold"):
        CrossConformalizedQuantileRegressor(frozen).fit(x, y)
    bad = y.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN or infinity"):
        CrossConformalizedQuantileRegressor(LinearQuantile()).fit(x, bad)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        CrossConformalizedQuantileRegressor().predict_interval(x)
