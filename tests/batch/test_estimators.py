"""Batch methods of the split estimators and the batch selector."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from conformal import (
    ConformalizedQuantileRegressor,
    ConformalWarning,
    SplitConformalClassifier,
    SplitConformalRegressor,
)
from conformal.batch import (
    BatchSelector,
    batch_mean_bound,
    batch_quantile_bound,
    batch_quantile_rank,
    batch_simultaneous_rank,
)

rng = np.random.default_rng(0)
X = rng.uniform(0, 5, size=(1500, 2))
Y = X[:, 0] + rng.normal(size=1500)
LABELS = (X[:, 0] + rng.normal(size=1500) > 2.5).astype(int) + (X[:, 1] > 4).astype(int)
X_TEST = rng.uniform(0, 5, size=(40, 2))
QUANTILE_MODEL = HistGradientBoostingRegressor(loss="quantile", max_iter=15, max_leaf_nodes=8)


@pytest.fixture(scope="module")
def regressor():
    return SplitConformalRegressor(random_state=0).fit(X, Y)


def test_simultaneous_interval_is_split_interval_at_batch_rank(regressor):
    n = regressor.calibrator_.n_calibration
    for delta in (0.0, 0.1, 0.5):
        k, _ = batch_simultaneous_rank(n, 40, 0.9, delta=delta)
        q = np.sort(regressor.conformity_scores_)[k - 1]
        pred = regressor.predict(X_TEST)
        out = regressor.predict_batch_interval(X_TEST, delta=delta)
        assert out.shape == (40, 2)
        assert (out[:, 0] <= pred - q).all() and (out[:, 1] >= pred + q).all()  # outward
        np.testing.assert_allclose(out, np.column_stack([pred - q, pred + q]), rtol=1e-12)
    per_point = regressor.predict_interval(X_TEST)
    batch = regressor.predict_batch_interval(X_TEST, delta=0.1)
    assert (batch[:, 1] - batch[:, 0] > per_point[:, 1] - per_point[:, 0]).all()


def test_batch_of_one_is_split_conformal(regressor):
    for level in (0.8, 0.9, [0.5, 0.95]):
        np.testing.assert_array_equal(
            regressor.predict_batch_interval(X_TEST[:1], level),
            regressor.predict_interval(X_TEST[:1], level),
        )


def test_levels_shape(regressor):
    out = regressor.predict_batch_interval(X_TEST, [0.8, 0.9])
    assert out.shape == (40, 2, 2)
    assert (out[:, 1, 1] >= out[:, 0, 1]).all()
    np.testing.assert_array_equal(out[:, 1], regressor.predict_batch_interval(X_TEST, 0.9))


@pytest.mark.parametrize(
    "model",
    [
        SplitConformalRegressor(conformity_score="signed", random_state=0),
        ConformalizedQuantileRegressor(QUANTILE_MODEL, symmetric=False, random_state=0),
    ],
    ids=["signed", "cqr-asymmetric"],
)
def test_two_one_sided_scores_split_the_misses(model):
    """Two one-sided scores: each side at 1 - a/2 with half of the allowed misses."""
    model.fit(X, Y)
    scores = model.conformity_scores_
    scores = scores[0] if scores.ndim == 3 else scores  # CQR: one calibration set per level
    n = scores.shape[0]
    misses = 40 - 36  # delta = 0.1
    lo_k, _ = batch_quantile_rank(n, 40, 40 - misses // 2, 0.95)
    hi_k, _ = batch_quantile_rank(n, 40, 40 - (misses - misses // 2), 0.95)
    expected = model.score_.inverse(
        model.predict(X_TEST)
        if isinstance(model, SplitConformalRegressor)
        else model._band(X_TEST, 0),
        np.array([[np.sort(scores[:, 0])[lo_k - 1], np.sort(scores[:, 1])[hi_k - 1]]]),
    )[:, 0]
    np.testing.assert_allclose(model.predict_batch_interval(X_TEST, delta=0.1), expected)


def test_cqr(regressor):
    model = ConformalizedQuantileRegressor(QUANTILE_MODEL, random_state=0).fit(X, Y)
    out = model.predict_batch_interval(X_TEST, delta=0.1)
    per_point = model.predict_interval(X_TEST)
    assert out.shape == (40, 2)
    assert (out[:, 0] <= per_point[:, 0]).all() and (out[:, 1] >= per_point[:, 1]).all()
    np.testing.assert_array_equal(
        model.predict_batch_interval(X_TEST[:1]), model.predict_interval(X_TEST[:1])
    )
    bound = model.predict_batch_bound(X_TEST, quantile=0.5)
    assert bound == batch_quantile_bound(model.conformity_scores_[0], 40, 0.9, quantile=0.5)


def test_batch_bounds(regressor):
    scores = regressor.conformity_scores_
    median = regressor.predict_batch_bound(X_TEST)
    assert median.shape == ()
    assert median == batch_quantile_bound(scores, 40, 0.9, quantile=0.5)
    two = regressor.predict_batch_bound(X_TEST, [0.8, 0.9], quantile=0.9, two_sided=True)
    assert two.shape == (2, 2)
    np.testing.assert_array_equal(
        two[1], batch_quantile_bound(scores, 40, 0.9, quantile=0.9, two_sided=True)
    )
    mean = regressor.predict_batch_bound(X_TEST, statistic="mean", score_bound=50.0)
    assert mean == batch_mean_bound(scores, 40, 0.9, score_bound=50.0)
    assert np.median(scores) < median < mean < 50.0


def test_too_small_calibration_set_warns():
    model = SplitConformalRegressor(calibration_size=50, random_state=0).fit(X, Y)
    with pytest.warns(
        ConformalWarning,
        match=r"calibration set has 50 points; covering all of them in a batch of m=40 at "
        r"confidence_level=0.9 needs at least 360 \(or returns infinite intervals\)",
    ):
        out = model.predict_batch_interval(X_TEST)
    assert np.isinf(out).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConformalWarning)
        assert np.isfinite(model.predict_batch_interval(X_TEST, delta=0.5)).all()


def test_refuses_weights_and_mondrian():
    weighted = SplitConformalRegressor(random_state=0).fit(X, Y, calibration_weights=np.ones(1500))
    with pytest.raises(
        ValueError,
        match=r"batch inference needs exchangeable, unweighted .*with "
        r"weights\. Fit it without weights, mondrian and class_conditional",
    ):
        weighted.predict_batch_interval(X_TEST)
    grouped = SplitConformalRegressor(mondrian=lambda x: x[:, 1] > 2.5, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match=r"fitted with Mondrian groups"):
        grouped.predict_batch_bound(X_TEST)


def test_bound_errors(regressor):
    with pytest.raises(ValueError, match=r"statistic must be 'quantile' or 'mean'\. Got 'max'"):
        regressor.predict_batch_bound(X_TEST, statistic="max")
    with pytest.raises(ValueError, match=r"statistic='mean' needs score_bound, a known upper"):
        regressor.predict_batch_bound(X_TEST, statistic="mean")
    signed = SplitConformalRegressor(conformity_score="signed", random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match=r"predict_batch_bound needs one column of conformity"):
        signed.predict_batch_bound(X_TEST)
    with pytest.raises(ValueError, match=r"delta \(the fraction of the batch allowed"):
        regressor.predict_batch_interval(X_TEST, delta=1.0)


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SplitConformalRegressor().predict_batch_interval(X_TEST)


# ---------------------------------------------------------------------- classification


@pytest.fixture(scope="module")
def classifier():
    return SplitConformalClassifier(LogisticRegression(), random_state=0).fit(X, LABELS)


def test_simultaneous_sets(classifier):
    sets = classifier.predict_batch_set(X_TEST, delta=0.1)
    assert sets.shape == (40, 3)
    per_point = classifier.predict_set(X_TEST)
    assert (sets >= per_point).all() and sets.sum() > per_point.sum()
    np.testing.assert_array_equal(
        classifier.predict_batch_set(X_TEST[:1], [0.8, 0.9]),
        classifier.predict_set(X_TEST[:1], [0.8, 0.9]),
    )
    n = classifier.calibrator_.n_calibration
    k, _ = batch_simultaneous_rank(n, 40, 0.9, delta=0.1)
    threshold = np.sort(classifier.conformity_scores_)[k - 1]
    proba = classifier.predict_proba(X_TEST)
    np.testing.assert_array_equal(
        sets, classifier.score_.predict_set(proba, np.array([threshold]))[:, 0]
    )


def test_classifier_bounds_and_warnings(classifier):
    mean = classifier.predict_batch_bound(X_TEST, statistic="mean", score_bound=1.0)
    assert 0.0 < mean < 1.0
    small = SplitConformalClassifier(LogisticRegression(), calibration_size=30, random_state=0)
    small.fit(X, LABELS)
    with pytest.warns(ConformalWarning, match=r"needs at least 360 \(or returns full prediction"):
        assert small.predict_batch_set(X_TEST).all()
    conditional = SplitConformalClassifier(
        LogisticRegression(), class_conditional=True, random_state=0
    ).fit(X, LABELS)
    with pytest.raises(ValueError, match=r"fitted with Mondrian groups"):
        conditional.predict_batch_set(X_TEST)


# ---------------------------------------------------------------------- selection


@parametrize_with_checks([BatchSelector()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_selector():
    selector = BatchSelector(threshold=3.0, max_false=2, random_state=0).fit(X, Y)
    chosen = selector.select(X_TEST)
    mu = selector.predict(X_TEST)
    assert (mu[chosen] > selector.selection_threshold(40)).all()
    assert not (mu[~chosen] > selector.selection_threshold(40)).any()
    scores = selector.conformity_scores_
    assert ((scores == 0) | (scores <= 3.0 + 10)).all()
    again = pickle.loads(pickle.dumps(selector))
    np.testing.assert_array_equal(again.select(X_TEST), chosen)
    frozen = BatchSelector(FrozenEstimator(LinearRegression().fit(X, Y)), threshold=3.0)
    assert frozen.fit(X[:300], Y[:300]).conformity_scores_.shape == (300,)
    # more tolerated false claims: a lower threshold, more selections
    loose = BatchSelector(threshold=3.0, max_false=10, random_state=0).fit(X, Y)
    assert loose.selection_threshold(40) <= selector.selection_threshold(40)


def test_selector_errors():
    with pytest.raises(ValueError, match=r"BatchSelector takes one confidence_level\. Got"):
        BatchSelector(confidence_level=[0.8, 0.9]).fit(X, Y)
    selector = BatchSelector(max_false=50).fit(X, Y)
    with pytest.raises(ValueError, match=r"max_false .* must be an int in \[0, 39\]"):
        selector.selection_threshold(X_TEST.shape[0])
    # A batch of at most max_false rows: every claim mu > c is safe, no threshold needed.
    np.testing.assert_array_equal(
        selector.select(X_TEST), selector.predict(X_TEST) > selector.threshold
    )
    small = BatchSelector(calibration_size=20, random_state=0).fit(X, Y)
    with pytest.warns(
        ConformalWarning,
        match=r"calibration set has 20 points; selecting with at most 0 false selections in a "
        r"batch of m=40 at confidence_level=0.9 needs at least 360 \(or selects nothing\)",
    ):
        assert not small.select(X_TEST).any()
