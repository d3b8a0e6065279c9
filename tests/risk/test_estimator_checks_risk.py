"""scikit-learn's estimator checks for the risk-control estimators, with the checks that cannot
apply and why."""

from __future__ import annotations

import warnings

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from conformal.risk import RiskControlBinaryClassifier, RiskControlRegressor

_WEIGHT = "a split-conformal method: sample_weight weighs the model's training part only"
_EXPECTED = {
    "RiskControlRegressor": {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHT,
    },
    "RiskControlBinaryClassifier": {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHT,
        "check_classifiers_train": (
            "predict thresholds the probability at the certified threshold_, not at the argmax "
            "of predict_proba, by design"
        ),
    },
}


def _expected(estimator):
    return _EXPECTED[type(estimator).__name__]


@pytest.mark.slow
@parametrize_with_checks(
    [
        RiskControlRegressor(random_state=0),
        RiskControlBinaryClassifier(
            alpha=0.3, risk="recall", fwer="fixed_sequence", random_state=0
        ),
    ],
    expected_failed_checks=_expected,
)
def test_sklearn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small check data: infinite thresholds warn
        check(estimator)
