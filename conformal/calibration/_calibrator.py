"""The stateful, learner-free calibrator: scores (with weights, groups, folds) sorted once,
queried for thresholds, ranks, plus bounds and p-values with a per-call test context.

Conventions (``a = 1 - confidence_level``, ``n`` calibration scores):

- upper threshold: the ``ceil((1 - a)(n + 1))``-th smallest score, ``+inf`` when that rank
  exceeds ``n``; lower threshold: the ``floor(a (n + 1))``-th smallest, ``-inf`` when that rank is
  0 (Vovk et al. 2005; Lei et al. 2018);
- weighted threshold: the ``(1 - a)`` quantile of the calibration scores weighted by ``weights``
  plus the test point's own weight placed at ``+inf`` (Tibshirani et al. 2019; Barber et al.
  2023); with unit weights it equals the unweighted threshold. See
  :mod:`conformal.calibration._weights` for the scale of the weights;
- Mondrian: each test point is calibrated on the scores of its own cell (group); a cell never
  seen in calibration gives an infinite threshold with a warning;
- two-column scores ``(n, 2)`` (signed residuals, asymmetric CQR) calibrate each column at
  ``1 - a / 2``; warnings name the level the user asked for.

Every ``side="lower"`` weighted threshold is the mirror image of the upper one (the test mass at
``-inf``). Nothing here knows about models.

References
----------
V. Vovk, A. Gammerman and G. Shafer (2005). Algorithmic Learning in a Random World. Springer.

R. J. Tibshirani, R. Foygel Barber, E. J. Candes and A. Ramdas (2019). Conformal prediction
under covariate shift. NeurIPS 32.

R. Foygel Barber, E. J. Candes, A. Ramdas and R. J. Tibshirani (2023). Conformal prediction
beyond exchangeability. Annals of Statistics 51(2), 816-845.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._kernels.quantile import (
    grouped_order_statistics,
    partitioned_order_statistics,
    weighted_quantiles,
)
from ..exceptions import warn_conformal
from ._cells import MondrianCells
from ._levels import (
    Level,
    conformal_rank,
    min_calibration_size,
    one_sided_level,
    parse_levels,
    warn_too_few,
)
from ._plus import PlusCalibration, WeightedPlusCalibration
from ._pvalues import pvalues_from_counts
from ._weights import check_weights, weight_factor

__all__ = ["Calibrator", "TestContext"]

Floats = NDArray[np.float64]
Side = Literal["upper", "lower"]

# Relative slack when comparing running sums of float weights with a target mass; far below any
# meaningful weight difference, far above accumulated rounding error.
WEIGHT_RTOL = 1e-12


@dataclass(frozen=True)
class TestContext:
    """What the test points bring to calibration, built by an estimator at predict time.

    Parameters
    ----------
    weights : ndarray of shape (m,), default=None
        Each test point's own weight (e.g. a likelihood ratio ``w(x)`` under covariate shift).
        ``None``: the fixed-weight case, the test point weighs 1.
    groups : ndarray of shape (m,), default=None
        Each test point's Mondrian label (any shape for :meth:`Calibrator.pvalues`, broadcast
        against the test scores).
    masks : ndarray of bool of shape (m, p), default=None
        Missingness patterns of the test points (missing-data calibration).
    """

    __test__ = False  # not a pytest test class, whatever its name

    weights: Floats | None = None
    groups: NDArray | None = None
    masks: NDArray[np.bool_] | None = None


_EMPTY = TestContext()


def _check_scores(scores: ArrayLike, name: str = "scores") -> Floats:
    try:
        values = np.ascontiguousarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be numbers (conformity scores). Got values of dtype "
            f"{np.asarray(scores).dtype} instead."
        ) from None
    if values.ndim not in (1, 2) or (values.ndim == 2 and values.shape[1] != 2):
        raise ValueError(
            f"{name} must be a 1-D array of conformity scores (or (n, 2) for two one-sided "
            f"scores). Got shape {values.shape} instead."
        )
    if np.isnan(values).any():
        raise ValueError(
            f"{name} contains NaN; conformity scores must be numbers (inf is allowed)."
        )
    return values


class Calibrator:
    """Calibration scores sorted once, answering thresholds, ranks, plus bounds and p-values.

    Parameters
    ----------
    scores : array-like of shape (n,) or (n, 2)
        Calibration conformity scores (larger means less conforming); ``inf`` is allowed. Two
        columns are two one-sided scores (lower side, upper side), each calibrated at
        ``1 - a / 2``.
    weights : array-like of shape (n,), default=None
        Non-negative calibration weights (non-exchangeable data). ``None`` is the exchangeable
        case.
    groups : array-like of shape (n,) or MondrianCells, default=None
        Mondrian labels: every test point is calibrated on the scores of its own cell.
    folds : array-like of int of shape (n,), default=None
        Cross-conformal fold of each score (the model that did not see the point), for
        :meth:`plus`.
    n_folds : int, default=None
        Number of folds; default ``max(folds) + 1``.
    outcome : str, default="infinite intervals"
        What a level the calibration set is too small for gives, for warnings.

    Attributes
    ----------
    n_calibration : int
    cells : MondrianCells or None

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.calibration import Calibrator, TestContext
    >>> cal = Calibrator(np.arange(1.0, 10.0))           # 9 scores
    >>> cal.threshold([0.5, 0.9])                        # ranks 5 and 9
    array([5., 9.])
    >>> cal.ranks([0.5, 0.9])
    array([5, 9])
    >>> weighted = Calibrator(np.arange(1.0, 10.0), weights=np.ones(9))
    >>> weighted.threshold([0.9], test=TestContext(weights=np.array([1.0, 3.0])))
    array([[ 9.],
           [inf]])
    >>> cal.pvalues(np.array([8.5]))                     # (1 + 1) / 10
    array([0.2])
    """

    def __init__(
        self,
        scores: ArrayLike,
        *,
        weights: ArrayLike | None = None,
        groups: ArrayLike | MondrianCells | None = None,
        folds: ArrayLike | None = None,
        n_folds: int | None = None,
        outcome: str = "infinite intervals",
    ) -> None:
        self.scores = _check_scores(scores)
        n = self.scores.shape[0]
        self.n_calibration = n
        self.weights = None if weights is None else check_weights(weights, n, "weights")
        if groups is None or isinstance(groups, MondrianCells):
            self.cells = groups
        else:
            self.cells = MondrianCells(groups)
        if self.cells is not None and self.cells.codes.shape[0] != n:
            raise ValueError(
                f"groups has {self.cells.codes.shape[0]} entries; expected {n}, one per score."
            )
        self.folds = None if folds is None else np.ascontiguousarray(folds, dtype=np.int64)
        if self.folds is not None and self.folds.shape[0] != n:
            raise ValueError(f"folds has {self.folds.shape[0]} entries; expected {n}.")
        self.n_folds = (
            None
            if self.folds is None
            else (int(self.folds.max()) + 1 if n_folds is None and n else int(n_folds or 1))
        )
        self.outcome = outcome
        self._sorted: dict[Any, Any] = {}  # sorted views, built on first use

    # ------------------------------------------------------------------ state

    def __repr__(self) -> str:
        extras = [
            name
            for name, value in (
                ("weights", self.weights),
                ("groups", self.cells),
                ("folds", self.folds),
            )
            if value is not None
        ]
        return f"Calibrator(n_calibration={self.n_calibration}{''.join(', ' + e for e in extras)})"

    def append(
        self,
        scores: ArrayLike,
        *,
        weights: ArrayLike | None = None,
        groups: ArrayLike | None = None,
    ) -> Calibrator:
        """Add calibration points (online methods): the sorted view is updated by insertion,
        O(n) per call, not re-sorted.

        Parameters
        ----------
        scores : array-like of shape (k,) or (k, 2)
        weights : array-like of shape (k,), default=None
            Required when the calibrator is weighted, refused otherwise.
        groups : array-like of shape (k,), default=None
            Required when the calibrator is Mondrian; labels must be known cells.

        Returns
        -------
        self : Calibrator
        """
        new = _check_scores(scores)
        if new.ndim != self.scores.ndim:
            raise ValueError(
                f"scores to append must have {self.scores.ndim} dimension(s), like the "
                f"calibration scores. Got shape {new.shape} instead."
            )
        if (weights is None) != (self.weights is None):
            raise ValueError(
                "weights must be given to append exactly when the calibrator is weighted."
            )
        if (groups is None) != (self.cells is None):
            raise ValueError(
                "groups must be given to append exactly when the calibrator is Mondrian."
            )
        if self.folds is not None:
            raise ValueError("a cross-conformal (folds) calibrator cannot be appended to.")
        k = new.shape[0]
        if self.weights is not None:
            self.weights = np.concatenate([self.weights, check_weights(weights, k, "weights")])  # type: ignore[arg-type]
        if self.cells is not None:
            codes = self.cells.lookup(np.asarray(groups), warn=False)
            if (codes < 0).any():
                raise ValueError("groups to append must be cells seen in calibration.")
            self.cells.codes = np.concatenate([self.cells.codes, codes])
            self.cells.counts = np.bincount(self.cells.codes, minlength=self.cells.n_cells)
        plain = self._sorted.get("plain")
        self._sorted = {}
        if plain is not None:  # keep the plain sorted view by insertion
            self._sorted["plain"] = np.insert(plain, np.searchsorted(plain, new), new)
        self.scores = np.concatenate([self.scores, new])
        self.n_calibration = self.scores.shape[0]
        return self

    def _plain_sorted(self) -> Floats:
        if "plain" not in self._sorted:
            self._sorted["plain"] = np.sort(self.scores)
        return self._sorted["plain"]  # type: ignore[no-any-return,unused-ignore]

    def _weighted_sorted(
        self, column: Floats, key: Any, mask: NDArray | None, sign: float
    ) -> tuple[Floats, Floats]:
        """``(sign * scores, weights)`` of the points in ``mask``, sorted by the former."""
        if key not in self._sorted:
            assert self.weights is not None
            values = column if mask is None else column[mask]
            w = self.weights if mask is None else self.weights[mask]
            order = np.argsort(sign * values, kind="stable")
            self._sorted[key] = (
                np.ascontiguousarray(sign * values[order]),
                np.ascontiguousarray(w[order]),
            )
        return self._sorted[key]  # type: ignore[no-any-return,unused-ignore]

    # ------------------------------------------------------------------ ranks and thresholds

    def ranks(self, levels: Any, *, side: Side = "upper") -> NDArray[np.int64]:
        """1-based ranks of the order statistics at ``levels`` (``0``: ``-inf``, ``n + 1``:
        ``+inf``); ``(L,)``, or ``(n_cells, L)`` with Mondrian cells. Unweighted only.

        Parameters
        ----------
        levels : float or sequence of float
            Confidence levels in (0, 1).
        side : {"upper", "lower"}, default="upper"
            Rank of the upper (``ceil((n + 1) level)``) or lower order statistic.

        Returns
        -------
        ndarray of int64, shape (L,) or (n_cells, L)
            The ranks, one per level (per cell with Mondrian cells).
        """
        parsed, _ = parse_levels(levels)
        _check_side(side)
        return self._ranks(parsed, side, by_cell=self.cells is not None)

    def order_statistics(self, ranks: ArrayLike) -> Floats:
        """The ``ranks``-th smallest scores (1-based; ``0``: ``-inf``, ``n + 1``: ``+inf``), for
        callers that choose their own ranks (batch inference). Unweighted, without cells.

        Parameters
        ----------
        ranks : array-like of int
            Any shape for one-column scores; a last axis of 2 (one rank per column) for
            two-column scores.

        Returns
        -------
        ndarray of the shape of ``ranks``

        Examples
        --------
        >>> Calibrator(np.array([3.0, 1.0, 2.0])).order_statistics([0, 1, 3, 4])
        array([-inf,   1.,   3.,  inf])
        """
        if self.weights is not None or self.cells is not None:
            raise ValueError(
                "order_statistics needs an unweighted calibrator without groups: "
                "Calibrator(scores)."
            )
        r = np.asarray(ranks, dtype=np.int64)
        n = self.n_calibration
        if r.size and (r.min() < 0 or r.max() > n + 1):
            raise ValueError(f"ranks must lie in [0, {n + 1}]. Got {r.min()}..{r.max()} instead.")
        if self.scores.ndim == 1:
            padded = np.concatenate([[-np.inf], self._plain_sorted(), [np.inf]])
            return padded[r]
        if r.shape[-1:] != (2,):
            raise ValueError(
                "two-column scores need one rank per column: ranks with a last axis of 2. Got "
                f"shape {r.shape} instead."
            )
        if "columns" not in self._sorted:
            self._sorted["columns"] = [
                np.concatenate([[-np.inf], np.sort(self.scores[:, j]), [np.inf]]) for j in (0, 1)
            ]
        lo, hi = self._sorted["columns"]
        return np.stack([lo[r[..., 0]], hi[r[..., 1]]], axis=-1)

    def _ranks(self, levels: Sequence[Level], side: Side, *, by_cell: bool) -> NDArray[np.int64]:
        """``(L,)`` ranks of the whole set, or ``(n_cells, L)`` ranks of each cell."""
        counts = self.cells.counts if by_cell and self.cells is not None else [self.n_calibration]
        table = np.array(
            [[conformal_rank(int(c), lv, side=side) for lv in levels] for c in counts],
            dtype=np.int64,
        ).reshape(len(counts), len(levels))
        return table if by_cell else table[0]

    def threshold(
        self,
        levels: Any,
        *,
        side: Side = "upper",
        test: TestContext | None = None,
        warn_all_cells: bool = False,
        warn: bool = True,
    ) -> Floats:
        """Conformal threshold(s) of the calibration scores.

        Parameters
        ----------
        levels : float or sequence of float
            Confidence levels in (0, 1), as the user gave them (two-column scores calibrate
            each column at ``1 - a / 2`` themselves).
        side : {"upper", "lower"}, default="upper"
        test : TestContext, default=None
            Per-test-point weights and/or Mondrian labels; without them the threshold is shared
            by every test point.
        warn_all_cells : bool, default=False
            Warn about every cell too small for a level, not only the cells the test points use.
        warn : bool, default=True
            ``False`` for callers that ask for levels the set may be too small for by design
            (ACI's adapted levels): the thresholds are the same, infinite where the rank exceeds
            the set, without the warning.

        Returns
        -------
        thresholds : ndarray
            ``(L,)`` shared, or ``(m, L)`` per test point (test weights or groups); two-column
            scores add a last axis ``[lower side, upper side]``.

        Warns
        -----
        ConformalWarning
            Once per call, when the calibration set (or a cell) is too small for a level, with
            the level the user asked for: the threshold is infinite, never clamped.
        """
        parsed = parse_levels(levels)[0]
        _check_side(side)
        test = _EMPTY if test is None else test
        tails = 2 if self.scores.ndim == 2 else 1
        effective = [one_sided_level(lv) for lv in parsed] if tails == 2 else list(parsed)
        codes = None
        if self.cells is not None:
            if test.groups is None:
                raise ValueError(
                    "this calibrator is Mondrian (groups): pass the test points' groups in "
                    "TestContext(groups=...)."
                )
            codes = self.cells.lookup(np.asarray(test.groups).ravel())
            used = np.zeros(self.cells.n_cells, dtype=bool)
            used[codes[codes >= 0]] = True
            if warn:
                self._warn_cells(parsed, tails, None if warn_all_cells else used)
        elif self.weights is None and warn:
            warn_too_few(self.n_calibration, parsed, tails=tails, what=self.outcome)
        if self.weights is None and test.weights is not None:
            raise ValueError(
                "test weights were given but the calibration scores have no weights; pass the "
                "calibration weights too (np.ones(n) for an exchangeable calibration set)."
            )
        columns = [self.scores] if tails == 1 else [self.scores[:, 0], self.scores[:, 1]]
        out = [
            self._column(column, j, effective, side, test, codes)
            for j, column in enumerate(columns)
        ]
        if self.weights is not None and warn:
            self._warn_weighted(out, parsed, per_point=test.weights is not None)
        return out[0] if tails == 1 else np.stack(out, axis=-1)

    def cell_thresholds(
        self,
        levels: Any,
        *,
        side: Side = "upper",
        used: ArrayLike | None = None,
        consequence: str = "",
    ) -> Floats:
        """The threshold of every Mondrian cell, as a table the caller indexes itself.

        Row ``c`` is calibrated on the scores of cell ``c`` alone; an empty cell, or one too
        small for a level, has an infinite threshold. For callers whose test point meets a
        different cell for each candidate answer (a classifier calibrated by class, or by
        (group, class) pair), where :meth:`threshold` would need one test point per
        (row, class). Unweighted calibrators only.

        Parameters
        ----------
        levels : float or sequence of float
            Confidence levels in (0, 1).
        side : {"upper", "lower"}, default="upper"
        used : array-like of bool of shape (n_cells,), default=None
            The cells the caller will read: the warning names only those (every cell when
            ``None``). The table holds every cell either way.
        consequence : str, default=""
            Appended to the warning: what the infinite thresholds mean to the user.

        Returns
        -------
        table : ndarray of shape (n_cells, L)
            Two-column scores add a last axis ``[lower side, upper side]``.

        Warns
        -----
        ConformalWarning
            Once per call, naming the used cells too small for a level (:func:`warn_cells`).

        Examples
        --------
        >>> cal = Calibrator(np.arange(1.0, 13.0), groups=[0] * 9 + [1] * 3)
        >>> cal.cell_thresholds([0.5, 0.9], used=[True, False])  # cell 1: 3 points, no warning
        array([[ 5.,  9.],
               [11., inf]])
        """
        if self.cells is None or self.weights is not None:
            raise ValueError(
                "cell_thresholds needs an unweighted Mondrian calibrator: "
                "Calibrator(scores, groups=...) without weights."
            )
        parsed: list[Level] = (
            list(parse_levels(levels)[0]) if not isinstance(levels, list) else levels
        )
        _check_side(side)
        mask = None if used is None else np.asarray(used, dtype=bool)
        if mask is not None and mask.shape != (self.cells.n_cells,):
            raise ValueError(
                f"used must be a boolean mask of shape ({self.cells.n_cells},), one entry per "
                f"cell. Got shape {mask.shape} instead."
            )
        tails = 2 if self.scores.ndim == 2 else 1
        warn_cells(
            self.cells, parsed, tails=tails, used=mask, what=self.outcome, consequence=consequence
        )
        effective: list[Level] = (
            [one_sided_level(lv) for lv in parsed] if tails == 2 else list(parsed)
        )
        every = np.arange(self.cells.n_cells, dtype=np.int64)
        columns = [self.scores] if tails == 1 else [self.scores[:, 0], self.scores[:, 1]]
        out = [self._column(c, j, effective, side, _EMPTY, every) for j, c in enumerate(columns)]
        return out[0] if tails == 1 else np.stack(out, axis=-1)

    def _column(
        self,
        column: Floats,
        j: int,
        levels: Sequence[Level],
        side: Side,
        test: TestContext,
        codes: NDArray[np.int64] | None,
    ) -> Floats:
        if self.weights is None and codes is None:
            ranks = self._ranks(levels, side, by_cell=False)
            # Order statistics are kept per rank: a model's repeated predict calls at the same
            # levels select once (a million scores take milliseconds to partition).
            key = ("order", j, tuple(ranks.tolist()))
            if key not in self._sorted:
                if column is self.scores and "plain" in self._sorted:
                    padded = np.concatenate([[-np.inf], self._plain_sorted(), [np.inf]])
                    found = padded[np.clip(ranks, 0, self.n_calibration + 1)]
                else:
                    found = partitioned_order_statistics(np.ascontiguousarray(column), ranks)
                self._sorted[key] = found
            return self._sorted[key].copy()  # type: ignore[no-any-return,unused-ignore]
        if self.weights is None:
            assert codes is not None and self.cells is not None
            ranks_table = self._ranks(levels, side, by_cell=True)
            table = grouped_order_statistics(
                np.ascontiguousarray(column), self.cells.codes, self.cells.n_cells, ranks_table
            )
            return _by_cell(table, codes, side)
        return self._weighted(column, j, levels, side, test, codes)

    def _weighted(
        self,
        column: Floats,
        j: int,
        levels: Sequence[Level],
        side: Side,
        test: TestContext,
        codes: NDArray[np.int64] | None,
    ) -> Floats:
        sign = 1.0 if side == "upper" else -1.0
        level_values = np.array([float(lv) for lv in levels], dtype=np.float64)
        assert self.weights is not None
        per_point = test.weights is not None
        tw_raw = (
            None
            if test.weights is None
            else check_weights(test.weights, np.shape(test.weights)[0], "test weights")
        )
        factor = weight_factor(self.weights, tw_raw)
        tw = np.ones(1) if tw_raw is None else tw_raw / factor
        if codes is None:
            values, w = self._weighted_sorted(column, ("weighted", j, side), None, sign)
            w = w / factor
            _check_mass(w.sum(), tw)
            out = sign * weighted_quantiles(values, np.cumsum(w), tw, level_values, WEIGHT_RTOL)
            return out if per_point else out[0]
        assert self.cells is not None
        m = codes.shape[0]
        if tw.shape[0] == 1:
            tw = np.full(m, tw[0])
        elif tw.shape[0] != m:
            raise ValueError(
                f"test weights have {tw.shape[0]} entries; expected {m}, one per test point."
            )
        out = np.full((m, len(levels)), sign * np.inf)
        for cell in np.unique(codes[codes >= 0]):  # a loop over cells, never over test points
            mask = self.cells.codes == cell
            values, w = self._weighted_sorted(column, ("weighted", j, side, int(cell)), mask, sign)
            w = w / factor
            rows = np.flatnonzero(codes == cell)
            _check_mass(w.sum(), tw[rows])
            out[rows] = sign * weighted_quantiles(
                values, np.cumsum(w), np.ascontiguousarray(tw[rows]), level_values, WEIGHT_RTOL
            )
        return out

    def _warn_cells(
        self, levels: Sequence[Level], tails: int, used: NDArray[np.bool_] | None
    ) -> None:
        """One warning naming the cells (used by the test points) too small for a level."""
        assert self.cells is not None
        warn_cells(self.cells, levels, tails=tails, used=used, what=self.outcome)

    def _warn_weighted(
        self, out: list[Floats], levels: Sequence[Level], *, per_point: bool = False
    ) -> None:
        """One warning naming the levels (and, with test weights, how many test points) whose
        weighted thresholds are infinite, with the total weight a level needs."""
        infinite: NDArray[np.bool_] | None = None
        for column in out:
            a: NDArray[np.bool_] = np.asarray(np.isinf(column))
            a = a.reshape(1, -1) if a.ndim == 1 else a
            a = np.asarray(a.any(axis=-1)) if a.ndim == 3 else a  # plus: either bound
            infinite = a if infinite is None else infinite | a
        if infinite is None or not infinite.any():
            return
        short = [float(lv) for k, lv in enumerate(levels) if infinite[:, k].any()]
        named = ", ".join(f"{lv:g}" for lv in short)
        if per_point:
            rows, m = int(infinite.any(axis=1).sum()), infinite.shape[0]
            warn_conformal(
                f"for {rows} of {m} test point{'s' if m != 1 else ''}, the test point's own "
                f"weight is too large for the calibration weights at confidence_level={named}: "
                "their thresholds are infinite (add calibration data, lower the level, or check "
                "the weights' ratio w(x))"
            )
            return
        assert self.weights is not None
        total = float(self.weights.sum() / weight_factor(self.weights, None))
        needed = ", ".join(f"{lv / (1 - lv):.4g} at {lv:g}" for lv in short)
        warn_conformal(
            f"the calibration weights total {total:.4g} (on the scale where the test point "
            f"weighs 1); confidence_level={named} needs a total weight of at least {needed} "
            "(level / (1 - level), as many unit-weight points) or returns infinite intervals "
            "(raise the total: more calibration points if the weights allow it, a decay closer "
            "to 1 or a wider window, weights rescaled so the largest is 1, or a lower level)"
        )

    # ------------------------------------------------------------------ plus bounds

    def plus(
        self,
        centers: ArrayLike,
        levels: Any,
        *,
        upper_centers: ArrayLike | None = None,
        test: TestContext | None = None,
        warn: bool = True,
    ) -> Floats:
        """Cross-conformal plus intervals (CV+, jackknife+, J+aB; Barber et al. 2021).

        With out-of-fold scores ``R_i`` (of the fold ``k(i)`` given as ``folds``) and, at a test
        point, the centres ``c_k`` of the fold models: the lower bound is the
        ``floor(a (n + 1))``-th smallest of ``c_{k(i)} - R_i`` (``-inf`` at rank 0), the upper
        bound the ``ceil((1 - a)(n + 1))``-th smallest of ``c_{k(i)} + R_i`` (``+inf`` past
        ``n``). Two-column scores give the lower bound from the first column and the upper from
        the second, each at ``1 - a / 2``. With calibration weights, each bound is the weighted
        quantile of those values with the test point's weight at ``+-inf`` (weighted jackknife+
        / CV+; Barber et al. 2023). No ``(m, n)`` matrix is built (see
        :class:`~conformal.calibration._plus.PlusCalibration`).

        Parameters
        ----------
        centers : array-like of shape (m, n_folds)
            Each fold model's prediction at each test point (the lower centres when
            ``upper_centers`` is given).
        levels : float or sequence of float
        upper_centers : array-like of shape (m, n_folds), default=None
            Centres of the upper bound when they differ (cross-conformalized quantile
            regression).
        test : TestContext, default=None
            Per-test-point weights (``TestContext(weights=...)``, e.g. likelihood ratios) for a
            weighted calibrator; without them the test point weighs 1 (fixed weights).
        warn : bool, default=True
            Issue the too-few-points warning (callers working in row blocks warn once).

        Returns
        -------
        intervals : ndarray of shape (m, L, 2)
        """
        if self.folds is None:
            raise ValueError("plus bounds need the fold of each score: Calibrator(..., folds=...).")
        if self.cells is not None:
            raise ValueError(
                "plus bounds with Mondrian cells are not supported: use split calibration "
                "(SplitConformalRegressor(mondrian=...)) for Mondrian intervals."
            )
        parsed = parse_levels(levels)[0]
        tails = 2 if self.scores.ndim == 2 else 1
        if warn:
            warn_too_few(self.n_calibration, parsed, tails=tails, what=self.outcome)
        if "plus" not in self._sorted:
            columns = [self.scores] if tails == 1 else [self.scores[:, 0], self.scores[:, 1]]
            self._sorted["plus"] = tuple(
                PlusCalibration(column, self.folds, int(self.n_folds or 1)) for column in columns
            )
        calibrations = self._sorted["plus"]
        lower_c = np.asarray(centers, dtype=np.float64)
        upper_c = lower_c if upper_centers is None else np.asarray(upper_centers, dtype=np.float64)
        if self.weights is not None:
            out = self._weighted_plus(lower_c, upper_c, parsed, tails, test)
            if warn:
                self._warn_weighted(
                    [out], parsed, per_point=test is not None and test.weights is not None
                )
            return out
        if tails == 1:
            return calibrations[0].intervals(lower_c, parsed, upper_c)  # type: ignore[no-any-return,unused-ignore]
        side = [one_sided_level(lv) for lv in parsed]
        return np.stack(
            [calibrations[0].lower(lower_c, side), calibrations[1].upper(upper_c, side)], axis=-1
        )

    def _weighted_plus(
        self,
        lower_c: Floats,
        upper_c: Floats,
        levels: Sequence[Level],
        tails: int,
        test: TestContext | None,
    ) -> Floats:
        """Weighted plus intervals ``(m, L, 2)``: fixed weights (the test point weighs 1) or a
        weight per test point, on the scale :mod:`~conformal.calibration._weights` explains."""
        assert self.weights is not None and self.folds is not None
        test_weights = None if test is None else test.weights
        per_point = test_weights is not None
        key = ("wplus", per_point)
        if key not in self._sorted:
            weights = self.weights
            # built once per regime, so the factor depends on the calibration weights only (for
            # test weights: their own exact power of two)
            factor = weight_factor(weights, np.zeros(0) if per_point else None)
            columns = [self.scores] if tails == 1 else [self.scores[:, 0], self.scores[:, 1]]
            self._sorted[key] = (
                factor,
                [
                    WeightedPlusCalibration(c, self.folds, int(self.n_folds or 1), weights / factor)
                    for c in columns
                ],
            )
        factor, calibrations = self._sorted[key]
        m = lower_c.shape[0]
        if per_point:
            tw = check_weights(np.asarray(test_weights), m, "test weights") / factor
        else:
            tw = np.ones(1)
        _check_mass(float(self.weights.sum()), tw)
        if tails == 1:
            return calibrations[0].weighted_intervals(lower_c, levels, upper_c, tw)  # type: ignore[no-any-return,unused-ignore]
        side = [one_sided_level(lv) for lv in levels]
        lower = calibrations[0].weighted_intervals(lower_c, side, None, tw)[..., 0]
        upper = calibrations[1].weighted_intervals(upper_c, side, None, tw)[..., 1]
        return np.stack([lower, upper], axis=-1)

    # ------------------------------------------------------------------ p-values

    def pvalues(
        self,
        test_scores: ArrayLike,
        *,
        test: TestContext | None = None,
        smoothed: bool = False,
        u: ArrayLike | None = None,
        random_state: Any = None,
    ) -> Floats:
        """Conformal p-values of test scores against the calibration scores (of their cell).

        ``(#{s_i >= t} + w) / (n + w)``, or smoothed ``(#{s_i > t} + u (#{s_i = t} + w)) /
        (n + w)``; counts become weight sums when weighted (see
        :mod:`conformal.calibration._pvalues`).

        Parameters
        ----------
        test_scores : array-like of any shape (m, ...)
        test : TestContext, default=None
            Test weights (m,) and Mondrian labels (broadcast against ``test_scores``; a label
            never seen in calibration gives p-value 1, or ``u`` smoothed).
        smoothed : bool, default=False
            Break ties (and the test point's own rank) with a uniform ``u``: exactly uniform
            p-values at the truth.
        u : array-like, default=None
            The uniforms (broadcast against ``test_scores``); drawn from ``random_state`` when
            ``smoothed`` and not given.
        random_state : int, Generator or None, default=None

        Returns
        -------
        pvalues : ndarray of the shape of ``test_scores``
        """
        t = np.asarray(test_scores, dtype=np.float64)
        if np.isnan(t).any():
            raise ValueError("test_scores contains NaN; conformity scores must be numbers.")
        if self.scores.ndim != 1:
            raise ValueError("p-values need one score per calibration point, not two columns.")
        test = _EMPTY if test is None else test
        uniforms: Floats | None = None
        if smoothed:
            uniforms = (
                np.random.default_rng(random_state).random(t.shape)
                if u is None
                else np.broadcast_to(np.asarray(u, dtype=np.float64), t.shape)
            )
        if self.weights is None and test.weights is not None:
            raise ValueError("test weights were given but the calibration scores have no weights.")
        tw = None
        if test.weights is not None:  # one weight per test point (row), over its scores
            tw = np.asarray(test.weights, dtype=np.float64)
            tw = np.broadcast_to(tw.reshape(tw.shape + (1,) * (t.ndim - tw.ndim)), t.shape)
        if self.cells is None:
            return self._pvalues_in(None, t, uniforms, tw)
        if test.groups is None:
            raise ValueError("this calibrator is Mondrian: pass TestContext(groups=...).")
        codes = np.broadcast_to(self.cells.lookup(np.asarray(test.groups), warn=False), t.shape)
        out = np.empty(t.shape)
        for cell in np.unique(codes):
            at = codes == cell
            cell_u = None if uniforms is None else uniforms[at]
            cell_tw = None if tw is None else tw[at]
            out[at] = self._pvalues_in(int(cell), t[at], cell_u, cell_tw)
        return out

    def _pvalues_in(
        self, cell: int | None, t: Floats, u: Floats | None, test_weights: ArrayLike | None
    ) -> Floats:
        """p-values of ``t`` against the scores of one cell (``None``: all; ``-1``: none)."""
        if cell is not None and cell < 0:
            values = self.scores[:0]
            w = None if self.weights is None else self.weights[:0]
        elif cell is None:
            values, w = self.scores, self.weights
        else:
            mask = self.cells.codes == cell  # type: ignore[union-attr]
            values = self.scores[mask]
            w = None if self.weights is None else self.weights[mask]
        key = ("pvalue", cell)
        if key not in self._sorted:
            order = np.argsort(values, kind="stable")
            cumulative = None if w is None else np.concatenate([[0.0], np.cumsum(w[order])])
            self._sorted[key] = (values[order], cumulative)
        sorted_values, cumulative = self._sorted[key]
        n = sorted_values.shape[0]
        left = np.searchsorted(sorted_values, t, side="left")
        right = np.searchsorted(sorted_values, t, side="right") if u is not None else None
        if cumulative is None:
            return pvalues_from_counts(n - left, None if right is None else n - right, n, u)
        total = cumulative[-1]
        # Fixed weights: the test point weighs 1 on the scale of the thresholds, where weights
        # above 1 are divided by the largest (weight_factor); so the test mass is that factor.
        if test_weights is None:
            mass: Any = weight_factor(self.weights, None)  # type: ignore[arg-type]
        else:
            mass = np.asarray(test_weights, dtype=np.float64)
        at_least = total - cumulative[left]
        above = None if right is None else total - cumulative[right]
        return pvalues_from_counts(at_least, above, total, u, mass)


def warn_cells(
    cells: MondrianCells,
    levels: Sequence[Level],
    *,
    tails: int = 1,
    used: NDArray[np.bool_] | None = None,
    what: str = "infinite intervals",
    consequence: str = "",
) -> None:
    """The one "too few calibration points" warning for Mondrian cells, naming them."""
    effective = {lv: (one_sided_level(lv) if tails == 2 else lv) for lv in levels}
    worst = max(levels, key=lambda lv: min_calibration_size(effective[lv]))
    needed = min_calibration_size(effective[worst])
    short = cells.counts < needed
    if used is not None:
        short &= used
    if not short.any():
        return
    listed = np.flatnonzero(short)
    shown = ", ".join(
        f"{cells.describe(int(c))} has {int(cells.counts[c])} point"
        + ("s" if cells.counts[c] != 1 else "")
        for c in listed[:5]
    )
    more = f" (and {len(listed) - 5} more)" if len(listed) > 5 else ""
    per_tail = f" (each tail is calibrated at {float(effective[worst]):g})" if tails == 2 else ""
    warn_conformal(
        f"too few calibration points: {shown}{more}; confidence_level={float(worst):g} needs at "
        f"least {needed} per {cells.unit}{per_tail} (or returns {what}){consequence}"
    )


def _check_side(side: str) -> None:
    if side not in ("upper", "lower"):
        raise ValueError(f"The 'side' parameter must be 'upper' or 'lower'. Got {side!r} instead.")


def _by_cell(table: Floats, codes: NDArray[np.int64], side: Side) -> Floats:
    """Each test point's row of the per-cell table; ``+-inf`` for the cell ``-1``."""
    out = np.full((codes.shape[0], table.shape[1]), np.inf if side == "upper" else -np.inf)
    seen = codes >= 0
    out[seen] = table[codes[seen]]
    return out


def _check_mass(total: float, test_weights: Floats) -> None:
    if total <= 0.0 and (test_weights <= 0.0).any():
        raise ValueError(
            "the calibration weights sum to 0 and a test point's weight is 0: there is no mass "
            "to calibrate with. Give some calibration points positive weight (or the test "
            "point a positive weight)."
        )
