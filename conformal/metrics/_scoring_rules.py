"""Proper scoring rules for interval and quantile forecasts and for step distributions.

The interval score and its weighted sum (WIS), the pinball loss, and the CRPS. Lower is better
for all of them. An interval with ``lower > upper`` is the empty set: it scores as width 0 plus
the usual penalties for missing ``y`` (see :func:`interval_score`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .._deprecation import renamed
from ..calibration._crps import crps_sorted
from ._intervals import _cube, _widths
from ._validation import (
    Floats,
    _alphas,
    _as_floats,
    _as_pair,
    _as_vector,
    _check_level,
    _check_level_sequence,
    _finish,
    _levels_for,
    _show,
)


def _interval_scores(target: Floats, cube: Floats, alphas: Floats) -> Floats:
    """(n, L): the interval score of each interval of the cube, ``alphas`` of shape (L,).

    The width term is :func:`_widths` (0 for an empty interval); the two miss terms are kept as
    they are, so an empty interval ``[l, u]`` with ``l > u`` pays ``(2 / a) * (l - u)`` at least.
    """
    column = target[:, None]
    # maximum(., 0) instead of an indicator: 0 * inf would be NaN for an infinite bound.
    below = np.maximum(cube[..., 0] - column, 0.0)
    above = np.maximum(column - cube[..., 1], 0.0)
    return _widths(cube) + (2.0 / alphas) * (below + above)


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

    Raises
    ------
    ValueError
        When ``y`` is not finite, a bound is NaN, the shapes do not match, or a level is not in
        (0, 1).

    Notes
    -----
    An interval with ``l > u`` is the empty set (conformalized quantile regression returns one
    when its correction is negative). Its score is the formula above with the width term replaced
    by the empty set's width, 0; both miss terms are kept as written::

        IS_a = (2 / a) * ((l - y)_+ + (y - u)_+)      for l > u

    that is ``(2 / a) * (l - u)`` when ``u <= y <= l``, ``(2 / a) * (l - y)`` when ``y < u`` and
    ``(2 / a) * (y - u)`` when ``y > l``. It is never 0 (an empty interval always misses) and it
    grows with the crossing ``l - u``. It is at least the score of the point interval at either
    bound, ``[l, l]`` or ``[u, u]``, so no forecaster gains by crossing its bounds; and it is
    never below the formula applied to the raw bounds (negative width ``u - l``), which it
    equals for every non-empty interval, so the score stays proper.

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
    >>> # the empty [2, 0] at a = 0.5 (2/a = 4): 4 * (2 - 0) between its bounds, 4 * (2 - y) below
    >>> interval_score([1.0], [[2, 0]], 0.5), interval_score([-1.0], [[2, 0]], 0.5)
    (8.0, 12.0)
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

    where ``IS_a`` is the :func:`interval_score`. For non-empty intervals it equals the mean
    pinball loss of the ``2K + 1`` quantiles the intervals and the median stand for, times
    ``(2K + 1) / (K + 1/2)``, and approximates the CRPS when many levels are given.

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

    Raises
    ------
    ValueError
        When ``y`` is not finite, a bound or a median is NaN, the shapes do not match, or a level
        is not in (0, 1).

    Notes
    -----
    An interval with ``l > u`` is the empty set and enters through its :func:`interval_score`:
    width 0 plus ``(2 / a) * ((l - y)_+ + (y - u)_+)``. The pinball-loss identity above then no
    longer holds: the pinball losses of the crossed bounds stand for a negative width ``u - l``,
    and each crossed level adds ``(a_k / 2) * (l_k - u_k)`` more to the sum before the
    normalisation, so crossing is never rewarded.

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
    >>> # the empty [1.5, 0.5] at 0.5: (a/2) IS = 0.25 * 4 * (1.5 - 0)  = 1.5; + 0.4 -> 1.9 / 2
    >>> round(weighted_interval_score(y, [[[1.5, 0.5], [-1.0, 3.0]]], [0.5, 0.8]), 10)
    0.95
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
        The mean over samples: a float for ``(n,)`` predictions, one value per column for
        ``(n, n_quantiles)``.

    Raises
    ------
    ValueError
        When ``y`` is not finite or empty, a prediction is NaN, the shapes do not match, or a
        level is not in (0, 1).

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


def mean_crps(y: ArrayLike, support: ArrayLike, weights: ArrayLike | None = None) -> float:
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

    Raises
    ------
    ValueError
        When ``y`` is not finite or empty, an atom is not finite, the shapes do not match, or the
        weights are negative or do not sum to 1 per sample.

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
    >>> from conformal.metrics import mean_crps
    >>> mean_crps([0.0], [[0.0]])                 # a point forecast at the target
    0.0
    >>> mean_crps([0.0, 3.0], [[-1.0, 1.0], [-1.0, 1.0]])   # (1 - 0.5 + 3 - 0.5) / 2
    1.5
    >>> mean_crps([0.0], [[-1.0, 1.0]], weights=[[0.25, 0.75]])  # 1 - 0.25 * 0.75 * 2
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
    return float(np.mean(crps_sorted(target, sorted_atoms, sorted_masses)))


# The old name: the function returns the MEAN CRPS, the estimators' method the per-sample ones.
crps = renamed(mean_crps, "crps", " (it returns the mean over samples)")
