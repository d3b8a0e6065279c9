"""The set report: coverage and set size over all samples, by true class, by set size and by
group, in one object."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..calibration import plain as _plain
from ._sets import _set_covered, _set_cube
from ._table import _given_levels, _level_columns, _level_rows, _TableReport, _worst
from ._validation import Floats, _as_groups, _levels_for, _set_pair


class SetRow(NamedTuple):
    """Statistics of the prediction sets of one level, over all samples or within a stratum.

    Parameters
    ----------
    by : {"all", "group", "class", "size"}
        The stratification: none, by group, by true class or by set size.
    stratum : label, int or None
        The group label, class label or set size; ``None`` for the rows over all samples.
    level : int
        Position on the level axis of ``(n, L, K)`` sets (0 for ``(n, K)`` sets).
    confidence_level : float or None
        The nominal level of that position, ``None`` if not given.
    n : int
        Number of samples in the row.
    coverage : float
        Fraction of true classes inside their set.
    mean_size : float
        Mean number of classes per set.
    empty_fraction, singleton_fraction : float
        Fraction of empty sets and of sets with exactly one class.
    """

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


@dataclass(frozen=True, eq=False, repr=False)
class SetReport(_TableReport):
    """Coverage and size of a set of prediction sets (see :func:`evaluate_sets`).

    The scalar attributes follow the shape rule of :func:`set_coverage`: floats for ``(n, K)``
    sets, read-only arrays of shape ``(n_levels,)`` for ``(n, n_levels, K)``. Reports are built
    by :func:`evaluate_sets`; each parameter is stored as the attribute of that name.

    Parameters
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

    Methods
    -------
    summary()
        The rows as a plain-text table: one line per level, then by class, size and group.
    to_frame()
        The rows as a tidy pandas DataFrame, one line per (stratum, level), with the fields of
        :class:`SetRow` as columns: ``by`` (``"all"``, ``"class"``, ``"size"``, ``"group"``),
        ``stratum`` (``None`` for the rows over all samples), ``level``, ``confidence_level``
        (NaN when not given), ``n``, ``coverage``, ``mean_size``, ``empty_fraction``,
        ``singleton_fraction``.

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
    >>> report = evaluate_sets([0, 1], [[True, False], [True, True]])
    >>> report.to_frame()[["by", "stratum", "n", "coverage", "mean_size"]]
          by stratum  n  coverage  mean_size
    0    all    None  2       1.0        1.5
    1  class       0  1       1.0        1.0
    2  class       1  1       1.0        2.0
    3   size       1  1       1.0        1.0
    4   size       2  1       1.0        2.0
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

    _row_type = SetRow
    _columns = _SET_COLUMNS
    _label = "stratum"
    _text_keys = ("by", "n")
    _fraction_keys = ("coverage", "empty_fraction", "singleton_fraction")
    _repr_keys = ("coverage", "mean_size")
    _strata = (("class_rows", "class", "classes"), ("group_rows", "group", "groups"))
    _worst_kinds = ("class", "group")

    @property
    def rows(self) -> tuple[SetRow, ...]:
        """All rows: over all samples, then by class, by set size and by group."""
        return self.level_rows + self.class_rows + self.size_rows + self.group_rows


def _set_rows(
    by: str,
    stratum: Any,
    covered: NDArray[np.bool_],
    sizes: NDArray[np.int64],
    levels: list[float] | None,
    only: int | None = None,
) -> list[SetRow]:
    """One row per level for the samples given (``only``: that level alone)."""
    return _level_rows(
        partial(SetRow, by=by, stratum=stratum),
        levels,
        {
            "coverage": (covered, np.mean),
            "mean_size": (sizes, np.mean),
            "empty_fraction": (sizes == 0, np.mean),
            "singleton_fraction": (sizes == 1, np.mean),
        },
        only=only,
    )


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
    levels = None
    if confidence_level is not None:
        levels = _levels_for(values.shape, confidence_level, "confidence_level")
    covered, sizes = _set_covered(columns, cube), cube.sum(axis=-1)
    level_rows = _set_rows("all", None, covered, sizes, levels)
    names = list(range(values.shape[-1])) if classes is None else list(np.asarray(classes))
    class_rows: list[SetRow] = []
    for k in np.unique(columns):
        member = columns == k
        class_rows += _set_rows("class", _plain(names[k]), covered[member], sizes[member], levels)
    size_rows: list[SetRow] = []
    for j in range(cube.shape[1]):
        for s in np.unique(sizes[:, j]):
            member = sizes[:, j] == s
            size_rows += _set_rows("size", int(s), covered[member], sizes[member], levels, only=j)
    group_rows: list[SetRow] = []
    if groups is not None:
        labels, codes = _as_groups(groups, columns.shape[0])
        for g, label in enumerate(labels):
            member = codes == g
            group_rows += _set_rows("group", label, covered[member], sizes[member], levels)
    statistics = ("coverage", "mean_size", "empty_fraction", "singleton_fraction")
    return SetReport(
        n=int(columns.shape[0]),
        **_level_columns(level_rows, statistics, scalar),
        confidence_level=_given_levels(levels, scalar),
        level_rows=tuple(level_rows),
        class_rows=tuple(class_rows),
        size_rows=tuple(size_rows),
        group_rows=tuple(group_rows),
        **_worst(class_rows, "stratum", "class", levels, level_rows, scalar),
        **_worst(group_rows, "stratum", "group", levels, level_rows, scalar),
    )
