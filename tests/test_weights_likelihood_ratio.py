"""LikelihoodRatioWeights: the likelihood ratio of covariate shift estimated by a classifier.

The scheme alone (fit, call, clip, the sample-size correction, cross-fitting in ``bind``, clone,
DataFrames and sparse input, every error message) and through SplitConformalRegressor
(``fit(X, y, X_target=...)``). Coverage is in tests/test_covariate_shift_validity.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from conformal import SplitConformalRegressor
from conformal.weights import LikelihoodRatioWeights, WeightScheme, resolve_weights

SHIFT = 1.0  # source N(0, 1), target N(SHIFT, 1): true ratio exp(SHIFT x - SHIFT^2 / 2)


def _samples(n_source=2000, n_target=1000, seed=0, n_features=1):
    rng = np.random.default_rng(seed)
    X_source = rng.normal(size=(n_source, n_features))
    X_target = rng.normal(size=(n_target, n_features))
    X_target[:, 0] += SHIFT
    return X_source, X_target


def _true_ratio(X):
    return np.exp(SHIFT * np.asarray(X)[:, 0] - SHIFT**2 / 2)


class _Recorder(ClassifierMixin, BaseEstimator):
    """Remembers its training rows: probability 0.75 of label 1 for a row it saw, 0.5 for the
    others. A calibration weight from a classifier that saw the row would show as odds 3."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.seen_ = {tuple(row) for row in np.asarray(X)}
        return self

    def predict_proba(self, X):
        seen = np.array([tuple(row) in self.seen_ for row in np.asarray(X)])
        p = np.where(seen, 0.75, 0.5)
        return np.column_stack([1 - p, p])


class _NoClasses(BaseEstimator):
    """A classifier without ``classes_``: the target label's column is taken to be column 1."""

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict_proba(self, X):
        n = np.shape(X)[0]
        return np.column_stack([np.full(n, 0.8), np.full(n, 0.2)])


# ---------------------------------------------------------------- fit and call


def test_fit_estimates_the_true_ratio():
    X_source, X_target = _samples()
    w = LikelihoodRatioWeights().fit(X_source, X_target)
    grid = np.linspace(-1.5, 2.0, 8)[:, None]
    np.testing.assert_allclose(w(grid), _true_ratio(grid), rtol=0.15)
    assert w.n_source_ == 2000 and w.n_target_ == 1000 and w.n_features_in_ == 1
    assert len(w.classifiers_) == 1 and w.oof_weights_ is None
    np.testing.assert_array_equal(w.size_ratios_, [2.0])
    assert callable(w) and isinstance(w, WeightScheme)


def test_sample_size_correction_gives_ratio_one_without_shift():
    # Same distribution, twice as many source rows: the odds are about 1/2, the ratio about 1.
    rng = np.random.default_rng(1)
    X_source, X_target = rng.normal(size=(4000, 2)), rng.normal(size=(2000, 2))
    w = LikelihoodRatioWeights().fit(X_source, X_target)
    values = w(rng.normal(size=(200, 2)))
    assert np.all(np.abs(values - 1.0) < 0.1)


def test_the_target_column_follows_classes_and_defaults_to_column_one():
    X_source, X_target = _samples(50, 50)
    w = LikelihoodRatioWeights(_NoClasses()).fit(X_source, X_target)
    np.testing.assert_allclose(w(X_source[:3]), 0.25)  # 0.2 / 0.8 * 50 / 50


def test_the_classifier_passed_is_never_fitted():
    classifier = LogisticRegression()
    X_source, X_target = _samples(100, 100)
    scheme = LikelihoodRatioWeights(classifier)
    scheme.fit(X_source, X_target)
    scheme.bind(X_source, X_target, 0)
    with pytest.raises(NotFittedError):
        check_is_fitted(classifier)
    assert scheme.classifiers_[0] is not classifier


