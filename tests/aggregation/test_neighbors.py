"""KNeighborsQuantileRegressor against NumPy quantiles of the neighbours' targets."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import KNeighborsRegressor, NearestNeighbors
from sklearn.utils.estimator_checks import parametrize_with_checks

from conformal.aggregation._neighbors import KNeighborsQuantileRegressor
from tests import _reference as ref

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2))
Y = X[:, 0] + rng.normal(size=200)
X_TEST = rng.normal(size=(30, 2))
LEVELS = np.sort(rng.uniform(0.001, 0.999, size=25))  # random: no level on a step of 1/k


@pytest.mark.parametrize("k", [1, 7, 20])
def test_uniform_is_numpy_inverted_cdf(k):
    model = KNeighborsQuantileRegressor(n_neighbors=k).fit(X, Y)
    _, idx = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X_TEST)
    want = np.quantile(Y[idx], LEVELS, axis=1, method="inverted_cdf").T
    np.testing.assert_array_equal(model.predict_quantiles(X_TEST, LEVELS), want)


def test_distance_weights_match_reference():
    model = KNeighborsQuantileRegressor(n_neighbors=9, weights="distance").fit(X, Y)
    dist, idx = NearestNeighbors(n_neighbors=9).fit(X).kneighbors(X_TEST)
    got = model.predict_quantiles(X_TEST, LEVELS)
    for j in range(len(X_TEST)):
        want = ref.inverted_cdf_quantiles(Y[idx[j]], 1.0 / dist[j], LEVELS)
        np.testing.assert_array_equal(got[j], want)


def test_exact_match_takes_all_weight_and_callable_weights():
    model = KNeighborsQuantileRegressor(n_neighbors=5, weights="distance").fit(X, Y)
    np.testing.assert_array_equal(model.predict_quantiles(X[:3], [0.01, 0.99]), np.c_[Y[:3], Y[:3]])
    uniform = KNeighborsQuantileRegressor(n_neighbors=5).fit(X, Y).predict_quantiles(X_TEST)
    ones = KNeighborsQuantileRegressor(n_neighbors=5, weights=lambda d: np.ones_like(d))
    np.testing.assert_array_equal(ones.fit(X, Y).predict_quantiles(X_TEST), uniform)


def test_median_defaults_and_monotone():
    model = KNeighborsQuantileRegressor(n_neighbors=11).fit(X, Y)
    assert model.predict_quantiles(X_TEST).shape == (30, 3)
    many = model.predict_quantiles(X_TEST, np.linspace(0.01, 0.99, 99))
    assert (np.diff(many, axis=1) >= 0).all()
    # the median of an odd number of neighbours: the middle one
    _, idx = NearestNeighbors(n_neighbors=11).fit(X).kneighbors(X_TEST)
    np.testing.assert_array_equal(model.predict(X_TEST), np.median(Y[idx], axis=1))
    mean = KNeighborsRegressor(n_neighbors=11).fit(X, Y).predict(X_TEST)
    assert np.corrcoef(mean, model.predict(X_TEST))[0, 1] > 0.9


@pytest.mark.parametrize(
    ("quantiles", "match"),
    [
        ([0.0, 0.5], "strictly between 0 and 1"),
        (1.5, "strictly between 0 and 1"),
        ([0.9, 0.1], "unsorted"),
        ([0.1, 0.1], "duplicated"),
    ],
)
def test_bad_quantiles(quantiles, match):
    with pytest.raises(ValueError, match=match):
        KNeighborsQuantileRegressor(quantiles=quantiles).fit(X, Y)
    model = KNeighborsQuantileRegressor().fit(X, Y)
    with pytest.raises(ValueError, match=match):
        model.predict_quantiles(X_TEST, quantiles)


def test_bad_inputs():
    with pytest.raises(NotFittedError):
        KNeighborsQuantileRegressor().predict_quantiles(X_TEST)
    with pytest.raises(
        ValueError,
        match=r"n_neighbors=20 is more than the training rows \(n_samples=10\); pass n_nei",
    ):
        KNeighborsQuantileRegressor(n_neighbors=20).fit(X[:10], Y[:10])
    model = KNeighborsQuantileRegressor().fit(X, Y)
    with pytest.raises(
        ValueError, match="X has 3 features, but KNeighborsQuantileRegressor is expecting 2"
    ):
        model.predict_quantiles(np.ones((2, 3)))
    with pytest.raises(ValueError, match="The 'weights' parameter of KNeighborsQuantileRegressor"):
        KNeighborsQuantileRegressor(weights="inverse").fit(X, Y)
    bad = KNeighborsQuantileRegressor(weights=lambda d: -d).fit(X, Y)
    with pytest.raises(
        ValueError, match=r"must return finite non-negative weights of shape \(30, 20\)"
    ):
        bad.predict_quantiles(X_TEST)
    bad = KNeighborsQuantileRegressor(weights=lambda d: d[:, :1]).fit(X, Y)
    with pytest.raises(ValueError, match=r"got shape \(30, 1\)"):
        bad.predict_quantiles(X_TEST)


def test_inputs_untouched():
    X_copy, y_copy = X.copy(), Y.copy()
    KNeighborsQuantileRegressor(weights="distance").fit(X, Y).predict_quantiles(X)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(Y, y_copy)


@parametrize_with_checks(
    [KNeighborsQuantileRegressor(n_neighbors=5), KNeighborsQuantileRegressor(5, weights="distance")]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_a_weights_callable_that_zeroes_every_neighbour_of_a_row_is_an_error():
    import numpy as np

    from conformal.aggregation import KNeighborsQuantileRegressor

    rng = np.random.default_rng(0)
    X, y = rng.uniform(size=(60, 2)), rng.normal(size=60)
    model = KNeighborsQuantileRegressor(
        n_neighbors=3, weights=lambda d: np.where(d > 0.05, 0.0, 1.0)
    ).fit(X, y)
    with pytest.raises(ValueError, match=r"zero weight to every neighbour of \d+ of 50 rows"):
        model.predict_quantiles(rng.uniform(size=(50, 2)) + 5.0)
