"""Metrics for prediction intervals: coverage, width, interval and quantile scores, reports;
the CRPS of step predictive distributions (:func:`crps`); and metrics for prediction sets of
classifiers: :func:`set_coverage`, :func:`mean_set_size`, :func:`empty_set_fraction`,
:func:`singleton_fraction`, :func:`coverage_by_class`, :func:`coverage_by_set_size` and the
report :func:`evaluate_sets` (sets are boolean ``(n, n_classes)`` or ``(n, n_levels,
n_classes)`` arrays as ``predict_set`` returns them, columns in ``classes`` order); and the
expected calibration error of predicted probabilities (:func:`expected_calibration_error`).

Every function takes targets ``y`` of shape ``(n,)`` and intervals shaped as
``predict_interval`` returns them: ``(n, 2)`` rows of ``[lower, upper]``, or ``(n, L, 2)`` with one
interval per confidence level. The estimators' shape rule carries over: ``(n, 2)`` intervals give
a float, ``(n, L, 2)`` intervals an array of shape ``(L,)``, one value per level.

Conventions:

- an interval covers ``y`` when ``lower <= y <= upper`` (both ends included);
- infinite bounds are kept, never dropped: an unbounded interval covers every ``y`` and has
  infinite width and infinite interval score, so a mean over intervals with one infinite interval
  is infinite (see :attr:`IntervalReport.infinite_fraction` for how many there are);
  ``[inf, inf]`` and every other interval with ``lower == upper`` has width 0;
- ``y`` must be finite; NaN bounds and ``lower > upper`` are errors;
- inputs are never modified; lists, NumPy arrays and pandas Series / DataFrames are accepted.

pandas is needed only by :meth:`IntervalReport.to_frame` and :meth:`SetReport.to_frame` and is
imported there.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.utils.validation import column_or_1d

from .calibration import _plain, exact_level

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "GroupCoverage",
    "IntervalReport",
    "IntervalRow",
    "SetCoverage",
    "SetReport",
    "SetRow",
    "coverage",
    "coverage_by_class",
    "coverage_by_group",
    "coverage_by_set_size",
    "crps",
    "empty_set_fraction",
    "evaluate_intervals",
    "evaluate_sets",
    "expected_calibration_error",
    "interval_score",
    "mean_set_size",
    "mean_width",
    "pinball_loss",
    "set_coverage",
    "singleton_fraction",
    "weighted_interval_score",
]

Floats = NDArray[np.float64]


# ---------------------------------------------------------------------------------- validation


def _show(value: Any) -> str:
    """A value as the user wrote it (``1.5``, not ``np.float64(1.5)``)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        value = type(value)(_plain(v) for v in value)
    return repr(_plain(value))


def _as_floats(values: Any, name: str) -> Floats:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        pass
    try:
        dtype = np.asarray(values).dtype
    except ValueError:  # a ragged nested sequence
        raise ValueError(
            f"{name} must be a numeric array; its rows have different lengths."
        ) from None
    raise ValueError(f"{name} must be numeric. Got dtype {dtype} instead.")


def _as_vector(values: Any, name: str, *, finite: bool) -> Floats:
    """A 1-D float array (an ``(n, 1)`` column is accepted); rejects NaN, and inf if ``finite``."""
    vector = _as_floats(values, name)
    if vector.ndim == 2 and vector.shape[1] == 1:
        vector = vector[:, 0]
    if vector.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D, one value per sample. Got shape {vector.shape} instead."
        )
    bad = ~np.isfinite(vector) if finite else np.isnan(vector)
    if bad.any():
        what = "NaN or infinity" if finite else "NaN"
        raise ValueError(
            f"{name} contains {what} at {int(bad.sum())} position(s) (first: index "
            f"{int(np.flatnonzero(bad)[0])}); metrics need a {'finite ' if finite else ''}"
            f"{name} for every sample: drop or impute those rows."
        )
    return vector


def _where(index: Sequence[int], ndim: int) -> str:
    return f"row {index[0]}" if ndim == 2 else f"row {index[0]}, level {index[1]}"


def _as_intervals(intervals: Any) -> Floats:
    """Intervals as a float array of shape (n, 2) or (n, L, 2), with valid [lower, upper] rows."""
    values = _as_floats(intervals, "intervals")
    if values.ndim not in (2, 3) or values.shape[-1] != 2:
        raise ValueError(
            "intervals must have shape (n, 2) or (n, n_levels, 2), with [lower, upper] on the "
            f"last axis. Got shape {values.shape} instead (for separate arrays of lower and upper "
            "bounds, pass np.column_stack([lower, upper]))."
        )
    if values.shape[0] == 0:
        raise ValueError("intervals is empty; metrics need at least one sample.")
    nan = np.isnan(values).any(axis=-1)
    if nan.any():
        raise ValueError(
            f"intervals contains NaN in {int(nan.sum())} interval(s) (first: "
            f"{_where(np.argwhere(nan)[0].tolist(), values.ndim)}); bounds must be numbers "
            "(use -inf or inf for an unbounded side)."
        )
    crossed = values[..., 0] > values[..., 1]
    if crossed.any():
        first = np.argwhere(crossed)[0].tolist()
        lower, upper = (float(v) for v in values[tuple(first)])
        raise ValueError(
            f"intervals has lower > upper in {int(crossed.sum())} interval(s) (first: "
            f"{_where(first, values.ndim)}, lower={lower!r}, upper={upper!r}); each interval must "
            "be [lower, upper] with lower <= upper (swap the columns if they are [upper, lower])."
        )
    return values


def _as_pair(y: Any, intervals: Any) -> tuple[Floats, Floats]:
    target = _as_vector(y, "y", finite=True)
    bounds = _as_intervals(intervals)
    if target.shape[0] != bounds.shape[0]:
        raise ValueError(
            f"y has {target.shape[0]} entries but intervals has {bounds.shape[0]} rows; pass one "
            "interval per target."
        )
    return target, bounds


def _is_level(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        return False
    return 0.0 < float(value) < 1.0  # False for NaN


def _check_level(value: Any, name: str) -> float:
    if not _is_level(value):
        raise ValueError(
            f"The '{name}' parameter must be a float in the range (0.0, 1.0). Got {_show(value)} "
            "instead."
        )
    return float(value)


def _check_level_sequence(values: Any, name: str) -> list[float]:
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1 or len(values) == 0:
        raise ValueError(
            f"The '{name}' parameter must be a non-empty sequence of floats in the range "
            f"(0.0, 1.0). Got {_show(values)} instead."
        )
    levels = list(values)
    bad = [lv for lv in levels if not _is_level(lv)]
    if bad:
        raise ValueError(
            f"The '{name}' parameter must be a sequence of floats in the range (0.0, 1.0). Got "
            f"{_show(values)} instead; {_show(bad[0])} is not in (0.0, 1.0)."
        )
    return [float(lv) for lv in levels]


def _levels_for(shape: tuple[int, ...], level: Any, name: str) -> list[float]:
    """One level per interval: a float for (n, 2) intervals, a sequence of L floats for
    (n, L, 2). Shapes follow the type of the level, as in ``predict_interval``."""
    if len(shape) == 2:
        if np.ndim(level) != 0:
            raise ValueError(
                f"intervals has shape {shape}, one interval per sample, so '{name}' must be a "
                f"single float. Got {_show(level)} instead (a sequence of levels goes with "
                "intervals of shape (n, n_levels, 2))."
            )
        return [_check_level(level, name)]
    count = shape[1]
    if np.ndim(level) == 0:
        _check_level(level, name)
        raise ValueError(
            f"intervals has shape {shape}, {count} levels per sample, so '{name}' must be a "
            f"sequence of {count} floats, one per level. Got the single level {_show(level)} "
            "instead."
        )
    levels = _check_level_sequence(level, name)
    if len(levels) != count:
        raise ValueError(
            f"{name} has {len(levels)} levels but intervals has {count} (shape {shape}); pass "
            "one level per interval on the middle axis."
        )
    return levels


def _alphas(levels: list[float]) -> Floats:
    """Miscoverages ``1 - level`` computed on the decimal the user typed (0.1, not 0.0999...)."""
    return np.array([float(1 - exact_level(lv)) for lv in levels], dtype=np.float64)


def _as_groups(groups: Any, n: int) -> tuple[list[Any], NDArray[np.intp]]:
    """Sorted distinct labels (plain Python values) and each sample's position among them."""
    labels = np.asarray(groups)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"groups must be 1-D, one label per sample. Got shape {labels.shape} instead."
        )
    if labels.shape[0] != n:
        raise ValueError(
            f"groups has {labels.shape[0]} entries but y has {n}; pass one group label per sample."
        )
    try:
        known, codes = np.unique(labels, return_inverse=True)
    except TypeError:
        kinds = sorted({type(label).__name__ for label in labels.tolist()})
        raise ValueError(
            f"groups labels cannot be sorted: they mix types {kinds}. Use labels of one type "
            "(e.g. convert them with str)."
        ) from None
    return [_plain(label) for label in known], codes.reshape(-1)