def test_any_classifier_with_predict_proba():
    X_source, X_target = _samples(400, 400)
    w = LikelihoodRatioWeights(HistGradientBoostingClassifier(max_iter=20, random_state=0))
    values = w.fit(X_source, X_target)(X_source[:10])
    assert values.shape == (10,) and np.all(np.isfinite(values)) and np.all(values > 0)


# ---------------------------------------------------------------- clip


def test_clip_bounds_the_ratios_and_none_refuses_infinite_ones():
    # Separable samples: a tree gives probability exactly 0 or 1.
    X_source = np.linspace(-3, -1, 40)[:, None]
    X_target = np.linspace(1, 3, 20)[:, None]
    clipped = LikelihoodRatioWeights(DecisionTreeClassifier(), clip=0.01).fit(X_source, X_target)
    values = clipped(np.array([[-2.0], [2.0]]))
    np.testing.assert_allclose(values, [0.01 / 0.99 * 2.0, 0.99 / 0.01 * 2.0])
    unclipped = LikelihoodRatioWeights(DecisionTreeClassifier()).fit(X_source, X_target)
    np.testing.assert_array_equal(unclipped(np.array([[-2.0]])), [0.0])  # probability 0: fine
    with pytest.raises(
        ValueError,
        match=r"probability 1\.0 of being a target row to X\[1\] \(1 such row\): an infinite "
        r"likelihood ratio\. Set clip",
    ):
        unclipped(np.array([[-2.0], [2.0]]))
    # Cross-fitted: a source row inside the target's range, weighed by a tree that never saw it.
    X_fit = np.r_[X_source, [[2.05]]]
    with pytest.raises(ValueError, match=r"to X_fit\[40\] \(1 such row\): an infinite"):
        LikelihoodRatioWeights(DecisionTreeClassifier(), random_state=0).bind(X_fit, X_target)
    bound = LikelihoodRatioWeights(DecisionTreeClassifier(), clip=0.01, random_state=0)
    bound = bound.bind(X_fit, X_target)
    assert np.isfinite(bound.oof_weights_).all() and bound.oof_weights_[40] > 10


# ---------------------------------------------------------------- cross-fitting


def test_bind_cross_fits_a_copy_and_leaves_the_scheme_unfitted():
    X_source, X_target = _samples(1000, 500)
    scheme = LikelihoodRatioWeights(cv=4, random_state=0)
    bound = scheme.bind(X_source, X_target, random_state=123)
    assert bound is not scheme and type(bound) is LikelihoodRatioWeights
    assert not hasattr(scheme, "classifiers_")
    assert len(bound.classifiers_) == 4 and bound.oof_weights_.shape == (1000,)
    np.testing.assert_allclose(bound.size_ratios_, 750 / 375)
    assert bound.bind(X_source[:10], None) is bound  # fitted: used as it is
    # Calibration rows get their out-of-fold weights, by position.
    positions = np.array([3, 10, 999])
    np.testing.assert_array_equal(
        bound.calibration_weights(X_source[positions], positions, 1000),
        bound.oof_weights_[positions],
    )
    # Each source row's weight comes from the classifier of its own fold.
    folds = KFold(4, shuffle=True, random_state=0).split(X_source)
    for k, (_, out) in enumerate(folds):
        p = bound.classifiers_[k].predict_proba(X_source[out])[:, 1]
        np.testing.assert_allclose(bound.oof_weights_[out], p / (1 - p) * 2.0)
    # Test rows get the mean of the classifiers' ratios.
    expected = np.mean(
        [
            c.predict_proba(X_target)[:, 1] / c.predict_proba(X_target)[:, 0] * r
            for c, r in zip(bound.classifiers_, bound.size_ratios_, strict=True)
        ],
        axis=0,
    )
    np.testing.assert_allclose(bound.test_weights(X_target), expected)
    np.testing.assert_allclose(bound(X_target), expected)
    # Still a good estimate.
    grid = np.linspace(-1.0, 1.5, 6)[:, None]
    np.testing.assert_allclose(bound(grid), _true_ratio(grid), rtol=0.25)


