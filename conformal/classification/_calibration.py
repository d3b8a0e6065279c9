"""Calibration scores of a classifier split into Mondrian cells: thresholds and p-values.

A cell is the set of calibration points a test score is compared with: all of them (marginal
calibration), those of one class (class-conditional), of one group, or of one (group, class)
pair. Thresholds go through :func:`conformal.calibration.conformal_quantile`, the package's one
order-statistic helper; p-values are counts found by binary search in scores sorted once per cell.
Nothing here knows about models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from ..calibration import Level, conformal_quantile, min_calibration_size
from ..exceptions import warn_conformal

Floats = NDArray[np.float64]
Describe = Callable[[list[tuple[int, int]], Level, int], str]


def counts_above(
    sorted_scores: Floats, queries: Floats, *, strict: bool = True
) -> tuple[NDArray, NDArray | None]:
    """``(#{s >= q}, #{s > q})`` over sorted scores ``s``, for every query ``q`` (any shape), by
    binary search; the second is ``None`` unless ``strict`` (one search instead of two)."""
    n = sorted_scores.shape[0]
    at_least = n - np.searchsorted(sorted_scores, queries, side="left")
    above = n - np.searchsorted(sorted_scores, queries, side="right") if strict else None
    return at_least, above


def pvalues_from_counts(
    at_least: NDArray, above: NDArray | None, n: NDArray | int, u: Floats | None
) -> Floats:
    """``(#{>=} + 1) / (n + 1)``, or smoothed ``(#{>} + u (#{=} + 1)) / (n + 1)``."""
    if u is None:
        return (at_least + 1.0) / (n + 1.0)
    if above is None:  # pragma: no cover - callers count strictly whenever they smooth
        raise ValueError("smoothed p-values need the strict counts.")
    return (above + u * (at_least - above + 1.0)) / (n + 1.0)


class Partition:
    """Calibration scores sorted once within each cell.

    Parameters
    ----------
    scores : ndarray of shape (n,)
        Calibration conformity scores.
    cells : ndarray of int of shape (n,), default=None
        The cell of each score, in ``[0, n_cells)``; ``None`` puts every score in one cell.
    n_cells : int, default=1
    describe : callable, default=None
        ``describe(short, level, needed)`` words the warning for cells with too few points,
        ``short`` being ``[(cell, count), ...]``; ``None`` uses the marginal wording.
    """

    def __init__(
        self,
        scores: Floats,
        cells: NDArray[np.intp] | None = None,
        n_cells: int = 1,
        describe: Describe | None = None,
    ) -> None:
        self.scores = np.ascontiguousarray(scores, dtype=np.float64)
        self.cells = cells
        self.n_cells = n_cells
        self.describe = describe
        if cells is None:
            self.sorted = np.sort(self.scores)
            self.counts = np.array([self.scores.shape[0]])
        else:
            order = np.lexsort((self.scores, cells))
            self.sorted = self.scores[order]
            self.counts = np.bincount(cells, minlength=n_cells)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])

    def thresholds(self, levels: Sequence[Level], used: NDArray[np.bool_] | None = None) -> Floats:
        """``(n_cells, L)`` thresholds: the conformal quantile of each cell's scores (of the
        ``used`` cells only; all without ``used``), ``inf`` (with one
        :class:`~conformal.ConformalWarning`) for those whose points are too few for a level."""
        table = np.full((self.n_cells, len(levels)), np.inf)
        needed = np.array([min_calibration_size(level) for level in levels])
        cells = np.arange(self.n_cells) if used is None else np.flatnonzero(used)
        for cell in cells:  # a loop over cells (classes, groups), never over test points
            reachable = np.flatnonzero(self.counts[cell] >= needed)
            if reachable.size:
                table[cell, reachable] = conformal_quantile(
                    self._cell(int(cell)), [levels[int(j)] for j in reachable]
                )
        self._warn(levels, used)
        return table

    def _warn(self, levels: Sequence[Level], used: NDArray[np.bool_] | None) -> None:
        worst = max(levels, key=min_calibration_size)
        needed = min_calibration_size(worst)
        short = self.counts < needed
        if used is not None:
            short &= used
        if not short.any():
            return
        cells = np.flatnonzero(short)
        if self.describe is None:
            message = (
                f"calibration set has {int(self.counts[0])} points; "
                f"confidence_level={float(worst):g} needs at least {needed} (or returns full "
                "prediction sets)"
            )
        else:
            message = self.describe([(int(c), int(self.counts[c])) for c in cells], worst, needed)
        warn_conformal(message)

    def _cell(self, cell: int) -> Floats:
        """The sorted scores of one cell (none for the cell ``-1``)."""
        if cell < 0:
            return self.sorted[:0]
        start = self.starts[cell]
        return self.sorted[start : start + self.counts[cell]]

    def pvalues(
        self,
        queries: Floats,
        query_cells: NDArray[np.intp] | None = None,
        u: Floats | None = None,
    ) -> Floats:
        """Conformal p-values of test scores ``queries`` (any shape) against their cell's
        calibration scores; ``u`` (same shape) smooths them. A cell without calibration points
        gives 1 (or ``u`` smoothed): nothing is less conforming than the test point; so does the
        cell ``-1`` (a test group never seen in calibration)."""
        strict = u is not None
        if query_cells is None:
            at_least, above = counts_above(self.sorted, queries, strict=strict)
            return pvalues_from_counts(at_least, above, self.counts[0], u)
        if queries.ndim == 2 and query_cells.shape[0] == 1 < queries.shape[0]:
            # the same cell down each column (class-conditional): one search per column
            out = np.empty(queries.shape)
            for k, cell in enumerate(query_cells[0]):
                cell_scores = self._cell(int(cell))
                at_least, above = counts_above(cell_scores, queries[:, k], strict=strict)
                column_u = None if u is None else u[:, k]
                out[:, k] = pvalues_from_counts(at_least, above, cell_scores.shape[0], column_u)
            return out
        flat_q = queries.ravel()
        flat_c = np.broadcast_to(query_cells, queries.shape).ravel()
        if flat_q.shape[0] == 0:
            return np.zeros(queries.shape)
        at_least = np.zeros(flat_q.shape[0], dtype=np.int64)
        above = np.zeros(flat_q.shape[0], dtype=np.int64)
        order = np.argsort(flat_c, kind="stable")
        ordered_cells = flat_c[order]
        present = np.unique(ordered_cells)
        bounds = np.searchsorted(ordered_cells, np.append(present, present[-1] + 1))
        for k, cell in enumerate(present):  # one vectorised search per cell, not per query
            rows = order[bounds[k] : bounds[k + 1]]
            cell_at_least, cell_above = counts_above(self._cell(int(cell)), flat_q[rows])
            at_least[rows], above[rows] = cell_at_least, cell_above
        n = np.where(flat_c >= 0, self.counts[np.maximum(flat_c, 0)], 0)
        flat_u = None if u is None else np.broadcast_to(u, queries.shape).ravel()
        return pvalues_from_counts(at_least, above, n, flat_u).reshape(queries.shape)
