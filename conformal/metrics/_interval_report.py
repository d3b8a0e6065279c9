"""The interval report: coverage, width and score per level and per group, in one object."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._intervals import _covered, _cube, _widths
from ._scoring_rules import _interval_scores
from ._table import _given_levels, _level_columns, _level_rows, _TableReport, _worst
from ._validation import Floats, _alphas, _as_groups, _as_pair, _levels_for


class IntervalRow(NamedTuple):
    """Statistics of the intervals of one level, over all samples or within one group.

    Parameters
    ----------
    group : label or None
        The group label, or ``None`` for a row over all samples.
    level : int
        Position on the level axis of ``(n, L, 2)`` intervals (0 for ``(n, 2)`` intervals).
    confidence_level : float or None
        The nominal level of that position, ``None`` if not given.
    n : int
        Number of samples in the row.
    coverage : float
        Fraction of targets inside their interval.
    mean_width, median_width : float
        Mean and median interval width (infinite for an unbounded interval).
    infinite_fraction : float
        Fraction of intervals of infinite width.
    interval_score : float or None
        Mean :func:`interval_score`; ``None`` without ``confidence_level``.
    """

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


@dataclass(frozen=True, eq=False, repr=False)
class IntervalReport(_TableReport):
    """Coverage, width and score of a set of prediction intervals (see :func:`evaluate_intervals`).

    The scalar attributes follow the shape rule of :func:`coverage`: floats for ``(n, 2)``
    intervals, read-only arrays of shape ``(n_levels,)`` for ``(n, n_levels, 2)``. Reports are
    built by :func:`evaluate_intervals`; each parameter is stored as the attribute of that name.

    Parameters
    ----------
    n : int
        Number of samples.
    coverage, mean_width, median_width : float or ndarray
        Over all samples. ``mean_width`` is infinite when any interval is.
    infinite_fraction : float or ndarray
        Fraction of intervals of infinite width (an unbounded side). Point intervals such as
        ``[inf, inf]`` and empty intervals (``lower > upper``) have width 0 and never count.
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

    Methods
    -------
    summary()
        The rows as a plain-text table: one line per level, then one per (group, level).
    to_frame()
        The rows as a tidy pandas DataFrame, one line per (group, level), with the fields of
        :class:`IntervalRow` as columns: ``group`` (``None`` for the rows over all samples),
        ``level`` (position on the level axis), ``confidence_level``, ``n``, ``coverage``,
        ``mean_width``, ``median_width``, ``infinite_fraction``, ``interval_score`` (missing
        values are NaN).

    Examples
    --------
    >>> from conformal.metrics import evaluate_intervals
    >>> report = evaluate_intervals([1.0, 2.0], [[0, 2], [3, 4]], confidence_level=0.5)
    >>> print(report.summary())
    IntervalReport: 2 samples, 1 level
    level  group  n  coverage  mean width  median width  infinite  interval score
    0.5    (all)  2  0.500     1.5         1.5           0.000     3.5
    >>> report = evaluate_intervals([1.0, 2.0], [[0, 2], [3, 4]], groups=["a", "b"])
    >>> report.to_frame()[["group", "n", "coverage", "mean_width"]]
      group  n  coverage  mean_width
    0  None  2       0.5         1.5
    1     a  1       1.0         2.0
    2     b  1       0.0         1.0
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

    _row_type = IntervalRow
    _columns = _COLUMNS
    _label = "group"
    _text_keys = ("n",)
    _fraction_keys = ("coverage", "infinite_fraction")
    _repr_keys = ("coverage", "mean_width")
    _strata = (("group_rows", "group", "groups"),)
    _worst_kinds = ("group",)

    @property
    def rows(self) -> tuple[IntervalRow, ...]:
        """All rows: the rows over all samples, then the group rows."""
        return self.level_rows + self.group_rows


def _rows(
    target: Floats, cube: Floats, levels: list[float] | None, group: Any
) -> list[IntervalRow]:
    """One row per level for the samples given."""
    covered, widths = _covered(target, cube), _widths(cube)
    scores = None if levels is None else _interval_scores(target, cube, _alphas(levels))
    return _level_rows(
        partial(IntervalRow, group=group),
        levels,
        {
            "coverage": (covered, np.mean),
            "mean_width": (widths, np.mean),
            "median_width": (widths, np.median),
            "infinite_fraction": (np.isinf(widths), np.mean),
            "interval_score": None if scores is None else (scores, np.mean),
        },
    )


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

    Raises
    ------
    ValueError
        When ``y`` is not finite, a bound is NaN, the shapes do not match, a level is not in
        (0, 1), or the group labels cannot be sorted.

    Notes
    -----
    An interval with ``lower > upper`` is the empty set: it covers nothing, has width 0 (so it
    counts in the mean and median width as 0, and never as infinite) and has the interval score
    documented in :func:`interval_score`.

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
    if groups is not None:
        labels, codes = _as_groups(groups, target.shape[0])
        for g, label in enumerate(labels):
            member = codes == g
            group_rows += _rows(target[member], cube[member], levels, label)
    statistics = ("coverage", "mean_width", "median_width", "infinite_fraction", "interval_score")
    return IntervalReport(
        n=int(target.shape[0]),
        **_level_columns(level_rows, statistics, scalar),
        confidence_level=_given_levels(levels, scalar),
        level_rows=tuple(level_rows),
        group_rows=tuple(group_rows),
        **_worst(group_rows, "group", "group", levels, level_rows, scalar),
    )
