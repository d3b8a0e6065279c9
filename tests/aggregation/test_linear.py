"""LinearQuantileRegressor: statsmodels' QuantReg per level, checked against statsmodels itself
and against scikit-learn's QuantileRegressor (the same linear programme, solved by HiGHS)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import QuantileRegressor
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from statsmodels.regression.quantile_regression import QuantReg
from statsmodels.tools.sm_exceptions import IterationLimitWarning

from conformal.aggregation._linear import LinearQuantileRegressor
from conformal.exceptions import ConformalWarning

LEVELS = [0.1, 0.5, 0.9]


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.0, 2.0, -1.0]) + (1 + np.abs(X[:, 0])) * rng.standard_t(4, size=n)
    return X, y


def test_matches_statsmodels_directly():
    X, y = _data()
    model = LinearQuantileRegressor(LEVELS, vcov="iid", kernel="gau", bandwidth="bofinger")
    model.fit(X, y)
    for i, q in enumerate(LEVELS):
        ref = QuantReg(y, np.column_stack([np.ones(len(y)), X])).fit(
            q=q, vcov="iid", kernel="gau", bandwidth="bofinger"
        )
        np.testing.assert_allclose(model.intercept_[i], ref.params[0])
        np.testing.assert_allclose(model.coef_[i], ref.params[1:])
        np.testing.assert_allclose(model.intercept_bse_[i], ref.bse[0])
        np.testing.assert_allclose(model.bse_[i], ref.bse[1:])
        np.testing.assert_allclose(model.results_[i].conf_int(), ref.conf_int())
    assert model.n_iter_.shape == (3,)


@pytest.mark.parametrize("q", LEVELS)
def test_agrees_with_sklearn_quantile_regressor(q):
    """Both minimise the same pinball loss (an LP); statsmodels' IRLS stops at p_tol=1e-6."""
    X, y = _data()
    ours = LinearQuantileRegressor([q]).fit(X, y)
    ref = QuantileRegressor(quantile=q, alpha=0.0, solver="highs").fit(X, y)
    np.testing.assert_allclose(ours.coef_[0], ref.coef_, atol=1e-3)
    np.testing.assert_allclose(ours.intercept_[0], ref.intercept_, atol=1e-3)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-2)


def test_predict_quantiles_fitted_levels_and_predict_is_median():
    X, y = _data()
    model = LinearQuantileRegressor(LEVELS).fit(X, y)
    full = model.predict_quantiles(X[:5])
    assert full.shape == (5, 3) and full.dtype == np.float64
    np.testing.assert_allclose(model.predict_quantiles(X[:5], [0.1, 0.9]), full[:, [0, 2]])
    np.testing.assert_allclose(model.predict_quantiles(X[:5], 1 - 0.9), full[:, [0]])
    np.testing.assert_allclose(model.predict(X[:5]), full[:, 1])
    np.testing.assert_allclose(
        full[:, 2], model.results_[2].predict(np.column_stack([np.ones(5), X[:5]]))
    )
    with pytest.raises(ValueError, match=r"fitted at quantiles \[0.1, 0.5, 0.9\].*\[0.25\]"):
        model.predict_quantiles(X[:5], [0.25, 0.5])
    with pytest.raises(ValueError, match="strictly increasing"):
        model.predict_quantiles(X[:5], [0.9, 0.1])


def test_predict_without_median_uses_nearest_level():
    X, y = _data()
    model = LinearQuantileRegressor([0.2, 0.6]).fit(X, y)
    np.testing.assert_allclose(model.predict(X), model.predict_quantiles(X, [0.6])[:, 0])


def test_dataframe_names_constant_column_and_inputs_untouched():
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(k=3.0)
    before = frame.copy()
    model = LinearQuantileRegressor(LEVELS).fit(frame, y)
    pd.testing.assert_frame_equal(frame, before)
    assert list(model.feature_names_in_) == ["a", "b", "c", "k"]
    assert model.constant_features_.tolist() == [False, False, False, True]
    assert (model.coef_[:, 3] == 0).all() and np.isnan(model.bse_[:, 3]).all()
    assert model.results_[1].model.exog_names == ["const", "a", "b", "c"]
    assert "const" in str(model.results_[1].summary())
    plain = LinearQuantileRegressor(LEVELS).fit(X, y)
    np.testing.assert_allclose(model.predict_quantiles(frame), plain.predict_quantiles(X))


def test_without_intercept_keeps_constant_column_as_intercept():
    X, y = _data()
    with_ones = np.column_stack([np.ones(len(y)), X])
    model = LinearQuantileRegressor(LEVELS, fit_intercept=False).fit(with_ones, y)
    plain = LinearQuantileRegressor(LEVELS).fit(X, y)
    assert (model.intercept_ == 0).all() and np.isnan(model.intercept_bse_).all()
    np.testing.assert_allclose(model.coef_[:, 0], plain.intercept_, atol=1e-8)
    assert model.results_[0].model.exog_names == ["x0", "x1", "x2", "x3"]


def test_statsmodels_iteration_warning_passes_through():
    X, y = _data()
    with pytest.warns(IterationLimitWarning, match="Maximum number of iterations"):
        model = LinearQuantileRegressor([0.5], max_iter=2).fit(X, y)
    assert model.n_iter_.tolist() == [2]


def test_degenerate_standard_errors_warn_and_say_why():
    X = np.arange(10.0).reshape(-1, 1)
    with pytest.warns(ConformalWarning, match=r"standard errors at quantiles \[0.5\].*bandwidth"):
        model = LinearQuantileRegressor([0.5]).fit(X, np.full(10, 2.0))  # constant y
    np.testing.assert_allclose(model.predict([[20.0]]), [2.0], atol=1e-6)
    assert np.isnan(model.bse_).all()
    X, y = _data(20)
    with pytest.warns(ConformalWarning, match=r"quantiles \[0.05\].*few samples"):
        LinearQuantileRegressor([0.05, 0.5]).fit(X, y)


def test_bad_parameters():
    X, y = _data(50)
    with pytest.raises(ValueError, match="strictly increasing; got unsorted"):
        LinearQuantileRegressor([0.9, 0.1]).fit(X, y)
    with pytest.raises(ValueError, match=r"strictly between 0 and 1; got \[1.0\]"):
        LinearQuantileRegressor([0.5, 1.0]).fit(X, y)
    with pytest.raises(InvalidParameterError, match=r"'vcov' parameter.*Got 'hac'"):
        LinearQuantileRegressor(vcov="hac").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'max_iter' parameter"):
        LinearQuantileRegressor(max_iter=0).fit(X, y)


@parametrize_with_checks([LinearQuantileRegressor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)
