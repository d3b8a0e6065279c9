"""A model of the wrong kind is refused at fit with a message that names the fix."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, QuantileRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier

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


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    labels = (X[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(int)
    return X, labels


REGRESSORS = [
    SplitConformalRegressor,
    CrossConformalRegressor,
    JackknifeAfterBootstrapRegressor,
    ConformalizedQuantileRegressor,
    CrossConformalizedQuantileRegressor,
]
CLASSIFIERS = [SplitConformalClassifier, CrossConformalClassifier]


@pytest.mark.parametrize("owner", REGRESSORS, ids=lambda c: c.__name__)
def test_a_classifier_given_to_a_regressor(owner, data):
    X, labels = data
    with pytest.raises(
        ValueError,
        match=(
            rf"{owner.__name__} is a regressor but estimator=LogisticRegression\(\) is a "
            r"classifier.*use SplitConformalClassifier\(LogisticRegression\(\)\)"
        ),
    ):
        owner(LogisticRegression()).fit(X, labels)


def test_the_regression_example_fits_the_method(data):
    X, labels = data
    with pytest.raises(
        ValueError, match=r"ConformalizedQuantileRegressor\(QuantileRegressor\(\)\)"
    ):
        ConformalizedQuantileRegressor(LogisticRegression()).fit(X, labels)
    with pytest.raises(ValueError, match=r"SplitConformalRegressor\(LinearRegression\(\)\)"):
        SplitConformalRegressor(DecisionTreeClassifier()).fit(X, labels)


def test_frozen_classifiers_are_judged_by_the_wrapped_model(data):
    X, labels = data
    frozen = FrozenEstimator(LogisticRegression().fit(X, labels))
    with pytest.raises(ValueError, match=r"estimator=FrozenEstimator\(LogisticRegression\(\)\)"):
        SplitConformalRegressor(frozen).fit(X, labels)
    # CQR takes a list of frozen quantile models: every element is checked
    lower = FrozenEstimator(QuantileRegressor(quantile=0.05, alpha=0.0).fit(X, X[:, 0]))
    with pytest.raises(ValueError, match=r"ConformalizedQuantileRegressor is a regressor but"):
        ConformalizedQuantileRegressor([lower, frozen]).fit(X, X[:, 0])


@pytest.mark.parametrize("owner", CLASSIFIERS, ids=lambda c: c.__name__)
def test_a_classifier_without_predict_proba(owner, data):
    X, labels = data
    with pytest.raises(
        ValueError,
        match=(
            rf"{owner.__name__} must be an object implementing 'fit', 'predict' and "
            r"'predict_proba': LinearSVC has no predict_proba.*"
            rf"Wrap it: {owner.__name__}\(CalibratedClassifierCV\(LinearSVC\(\)\)\)"
        ),
    ):
        owner(LinearSVC()).fit(X, labels)
    # the fix named works
    model = owner(CalibratedClassifierCV(LinearSVC()), random_state=0).fit(X, labels)
    assert model.predict_set(X).shape == (120, 2)


def test_svc_and_pipelines_and_frozen_models(data):
    X, labels = data
    with pytest.raises(ValueError, match=r"SVC has no predict_proba.*SVC\(probability=True\)"):
        SplitConformalClassifier(SVC()).fit(X, labels)
    pipeline = make_pipeline(StandardScaler(), LinearSVC())
    with pytest.raises(ValueError, match=r"Pipeline has no predict_proba.*CalibratedClassifierCV"):
        SplitConformalClassifier(pipeline).fit(X, labels)
    frozen = FrozenEstimator(LinearSVC().fit(X, labels))
    with pytest.raises(
        ValueError, match=r"CalibratedClassifierCV\(FrozenEstimator\(LinearSVC\(\.\.\.\)\)\)"
    ):
        SplitConformalClassifier(frozen).fit(X, labels)


class _LabelsOnly(ClassifierMixin, BaseEstimator):
    """A classifier with neither predict_proba nor decision_function."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_a_model_without_any_score_is_told_to_use_another_model(data):
    X, labels = data
    with pytest.raises(
        ValueError,
        match=(
            r"_LabelsOnly has no predict_proba.*Use a classifier with predict_proba, e\.g\. "
            r"SplitConformalClassifier\(LogisticRegression\(\)\)"
        ),
    ):
        SplitConformalClassifier(_LabelsOnly()).fit(X, labels)


@pytest.mark.parametrize("owner", CLASSIFIERS, ids=lambda c: c.__name__)
def test_a_regressor_given_to_a_classifier(owner, data):
    X, labels = data
    with pytest.raises(
        ValueError,
        match=(
            rf"{owner.__name__} is a classifier but estimator=LinearRegression\(\) is a "
            r"regressor.*use SplitConformalRegressor\(LinearRegression\(\)\)"
        ),
    ):
        owner(LinearRegression()).fit(X, labels)


def test_venn_abers_keeps_its_own_check(data):
    # VennAbersClassifier.fit does not call the check (not wired yet): scikit-learn's parameter
    # validation refuses a model with neither predict_proba nor decision_function
    X, labels = data
    with pytest.raises(ValueError, match=r"'predict_proba'.*'decision_function'"):
        VennAbersClassifier(_LabelsOnly()).fit(X, labels)


def test_the_method_takes_the_scores_a_method_needs():
    # what VennAbersClassifier would pass: either score method is enough
    owner = VennAbersClassifier()
    owner._check_estimator_kind(LinearSVC(), ("predict_proba", "decision_function"))
    with pytest.raises(
        ValueError,
        match=(
            r"VennAbersClassifier must be an object implementing 'fit' and 'predict_proba' or "
            r"'decision_function': _LabelsOnly has no predict_proba or decision_function"
        ),
    ):
        owner._check_estimator_kind(_LabelsOnly(), ("predict_proba", "decision_function"))
    # a model without scikit-learn tags is judged by its methods only
    owner._check_estimator_kind(_Untagged(), ("predict_proba",))


class _Untagged:
    def predict_proba(self, X):  # pragma: no cover - never called
        return X


@pytest.mark.parametrize(
    ("owner", "model"),
    [
        (SplitConformalRegressor, None),
        (SplitConformalRegressor, make_pipeline(StandardScaler(), LinearRegression())),
        (SplitConformalClassifier, None),
        (SplitConformalClassifier, make_pipeline(StandardScaler(), LogisticRegression())),
        (CrossConformalClassifier, DecisionTreeClassifier()),
    ],
)
def test_models_of_the_right_kind_pass(owner, model, data):
    X, labels = data
    target = labels if owner in CLASSIFIERS else X[:, 0]
    owner(model, random_state=0).fit(X, target)