# ----------------------------------------------------------------------------------- kernels
# All work on a cube of intervals of shape (n, L, 2) and return one value per (sample, level).


def _cube(bounds: Floats) -> Floats:
    return bounds if bounds.ndim == 3 else bounds[:, None, :]


def _covered(target: Floats, cube: Floats) -> NDArray[np.bool_]:
    column = target[:, None]
    return (cube[..., 0] <= column) & (column <= cube[..., 1])


def _widths(cube: Floats) -> Floats:
    lower, upper = cube[..., 0], cube[..., 1]
    with np.errstate(invalid="ignore"):  # inf - inf for [inf, inf]; replaced by 0 below
        width = upper - lower
    return np.where(lower == upper, 0.0, width)


def _interval_scores(target: Floats, cube: Floats, alphas: Floats) -> Floats:
    column = target[:, None]
    # maximum(., 0) instead of an indicator: 0 * inf would be NaN for an infinite bound.
    below = np.maximum(cube[..., 0] - column, 0.0)
    above = np.maximum(column - cube[..., 1], 0.0)
    return _widths(cube) + (2.0 / alphas) * (below + above)


def _finish(values: Floats, scalar: bool) -> float | Floats:
    return float(values[0]) if scalar else np.asarray(values, dtype=np.float64)


# ------------------------------------------------------------------------------------ metrics


def coverage(y: ArrayLike, intervals: ArrayLike) -> float | Floats:
    """Fraction of targets inside their interval, ``lower <= y <= upper``.

    Parameters
    ----------
    y : array-like of shape (n,)
        Finite targets.
    intervals : array-like of shape (n, 2) or (n, n_levels, 2)
        ``[lower, upper]`` per sample (and level); infinite bounds are allowed.

    Returns
    -------
    coverage : float or ndarray of shape (n_levels,)
        A float for ``(n, 2)`` intervals, one value per level for ``(n, n_levels, 2)``.

    Examples
    --------
    >>> from conformal.metrics import coverage
    >>> y = [1.0, 2.0, 3.0, 7.0]
    >>> intervals = [[0, 2], [2.5, 3.5], [3, 3], [4.5, 6]]
    >>> coverage(y, intervals)    # rows 0 and 2 (ends included) cover their target
    0.5
    >>> coverage([0.0, 5.0], [[[-1, 1], [-2, 2]], [[4, 6], [5.5, 9]]])
    array([1. , 0.5])
    """
    target, bounds = _as_pair(y, intervals)
    return _finish(_covered(target, _cube(bounds)).mean(axis=0), bounds.ndim == 2)


def mean_width(intervals: ArrayLike) -> float | Floats:
    """Mean interval width ``upper - lower``.

    Infinite intervals are kept: one of them makes the mean infinite, which is the honest answer
    (count them with :func:`evaluate_intervals`). An interval with ``lower == upper`` has width 0.

    Parameters
    ----------
    intervals : array-like of shape (n, 2) or (n, n_levels, 2)
        ``[lower, upper]`` per sample (and level).

    Returns
    -------
    mean_width : float or ndarray of shape (n_levels,)

    Examples
    --------
    >>> from conformal.metrics import mean_width
    >>> mean_width([[0, 2], [2.5, 3.5], [3, 3], [4.5, 6]])    # (2 + 1 + 0 + 1.5) / 4
    1.125
    >>> mean_width([[0, 1], [-np.inf, 1]])
    inf
    >>> mean_width([[[-1, 1], [-2, 2]], [[4, 6], [5.5, 9]]])
    array([2.  , 3.75])
    """
    bounds = _as_intervals(intervals)
    return _finish(_widths(_cube(bounds)).mean(axis=0), bounds.ndim == 2)


def interval_score(
    y: ArrayLike, intervals: ArrayLike, confidence_level: float | Sequence[float]
) -> float | Floats:
    """Mean interval score of Gneiting and Raftery (2007), equation (43).

    For a central interval ``[l, u]`` at level ``1 - a`` and a target ``y``::

        IS_a = (u - l) + (2 / a) * (l - y) * 1{y < l} + (2 / a) * (y - u) * 1{y > u}

    a proper score (lower is better) that rewards narrow intervals and penalises misses in
    proportion to their distance. An infinite bound gives an infinite score.

    Parameters
    ----------
    y : array-like of shape (n,)
        Finite targets.
    intervals : array-like of shape (n, 2) or (n, n_levels, 2)
        ``[lower, upper]`` per sample (and level).
    confidence_level : float or sequence of float
        The nominal level ``1 - a`` in (0, 1) of the intervals: a float for ``(n, 2)``
        intervals, a sequence of ``n_levels`` floats for ``(n, n_levels, 2)``.

    Returns
    -------
    score : float or ndarray of shape (n_levels,)
        The mean over samples.

    References
    ----------
    T. Gneiting and A. E. Raftery (2007). Strictly proper scoring rules, prediction, and
    estimation. Journal of the American Statistical Association 102(477), 359-378.

    Examples
    --------
    >>> from conformal.metrics import interval_score
    >>> y = [1.0, 2.0, 3.0, 7.0]
    >>> intervals = [[0, 2], [2.5, 3.5], [3, 3], [4.5, 6]]
    >>> # a = 0.5: scores 2, 1 + 4 * 0.5, 0, 1.5 + 4 * 1 -> mean 10.5 / 4
    >>> interval_score(y, intervals, confidence_level=0.5)
    2.625
    >>> interval_score([0.0], [[[-1, 1], [-0.5, 0.5]]], confidence_level=[0.9, 0.5])
    array([2., 1.])
    """
    target, bounds = _as_pair(y, intervals)
    alphas = _alphas(_levels_for(bounds.shape, confidence_level, "confidence_level"))
    scores = _interval_scores(target, _cube(bounds), alphas)
    return _finish(scores.mean(axis=0), bounds.ndim == 2)


def weighted_interval_score(
    y: ArrayLike,
    intervals: ArrayLike,
    confidence_levels: float | Sequence[float],
    median: ArrayLike | None = None,
) -> float:
    """Mean weighted interval score (WIS) of Bracher et al. (2021).

    With ``K`` central intervals at levels ``1 - a_k`` and the predictive median ``m``::

        WIS = (0.5 * |y - m| + sum_k (a_k / 2) * IS_{a_k}) / (K + 1/2)

    where ``IS_a`` is the :func:`interval_score`. It equals the mean pinball loss of the
    ``2K + 1`` quantiles the intervals and the median stand for, times ``(2K + 1) / (K + 1/2)``,
    and approximates the CRPS when many levels are given.

    Parameters
    ----------
    y : array-like of shape (n,)
        Finite targets.
    intervals : array-like of shape (n, K, 2)
        ``[lower, upper]`` per sample and level (``(n, 2)`` with a single float level is the case
        ``K = 1``).
    confidence_levels : sequence of float
        The ``K`` nominal levels ``1 - a_k`` in (0, 1).
    median : array-like of shape (n,), default=None
        The predictive median. When ``None`` the median term is omitted and the normalisation
        is ``1 / K`` instead of ``1 / (K + 1/2)``: the mean of ``(a_k / 2) * IS_{a_k}`` over
        levels. Scores with and without a median are therefore not comparable.

    Returns
    -------
    wis : float
        The mean over samples.

    References
    ----------
    J. Bracher, E. L. Ray, T. Gneiting and N. G. Reich (2021). Evaluating epidemic forecasts in
    an interval format. PLOS Computational Biology 17(2), e1008618.

    Examples
    --------
    >>> from conformal.metrics import weighted_interval_score
    >>> y = [0.0]
    >>> intervals = [[[0.5, 1.5], [-1.0, 3.0]]]        # levels 0.5 and 0.8
    >>> # (a/2) IS: 0.25 * (1 + 4 * 0.5) = 0.75 and 0.1 * 4 = 0.4; median term 0.5 * |0 - 1|
    >>> round(weighted_interval_score(y, intervals, [0.5, 0.8], median=[1.0]), 10)  # 1.65 / 2.5
    0.66
    >>> round(weighted_interval_score(y, intervals, [0.5, 0.8]), 10)                # 1.15 / 2
    0.575
    """
    target, bounds = _as_pair(y, intervals)
    alphas = _alphas(_levels_for(bounds.shape, confidence_levels, "confidence_levels"))
    weighted = (alphas / 2.0) * _interval_scores(target, _cube(bounds), alphas)
    total = weighted.sum(axis=1)
    k = alphas.shape[0]
    if median is None:
        return float(np.mean(total / k))
    center = _as_vector(median, "median", finite=False)
    if center.shape[0] != target.shape[0]:
        raise ValueError(
            f"median has {center.shape[0]} entries but y has {target.shape[0]}; pass one median "
            "per target."
        )
    return float(np.mean((0.5 * np.abs(target - center) + total) / (k + 0.5)))


