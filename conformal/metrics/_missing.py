"""Coverage and width by missingness: by the number of missing values or by the mask pattern."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._intervals import GroupCoverage, coverage_by_group

__all__ = ["coverage_by_mask", "missing_groups"]

_BY = ("n_missing", "pattern")


def missing_groups(X: ArrayLike, *, by: str = "n_missing") -> NDArray[Any]:
    """One label per row of ``X`` describing its missing values, for ``groups=`` arguments.

    Parameters
    ----------
    X : array-like of shape (n, p)
        Features with NaN where a value is missing (a DataFrame works; non-numeric columns
        count ``None`` / NaN as missing), or a boolean mask ``(n, p)`` (``True`` = missing).
    by : {"n_missing", "pattern"}, default="n_missing"
        ``"n_missing"``: the number of missing values of the row (int). ``"pattern"``: the mask
        as a string of ``0`` / ``1``, one character per column (``"0100"``: the second column
        missing); these sort by pattern.

    Returns
    -------
    labels : ndarray of shape (n,)

    Raises
    ------
    ValueError
        For an unknown ``by`` or an ``X`` that is not 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.metrics import missing_groups
    >>> X = [[1.0, np.nan, 3.0], [np.nan, np.nan, 0.0], [1.0, 2.0, 3.0]]
    >>> missing_groups(X).tolist()
    [1, 2, 0]
    >>> missing_groups(X, by="pattern").tolist()
    ['010', '110', '000']
    """
    if by not in _BY:
        raise ValueError(f"Unknown by={by!r}. Valid options are {list(_BY)}.")
    masks = _masks(X)
    if by == "n_missing":
        return masks.sum(axis=1).astype(np.int64)
    return np.array(["".join("1" if v else "0" for v in row) for row in masks], dtype=object)


def _masks(X: ArrayLike) -> NDArray[np.bool_]:
    if hasattr(X, "isna"):
        values = np.asarray(X.isna(), dtype=bool)
    else:
        array = np.asarray(X)
        if array.dtype == bool:
            values = array
        else:
            try:
                values = np.isnan(np.asarray(array, dtype=np.float64))
            except (TypeError, ValueError):
                values = np.vectorize(lambda v: v is None or v != v, otypes=[bool])(array)
    if values.ndim != 2:
        raise ValueError(
            f"X must be 2-D, one row per sample (or a boolean mask of that shape). Got shape "
            f"{values.shape} instead."
        )
    return values


def coverage_by_mask(
    y: ArrayLike, intervals: ArrayLike, X: ArrayLike, *, by: str = "n_missing"
) -> dict[Any, GroupCoverage]:
    """Coverage and mean width within each missingness group (mask-conditional coverage).

    CP-MDA (Zaffran et al. 2023) targets ``P(Y in C(X, M) | M = m) >= 1 - a`` for every mask;
    impute-then-predict keeps the marginal coverage but under-covers rows with many missing
    values. This is :func:`coverage_by_group` with the groups of :func:`missing_groups`.

    Parameters
    ----------
    y : array-like of shape (n,)
        Finite targets.
    intervals : array-like of shape (n, 2) or (n, n_levels, 2)
    X : array-like of shape (n, p)
        The features the intervals were predicted from (NaN = missing), or their boolean mask.
    by : {"n_missing", "pattern"}, default="n_missing"

    Returns
    -------
    by_group : dict
        ``{label: GroupCoverage(coverage, mean_width, n)}`` in sorted label order.

    Raises
    ------
    ValueError
        For an unknown ``by``, an ``X`` with another number of rows than ``y``, and the errors
        of :func:`coverage_by_group`.

    References
    ----------
    M. Zaffran, A. Dieuleveut, J. Josse and Y. Romano (2023). Conformal prediction with missing
    values. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.metrics import coverage_by_mask
    >>> X = [[1.0, np.nan], [np.nan, np.nan], [1.0, 2.0], [0.0, np.nan]]
    >>> y = [1.0, 2.0, 3.0, 4.0]
    >>> intervals = [[0, 2], [3, 4], [2, 4], [3, 5]]
    >>> {k: r.coverage for k, r in coverage_by_mask(y, intervals, X).items()}
    {0: 1.0, 1: 1.0, 2: 0.0}
    >>> coverage_by_mask(y, intervals, X, by="pattern")["01"]
    GroupCoverage(coverage=1.0, mean_width=2.0, n=2)
    """
    labels = missing_groups(X, by=by)
    n = np.shape(np.asarray(y))[0] if np.ndim(np.asarray(y)) else 0
    if labels.shape[0] != n:
        raise ValueError(
            f"X has {labels.shape[0]} rows but y has {n}; pass the features of the same samples."
        )
    return coverage_by_group(y, intervals, labels)
