"""Plus intervals of the cross-conformal family (jackknife+, CV+, J+aB) without the n_test x n
matrix that a direct implementation builds.

With out-of-fold scores ``R_i`` and, at a test point ``x``, the centre ``c_{k(i)}(x)`` of the model
that did not see point ``i`` (Barber et al. 2021):

- lower bound: the ``floor(a (n + 1))``-th smallest of ``c_{k(i)}(x) - R_i`` (``-inf`` if 0);
- upper bound: the ``ceil((1 - a)(n + 1))``-th smallest of ``c_{k(i)}(x) + R_i`` (``+inf`` if
  above n).

The lower bound is computed as ``-(the (n + 1 - r)-th smallest of -c + R)``, exactly the same
numbers negated. With few folds the kernel selects across the folds' sorted scores
(:func:`~conformal._kernels.quantile.union_order_statistics`); with many (leave-one-out,
bootstrap) it streams each test point's n values (``shifted_order_statistics``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .._blocks import use_union
from .._kernels.quantile import (
    shifted_order_statistics,
    union_order_statistics,
    weighted_shifted_quantiles,
    weighted_union_quantiles,
)
from ._levels import Level, conformal_rank

# Relative slack when comparing running sums of float weights with a target mass (as in the
# calibrator's weighted thresholds).
WEIGHT_RTOL = 1e-12


class PlusCalibration:
    """Out-of-fold scores with the fold of each point, sorted once for the union kernel.

    Parameters
    ----------
    scores : ndarray of shape (n,)
        Out-of-fold conformity scores ``R_i``.
    fold_of : ndarray of shape (n,)
        Column of the centres matrix (the fold model) that belongs to each point.
    n_folds : int
        Number of columns of the centres matrices passed to :meth:`intervals`.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.calibration._plus import PlusCalibration
    >>> cal = PlusCalibration(np.arange(1.0, 10.0), np.arange(9) % 3, 3)
    >>> cal.intervals(np.array([[0.0, 0.0, 0.0]]), [0.9])  # 9 points: the 9th value
    array([[[-9.,  9.]]])
    """

    def __init__(self, scores: NDArray[np.float64], fold_of: NDArray, n_folds: int) -> None:
        self.scores = np.ascontiguousarray(scores, dtype=np.float64)
        self.fold_of = np.ascontiguousarray(fold_of, dtype=np.int64)
        self.n_folds = int(n_folds)
        self.union = use_union(self.scores.shape[0], self.n_folds)
        if self.union:
            order = np.lexsort((self.scores, self.fold_of))
            self.sorted_scores = np.ascontiguousarray(self.scores[order])
            folds = np.arange(self.n_folds + 1)
            self.starts = np.searchsorted(self.fold_of[order], folds).astype(np.int64)

    def ranks(self, levels: Sequence[Level]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Ranks for the kernel: upper bounds, and mirrored lower bounds (``n + 1 - r``).

        Parameters
        ----------
        levels : sequence of float or Fraction
            Confidence levels in (0, 1), already parsed.

        Returns
        -------
        upper : ndarray of int64, shape (n_levels,)
            Rank of each upper bound among ``c + R_i``.
        lower : ndarray of int64, shape (n_levels,)
            Rank of each lower bound among ``-(c - R_i)`` (mirrored).
        """
        n = self.scores.shape[0]
        upper = [conformal_rank(n, lv, side="upper") for lv in levels]
        lower = [n + 1 - conformal_rank(n, lv, side="lower") for lv in levels]
        return np.array(upper, dtype=np.int64), np.array(lower, dtype=np.int64)

    def _select(self, centers: NDArray, sign: float, ranks: NDArray[np.int64]) -> NDArray:
        centers = np.ascontiguousarray(centers, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[1] != self.n_folds:
            raise ValueError(
                f"centres must have shape (n_test, {self.n_folds}); got {centers.shape}."
            )
        if self.union:
            return union_order_statistics(self.sorted_scores, self.starts, centers, sign, ranks)
        return shifted_order_statistics(centers, self.fold_of, self.scores, sign, ranks)

    def lower(self, centers: NDArray, levels: Sequence[Level]) -> NDArray[np.float64]:
        """Lower plus bounds ``(n_test, n_levels)``: the ``floor(a (n + 1))``-th smallest of
        ``c_{k(i)}(x) - R_i``.

        Parameters
        ----------
        centers : ndarray of shape (n_test, n_folds)
            Value of each fold's model at each test point.
        levels : sequence of float or Fraction
            Confidence levels in (0, 1), already parsed.

        Returns
        -------
        ndarray of shape (n_test, n_levels)
            The bounds; ``-inf`` where ``n`` is too small for the level.
        """
        return -self._select(centers, -1.0, self.ranks(levels)[1])

    def upper(self, centers: NDArray, levels: Sequence[Level]) -> NDArray[np.float64]:
        """Upper plus bounds ``(n_test, n_levels)``: the ``ceil((1 - a)(n + 1))``-th smallest of
        ``c_{k(i)}(x) + R_i``.

        Parameters
        ----------
        centers : ndarray of shape (n_test, n_folds)
            Value of each fold's model at each test point.
        levels : sequence of float or Fraction
            Confidence levels in (0, 1), already parsed.

        Returns
        -------
        ndarray of shape (n_test, n_levels)
            The bounds; ``+inf`` where ``n`` is too small for the level.
        """
        return self._select(centers, 1.0, self.ranks(levels)[0])

    def intervals(
        self,
        lower_centers: NDArray,
        levels: Sequence[Level],
        upper_centers: NDArray | None = None,
    ) -> NDArray[np.float64]:
        """Plus intervals ``(n_test, n_levels, 2)``.

        ``lower_centers`` (and ``upper_centers``, the same by default) are ``(n_test, K)``: the
        value of each fold's model at each test point. Infinite bounds come without a warning;
        the caller warns once per call (see :func:`conformal.calibration.warn_too_few`).

        Parameters
        ----------
        lower_centers : ndarray of shape (n_test, n_folds)
            Fold models' values for the lower bounds.
        levels : sequence of float or Fraction
            Confidence levels in (0, 1), already parsed.
        upper_centers : ndarray of shape (n_test, n_folds), default=None
            Fold models' values for the upper bounds; ``lower_centers`` if None.

        Returns
        -------
        ndarray of shape (n_test, n_levels, 2)
            Lower and upper bound of each test point at each level.
        """
        upper_centers = lower_centers if upper_centers is None else upper_centers
        return np.stack(
            [self.lower(lower_centers, levels), self.upper(upper_centers, levels)], axis=-1
        )


class WeightedPlusCalibration(PlusCalibration):
    """Plus intervals with calibration weights and a weight per test point (weighted
    jackknife+ / CV+ under covariate shift or drift; Barber, Candes, Ramdas and Tibshirani 2023,
    Section 5; Tibshirani et al. 2019 for the likelihood-ratio weights).

    At level ``1 - a`` the upper bound is the weighted ``(1 - a)`` quantile of the values
    ``c_{k(i)}(x) + R_i`` with weights ``w_i`` and the test point's weight at ``+inf``; the lower
    bound mirrors it (the weighted quantile of ``-c_{k(i)}(x) + R_i``, negated; the test mass at
    ``-inf``). Unit weights give the unweighted plus bounds exactly.

    Parameters
    ----------
    scores : ndarray of shape (n,)
        Out-of-fold conformity scores ``R_i``.
    fold_of : ndarray of shape (n,)
        Column of the centres matrix (the fold model) that belongs to each point.
    n_folds : int
        Number of columns of the centres matrices.
    weights : ndarray of shape (n,)
        Non-negative calibration weights, already on the scale the caller chose (see
        :mod:`conformal.calibration._weights`).

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.calibration._plus import WeightedPlusCalibration
    >>> cal = WeightedPlusCalibration(np.arange(1.0, 10.0), np.arange(9) % 3, 3, np.ones(9))
    >>> cal.weighted_intervals(np.zeros((1, 3)), [0.9], None, np.ones(1))  # as unweighted
    array([[[-9.,  9.]]])
    """

    def __init__(
        self,
        scores: NDArray[np.float64],
        fold_of: NDArray,
        n_folds: int,
        weights: NDArray[np.float64],
    ) -> None:
        super().__init__(scores, fold_of, n_folds)
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        if self.union:
            order = np.lexsort((self.scores, self.fold_of))
            cumulative = np.empty(self.scores.shape[0])
            ordered = self.weights[order]
            for k in range(self.n_folds):  # running sums restart at each fold
                block = slice(self.starts[k], self.starts[k + 1])
                cumulative[block] = np.cumsum(ordered[block])
            self.cumulative = cumulative

    def _weighted_select(
        self, centers: NDArray, sign: float, test_weights: NDArray, levels: NDArray
    ) -> NDArray[np.float64]:
        centers = np.ascontiguousarray(centers, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[1] != self.n_folds:
            raise ValueError(
                f"centres must have shape (n_test, {self.n_folds}); got {centers.shape}."
            )
        tw = np.ascontiguousarray(test_weights, dtype=np.float64)
        if self.union:
            return weighted_union_quantiles(
                self.sorted_scores,
                self.cumulative,
                self.starts,
                centers,
                sign,
                tw,
                levels,
                WEIGHT_RTOL,
            )
        return weighted_shifted_quantiles(
            centers, self.fold_of, self.scores, self.weights, sign, tw, levels, WEIGHT_RTOL
        )

    def weighted_intervals(
        self,
        lower_centers: NDArray,
        levels: Sequence[Level],
        upper_centers: NDArray | None,
        test_weights: NDArray,
    ) -> NDArray[np.float64]:
        """Weighted plus intervals ``(n_test, n_levels, 2)``.

        Parameters
        ----------
        lower_centers, upper_centers : ndarray of shape (n_test, n_folds)
            Each fold model's value at each test point (``upper_centers`` defaults to the lower
            ones).
        levels : sequence of float or Fraction
            Confidence levels of each bound (already one-sided where the caller splits ``a``).
        upper_centers : ndarray or None
        test_weights : ndarray of shape (n_test,) or (1,)
            Each test point's weight (one shared value broadcast).

        Returns
        -------
        ndarray of shape (n_test, n_levels, 2)
            ``+-inf`` where the calibration mass cannot reach a level.
        """
        upper_centers = lower_centers if upper_centers is None else upper_centers
        m = np.asarray(lower_centers).shape[0]
        tw = np.broadcast_to(np.asarray(test_weights, dtype=np.float64), (m,))
        values = np.array([float(lv) for lv in levels], dtype=np.float64)
        lower = -self._weighted_select(lower_centers, -1.0, tw, values)
        upper = self._weighted_select(upper_centers, 1.0, tw, values)
        return np.stack([lower, upper], axis=-1)
