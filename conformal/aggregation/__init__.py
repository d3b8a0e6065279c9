"""Quantile models and their aggregation (Fakoor, Kim, Mueller, Smola and Tibshirani, 2023).

One protocol, ``predict_quantiles(X, quantiles) -> (n_samples, n_quantiles)``, shared by the
quantile models here and used by the conformalized quantile regressors of
:mod:`conformal.regression` (pass any of them as their ``estimator``):

- base quantile models: :class:`QuantileForestRegressor` (Meinshausen 2006),
  :class:`KNeighborsQuantileRegressor`, :class:`LinearQuantileRegressor` (statsmodels'
  ``QuantReg``, with standard errors), :class:`ConditionalGaussianRegressor` (a mean and a scale
  model), and :class:`MultiLevelQuantileRegressor` for any model with a quantile parameter;
- :class:`QuantileAggregator`: ensemble weights fitted on out-of-fold pinball loss (coarse,
  medium, fine; global or local) and the baselines (best, average, median, QRA);
- :func:`rearrange_quantiles`: non-crossing quantiles by sorting or isotonic projection.
"""

from ._aggregator import QuantileAggregator
from ._forest import QuantileForestRegressor
from ._gaussian import ConditionalGaussianRegressor
from ._linear import LinearQuantileRegressor
from ._neighbors import KNeighborsQuantileRegressor
from ._protocol import (
    MultiLevelQuantileRegressor,
    QuantileModels,
    as_quantile_model,
    check_quantiles,
    is_quantile_model,
    merge_quantiles,
    predict_quantiles_of,
    quantile_parameter,
)
from ._rearrangement import crossing_rate, rearrange_quantiles

__all__ = [
    "ConditionalGaussianRegressor",
    "KNeighborsQuantileRegressor",
    "LinearQuantileRegressor",
    "MultiLevelQuantileRegressor",
    "QuantileAggregator",
    "QuantileForestRegressor",
    "QuantileModels",
    "as_quantile_model",
    "check_quantiles",
    "crossing_rate",
    "is_quantile_model",
    "merge_quantiles",
    "predict_quantiles_of",
    "quantile_parameter",
    "rearrange_quantiles",
]
