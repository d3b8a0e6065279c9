"""Venn-ABERS probability calibration: inductive (IVAP) and cross (CVAP), binary and one-vs-rest.

A Venn-ABERS predictor (Vovk and Petej 2014) turns the score of any classifier into a pair of
probabilities ``p0 <= p1`` for the positive class: ``p1`` is the isotonic regression of the
calibration labels on the calibration scores, with the test point added with label 1, evaluated
at the test score; ``p0`` the same with label 0. Under exchangeability one of the two is
perfectly calibrated (a Venn predictor's multiprobability guarantee). The pair is merged into the
probability ``p = p1 / (1 - p0 + p1)``, the minimax choice for log loss. The cross version
(Vovk, Petej and Fedorova 2015) calibrates each of ``K`` fold models on its held-out fold and
merges with geometric means, ``p = GM(p1) / (GM(1 - p0) + GM(p1))``.

Both isotonic fits are computed for every possible test position at once by the learner-free
:class:`conformal.calibration.VennAbersCalibrator`, so a test score costs one binary search
instead of a refit.

References
----------
Vovk, V. and Petej, I. (2014). Venn-Abers predictors. *Proceedings of UAI 2014*, 829-838.

Vovk, V., Petej, I. and Fedorova, V. (2015). Large-scale probabilistic predictors with and
without guarantees of validity. *Advances in NeurIPS 28*.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._folds import fit_on_rows, resolve_splits
from .._validation import is_frozen, seed_from, take
from ..base import ConformalMixin, fit_with_weights
from ..calibration import Level
from ..calibration._venn_abers import VennAbersCalibrator
from ._base import check_class_labels, encode, refuse_frozen_weights

Floats = NDArray[np.float64]

_RESPONSE_METHODS = ("predict_proba", "decision_function")


class VennAbersClassifier(ConformalMixin, ClassifierMixin, BaseEstimator):
    """Venn-ABERS calibrated probabilities for any scikit-learn classifier.

    Inductive Venn-ABERS (``method="inductive"``, IVAP) fits a clone of ``estimator`` on a
    training part and calibrates its scores on the held-out calibration part; cross Venn-ABERS
    (``method="cross"``, CVAP) fits one clone per fold and calibrates each on its held-out fold.
    For a test point each calibration gives a pair ``p0 <= p1`` of isotonic-regression
    probabilities of the positive class: the fit with the test point added with label 0 and with
    label 1 (Vovk and Petej 2014). Under exchangeability one of ``p0``, ``p1`` is perfectly
    calibrated; their spread shows how much the calibration set can say about the point.
    :meth:`predict_proba` merges them into ``p = p1 / (1 - p0 + p1)``, and CVAP merges folds by
    ``p = GM(p1) / (GM(1 - p0) + GM(p1))`` with geometric means over the folds (Vovk, Petej and
    Fedorova 2015).

    Binary problems calibrate the score of ``classes_[1]``. With more classes, each class is
    calibrated one-vs-rest on its own score column and the merged probabilities are divided by
    their sum; the per-class pairs (before that normalisation) are given by
    :meth:`predict_proba_interval`.

    Parameters
    ----------
    estimator : classifier, default=None
        The scoring model, with ``predict_proba`` or ``decision_function``. ``None`` means
        ``LogisticRegression()``. A model that is already fitted is passed as
        ``sklearn.frozen.FrozenEstimator(model)`` (inductive method only); then all the data
        given to ``fit`` is calibration data and ``classes_`` are the model's classes.
    method : {"inductive", "cross"}, default="inductive"
        IVAP (one training/calibration split) or CVAP (every sample calibrates the model of
        the fold that held it out).
    cv : int, cross-validation generator or iterable, default=5
        The folds of ``method="cross"``. An int is ``StratifiedKFold(cv, shuffle=True)`` seeded
        by ``random_state`` (``KFold`` when a class has fewer than ``cv`` samples); a group
        splitter (``GroupKFold``) takes the ``groups`` given to :meth:`fit`. Ignored by the
        inductive method.
    calibration_size : float or int, default=0.3
        Fraction (or number) of the samples held out for calibration by the inductive method,
        stratified by class when every class has at least 2 samples. Ignored with a frozen
        estimator and by the cross method.
    response_method : {"auto", "predict_proba", "decision_function"}, default="auto"
        The score that is calibrated. ``"auto"`` uses ``predict_proba`` when the estimator has
        it, else ``decision_function``. Only the order of the scores matters (isotonic
        regression is invariant to increasing transformations of a score column).
    n_jobs : int, default=None
        Parallel fits of the folds of the cross method, through joblib.
    random_state : int, Generator, RandomState or None, default=None
        Controls the split (or the fold shuffle). The generator you pass is not advanced.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted (or the frozen model's classes).
    estimators_ : list of classifier
        The fitted scoring model(s): one for the inductive method, one per fold for the cross.
    calibrators_ : list of list
        For each model, one calibrator per calibrated score column (one for a binary problem,
        ``n_classes`` otherwise). Internal objects.
    response_method_ : str
        The estimator method that gives the scores.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    See Also
    --------
    sklearn.calibration.CalibratedClassifierCV : Platt scaling and isotonic calibration, without
        the test point in the isotonic fit and without the ``(p0, p1)`` pair.

    Notes
    -----
    All isotonic fits for one calibration set are precomputed from the greatest convex minorant
    of its cumulative sum diagram in ``O(n log n)`` (Vovk, Petej and Fedorova 2015); each test
    score then costs one binary search per calibrated column and fold.

    References
    ----------
    Vovk, V. and Petej, I. (2014). Venn-Abers predictors. *UAI 2014*, 829-838.

    Vovk, V., Petej, I. and Fedorova, V. (2015). Large-scale probabilistic predictors with and
    without guarantees of validity. *NeurIPS 28*.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from conformal.classification import VennAbersClassifier
    >>> X, y = make_classification(n_samples=1000, flip_y=0.1, random_state=0)
    >>> model = VennAbersClassifier(random_state=0).fit(X[:800], y[:800])
    >>> model.predict_proba(X[800:802]).round(3)
    array([[0.196, 0.804],
           [0.029, 0.971]])
    >>> model.predict_proba_interval(X[800:802])[:, 1].round(3)  # [p0, p1] of class 1
    array([[0.769, 0.949],
           [0.97 , 1.   ]])
    >>> cross = VennAbersClassifier(method="cross", random_state=0).fit(X[:800], y[:800])
    >>> cross.predict_proba(X[800:802]).round(3)
    array([[0.198, 0.802],
           [0.051, 0.949]])
    """

    _parameter_constraints: dict[str, Any] = {
        # the model's kind and methods are checked in fit, with a message that names the fix
        "estimator": [HasMethods(["fit"]), None],
        "method": [StrOptions({"inductive", "cross"})],
        "cv": ["cv_object"],
        "calibration_size": [
            Interval(Real, 0.0, 1.0, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "response_method": [StrOptions({"auto", *_RESPONSE_METHODS})],
        "n_jobs": [Integral, None],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        method: str = "inductive",
        cv: Any = 5,
        calibration_size: float = 0.3,
        response_method: str = "auto",
        n_jobs: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.calibration_size = calibration_size
        self.response_method = response_method
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        return LogisticRegression()

    def _levels(self, confidence_level: Any) -> tuple[list[Level], bool]:
        """Venn-ABERS has no confidence level: the prologues have no level to check."""
        return [], False

    # ------------------------------------------------------------------------ fit

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        groups: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> VennAbersClassifier:
        """Fit the scoring model(s) and precompute the Venn-ABERS calibration.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Passed to the wrapped estimator as given (DataFrames keep their columns).
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings).
        groups : array-like of shape (n_samples,), default=None
            CV groups of ``method="cross"``, passed to a group splitter's ``split``
            (``cv=GroupKFold(5)``), as scikit-learn's ``cross_validate(groups=...)`` does. An
            error with the inductive method, whose split is not by group.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the wrapped model's ``fit`` (its training rows: the training part, or
            each fold's); not used in calibration. An error if the model's ``fit`` does not
            accept it, or with a ``FrozenEstimator`` (not refitted).

        Returns
        -------
        self : VennAbersClassifier
        """
        X, labels, sample_weight = self._fit_prologue(X, y, check_class_labels, sample_weight)
        name = type(self).__name__
        n = labels.shape[0]
        estimator = self._resolve_estimator()
        self._check_estimator_kind(estimator, ("predict_proba", "decision_function"))
        frozen = is_frozen(estimator)
        if frozen:
            if self.method == "cross":
                raise ValueError(
                    "method='cross' refits the estimator on every fold, which a "
                    "FrozenEstimator cannot do; use method='inductive' (all the data given to "
                    "fit is then calibration data) or pass the unfitted estimator."
                )
            refuse_frozen_weights(sample_weight, name)
            check_is_fitted(estimator)
            self.classes_ = np.asarray(estimator.classes_)
            codes = encode(labels, self.classes_, "the prefit estimator")
        else:
            self.classes_, codes = np.unique(labels, return_inverse=True)
        if self.classes_.shape[0] < 2 or n == 0:
            found = f"only one class: {labels[:1].tolist()[0]!r}" if n else "no sample"
            raise ValueError(f"{name} needs samples of at least 2 classes; the data has {found}.")
        if groups is not None and self.method != "cross":
            raise ValueError(
                "groups are CV groups for method='cross'; the inductive method splits the rows "
                "at random: drop groups, or use method='cross' with a group splitter as cv."
            )
        self.response_method_ = self._resolve_response_method(estimator)
        if frozen:
            folds = [(estimator, np.arange(n))]
        elif self.method == "inductive":
            train, calibration = self._split(codes)
            weights = None if sample_weight is None else sample_weight[train]
            model = fit_with_weights(clone(estimator), take(X, train), labels[train], weights)
            folds = [(model, calibration)]
        else:
            splits = self._folds(X, codes, groups)
            rows = [train for train, _ in splits]
            models = fit_on_rows(
                [estimator] * len(rows), X, labels, rows, self.n_jobs, sample_weight
            )
            folds = list(zip(models, (calibration for _, calibration in splits), strict=True))
        self.estimators_ = [model for model, _ in folds]
        self.calibrators_ = [
            self._calibrate(model, take(X, rows), codes[rows]) for model, rows in folds
        ]
        return self

    def _resolve_response_method(self, estimator: Any) -> str:
        available = [m for m in _RESPONSE_METHODS if hasattr(estimator, m)]
        if self.response_method == "auto":
            if not available:
                raise ValueError(
                    f"{type(estimator).__name__} has neither predict_proba nor "
                    "decision_function; Venn-ABERS calibrates a classifier's score, so pass a "
                    "classifier with one of them."
                )
            return available[0]
        if self.response_method not in available:
            raise ValueError(
                f"response_method={self.response_method!r} but {type(estimator).__name__} has "
                f"no {self.response_method}; use response_method='auto' or one of {available}."
            )
        return str(self.response_method)

    def _split(self, codes: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        index = np.arange(codes.shape[0])  # at least 2 samples: fit checked for 2 classes
        seed = seed_from(self.random_state)
        stratify = codes if np.bincount(codes).min() >= 2 else None
        try:
            train, calibration = train_test_split(
                index, test_size=self.calibration_size, random_state=seed, stratify=stratify
            )
        except ValueError:
            if stratify is None:
                raise
            # Too few samples to put every class on both sides: a plain random split.
            train, calibration = train_test_split(
                index, test_size=self.calibration_size, random_state=seed
            )
        return np.sort(train), np.sort(calibration)

    def _folds(
        self, X: Any, codes: NDArray[np.intp], groups: ArrayLike | None
    ) -> list[tuple[NDArray, NDArray]]:
        splits = resolve_splits(self.cv, X, codes, self.random_state, classes=codes, groups=groups)
        for k, (_, calibration) in enumerate(splits):
            if calibration.shape[0] == 0:
                raise ValueError(
                    f"cv split {k} holds out no sample; every fold needs calibration data."
                )
        return splits

    def _calibrate(
        self, model: Any, X_cal: Any, codes: NDArray[np.intp]
    ) -> list[VennAbersCalibrator]:
        scores = self._scores(model, X_cal)
        return [VennAbersCalibrator(scores[:, c], codes == c) for c in self._calibrated_columns()]

    def _calibrated_columns(self) -> list[int]:
        """The positive class of a binary problem; every class otherwise (one-vs-rest)."""
        n_classes = self.classes_.shape[0]
        return [1] if n_classes == 2 else list(range(n_classes))

    def _scores(self, model: Any, X: Any) -> Floats:
        """``(n, n_classes)`` scores of ``model`` aligned with ``classes_`` (a class the model
        does not know scores lowest: 0 probability, -inf decision)."""
        method = self.response_method_
        raw = np.asarray(getattr(model, method)(X), dtype=np.float64)
        model_classes = np.asarray(model.classes_)
        if raw.ndim == 1 and method == "decision_function" and model_classes.shape[0] == 2:
            raw = np.column_stack([-raw, raw])
        if raw.ndim != 2 or raw.shape[1] != model_classes.shape[0]:
            raise ValueError(
                f"{method} of the wrapped estimator returned shape {raw.shape}; expected "
                f"(n_samples, {model_classes.shape[0]}), one column per entry of its classes_."
            )
        if model_classes.shape == self.classes_.shape and np.array_equal(
            model_classes, self.classes_
        ):
            return raw
        out = np.full((raw.shape[0], self.classes_.shape[0]), _lowest(method))
        out[:, encode(model_classes, self.classes_, "this classifier")] = raw
        return out

    # ------------------------------------------------------------------------ predict

    def _pairs(self, X: Any) -> tuple[Floats, Floats]:
        """``(p0, p1)``, each ``(n_folds, n_samples, n_calibrated_columns)``."""
        columns = self._calibrated_columns()
        p0s, p1s = [], []
        for model, calibrators in zip(self.estimators_, self.calibrators_, strict=True):
            scores = self._scores(model, X)
            pairs = [cal.predict(scores[:, c]) for cal, c in zip(calibrators, columns, strict=True)]
            p0s.append(np.column_stack([p0 for p0, _ in pairs]))
            p1s.append(np.column_stack([p1 for _, p1 in pairs]))
        return np.stack(p0s), np.stack(p1s)

    def predict_proba_interval(self, X: ArrayLike) -> Floats:
        """The Venn-ABERS pair ``[p0, p1]`` of every class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        intervals : ndarray of shape (n_samples, n_classes, 2)
            ``[p0, p1]`` with ``p0 <= p1``, columns aligned with ``classes_``. Binary problems
            calibrate ``classes_[1]``; ``classes_[0]`` gets ``[1 - p1, 1 - p0]``. With more
            classes each pair is that of the class against the rest, before the normalisation
            of :meth:`predict_proba` (whose probabilities need not lie inside the pairs). The
            cross method gives the envelope ``[min p0, max p1]`` over the folds, which contains
            the merged probability of :meth:`predict_proba` for binary problems.
        """
        X, _, _ = self._predict_prologue(X)
        p0, p1 = self._pairs(X)
        lower, upper = p0.min(axis=0), p1.max(axis=0)
        if self.classes_.shape[0] == 2:  # classes_[0] is the complement of classes_[1]
            lower, upper = (
                np.column_stack([1.0 - upper[:, 0], lower[:, 0]]),
                np.column_stack([1.0 - lower[:, 0], upper[:, 0]]),
            )
        return np.stack([lower, upper], axis=-1)

    def predict_proba(self, X: ArrayLike) -> Floats:
        """Calibrated class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``p1 / (1 - p0 + p1)`` (inductive) or ``GM(p1) / (GM(1 - p0) + GM(p1))`` over the
            folds (cross) for the positive class of a binary problem, ``1 -`` that for the
            other; with more classes the one-vs-rest probabilities divided by their sum.
        """
        X, _, _ = self._predict_prologue(X)
        p0, p1 = self._pairs(X)
        if p0.shape[0] == 1:
            merged = p1[0] / (1.0 - p0[0] + p1[0])
        else:  # geometric means over folds; p0 < 1 and p1 > 0, so the logs are finite
            log_p1 = np.log(p1).mean(axis=0)
            log_q0 = np.log1p(-p0).mean(axis=0)
            merged = 1.0 / (1.0 + np.exp(log_q0 - log_p1))
        if self.classes_.shape[0] == 2:
            return np.column_stack([1.0 - merged[:, 0], merged[:, 0]])
        return merged / merged.sum(axis=1, keepdims=True)

    def predict(self, X: ArrayLike) -> NDArray:
        """The most probable class under :meth:`predict_proba` (lowest column on ties).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)  # checks the fit before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]


def _lowest(method: str) -> float:
    return 0.0 if method == "predict_proba" else -np.inf
