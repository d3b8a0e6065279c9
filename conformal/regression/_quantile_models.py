"""Quantile models for the CQR estimators: which parameter sets the level, which levels to fit."""

from __future__ import annotations

from typing import Any

from ..calibration import Level, exact_level


def tail_quantiles(level: Level) -> tuple[float, float]:
    """The quantile levels ``a/2`` and ``1 - a/2`` of the two models for one confidence level.

    Examples
    --------
    >>> from conformal.regression._quantile_models import tail_quantiles
    >>> tail_quantiles(0.9)
    (0.05, 0.95)
    """
    a = 1 - exact_level(level)
    return float(a / 2), float(1 - a / 2)


def quantile_parameter(estimator: Any, quantile_param: str | None) -> str:
    """The name of the parameter that sets ``estimator``'s quantile level.

    ``quantile_param`` (nested names such as ``"model__quantile"`` work for pipelines) wins when
    given; otherwise ``quantile`` or ``alpha`` (with ``loss="quantile"``) is detected.

    Examples
    --------
    >>> from sklearn.ensemble import GradientBoostingRegressor
    >>> from sklearn.linear_model import QuantileRegressor
    >>> from conformal.regression._quantile_models import quantile_parameter
    >>> quantile_parameter(QuantileRegressor(), None)
    'quantile'
    >>> quantile_parameter(GradientBoostingRegressor(loss="quantile"), None)
    'alpha'
    """
    name = type(estimator).__name__
    shallow = estimator.get_params(deep=False)
    if quantile_param is not None:
        deep = estimator.get_params(deep=True)
        if quantile_param not in deep:
            raise ValueError(
                f"quantile_param={quantile_param!r} is not a parameter of {name}; its "
                f"parameters are {sorted(deep)}."
            )
        return quantile_param
    if shallow.get("loss", "quantile") != "quantile":
        raise ValueError(
            f"{name}(loss={shallow['loss']!r}) does not fit quantiles; CQR needs "
            f"{name}(loss='quantile')."
        )
    if "quantile" in shallow:
        return "quantile"
    if "alpha" in shallow and shallow.get("loss") == "quantile":
        return "alpha"
    raise ValueError(
        f"Cannot tell which parameter of {name} sets the quantile level: it has neither "
        "'quantile' nor 'alpha' with loss='quantile'. Pass quantile_param='<name>', e.g. "
        "quantile_param='alpha' for LightGBM's LGBMRegressor(objective='quantile')."
    )
