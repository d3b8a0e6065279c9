"""scikit-learn's own estimator checks over every public estimator (no check skipped but the
sample-weight-as-repetition checks, which cannot apply to a calibrated split; see below)."""

from sklearn.linear_model import QuantileRegressor
from sklearn.naive_bayes import GaussianNB
from sklearn.utils.estimator_checks import parametrize_with_checks

from conformal import (
    ConformalizedQuantileRegressor,
    CrossConformalClassifier,
    CrossConformalizedQuantileRegressor,
    CrossConformalRegressor,
    JackknifeAfterBootstrapRegressor,
    SplitConformalClassifier,
    SplitConformalRegressor,
    VennAbersClassifier,
)

ESTIMATORS = [
    SplitConformalRegressor(random_state=0),
    SplitConformalRegressor(conformity_score="normalized", random_state=0),
    ConformalizedQuantileRegressor(random_state=0),
    CrossConformalRegressor(random_state=0),
    CrossConformalRegressor(method="base", cv=3, conformity_score="signed", random_state=0),
    JackknifeAfterBootstrapRegressor(random_state=0),
    JackknifeAfterBootstrapRegressor(aggregation="median", method="minmax", random_state=0),
    CrossConformalizedQuantileRegressor(  # a small model: 3 folds x 3 quantiles per fit
        QuantileRegressor(alpha=0.0),
        cv=3,
        random_state=0,
    ),
    SplitConformalClassifier(random_state=0),
    SplitConformalClassifier(
        conformity_score="raps", class_conditional=True, allow_empty=False, random_state=0
    ),
    CrossConformalClassifier(random_state=0),
    CrossConformalClassifier(conformity_score="aps", method="mean", cv=3, random_state=0),
    VennAbersClassifier(random_state=0),  # inductive, LogisticRegression's predict_proba
    VennAbersClassifier(GaussianNB(), method="cross", cv=3, random_state=0),
]


_REPEAT = (
    "sample_weight only weighs the wrapped model's training part: a row with weight 2 is fitted "
    "like two copies, but repeating it also changes the training/calibration split (or the "
    "bootstrap draws) and adds a calibration point, so weighting is not repetition for a "
    "conformal estimator"
)


def _expected_failures(estimator):
    """Checks that cannot apply, with the reason (scikit-learn's documented mechanism): the
    estimators that split off a calibration part, and jackknife+-after-bootstrap, whose bootstrap
    draws change when a row is repeated (the cross estimators pass them)."""
    name = type(estimator).__name__
    resampled = ("VennAbersClassifier", "JackknifeAfterBootstrapRegressor")
    if not (name.startswith(("Split", "Conformalized")) or name in resampled):
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": _REPEAT,
        "check_sample_weight_equivalence_on_sparse_data": _REPEAT,
    }


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)
