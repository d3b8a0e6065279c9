"""ConformalizedQuantileRegressor: validity, quantile-parameter detection, prefit models, errors."""

import pickle

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, QuantileRegressor
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conformal import ConformalizedQuantileRegressor
from tests import _validity as v


def _gbr():
    return GradientBoostingRegressor(loss="quantile", n_estimators=30, max_depth=2, random_state=0)


@pytest.fixture
def data():
    return v.draw(400, np.random.default_rng(0))


@pytest.mark.slow
@pytest.mark.parametrize(("symmetric", "sides"), [(True, 1), (False, 2)])
def test_coverage_band_over_200_splits(symmetric, sides):
    """Mean coverage in [1-a, 1-a+k/(n+1)], n = 120 calibration points, k calibrated sides."""

    def fit_predict(x, y, x_test, seed):
        model = ConformalizedQuantileRegressor(
            _gbr(), symmetric=symmetric, calibration_size=120, random_state=seed
        )
        return model.fit(x, y).predict_interval(x_test)

    v.assert_in_band(v.repeated_coverage(fit_predict, n=400), 0.9, 0.9 + sides / 121)


def test_cqr_adapts_where_split_absolute_cannot(data):
    x, y = v.draw(3000, np.random.default_rng(2))
    model = ConformalizedQuantileRegressor(_gbr(), random_state=0).fit(x, y)
    widths = np.diff(model.predict_interval([[0.5], [4.5]]), axis=1).ravel()
    assert widths[1] > 3 * widths[0]  # true ratio of noise scales: 5.4


@pytest.mark.parametrize(
    ("estimator", "param"),
    [
        (HistGradientBoostingRegressor(loss="quantile", max_iter=20), "quantile"),
        (GradientBoostingRegressor(loss="quantile", n_estimators=20), "alpha"),
        (QuantileRegressor(alpha=0.0), "quantile"),
    ],
)
def test_quantile_parameter_is_detected(data, estimator, param):
    x, y = data
    model = ConformalizedQuantileRegressor(estimator, random_state=0).fit(x, y)
    assert sorted(model.estimators_) == [0.05, 0.5, 0.95]
    assert getattr(model.estimators_[0.05], param) == 0.05
    assert getattr(estimator, param) != 0.05  # the user's object is untouched


def test_nested_quantile_parameter_in_a_pipeline(data):
    x, y = data
    pipe = make_pipeline(StandardScaler(), QuantileRegressor(alpha=0.0))
    model = ConformalizedQuantileRegressor(
        pipe, quantile_param="quantileregressor__quantile", random_state=0
    ).fit(x, y)
    assert model.estimators_[0.95][-1].quantile == 0.95


def test_several_fit_levels_and_a_level_only_known_at_predict_time(data):
    x, y = data
    model = ConformalizedQuantileRegressor(_gbr(), confidence_level=[0.8, 0.9], random_state=0).fit(
        x, y
    )
    assert sorted(model.estimators_) == [0.05, 0.1, 0.5, 0.9, 0.95]
    out = model.predict_interval(x[:4], confidence_level=[0.8, 0.85, 0.9])
    assert out.shape == (4, 3, 2)
    np.testing.assert_array_equal(out[:, 0], model.predict_interval(x[:4], confidence_level=0.8))
    np.testing.assert_array_equal(out[:, 2], model.predict_interval(x[:4], confidence_level=0.9))


def test_prefit_quantile_models_use_all_data_for_calibration(data):
    x, y = data
    lo = FrozenEstimator(QuantileRegressor(quantile=0.05, alpha=0.0).fit(x, y))
    hi = FrozenEstimator(QuantileRegressor(quantile=0.95, alpha=0.0).fit(x, y))
    model = ConformalizedQuantileRegressor([lo, hi]).fit(x, y)
    assert model.conformity_scores_.shape == (1, 400)
    np.testing.assert_allclose(model.predict(x[:3]), (lo.predict(x[:3]) + hi.predict(x[:3])) / 2)


def test_asymmetric_scores_have_two_columns(data):
    x, y = data
    model = ConformalizedQuantileRegressor(_gbr(), symmetric=False, random_state=0).fit(x, y)
    assert model.conformity_scores_.shape == (1, 120, 2)


def test_pickle_and_grid_search(data):
    x, y = data
    model = ConformalizedQuantileRegressor(_gbr(), random_state=0).fit(x, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_interval(x), model.predict_interval(x))
    grid = GridSearchCV(
        ConformalizedQuantileRegressor(_gbr(), random_state=0),
        {"estimator__max_depth": [1, 2]},
        cv=2,
    ).fit(x, y)
    assert grid.best_estimator_.predict(x[:2]).shape == (2,)


@pytest.mark.parametrize(
    ("estimator", "params", "match"),
    [
        (
            LinearRegression(),
            {},
            r"Cannot tell which parameter of LinearRegression sets the quantile",
        ),
        (
            GradientBoostingRegressor(),
            {},
            r"GradientBoostingRegressor\(loss='squared_error'\) does not fit quantiles",
        ),
        (
            QuantileRegressor(),
            {"quantile_param": "tau"},
            r"quantile_param='tau' is not a parameter of QuantileRegressor",
        ),
        (
            FrozenEstimator(LinearRegression()),
            {},
            r"A single frozen model cannot give both quantiles",
        ),
        ([LinearRegression(), LinearRegression()], {}, r"must hold 2 or 3 FrozenEstimator models"),
        (
            _gbr(),
            {"confidence_level": 0.0},
            r"'confidence_level' parameter of ConformalizedQuantileRegressor",
        ),
    ],
)
def test_errors(data, estimator, params, match):
    x, y = data
    with pytest.raises(ValueError, match=match):
        ConformalizedQuantileRegressor(estimator, **params).fit(x, y)


def test_prefit_models_serve_one_level(data):
    x, y = data
    lo = FrozenEstimator(QuantileRegressor(quantile=0.05, alpha=0.0).fit(x, y))
    with pytest.raises(ValueError, match="prefit quantile models serve one confidence_level"):
        ConformalizedQuantileRegressor([lo, lo], confidence_level=[0.8, 0.9]).fit(x, y)
