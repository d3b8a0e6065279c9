"""scikit-learn's own estimator checks over every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from conformal import ConformalizedQuantileRegressor, SplitConformalRegressor

ESTIMATORS = [
    SplitConformalRegressor(random_state=0),
    SplitConformalRegressor(conformity_score="normalized", random_state=0),
    ConformalizedQuantileRegressor(random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
