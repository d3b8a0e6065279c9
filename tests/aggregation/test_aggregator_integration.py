"""QuantileAggregator over the package's own quantile models, and inside CQR."""

from __future__ import annotations

import numpy as np
import pytest

from conformal.aggregation._aggregator import QuantileAggregator

aggregation = pytest.importorskip("conformal.aggregation")


def _models():
    names = [
        "QuantileForestRegressor",
        "KNeighborsQuantileRegressor",
        "LinearQuantileRegressor",
        "ConditionalGaussianRegressor",
    ]
    found = [getattr(aggregation, name, None) for name in names]
    if any(model is None for model in found):
        pytest.skip("the base quantile models are not all exported yet")
    forest, neighbors, linear, gaussian = found
    return [
        forest(n_estimators=20, min_samples_leaf=5, random_state=0),
        neighbors(),
        linear(),
        gaussian(),
    ]


def make_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, 2))
    y = 3 * X[:, 0] + rng.normal(scale=0.1 + X[:, 1], size=n)
    return X, y


@pytest.mark.parametrize("family", ["coarse", "medium", "fine", "qra"])
def test_aggregates_the_package_models(family):
    X, y = make_data()
    levels = [0.1, 0.5, 0.9]
    model = QuantileAggregator(_models(), levels, family=family, cv=3, random_state=0)
    model.fit(X, y)
    predictions = model.predict_quantiles(X[:20])
    assert predictions.shape == (20, 3)
    assert (np.diff(predictions, axis=1) >= 0).all()
    assert model.oof_predictions_.shape == (300, 4, 3)


def test_conformalized_aggregate_covers():
    from conformal import ConformalizedQuantileRegressor

    X, y = make_data(600)
    X_test, y_test = make_data(2000, seed=1)
    aggregate = QuantileAggregator(_models(), [0.05, 0.5, 0.95], cv=3, random_state=0)
    cqr = ConformalizedQuantileRegressor(aggregate, confidence_level=0.9, random_state=0)
    interval = cqr.fit(X, y).predict_interval(X_test)
    coverage = np.mean((interval[:, 0] <= y_test) & (y_test <= interval[:, 1]))
    assert coverage > 0.85
