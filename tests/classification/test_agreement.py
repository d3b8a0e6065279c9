"""Agreement of conformal classification with the peer libraries MAPIE (1.x) and crepes (0.9).

Both sides get the same fitted model (a logistic regression on scikit-learn's bundled ``digits``
data, 10 classes, prefit and frozen) and the same calibration set, so any difference comes from
the calibration rule alone. Where a peer differs, a test below pins the difference down.

What is compared (``a = 1 - confidence_level``; ours: the ``ceil((1 - a)(n + 1))``-th smallest
score in exact rational arithmetic, ``+inf`` with a ``ConformalWarning`` past ``n``):

- MAPIE ``SplitConformalClassifier(prefit=True)``:

  * LAC and top-k: identical sets. MAPIE's threshold is ``np.quantile(scores,
    ceil((n + 1)(1 - a)) / n, method="lower")`` with ``a`` taken through ``Decimal``: the same
    order statistic (checked for every ``n`` up to 3000 at levels 0.8, 0.9, 0.95). It adds a
    tolerance of 1e-8 (``1 - p - q <= 1e-8``), which changes nothing unless a test score lies
    within 1e-8 above the threshold (never here). It refuses (``ValueError``) calibration sets
    with ``n < 1/a`` (``n = 9`` at 0.9, where ours is finite) and never returns full sets.
  * top-k with tied probabilities: MAPIE puts every class tied with the last one in the set (and
    ranks tied classes by descending column), ours takes exactly ``floor(q)`` classes, ties by
    ascending column.
  * APS: MAPIE's calibration scores are always randomized, ``C(y) - u p_y`` with
    ``u = RandomState(random_state).uniform(size=n)`` (equal to ours given the same ``u``), but
    its default sets (``include_last_label=True``) are not: they hold the classes ranked up to and
    including the first whose cumulative mass reaches ``q - 1e-8``, which is our randomized set
    with ``u = 1`` for every test point (more than ``1 - a`` coverage); ``"randomized"`` is our
    randomized set with ``u = RandomState(random_state).uniform(size=(m, 1))``; ``False`` is our
    non-randomized set with the top class added to empty sets (``allow_empty=False``).
- MAPIE ``CrossConformalClassifier`` (LAC, same ``KFold``): ``agg_scores="mean"`` (its default)
  equals our ``method="mean"``. ``agg_scores="crossval"`` counts, for each test point and class,
  the calibration points whose score under their fold's model is at least the test score
  (``c``), as our ``method="plus"`` does, but includes the class when
  ``c >= a (n - 1) - 1e-8``; ours (the cross-conformal p-value ``(c + 1)/(n + 1) > a``)
  when ``c >= floor(a (n + 1))``. They agree at ``n = 300`` and differ at ``n = 295``
  (``a = 0.1``: 29 vs 30).
- crepes ``ConformalClassifier``: its p-values are ours, non-smoothed
  ``(#{s_i >= s} + 1)/(n + 1)`` and smoothed ``(#{>} + theta (#{=} + 1))/(n + 1)``
  (``theta`` drawn by ``np.random.rand`` after ``np.random.seed(seed)``), also per Mondrian bin
  (our ``class_conditional=True`` is crepes with ``bins=y``). Its sets are
  ``{y : p(y) >= 1 - confidence}`` where ours are ``{y : p(y) > a}``: when ``a (n + 1)`` is an
  integer (``n = 99`` at 0.9) crepes also takes the classes whose p-value equals ``a`` (one
  order statistic wider); otherwise the sets are equal.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from conformal import (
    ConformalWarning,
    CrossConformalClassifier,
    SplitConformalClassifier,
    conformal_quantile,
    conformal_rank,
)
from conformal.calibration import Calibrator
from conformal.scores import APSScore

mapie_classification = pytest.importorskip("mapie.classification")
mapie_utils = pytest.importorskip("mapie.utils")
crepes = pytest.importorskip("crepes")

LEVELS = [0.8, 0.9, 0.95]
EPSILON = 1e-8  # MAPIE's tolerance


class Digits:
    """600 training rows, a calibration pool of 700, 497 test rows."""

    def __init__(self) -> None:
        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        order = np.random.default_rng(0).permutation(y.shape[0])
        train, self.pool, test = order[:600], order[600:1300], order[1300:]
        self.X, self.y, self.X_test = X, y, X[test]
        self.model = LogisticRegression(C=0.5, max_iter=2000).fit(X[train], y[train])
        self.proba_test = self.model.predict_proba(self.X_test)

    def calibration(self, n: int):
        rows = self.pool[:n]
        return self.X[rows], self.y[rows]


@pytest.fixture(scope="module")
def digits() -> Digits:
    return Digits()


def _ours(digits, n, score="lac", levels=LEVELS, **kwargs):
    X_cal, y_cal = digits.calibration(n)
    model = SplitConformalClassifier(
        FrozenEstimator(digits.model),
        confidence_level=list(levels),
        conformity_score=score,
        **kwargs,
    )
    return model.fit(X_cal, y_cal)


def _mapie(digits, n, score="lac", levels=LEVELS, random_state=None, **params):
    """MAPIE's sets, transposed from (m, K, L) to our (m, L, K), and the fitted object."""
    X_cal, y_cal = digits.calibration(n)
    clf = mapie_classification.SplitConformalClassifier(
        digits.model,
        confidence_level=list(levels),
        conformity_score=score,
        prefit=True,
        random_state=random_state,
    )
    clf.conformalize(X_cal, y_cal)
    points, sets = clf.predict_set(digits.X_test, conformity_score_params=params or None)
    np.testing.assert_array_equal(points, digits.model.predict(digits.X_test))
    return np.transpose(sets, (0, 2, 1)), clf