def test_no_calibration_row_is_weighted_by_a_classifier_that_saw_it():
    X_source, X_target = _samples(300, 200, n_features=2)
    bound = LikelihoodRatioWeights(_Recorder(), cv=5, random_state=0).bind(X_source, X_target)
    # Unseen rows: odds 1, times the fold's size ratio 240 / 160.
    np.testing.assert_allclose(bound.oof_weights_, 1.5)
    # A scheme fitted on the same rows did see them (odds 3): why bind cross-fits.
    fitted = LikelihoodRatioWeights(_Recorder()).fit(X_source, X_target)
    np.testing.assert_allclose(fitted.calibration_weights(X_source, np.arange(300), 300), 3.0 * 1.5)


def test_no_calibration_row_is_weighted_by_a_classifier_that_saw_it_in_the_estimator():
    X_source, X_target = _samples(300, 200, n_features=2)
    y = X_source[:, 0] + np.random.default_rng(0).normal(size=300)
    scheme = LikelihoodRatioWeights(_Recorder(), cv=5)
    model = SplitConformalRegressor(weights=scheme, random_state=0)
    model.fit(X_source, y, X_target=X_target)
    np.testing.assert_allclose(model.calibration_weights_, 1.5)
    assert model.calibration_weights_.shape == (90,)
    assert not hasattr(scheme, "classifiers_")  # the user's scheme stays unfitted
    assert model.weights_scheme_ is not scheme


def test_random_state_fixes_the_folds():
    X_source, X_target = _samples(200, 100)
    a = LikelihoodRatioWeights().bind(X_source, X_target, 7)
    b = LikelihoodRatioWeights().bind(X_source, X_target, 7)
    c = LikelihoodRatioWeights(random_state=8).bind(X_source, X_target, 7)  # its own wins
    d = LikelihoodRatioWeights(random_state=8).bind(X_source, X_target, 1)
    np.testing.assert_array_equal(a.oof_weights_, b.oof_weights_)
    np.testing.assert_array_equal(c.oof_weights_, d.oof_weights_)
    assert not np.array_equal(a.oof_weights_, c.oof_weights_)
    generator = np.random.default_rng(0)
    state = generator.bit_generator.state
    LikelihoodRatioWeights(random_state=generator).bind(X_source, X_target)
    assert generator.bit_generator.state == state  # not advanced


# ---------------------------------------------------------------- clone, estimators


def test_clone_keeps_a_fitted_scheme_and_resets_an_unfitted_one():
    X_source, X_target = _samples(100, 100)
    unfitted = LikelihoodRatioWeights(clip=0.01, cv=3)
    copy = clone(unfitted)
    assert copy is not unfitted and copy.get_params() == unfitted.get_params()
    fitted = LikelihoodRatioWeights().fit(X_source, X_target)
    copied = clone(fitted)  # a fixed function w(X), like a plain callable: stays fitted ...
    assert copied is not fitted and copied.classifiers_ is not fitted.classifiers_  # ... a copy
    X = X_source[:7]
    np.testing.assert_array_equal(copied(X), fitted(X))
    copied.set_params(clip=0.3)
    assert fitted.clip is None  # set_params on a clone never reaches the user's scheme
    model = SplitConformalRegressor(weights=fitted)
    np.testing.assert_array_equal(clone(model).weights(X), fitted(X))
    assert resolve_weights(fitted) is fitted


def test_estimator_with_a_scheme_fitted_by_the_user():
    X_source, X_target = _samples(1200, 300)
    y = X_source[:, 0] + np.random.default_rng(0).normal(size=1200)
    w = LikelihoodRatioWeights().fit(X_source[:200], X_target)  # rows not used by the model
    model = SplitConformalRegressor(weights=w, random_state=0).fit(X_source[200:], y[200:])
    assert model.weights_scheme_ is not w  # the estimator's own copy of the fitted ratio
    assert np.all(np.isin(model.calibration_weights_, w(X_source[200:])))  # w(X_cal)
    assert model.calibration_weights_.shape == (300,)
    intervals = model.predict_interval(np.array([[0.0], [1.0]]))
    assert intervals.shape == (2, 2) and np.all(np.isfinite(intervals))


