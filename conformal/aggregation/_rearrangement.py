"""Non-crossing quantiles: row-wise rearrangement of ``(n_samples, n_quantiles)`` predictions.

Quantile models fitted level by level, and their aggregates, can cross: a row of
``predict_quantiles`` need not be non-decreasing. Two rearrangements repair a row without ever
raising its summed pinball loss (equivalently its weighted interval score) for any target:
sorting it (Chernozhukov, Fernandez-Val and Galichon 2010) and projecting it onto non-decreasing
vectors in least squares (isotonic regression by pool-adjacent-violators; Fakoor et al. 2023).
Both run as numba kernels over all rows (``conformal/_kernels/isotonic.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._protocol import check_quantiles

__all__ = ["crossing_rate", "rearrange_quantiles"]

_METHODS = ("sort", "isotonic", None)


def _as_quantile_matrix(predictions: Any, name: str = "predictions") -> NDArray[np.float64]:
    """``predictions`` as a float64 C-contiguous (n, Q) array (a copy only when needed).

    Raises a ``ValueError`` for a non-numeric or ragged input, a shape other than 2-d, and NaN.
    Infinite entries are numbers here (an unbounded quantile); each caller decides about them.
    """
    try:
        values = np.asarray(predictions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a 2-d array of numbers, one row per sample and one column per "
            f"quantile level; got an object that does not convert to floats "
            f"({type(predictions).__name__})."
        ) from None
    if values.ndim != 2:
        raise ValueError(
            f"{name} must be 2-d, shape (n_samples, n_quantiles), as predict_quantiles returns "
            f"it; got shape {values.shape}. Reshape one sample's quantiles with "
            f"{name}.reshape(1, -1)."
        )
    nan = np.isnan(values)
    if nan.any():
        row, column = (int(i) for i in np.argwhere(nan)[0])
        raise ValueError(
            f"{name} contains NaN at {int(nan.sum())} position(s) (first: row {row}, column "
            f"{column}); a quantile must be a number (+-inf allowed). Drop or impute those rows "
            "before rearranging."
        )
    return np.ascontiguousarray(values)


def _check_columns(
    values: NDArray[np.float64], quantiles: Any, name: str = "predictions"
) -> NDArray[np.float64] | None:
    if quantiles is None:
        return None
    levels = check_quantiles(quantiles)
    if levels.shape[0] != values.shape[1]:
        raise ValueError(
            f"quantiles has {levels.shape[0]} levels but {name} has {values.shape[1]} columns "
            f"(shape {values.shape}); pass one level per column, in column order."
        )
    return levels


def rearrange_quantiles(
    predictions: ArrayLike,
    method: str | None = "sort",
    *,
    quantiles: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Make every row of a quantile matrix non-decreasing (remove quantile crossing).

    Row ``i`` holds sample ``i``'s predicted quantiles at increasing levels ``t_1 < ... <
    t_Q``. A crossing (``q_{t} > q_{t'}`` for ``t < t'``) is impossible for a true quantile
    function; both rearrangements below remove it and never increase the summed pinball loss
    ``sum_t psi_t(y - q_t)`` of a row, nor therefore its weighted interval score, whatever the
    target ``y`` (Chernozhukov et al. 2010; Fakoor et al. 2023, section on non-crossing).

    Parameters
    ----------
    predictions : array-like of shape (n_samples, n_quantiles)
        Predicted quantiles, columns in increasing order of level (as ``predict_quantiles``
        returns them). Entries may be ``+-inf`` (unbounded quantiles), not NaN.
    method : {"sort", "isotonic"} or None, default="sort"
        - ``"sort"``: sort each row (the monotone rearrangement of Chernozhukov et al. 2010).
          Keeps the row's values, only reorders them.
        - ``"isotonic"``: the least-squares projection of each row onto non-decreasing vectors
          (pool-adjacent-violators): every decreasing run is replaced by its mean. It equals
          scikit-learn's ``IsotonicRegression().fit_transform(range(n_quantiles), row)``.
        - ``None``: no rearrangement; a copy of ``predictions`` as float64.

        A row that is already non-decreasing is returned unchanged by every method.
    quantiles : array-like of shape (n_quantiles,), default=None
        The levels of the columns. Not needed by either method (both depend only on the
        column order); when given it is checked: strictly increasing in (0, 1), one per column.

    Returns
    -------
    rearranged : ndarray of shape (n_samples, n_quantiles)
        A new float64 array with non-decreasing rows; ``predictions`` is not modified.

    Raises
    ------
    ValueError
        When ``method`` is not one of the above; when ``predictions`` is not a 2-d numeric array
        or contains NaN; when ``quantiles`` is invalid or does not match the columns; with
        ``method="isotonic"``, when a row would pool ``+inf`` with ``-inf`` (a decreasing run
        from ``+inf`` down to ``-inf`` has no mean; sort such rows instead).

    See Also
    --------
    crossing_rate : the fraction of rows that cross.

    Notes
    -----
    Why neither method can hurt: the summed pinball loss of a row is ``sum_t psi_t(y - q_t)``
    with ``psi_t`` convex and its slope increasing in ``t``. Swapping a crossed pair, or moving
    it towards its mean, never increases that sum (a rearrangement inequality), and sorting and
    pool-adjacent-violators are sequences of such moves. A "min-max sweep" outward from the
    median (``q_t <- max(q_t, q_{t-1})`` above it, ``min`` below) is not: it can raise the loss
    (see ``tests/aggregation/test_rearrangement.py`` for a counterexample).

    Both run as numba kernels over rows on threads (the first call compiles them, once per
    installation). For ``10**6 x 99`` matrices see ``benchmarks/results/speed_isotonic.md``.

    References
    ----------
    V. Chernozhukov, I. Fernandez-Val and A. Galichon (2010). Quantile and probability curves
    without crossing. Econometrica 78(3), 1093-1125.

    R. Fakoor, T. Kim, J. Mueller, A. J. Smola and R. J. Tibshirani (2023). Flexible model
    aggregation for quantile regression. Journal of Machine Learning Research 24(162), 1-45.

    R. E. Barlow, D. J. Bartholomew, J. M. Bremner and H. D. Brunk (1972). Statistical
    Inference under Order Restrictions. Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.aggregation import rearrange_quantiles
    >>> crossed = np.array([[1.0, 3.0, 2.0, 4.0], [0.0, 1.0, 2.0, 3.0]])
    >>> rearrange_quantiles(crossed)
    array([[1., 2., 3., 4.],
           [0., 1., 2., 3.]])
    >>> rearrange_quantiles(crossed, "isotonic")
    array([[1. , 2.5, 2.5, 4. ],
           [0. , 1. , 2. , 3. ]])
    """
    if not (method is None or (isinstance(method, str) and method in _METHODS)):
        raise ValueError(
            f"The 'method' parameter of rearrange_quantiles must be a str among "
            f"{{'sort', 'isotonic'}} or None. Got {method!r} instead."
        )
    values = _as_quantile_matrix(predictions)
    _check_columns(values, quantiles)
    if method is None:
        return np.array(values, dtype=np.float64, copy=True)

    from .._kernels.isotonic import isotonic_rows, sort_rows  # numba loads on first use

    if method == "sort":
        return sort_rows(values)
    out = isotonic_rows(values, np.ones(values.shape[1], dtype=np.float64))
    nan = np.isnan(out)
    if nan.any():
        row = int(np.argwhere(nan)[0][0])
        raise ValueError(
            f"method='isotonic' cannot rearrange row {row} of predictions "
            f"({values[row].tolist()[:10]}{'...' if values.shape[1] > 10 else ''}): it "
            "decreases from +inf to -inf, and a block pooling +inf with -inf has no mean. Use "
            "method='sort', or replace the infinite quantiles by finite bounds first."
        )
    return out


