"""The quantile-model protocol: level checks, the per-level adapter, and its consumers (CQR,
CV+ CQR and missing-data CQR) taking any model with ``predict_quantiles``."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, QuantileRegressor
from sklearn.utils.validation import check_is_fitted

from conformal import (
    ConformalizedQuantileRegressor,
    CrossConformalizedQuantileRegressor,
)
from conformal.aggregation import (
    MultiLevelQuantileRegressor,
    as_quantile_model,
    check_quantiles,
    is_quantile_model,
    merge_quantiles,
)
from conformal.missing import MissingDataConformalRegressor


class EmpiricalShift(RegressorMixin, BaseEstimator):
    """A protocol model of our own: a least-squares line plus empirical residual quantiles
    (any level after fit); it records the levels it was asked for."""

    def __init__(self, quantiles=None):
        self.quantiles = quantiles

    def fit(self, X, y):
        self.line_ = LinearRegression().fit(X, y)
        self.residuals_ = np.sort(y - self.line_.predict(X))
        self.n_features_in_ = self.line_.n_features_in_
        self.asked_ = []
        return self

    def predict_quantiles(self, X, quantiles=None):
        check_is_fitted(self)
        levels = check_quantiles(self.quantiles if quantiles is None else quantiles)
        self.asked_.append(levels.tolist())
        shifts = np.quantile(self.residuals_, levels, method="inverted_cdf")
        return self.line_.predict(X)[:, None] + shifts[None, :]

    def predict(self, X):
        return self.predict_quantiles(X, [0.5])[:, 0]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 5, size=(400, 2))
    y = X[:, 0] + rng.normal(scale=0.3 + X[:, 0] / 5, size=400)
    return X, y


# ---------------------------------------------------------------- levels


@pytest.mark.parametrize(
    ("quantiles", "match"),
    [
        ([0.0, 0.5], r"strictly between 0 and 1; got \[0.0\]"),
        ([0.5, 1.0], r"strictly between 0 and 1; got \[1.0\]"),
        ([0.1, np.nan], r"must be finite numbers in \(0, 1\); got \[0.1, nan\]"),
        ("0.5", "must be numbers in"),
        (["0.1", "0.9"], "must be numbers in"),
        ([True], "must be numbers in"),
        ([0.9, 0.1], "strictly increasing; got unsorted levels"),
        ([0.1, 0.1, 0.9], "strictly increasing; got duplicated levels"),
        ([], "non-empty 1-d"),
        ([[0.1, 0.2]], "non-empty 1-d"),
        ("low", "must be numbers in"),
    ],
)
def test_check_quantiles_errors(quantiles, match):
    with pytest.raises(ValueError, match=match):
        check_quantiles(quantiles)


def test_check_quantiles_names_the_parameter():
    with pytest.raises(ValueError, match=r"^levels must lie"):
        check_quantiles([1.5], name="levels")


def test_merge_quantiles_counts_close_levels_once():
    merged = merge_quantiles([0.05, 0.95], [1 - 0.95, 0.5], None, 0.5)
    np.testing.assert_array_equal(merged, [0.05, 0.5, 0.95])


# ---------------------------------------------------------------- adapter


def test_adapter_fits_one_clone_per_level_in_level_order(data):
    X, y = data
    base = QuantileRegressor(alpha=0.0)
    model = MultiLevelQuantileRegressor(base, quantiles=[0.1, 0.5, 0.9]).fit(X, y)
    assert base.get_params() == QuantileRegressor(alpha=0.0).get_params()
    assert not hasattr(base, "coef_")  # the user's model is not fitted
    assert sorted(model.estimators_) == [0.1, 0.5, 0.9]
    for q, column in zip([0.1, 0.5, 0.9], model.predict_quantiles(X).T, strict=True):
        expected = clone(base).set_params(quantile=q).fit(X, y).predict(X)
        np.testing.assert_allclose(column, expected)
    # A subset, in the asked order, and a level computed another way.
    both = model.predict_quantiles(X[:5], [1 - 0.9, 0.9])
    np.testing.assert_allclose(both, model.predict_quantiles(X[:5])[:, [0, 2]])
    np.testing.assert_allclose(model.predict(X[:5]), model.predict_quantiles(X[:5], [0.5])[:, 0])
    assert model.n_features_in_ == 2


def test_adapter_refuses_levels_it_did_not_fit(data):
    X, y = data
    model = MultiLevelQuantileRegressor(QuantileRegressor(alpha=0.0), quantiles=[0.1, 0.9])
    model.fit(X, y)
    with pytest.raises(ValueError, match=r"cannot predict \[0.5\]; refit with quantiles"):
        model.predict_quantiles(X, [0.1, 0.5])


def test_adapter_routes_sample_weight(data):
    X, y = data
    weights = np.where(X[:, 0] > 2.5, 5.0, 1.0)
    model = MultiLevelQuantileRegressor(
        GradientBoostingRegressor(loss="quantile", n_estimators=10, random_state=0),
        quantiles=[0.5],
    ).fit(X, y, sample_weight=weights)
    reference = GradientBoostingRegressor(
        loss="quantile", alpha=0.5, n_estimators=10, random_state=0
    ).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(model.predict(X), reference.predict(X))


def test_adapter_from_fitted_keeps_levels_with_their_models(data):
    X, y = data
    fitted = {q: QuantileRegressor(quantile=q, alpha=0.0).fit(X, y) for q in (0.9, 0.1, 0.5)}
    model = MultiLevelQuantileRegressor.from_fitted(fitted)
    np.testing.assert_array_equal(model.quantiles_, [0.1, 0.5, 0.9])
    np.testing.assert_allclose(model.predict_quantiles(X)[:, 2], fitted[0.9].predict(X))


def test_as_quantile_model_extends_a_protocol_models_levels_on_a_clone():
    user = EmpiricalShift(quantiles=[0.25, 0.75])
    model = as_quantile_model(user, [0.05, 0.95])
    assert model is not user and user.quantiles == [0.25, 0.75]
    assert model.quantiles == [0.05, 0.25, 0.75, 0.95]
    assert as_quantile_model(EmpiricalShift(), [0.5]).quantiles == [0.5]
    assert is_quantile_model(FrozenEstimator(EmpiricalShift()))


@pytest.mark.parametrize(
    ("estimator", "kwargs", "match"),
    [
        (EmpiricalShift(), {"quantile_param": "q"}, "predicts its quantiles itself"),
        (LinearRegression(), {}, "Cannot tell which parameter of LinearRegression"),
        (GradientBoostingRegressor(), {}, r"does not fit quantiles.*loss='quantile'"),
    ],
)
def test_as_quantile_model_errors(estimator, kwargs, match):
    with pytest.raises(ValueError, match=match):
        as_quantile_model(estimator, [0.05, 0.95], **kwargs)


# ---------------------------------------------------------------- consumers


def test_cqr_with_the_adapter_equals_cqr_with_the_bare_model(data):
    X, y = data
    bare = ConformalizedQuantileRegressor(QuantileRegressor(alpha=0.0), random_state=1).fit(X, y)
    wrapped = ConformalizedQuantileRegressor(
        MultiLevelQuantileRegressor(QuantileRegressor(alpha=0.0), quantiles=[0.5]),
        random_state=1,
    ).fit(X, y)
    np.testing.assert_array_equal(bare.predict_interval(X), wrapped.predict_interval(X))
    np.testing.assert_array_equal(bare.predict(X), wrapped.predict(X))
    assert sorted(bare.estimators_) == [0.05, 0.5, 0.95]
    assert sorted(wrapped.quantile_model_.quantiles) == [0.05, 0.5, 0.95]


def test_cqr_fits_a_protocol_model_once_and_asks_for_its_levels(data):
    X, y = data
    user = EmpiricalShift()
    cqr = ConformalizedQuantileRegressor(user, confidence_level=[0.8, 0.9], random_state=0)
    cqr.fit(X, y)
    assert not hasattr(user, "line_")
    assert cqr.quantile_model_.quantiles == [0.05, 0.1, 0.5, 0.9, 0.95]
    calls = len(cqr.quantile_model_.asked_)
    intervals = cqr.predict_interval(X[:10])
    assert intervals.shape == (10, 2, 2)
    # Both pairs' levels asked for in one call (one pass of the model over X).
    assert cqr.quantile_model_.asked_[calls:] == [[0.05, 0.1, 0.9, 0.95]]
    with pytest.raises(AttributeError, match="predicts its quantiles itself"):
        _ = cqr.estimators_
    # CQR's interval: the model's (a/2, 1 - a/2) band widened by the k-th smallest score.
    band = cqr.quantile_model_.predict_quantiles(X[:10], [0.05, 0.95])
    scores = np.sort(cqr.conformity_scores_[1])
    k = int(np.ceil(0.9 * (scores.size + 1)))
    np.testing.assert_allclose(intervals[:, 1, 0], band[:, 0] - scores[k - 1])
    np.testing.assert_allclose(intervals[:, 1, 1], band[:, 1] + scores[k - 1])


def test_cqr_takes_one_frozen_quantile_model_and_calibrates_on_all_rows(data):
    X, y = data
    fitted = EmpiricalShift().fit(X[:200], y[:200])
    cqr = ConformalizedQuantileRegressor(FrozenEstimator(fitted)).fit(X[200:], y[200:])
    assert cqr.conformity_scores_.shape == (1, 200)
    band = fitted.predict_quantiles(X[200:], [0.05, 0.95])
    expected = np.maximum(band[:, 0] - y[200:], y[200:] - band[:, 1])
    np.testing.assert_allclose(cqr.conformity_scores_[0], expected)


def test_cqr_single_frozen_model_without_predict_quantiles_is_refused(data):
    X, y = data
    frozen = FrozenEstimator(QuantileRegressor(alpha=0.0).fit(X, y))
    with pytest.raises(ValueError, match="cannot give both quantiles unless"):
        ConformalizedQuantileRegressor(frozen).fit(X, y)


def test_cross_cqr_with_a_protocol_model(data):
    X, y = data
    bare = CrossConformalizedQuantileRegressor(QuantileRegressor(alpha=0.0), random_state=0)
    wrapped = CrossConformalizedQuantileRegressor(
        MultiLevelQuantileRegressor(QuantileRegressor(alpha=0.0)), random_state=0
    )
    np.testing.assert_allclose(
        bare.fit(X, y).predict_interval(X[:20]), wrapped.fit(X, y).predict_interval(X[:20])
    )
    own = CrossConformalizedQuantileRegressor(EmpiricalShift(), cv=4, random_state=0).fit(X, y)
    assert len(own.quantile_models_) == 4
    assert own.predict_interval(X[:7]).shape == (7, 2)
    with pytest.raises(AttributeError, match="predicts its quantiles itself"):
        _ = own.estimators_
    assert len(bare.estimators_) == 5 and sorted(bare.estimators_[0]) == [0.05, 0.5, 0.95]


def test_missing_data_cqr_with_a_protocol_model(data):
    X, y = data
    X = X.copy()
    X[::7, 1] = np.nan
    model = MissingDataConformalRegressor(
        EmpiricalShift(), conformity_score="cqr", random_state=0
    ).fit(X, y)
    assert model.predict_interval(X[:9]).shape == (9, 2)
    assert model.predict(X[:3]).shape == (3,)


@pytest.mark.parametrize("cross", [False, True])
def test_cqr_predict_quantiles_assembles_the_calibrated_ends(data, cross):
    X, y = data
    Model = CrossConformalizedQuantileRegressor if cross else ConformalizedQuantileRegressor
    model = Model(QuantileRegressor(alpha=0.0), confidence_level=[0.5, 0.9], random_state=0)
    model.fit(X, y)
    raw = model.predict_quantiles(X, rearrangement=None)
    intervals = model.predict_interval(X, confidence_level=[0.5, 0.9])
    np.testing.assert_array_equal(raw[:, [0, 4]], intervals[:, 1])
    np.testing.assert_array_equal(raw[:, [1, 3]], intervals[:, 0])
    np.testing.assert_array_equal(raw[:, 2], model.predict(X))
    ordered = model.predict_quantiles(X)
    assert (np.diff(ordered, axis=1) >= 0).all()
    np.testing.assert_array_equal(ordered, np.sort(raw, axis=1))
    # Sorting only widens the outermost pair: its guarantee survives.
    assert (ordered[:, 0] <= raw[:, 0]).all() and (ordered[:, -1] >= raw[:, -1]).all()
    chosen = model.predict_quantiles(X[:4], [0.05, 0.5, 0.95], rearrangement=None)
    np.testing.assert_array_equal(chosen, raw[:4, [0, 2, 4]])


def test_cqr_predict_quantiles_errors(data):
    from sklearn.exceptions import NotFittedError

    X, y = data
    model = ConformalizedQuantileRegressor(QuantileRegressor(alpha=0.0), random_state=0)
    with pytest.raises(NotFittedError):
        model.predict_quantiles(X)
    with pytest.raises(NotFittedError):
        CrossConformalizedQuantileRegressor(EmpiricalShift()).predict_quantiles(X)
    model.fit(X, y)
    with pytest.raises(ValueError, match="strictly increasing"):
        model.predict_quantiles(X, [0.95, 0.05])
    with pytest.raises(ValueError, match="method"):
        model.predict_quantiles(X, rearrangement="bubble")


def test_a_pipeline_around_a_protocol_model_is_a_quantile_model(data):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from conformal.aggregation import predict_quantiles_of

    X, y = data
    pipeline = make_pipeline(StandardScaler(), EmpiricalShift(quantiles=[0.25]))
    assert is_quantile_model(pipeline)
    model = as_quantile_model(pipeline, [0.05, 0.95])
    assert model[-1].quantiles == [0.05, 0.25, 0.95] and pipeline[-1].quantiles == [0.25]
    cqr = ConformalizedQuantileRegressor(pipeline, random_state=0).fit(X, y)
    scaled = StandardScaler().fit(X[:10])
    assert cqr.predict_interval(X[:10]).shape == (10, 2)
    fitted = make_pipeline(scaled, EmpiricalShift(quantiles=[0.5]).fit(scaled.transform(X), y))
    np.testing.assert_allclose(
        predict_quantiles_of(fitted, X[:3], [0.5]),
        fitted[-1].predict_quantiles(scaled.transform(X[:3]), [0.5]),
    )
    frozen = FrozenEstimator(fitted)
    np.testing.assert_array_equal(
        predict_quantiles_of(frozen, X[:3]), predict_quantiles_of(fitted, X[:3])
    )


def test_the_quantile_parameter_of_a_pipeline_is_found_on_its_last_step(data):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from conformal.aggregation import quantile_parameter

    X, y = data
    pipeline = make_pipeline(StandardScaler(), QuantileRegressor(alpha=0.0))
    assert quantile_parameter(pipeline, None) == "quantileregressor__quantile"
    model = as_quantile_model(pipeline, [0.1, 0.9]).fit(X, y)
    assert model.estimators_[0.9].get_params()["quantileregressor__quantile"] == 0.9
    with pytest.raises(ValueError, match="Cannot tell which parameter of LinearRegression"):
        quantile_parameter(make_pipeline(StandardScaler(), LinearRegression()), None)


def test_as_quantile_model_never_writes_levels_onto_a_frozen_model(data):
    X, y = data
    fitted = EmpiricalShift(quantiles=(0.25, 0.75)).fit(X, y)
    model = as_quantile_model(FrozenEstimator(fitted), [0.05, 0.95])
    assert fitted.quantiles == (0.25, 0.75)
    assert model.predict_quantiles(X[:2], [0.05, 0.95]).shape == (2, 2)