# ---------------------------------------------------------------- MAPIE, split


def test_mapie_threshold_is_our_order_statistic_for_every_n():
    """MAPIE's quantile (method="lower" at ceil((n+1)(1-a))/n) is the same order statistic."""
    for level in LEVELS:
        alpha = mapie_utils._transform_confidence_level_to_alpha(level)
        for n in range(round(1 / alpha), 3001):
            ranks = np.arange(1.0, n + 1.0)
            theirs = mapie_utils._compute_classification_quantile(ranks, np.array([alpha]))
            assert theirs[0] == conformal_rank(n, level), (level, n)


@pytest.mark.parametrize("n", [100, 299, 700])
@pytest.mark.parametrize("score", ["lac", "top_k"])
def test_mapie_split_lac_and_top_k_sets_are_ours(digits, n, score):
    ours = _ours(digits, n, score)
    theirs, clf = _mapie(digits, n, score)
    np.testing.assert_allclose(
        np.ravel(clf.conformity_scores) + (1.0 if score == "top_k" else 0.0),
        ours.conformity_scores_,
        rtol=1e-12,
    )  # MAPIE's top-k rank counts from 0
    q = conformal_quantile(ours.conformity_scores_, LEVELS)
    np.testing.assert_allclose(clf._mapie_classifier.quantiles_ + (score == "top_k"), q)
    every = ours.score_.score_all(digits.proba_test)
    gap = every[:, None, :] - q[None, :, None]
    assert not ((gap > 0) & (gap <= EPSILON)).any()  # MAPIE's tolerance never bites here
    np.testing.assert_array_equal(ours.predict_set(digits.X_test), theirs)


@pytest.mark.filterwarnings(
    "ignore:class\\(es\\) .* no calibration points:conformal.ConformalWarning"
)
@pytest.mark.filterwarnings("ignore:WARNING. your conformalization dataset has less labels")
def test_mapie_refuses_small_calibration_sets_ours_is_finite_then_full(digits):
    with pytest.raises(ValueError, match="Number of samples of the score is too low"):
        _mapie(digits, 9, levels=[0.9])
    assert np.isfinite(conformal_quantile(_ours(digits, 9, levels=[0.9]).conformity_scores_, 0.9))
    nine = _ours(digits, 9, levels=[0.9])  # warns that some digits have no calibration points
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not nine.predict_set(digits.X_test).all()
    eight = _ours(digits, 8, levels=[0.9])
    with pytest.warns(ConformalWarning, match="8 points; confidence_level=0.9 needs at least 9"):
        assert eight.predict_set(digits.X_test).all()


class _Given(ClassifierMixin, BaseEstimator):
    """A 4-class model whose probabilities are the features."""

    def fit(self, X=None, y=None):
        self.classes_ = np.arange(4)
        return self

    def predict_proba(self, X):
        return np.asarray(X, dtype=float)

    def predict(self, X):
        return np.argmax(self.predict_proba(X), axis=1)


