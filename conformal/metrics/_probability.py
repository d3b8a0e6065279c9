"""Calibration of predicted class probabilities."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils.validation import column_or_1d


def expected_calibration_error(
    y_true: ArrayLike,
    y_proba: ArrayLike,
    *,
    classes: ArrayLike | None = None,
    n_bins: int = 15,
) -> float:
    """Top-label expected calibration error with equal-width confidence bins.

    Each sample's confidence is its largest predicted probability and its prediction the class
    of that column (the first on ties). The confidences are put in ``n_bins`` bins of equal
    width, ``((b - 1) / n_bins, b / n_bins]`` (the edges of
    :func:`sklearn.calibration.calibration_curve`), and the error is the sample-weighted mean, over
    bins, of ``|accuracy - mean confidence|`` (Naeini, Cooper and Hauskrecht 2015; Guo et al.
    2017). 0 is perfect calibration; the value depends on ``n_bins``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, one column per class.
    classes : array-like of shape (n_classes,), default=None
        The class of each column (an estimator's ``classes_``). ``None`` means the sorted
        distinct labels of ``y_true``, which must then have ``n_classes`` of them.
    n_bins : int, default=15
        Number of confidence bins.

    Returns
    -------
    ece : float
        In ``[0, 1]``.

    Examples
    --------
    >>> from conformal.metrics import expected_calibration_error
    >>> y = [0, 1, 1, 0]
    >>> proba = [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]]
    >>> round(expected_calibration_error(y, proba, n_bins=5), 3)
    0.25
    """
    labels = column_or_1d(y_true)
    proba = np.asarray(y_proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[0] != labels.shape[0]:
        raise ValueError(
            f"y_proba must have shape (n_samples, n_classes) = ({labels.shape[0]}, n_classes); "
            f"got {proba.shape}. For a binary problem pass both columns of predict_proba."
        )
    if not isinstance(n_bins, Integral) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}.")
    columns: Any = np.unique(labels) if classes is None else np.asarray(classes)
    if columns.shape[0] != proba.shape[1]:
        raise ValueError(
            f"y_proba has {proba.shape[1]} columns but there are {columns.shape[0]} classes "
            f"{columns.tolist()!r}; pass classes= (e.g. the estimator's classes_) to say which "
            "class each column is."
        )
    unknown = np.setdiff1d(labels, columns)
    if unknown.shape[0]:
        raise ValueError(
            f"y_true has label(s) {unknown.tolist()[:5]!r} that are not among the classes "
            f"{columns.tolist()!r} of the columns of y_proba."
        )
    if labels.shape[0] == 0:
        raise ValueError("expected_calibration_error needs at least one sample; got 0.")
    confidence = proba.max(axis=1)
    correct = columns[np.argmax(proba, axis=1)] == labels
    # Right-closed bins on np.linspace edges, as sklearn.calibration.calibration_curve.
    bins = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], confidence)
    count = np.bincount(bins, minlength=n_bins)
    gap = np.abs(
        np.bincount(bins, weights=correct, minlength=n_bins)
        - np.bincount(bins, weights=confidence, minlength=n_bins)
    )
    return float(gap.sum() / labels.shape[0]) if count.any() else 0.0
