"""Benchmark methods of the risk family (registered on import by conformal.benchmark).

Task ``"risk"`` runs on the regression datasets. Each method is a
:class:`~conformal.risk.RiskControlRegressor` around histogram gradient boosting (absolute
residuals) with target risk ``alpha = 1 - confidence_level``; rows report the realised
``risk`` (the test mean of the method's own loss), the coverage and the widths:

- ``risk-crc-miscoverage``: the miscoverage loss; the same intervals as split conformal
  prediction at the level (the exactness the tests check), so ``risk`` is ``1 - coverage``;
- ``risk-crc-distance``: the relative distance of ``y`` outside the interval,
  ``max(0, 1 - half_width / |y - f(x)|)``, a milder loss, hence narrower intervals;
- ``risk-nexcrc-distance``: the same loss with ``ExponentialDecayWeights(0.99)`` and the ordered
  split (``shuffle=False``): non-exchangeable CRC (Farinhas et al. 2024) for rows in time order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from ..metrics import coverage, mean_width
from ..risk import RiskControlRegressor
from ..weights import ExponentialDecayWeights
from ._registry import register_method


def _alpha(confidence_level: float) -> float:
    return float(round(1.0 - confidence_level, 12))


def predict_risk_intervals(estimator: Any, X: Any, confidence_level: float) -> np.ndarray:
    """``(n, 2)`` intervals; the target risk was fixed at construction (``needs_level``)."""
    return np.asarray(estimator.predict_interval(X))


def relative_distance(y: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """``max(0, 1 - half_width / |y - centre|)`` of symmetric intervals (0 when y is the
    centre): the loss ``"relative_distance"`` of the absolute score."""
    centre = (intervals[:, 0] + intervals[:, 1]) / 2
    half = (intervals[:, 1] - intervals[:, 0]) / 2
    gap = np.abs(y - centre)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = np.where(gap > 0, np.maximum(0.0, 1.0 - half / gap), 0.0)
    return np.where(np.isfinite(half), loss, 0.0)


def score_risk(
    estimator: Any, y: np.ndarray, intervals: np.ndarray, confidence_level: float
) -> dict[str, float]:
    """``risk`` (the test mean of the estimator's loss), coverage and widths."""
    if estimator.loss == "miscoverage":
        risk = 1.0 - float(coverage(y, intervals))
    else:
        risk = float(relative_distance(y, intervals).mean())
    width = float(mean_width(intervals))
    spread = float(np.std(y))
    return {
        "risk": risk,
        "coverage": float(coverage(y, intervals)),
        "mean_width": width,
        "normalized_width": width / spread if spread > 0 else math.nan,
    }


def _factory(loss: str, weighted: bool) -> Any:
    def build(random_state: int, confidence_level: float) -> RiskControlRegressor:
        return RiskControlRegressor(
            HistGradientBoostingRegressor(random_state=random_state),
            alpha=_alpha(confidence_level),
            loss=loss,
            shuffle=not weighted,
            weights=ExponentialDecayWeights(0.99) if weighted else None,
            random_state=random_state,
        )

    return build


for _name, _loss, _weighted, _text in (
    ("risk-crc-miscoverage", "miscoverage", False, "CRC, miscoverage loss (= split CP)"),
    ("risk-crc-distance", "relative_distance", False, "CRC, relative distance outside"),
    (
        "risk-nexcrc-distance",
        "relative_distance",
        True,
        "non-X CRC (decay 0.99, ordered split), relative distance outside",
    ),
):
    register_method(
        _name,
        _factory(_loss, _weighted),
        description=f"{_text}; HistGradientBoosting, alpha = 1 - level",
        task="risk",
        needs_level=True,
    )

__all__ = ["predict_risk_intervals", "relative_distance", "score_risk"]
