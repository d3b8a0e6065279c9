"""Folds of the cross-conformal estimators (regression and classification): the one cv
resolver, each point's fold, the parallel fits, the fold predictions in row blocks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from numpy.typing import NDArray
from sklearn.base import clone
from sklearn.model_selection import KFold, LeaveOneOut, StratifiedKFold, check_cv

from ._blocks import block_slices
from ._validation import n_rows, seed_from, take
from .base import fit_with_weights

Split = tuple[NDArray[np.intp], NDArray[np.intp]]


def resolve_splits(
    cv: Any,
    X: Any,
    y: NDArray,
    random_state: Any,
    *,
    classes: NDArray | None = None,
    groups: Any = None,
) -> list[Split]:
    """The (train, calibration) index pairs of ``cv``: the package's one cv resolver.

    Parameters
    ----------
    cv : None, int, "loo", splitter or iterable of (train, test) pairs
        An int is ``KFold(cv, shuffle=True)`` seeded by ``random_state`` (``None`` is 5 folds,
        as in scikit-learn); with ``classes`` given, ``StratifiedKFold`` when every class has
        at least ``cv`` members. ``"loo"`` is leave-one-out. A splitter (``GroupKFold`` too) or
        an iterable of splits is used as given.
    X, y : the data the splitter sees.
    random_state : int, Generator, RandomState or None
    classes : ndarray of int of shape (n,), default=None
        Class codes (classification): stratify integer ``cv`` when possible.
    groups : array-like of shape (n,), default=None
        Passed to the splitter's ``split(X, y, groups)``, as scikit-learn routes CV groups
        (``GroupKFold``, ``LeaveOneGroupOut``...).

    Raises
    ------
    ValueError
        When ``cv`` asks for more folds than samples, or a group splitter gets no groups.
    """
    n = y.shape[0]
    if cv is None or isinstance(cv, (int, np.integer)):
        folds = 5 if cv is None else int(cv)
        if folds > n:
            raise ValueError(
                f"cv={folds} folds need at least {folds} samples; got {n} "
                f"sample{'s' if n != 1 else ''}. Use fewer folds or cv='loo'."
            )
        seed = seed_from(random_state)
        stratified = classes is not None and int(np.bincount(classes).min()) >= folds
        splitter: Any = (StratifiedKFold if stratified else KFold)(
            folds, shuffle=True, random_state=seed
        )
    elif isinstance(cv, str):  # "loo": the only string the constraints let through
        splitter = LeaveOneOut()
    else:
        splitter = check_cv(cv, classes, classifier=classes is not None)
    target = y if classes is None else classes
    if groups is not None and np.shape(groups)[:1] != (n,):
        raise ValueError(
            f"groups (the CV groups passed to fit) has shape {np.shape(groups)}; expected ({n},), "
            "one group label per sample given to fit."
        )
    try:
        pairs = list(splitter.split(X, target, groups))
    except ValueError as error:
        if groups is None and "groups" in str(error):
            raise ValueError(
                f"cv={cv!r} splits by groups and needs them: pass groups=... to fit (one label "
                "per sample, as scikit-learn's cross_validate(groups=...) does)."
            ) from None
        raise
    return [
        (np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp)) for train, test in pairs
    ]


def fold_assignment(splits: Sequence[Split], n: int) -> NDArray[np.int64]:
    """The fold whose calibration part holds each point; the splits must partition the points
    and never train on the points they calibrate."""
    fold_of = np.full(n, -1, dtype=np.int64)
    seen = np.zeros(n, dtype=np.int64)
    held_out = np.zeros(n, dtype=bool)
    for k, (train, calibration) in enumerate(splits):
        # A mask instead of np.intersect1d: no sort, which matters with n leave-one-out splits.
        held_out[calibration] = True
        overlap = held_out[train].any()
        held_out[calibration] = False
        if overlap:
            raise ValueError(
                f"cv split {k} trains on samples it holds out; each split's training and test "
                "indices must be disjoint."
            )
        np.add.at(seen, calibration, 1)
        fold_of[calibration] = k
    if (seen != 1).any():
        bad = int(np.flatnonzero(seen != 1)[0])
        raise ValueError(
            "cv must put every sample in exactly one test fold (a partition, as KFold and "
            f"LeaveOneOut do); sample {bad} is in {int(seen[bad])} test folds. For repeated or "
            "random splits use JackknifeAfterBootstrapRegressor."
        )
    return fold_of


def _fit_one(
    estimator: Any, X: Any, y: NDArray, rows: NDArray[np.intp], sample_weight: NDArray | None
) -> Any:
    weights = None if sample_weight is None else sample_weight[rows]
    return fit_with_weights(estimator, take(X, rows), y[rows], weights)


def fit_on_rows(
    estimators: Iterable[Any],
    X: Any,
    y: NDArray,
    rows: Iterable[NDArray],
    n_jobs: int | None,
    sample_weight: NDArray | None = None,
) -> list[Any]:
    """Clones of each estimator fitted on its rows of ``(X, y)`` (and of ``sample_weight``,
    routed to the model's ``fit``), through joblib, so that a ``joblib.parallel_config``
    backend (dask, ray) runs the fits where it runs them."""
    jobs = (
        delayed(_fit_one)(clone(est), X, y, r, sample_weight)
        for est, r in zip(estimators, rows, strict=True)
    )
    return list(Parallel(n_jobs=n_jobs)(jobs))


def predict_columns(models: Sequence[Any], X: Any) -> NDArray[np.float64]:
    """``(n_rows, len(models))``: each model's prediction at each row of ``X``."""
    return np.column_stack([np.asarray(m.predict(X), dtype=np.float64).ravel() for m in models])


def row_blocks(X: Any, n_columns: int) -> Iterator[tuple[slice, Any]]:
    """``(rows, X[rows])`` in blocks whose ``(rows, n_columns)`` float64 matrices stay under
    :data:`~conformal._blocks.BLOCK_BYTES`; ``X`` itself when one block holds it all."""
    n = n_rows(X)
    for rows in block_slices(n, n_columns):
        if rows.start == 0 and rows.stop == n:
            yield rows, X
        else:
            yield rows, take(X, np.arange(rows.start, rows.stop))
