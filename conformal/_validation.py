"""Input checks shared by the estimators: one wording for every error."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples, column_or_1d

from .calibration import Level, parse_levels


def check_levels(confidence_level: Any, owner: str) -> tuple[list[Level], bool]:
    """Levels as exact fractions and whether a single level was given (see
    :func:`conformal.calibration.parse_levels`), with the estimator named in errors."""
    levels, scalar = parse_levels(confidence_level, owner=owner)
    return list(levels), scalar


def check_target(y: ArrayLike) -> NDArray[np.float64]:
    """``y`` as a finite 1-D float array (a column vector is accepted with sklearn's warning)."""
    target = column_or_1d(y, warn=True)
    try:
        target = np.asarray(target, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"y must be numeric for regression. Got dtype {np.asarray(y).dtype} instead."
        ) from None
    bad = ~np.isfinite(target)
    if bad.any():
        raise ValueError(
            f"y contains NaN or infinity at {int(bad.sum())} position(s) (first: index "
            f"{int(np.flatnonzero(bad)[0])}); conformal calibration needs a finite target for "
            "every sample: drop or impute those rows."
        )
    return target


def check_same_rows(X: Any, n: int) -> None:
    rows = n_rows(X)
    if rows != n:
        raise ValueError(
            f"X has {rows} rows but y has {n}; they must describe the same samples "
            "(found input variables with inconsistent numbers of samples)."
        )


def check_sample_count(n: int, owner: str) -> None:
    if n < 2:
        raise ValueError(
            f"{owner} needs at least 2 samples to split into training and calibration data; "
            f"got {n} sample."
        )


def seed_from(random_state: Any) -> int | None:
    """An integer seed drawn from ``random_state`` without advancing the user's generator."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return None if random_state is None else int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(copy.deepcopy(random_state).integers(2**31 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(copy.deepcopy(random_state).randint(2**31 - 1))
    raise ValueError(
        "random_state must be None, an int, a numpy Generator or a RandomState. "
        f"Got {random_state!r} instead."
    )


def is_frozen(estimator: Any) -> bool:
    """Whether ``estimator`` (or every element of a sequence of them) is a FrozenEstimator."""
    if isinstance(estimator, (list, tuple)):
        return len(estimator) > 0 and all(isinstance(e, FrozenEstimator) for e in estimator)
    return isinstance(estimator, FrozenEstimator)


def check_refittable(estimator: Any, owner: str, refits: str, instead: str) -> None:
    """A ValueError if ``estimator`` is frozen: ``owner`` must refit it (``refits`` says on what)
    and ``instead`` names the estimator that takes an already fitted model."""
    if is_frozen(estimator):
        raise ValueError(
            f"{owner} refits {refits}, which a FrozenEstimator cannot do; for a model that is "
            f"already fitted use {instead}."
        )


def split_indices(
    n: int,
    calibration_size: float | int,
    random_state: Any,
    *,
    shuffle: bool = True,
    positions: NDArray[np.intp] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Indices of the training and calibration parts, each sorted.

    ``shuffle=False`` is the ordered split of time-ordered data: the most recent rows (by
    ``positions``, each row's place in time order; the row order when ``None``) calibrate and the
    older ones train, as a model deployed on the future would be calibrated.
    """
    index = np.arange(n)
    size = calibration_size
    n_calibration = int(size) if isinstance(size, (int, np.integer)) else int(np.ceil(size * n))
    if not 1 <= n_calibration <= n - 1:
        raise ValueError(
            f"calibration_size={calibration_size!r} leaves {n_calibration} of the {n} samples for "
            f"calibration and {n - n_calibration} for training; both need at least one. Use a "
            f"fraction in (0, 1) or an int from 1 to {n - 1}."
        )
    if not shuffle:
        order = index if positions is None else np.argsort(positions, kind="stable")
        return np.sort(order[: n - n_calibration]), np.sort(order[n - n_calibration :])
    train, calibration = train_test_split(
        index, test_size=calibration_size, random_state=seed_from(random_state)
    )
    return np.sort(train), np.sort(calibration)


def as_rows(X: Any) -> Any:
    """``X`` in a form whose rows can be taken: DataFrames, arrays and lists as they are (column
    names survive), sparse matrices as CSR, other array-likes as arrays. Rejects 1-D ``X``."""
    if sp.issparse(X):
        return X if X.format in ("csr", "csc") else X.tocsr()
    if not (hasattr(X, "iloc") or isinstance(X, (np.ndarray, list))):
        X = np.asarray(X)
    if np.ndim(X) == 1 if isinstance(X, list) else len(X.shape) == 1:
        raise ValueError(
            "Expected a 2D array, got a 1D array instead. Reshape your data either using "
            "array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) if it "
            "contains a single sample."
        )
    return X


def n_rows(X: Any) -> int:
    return int(_num_samples(X))


def take(data: Any, index: Sequence[int] | NDArray) -> Any:
    """Rows of arrays, lists, sparse matrices or DataFrames (DataFrames keep their columns)."""
    if type(data) is np.ndarray:
        # The common case, without _safe_indexing's dataframe-library probing (half of the
        # conformal layer's own time when a leave-one-out fit takes rows n times).
        return data[np.asarray(index, dtype=np.intp)]
    return _safe_indexing(data, index)


def check_sample_weight(
    sample_weight: ArrayLike | None, n: int, name: str = "sample_weight"
) -> NDArray[np.float64] | None:
    """``None``, or ``n`` finite non-negative weights (checked at fit, for every row)."""
    if sample_weight is None:
        return None
    from .calibration._weights import check_weights

    return check_weights(sample_weight, n, name)


def check_flag(value: Any, name: str) -> bool:
    """``value`` as a bool, refusing strings and numbers (``smoothed="yes"`` is a mistake that
    ``if value`` would take as True)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False. Got {value!r} instead.")
