"""Metrics for the prediction sets of classifiers: coverage, size, and coverage by stratum.

Sets are boolean arrays as ``predict_set`` returns them: ``(n, n_classes)`` with one column per
class, in ``classes`` order, or ``(n, n_levels, n_classes)`` with one set per confidence level.
The shape rule of the interval metrics carries over: a float for one level, an array of shape
``(n_levels,)`` for several.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..calibration import plain as _plain
from ._validation import Floats, _as_sets, _finish, _levels_for, _set_pair


def _set_cube(values: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """``(n, K)`` sets as ``(n, 1, K)``: one code path for one level and for several."""
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

    Parameters
    ----------
    sets : array-like of bool of shape (n, n_classes) or (n, n_levels, n_classes)
        As ``predict_set`` returns them.

    Returns
    -------
    mean_size : float or ndarray of shape (n_levels,)
        Mean set size; one value per level for ``(n, n_levels, n_classes)`` sets.

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

    Parameters
    ----------
    sets : array-like of bool of shape (n, n_classes) or (n, n_levels, n_classes)
        As ``predict_set`` returns them.

    Returns
    -------
    fraction : float or ndarray of shape (n_levels,)
        Fraction of empty sets, in [0, 1]; one per level for ``(n, n_levels, K)`` sets.

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

    Parameters
    ----------
    sets : array-like of bool of shape (n, n_classes) or (n, n_levels, n_classes)
        As ``predict_set`` returns them.

    Returns
    -------
    fraction : float or ndarray of shape (n_levels,)
        Fraction of sets of size 1, in [0, 1]; one per level for ``(n, n_levels, K)`` sets.

    Examples
    --------
    >>> from conformal.metrics import singleton_fraction
    >>> singleton_fraction([[True, False], [True, True], [False, True]])
    0.6666666666666666
    """
    values = _as_sets(sets)
    return _finish((_set_cube(values).sum(axis=-1) == 1).mean(axis=0), values.ndim == 2)


class SetCoverage(NamedTuple):
    """Coverage, mean set size and number of samples of one stratum of prediction sets.

    Parameters
    ----------
    coverage : float or ndarray of shape (n_levels,)
        Fraction of the stratum's true classes inside their set (per level).
    mean_size : float or ndarray of shape (n_levels,)
        Mean number of classes per set within the stratum (per level).
    n : int
        Number of samples in the stratum.
    """

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
    y : array-like of shape (n,)
        As in :func:`set_coverage`.
    sets : array-like of bool of shape (n, n_classes)
        One level (for ``(n, n_levels, n_classes)`` sets pass ``sets[:, j]``, or use
        :func:`evaluate_sets`).
    classes : array-like of shape (n_classes,), default=None
        As in :func:`set_coverage`.

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


def class_coverage_gap(
    y: ArrayLike,
    sets: ArrayLike,
    classes: ArrayLike | None = None,
    *,
    confidence_level: float | Sequence[float],
) -> float | Floats:
    """Mean over classes of ``|coverage within the class - confidence_level|`` (CovGap).

    The class-conditional coverage gap of Ding et al. (2023): 0 when every class is covered at
    exactly the nominal level. Unlike the worst class of :func:`evaluate_sets` it counts over- and
    under-coverage alike and averages over classes.

    Parameters
    ----------
    y, sets, classes
        As in :func:`set_coverage`.
    confidence_level : float or sequence of float
        The nominal level(s) in (0, 1): a float for ``(n, n_classes)`` sets, a sequence of
        ``n_levels`` floats for ``(n, n_levels, n_classes)``.

    Returns
    -------
    gap : float or ndarray of shape (n_levels,)
        In ``[0, 1]``. The mean is over the classes present in ``y`` (those of
        :func:`coverage_by_class`); a class no target belongs to has no coverage to measure.

    Raises
    ------
    ValueError
        When the sets, labels or classes do not match, or a level is not in (0, 1).

    References
    ----------
    T. Ding, A. N. Angelopoulos, S. Bates, M. I. Jordan and R. J. Tibshirani (2023). Class-
    conditional conformal prediction with many classes. NeurIPS 36.

    Examples
    --------
    >>> from conformal.metrics import class_coverage_gap
    >>> sets = [[True, False], [True, True], [True, False], [False, True]]
    >>> # class 0 covered 1/1, class 1 covered 2/3: (|1 - 0.8| + |2/3 - 0.8|) / 2
    >>> round(class_coverage_gap([0, 1, 1, 1], sets, confidence_level=0.8), 4)
    0.1667
    """
    columns, values = _set_pair(y, sets, classes)
    levels = _levels_for(values.shape, confidence_level, "confidence_level")
    covered = _set_covered(columns, _set_cube(values))
    present = [columns == k for k in np.unique(columns)]
    gaps = []
    for j, level in enumerate(levels):
        # one contiguous (n_classes,) vector per level, so the scalar case sums exactly as
        # np.mean(np.abs(np.array(by_class) - level)) did in the benchmark
        by_class = np.array([float(covered[member, j].mean()) for member in present])
        gaps.append(float(np.mean(np.abs(by_class - level))))
    return _finish(np.array(gaps), values.ndim == 2)
