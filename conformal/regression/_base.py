"""The base of every conformal regressor (split, cross, jackknife+-after-bootstrap, CQR):
parameters shared by all, thresholds through the calibration layer, point predictions.

Everything that is not regression-specific (feature checks, tags, levels, shapes, prologues,
test contexts) comes from :class:`conformal.base.ConformalMixin`.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..base import ConformalMixin
from ..calibration import Calibrator, Level, TestContext
from ..scores import RegressionScore

__all__ = ["BaseConformalRegressor", "BaseSplitRegressor"]


class BaseConformalRegressor(ConformalMixin, RegressorMixin, BaseEstimator):
    """Input handling shared by the conformal regressors (not public)."""

    _parameter_constraints: dict[str, Any] = {
        "calibration_size": [
            Interval(Real, 0.0, 1.0, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state", np.random.Generator],
    }

    @staticmethod
    def _thresholds(
        score: RegressionScore,
        calibrator: Calibrator,
        levels: list[Level],
        test: TestContext | None = None,
    ) -> NDArray[np.float64]:
        """Thresholds for ``score.inverse``: ``(L,)`` or ``(m, L)``, plus ``[lo, hi]`` if
        the score is asymmetric (the calibrator then holds two columns, each calibrated at
        ``1 - a / 2``)."""
        return calibrator.threshold(levels, test=test)

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Point predictions of the wrapped model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions of the wrapped model.
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        return np.asarray(self._point_predictions(X), dtype=np.float64).ravel()

    def _point_predictions(self, X: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


# The old name: it bases the cross and bootstrap regressors too, not only the split ones.
BaseSplitRegressor = BaseConformalRegressor
