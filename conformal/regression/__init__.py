"""Conformal regressors: prediction intervals around any scikit-learn regressor."""

from ._bootstrap import JackknifeAfterBootstrapRegressor
from ._cqr import ConformalizedQuantileRegressor
from ._cross import CrossConformalRegressor
from ._cross_cqr import CrossConformalizedQuantileRegressor
from ._predictive import ConformalPredictiveDistribution
from ._split import SplitConformalRegressor

__all__ = [
    "ConformalPredictiveDistribution",
    "ConformalizedQuantileRegressor",
    "CrossConformalRegressor",
    "CrossConformalizedQuantileRegressor",
    "JackknifeAfterBootstrapRegressor",
    "SplitConformalRegressor",
]
