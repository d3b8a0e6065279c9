"""Calibration layer v2 at the estimator level: weight schemes in CV, sample_weight routing,
Mondrian checks, fit parameters of the cross regressors."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score

from conformal import (
    ConformalizedQuantileRegressor,
    ConformalWarning,
    CrossConformalizedQuantileRegressor,
    CrossConformalRegressor,
    JackknifeAfterBootstrapRegressor,
    SplitConformalRegressor,
    conformal_quantile,
)
from conformal.weights import (
    CallableWeights,
    ExponentialDecayWeights,
    SlidingWindowWeights,
)


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = X[:, 0] + rng.normal(size=n)
    return X, y


def _ratio(X):
    return np.exp(0.3 * np.asarray(X)[:, 0])


SCHEMES = [
    ExponentialDecayWeights(0.99),
    SlidingWindowWeights(50),
    CallableWeights(_ratio),
    _ratio,
]


@pytest.mark.parametrize("weights", SCHEMES, ids=["decay", "window", "callable-scheme", "callable"])
def test_every_weight_option_works_in_cross_val_score_and_grid_search(weights):
    X, y = _data()
    model = SplitConformalRegressor(weights=weights, random_state=0)
    scores = cross_val_score(model, X, y, cv=3, error_score="raise")
    assert np.isfinite(scores).all()
    clone(model)
    search = GridSearchCV(model, {"calibration_size": [0.3, 0.5]}, cv=3, error_score="raise")
    search.fit(X, y)
    assert search.best_estimator_.predict_interval(X[:3]).shape == (3, 2)


def test_calibration_weights_are_sliced_by_cross_val_score():
    X, y = _data()
    w = 0.99 ** np.arange(200)[::-1]
    scores = cross_val_score(
        SplitConformalRegressor(random_state=0),
        X,
        y,
        cv=3,
        params={"calibration_weights": w},
        error_score="raise",
    )
    assert np.isfinite(scores).all()


def test_review_reproduction_array_weights_still_work_with_a_future_warning():
    X, y = _data()
    w = 0.99 ** np.arange(200)[::-1]
    with pytest.warns(FutureWarning, match="pass it to fit"):
        old = SplitConformalRegressor(weights=w, random_state=0).fit(X, y)
    new = SplitConformalRegressor(random_state=0).fit(X, y, calibration_weights=w)
    np.testing.assert_array_equal(old.predict_interval(X[:5]), new.predict_interval(X[:5]))


def test_decay_scheme_equals_the_same_fixed_weights():
    X, y = _data()
    decay = SplitConformalRegressor(weights=ExponentialDecayWeights(0.98), random_state=0).fit(X, y)
    fixed = SplitConformalRegressor(random_state=0).fit(
        X, y, calibration_weights=0.98 ** (200 - np.arange(200))
    )
    np.testing.assert_array_equal(decay.calibration_weights_, fixed.calibration_weights_)
    np.testing.assert_array_equal(decay.predict_interval(X[:7]), fixed.predict_interval(X[:7]))


def test_likelihood_ratio_gives_per_test_point_thresholds():
    X, y = _data()
    ratio = lambda X: np.exp(3.0 * np.asarray(X)[:, 0])  # noqa: E731
    model = SplitConformalRegressor(weights=ratio, random_state=0).fit(X, y)
    test = model._test_context(X[:50])
    assert test.weights is not None and test.weights.shape == (50,)
    thresholds = model.calibrator_.threshold([0.9], test=test)
    assert thresholds.shape == (50, 1)
    assert np.unique(thresholds).size > 1  # the test weight w(x) changes the quantile
    widths = np.diff(model.predict_interval(X[:50]), axis=1).ravel()
    np.testing.assert_allclose(widths, 2 * thresholds[:, 0], rtol=1e-12)


def test_weights_are_checked_at_fit_for_every_row():
    X, y = _data()
    bad = np.ones(200)
    bad[5] = -1.0
    with pytest.raises(ValueError, match=r"calibration_weights\[5\] = -1.0"):
        SplitConformalRegressor(random_state=0).fit(X, y, calibration_weights=bad)
    with pytest.raises(ValueError, match="calibration_weights was given to fit together with"):
        SplitConformalRegressor(weights=ExponentialDecayWeights(0.9)).fit(
            X, y, calibration_weights=np.ones(200)
        )
    with pytest.raises(ValueError, match=r"'rho' parameter of ExponentialDecayWeights"):
        SplitConformalRegressor(weights=ExponentialDecayWeights(1.5)).fit(X, y)
    with pytest.raises(
        ValueError, match=r"weights\(X\) must be finite and non-negative \(the calibration rows\)"
    ):
        SplitConformalRegressor(weights=lambda X: -np.ones(len(X))).fit(X, y)


_LOG: list = []  # module-level: clone() deep-copies parameters, a list parameter would not do


class _Recorder(RegressorMixin, BaseEstimator):
    """A regressor that records the sample_weight each fit received."""

    def __init__(self, quantile=0.5, log=None):
        self.quantile = quantile
        self.log = log

    def fit(self, X, y, sample_weight=None):
        _LOG.append(None if sample_weight is None else np.asarray(sample_weight).copy())
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


class _NoWeights(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def _marked_weights(n):
    return np.arange(1, n + 1, dtype=float)  # each row's weight is its 1-based position


@pytest.mark.parametrize(
    "make",
    [
        lambda log: SplitConformalRegressor(_Recorder(log=log), random_state=0),
        lambda log: ConformalizedQuantileRegressor(
            _Recorder(log=log), quantile_param="quantile", random_state=0
        ),
        lambda log: CrossConformalRegressor(_Recorder(log=log), cv=3, random_state=0),
        lambda log: CrossConformalizedQuantileRegressor(
            _Recorder(log=log), quantile_param="quantile", cv=3, random_state=0
        ),
        lambda log: JackknifeAfterBootstrapRegressor(
            _Recorder(log=log), n_resamplings=5, random_state=0
        ),
    ],
    ids=["split", "cqr", "cross", "cross-cqr", "jab"],
)
def test_sample_weight_reaches_the_wrapped_model(make):
    X, y = _data(60)
    _LOG.clear()
    model = make(None)
    model.fit(X, y, sample_weight=_marked_weights(60))
    # every fit of the wrapped model saw the weights of its own rows
    assert _LOG and all(w is not None for w in _LOG)
    for w in _LOG:
        assert w.min() >= 1 and w.max() <= 60 and np.all(w == np.round(w))


def test_sample_weight_errors():
    X, y = _data(60)
    with pytest.raises(ValueError, match=r"_NoWeights\.fit does not accept sample_weight"):
        SplitConformalRegressor(_NoWeights(), random_state=0).fit(X, y, sample_weight=np.ones(60))
    from sklearn.frozen import FrozenEstimator

    frozen = FrozenEstimator(LinearRegression().fit(X, y))
    with pytest.raises(ValueError, match="sample_weight was given with a FrozenEstimator"):
        SplitConformalRegressor(frozen).fit(X, y, sample_weight=np.ones(60))
    with pytest.raises(ValueError, match="sample_weight has 3 entries; expected 60"):
        SplitConformalRegressor().fit(X, y, sample_weight=np.ones(3))


def test_group_kfold_takes_cv_groups_from_fit():
    X, y = _data(90)
    groups = np.repeat(np.arange(9), 10)
    model = CrossConformalRegressor(cv=GroupKFold(3)).fit(X, y, groups=groups)
    for k in range(3):  # every CV group sits in one fold
        assert np.unique(groups[model.fold_of_ == k]).size == 3
    with pytest.raises(
        ValueError, match=r"splits by groups and needs them: pass groups=\.\.\. to fit"
    ):
        CrossConformalRegressor(cv=GroupKFold(3)).fit(X, y)


def test_mondrian_is_checked_at_fit():
    X, y = _data()
    with pytest.raises(ValueError, match=r"mondrian\(X\) has 3 entries; expected 60"):
        SplitConformalRegressor(mondrian=lambda X: [0, 1, 0], random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"mondrian\(X\) must give one label per row"):
        SplitConformalRegressor(mondrian=lambda X: np.zeros((len(X), 2)), random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"mondrian\(X\) contains NaN"):
        SplitConformalRegressor(
            mondrian=lambda X: np.where(np.asarray(X)[:, 0] > 0, np.nan, 1.0), random_state=0
        ).fit(X, y)


def test_groups_is_the_old_name_of_mondrian():
    X, y = _data()
    rule = lambda X: (np.asarray(X)[:, 0] > 0).astype(int)  # noqa: E731
    with pytest.warns(FutureWarning, match=r"groups=\.\.\.\) is renamed mondrian"):
        old = SplitConformalRegressor(groups=rule, random_state=0).fit(X, y)
    new = SplitConformalRegressor(mondrian=rule, random_state=0).fit(X, y)
    np.testing.assert_array_equal(old.predict_interval(X[:9]), new.predict_interval(X[:9]))
    with pytest.raises(ValueError, match="mondrian and groups were both given"):
        SplitConformalRegressor(groups=rule, mondrian=rule).fit(X, y)


def test_randomized_is_the_old_name_of_smoothed():
    X, y = _data()
    model = SplitConformalRegressor(random_state=0).fit(X, y)
    with pytest.warns(FutureWarning, match=r"randomized=\.\.\.\) is renamed smoothed"):
        old = model.predict_pvalues(X[:4], y[:4], randomized=True)
    np.testing.assert_array_equal(old, model.predict_pvalues(X[:4], y[:4], smoothed=True))
    with pytest.warns(FutureWarning, match="alternative='upper' is renamed alternative='greater'"):
        upper = model.predict_pvalues(X[:4], y[:4], alternative="upper")
    np.testing.assert_array_equal(upper, model.predict_pvalues(X[:4], y[:4], alternative="greater"))


@pytest.mark.parametrize("size", [20, 0.99, 10])
def test_calibration_size_too_large_is_said_in_our_words(size):
    X, y = _data(10)
    with pytest.raises(ValueError, match=rf"calibration_size={size!r} leaves .* for calibration"):
        SplitConformalRegressor(calibration_size=size).fit(X, y)


def test_crps_with_non_numeric_y_names_it():
    X, y = _data()
    model = SplitConformalRegressor(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="y must be numeric targets; got values of dtype <U1"):
        model.crps(X[:2], ["a", "b"])


def test_predict_cdf_refuses_the_ambiguous_per_row_grid():
    """Issue 9: a 1-D y of length n_samples was read as an (n, n) grid by predict_cdf, as one
    value per row by predict_pvalues and crps."""
    X, y = _data()
    model = SplitConformalRegressor(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"y_grid is 1-D with 3 values, one per row of X"):
        model.predict_cdf(X[:3], y[:3])
    per_row = model.predict_cdf(X[:3], y[:3, None], kind="lower")
    shared = model.predict_cdf(X[:3], y[:3], kind="lower", shared_grid=True)
    assert per_row.shape == (3, 1) and shared.shape == (3, 3)
    np.testing.assert_array_equal(per_row[:, 0], np.diag(shared))


def test_cqr_issue_example_has_no_inverted_interval():
    """Issue 9: 35 of 230 rows came out with lower > upper at level 0.5 on concrete."""
    from conformal.datasets import load_dataset

    X, y = load_dataset("concrete")
    for symmetric in (True, False):
        model = ConformalizedQuantileRegressor(
            confidence_level=0.5, symmetric=symmetric, random_state=0
        ).fit(X[:800], y[:800])
        intervals = model.predict_interval(X[800:])
        assert (intervals[:, 0] > intervals[:, 1]).sum() == 0


class _Line(RegressorMixin, BaseEstimator):
    """A frozen 'quantile model' f(x) = a + b x[0]."""

    def __init__(self, a=0.0, b=0.0):
        self.a, self.b = a, b

    def fit(self, X, y):
        return self

    def predict(self, X):
        return self.a + self.b * np.asarray(X, dtype=float)[:, 0]


def test_crossing_quantile_models_are_rearranged_in_calibration_and_prediction():
    from sklearn.frozen import FrozenEstimator

    lower, upper = _Line(0.0, 1.0), _Line(0.0, -1.0)  # they cross at x = 0
    x = np.linspace(-2, 2, 41)[:, None]
    y = np.zeros(41)
    model = ConformalizedQuantileRegressor(
        [FrozenEstimator(lower), FrozenEstimator(upper)], confidence_level=0.8
    ).fit(x, y)
    band = np.column_stack([-np.abs(x[:, 0]), np.abs(x[:, 0])])  # min and max of the two lines
    np.testing.assert_array_equal(model.conformity_scores_[0], np.max(band * [1, -1], axis=1))
    q = conformal_quantile(model.conformity_scores_[0], 0.8)
    assert q < 0  # every target sits inside the band, so some narrow rows come out empty
    with pytest.warns(ConformalWarning, match="intervals are empty"):
        got = model.predict_interval(x)
    np.testing.assert_allclose(got, band + np.array([-q, q]), rtol=0, atol=1e-15)


def test_an_empty_cqr_interval_is_warned_about():
    from sklearn.frozen import FrozenEstimator

    # A band of half-width 5 around 0, targets always at 0: q = -5 (negative); a test row whose
    # band has half-width 1 gets [-1 + 5, 1 - 5] = [4, -4], the empty set.
    lower, upper = _Line(-5.0, 0.0), _Line(5.0, 0.0)
    x, y = np.zeros((40, 1)), np.zeros(40)
    model = ConformalizedQuantileRegressor(
        [FrozenEstimator(lower), FrozenEstimator(upper)], confidence_level=0.8
    ).fit(x, y)
    model.estimators_[0.1] = FrozenEstimator(_Line(-1.0, 0.0))
    model.estimators_[0.9] = FrozenEstimator(_Line(1.0, 0.0))
    with pytest.warns(ConformalWarning, match=r"1 of 1 intervals are empty \(lower > upper\)"):
        got = model.predict_interval(np.zeros((1, 1)))
    assert got[0, 0] > got[0, 1]


def test_quantile_models_are_safe_to_index_and_fit_levels_is_renamed():
    X, y = _data(100)
    from sklearn.linear_model import QuantileRegressor

    model = ConformalizedQuantileRegressor(QuantileRegressor(alpha=0.0), random_state=0).fit(X, y)
    assert model.estimators_[1 - 0.95] is model.estimators_[0.05]
    with pytest.raises(KeyError, match=r"no quantile model at level 0.2; the fitted quantile"):
        model.estimators_[0.2]
    assert model.fitted_confidence_levels_ == [0.9]
    with pytest.warns(FutureWarning, match="fit_levels_ is renamed fitted_confidence_levels_"):
        assert model.fit_levels_ == [0.9]


def test_trial_findings_are_clear_errors():
    """Found by a new user trying the package: each is now a clear error naming the input."""
    X, y = _data(60)
    with pytest.raises(ValueError, match=r"calibration_weights gives weight 0 to all \d+ calib"):
        SplitConformalRegressor(random_state=0).fit(X, y, calibration_weights=np.zeros(60))
    with pytest.raises(ValueError, match=r"calibration_weights must be 1-D, one weight per"):
        SplitConformalRegressor(random_state=0).fit(X, y, calibration_weights=np.ones((60, 2)))
    model = SplitConformalRegressor(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"flat sequence of such floats. Got a nested sequence"):
        model.predict_interval(X[:2], [[0.8, 0.9]])
    with pytest.raises(ValueError, match=r"smoothed must be True or False. Got 'yes'"):
        model.predict_pvalues(X[:2], y[:2], smoothed="yes")
    with pytest.raises(ValueError, match=r"scores must be numbers \(conformity scores\)"):
        conformal_quantile(["a", "b"], 0.9)
    with pytest.raises(ValueError, match=r"groups \(the CV groups passed to fit\) has shape"):
        CrossConformalRegressor(cv=GroupKFold(3)).fit(X, y, groups=np.arange(10))


@pytest.mark.parametrize("level", [Fraction(9, 10), Decimal("0.9"), np.float32(0.9)])
def test_constructor_takes_every_number_type_the_parser_takes(level):
    X, y = _data(60)
    model = SplitConformalRegressor(confidence_level=level, random_state=0).fit(X, y)
    assert model.predict_interval(X[:3]).shape == (3, 2)


def test_too_few_points_warning_names_every_short_level():
    X, y = _data(200)
    model = SplitConformalRegressor(conformity_score="signed", calibration_size=48).fit(X, y)
    with pytest.warns(ConformalWarning) as record:
        model.predict_interval(X[:1], [0.9, 0.95, 0.97, 0.98])
    (message,) = [str(r.message) for r in record if issubclass(r.category, ConformalWarning)]
    assert "confidence_level=0.97 needs at least 66" in message
    assert "confidence_level=0.98 needs at least 99" in message
    assert "0.95 needs" not in message


def test_weighted_warning_counts_what_is_infinite():
    X, y = _data(200)
    model = SplitConformalRegressor(weights=ExponentialDecayWeights(0.5), random_state=0).fit(X, y)
    with pytest.warns(ConformalWarning, match=r"confidence_level=0.9 needs a total weight of at "):
        intervals = model.predict_interval(X[:100])
    assert np.isinf(intervals).all()
    ratio = SplitConformalRegressor(weights=lambda Z: np.exp(8 * np.asarray(Z)[:, 0]))
    ratio.set_params(random_state=0).fit(X, y)
    with pytest.warns(ConformalWarning, match=r"for \d+ of 100 test points, the test point's own"):
        ratio.predict_interval(X[:100])
