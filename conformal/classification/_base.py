"""What the conformal classifiers share: labels, probabilities, randomness, full-set warnings.

Feature checks, tags, levels, shapes and the ``fit``/``predict`` prologues come from
:class:`conformal.base.ConformalMixin`; calibration (cells, thresholds, p-values) from
:mod:`conformal.calibration`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._validation import seed_from
from ..base import ConformalMixin
from ..calibration import Level, MondrianCells
from ..exceptions import warn_conformal
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


def check_class_labels(y: Any) -> NDArray:
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


def refuse_frozen_weights(sample_weight: NDArray | None, owner: str) -> None:
    """A clear error for ``sample_weight`` with a FrozenEstimator, which is never refitted."""
    if sample_weight is not None:
        raise ValueError(
            f"{owner} got sample_weight with a FrozenEstimator: an already fitted model is not "
            "refitted, and sample_weight only weighs the wrapped model's training (never the "
            "calibration); fit without sample_weight, or pass the unfitted model."
        )


class BaseConformalClassifier(ConformalMixin, ClassifierMixin, BaseEstimator):
    """Input handling shared by the conformal classifiers (not public)."""

    _parameter_constraints: dict[str, Any] = {
        # predict_proba is checked in fit (_check_estimator_kind), with a message naming the fix
        "estimator": [HasMethods(["fit", "predict"]), None],
        "confidence_level": "no_validation",  # the one level parser, at fit
        "conformity_score": [StrOptions(SCORE_NAMES), ClassificationScore],
        "random_state": ["random_state", np.random.Generator],
    }

    def _default_estimator(self) -> Any:
        return LogisticRegression()

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

    def _warn_full_sets(
        self,
        thresholds: Floats,
        levels: list[Level],
        cells: MondrianCells | None = None,
        used: NDArray[np.bool_] | None = None,
        meaning: str = "every prediction set holds every class",
    ) -> None:
        """One :class:`~conformal.ConformalWarning` when a finite threshold reaches the largest
        value the score can take (:meth:`~conformal.scores.ClassificationScore.max_score`): the
        sets it calibrates are then full whatever the model says.

        ``thresholds`` is ``(L,)``, or a ``(n_cells, L)`` table of ``cells`` of which only the
        ``used`` rows are read. Infinite thresholds have their own warning (too few points).
        """
        top = self.score_.max_score(self.classes_.shape[0])
        table = np.asarray(thresholds, dtype=np.float64).reshape(-1, len(levels))
        hit = np.isfinite(table) & (table >= top)
        if used is not None:
            hit &= used[:, np.newaxis]
        if not hit.any():
            return
        level = min((lv for j, lv in enumerate(levels) if hit[:, j].any()), key=float)
        where = ""
        if cells is not None:
            rows = np.flatnonzero(hit.any(axis=1))
            where = " of " + ", ".join(cells.describe(int(c)) for c in rows[:5])
            where += f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
        warn_conformal(
            f"the threshold{where} at confidence_level={float(level):g} is {top:g}, the largest "
            f"value {self.score_!r} can take: {meaning}, whatever the model says (at that level "
            "too many calibration points get the worst possible score: their true class ranked "
            "last, or given probability 0). Use a model that ranks the true class higher, "
            "another conformity_score, or a lower confidence_level."
        )

    @staticmethod
    def _fill_empty(sets: NDArray[np.bool_], proba: Floats) -> NDArray[np.bool_]:
        """Add the most probable class (lowest column on ties) to every empty set."""
        empty = ~sets.any(axis=-1)
        if empty.any():
            rows, levels = np.nonzero(empty)
            sets[rows, levels, np.argmax(proba, axis=1)[rows]] = True
        return sets
