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


class QuantileModels(dict[float, Any]):
    """Fitted quantile models keyed by their quantile level (a float).

    A float computed another way (``1 - 0.95`` is 0.050000000000000044) still finds the model:
    lookups match a fitted level within ``1e-9``, far below any two distinct levels one would
    fit. Iterating gives the levels as plain floats.

    Examples
    --------
    >>> from conformal.regression._quantile_models import QuantileModels
    >>> models = QuantileModels({0.05: "lower", 0.95: "upper"})
    >>> models[1 - 0.95], 0.05 in models, sorted(models)
    ('lower', True, [0.05, 0.95])
    """

    _TOLERANCE = 1e-9

    def _key(self, level: Any) -> Any:
        try:
            value = float(level)
        except (TypeError, ValueError):
            return level
        for key in dict.keys(self):
            if abs(key - value) <= self._TOLERANCE:
                return key
        return level

    def __getitem__(self, level: Any) -> Any:
        key = self._key(level)
        if not dict.__contains__(self, key):
            raise KeyError(
                f"no quantile model at level {level!r}; the fitted quantile levels are "
                f"{sorted(dict.keys(self))}."
            )
        return dict.__getitem__(self, key)

    def __contains__(self, level: object) -> bool:
        return dict.__contains__(self, self._key(level))

    def get(self, level: Any, default: Any = None) -> Any:
        return self[level] if level in self else default


def rearranged(lower: Any, upper: Any) -> tuple[Any, Any]:
    """``(min, max)`` of two quantile predictions, elementwise: crossing quantile models give an
    ordered band (Chernozhukov, Fernandez-Val and Galichon 2010). Applied to calibration and
    test predictions alike, it keeps CQR's guarantee: the score is still a fixed function of
    ``(x, y)`` given the training part."""
    import numpy as np

    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(upper, dtype=np.float64)
    return np.minimum(lo, hi), np.maximum(lo, hi)


def warn_empty(intervals: Any, owner: str) -> None:
    """One warning when some intervals came out empty (lower > upper: a negative correction
    larger than half the band); they are the empty set and cover nothing."""

    from ..exceptions import warn_conformal

    empty = intervals[..., 0] > intervals[..., 1]
    if empty.any():
        warn_conformal(
            f"{owner}: {int(empty.sum())} of {empty.size} intervals are empty (lower > upper): "
            "the calibrated correction is negative and larger than half the quantile band there. "
            "An empty interval is the empty set, it covers nothing (the coverage guarantee "
            "counts it so); the metrics score it as not covering with width 0."
        )


class FittedLevelsMixin:
    """What the two CQR estimators share about their fitted levels: the attribute, its old
    name, and the grouping of asked levels by the nearest fitted pair of quantile models."""

    fitted_confidence_levels_: list[float]

    @property
    def fit_levels_(self) -> list[float]:
        """The old name of ``fitted_confidence_levels_`` (FutureWarning)."""
        import warnings

        warnings.warn(
            "fit_levels_ is renamed fitted_confidence_levels_; the old name stops working in "
            "the next release.",
            FutureWarning,
            stacklevel=2,
        )
        return self.fitted_confidence_levels_

    def _by_fitted_pair(self, levels: list[Level]) -> list[tuple[int, list[int]]]:
        """``[(fitted index, [positions of the asked levels it serves]), ...]``: a level without
        its own models is calibrated on those of the nearest fitted level (still valid)."""
        fitted = [float(lv) for lv in self.fitted_confidence_levels_]
        nearest = [
            min(range(len(fitted)), key=lambda i: abs(fitted[i] - float(lv))) for lv in levels
        ]
        return [
            (index, [j for j, i in enumerate(nearest) if i == index])
            for index in sorted(set(nearest))
        ]
