"""Conformal classifiers: prediction sets and p-values around any scikit-learn classifier."""

from ._cross import CrossConformalClassifier
from ._split import SplitConformalClassifier
from ._venn_abers import VennAbersClassifier

__all__ = [
    "CrossConformalClassifier",
    "SplitConformalClassifier",
    "VennAbersClassifier",
]
