"""Conformity scores: small objects with ``score(y, y_pred)`` and its inverse.

In Vovk's terms these are *nonconformity* scores: larger means less conforming (a larger residual,
a less probable class), and a prediction set holds every candidate whose score is at most a
calibrated threshold. Estimators take them as ``conformity_score``, the name MAPIE uses.

Regression scores turn a prediction into an interval (rounded outward in floating point: every
``y`` whose score is at most the threshold lies inside); classification scores
(``score(proba, y_index, u)``, inverse ``predict_set``) turn class probabilities into a set.
``RelativeScore`` is another name of ``GammaScore``, the relative residual
``|y - f(x)| / |f(x)|``.
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
    RelativeScore,
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
    "RelativeScore",
    "SignedScore",
    "TopKScore",
    "get_classification_score",
    "get_regression_score",
]
