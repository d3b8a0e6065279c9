"""Quantile models for the CQR estimators: which parameter sets the level, which levels to fit."""

from __future__ import annotations

from typing import Any

from ..aggregation._protocol import QuantileModels, quantile_parameter
from ..calibration import Level, exact_level

__all__ = [
    "FittedLevelsMixin",
    "QuantileModels",
    "quantile_parameter",
    "rearranged",
    "tail_quantiles",
    "warn_empty",
]


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
