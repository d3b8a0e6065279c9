"""Input checks shared by the metrics: targets, intervals, levels, groups and prediction sets.

Every helper returns new arrays (inputs are never modified) and raises a ``ValueError`` that says
what was expected, what was given and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..calibration import exact_level
from ..calibration import plain as _plain

Floats = NDArray[np.float64]


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
    """Intervals as a float array of shape (n, 2) or (n, L, 2), ``[lower, upper]`` on the last axis.

    NaN bounds are refused. ``lower > upper`` is accepted: it is the empty interval (conformalized
    quantile regression returns one when its correction is negative), which the metrics score as
    covering nothing with width 0. Swapping its bounds would turn it into a different, non-empty
    interval, so it is not an input error.
    """
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


def _finish(values: Floats, scalar: bool) -> float | Floats:
    """The shape rule on the way out: a float for one level, an ``(L,)`` array for several."""
    return float(values[0]) if scalar else np.asarray(values, dtype=np.float64)


# Sets are boolean arrays as predict_set returns them: (n, K) with one column per class, or
# (n, L, K) with one set per confidence level.


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