def crossing_rate(predictions: ArrayLike, *, quantiles: ArrayLike | None = None) -> float:
    """The fraction of rows whose quantiles cross (some column exceeds the next one).

    Parameters
    ----------
    predictions : array-like of shape (n_samples, n_quantiles)
        Predicted quantiles, columns in increasing order of level; ``+-inf`` allowed, not NaN.
    quantiles : array-like of shape (n_quantiles,), default=None
        The levels of the columns, checked as in :func:`rearrange_quantiles` when given.

    Returns
    -------
    rate : float
        In [0, 1]; 0.0 for no rows or a single column. Ties (equal neighbours) do not cross.

    Raises
    ------
    ValueError
        As :func:`rearrange_quantiles` for ``predictions`` and ``quantiles``.

    Examples
    --------
    >>> from conformal.aggregation import crossing_rate
    >>> crossing_rate([[1.0, 3.0, 2.0], [0.0, 1.0, 1.0], [2.0, 1.0, 0.0], [0.0, 0.5, 1.0]])
    0.5
    """
    values = _as_quantile_matrix(predictions)
    _check_columns(values, quantiles)
    if values.shape[0] == 0 or values.shape[1] < 2:
        return 0.0
    # Compare neighbours rather than take differences: inf - inf is NaN, and [inf, inf] is sorted.
    return float(np.mean((values[:, 1:] < values[:, :-1]).any(axis=1)))
