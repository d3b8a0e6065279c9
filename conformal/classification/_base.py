"""What the conformal classifiers share: labels, probabilities, randomness, shapes."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._validation import as_rows, check_levels, seed_from
from ..calibration import Level
from ..scores import ClassificationScore

Floats = NDArray[np.float64]

SCORE_NAMES = {"lac", "aps", "raps", "top_k"}

# Independent random streams, all derived from the estimator's random_state.
SPLIT, TUNE_SPLIT, CALIBRATION_U, TUNE_U, TEST_U, SMOOTHING_U = range(6)


def _missing(value: Any) -> bool:
    """None, NaN, pandas.NA or NaT: anything that is not equal to itself or cannot say."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pandas.NA: its truth value is ambiguous
        return True


def check_labels(y: Any) -> NDArray:
    """Class labels as a 1-D array (a column vector is accepted with sklearn's warning)."""
    if y is None:
        raise ValueError(
            "This conformal classifier requires y to be passed, but the target y is None."
        )
    labels = column_or_1d(y, warn=True)
    if labels.dtype.kind == "f":
        bad = ~np.isfinite(labels)
    elif labels.dtype.kind == "O":
        bad = np.array([_missing(v) for v in labels], dtype=bool)
    else:
        bad = np.zeros(labels.shape[0], dtype=bool)
    if bad.any():
        raise ValueError(
            f"y contains missing labels (NaN, None or infinity) at {int(bad.sum())} position(s) "
            f"(first: index {int(np.flatnonzero(bad)[0])}); conformal calibration needs the "
            "class of every sample: drop those rows."
        )
    try:
        np.unique(labels)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in labels.tolist()})
        raise ValueError(
            f"y mixes label types {kinds}; use labels of one type (e.g. all str)."
        ) from None
    check_classification_targets(labels)
    return labels


def encode(labels: NDArray, classes: NDArray, where: str) -> NDArray[np.intp]:
    """Column of each label in ``classes``; a label outside ``classes`` is an error."""
    try:  # binary search in the sorted classes: no Python loop over the samples
        sorter = np.argsort(classes, kind="stable")
        position = np.searchsorted(classes, labels, sorter=sorter)
        index = sorter[np.minimum(position, classes.shape[0] - 1)]
        if classes.shape[0] and np.array_equal(classes[index], labels):
            return index.astype(np.intp)
    except TypeError:  # labels of a type that cannot be compared with the classes
        pass
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    try:
        return np.fromiter((lookup[v] for v in labels.tolist()), dtype=np.intp, count=len(labels))
    except KeyError:
        unknown = sorted({v for v in labels.tolist() if v not in lookup}, key=repr)
        raise ValueError(
            f"y has label(s) {unknown[:5]!r} that {where} does not know; its classes_ are "
            f"{classes.tolist()!r}. Calibrate with the labels the model was fitted on."
        ) from None


class BaseConformalClassifier(ClassifierMixin, BaseEstimator):
    """Input handling shared by the conformal classifiers (not public)."""

    _parameter_constraints: dict[str, list[Any]] = {
        "estimator": [HasMethods(["fit", "predict", "predict_proba"]), None],
        "confidence_level": [Interval(Real, 0.0, 1.0, closed="neither"), "array-like"],
        "conformity_score": [StrOptions(SCORE_NAMES), ClassificationScore],
        "random_state": ["random_state", np.random.Generator],
    }

    def _default_estimator(self) -> Any:
        return LogisticRegression()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator if self.estimator is not None else self._default_estimator()
        inner_tags = get_tags(inner)
        tags.input_tags.allow_nan = inner_tags.input_tags.allow_nan
        tags.input_tags.sparse = inner_tags.input_tags.sparse
        tags.input_tags.string = inner_tags.input_tags.string
        tags.input_tags.categorical = inner_tags.input_tags.categorical
        return tags

    # ------------------------------------------------------------------------ inputs

    def _check_features(self, X: Any, *, reset: bool) -> Any:
        """Record or check n_features_in_ / feature_names_in_; returns X for the wrapped model
        with its columns intact (see :func:`conformal._validation.as_rows`)."""
        X = as_rows(X)
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X

    def _levels(self, confidence_level: Any) -> tuple[list[Level], bool]:
        level = self.confidence_level if confidence_level is None else confidence_level
        return check_levels(level, type(self).__name__)

    # ------------------------------------------------------------------------ randomness

    def _seed_streams(self) -> None:
        """Fix the entropy of every random draw at fit: the same fitted model always gives the
        same sets, and a Generator passed as random_state is not advanced."""
        seed = seed_from(self.random_state)
        fresh = np.random.SeedSequence().entropy
        self._entropy: int = int(fresh) if seed is None else seed  # type: ignore[arg-type]

    def _rng(self, purpose: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self._entropy, spawn_key=(purpose,)))

    def _uniform(self, purpose: int, shape: Any) -> Floats:
        return self._rng(purpose).uniform(size=shape)

    # ------------------------------------------------------------------------ probabilities

    def _aligned_proba(self, model: Any, X: Any) -> Floats:
        """``model.predict_proba(X)`` with one column per entry of ``classes_`` (0 for the
        classes the model never saw)."""
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        model_classes = np.asarray(model.classes_)
        if proba.ndim != 2 or proba.shape[1] != model_classes.shape[0]:
            raise ValueError(
                f"predict_proba of the wrapped estimator returned shape {proba.shape}; expected "
                f"(n_samples, {model_classes.shape[0]}), one column per entry of its classes_."
            )
        bad = np.isnan(proba).any(axis=1)
        if bad.any():
            raise ValueError(
                f"predict_proba of the wrapped estimator returned NaN for {int(bad.sum())} "
                f"sample(s) (first: row {int(np.flatnonzero(bad)[0])}); conformal sets need "
                "numeric class probabilities."
            )
        if model_classes.shape == self.classes_.shape and np.array_equal(
            model_classes, self.classes_
        ):
            return proba
        out = np.zeros((proba.shape[0], self.classes_.shape[0]))
        out[:, encode(model_classes, self.classes_, "this classifier")] = proba
        return out

    def _proba(self, X: Any) -> Floats:  # pragma: no cover - overridden
        raise NotImplementedError

    def predict_proba(self, X: ArrayLike) -> Floats:
        """Class probabilities of the wrapped model, one column per entry of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        return self._proba(X)

    # ------------------------------------------------------------------------ sets

    @staticmethod
    def _shape(sets: NDArray, scalar: bool) -> NDArray:
        """``(n, K)`` for one level given as a number, ``(n, L, K)`` for a sequence of levels."""
        return sets[:, 0, :] if scalar else sets

    @staticmethod
    def _fill_empty(sets: NDArray[np.bool_], proba: Floats) -> NDArray[np.bool_]:
        """Add the most probable class (lowest column on ties) to every empty set."""
        empty = ~sets.any(axis=-1)
        if empty.any():
            rows, levels = np.nonzero(empty)
            sets[rows, levels, np.argmax(proba, axis=1)[rows]] = True
        return sets
