"""The functional face of the calibration layer: :func:`conformal_quantile`.

Nothing here knows about models. Every estimator of the package composes a
:class:`~conformal.calibration.Calibrator`; a user with scores of their own can call
:func:`conformal_quantile`, which builds one for a single query (see the calibrator's module for
the conventions: ranks, weights, Mondrian cells).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._calibrator import Calibrator, Side, TestContext
from ._levels import Level, parse_levels

__all__ = ["conformal_quantile"]


def conformal_quantile(
    scores: ArrayLike,
    confidence_level: Level | Sequence[Level] = 0.9,
    *,
    side: Side = "upper",
    weights: ArrayLike | None = None,
    test_weights: float | ArrayLike | None = None,
    groups: ArrayLike | None = None,
    test_groups: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Conformal threshold(s) of calibration scores.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Calibration conformity scores (larger means less conforming). ``inf`` is allowed.
    confidence_level : float or sequence of float, default=0.9
        Target coverage(s) in (0, 1): a number, or a non-empty sequence of numbers.
    side : {"upper", "lower"}, default="upper"
        Upper threshold (``ceil((1-a)(n+1))``-th smallest) or lower threshold
        (``floor(a(n+1))``-th smallest). Weighted lower thresholds put the test mass at ``-inf``.
    weights : array-like of shape (n,), default=None
        Non-negative calibration weights (non-exchangeable data: nexCP fixed weights, or
        likelihood ratios under covariate shift). ``None`` is the unweighted exchangeable case.
        Without ``test_weights`` they are fixed weights on the scale of Barber et al. (2023):
        the test point weighs 1, and weights whose maximum exceeds 1 are divided by it (so the
        heaviest calibration point weighs as much as the test point, which the guarantee
        needs). With ``test_weights`` only the ratios of all the weights matter (they are
        rescaled exactly, by a power of two, so sums never overflow).
    test_weights : float or array-like of shape (m,), default=None
        The weight of the test point, placed at ``+inf``. A float (default 1.0 when ``weights`` is
        given) gives one threshold; an array gives one threshold per test point, computed by
        binary search in O(log n) each after a single sort. Zero total mass (calibration
        weights summing to 0 and a zero test weight) is a ``ValueError``. Per-test-point
        weights combine with ``groups``.
    groups, test_groups : array-like of shape (n,) and (m,), default=None
        Group labels (Mondrian calibration): each test point gets the threshold of the
        calibration scores in its group. A group with too few points, or a test group absent from
        the calibration data, gives an infinite threshold and a :class:`ConformalWarning`.

    Returns
    -------
    thresholds : ndarray
        Shape ``()`` for one level, ``(L,)`` for ``L`` levels; with per-test-point weights or
        groups, ``(m,)`` or ``(m, L)``.

    Warns
    -----
    ConformalWarning
        When the calibration set is too small for a level: the threshold is infinite, never
        clamped to the largest score.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal import conformal_quantile
    >>> scores = np.arange(1.0, 10.0)            # 9 calibration scores
    >>> float(conformal_quantile(scores, 0.9))   # the 9th smallest
    9.0
    >>> conformal_quantile(scores, [0.5, 0.8])
    array([5., 8.])
    >>> conformal_quantile(scores, 0.9, weights=np.ones(9), test_weights=[1.0, 3.0])
    array([ 9., inf])
    """
    levels, scalar = parse_levels(confidence_level)
    if groups is not None or test_groups is not None:
        if groups is None or test_groups is None:
            raise ValueError(
                "groups and test_groups must be given together (Mondrian calibration)."
            )
    if weights is None and test_weights is not None:
        raise ValueError(
            "test_weights was given without weights; pass the calibration weights too "
            "(np.ones(n) for an exchangeable calibration set)."
        )
    per_point = test_weights is not None and np.ndim(test_weights) > 0
    tw = None if test_weights is None else np.atleast_1d(np.asarray(test_weights, dtype=np.float64))
    calibrator = Calibrator(scores, weights=weights, groups=groups)
    if calibrator.scores.ndim != 1:
        raise ValueError(
            "scores must be a 1-D array of conformity scores. Got shape "
            f"{calibrator.scores.shape} instead."
        )
    test = TestContext(
        weights=tw, groups=None if test_groups is None else np.asarray(test_groups).ravel()
    )
    out = calibrator.threshold(levels, side=side, test=test, warn_all_cells=True)
    if groups is None and not per_point and out.ndim == 2:
        out = out[0]
    return out[..., 0] if scalar else out
