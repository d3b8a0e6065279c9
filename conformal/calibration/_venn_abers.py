"""The learner-free Venn-ABERS calibrator (Vovk and Petej 2014): calibration scores and 0/1
labels in, the pair ``(p0, p1)`` for any test score out.

Both isotonic fits are computed for every possible test position at once
(:func:`conformal._kernels.venn_abers.upper_isotonic_values`), so a test score costs one binary
search instead of a refit. The estimator is :class:`conformal.VennAbersClassifier`.

References
----------
Vovk, V. and Petej, I. (2014). Venn-Abers predictors. *Proceedings of UAI 2014*, 829-838.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .._kernels.venn_abers import upper_isotonic_values

__all__ = ["VennAbersCalibrator"]

Floats = NDArray[np.float64]


class VennAbersCalibrator:
    """``(p0, p1)`` of one binary problem: calibration scores and 0/1 labels -> any test score.

    The isotonic values for a test point at each distinct calibration score (and in each gap
    between two of them) are computed once; :meth:`predict` is a binary search per test score.

    Parameters
    ----------
    scores : ndarray of shape (n,)
        Calibration scores (higher means more likely label 1); no NaN.
    labels : ndarray of bool of shape (n,)
        Calibration labels, True for the positive class.
    """

    def __init__(self, scores: Floats, labels: NDArray[np.bool_]) -> None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape[0] == 0:
            raise ValueError("Venn-ABERS calibration needs at least one calibration point.")
        if np.isnan(scores).any():
            raise ValueError(
                f"the calibration scores contain NaN ({int(np.isnan(scores).sum())} of "
                f"{scores.shape[0]}); Venn-ABERS needs a score for every calibration point."
            )
        self.unique_scores, inverse = np.unique(scores, return_inverse=True)
        counts = np.bincount(inverse).astype(np.int64)
        positives = np.bincount(inverse, weights=labels.astype(np.float64)).astype(np.int64)
        # p1 at each distinct score; a test score in the gap just below it gets the same value.
        num, den = upper_isotonic_values(counts, positives)
        # p0 by symmetry: reverse the score order and swap the labels, then p0 = 1 - p1'.
        num_r, den_r = upper_isotonic_values(counts[::-1].copy(), (counts - positives)[::-1].copy())
        lower = ((den_r - num_r) / den_r)[::-1]
        # Padded for the lookups: p1 above every score is 1, p0 below every score is 0.
        self.upper = np.append(num / den, 1.0)
        self.lower = np.concatenate([[0.0], lower])

    def predict(self, scores: Floats) -> tuple[Floats, Floats]:
        """``(p0, p1)``, each of the shape of ``scores``.

        Parameters
        ----------
        scores : ndarray of any shape
            Test scores, on the scale of the calibration scores; no NaN.

        Returns
        -------
        p0 : ndarray of the shape of ``scores``
            Isotonic probability of label 1 if the test point had label 0.
        p1 : ndarray of the shape of ``scores``
            Isotonic probability of label 1 if the test point had label 1.
        """
        scores = np.asarray(scores, dtype=np.float64)
        if np.isnan(scores).any():
            raise ValueError(
                f"the test scores contain NaN ({int(np.isnan(scores).sum())} of {scores.size}); "
                "Venn-ABERS needs a score for every test point."
            )
        u = self.unique_scores
        j = np.searchsorted(u, scores, side="left")
        exact = u[np.minimum(j, u.shape[0] - 1)] == scores
        # A label-0 test point at a calibration score pools with it; in the gap below score j it
        # takes the value of score j - 1 (the label-1 point, that of score j).
        return self.lower[np.where(exact, j + 1, j)], self.upper[j]