def test_mapie_top_k_takes_every_class_tied_with_the_last_ours_exactly_k():
    rng = np.random.default_rng(1)
    X_cal = rng.dirichlet(np.ones(4), size=50)
    y_cal = np.argmax(X_cal, axis=1)  # the true class is always the top one: q is rank 1
    X_test = np.array([[0.4, 0.4, 0.1, 0.1], [0.1, 0.3, 0.3, 0.3], [0.7, 0.1, 0.1, 0.1]])
    model = _Given().fit()
    ours = SplitConformalClassifier(FrozenEstimator(model), conformity_score="top_k")
    ours.fit(X_cal, y_cal)
    clf = mapie_classification.SplitConformalClassifier(
        model, confidence_level=0.9, conformity_score="top_k", prefit=True
    ).conformalize(X_cal, y_cal)
    theirs = clf.predict_set(X_test)[1][:, :, 0]
    np.testing.assert_array_equal(
        ours.predict_set(X_test),
        [[True, False, False, False], [False, True, False, False], [True, False, False, False]],
    )
    np.testing.assert_array_equal(
        theirs,
        [[True, True, False, False], [False, True, True, True], [True, False, False, False]],
    )


def test_mapie_aps_scores_are_ours_with_its_u_and_its_sets_are_ours_with_u_fixed(digits):
    n, seed = 500, 7
    X_cal, y_cal = digits.calibration(n)
    proba_cal = digits.model.predict_proba(X_cal)
    u_cal = np.random.RandomState(seed).uniform(size=n)
    scores = APSScore().score(proba_cal, y_cal, u=u_cal)  # digits' labels are the columns
    default, clf = _mapie(digits, n, "aps", random_state=seed)
    np.testing.assert_allclose(np.ravel(clf.conformity_scores), scores, rtol=1e-12, atol=1e-15)
    q = conformal_quantile(scores, LEVELS)
    np.testing.assert_allclose(clf._mapie_classifier.quantiles_, q, rtol=1e-12)

    m = digits.proba_test.shape[0]
    ordered = np.sort(digits.proba_test, axis=1)[:, ::-1]
    mass_before = np.cumsum(ordered, axis=1) - ordered  # boundary cases: within 1e-8 below q
    near = (mass_before[:, None, :] >= q[None, :, None] - EPSILON) & (
        mass_before[:, None, :] <= q[None, :, None]
    )
    assert not near.any()
    # include_last_label=True (MAPIE's default): our randomized set with u = 1
    np.testing.assert_array_equal(default, APSScore().predict_set(digits.proba_test, q, np.ones(m)))
    # "randomized": our randomized set with MAPIE's u for the test points
    randomized, _ = _mapie(digits, n, "aps", random_state=seed, include_last_label="randomized")
    u_test = np.random.RandomState(seed).uniform(size=(m, 1)).ravel()
    np.testing.assert_array_equal(randomized, APSScore().predict_set(digits.proba_test, q, u_test))
    # False: our deterministic set, plus the top class when empty
    without, _ = _mapie(digits, n, "aps", random_state=seed, include_last_label=False)
    sets = APSScore(randomized=False).predict_set(digits.proba_test, q)
    empty = ~sets.any(axis=2)
    rows, levels = np.nonzero(empty)
    sets[rows, levels, np.argmax(digits.proba_test, axis=1)[rows]] = True
    assert empty.any()
    np.testing.assert_array_equal(without, sets)


# ---------------------------------------------------------------- MAPIE, cross


