"""conformal: distribution-free prediction intervals and sets for scikit-learn models.

>>> from conformal import SplitConformalRegressor, ConformalizedQuantileRegressor
"""

from .aggregation import (
    KNeighborsQuantileRegressor,
    QuantileAggregator,
    QuantileForestRegressor,
)
from .batch import (
    BatchSelector,
    batch_mean_bound,
    batch_quantile_bound,
    batch_quantile_rank,
    batch_rank_law,
    batch_simultaneous_rank,
)
from .calibration import conformal_quantile, conformal_rank, min_calibration_size
from .classification import (
    CrossConformalClassifier,
    SplitConformalClassifier,
    VennAbersClassifier,
)
from .exceptions import ConformalWarning
from .missing import MissingDataConformalRegressor, oracle_interval_length
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
from .risk import (
    RiskControlBinaryClassifier,
    RiskControlMultilabelClassifier,
    RiskControlRegressor,
    StreamingRiskControl,
    conformal_risk_control,
    learn_then_test,
    rcps,
)

__all__ = [
    "AdaptiveConformalRegressor",
    "AggregatedAdaptiveConformalRegressor",
    "BatchSelector",
    "ConformalPredictiveDistribution",
    "ConformalWarning",
    "ConformalizedQuantileRegressor",
    "CrossConformalClassifier",
    "CrossConformalRegressor",
    "CrossConformalizedQuantileRegressor",
    "EnbPIRegressor",
    "JackknifeAfterBootstrapRegressor",
    "KNeighborsQuantileRegressor",
    "MissingDataConformalRegressor",
    "QuantileAggregator",
    "QuantileForestRegressor",
    "RiskControlBinaryClassifier",
    "RiskControlMultilabelClassifier",
    "RiskControlRegressor",
    "SplitConformalClassifier",
    "SplitConformalRegressor",
    "StreamingRiskControl",
    "VennAbersClassifier",
    "batch_mean_bound",
    "batch_quantile_bound",
    "batch_quantile_rank",
    "batch_rank_law",
    "batch_simultaneous_rank",
    "conformal_quantile",
    "conformal_rank",
    "conformal_risk_control",
    "learn_then_test",
    "min_calibration_size",
    "oracle_interval_length",
    "rcps",
]

__version__ = "0.1.0"
