"""QuantileForestRegressor: Meinshausen's definition, quantile-forest, scikit-learn checks."""

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from conformal.aggregation._forest import QuantileForestRegressor
from tests import _reference as ref


def _data(n=300, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, p))
    y = X[:, 0] + rng.normal(scale=0.2 + X[:, 1], size=n)
    return X, y


X, Y = _data()
X_TEST = _data(40, seed=1)[0]


def _in_bag_counts(forest, n):
    if not forest.bootstrap:
        return [np.ones(n)] * len(forest.estimators_)
    return [np.bincount(s, minlength=n) for s in forest.estimators_samples_]


@pytest.mark.parametrize("bootstrap", [True, False])
@pytest.mark.parametrize("leaf_samples", ["in_bag", "all"])
def test_matches_meinshausen_definition(bootstrap, leaf_samples):
    """Weights by definition (a loop over trees, a dense weight per training row), then the
    inverse of the weighted CDF, against the leaf table and kernel."""
    model = QuantileForestRegressor(
        n_estimators=15,
        min_samples_leaf=5,
        max_features=0.5,
        bootstrap=bootstrap,
        leaf_samples=leaf_samples,
        random_state=0,
    ).fit(X, Y)
    counts = _in_bag_counts(model.forest_, len(Y))
    if leaf_samples == "all":
        counts = [np.ones(len(Y))] * len(counts)
    levels = np.array([0.01, 0.1, 0.33, 0.5, 0.77, 0.9, 0.99])
    got = model.predict_quantiles(X_TEST, levels)
    for j, x in enumerate(X_TEST):
        weights = ref.forest_weights(model.forest_, X.astype(np.float32), x, counts)
        np.testing.assert_array_equal(got[j], ref.inverted_cdf_quantiles(Y, weights, levels))


def test_in_bag_weights_give_the_forest_mean():
    """With in-bag weights, the weighted mean of the targets is RandomForestRegressor.predict:
    the same weights the trees' leaf values average over."""
    model = QuantileForestRegressor(n_estimators=10, min_samples_leaf=4, random_state=3).fit(X, Y)
    counts = _in_bag_counts(model.forest_, len(Y))
    for x in X_TEST[:5]:
        weights = ref.forest_weights(model.forest_, X.astype(np.float32), x, counts)
        np.testing.assert_allclose(weights @ Y, model.forest_.predict([x])[0], rtol=1e-10)


def test_sample_weight_weighs_rows_in_leaves():
    rng = np.random.default_rng(4)
    w = rng.integers(0, 3, size=len(Y)).astype(float)
    model = QuantileForestRegressor(
        n_estimators=8, min_samples_leaf=5, bootstrap=False, random_state=0
    ).fit(X, Y, sample_weight=w)
    levels = np.array([0.1, 0.5, 0.9])
    got = model.predict_quantiles(X_TEST, levels)
    for j, x in enumerate(X_TEST[:10]):
        weights = ref.forest_weights(model.forest_, X.astype(np.float32), x, [w] * 8)
        np.testing.assert_array_equal(got[j], ref.inverted_cdf_quantiles(Y, weights, levels))


@pytest.mark.parametrize("bootstrap", [True, False])
def test_identical_to_quantile_forest_package(bootstrap):
    """The quantile-forest package (RandomForestQuantileRegressor) on the same trees.

    Same parameters and random_state grow the same trees (both are scikit-learn forests; the
    test asserts equal leaves). Where the definitions coincide the quantiles are identical:
    with fully grown trees every leaf holds one distinct in-bag row, its default
    ``max_samples_leaf=1`` then takes the leaf values' ``np.quantile(..., method=interpolation)``
    across trees, and ``interpolation="inverted_cdf"`` is our definition. Levels are drawn at
    random: with T trees NumPy's float index ``q * T`` can land just above an integer
    (0.07 * 100 is 7.000000000000001) where we take the step itself (see the kernel test).

    Where they differ: with several rows per leaf its weights (``max_samples_leaf=None``,
    ``weighted_leaves=True``) are our in-bag weights times a constant, but its weighted
    quantile interpolates on cumulative weights with a (W - 1) q + 1 position (a weighted
    version of NumPy's default ``"linear"``), which depends on the weights' scale and is not
    Meinshausen's inverse CDF; and with ``max_samples_leaf=1`` it keeps one random row per leaf.
    Their weighted mean (``quantiles="mean"``) equals ours, which shows that the weights agree.
    """
    quantile_forest = pytest.importorskip("quantile_forest")
    params = dict(n_estimators=23, max_features=0.6, bootstrap=bootstrap, random_state=7)
    ours = QuantileForestRegressor(**params).fit(X, Y)
    theirs = quantile_forest.RandomForestQuantileRegressor(**params).fit(X, Y)
    np.testing.assert_array_equal(ours.forest_.apply(X_TEST), theirs.apply(X_TEST))
    levels = np.sort(np.random.default_rng(0).uniform(0.001, 0.999, size=40))
    np.testing.assert_array_equal(
        ours.predict_quantiles(X_TEST, levels),
        theirs.predict(X_TEST, quantiles=levels.tolist(), interpolation="inverted_cdf"),
    )

    params["min_samples_leaf"] = 6
    ours = QuantileForestRegressor(**params).fit(X, Y)
    theirs = quantile_forest.RandomForestQuantileRegressor(max_samples_leaf=None, **params)
    theirs.fit(X, Y)
    mean = theirs.predict(X_TEST, quantiles="mean", weighted_leaves=True)
    np.testing.assert_allclose(mean, ours.forest_.predict(X_TEST), rtol=1e-9)


