"""What the split-calibrated regressors share: input handling, the split, thresholds, shapes."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import get_tags
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import as_rows, check_levels
from ..calibration import Level, conformal_quantile, one_sided_level
from ..scores import RegressionScore


class BaseSplitRegressor(RegressorMixin, BaseEstimator):
    """Input handling shared by the split conformal regressors (not public)."""

    _parameter_constraints: dict[str, list[Any]] = {
        "calibration_size": [
            Interval(Real, 0.0, 1.0, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state", np.random.Generator],
    }

    def _default_estimator(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator if self.estimator is not None else self._default_estimator()
        if isinstance(inner, (list, tuple)):
            inner = inner[0]
        inner_tags = get_tags(inner)
        tags.input_tags.allow_nan = inner_tags.input_tags.allow_nan
        tags.input_tags.sparse = inner_tags.input_tags.sparse
        tags.input_tags.string = inner_tags.input_tags.string
        tags.input_tags.categorical = inner_tags.input_tags.categorical
        return tags

    def _check_features(self, X: Any, *, reset: bool) -> Any:
        """Record or check n_features_in_ / feature_names_in_; returns X for the wrapped model
        with its columns intact (see :func:`conformal._validation.as_rows`)."""
        X = as_rows(X)
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X

    def _levels(self, confidence_level: Any) -> tuple[list[Level], bool]:
        level = self.confidence_level if confidence_level is None else confidence_level
        return check_levels(level, type(self).__name__)

    @staticmethod
    def _thresholds(
        score: RegressionScore,
        scores: NDArray[np.float64],
        levels: list[Level],
        **calibration: Any,
    ) -> NDArray[np.float64]:
        """Thresholds for ``score.inverse``: ``(L,)`` or ``(m, L)``, plus ``[lo, hi]`` if
        the score is asymmetric."""
        if not score.asymmetric:
            return conformal_quantile(scores, levels, **calibration)
        side_levels = [one_sided_level(lv) for lv in levels]
        return np.stack(
            [conformal_quantile(scores[:, j], side_levels, **calibration) for j in (0, 1)],
            axis=-1,
        )

    @staticmethod
    def _shape(intervals: NDArray[np.float64], scalar: bool) -> NDArray[np.float64]:
        """``(n, 2)`` for one level given as a number, ``(n, L, 2)`` for a sequence of levels."""
        return intervals[:, 0, :] if scalar else intervals

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Point predictions of the wrapped model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        return np.asarray(self._point_predictions(X), dtype=np.float64).ravel()

    def _point_predictions(self, X: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError
