"""Folds of the cross-conformal estimators: the splits, each point's fold, the parallel fits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from numpy.typing import NDArray
from sklearn.base import clone
from sklearn.model_selection import KFold, LeaveOneOut, check_cv

from .._validation import n_rows, seed_from, take
from ._plus import row_chunks

Split = tuple[NDArray[np.intp], NDArray[np.intp]]


def resolve_splits(cv: Any, X: Any, y: NDArray, random_state: Any) -> list[Split]:
    """The (train, calibration) index pairs of ``cv``.

    An int is ``KFold(cv, shuffle=True)`` seeded by ``random_state`` (``None`` is 5 folds, as in
    scikit-learn); ``"loo"`` is leave-one-out; a splitter or an iterable of splits is used as
    given.
    """
    n = y.shape[0]
    if cv is None or isinstance(cv, (int, np.integer)):
        folds = 5 if cv is None else int(cv)
        if folds > n:
            raise ValueError(
                f"cv={folds} folds need at least {folds} samples; got {n} "
                f"sample{'s' if n != 1 else ''}. Use fewer folds or cv='loo'."
            )
        splitter: Any = KFold(folds, shuffle=True, random_state=seed_from(random_state))
    elif isinstance(cv, str):  # "loo": the only string the constraints let through
        splitter = LeaveOneOut()
    else:
        splitter = check_cv(cv)
    return [
        (np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp))
        for train, test in splitter.split(X, y)
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


def _fit_one(estimator: Any, X: Any, y: NDArray, rows: NDArray[np.intp]) -> Any:
    return estimator.fit(take(X, rows), y[rows])


def fit_on_rows(
    estimators: Iterable[Any], X: Any, y: NDArray, rows: Iterable[NDArray], n_jobs: int | None
) -> list[Any]:
    """Clones of each estimator fitted on its rows of ``(X, y)``, through joblib, so that a
    ``joblib.parallel_config`` backend (dask, ray) runs the fits where it runs them."""
    jobs = (delayed(_fit_one)(clone(est), X, y, r) for est, r in zip(estimators, rows, strict=True))
    return list(Parallel(n_jobs=n_jobs)(jobs))


def predict_columns(models: Sequence[Any], X: Any) -> NDArray[np.float64]:
    """``(n_rows, len(models))``: each model's prediction at each row of ``X``."""
    return np.column_stack([np.asarray(m.predict(X), dtype=np.float64).ravel() for m in models])


def row_blocks(X: Any, n_columns: int) -> Iterator[tuple[slice, Any]]:
    """``(rows, X[rows])`` in blocks whose ``(rows, n_columns)`` float64 matrices stay under
    :data:`~conformal.regression._plus.CHUNK_BYTES`; ``X`` itself when one block holds it all."""
    n = n_rows(X)
    for rows in row_chunks(n, n_columns):
        if rows.start == 0 and rows.stop == n:
            yield rows, X
        else:
            yield rows, take(X, np.arange(rows.start, rows.stop))
