"""Scores of quantile matrices: the mean pinball loss over a set of levels, and the weighted
interval score (WIS) written as a pinball loss, for ``(n_samples, n_quantiles)`` predictions as
``predict_quantiles`` returns them.

:func:`~conformal.metrics.pinball_loss` and :func:`~conformal.metrics.weighted_interval_score`
(in ``_scoring_rules.py``) take per-level arrays and intervals; these take the quantile matrix
itself, with sample weights, and are what the quantile aggregators minimise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validation import Floats, _as_floats, _as_vector, _check_level_sequence, _show

__all__ = ["mean_pinball_loss", "quantile_weighted_interval_score"]


def _as_quantile_problem(
    y: Any, quantile_predictions: Any, quantiles: Any, sample_weight: Any
) -> tuple[Floats, Floats, Floats, Floats | None]:
    """Checked ``(y, predictions, levels, sample_weight)``: new float arrays, inputs untouched."""
    target = _as_vector(y, "y", finite=True)
    if target.shape[0] == 0:
        raise ValueError("y is empty; metrics need at least one sample.")
    predictions = _as_floats(quantile_predictions, "quantile_predictions")
    if predictions.ndim != 2:
        raise ValueError(
            "quantile_predictions must have shape (n_samples, n_quantiles), one column per level, "
            f"as predict_quantiles returns it. Got shape {predictions.shape} instead (one level's "
            "predictions of shape (n,) go in as predictions.reshape(-1, 1))."
        )
    if predictions.shape[0] != target.shape[0]:
        raise ValueError(
            f"y has {target.shape[0]} entries but quantile_predictions has "
            f"{predictions.shape[0]} rows; pass one row of quantiles per target."
        )
    nan = np.isnan(predictions)
    if nan.any():
        row, column = (int(i) for i in np.argwhere(nan)[0])
        raise ValueError(
            f"quantile_predictions contains NaN at {int(nan.sum())} position(s) (first: row "
            f"{row}, column {column}); predictions must be numbers (+-inf give an infinite loss)."
        )
    levels = np.array(_check_level_sequence(np.atleast_1d(quantiles), "quantiles"))
    if levels.shape[0] != predictions.shape[1]:
        raise ValueError(
            f"quantiles has {levels.shape[0]} levels but quantile_predictions has "
            f"{predictions.shape[1]} columns (shape {predictions.shape}); pass one level per "
            "column, in column order."
        )
    if sample_weight is None:
        return target, predictions, levels, None
    weights = _as_floats(sample_weight, "sample_weight")
    if weights.shape != target.shape:
        raise ValueError(
            f"sample_weight must have shape ({target.shape[0]},), one weight per target. Got "
            f"shape {weights.shape} instead."
        )
    if not np.isfinite(weights).all() or (weights < 0).any() or not weights.sum() > 0:
        raise ValueError(
            "sample_weight must be finite and non-negative with a positive sum; got "
            f"min={_show(float(np.min(weights)))}, sum={_show(float(np.sum(weights)))}. Drop "
            "NaN weights, clip negative ones to 0."
        )
    return target, predictions, levels, weights


def _pinball_per_level(
    target: Floats, predictions: Floats, levels: Floats, weights: Floats | None
) -> Floats:
    """(Q,): the (weighted) mean over samples of ``psi_t(y - q_t)``, one value per level."""
    diff = target[:, None] - predictions
    # max(t u, (t - 1) u) is psi_t(u) for both signs, and stays +inf (not NaN) for an infinite
    # prediction, where an indicator times u would give 0 * inf.
    loss = np.maximum(levels * diff, (levels - 1.0) * diff)
    return np.average(loss, axis=0, weights=weights)


def mean_pinball_loss(
    y: ArrayLike,
    quantile_predictions: ArrayLike,
    quantiles: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    multioutput: str | ArrayLike = "uniform_average",
) -> float | Floats:
    """Mean pinball (quantile) loss of a quantile matrix, per level or averaged over levels.

    For a prediction ``q`` of the quantile at level ``t`` and a target ``y``::

        psi_t(y - q) = t * (y - q)          if y >= q
                       (1 - t) * (q - y)    if y < q

    Column ``j`` of ``quantile_predictions`` is scored at level ``quantiles[j]`` and averaged over
    samples (weighted by ``sample_weight``): exactly
    ``sklearn.metrics.mean_pinball_loss(y, quantile_predictions[:, j], alpha=quantiles[j],
    sample_weight=sample_weight)``. The levels are then averaged (or returned).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Finite targets.
    quantile_predictions : array-like of shape (n_samples, n_quantiles)
        Predicted quantiles, one column per level (as ``predict_quantiles`` returns them).
        ``+-inf`` gives an infinite loss; NaN is an error.
    quantiles : array-like of shape (n_quantiles,)
        The level of each column, in (0, 1). Any order; repeated levels are scored twice.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the samples (``None``: equal weights).
    multioutput : {"uniform_average", "raw_values"} or array-like of shape (n_quantiles,), \