@pytest.mark.filterwarnings("ignore::conformal.exceptions.ConformalWarning")  # large w(x)
def test_estimator_end_to_end_test_weights_are_the_mean_ratio():
    X_source, X_target = _samples(500, 300)
    y = X_source[:, 0] + np.random.default_rng(0).normal(size=500)
    model = SplitConformalRegressor(weights=LikelihoodRatioWeights(), random_state=0)
    model.fit(X_source, y, X_target=X_target)
    bound = model.weights_scheme_
    assert np.all(np.isin(model.calibration_weights_, bound.oof_weights_))
    assert model.effective_sample_size_ > 50
    np.testing.assert_allclose(bound.test_weights(X_target[:4]), bound(X_target[:4]))
    assert model.predict_interval(X_target).shape == (300, 2)


# ---------------------------------------------------------------- input kinds


@pytest.mark.filterwarnings("ignore::conformal.exceptions.ConformalWarning")  # large w(x)
def test_dataframes_keep_their_columns():
    X_source, X_target = _samples(300, 200, n_features=2)
    columns = ["a", "b"]
    frame_source = pd.DataFrame(X_source, columns=columns)
    frame_target = pd.DataFrame(X_target, columns=columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        w = LikelihoodRatioWeights().fit(frame_source, frame_target)
        from_frames = w(frame_target)
        bound = LikelihoodRatioWeights(random_state=0).bind(frame_source, frame_target)
        bound(frame_target)
    np.testing.assert_allclose(
        from_frames, LikelihoodRatioWeights().fit(X_source, X_target)(X_target)
    )
    y = X_source[:, 0]
    model = SplitConformalRegressor(weights=LikelihoodRatioWeights(), random_state=0)
    model.fit(frame_source, y, X_target=frame_target)
    assert model.predict_interval(frame_target).shape == (200, 2)


def test_sparse_and_list_inputs():
    X_source, X_target = _samples(200, 100, n_features=2)
    dense = LikelihoodRatioWeights(LogisticRegression()).fit(X_source, X_target)
    sparse = LikelihoodRatioWeights(LogisticRegression()).fit(
        sp.csr_matrix(X_source), sp.csr_matrix(X_target)
    )
    np.testing.assert_allclose(sparse(sp.csr_matrix(X_target)), dense(X_target), rtol=1e-6)
    listed = LikelihoodRatioWeights(LogisticRegression()).fit(X_source.tolist(), X_target)
    np.testing.assert_allclose(listed(X_target.tolist()), dense(X_target))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"clip": 0.5}, r"The 'clip' parameter of LikelihoodRatioWeights must be"),
        ({"clip": 0.0}, r"The 'clip' parameter of LikelihoodRatioWeights must be"),
        ({"cv": 1}, r"The 'cv' parameter of LikelihoodRatioWeights must be"),
        ({"classifier": "logistic"}, r"The 'classifier' parameter of LikelihoodRatioWeights"),
        ({"random_state": "seed"}, r"The 'random_state' parameter of LikelihoodRatioWeights"),
    ],
)
def test_bad_parameters(params, match):
    X_source, X_target = _samples(50, 50)
    with pytest.raises(InvalidParameterError, match=match):
        LikelihoodRatioWeights(**params).fit(X_source, X_target)
    with pytest.raises(InvalidParameterError, match=match):
        LikelihoodRatioWeights(**params).bind(X_source, X_target)


def test_classifier_without_predict_proba():
    X_source, X_target = _samples(50, 50)
    match = (
        r"The 'classifier' parameter of LikelihoodRatioWeights must have predict_proba "
        r"\(the probability of being a target row\): LinearSVC has none\. .*"
        r"CalibratedClassifierCV\(LinearSVC\(\.\.\.\)\)"
    )
    with pytest.raises(ValueError, match=match):
        LikelihoodRatioWeights(LinearSVC()).fit(X_source, X_target)
    with pytest.raises(ValueError, match=match):
        LikelihoodRatioWeights(LinearSVC()).bind(X_source, X_target)