def pinball_loss(
    y: ArrayLike, quantile_predictions: ArrayLike, quantile_levels: float | Sequence[float]
) -> float | Floats:
    """Mean pinball (quantile) loss.

    For a quantile prediction ``q`` at level ``tau`` and target ``y`` the loss is
    ``tau * (y - q)`` when ``y >= q`` and ``(1 - tau) * (q - y)`` otherwise; it equals
    :func:`sklearn.metrics.mean_pinball_loss` with ``alpha=tau``.

    Parameters
    ----------
    y : array-like of shape (n,)
        Finite targets.
    quantile_predictions : array-like of shape (n,) or (n, n_quantiles)
        Predicted quantiles (infinite values give an infinite loss).
    quantile_levels : float or sequence of float
        Level(s) ``tau`` in (0, 1): a float for ``(n,)`` predictions, a sequence of
        ``n_quantiles`` floats for ``(n, n_quantiles)``.

    Returns
    -------
    loss : float or ndarray of shape (n_quantiles,)

    Examples
    --------
    >>> from conformal.metrics import pinball_loss
    >>> y = [1.0, 2.0, 3.0]
    >>> round(pinball_loss(y, [2.0, 2.0, 2.0], 0.1), 10)     # (0.9 + 0 + 0.1) / 3
    0.3333333333
    >>> pinball_loss(y, [[2, 0], [2, 0], [2, 0]], [0.1, 0.9]).round(4)
    array([0.3333, 1.8   ])
    """
    target = _as_vector(y, "y", finite=True)
    if target.shape[0] == 0:
        raise ValueError("y is empty; metrics need at least one sample.")
    predictions = _as_floats(quantile_predictions, "quantile_predictions")
    if predictions.ndim not in (1, 2):
        raise ValueError(
            "quantile_predictions must have shape (n,) or (n, n_quantiles). Got shape "
            f"{predictions.shape} instead."
        )
    if predictions.shape[0] != target.shape[0]:
        raise ValueError(
            f"y has {target.shape[0]} entries but quantile_predictions has "
            f"{predictions.shape[0]} rows; pass one prediction per target."
        )
    nan = np.isnan(predictions)
    if nan.any():
        raise ValueError(
            f"quantile_predictions contains NaN at {int(nan.sum())} position(s) (first: row "
            f"{int(np.argwhere(nan)[0][0])}); predictions must be numbers."
        )
    scalar = predictions.ndim == 1
    if scalar:
        if np.ndim(quantile_levels) != 0:
            raise ValueError(
                f"quantile_predictions has shape {predictions.shape}, one per sample, so "
                f"'quantile_levels' must be a single float. Got {_show(quantile_levels)} instead "
                "(a sequence of levels goes with predictions of shape (n, n_quantiles))."
            )
        taus = np.array([_check_level(quantile_levels, "quantile_levels")])
    else:
        count = predictions.shape[1]
        if np.ndim(quantile_levels) == 0:
            _check_level(quantile_levels, "quantile_levels")
            raise ValueError(
                f"quantile_predictions has shape {predictions.shape}, {count} per sample, so "
                f"'quantile_levels' must be a sequence of {count} floats, one per column. Got "
                f"the single level {_show(quantile_levels)} instead."
            )
        taus = np.array(_check_level_sequence(quantile_levels, "quantile_levels"))
        if taus.shape[0] != count:
            raise ValueError(
                f"quantile_levels has {taus.shape[0]} levels but quantile_predictions has "
                f"{count} columns (shape {predictions.shape}); pass one level per column."
            )
    diff = target[:, None] - predictions.reshape(target.shape[0], -1)
    loss = np.maximum(taus * diff, (taus - 1.0) * diff)
    return _finish(loss.mean(axis=0), scalar)


def _crps_sorted(target: Floats, atoms: Floats, weights: Floats) -> Floats:
    """CRPS of step distributions, one per row: atoms ``(m, k)`` sorted along rows, masses
    ``(k,)`` or ``(m, k)`` summing to 1, at targets ``(m,)``.

    ``CRPS = E|X - y| - E|X - X'| / 2``; for sorted atoms ``E|X - X'| = 2 sum_j w_j x_j
    (2 W_j + w_j - 1)`` with ``W_j`` the mass strictly before atom ``j`` (ties cancel). Atoms are
    taken relative to ``y`` so that a large common offset costs no digits.
    """
    w = np.broadcast_to(weights, atoms.shape)
    d = atoms - target[:, None]
    before = np.cumsum(w, axis=1) - w
    mean_abs = np.sum(w * np.abs(d), axis=1)
    mean_difference = 2.0 * np.sum(w * d * (2.0 * before + w - 1.0), axis=1)
    return np.maximum(mean_abs - 0.5 * mean_difference, 0.0)


