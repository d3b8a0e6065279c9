"""Conformal regressors: prediction intervals around any scikit-learn regressor."""

from ._cqr import ConformalizedQuantileRegressor
from ._split import SplitConformalRegressor

__all__ = ["ConformalizedQuantileRegressor", "SplitConformalRegressor"]
