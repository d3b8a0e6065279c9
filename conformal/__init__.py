"""conformal: distribution-free prediction intervals and sets for scikit-learn models.

>>> from conformal import SplitConformalRegressor, ConformalizedQuantileRegressor
"""

from .calibration import conformal_quantile, conformal_rank, min_calibration_size
from .exceptions import ConformalWarning
from .regression import ConformalizedQuantileRegressor, SplitConformalRegressor

__all__ = [
    "ConformalWarning",
    "ConformalizedQuantileRegressor",
    "SplitConformalRegressor",
    "conformal_quantile",
    "conformal_rank",
    "min_calibration_size",
]

__version__ = "0.1.0"
