"""Conformal p-values from counts (or masses): the package's one p-value formula.

With ``n`` calibration scores (total mass ``W`` when weighted) and a test score ``t``::

    plain:     p = (#{s_i >= t} + w) / (n + w)
    smoothed:  p = (#{s_i > t} + u (#{s_i = t} + w)) / (n + w),    u ~ U(0, 1)

with ``w = 1`` (the test point's own mass) in the exchangeable case, counts replaced by the
weights' sums when weighted (Tibshirani et al. 2019). The plain p-value is conservative,
``P(p <= t) <= t``; the smoothed one (Vovk, Gammerman and Shafer 2005, "smoothed conformal
predictor") is exactly uniform. ``u`` is the tie-breaking uniform everywhere in the package.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]

__all__ = ["counts_above", "pvalues_from_counts"]


def counts_above(
    sorted_scores: Floats, queries: NDArray, *, strict: bool = True
) -> tuple[NDArray, NDArray | None]:
    """``(#{s >= q}, #{s > q})`` over sorted scores ``s``, for every query ``q`` (any shape), by
    binary search; the second is ``None`` unless ``strict`` (one search instead of two)."""
    n = sorted_scores.shape[0]
    at_least = n - np.searchsorted(sorted_scores, queries, side="left")
    above = n - np.searchsorted(sorted_scores, queries, side="right") if strict else None
    return at_least, above


def pvalues_from_counts(
    at_least: NDArray,
    above: NDArray | None,
    n: NDArray | int | float,
    u: NDArray | None,
    test_mass: NDArray | float = 1.0,
) -> Floats:
    """``(#{>=} + w) / (n + w)``, or smoothed ``(#{>} + u (#{=} + w)) / (n + w)``.

    Parameters
    ----------
    at_least, above : ndarray
        Counts (or weight sums) of calibration scores ``>=`` and ``>`` the test score;
        ``above`` may be ``None`` when ``u`` is.
    n : int, float or ndarray
        The number (or total weight) of calibration scores.
    u : ndarray or None
        The tie-breaking uniform(s) of the smoothed p-value; ``None`` for the plain one.
    test_mass : float or ndarray, default=1.0
        The test point's own mass ``w``.

    Returns
    -------
    ndarray
        Broadcast shape of the inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.calibration._pvalues import pvalues_from_counts
    >>> float(pvalues_from_counts(np.array(3), None, 9, None))
    0.4
    """
    if u is None:
        return (at_least + test_mass) / (n + test_mass)
    if above is None:
        raise ValueError("smoothed p-values need the strict counts (above).")
    return (above + u * (at_least - above + test_mass)) / (n + test_mass)
