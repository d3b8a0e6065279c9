"""Cross-conformal classification (Vovk 2015; CV+ of Romano et al. 2020, Barber et al. 2021)."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._folds import fit_on_rows, fold_assignment, resolve_splits
from .._validation import check_flag, check_refittable, take
from ..calibration import Calibrator
from ..calibration._pvalues import counts_above, pvalues_from_counts
from ..scores import ClassificationScore, get_classification_score
from ._base import (
    CALIBRATION_U,
    SMOOTHING_U,
    SPLIT,
    TEST_U,
    BaseConformalClassifier,
    check_class_labels,
    encode,
)

Floats = NDArray[np.float64]


class CrossConformalClassifier(BaseConformalClassifier):
    """Cross-conformal prediction sets: every sample trains and calibrates.

    The data given to :meth:`fit` is split into ``cv`` folds; a clone of ``estimator`` is
    fitted without each fold ``k`` (``f_{-k}``) and scores the points of fold ``k``: an
    out-of-fold score ``R_i = s(f_{-k(i)}(x_i), y_i)`` for every sample. With
    ``a = 1 - confidence_level`` and ``n`` samples:

    - ``"plus"`` (cross-conformal / CV+): the conformal p-value of class ``y`` at ``x`` counts
      the samples whose score is at least the score of ``(x, y)`` under their own fold's model,
      ``p(y) = (#{i : R_i >= s(f_{-k(i)}(x), y)} + 1) / (n + 1)``, and the set is
      ``{y : p(y) > a}``. Coverage is at least ``1 - 2a`` for exchangeable data (Vovk 2015;
      Barber et al. 2021, Theorem 4; Romano et al. 2020, CV+), about ``1 - a`` in practice.
      Computed from the scores sorted once per fold, by binary search: no ``n_test x n``
      matrix.
    - ``"mean"``: the fold models' probabilities are averaged and the set is
      ``{y : s(mean f(x), y) <= q}`` with ``q`` the ``ceil((1 - a)(n + 1))``-th smallest
      ``R_i``. This is MAPIE's default aggregation (``agg_scores="mean"``); it has no
      finite-sample guarantee (averaged models are more confident than the fold models that
      produced the ``R_i``), kept for comparison.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``, default=None
        Cloned for each fold. ``None`` means ``LogisticRegression()``. A ``FrozenEstimator``
        cannot be refitted on folds: use :class:`SplitConformalClassifier`.
    confidence_level : float or sequence of float, default=0.9
        Target coverage; can be overridden in :meth:`predict_set`.
    conformity_score : {"lac", "aps", "top_k"} or ClassificationScore, default="lac"
        See :class:`SplitConformalClassifier`. RAPS needs held-out data to tune ``k_reg`` and
        ``lam``, so only ``RAPSScore(k_reg=..., lam=...)`` with both given is accepted.
    method : {"plus", "mean"}, default="plus"
        How test points are compared with the out-of-fold scores (see above).
    cv : int, "loo", cross-validation splitter or iterable of splits, default=5
        An int is ``StratifiedKFold(cv, shuffle=True)`` seeded by ``random_state`` when every
        class has at least ``cv`` samples (each fold model then sees every class), else
        ``KFold(cv, shuffle=True)`` (MAPIE always uses the latter); ``"loo"`` is leave-one-out.
        A splitter (a group splitter such as ``GroupKFold`` takes the ``groups`` given to
        :meth:`fit`) or an iterable of ``(train, test)`` index pairs must put every sample in
        exactly one test fold.
    n_jobs : int, default=None
        Fold models fitted in parallel through joblib (``-1``: all cores), so that a
        ``joblib.parallel_config`` backend (dask, ray) runs them.
    random_state : int, Generator, RandomState or None, default=None
        Shuffles the folds of an int ``cv`` and draws the ``u`` of randomized scores (see
        :class:`SplitConformalClassifier`). The generator you pass is not advanced.

    Attributes
    ----------
    estimators_ : list of classifier
        The fold models ``f_{-k}``, in the order of the splits.
    classes_ : ndarray of shape (n_classes,)
    score_ : ClassificationScore
    conformity_scores_ : ndarray of shape (n_samples,)
        Out-of-fold scores ``R_i``.
    fold_of_ : ndarray of shape (n_samples,)
        Index in ``estimators_`` of the model that did not see each sample.
    calibrator_ : Calibrator
        The out-of-fold scores with their folds (thresholds of ``"mean"``, ranks of ``"plus"``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    Notes
    -----
    :meth:`predict` and :meth:`predict_proba` use the mean of the fold models' probabilities
    (no model is fitted on all of the data).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from conformal import CrossConformalClassifier
    >>> X, y = make_classification(
    ...     300, n_classes=3, n_informative=4, class_sep=2.0, random_state=0
    ... )
    >>> model = CrossConformalClassifier(cv=5, random_state=0).fit(X, y)
    >>> model.predict_set(X[:3])
    array([[False, False,  True],
           [False,  True, False],
           [ True, False, False]])
    >>> model.predict_pvalues(X[:1]).round(3)   # the set at 0.9 holds the classes with p > 0.1
    array([[0.063, 0.076, 0.196]])
    """

    _parameter_constraints: dict[str, Any] = {
        **BaseConformalClassifier._parameter_constraints,
        "method": [StrOptions({"plus", "mean"})],
        "cv": ["cv_object", StrOptions({"loo"})],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        confidence_level: float | list[float] = 0.9,
        conformity_score: str | ClassificationScore = "lac",
        method: str = "plus",
        cv: Any = 5,
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.conformity_score = conformity_score
        self.method = method
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        groups: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> CrossConformalClassifier:
        """Fit one model per fold and score every sample out of fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Passed to the wrapped estimator as given (DataFrames keep their columns).
        y : array-like of shape (n_samples,)
            Class labels.
        groups : array-like of shape (n_samples,), default=None
            CV groups, passed to a group splitter's ``split`` (``cv=GroupKFold(5)``), as
            scikit-learn's ``cross_validate(groups=...)`` does. Not Mondrian labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the wrapped model's ``fit`` (the training rows of each fold); not used in
            calibration. An error if the model's ``fit`` does not accept it.

        Returns
        -------
        self : CrossConformalClassifier
        """
        X, labels, sample_weight = self._fit_prologue(X, y, check_class_labels, sample_weight)
        self._check_estimator_kind(self._resolve_estimator())
        n = labels.shape[0]
        owner = type(self).__name__
        score = get_classification_score(self.conformity_score, param="conformity_score")
        if score.needs_tuning:
            raise ValueError(
                f"conformity_score={self.conformity_score!r} tunes k_reg and lam on held-out "
                f"calibration data, which {owner} does not have; pass "
                "RAPSScore(k_reg=..., lam=...) with both set, or use SplitConformalClassifier."
            )
        estimator = self._resolve_estimator()
        check_refittable(estimator, owner, "the estimator on each fold", "SplitConformalClassifier")
        self._seed_streams()
        self.classes_ = np.unique(labels)
        codes = encode(labels, self.classes_, owner)
        seed = int(self._rng(SPLIT).integers(2**31 - 1))
        splits = resolve_splits(self.cv, X, codes, seed, classes=codes, groups=groups)
        self.fold_of_ = fold_assignment(splits, n)
        rows = [train for train, _ in splits]
        self.estimators_ = fit_on_rows(
            [estimator] * len(rows), X, labels, rows, self.n_jobs, sample_weight
        )
        out_of_fold = np.zeros((n, self.classes_.shape[0]))
        for model, (_, calibration) in zip(self.estimators_, splits, strict=True):
            if calibration.size:
                out_of_fold[calibration] = self._aligned_proba(model, take(X, calibration))
        u = self._uniform(CALIBRATION_U, n) if score.randomized else None
        self.score_ = score
        self.conformity_scores_ = score.score(out_of_fold, codes, u)
        self.calibrator_ = Calibrator(
            self.conformity_scores_,
            folds=self.fold_of_,
            n_folds=len(self.estimators_),
            outcome="full prediction sets",
        )
        self._folds = [
            np.sort(self.conformity_scores_[self.fold_of_ == k])
            for k in range(len(self.estimators_))
        ]
        return self

    def _fold_probas(self, X: Any) -> list[Floats]:
        return [self._aligned_proba(model, X) for model in self.estimators_]

    def _proba(self, X: Any) -> Floats:
        probas = self._fold_probas(X)
        return np.mean(probas, axis=0) if probas else np.zeros((0, self.classes_.shape[0]))

    def predict(self, X: ArrayLike) -> NDArray:
        """The class with the largest mean probability over the fold models.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _counts(
        self, probas: list[Floats], u: Floats | None, strict: bool
    ) -> tuple[NDArray, NDArray | None]:
        """``#{i : R_i >= s_{k(i)}(x, y)}`` and, if ``strict``, ``#{i : R_i > s_{k(i)}(x, y)}``,
        each ``(m, K)``: one binary search per fold, no ``m x n`` matrix."""
        at_least = np.zeros(probas[0].shape, dtype=np.int64)
        above = np.zeros(probas[0].shape, dtype=np.int64) if strict else None
        for sorted_scores, proba in zip(self._folds, probas, strict=True):
            scores = self.score_.score_all(proba, u)
            fold_at_least, fold_above = counts_above(sorted_scores, scores, strict=strict)
            at_least += fold_at_least
            if above is not None and fold_above is not None:
                above += fold_above
        return at_least, above

    def predict_set(
        self, X: ArrayLike, confidence_level: float | list[float] | None = None
    ) -> NDArray[np.bool_]:
        """Prediction sets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        confidence_level : float or sequence of float, default=None
            Overrides the level set at construction.

        Returns
        -------
        sets : ndarray of bool of shape (n_samples, n_classes) or (n_samples, n_levels, n_classes)
            Columns follow ``classes_``; a sequence of levels adds the middle axis. Full sets
            (with a :class:`~conformal.ConformalWarning`) when there are too few samples for the
            level.
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        probas = self._fold_probas(X)
        m = probas[0].shape[0]
        u = self._uniform(TEST_U, m) if self.score_.randomized else None
        # Also the plus rule's: every class is in every plus set exactly when at least
        # floor(a (n + 1)) scores are at the maximum, i.e. when this threshold is.
        thresholds = self.calibrator_.threshold(levels)
        self._warn_full_sets(thresholds, levels)
        if self.method == "mean":
            sets = self.score_.predict_set(np.mean(probas, axis=0), thresholds, u)
        else:
            at_least, _ = self._counts(probas, u, strict=False)
            # p(y) > a  <=>  #{R_i >= s} + 1 > a (n + 1)  <=>  #{R_i >= s} >= floor(a (n + 1))
            needed = self.calibrator_.ranks(levels, side="lower")
            sets = at_least[:, np.newaxis, :] >= needed[np.newaxis, :, np.newaxis]
        return self._shape(sets, scalar)  # type: ignore[arg-type,return-value]

    def predict_pvalues(self, X: ArrayLike, *, smoothed: bool = False) -> Floats:
        """Cross-conformal p-values of every class.

        ``"plus"``: ``p(y) = (#{i : R_i >= s(f_{-k(i)}(x), y)} + 1) / (n + 1)``; smoothed,
        ``(#{>} + u (#{=} + 1)) / (n + 1)``, ``u`` uniform per (row, class). ``"mean"``: the
        split-conformal p-value of the averaged model's score against all ``R_i``.
        :meth:`predict_set` at level ``1 - a`` is ``{y : p(y) > a}`` (non-smoothed). These are
        not exactly valid p-values (cross-conformal p-values can exceed the nominal rate by a
        factor of at most 2, Vovk 2015).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        smoothed : bool, default=False

        Returns
        -------
        pvalues : ndarray of shape (n_samples, n_classes)
        """
        smoothed = check_flag(smoothed, "smoothed")
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        probas = self._fold_probas(X)
        m, n_classes = probas[0].shape
        u = self._uniform(TEST_U, m) if self.score_.randomized else None
        u_smooth = self._uniform(SMOOTHING_U, (m, n_classes)) if smoothed else None
        if self.method == "mean":
            scores = self.score_.score_all(np.mean(probas, axis=0), u)
            return self.calibrator_.pvalues(scores, smoothed=smoothed, u=u_smooth)
        at_least, above = self._counts(probas, u, strict=smoothed)
        return pvalues_from_counts(at_least, above, self.conformity_scores_.shape[0], u_smooth)
