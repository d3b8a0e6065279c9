"""Coverage and width of prediction intervals, over all samples and within groups.

An interval with ``lower > upper`` is the empty set: it covers nothing and has width 0.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import Floats, _as_groups, _as_intervals, _as_pair, _finish

# The kernels work on a cube of intervals of shape (n, L, 2) and return one value per
# (sample, level).


def _cube(bounds: Floats) -> Floats:
    """``(n, 2)`` intervals as ``(n, 1, 2)``: one code path for one level and for several."""
    return bounds if bounds.ndim == 3 else bounds[:, None, :]


def _covered(target: Floats, cube: Floats) -> NDArray[np.bool_]:
    """(n, L): ``lower <= y <= upper``, which no ``y`` meets when ``lower > upper`` (empty)."""
    column = target[:, None]
    return (cube[..., 0] <= column) & (column <= cube[..., 1])


def _widths(cube: Floats) -> Floats:
    """(n, L): ``upper - lower``, and 0 for a point (``lower == upper``) or an empty interval
    (``lower > upper``), whose raw difference would be NaN (``[inf, inf]``) or negative."""
    lower, upper = cube[..., 0], cube[..., 1]
    with np.errstate(invalid="ignore"):  # inf - inf for [inf, inf]; replaced by 0 below
        width = upper - lower
    return np.where(lower >= upper, 0.0, width)


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

    Raises
    ------
    ValueError
        When ``y`` is not finite, a bound is NaN, or the shapes do not match.

    Notes
    -----
    An interval with ``lower > upper`` is the empty set (conformalized quantile regression
    returns one when its correction is negative): it covers no ``y``.

    Examples
    --------
    >>> from conformal.metrics import coverage
    >>> y = [1.0, 2.0, 3.0, 7.0]
    >>> intervals = [[0, 2], [2.5, 3.5], [3, 3], [4.5, 6]]
    >>> coverage(y, intervals)    # rows 0 and 2 (ends included) cover their target
    0.5
    >>> coverage([0.0, 5.0], [[[-1, 1], [-2, 2]], [[4, 6], [5.5, 9]]])
    array([1. , 0.5])
    >>> coverage([1.0, 1.0], [[0, 2], [2, 0]])   # [2, 0] is empty: it covers nothing
    0.5
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
        A float for ``(n, 2)`` intervals, one value per level for ``(n, n_levels, 2)``.

    Raises
    ------
    ValueError
        When a bound is NaN or the shape is not ``(n, 2)`` or ``(n, n_levels, 2)``.

    Notes
    -----
    An interval with ``lower > upper`` is the empty set and has width 0 (not the negative
    ``upper - lower``, which would reward crossed bounds with a smaller mean width).

    Examples
    --------
    >>> from conformal.metrics import mean_width
    >>> mean_width([[0, 2], [2.5, 3.5], [3, 3], [4.5, 6]])    # (2 + 1 + 0 + 1.5) / 4
    1.125
    >>> mean_width([[0, 1], [-np.inf, 1]])
    inf
    >>> mean_width([[[-1, 1], [-2, 2]], [[4, 6], [5.5, 9]]])
    array([2.  , 3.75])
    >>> mean_width([[0, 2], [2, 0]])             # the empty [2, 0] has width 0
    1.0
    """
    bounds = _as_intervals(intervals)
    return _finish(_widths(_cube(bounds)).mean(axis=0), bounds.ndim == 2)


class GroupCoverage(NamedTuple):
    """Coverage, mean width and size of one group (see :func:`coverage_by_group`).

    Parameters
    ----------
    coverage : float or ndarray of shape (n_levels,)
        Fraction of the group's targets inside their interval (per level).
    mean_width : float or ndarray of shape (n_levels,)
        Mean interval width within the group (per level).
    n : int
        Number of samples in the group.
    """

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

    Raises
    ------
    ValueError
        When ``y`` is not finite, a bound is NaN, ``groups`` has the wrong length or its labels
        cannot be sorted.

    Notes
    -----
    An interval with ``lower > upper`` is the empty set: it covers nothing and has width 0, as
    in :func:`coverage` and :func:`mean_width`.

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
