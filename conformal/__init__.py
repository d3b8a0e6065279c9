"""conformal: distribution-free prediction intervals and sets for scikit-learn models.

>>> from conformal import SplitConformalRegressor, ConformalizedQuantileRegressor
"""

from .calibration import conformal_quantile, conformal_rank, min_calibration_size
from .classification import (
    CrossConformalClassifier,
    SplitConformalClassifier,
    VennAbersClassifier,
)
from .exceptions import ConformalWarning
from .online import (
    AdaptiveConformalRegressor,
    AggregatedAdaptiveConformalRegressor,
    EnbPIRegressor,
)
from .regression import (
    ConformalizedQuantileRegressor,
    ConformalPredictiveDistribution,
    CrossConformalizedQuantileRegressor,
    CrossConformalRegressor,
    JackknifeAfterBootstrapRegressor,
    SplitConformalRegressor,
)

__all__ = [
    "AdaptiveConformalRegressor",
    "AggregatedAdaptiveConformalRegressor",
    "ConformalPredictiveDistribution",
    "ConformalWarning",
    "ConformalizedQuantileRegressor",
    "CrossConformalClassifier",
    "CrossConformalRegressor",
    "CrossConformalizedQuantileRegressor",
    "EnbPIRegressor",
    "JackknifeAfterBootstrapRegressor",
    "SplitConformalClassifier",
    "SplitConformalRegressor",
    "VennAbersClassifier",
    "conformal_quantile",
    "conformal_rank",
    "min_calibration_size",
]

__version__ = "0.1.0"