def crps(y: ArrayLike, support: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Mean continuous ranked probability score of step predictive distributions.

    Each sample's forecast is a distribution with atoms ``support[j]`` and masses
    ``weights[j]`` (an ensemble, a sample, or the support points of a conformal predictive
    distribution). Its CRPS at the target ``y`` is, in closed form (Gneiting and Raftery 2007,
    equation 21)::

        CRPS(F, y) = integral (F(z) - 1{z >= y})^2 dz = E|X - y| - E|X - X'| / 2

    computed in O(k log k) per sample (a sort), not by numerical integration. Lower is better;
    it has the units of ``y`` and reduces to ``|x - y|`` for a point forecast.

    Parameters
    ----------
    y : array-like of shape (n,)
        Finite targets.
    support : array-like of shape (n, k) or (k,)
        Finite atoms per sample (any order; ties allowed), or one set shared by all samples.
    weights : array-like of shape (n, k) or (k,), default=None
        Non-negative masses of the atoms, summing to 1 per sample. ``None`` gives mass ``1/k``
        to each atom (an empirical distribution).

    Returns
    -------
    crps : float
        The mean over samples.

    See Also
    --------
    conformal.regression.ConformalPredictiveDistribution.crps : the CRPS of conformal predictive
        distributions, per sample, with the convention it documents (mass ``1/n`` on each of the
        ``n`` values ``f(x) + r_i``).

    References
    ----------
    T. Gneiting and A. E. Raftery (2007). Strictly proper scoring rules, prediction, and
    estimation. Journal of the American Statistical Association 102(477), 359-378.

    Examples
    --------
    >>> from conformal.metrics import crps
    >>> crps([0.0], [[0.0]])                 # a point forecast at the target
    0.0
    >>> crps([0.0, 3.0], [[-1.0, 1.0], [-1.0, 1.0]])   # (1 - 0.5 + 3 - 0.5) / 2
    1.5
    >>> crps([0.0], [[-1.0, 1.0]], weights=[[0.25, 0.75]])  # 1 - 0.25 * 0.75 * 2
    0.625
    """
    target = _as_vector(y, "y", finite=True)
    n = target.shape[0]
    if n == 0:
        raise ValueError("y is empty; metrics need at least one sample.")
    atoms = _as_floats(support, "support")
    if atoms.ndim == 1:
        atoms = np.broadcast_to(atoms, (n, atoms.shape[0]))
    if atoms.ndim != 2 or atoms.shape[0] != n or atoms.shape[1] == 0:
        raise ValueError(
            f"support must have shape (n, k) with n = {n} rows, one set of atoms per target, or "
            f"(k,) shared by all targets; got shape {atoms.shape}."
        )
    if not np.isfinite(atoms).all():
        raise ValueError(
            "support contains NaN or infinity; the CRPS of a distribution with mass at infinity "
            "is infinite. Drop infinite atoms (or give them a finite stand-in)."
        )
    if weights is None:
        masses = np.full(atoms.shape, 1.0 / atoms.shape[1])
    else:
        given = _as_floats(weights, "weights")
        if given.shape not in (atoms.shape, atoms.shape[1:]):
            raise ValueError(
                f"weights must have the shape of support {atoms.shape} or ({atoms.shape[1]},); "
                f"got shape {given.shape}."
            )
        masses = np.broadcast_to(given, atoms.shape)
        if not np.isfinite(masses).all() or (masses < 0).any():
            raise ValueError("weights must be finite and non-negative.")
        totals = masses.sum(axis=1)
        if not np.allclose(totals, 1.0, rtol=0.0, atol=1e-9):
            bad = int(np.flatnonzero(~np.isclose(totals, 1.0, rtol=0.0, atol=1e-9))[0])
            raise ValueError(
                f"weights must sum to 1 for every sample; row {bad} sums to {float(totals[bad])!r}."
            )
    order = np.argsort(atoms, axis=1, kind="stable")
    sorted_atoms = np.take_along_axis(atoms, order, axis=1)
    sorted_masses = np.take_along_axis(masses, order, axis=1)
    return float(np.mean(_crps_sorted(target, sorted_atoms, sorted_masses)))


class GroupCoverage(NamedTuple):
    """Coverage, mean width and size of one group (see :func:`coverage_by_group`)."""

    coverage: float | Floats
    mean_width: float | Floats
    n: int


def coverage_by_group(
    y: ArrayLike, intervals: ArrayLike, groups: ArrayLike
) -> dict[Any, GroupCoverage]:
    """Coverage and mean width within each group (conditional coverage on a partition).

    Parameters
    ----------
    y : array-like of shape (n,)
        Finite targets.
    intervals : array-like of shape (n, 2) or (n, n_levels, 2)
        ``[lower, upper]`` per sample (and level).
    groups : array-like of shape (n,)
        One label per sample (any sortable labels: ints, strings, a pandas Series or
        Categorical).

    Returns
    -------
    by_group : dict
        ``{label: GroupCoverage(coverage, mean_width, n)}`` in sorted label order, labels as plain
        Python values (``0``, not ``np.int64(0)``). ``coverage`` and ``mean_width`` follow the
        shape rule of :func:`coverage`; ``n`` is the group's size. For a plain
        ``{label: coverage}`` mapping use ``{g: r.coverage for g, r in by_group.items()}``.

    Examples
    --------
    >>> from conformal.metrics import coverage_by_group
    >>> y = [1.0, 2.0, 3.0, 7.0]
    >>> intervals = [[0, 2], [2.5, 3.5], [3, 3], [4.5, 6]]
    >>> by_group = coverage_by_group(y, intervals, groups=["a", "b", "a", "b"])
    >>> by_group["a"]
    GroupCoverage(coverage=1.0, mean_width=1.0, n=2)
    >>> {label: result.coverage for label, result in by_group.items()}
    {'a': 1.0, 'b': 0.0}
    """
    target, bounds = _as_pair(y, intervals)
    labels, codes = _as_groups(groups, target.shape[0])
    cube = _cube(bounds)
    covered, widths = _covered(target, cube), _widths(cube)
    scalar = bounds.ndim == 2
    out: dict[Any, GroupCoverage] = {}
    for g, label in enumerate(labels):
        member = codes == g
        out[label] = GroupCoverage(
            coverage=_finish(covered[member].mean(axis=0), scalar),
            mean_width=_finish(widths[member].mean(axis=0), scalar),
            n=int(member.sum()),
        )
    return out


# ------------------------------------------------------------------------------------- report


class IntervalRow(NamedTuple):
    """Statistics of the intervals of one level, over all samples or within one group."""

    group: Any
    """The group label, or ``None`` for a row over all samples."""
    level: int
    """Position on the level axis of ``(n, L, 2)`` intervals (0 for ``(n, 2)`` intervals)."""
    confidence_level: float | None
    n: int
    coverage: float
    mean_width: float
    median_width: float
    infinite_fraction: float
    interval_score: float | None


_COLUMNS = (
    ("confidence_level", "level"),
    ("group", "group"),
    ("n", "n"),
    ("coverage", "coverage"),
    ("mean_width", "mean width"),
    ("median_width", "median width"),
    ("infinite_fraction", "infinite"),
    ("interval_score", "interval score"),
)


def _number(value: float, digits: int = 4) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def _cell(row: IntervalRow, key: str, several: bool) -> str:
    """One table cell; a level without a nominal value shows as its position (``#1``) when the
    intervals have several, as ``-`` otherwise."""
    value = getattr(row, key)
    if key == "confidence_level":
        if value is None:
            return f"#{row.level}" if several else "-"
        return f"{value:g}"
    if key == "group":
        return "(all)" if value is None else str(value)
    if key == "n":
        return str(value)
    if value is None:
        return "-"
    if key in ("coverage", "infinite_fraction"):
        return f"{value:.3f}"
    return _number(value)


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(_number(float(v)) for v in value) + "]"
    if isinstance(value, float):
        return _number(value)
    return repr(value)


def _frozen(values: list[float], scalar: bool) -> float | Floats:
    if scalar:
        return float(values[0])
    array = np.array(values, dtype=np.float64)
    array.setflags(write=False)
    return array


class _TableReport:
    """What the report classes share: equality on their rows, the plain-text table, the HTML
    table and the "worst stratum" lines. A subclass names its columns (``_columns``: (row key,
    title) pairs), how a cell is written (``_format``), its ``rows`` and ``_title``, and which
    strata have a worst one (``_worst_kinds``: for each ``name``, attributes ``worst_{name}``,
    ``worst_{name}_coverage`` and ``worst_{name}_gap``)."""

    _columns: ClassVar[tuple[tuple[str, str], ...]]
    _worst_kinds: ClassVar[tuple[str, ...]]
    n: int
    confidence_level: float | tuple[float, ...] | None
    level_rows: tuple[Any, ...]

    @property
    def rows(self) -> tuple[Any, ...]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _format(self, row: Any, key: str) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _title(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _key(self) -> tuple[Any, ...]:
        return (self.n, self.confidence_level, self.rows)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _TableReport) or type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def _several(self) -> bool:
        return len(self.level_rows) > 1

    def _worst_lines(self) -> list[str]:
        reference = "nominal level" if self.confidence_level is not None else "overall coverage"
        lines = []
        for name in self._worst_kinds:
            label = getattr(self, f"worst_{name}")
            if label is None:
                continue
            labels = label if self._several else (label,)
            coverages = np.atleast_1d(np.asarray(getattr(self, f"worst_{name}_coverage")))
            gaps = np.atleast_1d(np.asarray(getattr(self, f"worst_{name}_gap")))
            for row, worst, cov, gap in zip(self.level_rows, labels, coverages, gaps, strict=True):
                level = self._format(row, "confidence_level")
                where = "" if level == "-" else f" at level {level}"
                lines.append(
                    f"worst {name}{where}: {worst} (coverage {cov:.3f}; gap to the {reference} "
                    f"{gap:+.3f})"
                )
        return lines

    def _text(self) -> str:
        header = [title for _, title in self._columns]
        body = [[self._format(row, key) for key, _ in self._columns] for row in self.rows]
        widths = [max(len(line[j]) for line in [header, *body]) for j in range(len(header))]
        lines = [f"{type(self).__name__}: {self._title()}"]
        for line in [header, *body]:
            lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        return "\n".join(lines + self._worst_lines())

    def _repr_html_(self) -> str:
        """An HTML table for notebooks."""
        head = "".join(f"<th>{html.escape(title)}</th>" for _, title in self._columns)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(self._format(row, key))}</td>" for key, _ in self._columns)
            + "</tr>"
            for row in self.rows
        )
        notes = "".join(f"<p>{html.escape(line)}</p>" for line in self._worst_lines())
        return (
            f"<div><p><b>{type(self).__name__}</b>: {html.escape(self._title())}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}</div>"
        )


@dataclass(frozen=True, eq=False, repr=False)
class IntervalReport(_TableReport):
    """Coverage, width and score of a set of prediction intervals (see :func:`evaluate_intervals`).

    The scalar attributes follow the shape rule of :func:`coverage`: floats for ``(n, 2)``
    intervals, read-only arrays of shape ``(n_levels,)`` for ``(n, n_levels, 2)``.

    Attributes
    ----------
    n : int
        Number of samples.
    coverage, mean_width, median_width : float or ndarray
        Over all samples. ``mean_width`` is infinite when any interval is.
    infinite_fraction : float or ndarray
        Fraction of intervals with an infinite bound.
    interval_score : float, ndarray or None
        Mean :func:`interval_score`; ``None`` without ``confidence_level``.
    confidence_level : float, tuple of float or None
        The nominal level(s) given to :func:`evaluate_intervals`.
    level_rows : tuple of IntervalRow
        One row per level over all samples (one row for ``(n, 2)`` intervals).
    group_rows : tuple of IntervalRow
        One row per (group, level), groups in sorted label order; empty without ``groups``.
    worst_group : label, tuple of labels or None
        The group with the lowest coverage (per level); the first in label order on ties.
    worst_group_coverage : float, ndarray or None
        Its coverage.
    worst_group_gap : float, ndarray or None
        How far the worst group's coverage falls below the nominal ``confidence_level``, or below
        the coverage over all samples when no level is given; positive means under-coverage.
    """

    n: int
    coverage: float | Floats
    mean_width: float | Floats
    median_width: float | Floats
    infinite_fraction: float | Floats
    interval_score: float | Floats | None
    confidence_level: float | tuple[float, ...] | None
    level_rows: tuple[IntervalRow, ...]
    group_rows: tuple[IntervalRow, ...] = ()
    worst_group: Any = None
    worst_group_coverage: float | Floats | None = None
    worst_group_gap: float | Floats | None = None

    _columns = _COLUMNS
    _worst_kinds = ("group",)

    def _format(self, row: Any, key: str) -> str:
        return _cell(row, key, self._several)

    @property
    def rows(self) -> tuple[IntervalRow, ...]:
        """All rows: the rows over all samples, then the group rows."""
        return self.level_rows + self.group_rows

    def __repr__(self) -> str:
        parts = [
            f"n={self.n}",
            f"coverage={_short(self.coverage)}",
            f"mean_width={_short(self.mean_width)}",
        ]
        if self.confidence_level is not None:
            parts.append(f"confidence_level={_short(self.confidence_level)}")
        if self.group_rows:
            parts.append(f"n_groups={len(self.group_rows) // len(self.level_rows)}")
        return f"IntervalReport({', '.join(parts)})"

    def _title(self) -> str:
        levels = len(self.level_rows)
        text = (
            f"{self.n} sample{'s' if self.n > 1 else ''}, {levels} level{'s' if levels > 1 else ''}"
        )
        if self.group_rows:
            groups = len(self.group_rows) // levels
            text += f", {groups} group{'s' if groups > 1 else ''}"
        return text

    def summary(self) -> str:
        """The report as a plain-text table: one line per level, then one per (group, level).

        Examples
        --------
        >>> from conformal.metrics import evaluate_intervals
        >>> report = evaluate_intervals([1.0, 2.0], [[0, 2], [3, 4]], confidence_level=0.5)
        >>> print(report.summary())
        IntervalReport: 2 samples, 1 level
        level  group  n  coverage  mean width  median width  infinite  interval score
        0.5    (all)  2  0.500     1.5         1.5           0.000     3.5
        """
        return self._text()

    def to_frame(self) -> pd.DataFrame:
        """The rows as a tidy pandas DataFrame, one row per (group, level).

        Columns: ``group`` (``None`` for the rows over all samples), ``level`` (position on the
        level axis), ``confidence_level``, ``n``, ``coverage``, ``mean_width``, ``median_width``,
        ``infinite_fraction``, ``interval_score`` (missing values are NaN). The columns are the
        same with or without groups and levels, so reports of several methods or datasets can be
        concatenated.

        Raises
        ------
        ImportError
            When pandas is not installed.

        Examples
        --------
        >>> from conformal.metrics import evaluate_intervals
        >>> report = evaluate_intervals([1.0, 2.0], [[0, 2], [3, 4]], groups=["a", "b"])
        >>> report.to_frame()[["group", "n", "coverage", "mean_width"]]
          group  n  coverage  mean_width
        0  None  2       0.5         1.5
        1     a  1       1.0         2.0
        2     b  1       0.0         1.0
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_frame() needs pandas: pip install pandas") from None
        records = [
            {
                **row._asdict(),
                "confidence_level": (
                    math.nan if row.confidence_level is None else row.confidence_level
                ),
                "interval_score": math.nan if row.interval_score is None else row.interval_score,
            }
            for row in self.rows
        ]
        frame = pd.DataFrame.from_records(records, columns=list(IntervalRow._fields))
        # object dtype keeps the labels as they are (ints stay ints next to the missing ones)
        frame["group"] = pd.Series([row.group for row in self.rows], dtype=object)
        return frame


def _rows(
    target: Floats, cube: Floats, levels: list[float] | None, group: Any
) -> list[IntervalRow]:
    """One row per level for the samples given."""
    covered, widths = _covered(target, cube), _widths(cube)
    scores = None if levels is None else _interval_scores(target, cube, _alphas(levels))
    return [
        IntervalRow(
            group=group,
            level=j,
            confidence_level=None if levels is None else levels[j],
            n=int(target.shape[0]),
            coverage=float(covered[:, j].mean()),
            mean_width=float(widths[:, j].mean()),
            median_width=float(np.median(widths[:, j])),
            infinite_fraction=float(np.isinf(widths[:, j]).mean()),
            interval_score=None if scores is None else float(scores[:, j].mean()),
        )
        for j in range(cube.shape[1])
    ]


def evaluate_intervals(
    y: ArrayLike,
    intervals: ArrayLike,
    groups: ArrayLike | None = None,
    confidence_level: float | Sequence[float] | None = None,
) -> IntervalReport:
    """Everything to judge a set of prediction intervals, in one report.

    Parameters
    ----------
    y : array-like of shape (n,)
        Finite targets.
    intervals : array-like of shape (n, 2) or (n, n_levels, 2)
        ``[lower, upper]`` per sample (and level), as ``predict_interval`` returns them.
    groups : array-like of shape (n,), default=None
        One label per sample: adds one row per (group, level) and the worst group.
    confidence_level : float or sequence of float, default=None
        The nominal level(s) of the intervals (a float for ``(n, 2)``, a sequence of ``n_levels``
        for ``(n, n_levels, 2)``). Needed for the interval score and shown in the table; the worst
        group's gap is then measured against it.

    Returns
    -------
    report : IntervalReport
        Immutable; ``summary()`` gives a text table, ``to_frame()`` a pandas DataFrame, and in a
        notebook the report displays as an HTML table.

    Examples
    --------
    >>> from conformal.metrics import evaluate_intervals
    >>> y = [1.0, 2.0, 3.0, 7.0]
    >>> intervals = [[0, 2], [2.5, 3.5], [3, 3], [4.5, 6]]
    >>> report = evaluate_intervals(y, intervals, groups=["a", "b", "a", "b"], confidence_level=0.5)
    >>> report
    IntervalReport(n=4, coverage=0.5, mean_width=1.125, confidence_level=0.5, n_groups=2)
    >>> report.coverage, report.interval_score, report.worst_group, report.worst_group_gap
    (0.5, 2.625, 'b', 0.5)
    >>> print(report.summary())
    IntervalReport: 4 samples, 1 level, 2 groups
    level  group  n  coverage  mean width  median width  infinite  interval score
    0.5    (all)  4  0.500     1.125       1.25          0.000     2.625
    0.5    a      2  1.000     1           1             0.000     1
    0.5    b      2  0.000     1.25        1.25          0.000     4.25
    worst group at level 0.5: b (coverage 0.000; gap to the nominal level +0.500)
    """
    target, bounds = _as_pair(y, intervals)
    scalar = bounds.ndim == 2
    levels = (
        None
        if confidence_level is None
        else _levels_for(bounds.shape, confidence_level, "confidence_level")
    )
    cube = _cube(bounds)
    level_rows = _rows(target, cube, levels, None)
    group_rows: list[IntervalRow] = []
    worst: dict[str, Any] = {}
    if groups is not None:
        labels, codes = _as_groups(groups, target.shape[0])
        for g, label in enumerate(labels):
            member = codes == g
            group_rows.extend(_rows(target[member], cube[member], levels, label))
        table = np.array([row.coverage for row in group_rows]).reshape(len(labels), -1)
        position = table.argmin(axis=0)
        lowest = table.min(axis=0)
        reference = (
            np.array(levels) if levels is not None else np.array([r.coverage for r in level_rows])
        )
        names = tuple(labels[int(p)] for p in position)
        worst = {
            "worst_group": names[0] if scalar else names,
            "worst_group_coverage": _frozen(lowest.tolist(), scalar),
            "worst_group_gap": _frozen((reference - lowest).tolist(), scalar),
        }

    def column(key: str) -> float | Floats:
        return _frozen([getattr(row, key) for row in level_rows], scalar)

    return IntervalReport(
        n=int(target.shape[0]),
        coverage=column("coverage"),
        mean_width=column("mean_width"),
        median_width=column("median_width"),
        infinite_fraction=column("infinite_fraction"),
        interval_score=None if levels is None else column("interval_score"),
        confidence_level=None if levels is None else (levels[0] if scalar else tuple(levels)),
        level_rows=tuple(level_rows),
        group_rows=tuple(group_rows),
        **worst,
    )


# ------------------------------------------------------------------------------ prediction sets
# Sets are boolean arrays as predict_set returns them: (n, K) with one column per class, or
# (n, L, K) with one set per confidence level. The shape rule of the interval metrics carries over.


def _as_sets(sets: Any) -> NDArray[np.bool_]:
    """Sets as a bool array of shape (n, K) or (n, L, K); 0/1 integers are accepted."""
    try:
        values = np.asarray(sets)
    except ValueError:  # a ragged nested sequence
        raise ValueError("sets must be a boolean array; its rows have different lengths.") from None
    if values.ndim not in (2, 3):
        raise ValueError(
            "sets must have shape (n, n_classes) or (n, n_levels, n_classes), one boolean per "
            f"class, as predict_set returns them. Got shape {values.shape} instead."
        )
    if values.shape[0] == 0:
        raise ValueError("sets is empty; metrics need at least one sample.")
    if values.dtype != np.bool_:
        if values.dtype.kind not in "iuf" or not np.isin(values, (0, 1)).all():
            raise ValueError(
                f"sets must be boolean (or 0/1), True where a class is in the set. Got dtype "
                f"{values.dtype} instead."
            )
        values = values.astype(bool)
    return values


def _label_columns(y: Any, n_columns: int, classes: Any) -> NDArray[np.intp]:
    """The column of each target in the sets: ``y`` itself (integer columns) without
    ``classes``, else the position of each label in ``classes``."""
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"y must be 1-D, one label per sample. Got shape {labels.shape} instead.")
    if classes is None:
        if labels.dtype.kind not in "iu" or (
            labels.size and (labels.min() < 0 or labels.max() >= n_columns)
        ):
            raise ValueError(
                f"without classes, y must hold column indices of sets (integers in [0, "
                f"{n_columns - 1}]); pass classes=model.classes_ to evaluate labels."
            )
        return labels.astype(np.intp)
    names = np.asarray(classes)
    if names.ndim != 1 or names.shape[0] != n_columns:
        raise ValueError(
            f"classes must list the {n_columns} class labels of the set columns. Got shape "
            f"{names.shape} instead."
        )
    lookup = {c: i for i, c in enumerate(names.tolist())}
    try:
        return np.fromiter((lookup[v] for v in labels.tolist()), np.intp, labels.shape[0])
    except KeyError:
        unknown = sorted({_plain(v) for v in labels.tolist() if v not in lookup}, key=repr)
        raise ValueError(
            f"y has label(s) {unknown[:5]!r} that are not in classes {_show(names)}."
        ) from None


def _set_pair(y: Any, sets: Any, classes: Any) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    values = _as_sets(sets)
    columns = _label_columns(y, values.shape[-1], classes)
    if columns.shape[0] != values.shape[0]:
        raise ValueError(
            f"y has {columns.shape[0]} entries but sets has {values.shape[0]} rows; pass one set "
            "per target."
        )
    return columns, values


def _set_cube(values: NDArray[np.bool_]) -> NDArray[np.bool_]:
    return values if values.ndim == 3 else values[:, None, :]


def _set_covered(columns: NDArray[np.intp], cube: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """(n, L): whether each sample's own class is in its set at each level."""
    return cube[np.arange(cube.shape[0]), :, columns]


def set_coverage(y: ArrayLike, sets: ArrayLike, classes: ArrayLike | None = None) -> float | Floats:
    """Fraction of targets whose class is in their prediction set.

    Parameters
    ----------
    y : array-like of shape (n,)
        True labels: column indices of ``sets`` when ``classes`` is ``None``, else labels.
    sets : array-like of bool of shape (n, n_classes) or (n, n_levels, n_classes)
        As ``predict_set`` returns them.
    classes : array-like of shape (n_classes,), default=None
        The label of each column (``model.classes_``).

    Returns
    -------
    coverage : float or ndarray of shape (n_levels,)

    Examples
    --------
    >>> from conformal.metrics import set_coverage
    >>> sets = [[True, False, False], [True, True, False], [False, False, False]]
    >>> set_coverage([0, 2, 1], sets)
    0.3333333333333333
    >>> set_coverage(["a", "b", "c"], sets, classes=["a", "b", "c"])
    0.6666666666666666
    """
    columns, values = _set_pair(y, sets, classes)
    return _finish(_set_covered(columns, _set_cube(values)).mean(axis=0), values.ndim == 2)


def mean_set_size(sets: ArrayLike) -> float | Floats:
    """Mean number of classes per prediction set.

    Examples
    --------
    >>> from conformal.metrics import mean_set_size
    >>> mean_set_size([[True, False, False], [True, True, False], [False, False, False]])
    1.0
    """
    values = _as_sets(sets)
    return _finish(_set_cube(values).sum(axis=-1).mean(axis=0), values.ndim == 2)


def empty_set_fraction(sets: ArrayLike) -> float | Floats:
    """Fraction of empty prediction sets ("no class is plausible enough").

    Examples
    --------
    >>> from conformal.metrics import empty_set_fraction
    >>> empty_set_fraction([[True, False], [False, False]])
    0.5
    """
    values = _as_sets(sets)
    return _finish((_set_cube(values).sum(axis=-1) == 0).mean(axis=0), values.ndim == 2)


def singleton_fraction(sets: ArrayLike) -> float | Floats:
    """Fraction of prediction sets with exactly one class (a confident single prediction).

    Examples
    --------
    >>> from conformal.metrics import singleton_fraction
    >>> singleton_fraction([[True, False], [True, True], [False, True]])
    0.6666666666666666
    """
    values = _as_sets(sets)
    return _finish((_set_cube(values).sum(axis=-1) == 1).mean(axis=0), values.ndim == 2)


class SetCoverage(NamedTuple):
    """Coverage, mean set size and number of samples of one stratum of prediction sets."""

    coverage: float | Floats
    mean_size: float | Floats
    n: int


def coverage_by_class(
    y: ArrayLike, sets: ArrayLike, classes: ArrayLike | None = None
) -> dict[Any, SetCoverage]:
    """Class-conditional coverage: ``P(Y in C(X) | Y = c)`` estimated within each class.

    Parameters
    ----------
    y, sets, classes
        As in :func:`set_coverage`.

    Returns
    -------
    by_class : dict
        ``{label: SetCoverage(coverage, mean_size, n)}`` for the classes present in ``y``, in
        column order; labels are ``classes`` entries (column indices without ``classes``).

    Examples
    --------
    >>> from conformal.metrics import coverage_by_class
    >>> sets = [[True, False], [True, True], [True, False], [False, True]]
    >>> by_class = coverage_by_class([0, 1, 1, 1], sets)
    >>> by_class[0]
    SetCoverage(coverage=1.0, mean_size=1.0, n=1)
    >>> {label: round(result.coverage, 3) for label, result in by_class.items()}
    {0: 1.0, 1: 0.667}
    """
    columns, values = _set_pair(y, sets, classes)
    cube = _set_cube(values)
    covered, sizes = _set_covered(columns, cube), cube.sum(axis=-1)
    names = list(range(values.shape[-1])) if classes is None else list(np.asarray(classes))
    scalar = values.ndim == 2
    out: dict[Any, SetCoverage] = {}
    for k in np.unique(columns):
        member = columns == k
        out[_plain(names[k])] = SetCoverage(
            coverage=_finish(covered[member].mean(axis=0), scalar),
            mean_size=_finish(sizes[member].mean(axis=0), scalar),
            n=int(member.sum()),
        )
    return out


def coverage_by_set_size(
    y: ArrayLike, sets: ArrayLike, classes: ArrayLike | None = None
) -> dict[int, SetCoverage]:
    """Size-stratified coverage (Angelopoulos et al. 2021): coverage among the sets of each size.

    Adaptive sets should cover about equally well at every size; a method whose singletons
    under-cover and large sets over-cover is only right on average.

    Parameters
    ----------
    y, classes
        As in :func:`set_coverage`.
    sets : array-like of bool of shape (n, n_classes)
        One level (for ``(n, n_levels, n_classes)`` sets pass ``sets[:, j]``, or use
        :func:`evaluate_sets`).

    Returns
    -------
    by_size : dict
        ``{size: SetCoverage(coverage, mean_size=size, n)}`` for the sizes that occur, in
        increasing order.

    Examples
    --------
    >>> from conformal.metrics import coverage_by_set_size
    >>> sets = [[True, False], [True, True], [False, True], [False, False]]
    >>> by_size = coverage_by_set_size([0, 1, 0, 1], sets)
    >>> by_size[1]
    SetCoverage(coverage=0.5, mean_size=1.0, n=2)
    >>> {size: (result.coverage, result.n) for size, result in by_size.items()}
    {0: (0.0, 1), 1: (0.5, 2), 2: (1.0, 1)}
    """
    columns, values = _set_pair(y, sets, classes)
    if values.ndim != 2:
        raise ValueError(
            f"coverage_by_set_size takes sets of one level, shape (n, n_classes). Got shape "
            f"{values.shape}; pass sets[:, j] for level j, or use evaluate_sets."
        )
    covered = values[np.arange(values.shape[0]), columns]
    sizes = values.sum(axis=1)
    return {
        int(s): SetCoverage(
            coverage=float(covered[sizes == s].mean()),
            mean_size=float(s),
            n=int((sizes == s).sum()),
        )
        for s in np.unique(sizes)
    }


class SetRow(NamedTuple):
    """Statistics of the prediction sets of one level, over all samples or within a stratum."""

    by: str
    """``"all"``, ``"group"``, ``"class"`` (the true class) or ``"size"`` (the set size)."""
    stratum: Any
    """The group label, class label or set size; ``None`` for the rows over all samples."""
    level: int
    """Position on the level axis of ``(n, L, K)`` sets (0 for ``(n, K)`` sets)."""
    confidence_level: float | None
    n: int
    coverage: float
    mean_size: float
    empty_fraction: float
    singleton_fraction: float


_SET_COLUMNS = (
    ("confidence_level", "level"),
    ("by", "by"),
    ("stratum", "stratum"),
    ("n", "n"),
    ("coverage", "coverage"),
    ("mean_size", "mean size"),
    ("empty_fraction", "empty"),
    ("singleton_fraction", "singleton"),
)


def _set_cell(row: SetRow, key: str, several: bool) -> str:
    value = getattr(row, key)
    if key == "confidence_level":
        if value is None:
            return f"#{row.level}" if several else "-"
        return f"{value:g}"
    if key == "stratum":
        return "(all)" if value is None else str(value)
    if key in ("by", "n"):
        return str(value)
    if key in ("coverage", "empty_fraction", "singleton_fraction"):
        return f"{value:.3f}"
    return _number(value)


def _set_rows(
    by: str,
    stratum: Any,
    covered: NDArray[np.bool_],
    sizes: NDArray[np.int64],
    levels: list[float] | None,
    only: int | None = None,
) -> list[SetRow]:
    """One row per level for the samples given (``only``: that level alone)."""
    return [
        SetRow(
            by=by,
            stratum=stratum,
            level=j,
            confidence_level=None if levels is None else levels[j],
            n=int(covered.shape[0]),
            coverage=float(covered[:, j].mean()),
            mean_size=float(sizes[:, j].mean()),
            empty_fraction=float((sizes[:, j] == 0).mean()),
            singleton_fraction=float((sizes[:, j] == 1).mean()),
        )
        for j in (range(covered.shape[1]) if only is None else [only])
    ]


def _worst(
    rows: list[SetRow], n_levels: int, reference: Floats, scalar: bool, name: str
) -> dict[str, Any]:
    """The stratum with the lowest coverage at each level (the first in order on ties)."""
    if not rows:
        return {}
    names, coverages, gaps = [], [], []
    for j in range(n_levels):
        at_level = [row for row in rows if row.level == j]
        worst = min(at_level, key=lambda row: row.coverage)
        names.append(worst.stratum)
        coverages.append(worst.coverage)
        gaps.append(float(reference[j]) - worst.coverage)
    return {
        f"worst_{name}": names[0] if scalar else tuple(names),
        f"worst_{name}_coverage": _frozen(coverages, scalar),
        f"worst_{name}_gap": _frozen(gaps, scalar),
    }


@dataclass(frozen=True, eq=False, repr=False)
class SetReport(_TableReport):
    """Coverage and size of a set of prediction sets (see :func:`evaluate_sets`).

    The scalar attributes follow the shape rule of :func:`set_coverage`: floats for ``(n, K)``
    sets, read-only arrays of shape ``(n_levels,)`` for ``(n, n_levels, K)``.

    Attributes
    ----------
    n : int
        Number of samples.
    coverage, mean_size, empty_fraction, singleton_fraction : float or ndarray
        Over all samples.
    confidence_level : float, tuple of float or None
        The nominal level(s) given to :func:`evaluate_sets`.
    level_rows : tuple of SetRow
        One row per level over all samples.
    class_rows : tuple of SetRow
        Class-conditional coverage: one row per (true class, level), classes in column order.
    size_rows : tuple of SetRow
        Size-stratified coverage: one row per (set size, level) for the sizes that occur.
    group_rows : tuple of SetRow
        One row per (group, level), groups in sorted label order; empty without ``groups``.
    worst_class, worst_class_coverage, worst_class_gap
        The class with the lowest coverage (per level), its coverage, and how far it falls
        below the nominal level (below the overall coverage when no level is given); positive
        means under-coverage.
    worst_group, worst_group_coverage, worst_group_gap
        The same for groups; ``None`` without ``groups``.
    """

    n: int
    coverage: float | Floats
    mean_size: float | Floats
    empty_fraction: float | Floats
    singleton_fraction: float | Floats
    confidence_level: float | tuple[float, ...] | None
    level_rows: tuple[SetRow, ...]
    class_rows: tuple[SetRow, ...] = ()
    size_rows: tuple[SetRow, ...] = ()
    group_rows: tuple[SetRow, ...] = ()
    worst_class: Any = None
    worst_class_coverage: float | Floats | None = None
    worst_class_gap: float | Floats | None = None
    worst_group: Any = None
    worst_group_coverage: float | Floats | None = None
    worst_group_gap: float | Floats | None = None

    _columns = _SET_COLUMNS
    _worst_kinds = ("class", "group")

    def _format(self, row: Any, key: str) -> str:
        return _set_cell(row, key, self._several)

    @property
    def rows(self) -> tuple[SetRow, ...]:
        """All rows: over all samples, then by class, by set size and by group."""
        return self.level_rows + self.class_rows + self.size_rows + self.group_rows

    def __repr__(self) -> str:
        parts = [
            f"n={self.n}",
            f"coverage={_short(self.coverage)}",
            f"mean_size={_short(self.mean_size)}",
        ]
        if self.confidence_level is not None:
            parts.append(f"confidence_level={_short(self.confidence_level)}")
        if self.group_rows:
            parts.append(f"n_groups={len({row.stratum for row in self.group_rows})}")
        return f"SetReport({', '.join(parts)})"

    def _title(self) -> str:
        levels = len(self.level_rows)
        classes = len({row.stratum for row in self.class_rows})
        text = (
            f"{self.n} sample{'s' if self.n > 1 else ''}, {levels} level{'s' if levels > 1 else ''}"
            f", {classes} class{'es' if classes != 1 else ''}"
        )
        if self.group_rows:
            groups = len({row.stratum for row in self.group_rows})
            text += f", {groups} group{'s' if groups > 1 else ''}"
        return text

    def summary(self) -> str:
        """The report as a plain-text table: one line per level, then by class, size and group.

        Examples
        --------
        >>> from conformal.metrics import evaluate_sets
        >>> report = evaluate_sets([0, 1], [[True, False], [True, False]], confidence_level=0.5)
        >>> print(report.summary())
        SetReport: 2 samples, 1 level, 2 classes
        level  by     stratum  n  coverage  mean size  empty  singleton
        0.5    all    (all)    2  0.500     1          0.000  1.000
        0.5    class  0        1  1.000     1          0.000  1.000
        0.5    class  1        1  0.000     1          0.000  1.000
        0.5    size   1        2  0.500     1          0.000  1.000
        worst class at level 0.5: 1 (coverage 0.000; gap to the nominal level +0.500)
        """
        return self._text()

    def to_frame(self) -> pd.DataFrame:
        """The rows as a tidy pandas DataFrame, one row per (stratum, level).

        Columns: ``by`` (``"all"``, ``"class"``, ``"size"``, ``"group"``), ``stratum``
        (``None`` for the rows over all samples), ``level``, ``confidence_level`` (NaN when not
        given), ``n``, ``coverage``, ``mean_size``, ``empty_fraction``, ``singleton_fraction``.

        Raises
        ------
        ImportError
            When pandas is not installed.

        Examples
        --------
        >>> from conformal.metrics import evaluate_sets
        >>> report = evaluate_sets([0, 1], [[True, False], [True, True]])
        >>> report.to_frame()[["by", "stratum", "n", "coverage", "mean_size"]]
              by stratum  n  coverage  mean_size
        0    all    None  2       1.0        1.5
        1  class       0  1       1.0        1.0
        2  class       1  1       1.0        2.0
        3   size       1  1       1.0        1.0
        4   size       2  1       1.0        2.0
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_frame() needs pandas: pip install pandas") from None
        records = [
            {
                **row._asdict(),
                "confidence_level": (
                    math.nan if row.confidence_level is None else row.confidence_level
                ),
            }
            for row in self.rows
        ]
        frame = pd.DataFrame.from_records(records, columns=list(SetRow._fields))
        frame["stratum"] = pd.Series([row.stratum for row in self.rows], dtype=object)
        return frame


def evaluate_sets(
    y: ArrayLike,
    sets: ArrayLike,
    classes: ArrayLike | None = None,
    groups: ArrayLike | None = None,
    confidence_level: float | Sequence[float] | None = None,
) -> SetReport:
    """Everything to judge a set of prediction sets, in one report.

    Coverage, mean set size and the fractions of empty and singleton sets over all samples,
    within each true class (class-conditional coverage), within each set size (size-stratified
    coverage) and within each group.

    Parameters
    ----------
    y : array-like of shape (n,)
        True labels: column indices of ``sets`` when ``classes`` is ``None``, else labels.
    sets : array-like of bool of shape (n, n_classes) or (n, n_levels, n_classes)
        As ``predict_set`` returns them.
    classes : array-like of shape (n_classes,), default=None
        The label of each column (``model.classes_``).
    groups : array-like of shape (n,), default=None
        One label per sample: adds one row per (group, level) and the worst group.
    confidence_level : float or sequence of float, default=None
        The nominal level(s) (a float for ``(n, K)`` sets, a sequence of ``n_levels`` for
        ``(n, n_levels, K)``): shown in the table, and the worst class's and group's gaps are
        measured against it.

    Returns
    -------
    report : SetReport
        Immutable; ``summary()`` gives a text table, ``to_frame()`` a pandas DataFrame, and in a
        notebook the report displays as an HTML table.

    Examples
    --------
    >>> from conformal.metrics import evaluate_sets
    >>> y = ["cat", "dog", "dog", "fox"]
    >>> sets = [[True, False, False], [True, True, False], [False, False, True],
    ...         [False, False, False]]
    >>> report = evaluate_sets(y, sets, classes=["cat", "dog", "fox"], confidence_level=0.5)
    >>> report
    SetReport(n=4, coverage=0.5, mean_size=1, confidence_level=0.5)
    >>> report.empty_fraction, report.singleton_fraction, report.worst_class
    (0.25, 0.5, 'fox')
    """
    columns, values = _set_pair(y, sets, classes)
    scalar = values.ndim == 2
    cube = _set_cube(values)
    n_levels = cube.shape[1]
    levels = None
    if confidence_level is not None:
        levels = _levels_for(
            values.shape[:2] if scalar else values.shape, confidence_level, "confidence_level"
        )
    covered, sizes = _set_covered(columns, cube), cube.sum(axis=-1)
    level_rows = _set_rows("all", None, covered, sizes, levels)
    names = list(range(values.shape[-1])) if classes is None else list(np.asarray(classes))
    class_rows: list[SetRow] = []
    for k in np.unique(columns):
        member = columns == k
        class_rows += _set_rows("class", _plain(names[k]), covered[member], sizes[member], levels)
    size_rows: list[SetRow] = []
    for j in range(n_levels):
        for s in np.unique(sizes[:, j]):
            member = sizes[:, j] == s
            size_rows += _set_rows("size", int(s), covered[member], sizes[member], levels, only=j)
    group_rows: list[SetRow] = []
    if groups is not None:
        labels, codes = _as_groups(groups, columns.shape[0])
        for g, label in enumerate(labels):
            member = codes == g
            group_rows += _set_rows("group", label, covered[member], sizes[member], levels)
    reference = (
        np.array(levels) if levels is not None else np.array([r.coverage for r in level_rows])
    )

    def column(key: str) -> float | Floats:
        return _frozen([getattr(row, key) for row in level_rows], scalar)

    return SetReport(
        n=int(columns.shape[0]),
        coverage=column("coverage"),
        mean_size=column("mean_size"),
        empty_fraction=column("empty_fraction"),
        singleton_fraction=column("singleton_fraction"),
        confidence_level=None if levels is None else (levels[0] if scalar else tuple(levels)),
        level_rows=tuple(level_rows),
        class_rows=tuple(class_rows),
        size_rows=tuple(size_rows),
        group_rows=tuple(group_rows),
        **_worst(class_rows, n_levels, reference, scalar, "class"),
        **_worst(group_rows, n_levels, reference, scalar, "group"),
    )


def expected_calibration_error(
    y_true: ArrayLike,
    y_proba: ArrayLike,
    *,
    classes: ArrayLike | None = None,
    n_bins: int = 15,
) -> float:
    """Top-label expected calibration error with equal-width confidence bins.

    Each sample's confidence is its largest predicted probability and its prediction the class
    of that column (the first on ties). The confidences are put in ``n_bins`` bins of equal
    width, ``((b - 1) / n_bins, b / n_bins]`` (the edges of
    :func:`sklearn.calibration.calibration_curve`), and the error is the sample-weighted mean, over
    bins, of ``|accuracy - mean confidence|`` (Naeini, Cooper and Hauskrecht 2015; Guo et al.
    2017). 0 is perfect calibration; the value depends on ``n_bins``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, one column per class.
    classes : array-like of shape (n_classes,), default=None
        The class of each column (an estimator's ``classes_``). ``None`` means the sorted
        distinct labels of ``y_true``, which must then have ``n_classes`` of them.
    n_bins : int, default=15
        Number of confidence bins.

    Returns
    -------
    ece : float
        In ``[0, 1]``.

    Examples
    --------
    >>> from conformal.metrics import expected_calibration_error
    >>> y = [0, 1, 1, 0]
    >>> proba = [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]]
    >>> round(expected_calibration_error(y, proba, n_bins=5), 3)
    0.25
    """
    labels = column_or_1d(y_true)
    proba = np.asarray(y_proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[0] != labels.shape[0]:
        raise ValueError(
            f"y_proba must have shape (n_samples, n_classes) = ({labels.shape[0]}, n_classes); "
            f"got {proba.shape}. For a binary problem pass both columns of predict_proba."
        )
    if not isinstance(n_bins, Integral) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}.")
    columns: Any = np.unique(labels) if classes is None else np.asarray(classes)
    if columns.shape[0] != proba.shape[1]:
        raise ValueError(
            f"y_proba has {proba.shape[1]} columns but there are {columns.shape[0]} classes "
            f"{columns.tolist()!r}; pass classes= (e.g. the estimator's classes_) to say which "
            "class each column is."
        )
    unknown = np.setdiff1d(labels, columns)
    if unknown.shape[0]:
        raise ValueError(
            f"y_true has label(s) {unknown.tolist()[:5]!r} that are not among the classes "
            f"{columns.tolist()!r} of the columns of y_proba."
        )
    if labels.shape[0] == 0:
        raise ValueError("expected_calibration_error needs at least one sample; got 0.")
    confidence = proba.max(axis=1)
    correct = columns[np.argmax(proba, axis=1)] == labels
    # Right-closed bins on np.linspace edges, as sklearn.calibration.calibration_curve.
    bins = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], confidence)
    count = np.bincount(bins, minlength=n_bins)
    gap = np.abs(
        np.bincount(bins, weights=correct, minlength=n_bins)
        - np.bincount(bins, weights=confidence, minlength=n_bins)
    )
    return float(gap.sum() / labels.shape[0]) if count.any() else 0.0