@pytest.mark.parametrize("n", [300, 295])
def test_mapie_cross_conformal_lac(digits, n):
    rows = digits.pool[:n]
    X, y = digits.X[rows], digits.y[rows]
    cv = KFold(5, shuffle=True, random_state=3)
    estimator = LogisticRegression(C=0.5, max_iter=2000)
    levels = [0.8, 0.9]
    theirs = mapie_classification.CrossConformalClassifier(
        estimator, confidence_level=levels, conformity_score="lac", cv=cv
    ).fit_conformalize(X, y)
    mean = CrossConformalClassifier(estimator, confidence_level=levels, cv=cv, method="mean")
    mean.fit(X, y)
    their_mean = theirs.predict_set(digits.X_test, agg_scores="mean")[1]
    np.testing.assert_array_equal(mean.predict_set(digits.X_test), their_mean.transpose(0, 2, 1))

    plus = CrossConformalClassifier(estimator, confidence_level=levels, cv=cv).fit(X, y)
    crossval = theirs.predict_set(digits.X_test, agg_scores="crossval")[1].transpose(0, 2, 1)
    count = np.rint(plus.predict_pvalues(digits.X_test) * (n + 1)).astype(int) - 1
    ours = plus.predict_set(digits.X_test)
    for j, level in enumerate(levels):
        a = 1 - level
        mapie_needs = int(np.ceil(a * (n - 1) - EPSILON))
        np.testing.assert_array_equal(crossval[:, j], count >= mapie_needs)
        np.testing.assert_array_equal(ours[:, j], count >= conformal_rank(n, level, side="lower"))
    if n == 300:
        np.testing.assert_array_equal(ours, crossval)
    else:  # a = 0.1: ours needs 29 calibration points at least as nonconforming, MAPIE 30
        assert conformal_rank(n, 0.9, side="lower") == 29
        assert (ours[:, 1] & ~crossval[:, 1]).any() and not (crossval & ~ours).any()


# ---------------------------------------------------------------- crepes


def test_crepes_pvalues_are_ours(digits):
    n = 300
    ours = _ours(digits, n, levels=[0.9])
    X_cal, y_cal = digits.calibration(n)
    alphas_cal = 1 - digits.model.predict_proba(X_cal)[np.arange(n), y_cal]
    alphas_test = 1 - digits.proba_test
    cc = crepes.ConformalClassifier().fit(alphas_cal)
    np.testing.assert_allclose(ours.conformity_scores_, alphas_cal, rtol=1e-12)
    plain = cc.predict_p(alphas_test, smoothing=False)
    np.testing.assert_allclose(ours.predict_pvalues(digits.X_test), plain, rtol=1e-12)
    theta = np.random.RandomState(11).rand(*alphas_test.shape)  # crepes' draw for seed=11
    smooth = cc.predict_p(alphas_test, smoothing=True, seed=11)
    np.testing.assert_allclose(
        Calibrator(alphas_cal).pvalues(alphas_test, smoothed=True, u=theta), smooth
    )


def test_crepes_mondrian_by_label_is_our_class_conditional(digits):
    n = 500
    ours = _ours(digits, n, levels=[0.9], class_conditional=True)
    X_cal, y_cal = digits.calibration(n)
    alphas_cal = 1 - digits.model.predict_proba(X_cal)[np.arange(n), y_cal]
    cc = crepes.ConformalClassifier().fit(alphas_cal, bins=y_cal)
    m = digits.proba_test.shape[0]
    theirs = np.column_stack(
        [
            cc.predict_p(1 - digits.proba_test[:, c], bins=np.full(m, c), smoothing=False)
            for c in range(10)
        ]
    )
    np.testing.assert_allclose(ours.predict_pvalues(digits.X_test), theirs, rtol=1e-12)


@pytest.mark.parametrize("n", [99, 100])
def test_crepes_sets_take_pvalues_equal_to_alpha(digits, n):
    ours = _ours(digits, n, levels=[0.9])
    X_cal, y_cal = digits.calibration(n)
    alphas_cal = 1 - digits.model.predict_proba(X_cal)[np.arange(n), y_cal]
    theirs = crepes.ConformalClassifier().fit(alphas_cal)
    theirs = theirs.predict_set(1 - digits.proba_test, confidence=0.9, smoothing=False)
    count = np.rint(ours.predict_pvalues(digits.X_test) * (n + 1)).astype(int) - 1
    sets = ours.predict_set(digits.X_test, confidence_level=0.9)
    np.testing.assert_array_equal(sets, count >= 10)  # p > 0.1
    if n == 99:  # a (n + 1) = 10: crepes also takes p = 10/100 = a, i.e. count = 9
        np.testing.assert_array_equal(theirs.astype(bool), count >= 9)
        assert (theirs.astype(bool) & ~sets).any()
    else:
        np.testing.assert_array_equal(theirs.astype(bool), sets)
