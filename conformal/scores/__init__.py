"""Conformity scores: small objects with ``score(y, y_pred)`` and its inverse.

Regression scores turn a prediction into an interval; classification scores
(``score(proba, y_index, u)``, inverse ``predict_set``) turn class probabilities into a set.
"""

from ._classification import (
    APSScore,
    ClassificationScore,
    LACScore,
    RAPSScore,
    TopKScore,
    get_classification_score,
)
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
    "APSScore",
    "AbsoluteScore",
    "CQRAsymmetricScore",
    "CQRScore",
    "ClassificationScore",
    "GammaScore",
    "LACScore",
    "NormalizedScore",
    "RAPSScore",
    "RegressionScore",
    "SignedScore",
    "TopKScore",
    "get_classification_score",
    "get_regression_score",
]
