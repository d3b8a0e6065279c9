"""scikit-learn's estimator checks on QuantileAggregator, with cheap base models."""

from sklearn.linear_model import QuantileRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from conformal.aggregation._aggregator import QuantileAggregator

ESTIMATORS = [
    QuantileAggregator(
        [QuantileRegressor(alpha=0.0), ("lasso", QuantileRegressor(alpha=0.1))],
        quantiles=[0.1, 0.5, 0.9],
        cv=3,
        random_state=0,
    ),
    QuantileAggregator(
        [QuantileRegressor(alpha=0.0)],
        quantiles=[0.25, 0.5, 0.75],
        family="coarse",
        weighting="local",
        cv=3,
        random_state=0,
    ),
    QuantileAggregator(
        [QuantileRegressor(alpha=0.0), QuantileRegressor(alpha=0.1)],
        quantiles=[0.2, 0.5, 0.8],
        family="qra",
        cv=3,
        random_state=0,
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
