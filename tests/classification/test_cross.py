"""CrossConformalClassifier: validity, the p-value rule against a brute-force count, folds,
scikit-learn use and errors."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conformal import ConformalWarning, CrossConformalClassifier, conformal_rank
from conformal.scores import RAPSScore
from tests import _validity as v
from tests.classification import _data as d


@pytest.fixture
def data():
    X, y = make_classification(
        300, n_features=6, n_informative=4, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    return X, y


# ---------------------------------------------------------------- validity


@pytest.mark.slow
@pytest.mark.parametrize("score", ["lac", "aps"])
def test_cv_plus_coverage_is_at_least_one_minus_two_alpha_and_near_the_level(score):
    """Cross-conformal (CV+) sets cover with probability >= 1 - 2a (Barber et al. 2021,
    Theorem 4); on this smooth problem (5-class Gaussian mixture, Gaussian naive Bayes refitted
    on 5 folds of 150 points, exact coverage from the true class probabilities) the mean over
    200 repetitions is close to 1 - a (0.908 for LAC, 0.915 for randomized APS)."""
    mixture = d.many_classes(5)
    coverages = np.empty(200)
    for seed in range(200):
        rng = np.random.default_rng(seed)
        X, y = d.draw(150, rng, **mixture)
        model = CrossConformalClassifier(GaussianNB(), conformity_score=score, random_state=seed)
        model.fit(X, y)
        X_test, _ = d.draw(500, rng, **mixture)
        coverages[seed] = d.exact_coverage(X_test, model.predict_set(X_test), **mixture).mean()
    v.assert_in_band(coverages, 0.8, 1.0)
    assert abs(coverages.mean() - 0.9) < 0.03


# ---------------------------------------------------------------- the rule, exactly


def _brute_force_pvalues(model, X):
    """The cross-conformal p-value by the full n_test x n comparison: each calibration point is
    compared with the test score under its own fold's model."""
    scores = np.stack([1 - m.predict_proba(X) for m in model.estimators_])  # (K, m, n_classes)
    per_point = scores[model.fold_of_]  # (n, m, n_classes)
    at_least = (model.conformity_scores_[:, None, None] >= per_point).sum(axis=0)
    return (at_least + 1) / (model.conformity_scores_.shape[0] + 1)


def test_pvalues_and_sets_equal_the_brute_force_rule(data):
    X, y = data
    model = CrossConformalClassifier(cv=4, random_state=0).fit(X, y)
    p = _brute_force_pvalues(model, X[:80])
    np.testing.assert_allclose(model.predict_pvalues(X[:80]), p, rtol=1e-12)
    n = X.shape[0]
    for level in (0.8, 0.9, 0.95):
        count = np.rint(p * (n + 1)).astype(int) - 1
        want = count >= conformal_rank(n, level, side="lower")  # p > a, in exact arithmetic
        np.testing.assert_array_equal(model.predict_set(X[:80], confidence_level=level), want)
    smooth = model.predict_pvalues(X[:80], smoothed=True)
    assert ((smooth > 0) & (smooth <= p + 1e-12)).all()


def test_mean_method_averages_the_fold_models(data):
    X, y = data
    model = CrossConformalClassifier(method="mean", random_state=0).fit(X, y)
    mean = np.mean([m.predict_proba(X) for m in model.estimators_], axis=0)
    np.testing.assert_allclose(model.predict_proba(X), mean)
    np.testing.assert_array_equal(model.predict(X), np.argmax(mean, axis=1))
    q = np.sort(model.conformity_scores_)[conformal_rank(300, 0.9) - 1]
    np.testing.assert_array_equal(model.predict_set(X), 1 - mean <= q)


def test_out_of_fold_scores_come_from_the_model_that_did_not_see_the_point(data):
    X, y = data
    cv = KFold(3, shuffle=True, random_state=1)
    model = CrossConformalClassifier(cv=cv).fit(X, y)
    for k, (train, test) in enumerate(cv.split(X)):
        assert (model.fold_of_[test] == k).all()
        alone = LogisticRegression().fit(X[train], y[train])
        want = 1 - alone.predict_proba(X[test])[np.arange(test.shape[0]), y[test]]
        np.testing.assert_allclose(model.conformity_scores_[test], want, rtol=1e-10)


