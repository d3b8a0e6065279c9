"""Scores of quantile matrices: ``mean_pinball_loss`` against scikit-learn level by level, and the
weighted interval score in pinball form against its interval form (Bracher et al. 2021)."""

import numpy as np
import pytest
from sklearn.metrics import mean_pinball_loss as sklearn_mean_pinball_loss

from conformal.metrics import (
    interval_score,
    mean_pinball_loss,
    pinball_loss,
    quantile_weighted_interval_score,
    weighted_interval_score,
)

LEVELS = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    center = rng.normal(scale=0.5, size=(200, 1))
    predictions = center + np.sort(rng.normal(size=(200, LEVELS.size)), axis=1)
    weights = rng.uniform(0, 2, size=200)
    return y, predictions, weights


@pytest.mark.parametrize("weighted", [False, True])
def test_each_level_agrees_with_sklearn(problem, weighted):
    y, predictions, weights = problem
    w = weights if weighted else None
    raw = mean_pinball_loss(y, predictions, LEVELS, sample_weight=w, multioutput="raw_values")
    want = [
        sklearn_mean_pinball_loss(y, predictions[:, j], alpha=t, sample_weight=w)
        for j, t in enumerate(LEVELS)
    ]
    np.testing.assert_allclose(raw, want, rtol=1e-12)
    np.testing.assert_allclose(
        mean_pinball_loss(y, predictions, LEVELS, sample_weight=w), np.mean(want), rtol=1e-12
    )
    level_weights = np.arange(1.0, LEVELS.size + 1)
    np.testing.assert_allclose(
        mean_pinball_loss(y, predictions, LEVELS, sample_weight=w, multioutput=level_weights),
        np.average(want, weights=level_weights),
        rtol=1e-12,
    )
    if not weighted:  # the package's unweighted per-level form
        np.testing.assert_allclose(raw, pinball_loss(y, predictions, LEVELS), rtol=1e-12)


def test_wis_from_interval_scores_equals_pinball_form(problem):
    """Bracher et al. (2021), equations (2)-(4): with K central intervals at miscoverage a_k and
    the median m, WIS = (0.5 |y - m| + sum_k (a_k / 2) IS_{a_k}) / (K + 1/2), which equals
    2 / (2K + 1) times the summed pinball loss of the 2K + 1 quantiles; unnormalised, the sum
    of a_k (u_k - l_k) + 2 dist(y, [l_k, u_k]) and |y - m| is twice the summed pinball loss."""
    y, predictions, _ = problem
    alphas = np.array([0.1, 0.2, 0.5])  # pairs (0.05, 0.95), (0.1, 0.9), (0.25, 0.75)
    lower = predictions[:, [0, 1, 2]]
    upper = predictions[:, [6, 5, 4]]
    median = predictions[:, 3]
    k = alphas.size
    # The interval form, from interval_score level by level.
    weighted_scores = sum(
        (a / 2) * interval_score(y, np.column_stack([lower[:, i], upper[:, i]]), 1 - a)
        for i, a in enumerate(alphas)
    )
    by_intervals = (0.5 * np.mean(np.abs(y - median)) + weighted_scores) / (k + 0.5)
    pinball_form = quantile_weighted_interval_score(y, predictions, LEVELS)
    np.testing.assert_allclose(pinball_form, by_intervals, rtol=1e-12)
    np.testing.assert_allclose(pinball_form, 2 * mean_pinball_loss(y, predictions, LEVELS))
    # The package's interval-form WIS, with and without the median.
    intervals = np.stack([lower, upper], axis=-1)
    np.testing.assert_allclose(
        pinball_form,
        weighted_interval_score(y, intervals, 1 - alphas, median=median),
        rtol=1e-12,
    )
    tails = [0, 1, 2, 4, 5, 6]
    np.testing.assert_allclose(
        quantile_weighted_interval_score(y, predictions[:, tails], LEVELS[tails]),
        weighted_interval_score(y, intervals, 1 - alphas),
        rtol=1e-12,
    )
    # The unnormalised sum of the spec and of Fakoor et al. (2023).
    distance = np.maximum(lower - y[:, None], 0) + np.maximum(y[:, None] - upper, 0)
    summed = np.mean(((alphas * (upper - lower)) + 2 * distance).sum(axis=1) + np.abs(y - median))
    np.testing.assert_allclose(
        quantile_weighted_interval_score(y, predictions, LEVELS, normalize=False),
        summed,
        rtol=1e-12,
    )


def test_weighted_wis_is_the_weighted_mean_over_samples(problem):
    y, predictions, weights = problem
    per_sample = [
        quantile_weighted_interval_score(y[[i]], predictions[[i]], LEVELS) for i in range(len(y))
    ]
    np.testing.assert_allclose(
        quantile_weighted_interval_score(y, predictions, LEVELS, sample_weight=weights),
        np.average(per_sample, weights=weights),
        rtol=1e-12,
    )


def test_infinite_predictions_give_infinite_loss():
    predictions = [[-np.inf, 0.0, np.inf]]
    levels = [0.1, 0.5, 0.9]
    raw = mean_pinball_loss([0.0], predictions, levels, multioutput="raw_values")
    np.testing.assert_array_equal(raw, [np.inf, 0.0, np.inf])
    assert quantile_weighted_interval_score([0.0], predictions, levels) == np.inf


