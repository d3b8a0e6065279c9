"""The one estimator mixin of the package: what every conformal estimator shares.

:class:`ConformalMixin` gives feature checks (``n_features_in_``, ``feature_names_in_``), input
tags that follow the wrapped model, level parsing, output shapes, the ``fit`` and ``predict``
prologues, the routing of ``sample_weight`` to the wrapped model, and the test context built
from the estimator's parameters at predict time. Regression and classification bases
(:class:`conformal.regression._base.BaseConformalRegressor`,
:class:`conformal.classification._base.BaseConformalClassifier`) and
:class:`conformal.VennAbersClassifier` build on it; put it left of ``BaseEstimator``.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import is_classifier, is_regressor
from sklearn.frozen import FrozenEstimator
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import as_rows, check_levels, check_same_rows, check_sample_weight, n_rows
from .calibration import Level, TestContext
from .calibration._cells import check_labels

__all__ = ["ConformalMixin", "fit_with_weights"]


def _accepts_sample_weight(estimator: Any) -> bool:
    try:
        return "sample_weight" in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


def fit_with_weights(estimator: Any, X: Any, y: Any, sample_weight: NDArray | None) -> Any:
    """``estimator.fit(X, y, sample_weight=...)`` when weights are given (a plain fit
    parameter, as scikit-learn's meta-estimators without metadata routing pass it).

    Raises
    ------
    ValueError
        When the wrapped model's ``fit`` takes no ``sample_weight``.
    """
    if sample_weight is None:
        return estimator.fit(X, y)
    if not _accepts_sample_weight(estimator):
        raise ValueError(
            f"sample_weight was given but {type(estimator).__name__}.fit does not accept "
            "sample_weight; use a model that does (most scikit-learn regressors and "
            "classifiers) or fit without sample_weight."
        )
    return estimator.fit(X, y, sample_weight=sample_weight)


class ConformalMixin:
    """Feature checks, tags, levels, shapes, prologues and test contexts (not public).

    Subclasses define ``_default_estimator()`` and may set the class attribute
    ``_target_kind`` (``"regression"`` or ``"classification"``).
    """

    estimator: Any
    confidence_level: Any

    def _default_estimator(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _resolve_estimator(self) -> Any:
        """The wrapped model: the ``estimator`` parameter or the default one."""
        return self.estimator if self.estimator is not None else self._default_estimator()

    def _check_estimator_kind(
        self, estimator: Any, methods: tuple[str, ...] = ("predict_proba",)
    ) -> None:
        """Refuse a wrapped model of the wrong kind with a message that names the fix.

        A conformal regressor refuses a classifier (its ``predict`` returns labels); a
        conformal classifier refuses a regressor, and a model with none of ``methods`` (the
        class scores it calibrates). ``estimator`` is the resolved model
        (``self._resolve_estimator()``): a ``FrozenEstimator`` is judged by the model it wraps,
        a list or tuple (frozen quantile models) element by element. A model that declares
        no kind (no scikit-learn estimator type) is judged by its methods only.

        Call it on the first line after ``_fit_prologue`` in ``fit``, after the parameter
        checks: the classifiers' ``estimator`` constraint asks for ``fit`` and ``predict`` only,
        so this message, not scikit-learn's generic one, explains a missing ``predict_proba``.

        Raises
        ------
        ValueError
            When the model is of the wrong kind.
        """
        if isinstance(estimator, (list, tuple)):
            for element in estimator:
                self._check_estimator_kind(element, methods)
            return
        frozen = isinstance(estimator, FrozenEstimator)
        inner = estimator.estimator if frozen else estimator
        name = type(inner).__name__
        try:  # a repr can fail (array parameters compared to array defaults)
            text = repr(inner)
        except Exception:  # only the message depends on it
            text = ""
        shown = text if text and "\n" not in text and len(text) <= 40 else f"{name}(...)"
        if frozen:
            shown = f"FrozenEstimator({shown})"
        owner = type(self).__name__
        try:
            inner_is_classifier, inner_is_regressor = is_classifier(inner), is_regressor(inner)
        except AttributeError:  # no scikit-learn tags: judged by its methods only
            inner_is_classifier = inner_is_regressor = False
        if is_regressor(self) and inner_is_classifier:
            example = "QuantileRegressor()" if "Quantile" in owner else "LinearRegression()"
            raise ValueError(
                f"{owner} is a regressor but estimator={shown} is a classifier: its predict "
                "returns class labels, not numbers to build intervals around. For class labels "
                f"use SplitConformalClassifier({shown}) (or CrossConformalClassifier, "
                f"VennAbersClassifier); for a numeric target pass a regressor, e.g. "
                f"{owner}({example})."
            )
        if not is_classifier(self):
            return
        if inner_is_regressor:
            raise ValueError(
                f"{owner} is a classifier but estimator={shown} is a regressor. For a numeric "
                f"target use SplitConformalRegressor({shown}) (or CrossConformalRegressor); for "
                "class labels pass a classifier with predict_proba, e.g. "
                f"{owner}(LogisticRegression())."
            )
        if not any(hasattr(estimator, method) for method in methods):
            needed = " or ".join(repr(method) for method in methods)
            fits = "'fit', 'predict' and " if methods == ("predict_proba",) else "'fit' and "
            message = (
                f"The 'estimator' parameter of {owner} must be an object implementing {fits}"
                f"{needed}: {name} has no {' or '.join(methods)}, so it gives no class scores "
                "to calibrate. "
            )
            if hasattr(estimator, "decision_function"):
                wrapped = f"FrozenEstimator({name}(...))" if frozen else shown
                svc = " (for SVC: SVC(probability=True))" if name == "SVC" else ""
                message += (
                    f"Wrap it: {owner}(CalibratedClassifierCV({wrapped})) (from "
                    "sklearn.calibration import CalibratedClassifierCV) turns its decision "
                    f"function into probabilities; or use a model with predict_proba{svc}."
                )
            else:
                message += (
                    "Use a classifier with predict_proba, e.g. "
                    f"{owner}(LogisticRegression()) or {owner}(HistGradientBoostingClassifier())."
                )
            raise ValueError(message)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc,unused-ignore]
        inner = self._resolve_estimator()
        if isinstance(inner, (list, tuple)):
            inner = inner[0]
        inner_tags = get_tags(inner)
        tags.input_tags.allow_nan = inner_tags.input_tags.allow_nan
        tags.input_tags.sparse = inner_tags.input_tags.sparse
        tags.input_tags.string = inner_tags.input_tags.string
        tags.input_tags.categorical = inner_tags.input_tags.categorical
        return tags

    # ------------------------------------------------------------------ inputs

    def _check_features(self, X: Any, *, reset: bool) -> Any:
        """Record or check n_features_in_ / feature_names_in_; returns X for the wrapped model
        with its columns intact (see :func:`conformal._validation.as_rows`)."""
        X = as_rows(X)
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X

    def _levels(self, confidence_level: Any) -> tuple[list[Level], bool]:
        """The levels of a call (the constructor's when ``None``) and whether one was given."""
        level = self.confidence_level if confidence_level is None else confidence_level
        return check_levels(level, type(self).__name__)

    @staticmethod
    def _shape(values: NDArray[np.float64], scalar: bool) -> NDArray[np.float64]:
        """Drop the level axis (axis 1) when a single level was given as a number: shapes
        follow the type of ``confidence_level``, never its value."""
        return values[:, 0] if scalar else values

    def _fit_prologue(
        self,
        X: Any,
        y: Any,
        check_y: Callable[[Any], NDArray],
        sample_weight: ArrayLike | None = None,
    ) -> tuple[Any, NDArray, NDArray | None]:
        """Validate parameters and inputs at the start of ``fit``.

        Returns
        -------
        X : the rows for the wrapped model (columns intact)
        y : ndarray of shape (n,), checked by ``check_y``
        sample_weight : ndarray of shape (n,) or None
        """
        self._validate_params()  # type: ignore[attr-defined]
        X = self._check_features(X, reset=True)
        target = check_y(y)
        check_same_rows(X, target.shape[0])
        self._levels(None)
        weights = check_sample_weight(sample_weight, target.shape[0])
        return X, target, weights

    def _predict_prologue(
        self, X: Any, confidence_level: Any = None
    ) -> tuple[Any, list[Level], bool]:
        """``check_is_fitted``, feature checks and the levels of a ``predict*`` call."""
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        levels, scalar = self._levels(confidence_level)
        return X, levels, scalar

    # ------------------------------------------------------------------ test context

    def _test_context(self, X: Any) -> TestContext:
        """Test weights (``weights`` scheme or callable) and Mondrian labels (``mondrian``
        callable) of the rows of ``X``, for the calibrator."""
        weights = None
        scheme = getattr(self, "weights_scheme_", None)
        if scheme is not None:
            weights = scheme.test_weights(X)
        groups = None
        mondrian = getattr(self, "_mondrian", None)
        if mondrian is not None and getattr(self, "calibration_groups_", None) is not None:
            groups = check_labels(np.asarray(mondrian(X)), n_rows(X), "mondrian(X)")
        return TestContext(weights=weights, groups=groups)

    def _resolve_mondrian(self) -> Callable[[Any], ArrayLike] | None:
        """The Mondrian callable, from the ``mondrian`` parameter or its old name ``groups``
        (kept one release: a FutureWarning; an error when both are given)."""
        mondrian = getattr(self, "mondrian", None)
        old = getattr(self, "groups", None)
        if old is None:
            return mondrian
        if mondrian is not None:
            raise ValueError(
                "mondrian and groups were both given; groups is the old name of mondrian: "
                "pass only mondrian=..."
            )
        warnings.warn(
            f"{type(self).__name__}(groups=...) is renamed mondrian=... (a Mondrian "
            "taxonomy; CV groups go to fit); the old name stops working in the next release.",
            FutureWarning,
            stacklevel=3,
        )
        return old
