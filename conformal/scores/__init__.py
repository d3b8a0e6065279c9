"""Conformity scores: small objects with ``score(y, y_pred)`` and its inverse."""

from ._regression import (
    AbsoluteScore,
    CQRAsymmetricScore,
    CQRScore,
    GammaScore,
    NormalizedScore,
    RegressionScore,
    SignedScore,
    get_regression_score,
)

__all__ = [
    "AbsoluteScore",
    "CQRAsymmetricScore",
    "CQRScore",
    "GammaScore",
    "NormalizedScore",
    "RegressionScore",
    "SignedScore",
    "get_regression_score",
]
