"""The learner-free layer: conformity scores in, thresholds out.

Nothing here knows about models. Every estimator of the package computes its calibration scores
and calls :func:`conformal_quantile`; a user with scores of their own can call it directly.

Conventions (``a = 1 - confidence_level``, ``n`` calibration scores):

- upper threshold: the ``ceil((1 - a)(n + 1))``-th smallest score, ``+inf`` when that rank
  exceeds ``n``;
- lower threshold: the ``floor(a (n + 1))``-th smallest score, ``-inf`` when that rank is 0;
- weighted threshold: the ``(1 - a)`` quantile of the calibration scores weighted by ``weights``
  plus the test point's own weight placed at ``+inf`` (Tibshirani et al. 2019; Barber et al.
  2023). With unit weights it equals the unweighted upper threshold.

Levels are read as the decimal the user typed (``0.9`` is exactly 9/10), so ranks carry no
floating-point error: ``n = 9`` at ``confidence_level=0.9`` gives rank 9, not 10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._kernels.quantile import (
    grouped_order_statistics,
    partitioned_order_statistics,
    weighted_quantiles,
)
from ..exceptions import warn_conformal

__all__ = [
    "conformal_quantile",
    "conformal_rank",
    "min_calibration_size",
]

Level = float | Fraction
Side = Literal["upper", "lower"]

# Relative slack when comparing running sums of float weights with a target mass; far below any
# meaningful weight difference, far above accumulated rounding error.
_WEIGHT_RTOL = 1e-12


def exact_level(confidence_level: Level) -> Fraction:
    """``confidence_level`` as an exact fraction (the shortest decimal that round-trips)."""
    if isinstance(confidence_level, Fraction):
        return confidence_level
    return Fraction(repr(float(confidence_level)))


def one_sided_level(confidence_level: Level) -> Fraction:
    """The level of each side when the miscoverage ``a`` is split evenly: ``1 - a / 2``."""
    return 1 - (1 - exact_level(confidence_level)) / 2


def conformal_rank(n: int, confidence_level: Level, *, side: Side = "upper") -> int:
    """Rank (1-based) of the order statistic that calibrates ``n`` scores at a level.

    Parameters
    ----------
    n : int
        Number of calibration scores.
    confidence_level : float
        Target coverage ``1 - a`` in (0, 1).
    side : {"upper", "lower"}, default="upper"
        ``"upper"`` gives ``ceil((1 - a)(n + 1))`` (``n + 1`` or more means ``+inf``);
        ``"lower"`` gives ``floor(a (n + 1))`` (0 means ``-inf``).

    Returns
    -------
    int

    Examples
    --------
    >>> from conformal.calibration import conformal_rank
    >>> conformal_rank(9, 0.9), conformal_rank(8, 0.9), conformal_rank(19, 0.9, side="lower")
    (9, 9, 2)
    """
    level = exact_level(confidence_level)
    if side == "upper":
        return math.ceil(level * (n + 1))
    if side == "lower":
        return math.floor((1 - level) * (n + 1))
    raise ValueError(f"side must be 'upper' or 'lower'. Got {side!r} instead.")


def min_calibration_size(confidence_level: Level) -> int:
    """Smallest calibration set whose threshold at ``confidence_level`` is finite.

    Examples
    --------
    >>> from conformal.calibration import min_calibration_size
    >>> min_calibration_size(0.9), min_calibration_size(0.95)
    (9, 19)
    """
    level = exact_level(confidence_level)
    return math.ceil(level / (1 - level))


def _warn_too_few(n: int, levels: Sequence[Level], where: str = "") -> None:
    """One warning for all levels that ``n`` calibration points cannot reach."""
    short = [lv for lv in levels if n < min_calibration_size(lv)]
    if not short:
        return
    worst = max(short, key=min_calibration_size)
    warn_conformal(
        f"calibration set{where} has {n} points; confidence_level={float(worst):g} needs at "
        f"least {min_calibration_size(worst)} (or returns infinite intervals)"
    )


def _plain(label: object) -> object:
    """A group label as the user wrote it (``0``, not ``np.int64(0)``)."""
    return label.item() if isinstance(label, np.generic) else label


def _as_levels(confidence_level: Level | Sequence[Level] | NDArray) -> tuple[list[Level], bool]:
    """Levels as a list, and whether the caller passed a single level."""
    if isinstance(confidence_level, (float, int, Fraction, np.floating)):
        levels: list[Level] = [confidence_level]
        scalar = True
    else:
        levels = list(np.asarray(confidence_level, dtype=object).ravel())
        scalar = False
    for lv in levels:
        value = float(lv)
        if not 0.0 < value < 1.0 or math.isnan(value):
            raise ValueError(
                "The 'confidence_level' parameter must be a float in the range (0.0, 1.0) or a "
                f"sequence of such floats. Got {lv!r} instead."
            )
    return levels, scalar


def _check_scores(scores: ArrayLike, name: str = "scores") -> NDArray[np.float64]:
    values = np.ascontiguousarray(scores, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of conformity scores. Got shape {values.shape} instead."
        )
    if np.isnan(values).any():
        raise ValueError(
            f"{name} contains NaN; conformity scores must be numbers (inf is allowed)."
        )
    return values


def _check_weights(weights: ArrayLike, n: int, name: str) -> NDArray[np.float64]:
    values = np.ascontiguousarray(weights, dtype=np.float64).ravel()
    if values.shape[0] != n:
        raise ValueError(f"{name} has {values.shape[0]} entries; expected {n}, one per point.")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"{name} must be finite and non-negative. Got min {values.min()!r}.")
    return values


def _unweighted(scores: NDArray, levels: list[Level], side: Side, where: str = "") -> NDArray:
    n = scores.shape[0]
    _warn_too_few(n, levels, where)
    ranks = np.array([conformal_rank(n, lv, side=side) for lv in levels], dtype=np.int64)
    return partitioned_order_statistics(scores, ranks)


def _weighted(
    scores: NDArray, weights: NDArray, test_weights: NDArray, levels: list[Level], side: Side
) -> NDArray:
    """(m, L) weighted thresholds; ``side="lower"`` mirrors the scores (test mass at -inf)."""
    sign = 1.0 if side == "upper" else -1.0
    order = np.argsort(sign * scores, kind="stable")
    sorted_values = np.ascontiguousarray(sign * scores[order])
    cumulative = np.cumsum(weights[order])
    level_values = np.array([float(lv) for lv in levels], dtype=np.float64)
    out = weighted_quantiles(sorted_values, cumulative, test_weights, level_values, _WEIGHT_RTOL)
    if np.isinf(out).any():
        warn_conformal(
            "the test point's own weight exceeds the calibration weight needed at "
            f"confidence_level={float(max(levels)):g} for {int(np.isinf(out).any(axis=1).sum())} "
            "test point(s); their thresholds are infinite (add calibration data or lower the level)"
        )
    return sign * out


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
        Target coverage(s) in (0, 1).
    side : {"upper", "lower"}, default="upper"
        Upper threshold (``ceil((1-a)(n+1))``-th smallest) or lower threshold
        (``floor(a(n+1))``-th smallest). Weighted lower thresholds put the test mass at ``-inf``.
    weights : array-like of shape (n,), default=None
        Non-negative calibration weights (non-exchangeable data: nexCP fixed weights, or
        likelihood ratios under covariate shift). ``None`` is the unweighted exchangeable case.
    test_weights : float or array-like of shape (m,), default=None
        The weight of the test point, placed at ``+inf``. A float (default 1.0 when ``weights`` is
        given) gives one threshold; an array gives one threshold per test point, computed by
        binary search in O(log n) each after a single sort.
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
    values = _check_scores(scores)
    levels, scalar = _as_levels(confidence_level)
    if side not in ("upper", "lower"):
        raise ValueError(f"The 'side' parameter must be 'upper' or 'lower'. Got {side!r} instead.")
    n = values.shape[0]
    if groups is not None or test_groups is not None:
        if groups is None or test_groups is None:
            raise ValueError(
                "groups and test_groups must be given together (Mondrian calibration)."
            )
        out = _grouped(values, levels, side, weights, test_weights, groups, test_groups)
        return out[:, 0] if scalar else out
    if weights is None:
        if test_weights is not None:
            raise ValueError(
                "test_weights was given without weights; pass the calibration weights too "
                "(np.ones(n) for an exchangeable calibration set)."
            )
        out = _unweighted(values, levels, side)
        return out[0] if scalar else out
    w = _check_weights(weights, n, "weights")
    per_point = test_weights is not None and np.ndim(test_weights) > 0
    tw = np.atleast_1d(np.asarray(1.0 if test_weights is None else test_weights, dtype=np.float64))
    tw = _check_weights(tw, tw.shape[0], "test_weights")
    out = _weighted(values, w, np.ascontiguousarray(tw), levels, side)
    if not per_point:
        out = out[0]
        return out[0] if scalar else out
    return out[:, 0] if scalar else out


def _grouped(
    values: NDArray,
    levels: list[Level],
    side: Side,
    weights: ArrayLike | None,
    test_weights: float | ArrayLike | None,
    groups: ArrayLike,
    test_groups: ArrayLike,
) -> NDArray:
    """(m, L) thresholds, each test point calibrated on its own group."""
    group_labels = np.asarray(groups).ravel()
    test_labels = np.asarray(test_groups).ravel()
    if group_labels.shape[0] != values.shape[0]:
        raise ValueError(
            f"groups has {group_labels.shape[0]} entries; expected {values.shape[0]}, "
            "one per score."
        )
    known, codes = np.unique(group_labels, return_inverse=True)
    inf = np.inf if side == "upper" else -np.inf
    if weights is None:
        if test_weights is not None:
            raise ValueError("test_weights was given without weights.")
        counts = np.bincount(codes, minlength=known.shape[0])
        ranks = np.array(
            [[conformal_rank(int(c), lv, side=side) for lv in levels] for c in counts],
            dtype=np.int64,
        )
        table = grouped_order_statistics(values, codes.astype(np.int64), known.shape[0], ranks)
        for label, c in zip(known, counts, strict=True):
            _warn_too_few(int(c), levels, where=f" of group {_plain(label)!r}")
    else:
        w = _check_weights(weights, values.shape[0], "weights")
        if test_weights is not None and np.ndim(test_weights) > 0:
            raise ValueError(
                "per-test-point weights with groups are not supported; weight within groups by "
                "passing calibration weights and a scalar test weight."
            )
        tw = np.array([1.0 if test_weights is None else float(test_weights)])  # type: ignore[arg-type]
        table = np.vstack(
            [
                _weighted(values[codes == g], w[codes == g], tw, levels, side)[0]
                for g in range(known.shape[0])
            ]
        )
    position = np.zeros(test_labels.shape[0], dtype=np.int64)
    seen = np.zeros(test_labels.shape[0], dtype=bool)
    if known.shape[0]:
        position = np.minimum(np.searchsorted(known, test_labels), known.shape[0] - 1)
        seen = known[position] == test_labels
    out = np.full((test_labels.shape[0], len(levels)), inf)
    out[seen] = table[position[seen]]
    if not seen.all():
        unseen = np.unique(test_labels[~seen])
        warn_conformal(
            f"test group(s) {[_plain(u) for u in unseen[:5]]!r} have no calibration points; "
            "their intervals are "
            "infinite (calibrate on data that covers every group)"
        )
    return out
