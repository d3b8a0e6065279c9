"""Scorers for model selection on intervals and sets (``scoring=`` of GridSearchCV)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, QuantileRegressor
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from conformal import (
    ConformalizedQuantileRegressor,
    SplitConformalClassifier,
    SplitConformalRegressor,
)
from conformal.metrics import (
    coverage_width_scorer,
    crps_scorer,
    interval_score,
    interval_scorer,
    mean_width,
    set_size_scorer,
)
from conformal.scores import NormalizedScore


def _heteroscedastic(n: int = 900, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.exp(rng.uniform(0.0, 3.0, size=(n, 1)))  # 1 to 20, mostly small
    y = 2.0 * X[:, 0] + X[:, 0] * rng.normal(size=n)  # noise scale proportional to x
    return X, y


CV = KFold(3, shuffle=True, random_state=0)


@pytest.mark.parametrize(
    "scorer", [interval_scorer(), coverage_width_scorer(), crps_scorer()], ids=repr
)
def test_regression_scorers_in_cross_val_score(scorer):
    X, y = _heteroscedastic(600)
    model = SplitConformalRegressor(LinearRegression(), confidence_level=0.9, random_state=0)
    scores = cross_val_score(model, X, y, cv=CV, scoring=scorer)
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)  # negated losses


def test_interval_scorer_is_the_negated_interval_score_at_the_estimators_level():
    X, y = _heteroscedastic(600)
    model = SplitConformalRegressor(confidence_level=0.8, random_state=0).fit(X[:400], y[:400])
    expected = interval_score(y[400:], model.predict_interval(X[400:]), confidence_level=0.8)
    assert interval_scorer()(model, X[400:], y[400:]) == pytest.approx(-expected)
    # a level given to the scorer wins over the estimator's
    at_95 = interval_score(
        y[400:], model.predict_interval(X[400:], confidence_level=0.95), confidence_level=0.95
    )
    assert interval_scorer(0.95)(model, X[400:], y[400:]) == pytest.approx(-at_95)


def test_coverage_width_scorer_is_minus_inf_below_the_level():
    X, y = _heteroscedastic(600)
    model = SplitConformalRegressor(confidence_level=0.9, random_state=0).fit(X[:400], y[:400])
    width = mean_width(model.predict_interval(X[400:]))
    assert coverage_width_scorer()(model, X[400:], y[400:]) == pytest.approx(-width)
    # targets shifted far away: nothing is covered, the configuration is rejected
    assert coverage_width_scorer()(model, X[400:], y[400:] + 1e3) == -math.inf
    # a tolerance above the level accepts any coverage
    assert coverage_width_scorer(tolerance=0.95)(model, X[400:], y[400:] + 1e3) == -width


@pytest.mark.parametrize("scorer", [interval_scorer(), coverage_width_scorer()], ids=repr)
def test_grid_search_picks_the_narrower_valid_configuration(scorer):
    X, y = _heteroscedastic()
    model = SplitConformalRegressor(LinearRegression(), confidence_level=0.9, random_state=0)
    # normalized scores (a linear difficulty model: fast, and right for noise growing with x),
    # listed second: a tie would pick "absolute" (the first best candidate)
    normalized = NormalizedScore(LinearRegression())
    grid = {"conformity_score": ["absolute", normalized]}

    search = GridSearchCV(model, grid, cv=CV, scoring=scorer).fit(X, y)
    assert search.best_params_["conformity_score"] is normalized
    # both configurations are valid (finite scores: coverage reached on every fold)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))

    # the point predictions are the same, so the default R^2 cannot tell them apart: a tie,
    # broken in favour of the first candidate
    default = GridSearchCV(model, grid, cv=CV).fit(X, y)
    r2 = default.cv_results_["mean_test_score"]
    assert r2[0] == pytest.approx(r2[1])
    assert default.best_params_ == {"conformity_score": "absolute"}

    # and the chosen configuration is the narrower one on held-out data
    X_test, _ = _heteroscedastic(2000, seed=1)
    widths = {
        name: mean_width(model.set_params(conformity_score=name).fit(X, y).predict_interval(X_test))
        for name in grid["conformity_score"]
    }
    assert widths[normalized] < widths["absolute"]


def test_set_size_scorer_picks_the_informative_classifier():
    X, y = load_iris(return_X_y=True)
    model = SplitConformalClassifier(confidence_level=0.9, random_state=0)
    scores = cross_val_score(model, X, y, cv=CV, scoring=set_size_scorer())
    assert np.all(np.isfinite(scores)) and np.all((-3.0 <= scores) & (scores < 0.0))

    grid = {"estimator": [DummyClassifier(), LogisticRegression(max_iter=1000)]}
    search = GridSearchCV(model, grid, cv=CV, scoring=set_size_scorer()).fit(X, y)
    assert isinstance(search.best_params_["estimator"], LogisticRegression)
    sizes = -search.cv_results_["mean_test_score"]
    assert sizes[1] < 2.0 < sizes[0]  # the prior classifier needs near-full sets


def test_set_size_scorer_matches_labels_through_classes():
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    model = SplitConformalClassifier(confidence_level=0.9, random_state=0)
    scores = cross_val_score(model, X, labels, cv=CV, scoring=set_size_scorer())
    assert np.all(np.isfinite(scores))
    fitted = model.fit(X[::2], labels[::2])
    shuffled = np.roll(labels[1::2], 50)  # wrong labels: coverage collapses
    assert set_size_scorer(tolerance=0.0)(fitted, X[1::2], shuffled) == -math.inf


@pytest.mark.parametrize("factory", [interval_scorer, coverage_width_scorer, set_size_scorer])
@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1, "0.9", True, [0.8, 0.9]])
def test_bad_levels_are_refused_at_construction(factory, level):
    with pytest.raises(ValueError, match="'confidence_level' parameter must be a float"):
        factory(level)


@pytest.mark.parametrize("factory", [coverage_width_scorer, set_size_scorer])
@pytest.mark.parametrize("tolerance", [-0.1, 1.0, "0.1", math.nan])
def test_bad_tolerances_are_refused(factory, tolerance):
    with pytest.raises(ValueError, match="'tolerance' parameter must be None or a float"):
        factory(tolerance=tolerance)


def test_a_sequence_of_levels_on_the_estimator_needs_a_level_on_the_scorer():
    X, y = _heteroscedastic(300)
    model = SplitConformalRegressor(confidence_level=[0.8, 0.9], random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"interval_scorer\(confidence_level=0.9\)"):
        interval_scorer()(model, X, y)
    assert np.isfinite(interval_scorer(0.9)(model, X, y))


def test_scorers_name_the_missing_method():
    X, y = load_iris(return_X_y=True)
    classifier = SplitConformalClassifier(random_state=0).fit(X, y)
    with pytest.raises(TypeError, match=r"needs an estimator with a predict_interval.*set_size"):
        interval_scorer()(classifier, X, y)
    with pytest.raises(TypeError, match=r"coverage_width_scorer needs .* predict_interval"):
        coverage_width_scorer()(classifier, X, y)

    Xr, yr = _heteroscedastic(300)
    regressor = SplitConformalRegressor(random_state=0).fit(Xr, yr)
    with pytest.raises(TypeError, match=r"needs an estimator with a predict_set.*coverage_width"):
        set_size_scorer()(regressor, Xr, yr)

    cqr = ConformalizedQuantileRegressor(
        QuantileRegressor(alpha=0.0), confidence_level=0.9, random_state=0
    ).fit(Xr, yr)
    assert np.isfinite(interval_scorer()(cqr, Xr, yr))
    with pytest.raises(TypeError, match="crps_scorer needs an estimator with a crps_per_sample"):
        crps_scorer()(cqr, Xr, yr)


def test_repr_names_the_scorer_and_its_parameters():
    assert repr(interval_scorer(0.9)) == "interval_scorer(confidence_level=0.9)"
    assert repr(set_size_scorer(tolerance=0.05)) == (
        "set_size_scorer(confidence_level=None, tolerance=0.05)"
    )
    assert repr(crps_scorer()) == "crps_scorer()"