def test_unfitted_scheme():
    match = r"This LikelihoodRatioWeights is not fitted yet: call fit\(X_source, X_target\)"
    scheme = LikelihoodRatioWeights()
    with pytest.raises(NotFittedError, match=match):
        scheme(np.zeros((2, 1)))
    with pytest.raises(NotFittedError, match=match):
        scheme.test_weights(np.zeros((2, 1)))
    with pytest.raises(NotFittedError, match=match):
        scheme.calibration_weights(np.zeros((2, 1)), np.arange(2), 2)


def test_unfitted_scheme_without_target_rows():
    match = (
        r"LikelihoodRatioWeights is not fitted and got no target rows: pass the unlabeled test "
        r"rows to the estimator's fit \(fit\(X, y, X_target=X_new\)\)"
    )
    X_source, _ = _samples(50, 50)
    with pytest.raises(ValueError, match=match):
        LikelihoodRatioWeights().bind(X_source, None)
    with pytest.raises(ValueError, match=match):
        SplitConformalRegressor(weights=LikelihoodRatioWeights()).fit(X_source, X_source[:, 0])


def test_fit_without_target_rows():
    X_source, _ = _samples(50, 50)
    with pytest.raises(ValueError, match=r"X_target is None: LikelihoodRatioWeights needs"):
        LikelihoodRatioWeights().fit(X_source, None)


def test_samples_that_do_not_match():
    X_source, X_target = _samples(50, 50, n_features=3)
    with pytest.raises(
        ValueError, match=r"X_target has 2 features but X_source has 3; the target rows need"
    ):
        LikelihoodRatioWeights().fit(X_source, X_target[:, :2])
    frames = pd.DataFrame(X_source, columns=["a", "b", "c"])
    with pytest.raises(
        ValueError,
        match=r"X_target has columns \['a', 'c', 'b'\] but X_source has columns "
        r"\['a', 'b', 'c'\]; the target rows need the source's columns, in the same order",
    ):
        LikelihoodRatioWeights().fit(frames, frames[["a", "c", "b"]])
    with pytest.raises(
        ValueError, match=r"X_source is a DataFrame but X_target is ndarray: pass both as"
    ):
        LikelihoodRatioWeights().fit(frames, X_target)
    with pytest.raises(ValueError, match=r"Expected a 2D array, got a 1D array instead"):
        LikelihoodRatioWeights().fit(X_source, X_target[:, 0])


def test_too_few_rows():
    X_source, X_target = _samples(50, 50)
    with pytest.raises(
        ValueError, match=r"X_target has 0 rows; LikelihoodRatioWeights needs at least 1 "
    ):
        LikelihoodRatioWeights().fit(X_source, X_target[:0])
    with pytest.raises(
        ValueError,
        match=r"X_target has 3 rows; LikelihoodRatioWeights needs at least cv=5 \(one per "
        r"fold\)\. Give more rows or a smaller cv",
    ):
        LikelihoodRatioWeights().bind(X_source, X_target[:3])
    with pytest.raises(ValueError, match=r"X_fit has 4 rows; .* at least cv=5"):
        LikelihoodRatioWeights().bind(X_source[:4], X_target)


def test_bound_to_other_rows():
    X_source, X_target = _samples(50, 50)
    bound = LikelihoodRatioWeights(random_state=0).bind(X_source, X_target)
    with pytest.raises(
        ValueError,
        match=r"this LikelihoodRatioWeights was cross-fitted on 50 rows \(bind\) but the "
        r"estimator's fit got n_fit=40",
    ):
        bound.calibration_weights(X_source[:3], np.arange(3), 40)


def test_target_rows_without_a_scheme_that_learns_from_them():
    X_source, X_target = _samples(50, 50)
    with pytest.raises(ValueError, match=r"X_target was given to fit but weights="):
        SplitConformalRegressor(LinearRegression()).fit(X_source, X_source[:, 0], X_target=X_target)