default="uniform_average"
        ``"uniform_average"``: the mean over levels; ``"raw_values"``: one loss per level; an
        array: the average over levels with these (non-negative) weights.

    Returns
    -------
    loss : float or ndarray of shape (n_quantiles,)
        A float, or an array for ``multioutput="raw_values"``. Lower is better.

    Raises
    ------
    ValueError
        When ``y`` is not finite or is empty, the shapes do not match, a prediction is NaN, a
        level is not in (0, 1), ``sample_weight`` is negative or sums to 0, or ``multioutput`` is
        not one of the options.

    See Also
    --------
    quantile_weighted_interval_score : twice the loss (the WIS in quantile form).
    conformal.metrics.pinball_loss : the same per-level loss, without weights.

    Examples
    --------
    >>> from conformal.metrics import mean_pinball_loss
    >>> y = [1.0, 2.0, 3.0]
    >>> predictions = [[2.0, 0.0], [2.0, 0.0], [2.0, 0.0]]
    >>> # level 0.1: (0.9 * 1 + 0 + 0.1 * 1) / 3; level 0.9: 0.9 * (1 + 2 + 3) / 3
    >>> mean_pinball_loss(y, predictions, [0.1, 0.9], multioutput="raw_values").round(4)
    array([0.3333, 1.8   ])
    >>> round(mean_pinball_loss(y, predictions, [0.1, 0.9]), 4)
    1.0667
    >>> round(mean_pinball_loss(y, predictions, [0.1, 0.9], sample_weight=[1, 0, 0]), 4)
    0.9
    """
    target, predictions, levels, weights = _as_quantile_problem(
        y, quantile_predictions, quantiles, sample_weight
    )
    per_level = _pinball_per_level(target, predictions, levels, weights)
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return per_level
        if multioutput == "uniform_average":
            return float(np.mean(per_level))
    else:
        level_weights = _as_floats(multioutput, "multioutput")
        if level_weights.shape == per_level.shape and (level_weights >= 0).all():
            if level_weights.sum() > 0:
                return float(np.average(per_level, weights=level_weights))
    raise ValueError(
        "The 'multioutput' parameter of mean_pinball_loss must be a str among {'raw_values', "
        f"'uniform_average'}} or an array-like of {per_level.shape[0]} non-negative weights with "
        f"a positive sum, one per level. Got {_show(multioutput)} instead."
    )


def quantile_weighted_interval_score(
    y: ArrayLike,
    quantile_predictions: ArrayLike,
    quantiles: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    normalize: bool = True,
) -> float:
    """Mean weighted interval score (WIS) of a quantile matrix, in its pinball-loss form.

    For ``K`` central intervals ``[l_k, u_k]`` at miscoverage ``a_k`` (the quantiles at levels
    ``a_k / 2`` and ``1 - a_k / 2``) and the median ``m``, Bracher et al. (2021) define::

        WIS = (0.5 * |y - m| + sum_k (a_k / 2) * IS_{a_k}) / (K + 1/2)

        IS_a = (u - l) + (2 / a) * (l - y)_+ + (2 / a) * (y - u)_+     (the interval score)

    Since ``(a / 2) * IS_a = psi_{a/2}(y - l) + psi_{1-a/2}(y - u)`` for ``l <= u`` and
    ``0.5 * |y - m| = psi_{1/2}(y - m)``, with ``psi_t`` the pinball loss, this is::

        WIS = 2 / (2K + 1) * sum_t psi_t(y - q_t) = 2 * (mean pinball loss over the levels)

    which is what this function computes for any level set (``normalize=True``, the default):
    twice :func:`mean_pinball_loss` averaged uniformly over levels. Without a median (``2K``
    levels) it is likewise Bracher's form normalised by ``1 / K``. It agrees with
    :func:`~conformal.metrics.weighted_interval_score` on the intervals and median the levels
    stand for, with or without the median. ``normalize=False`` gives the unnormalised sum of
    Fakoor et al. (2023), ``sum_k {a_k (u_k - l_k) + 2 dist(y, [l_k, u_k])} + |y - m|``
    ``= 2 * sum_t psi_t(y - q_t)``; both forms order forecasts alike for a fixed level set.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Finite targets.
    quantile_predictions : array-like of shape (n_samples, n_quantiles)
        Predicted quantiles, one column per level. ``+-inf`` gives an infinite score.
    quantiles : array-like of shape (n_quantiles,)
        The level of each column, in (0, 1). Symmetric pairs ``(a / 2, 1 - a / 2)``, with or
        without 0.5, make it Bracher's WIS; other level sets give the same pinball form.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the samples in the mean over samples.
    normalize : bool, default=True
        ``True``: Bracher et al.'s normalisation, the summed pinball loss over the levels
        divided by ``n_quantiles / 2`` (``K + 1/2`` with a median, ``K`` without); ``False``:
        twice the summed pinball loss.

    Returns
    -------
    wis : float
        The (weighted) mean over samples. Lower is better.

    Raises
    ------
    ValueError
        As :func:`mean_pinball_loss`.

    Notes
    -----
    Crossed quantiles (``q_t > q_t'`` for ``t < t'``) are scored as given, through the pinball
    losses: they are not read as empty intervals, as
    :func:`~conformal.metrics.weighted_interval_score` reads an interval with ``l > u``, and the
    two functions then differ. Sorting each row, or its isotonic projection
    (:func:`~conformal.aggregation.rearrange_quantiles`), never increases this score.

    References
    ----------
    J. Bracher, E. L. Ray, T. Gneiting and N. G. Reich (2021). Evaluating epidemic forecasts in
    an interval format. PLOS Computational Biology 17(2), e1008618.

    R. Fakoor, T. Kim, J. Mueller, A. J. Smola and R. J. Tibshirani (2023). Flexible model
    aggregation for quantile regression. Journal of Machine Learning Research 24(162), 1-45.

    Examples
    --------
    >>> from conformal.metrics import quantile_weighted_interval_score
    >>> # the 50% interval [0.5, 1.5], the 80% interval [-1, 3] and the median 1, at y = 0
    >>> levels = [0.1, 0.25, 0.5, 0.75, 0.9]
    >>> predictions = [[-1.0, 0.5, 1.0, 1.5, 3.0]]
    >>> round(quantile_weighted_interval_score([0.0], predictions, levels), 10)   # 1.65 / 2.5
    0.66
    >>> round(quantile_weighted_interval_score([0.0], predictions, levels, normalize=False), 10)
    3.3
    """
    target, predictions, levels, weights = _as_quantile_problem(
        y, quantile_predictions, quantiles, sample_weight
    )
    summed = _pinball_per_level(target, predictions, levels, weights).sum()
    # Bracher et al. divide the summed pinball losses by K + 1/2 = n_quantiles / 2.
    return float(2.0 * summed / levels.shape[0] if normalize else 2.0 * summed)