def test_shapes_defaults_monotone_and_median():
    model = QuantileForestRegressor(n_estimators=10, min_samples_leaf=3, random_state=0).fit(X, Y)
    assert model.predict_quantiles(X_TEST).shape == (40, 3)
    np.testing.assert_array_equal(model.quantiles_, [0.05, 0.5, 0.95])
    many = model.predict_quantiles(X_TEST, np.linspace(0.01, 0.99, 99))
    assert (np.diff(many, axis=1) >= 0).all()
    assert np.isin(many, Y).all()  # always a training target
    np.testing.assert_array_equal(model.predict(X_TEST), model.predict_quantiles(X_TEST, 0.5)[:, 0])


def test_same_seed_same_output_and_inputs_untouched():
    X_copy, y_copy = X.copy(), Y.copy()
    a = QuantileForestRegressor(n_estimators=5, random_state=1).fit(X, Y).predict_quantiles(X_TEST)
    b = QuantileForestRegressor(n_estimators=5, random_state=1).fit(X, Y).predict_quantiles(X_TEST)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(Y, y_copy)


def test_same_trees_as_random_forest_regressor():
    params = dict(n_estimators=5, min_samples_leaf=3, random_state=2)
    ours = QuantileForestRegressor(**params).fit(X, Y)
    forest = RandomForestRegressor(**params).fit(X, Y)
    np.testing.assert_array_equal(ours.forest_.predict(X_TEST), forest.predict(X_TEST))


@pytest.mark.parametrize(
    ("quantiles", "match"),
    [
        ([0.0, 0.5], "strictly between 0 and 1"),
        ([0.5, 1.2], "strictly between 0 and 1"),
        ([0.9, 0.1], "unsorted"),
        ([0.1, 0.1], "duplicated"),
    ],
)
def test_bad_quantiles(quantiles, match):
    with pytest.raises(ValueError, match=match):
        QuantileForestRegressor(n_estimators=2, quantiles=quantiles).fit(X, Y)
    model = QuantileForestRegressor(n_estimators=2).fit(X, Y)
    with pytest.raises(ValueError, match=match):
        model.predict_quantiles(X_TEST, quantiles)


def test_bad_inputs():
    with pytest.raises(NotFittedError):
        QuantileForestRegressor().predict_quantiles(X_TEST)
    model = QuantileForestRegressor(n_estimators=2).fit(X, Y)
    with pytest.raises(
        ValueError, match="X has 2 features, but QuantileForestRegressor is expecting 3"
    ):
        model.predict_quantiles(X_TEST[:, :2])
    with pytest.raises(ValueError, match="The 'leaf_samples' parameter of QuantileForestRegressor"):
        QuantileForestRegressor(leaf_samples="oob").fit(X, Y)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        QuantileForestRegressor(n_estimators=2).fit(X, np.where(Y > 0, np.nan, Y))


def test_feature_names_kept():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = QuantileForestRegressor(n_estimators=3).fit(frame, Y)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c"])
    assert model.predict_quantiles(frame.iloc[:4]).shape == (4, 3)


@parametrize_with_checks([QuantileForestRegressor(n_estimators=5, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