def test_inputs_are_not_modified(problem):
    y, predictions, weights = problem
    copies = [a.copy() for a in (y, predictions, weights)]
    mean_pinball_loss(y, predictions, LEVELS, sample_weight=weights)
    quantile_weighted_interval_score(y, predictions, LEVELS, sample_weight=weights)
    for original, copy in zip((y, predictions, weights), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


@pytest.mark.parametrize(
    "y, predictions, levels, kwargs, match",
    [
        ([0.0, np.nan], [[0.0], [0.0]], [0.5], {}, r"y contains NaN or infinity"),
        ([], np.empty((0, 1)), [0.5], {}, r"y is empty"),
        ([0.0], [0.0], [0.5], {}, r"shape \(n_samples, n_quantiles\).*reshape\(-1, 1\)"),
        ([0.0, 1.0], [[0.0, 1.0]], [0.1, 0.9], {}, r"y has 2 entries but .* has 1 rows"),
        ([0.0], [[np.nan, 1.0]], [0.1, 0.9], {}, r"contains NaN .* row 0, column 0"),
        ([0.0], [[0.0, 1.0]], [0.1], {}, r"quantiles has 1 levels but .* 2 columns"),
        ([0.0], [[0.0, 1.0]], [0.0, 0.9], {}, r"'quantiles' parameter .* 0.0 is not in"),
        ([0.0], [[0.0, 1.0]], [0.1, 1.5], {}, r"'quantiles' parameter .* 1.5 is not in"),
        ([0.0], [[0.0]], [[0.5]], {}, r"'quantiles' parameter must be a non-empty sequence"),
        ([0.0], [[0.0]], [0.5], {"sample_weight": [1.0, 2.0]}, r"sample_weight must have shape"),
        ([0.0], [[0.0]], [0.5], {"sample_weight": [-1.0]}, r"sample_weight must be finite"),
        ([0.0], [[0.0]], [0.5], {"sample_weight": [0.0]}, r"positive sum"),
        ([0.0], [["a"]], [0.5], {}, r"quantile_predictions must be numeric"),
    ],
)
def test_bad_input(y, predictions, levels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mean_pinball_loss(y, predictions, levels, **kwargs)
    with pytest.raises(ValueError, match=match):
        quantile_weighted_interval_score(y, predictions, levels, **kwargs)


@pytest.mark.parametrize("multioutput", ["mean", [1.0], [1.0, -1.0], [0.0, 0.0]])
def test_bad_multioutput(multioutput):
    with pytest.raises(ValueError, match=r"'multioutput' parameter of mean_pinball_loss .* 2"):
        mean_pinball_loss([0.0], [[0.0, 1.0]], [0.1, 0.9], multioutput=multioutput)


class NoLevels:
    """A quantile model with no levels of its own."""

    def fit(self, X, y):
        self.centre_ = float(np.mean(y))
        return self

    def predict_quantiles(self, X, quantiles=None):
        return np.full((len(X), len(quantiles)), self.centre_)


def test_wis_scorer_rates_predict_quantiles_and_says_what_is_missing():
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from conformal import ConformalizedQuantileRegressor
    from conformal.aggregation import KNeighborsQuantileRegressor
    from conformal.metrics import quantile_weighted_interval_score, wis_scorer

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 5, size=(300, 1))
    y = 2 * X[:, 0] + rng.normal(size=300)
    model = KNeighborsQuantileRegressor(n_neighbors=30, quantiles=[0.1, 0.5, 0.9]).fit(X, y)
    expected = quantile_weighted_interval_score(y, model.predict_quantiles(X), [0.1, 0.5, 0.9])
    assert wis_scorer()(model, X, y) == pytest.approx(-expected)
    assert wis_scorer([0.1, 0.9])(model, X, y) == pytest.approx(
        -quantile_weighted_interval_score(y, model.predict_quantiles(X, [0.1, 0.9]), [0.1, 0.9])
    )
    piped = make_pipeline(StandardScaler(), KNeighborsQuantileRegressor(n_neighbors=30))
    assert wis_scorer([0.5])(piped.fit(X, y), X, y) < 0
    assert wis_scorer()(piped, X, y) < 0  # the last step's levels (0.05, 0.5, 0.95)
    cqr = ConformalizedQuantileRegressor(
        KNeighborsQuantileRegressor(n_neighbors=30), confidence_level=[0.5, 0.9], random_state=0
    ).fit(X, y)
    assert wis_scorer([0.05, 0.25, 0.5, 0.75, 0.95])(cqr, X, y) < 0
    assert repr(wis_scorer([0.1, 0.9])) == "wis_scorer(quantiles=[0.1, 0.9])"
    with pytest.raises(TypeError, match="needs an estimator with predict_quantiles"):
        wis_scorer()(LinearRegression().fit(X, y), X, y)
    np.testing.assert_allclose(
        wis_scorer()(cqr, X, y), wis_scorer([0.05, 0.25, 0.5, 0.75, 0.95])(cqr, X, y)
    )
    with pytest.raises(ValueError, match=r"has neither quantiles_ nor quantiles"):
        wis_scorer()(NoLevels().fit(X, y), X, y)
    with pytest.raises(ValueError, match="strictly increasing"):
        wis_scorer([0.9, 0.1])
