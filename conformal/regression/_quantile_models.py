"""Quantile models for the CQR estimators: which parameter sets the level, which levels to fit."""

from __future__ import annotations

from typing import Any

from ..aggregation._protocol import (
    LEVEL_TOLERANCE,
    QuantileModels,
    check_quantiles,
    merge_quantiles,
    quantile_parameter,
)
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

    def predict_quantiles(
        self, X: Any, quantiles: Any = None, *, rearrangement: str | None = "sort"
    ) -> Any:
        """Conformalized quantiles: the calibrated interval ends as a quantile vector.

        Level ``a/2`` is the calibrated lower end at confidence ``1 - a``, level ``1 - a/2`` the
        upper end, and 0.5 the median model's (uncalibrated) prediction. Intervals at several
        confidence levels are calibrated pair by pair and may cross across levels (an inner
        pair's end beyond an outer one's); ``rearrangement`` then makes each row
        non-decreasing (Fakoor et al. 2023, "sort again"), which never increases the summed
        pinball loss (WIS) for any ``y``. Sorting and isotonic projection can only widen the
        outermost pair, so its coverage guarantee still holds; an inner pair's guarantee is
        that of its calibrated interval, before rearrangement (rearranging may move one of
        its ends inwards).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        quantiles : array-like of float, default=None
            Levels, strictly increasing in (0, 1): ``q < 0.5`` is the lower end at confidence
            ``1 - 2q``, ``q > 0.5`` the upper end at ``2q - 1``, ``0.5`` the median. ``None``:
            the ends of every fitted confidence level and 0.5. A level without its own
            quantile models is calibrated on those of the nearest fitted level (still valid).
        rearrangement : {"sort", "isotonic"} or None, default="sort"
            How crossing rows are made non-decreasing (see
            :func:`~conformal.aggregation.rearrange_quantiles`); ``None`` keeps them as
            calibrated.

        Returns
        -------
        quantiles : ndarray of shape (n_samples, n_quantiles)

        Raises
        ------
        ValueError
            For levels outside (0, 1), unsorted or duplicated, or an unknown
            ``rearrangement``.

        References
        ----------
        R. Fakoor, T. Kim, J. Mueller, A. J. Smola and R. J. Tibshirani, "Flexible Model
        Aggregation for Quantile Regression", JMLR 24, 2023.
        """
        import numpy as np
        from sklearn.utils.validation import check_is_fitted

        from .._validation import n_rows
        from ..aggregation._rearrangement import rearrange_quantiles

        check_is_fitted(self)
        if quantiles is None:
            fitted = [tail_quantiles(lv) for lv in self.fitted_confidence_levels_]
            wanted = merge_quantiles(*fitted, [0.5])
        else:
            wanted = check_quantiles(quantiles)
        is_median = np.abs(wanted - 0.5) <= LEVEL_TOLERANCE
        # Each tail level's confidence level, rounded to stop 1 - 2 * 0.05 = 0.8999999999999999
        # from being a level of its own.
        confidence = np.round(1 - 2 * np.minimum(wanted, 1 - wanted), 12)
        levels = sorted({float(c) for c in confidence[~is_median]})
        out = np.empty((n_rows(X), wanted.size))
        if levels:
            intervals = np.asarray(
                self.predict_interval(X, confidence_level=levels)  # type: ignore[attr-defined]
            ).reshape(out.shape[0], len(levels), 2)
            for j in np.flatnonzero(~is_median):
                side = 0 if wanted[j] < 0.5 else 1
                out[:, j] = intervals[:, levels.index(float(confidence[j])), side]
        if is_median.any():
            out[:, is_median] = np.asarray(self.predict(X), dtype=np.float64)[:, None]  # type: ignore[attr-defined]
        return rearrange_quantiles(out, rearrangement)
