"""scikit-learn's estimator checks on MissingDataConformalRegressor (small, fast components)."""

from __future__ import annotations

from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from conformal.missing import MissingDataConformalRegressor

ESTIMATORS = [
    MissingDataConformalRegressor(
        LinearRegression(),
        imputer=SimpleImputer(keep_empty_features=True),
        conformity_score="absolute",
        random_state=0,
    ),
    MissingDataConformalRegressor(
        LinearRegression(),
        method="nested",
        imputer=SimpleImputer(keep_empty_features=True),
        conformity_score="absolute",
        random_state=0,
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
