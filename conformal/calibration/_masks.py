"""Missing-data calibration by mask (CP-MDA; Zaffran, Dieuleveut, Josse and Romano, 2023).

Learner-free: calibration masks (which features each calibration point misses) in; groups of
test points sharing a mask, the calibration points compatible with a mask, the deduplicated
augmented masks, and the order statistics of CP-MDA-Exact and CP-MDA-Nested out. The estimator
(:class:`conformal.missing.MissingDataConformalRegressor`) supplies the scores of the augmented
points; nothing here imputes or predicts.

Conventions (``a = 1 - confidence_level``):

- a mask is a boolean row, ``True`` where the feature is missing; ``m1`` is included in ``m2``
  when every feature missing in ``m1`` is missing in ``m2``;
- Exact: the threshold of a test mask ``m`` is the ``ceil((1 - a)(n_m + 1))``-th smallest of the
  ``n_m`` scores of the calibration points whose mask is included in ``m`` (each masked to ``m``),
  ``+inf`` past ``n_m``; it depends on ``m`` only, so it is computed once per distinct mask;
- Nested: with the values ``lo_k - s_k`` and ``hi_k + s_k`` of every calibration point ``k``
  (``n`` of them, none discarded), the lower bound is the ``floor(a (n + 1))``-th smallest of the
  former (``-inf`` at rank 0) and the upper bound the ``ceil((1 - a)(n + 1))``-th smallest of the
  latter (``+inf`` past ``n``).

References
----------
M. Zaffran, A. Dieuleveut, J. Josse and Y. Romano (2023). Conformal prediction with missing
values. Proceedings of the 40th International Conference on Machine Learning (ICML), PMLR 202.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..exceptions import warn_conformal
from ._calibrator import TestContext
from ._levels import Level, conformal_rank, min_calibration_size, parse_levels, warn_too_few

__all__ = ["MaskCalibration", "check_masks", "describe_mask", "mask_groups", "row_blocks"]

Floats = NDArray[np.float64]
Masks = NDArray[np.bool_]


def check_masks(masks: ArrayLike, name: str = "masks", n_features: int | None = None) -> Masks:
    """``masks`` as a C-contiguous boolean ``(m, p)`` array.

    Raises
    ------
    ValueError
        When ``masks`` is not 2-D, or has a number of columns other than ``n_features``.
    """
    values = np.ascontiguousarray(masks, dtype=bool)
    if values.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D boolean array, one row per point (True where a feature is "
            f"missing). Got shape {values.shape} instead."
        )
    if n_features is not None and values.shape[1] != n_features:
        raise ValueError(
            f"{name} has {values.shape[1]} columns; expected {n_features}, one per feature."
        )
    return values


def mask_groups(masks: ArrayLike) -> tuple[Masks, NDArray[np.intp]]:
    """The distinct masks (sorted) and the index of each row's mask among them.

    Parameters
    ----------
    masks : array-like of bool of shape (m, p)

    Returns
    -------
    unique : ndarray of bool of shape (u, p)
    inverse : ndarray of int of shape (m,)
        ``unique[inverse]`` equals ``masks``.

    Examples
    --------
    >>> from conformal.calibration._masks import mask_groups
    >>> unique, inverse = mask_groups([[0, 1], [0, 0], [0, 1]])
    >>> unique.astype(int).tolist(), inverse.tolist()
    ([[0, 0], [0, 1]], [1, 0, 1])
    """
    values = check_masks(masks)
    if values.shape[0] == 0:
        return values.copy(), np.zeros(0, dtype=np.intp)
    unique, inverse = np.unique(values, axis=0, return_inverse=True)
    return np.ascontiguousarray(unique), inverse.reshape(-1).astype(np.intp)


def describe_mask(mask: NDArray[np.bool_], names: Sequence[str] | None = None) -> str:
    """``"the mask with features [1, 4] missing"`` (names when given; at most 8 shown)."""
    missing = np.flatnonzero(mask)
    if missing.size == 0:
        return "the mask with no feature missing"
    shown = [names[j] if names is not None else int(j) for j in missing[:8]]
    more = f" and {missing.size - 8} more" if missing.size > 8 else ""
    return f"the mask with features {shown}{more} missing"


class MaskCalibration:
    """The masks of the calibration points, answering what CP-MDA needs of them.

    Parameters
    ----------
    masks : array-like of bool of shape (n, p)
        ``True`` where a calibration point misses a feature.
    feature_names : sequence of str, default=None
        Names of the ``p`` features, for warnings (indices otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.calibration._masks import MaskCalibration
    >>> cal = MaskCalibration([[0, 0], [1, 0], [0, 1], [1, 1]])
    >>> cal.compatible(np.array([True, False])).tolist()     # masks included in [1, 0]
    [0, 1]
    >>> unique, inverse = cal.augmented(np.array([True, False]))
    >>> unique.astype(int).tolist(), inverse.tolist()          # [0,0]|m == [1,0]|m
    ([[1, 0], [1, 1]], [0, 0, 1, 1])
    >>> cal.exact_thresholds([np.arange(1.0, 10.0), np.arange(3.0)], [0.9], warn=False)
    array([[ 9.],
           [inf]])
    """

    def __init__(self, masks: ArrayLike, feature_names: Sequence[str] | None = None) -> None:
        self.masks = check_masks(masks)
        self.n_calibration, self.n_features = self.masks.shape
        self.feature_names = None if feature_names is None else list(feature_names)

    def __repr__(self) -> str:
        return f"MaskCalibration(n_calibration={self.n_calibration}, n_features={self.n_features})"

    def groups(self, test: TestContext) -> tuple[Masks, NDArray[np.intp]]:
        """The distinct test masks of ``test.masks`` and each test point's group (see
        :func:`mask_groups`)."""
        if test.masks is None:
            raise ValueError("mask calibration needs the test masks: TestContext(masks=...).")
        return mask_groups(check_masks(test.masks, "test masks", self.n_features))

    def compatible(self, mask: NDArray[np.bool_]) -> NDArray[np.intp]:
        """Indices of the calibration points whose mask is included in ``mask`` (they observe
        every feature the test point observes), in calibration order."""
        return np.flatnonzero(~(self.masks & ~np.asarray(mask, dtype=bool)).any(axis=1))

    def augmented(self, mask: NDArray[np.bool_]) -> tuple[Masks, NDArray[np.intp]]:
        """The distinct augmented masks ``M_k | mask`` and each calibration point's among them
        (Nested: the test point needs one prediction per distinct augmented mask, not per
        calibration point)."""
        return mask_groups(self.masks | np.asarray(mask, dtype=bool))

    # ------------------------------------------------------------------ Exact

    def exact_thresholds(
        self,
        scores: Sequence[ArrayLike],
        levels: Any,
        *,
        masks: ArrayLike | None = None,
        warn: bool = True,
        outcome: str = "infinite intervals",
    ) -> Floats:
        """CP-MDA-Exact thresholds, one row per distinct test mask.

        Parameters
        ----------
        scores : sequence of u array-likes of shape (n_j,)
            The scores of the calibration points compatible with each mask, masked to it.
        levels : float or sequence of float
        masks : array-like of bool of shape (u, p), default=None
            The masks, named in the warning.
        warn : bool, default=True
            One :class:`~conformal.ConformalWarning` naming the masks with too few compatible
            points and their counts.
        outcome : str, default="infinite intervals"

        Returns
        -------
        thresholds : ndarray of shape (u, L)
        """
        parsed = list(parse_levels(levels)[0])
        out = np.empty((len(scores), len(parsed)))
        counts = np.empty(len(scores), dtype=np.int64)
        for j, values in enumerate(scores):
            column = np.asarray(values, dtype=np.float64).ravel()
            if np.isnan(column).any():
                raise ValueError("scores contains NaN; conformity scores must be numbers.")
            n = column.shape[0]
            counts[j] = n
            padded = np.concatenate([[-np.inf], np.sort(column), [np.inf]])
            ranks = [min(conformal_rank(n, lv), n + 1) for lv in parsed]
            out[j] = padded[ranks]
        if warn:
            self._warn_exact(counts, parsed, masks, outcome)
        return out

    def _warn_exact(
        self,
        counts: NDArray[np.int64],
        levels: Sequence[Level],
        masks: ArrayLike | None,
        outcome: str,
    ) -> None:
        worst = max(levels, key=min_calibration_size)
        needed = min_calibration_size(worst)
        short = np.flatnonzero(counts < needed)
        if short.size == 0:
            return
        shown_masks = None if masks is None else check_masks(masks)
        parts = []
        for j in short[:5]:
            what = (
                f"test mask {j}"
                if shown_masks is None
                else describe_mask(shown_masks[j], self.feature_names)
            )
            k = int(counts[j])
            parts.append(f"{what} has {k} compatible calibration point{'s' if k != 1 else ''}")
        more = f" (and {short.size - 5} more mask(s))" if short.size > 5 else ""
        warn_conformal(
            f"CP-MDA-Exact: {'; '.join(parts)}{more}; confidence_level={float(worst):g} needs "
            f"at least {needed} calibration points whose missing features are all missing in "
            f"the test point (or returns {outcome}). Use method='nested' (never infinite for "
            "such masks), more calibration data, or a lower level."
        )

    # ------------------------------------------------------------------ Nested

    def nested_bounds(
        self, lower_values: ArrayLike, upper_values: ArrayLike, levels: Any, *, warn: bool = True
    ) -> Floats:
        """CP-MDA-Nested bounds from the ``(g, n)`` values of a group of test points.

        Parameters
        ----------
        lower_values : array-like of shape (g, n)
            ``lo(x, m~_k) - s_k`` for each test point and calibration point (rounded outward by
            the caller's score object).
        upper_values : array-like of shape (g, n)
            ``hi(x, m~_k) + s_k``.
        levels : float or sequence of float
        warn : bool, default=True
            Warn (the calibration-size warning) when ``n`` is too small for a level.

        Returns
        -------
        intervals : ndarray of shape (g, L, 2)
        """
        parsed = list(parse_levels(levels)[0])
        lower = np.asarray(lower_values, dtype=np.float64)
        upper = np.asarray(upper_values, dtype=np.float64)
        if lower.shape != upper.shape or lower.ndim != 2:
            raise ValueError(
                "lower_values and upper_values must both have shape (g, n); got "
                f"{lower.shape} and {upper.shape}."
            )
        g, n = lower.shape
        if warn:
            warn_too_few(n, parsed, what="infinite bounds")
        out = np.empty((g, len(parsed), 2))
        lower_sorted = np.concatenate([np.full((g, 1), -np.inf), np.sort(lower, axis=1)], axis=1)
        upper_sorted = np.concatenate([np.sort(upper, axis=1), np.full((g, 1), np.inf)], axis=1)
        for k, lv in enumerate(parsed):
            lo_rank = conformal_rank(n, lv, side="lower")  # 0 means -inf
            hi_rank = min(conformal_rank(n, lv), n + 1)  # n + 1 means +inf
            out[:, k, 0] = lower_sorted[:, lo_rank]
            out[:, k, 1] = upper_sorted[:, hi_rank - 1]
        return out


def row_blocks(n_rows: int, row_cost: int, budget: int = 4_000_000) -> Iterator[slice]:
    """Row blocks of at most ``budget // row_cost`` rows (at least one): the memory bound of
    Nested is (block rows x n_calibration) values."""
    size = max(1, budget // max(1, row_cost))
    for start in range(0, n_rows, size):
        yield slice(start, min(n_rows, start + size))