def test_int_cv_is_stratified_when_every_class_can_fill_the_folds(data):
    X, y = data
    model = CrossConformalClassifier(cv=5, random_state=0).fit(X, y)
    for k in range(5):
        counts = np.bincount(y[model.fold_of_ == k], minlength=3)
        assert counts.max() - counts.min() <= 2
    y_rare = y.copy()
    y_rare[:3] = 3  # a class with 3 samples cannot be spread over 5 folds: plain KFold
    rare = CrossConformalClassifier(GaussianNB(), cv=5, random_state=0).fit(X, y_rare)
    assert rare.predict_proba(X).shape == (300, 4)


def test_parallel_fits_and_leave_one_out_agree(data):
    X, y = data
    one = CrossConformalClassifier(random_state=0, n_jobs=1).fit(X, y)
    two = CrossConformalClassifier(random_state=0, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.predict_set(X), two.predict_set(X))
    loo = CrossConformalClassifier(GaussianNB(), cv="loo").fit(X[:40], y[:40])
    assert len(loo.estimators_) == 40
    np.testing.assert_allclose(loo.predict_pvalues(X[:5]), _brute_force_pvalues(loo, X[:5]))


def test_too_few_samples_give_full_sets_and_a_warning(data):
    X, y = data
    model = CrossConformalClassifier(GaussianNB(), cv=4, random_state=0).fit(X[:8], y[:8])
    with pytest.warns(ConformalWarning, match="8 points; confidence_level=0.9 needs at least 9"):
        assert model.predict_set(X[:5]).all()


def test_raps_with_fixed_parameters(data):
    X, y = data
    model = CrossConformalClassifier(
        conformity_score=RAPSScore(k_reg=1, lam=0.1), random_state=0
    ).fit(X, y)
    assert model.predict_set(X[:4], confidence_level=[0.8, 0.9]).shape == (4, 2, 3)


# ---------------------------------------------------------------- scikit-learn use


def test_pipeline_grid_search_clone_pickle_pandas_strings(data):
    X, y = data
    names = np.array(["bird", "cat", "dog"])
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    labels = pd.Series(names[y])
    pipe = make_pipeline(StandardScaler(), CrossConformalClassifier(random_state=0))
    pipe.fit(frame, labels)
    np.testing.assert_array_equal(pipe[-1].classes_, names)
    assert pipe.predict(frame[:3]).dtype.kind in "OU"
    grid = GridSearchCV(
        CrossConformalClassifier(cv=3, random_state=0),
        {"estimator": [None, GaussianNB()]},
        cv=3,
    ).fit(X, y)
    assert grid.best_estimator_.predict_set(X[:3]).shape == (3, 3)
    fitted = CrossConformalClassifier(conformity_score="aps", random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_set(X), fitted.predict_set(X))
    twin = clone(fitted).fit(X, y)
    np.testing.assert_array_equal(twin.predict_pvalues(X), fitted.predict_pvalues(X))


def test_same_seed_same_output_and_no_mutation(data):
    X, y = data
    gen = np.random.default_rng(3)
    state = gen.bit_generator.state
    X0, y0 = X.copy(), y.copy()
    base = LogisticRegression()
    a = CrossConformalClassifier(base, conformity_score="aps", random_state=gen).fit(X, y)
    b = CrossConformalClassifier(base, conformity_score="aps", random_state=gen).fit(X, y)
    np.testing.assert_array_equal(a.predict_set(X), b.predict_set(X))
    assert gen.bit_generator.state == state and not hasattr(base, "coef_")
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


# ---------------------------------------------------------------- errors


def test_errors(data):
    X, y = data
    with pytest.raises(ValueError, match=r"'method' parameter of CrossConformalClassifier"):
        CrossConformalClassifier(method="minmax").fit(X, y)
    with pytest.raises(ValueError, match=r"which CrossConformalClassifier does not have; pass"):
        CrossConformalClassifier(conformity_score="raps").fit(X, y)
    frozen = FrozenEstimator(LogisticRegression().fit(X, y))
    with pytest.raises(ValueError, match=r"refits the estimator on each fold"):
        CrossConformalClassifier(frozen).fit(X, y)
    with pytest.raises(ValueError, match=r"cv=5 folds need at least 5 samples; got 3 samples"):
        CrossConformalClassifier().fit(X[:3], y[:3])
    with pytest.raises(ValueError, match=r"'confidence_level' parameter of CrossConformalClass"):
        CrossConformalClassifier(confidence_level=0.0).fit(X, y)
    model = CrossConformalClassifier()
    for method in (model.predict_set, model.predict_pvalues, model.predict, model.predict_proba):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            method(X)
