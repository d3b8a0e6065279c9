"""The weighting of split estimators: ordered split, time column, effective sample size,
X_target routing, and exactness of the drift schemes (nexCP with rho = 1 is split CP)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from conformal import ConformalWarning, SplitConformalRegressor
from conformal.weights import (
    ExponentialDecayWeights,
    SlidingWindowWeights,
    effective_sample_size,
)


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = X[:, 0] + rng.normal(size=n)
    return X, y


def test_shuffle_false_calibrates_on_the_most_recent_rows():
    X, y = _data()
    model = SplitConformalRegressor(calibration_size=50, shuffle=False).fit(X, y)
    # The model is fitted on the 150 oldest rows: refit by hand and compare the scores.
    from sklearn.linear_model import LinearRegression

    reference = LinearRegression().fit(X[:150], y[:150])
    np.testing.assert_array_equal(
        model.conformity_scores_, np.abs(y[150:] - reference.predict(X[150:]))
    )
    # shuffle=False ignores random_state: the split is the time order.
    other = SplitConformalRegressor(calibration_size=50, shuffle=False, random_state=3).fit(X, y)
    np.testing.assert_array_equal(model.conformity_scores_, other.conformity_scores_)


def test_time_column_orders_the_rows_for_the_split_and_the_ages():
    X, y = _data(100)
    order = np.random.default_rng(1).permutation(100)
    frame = pd.DataFrame({"t": np.arange(100.0), "a": X[:, 0], "b": X[:, 1]})
    scheme = ExponentialDecayWeights(0.9, time="t")
    shuffled = SplitConformalRegressor(calibration_size=20, shuffle=False, weights=scheme)
    shuffled.fit(frame.iloc[order], y[order])
    ordered = SplitConformalRegressor(
        calibration_size=20, shuffle=False, weights=ExponentialDecayWeights(0.9, time="t")
    ).fit(frame, y)
    # Same rows calibrate, with the same ages, whatever the row order given to fit.
    assert sorted(shuffled.conformity_scores_) == pytest.approx(sorted(ordered.conformity_scores_))
    assert sorted(shuffled.calibration_weights_) == pytest.approx(
        sorted(ordered.calibration_weights_)
    )
    np.testing.assert_allclose(np.sort(ordered.calibration_weights_), 0.9 ** np.arange(20, 0, -1))
    # An integer column index works on arrays.
    array = np.column_stack([np.arange(100.0), X])[order]
    by_index = SplitConformalRegressor(
        calibration_size=20, shuffle=False, weights=SlidingWindowWeights(5, time=0)
    )
    with pytest.warns(ConformalWarning, match="effective sample size of 5.0"):
        by_index.fit(array, y[order])
    assert by_index.calibration_weights_.sum() == 5


def test_unknown_time_column_is_a_clear_error():
    X, y = _data(50)
    model = SplitConformalRegressor(weights=ExponentialDecayWeights(0.9, time="when"))
    with pytest.raises(ValueError, match=r"time='when' names no column of X"):
        model.fit(pd.DataFrame(X, columns=["a", "b"]), y)


def test_rho_one_is_split_conformal_bit_for_bit():
    X, y = _data(300)
    plain = SplitConformalRegressor(random_state=0).fit(X, y)
    decay = SplitConformalRegressor(random_state=0, weights=ExponentialDecayWeights(1.0)).fit(X, y)
    levels = [0.5, 0.8, 0.9, 0.95]
    np.testing.assert_array_equal(
        plain.predict_interval(X[:40], confidence_level=levels),
        decay.predict_interval(X[:40], confidence_level=levels),
    )
    assert decay.effective_sample_size_ == pytest.approx(90.0)
    assert plain.effective_sample_size_ == 90.0


def test_small_effective_sample_size_warns_with_the_number():
    X, y = _data(400)
    model = SplitConformalRegressor(
        weights=ExponentialDecayWeights(0.5), shuffle=False, confidence_level=0.9
    )
    with pytest.warns(ConformalWarning, match=r"effective sample size of 3\.0 of the 120"):
        model.fit(X, y)
    assert model.effective_sample_size_ == pytest.approx(
        effective_sample_size(0.5 ** np.arange(120, 0, -1))
    )


def test_x_target_without_a_learning_scheme_is_an_error():
    X, y = _data(50)
    with pytest.raises(ValueError, match=r"X_target was given to fit but weights=None"):
        SplitConformalRegressor().fit(X, y, X_target=X)
    with pytest.raises(ValueError, match=r"does not learn from it"):
        SplitConformalRegressor(weights=ExponentialDecayWeights(0.9)).fit(X, y, X_target=X)


def test_window_outside_the_calibration_rows_is_an_error():
    X, y = _data(100)
    # A random split and a 1-row window: the newest row is often a training row.
    model = SplitConformalRegressor(weights=SlidingWindowWeights(1), calibration_size=10)
    for seed in range(20):
        model.set_params(random_state=seed)
        try:
            model.fit(X, y)
        except ValueError as error:
            assert "gives weight 0 to all 10 calibration rows" in str(error)
            assert "shuffle=False" in str(error)
            return
    pytest.fail("no seed put the newest row in the training part")  # pragma: no cover


def test_effective_sample_size_values_and_errors():
    assert effective_sample_size(np.ones(7)) == 7.0
    assert effective_sample_size([0.0, 3.0]) == 1.0
    assert effective_sample_size([1e300, 1e300]) == 2.0  # no overflow in the squares
    with pytest.raises(ValueError, match=r"weights must be finite and non-negative"):
        effective_sample_size([1.0, -1.0])
    with pytest.raises(ValueError, match=r"weights must be 1-D"):
        effective_sample_size(np.ones((2, 2)))


def test_x_target_with_an_already_fitted_ratio_is_an_error():
    from conformal.weights import LikelihoodRatioWeights

    X, y = _data(200)
    fitted = LikelihoodRatioWeights().fit(X[:100], X[100:] + 0.5)
    model = SplitConformalRegressor(weights=fitted, random_state=0)
    with pytest.raises(ValueError, match=r"is already fitted, so it would not be used"):
        model.fit(X, y, X_target=X[100:])
    model.fit(X, y)  # the fitted ratio as a plain callable: fine, kept as the estimator's copy
    assert model.weights_scheme_ is not fitted
    np.testing.assert_array_equal(model.weights_scheme_(X[:5]), fitted(X[:5]))


def test_fixed_weights_too_light_for_the_level_warn_at_fit():
    X, y = _data(3000)
    w = 0.999 ** np.arange(3000, 0, -1)
    model = SplitConformalRegressor(shuffle=False)
    with pytest.warns(ConformalWarning, match=r"total 0\.625 .* needs a total of at least 9.*"
                      r"calibration_weights / calibration_weights\.max\(\)"):  # fmt: skip
        model.fit(X, y, calibration_weights=w / w.sum())
    assert np.isinf(model.predict_interval(X[:2])).all()
    decay = SplitConformalRegressor(shuffle=False, weights=ExponentialDecayWeights(0.85))
    with pytest.warns(
        ConformalWarning, match=r"caps the total at rho / \(1 - rho\) = 5\.67: use rho"
    ):
        decay.fit(X, y)
    assert np.isinf(decay.predict_interval(X[:2])).all()
    window = SplitConformalRegressor(shuffle=False, weights=SlidingWindowWeights(5))
    with pytest.warns(ConformalWarning, match=r"gives too few rows weight: widen the window"):
        window.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # enough mass: no warning
        SplitConformalRegressor(shuffle=False, weights=ExponentialDecayWeights(0.99)).fit(X, y)


def test_time_column_must_be_complete_and_a_column():
    X, y = _data(50)
    frame = pd.DataFrame({"t": np.arange(50.0), "a": X[:, 0]})
    frame.loc[7, "t"] = np.nan
    model = SplitConformalRegressor(weights=ExponentialDecayWeights(0.9, time="t"))
    with pytest.raises(
        ValueError, match=r"time='t' is missing in 1 row\(s\) \(the first is row 7\)"
    ):
        model.fit(frame, y)
    with pytest.raises(ValueError, match=r"time=True is not a column"):
        SplitConformalRegressor(weights=ExponentialDecayWeights(0.9, time=True)).fit(X, y)


def test_scheme_with_calibration_weights_names_the_scheme():
    X, y = _data(50)
    model = SplitConformalRegressor(weights=ExponentialDecayWeights(0.9))
    with pytest.raises(
        ValueError, match=r"together with weights=ExponentialDecayWeights\(rho=0\.9\)"
    ):
        model.fit(X, y, calibration_weights=np.ones(50))


def test_callable_of_the_wrong_length_is_named_where_it_happens():
    X, y = _data(100)
    model = SplitConformalRegressor(weights=lambda rows: np.ones(5), random_state=0)
    with pytest.raises(ValueError, match=r"weights\(X\) returned 5 values for 30 calibration rows"):
        model.fit(X, y)
    model = SplitConformalRegressor(weights=lambda rows: np.ones(30), random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"weights\(X\) returned 30 values for 5 test rows"):
        model.predict_interval(X[:5])


def test_a_fitted_ratio_is_copied_not_shared():
    from sklearn.base import clone

    from conformal.weights import LikelihoodRatioWeights

    X, y = _data(400)
    ratio = LikelihoodRatioWeights().fit(X[:200], X[200:] + 1.0)
    model = SplitConformalRegressor(weights=ratio, random_state=0).fit(X[:300], y[:300])
    before = model.predict_interval(X[300:305])
    other = clone(model).set_params(weights__clip=0.3)
    assert other.weights is not ratio and ratio.clip is None
    ratio.set_params(clip=0.45)  # the user changes their scheme after fitting
    np.testing.assert_array_equal(model.predict_interval(X[300:305]), before)
    with pytest.raises(ValueError, match=r"fitted on rows of 2 features; X has 3"):
        ratio(np.ones((2, 3)))
