"""Quantile models and their aggregation (Fakoor, Kim, Mueller, Smola and Tibshirani, 2023).

One protocol, ``predict_quantiles(X, quantiles) -> (n_samples, n_quantiles)``, shared by the
quantile models here and used by the conformalized quantile regressors of
:mod:`conformal.regression`.
"""

from ._protocol import (
    MultiLevelQuantileRegressor,
    QuantileModel,
    QuantileModels,
    as_quantile_model,
    check_quantiles,
    is_quantile_model,
    merge_quantiles,
    quantile_parameter,
)

__all__ = [
    "MultiLevelQuantileRegressor",
    "QuantileModel",
    "QuantileModels",
    "as_quantile_model",
    "check_quantiles",
    "is_quantile_model",
    "merge_quantiles",
    "quantile_parameter",
]
