"""Conformal predictive distributions: a calibrated CDF for every test point (regression).

With ``n`` calibration residuals ``r_i`` (signed: ``y_i - f(x_i)``, or divided by a scale,
``(y_i - f(x_i)) / s(x_i)``) and, at a test point ``x``, the values ``C_i = c_i(x) + s(x) r_i``,
the conformal predictive distribution (CPD; Vovk, Shen, Manokhin and Xie 2019) is::

    Q(y, tau) = (#{i: C_i < y} + tau * (#{i: C_i = y} + 1)) / (n + 1),    tau in [0, 1].

- split form (split conformal predictive systems; Vovk, Nouretdinov, Manokhin and Gammerman
  2018): ``c_i(x) = f(x)``, one model for every calibration point;
- cross form (cross-conformal predictive systems, same paper): ``c_i(x) = f_{-k(i)}(x)``, the
  model fitted without the fold of point ``i``, and ``r_i`` its out-of-fold residual. The
  ``C_i`` are then the union of K sorted arrays, each shifted by one constant per test point.
  Unlike the split form it is calibrated only approximately (empirically), not exactly.

Conventions (the same everywhere in the package):

- comparisons happen in residual units: ``C_i < y`` means ``r_i < (y - c_i(x)) / s(x)``, which is
  the conformal comparison of the test score with the calibration scores (identical to comparing
  ``C_i`` with ``y`` whenever the arithmetic is exact);
- ``tau = U(0, 1)`` independent of the data gives the randomized CPD: at the true target,
  ``Q(Y, tau)`` is exactly Uniform(0, 1) for exchangeable split data (the CPD is "calibrated
  in probability"). ``tau = 0`` and ``tau = 1`` are the lower and upper envelopes that bracket
  it;
- quantiles are order statistics of the ``C_i`` with ``C_(0) = -inf`` and ``C_(n + 1) = +inf``:
  the *upper* quantile at level ``p`` is ``C_(ceil(p (n + 1)))`` = ``sup{y: Q(y, 0) < p}``, so
  ``P(Y <= q) >= p``; the *lower* quantile is ``C_(floor(p (n + 1)))`` =
  ``inf{y: Q(y, 1) > p}``, so ``P(Y >= q) >= 1 - p``. The default, *central*, rounds away from
  the median (lower below 1/2, upper from 1/2 on), so ``[q(a/2), q(1 - a/2)]`` of the split form
  is exactly the split interval of the ``"signed"`` score at level ``1 - a``, and the
  conservative two-sided p-value below is larger than ``a`` exactly on that interval;
- CRPS: ``Q(., tau)`` is not a distribution function for any fixed ``tau`` (it stays within
  ``[tau, n + tau] / (n + 1)``), so its CRPS integral diverges. The finite convention used here
  is the CRPS of the empirical distribution of the ``C_i`` (mass ``1/n`` on each), a proper
  distribution that lies inside the band ``Q(y, 0) <= F(y) <= Q(y, 1)`` at every ``y``; it is
  also what crepes reports.

References
----------
V. Vovk, J. Shen, V. Manokhin and M. Xie (2019). Nonparametric predictive distributions based
on conformal prediction. Machine Learning 108, 445-474.

V. Vovk, I. Nouretdinov, V. Manokhin and A. Gammerman (2018). Cross-conformal predictive
distributions. Proceedings of COPA 2018, PMLR 91, 37-51.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._blocks import block_slices, use_union
from .._kernels.quantile import shifted_order_statistics, union_order_statistics
from ._crps import crps_sorted
from ._levels import parse_levels, quantile_rank, warn_too_few
from ._pvalues import pvalues_from_counts

__all__ = [
    "Alternative",
    "ConformalPredictiveDistribution",
    "QuantileSide",
    "as_scale",
    "check_alternative",
    "quantile_ranks",
]

Floats = NDArray[np.float64]
QuantileSide = Literal["central", "lower", "upper"]
Alternative = Literal["two-sided", "less", "greater"]
# scipy.stats' words for the alternative; the old ones are kept one release (FutureWarning).
_OLD_ALTERNATIVES = {"lower": "less", "upper": "greater"}


# ------------------------------------------------------------------------ input checks


def as_scale(scale: ArrayLike | None, m: int) -> Floats | None:
    if scale is None:
        return None
    s = np.asarray(scale, dtype=np.float64).ravel()
    if s.shape[0] != m:
        raise ValueError(f"scale has {s.shape[0]} entries; expected {m}, one per test point.")
    if not (np.isfinite(s) & (s > 0)).all():
        raise ValueError("scale must be positive and finite: s(x) > 0 for every test point.")
    return s


def _no_nan(values: Floats, name: str) -> Floats:
    if np.isnan(values).any():
        raise ValueError(f"{name} contains NaN; pass numbers (+-inf is allowed).")
    return values


def quantile_ranks(n: int, levels: list[Fraction], side: QuantileSide) -> NDArray[np.int64]:
    """1-based ranks of the quantiles (0 means -inf, n + 1 means +inf), one warning if any is
    infinite (in the terms of the quantile levels asked for)."""
    if side not in ("central", "lower", "upper"):
        raise ValueError(
            f"side must be one of ['central', 'lower', 'upper']. Got {side!r} instead."
        )
    ranks = np.array([quantile_rank(n, p, side) for p in levels], dtype=np.int64)
    # A quantile is infinite exactly when its one-sided coverage level needs more points:
    # p for an upper quantile, 1 - p for a lower one.
    reached = [
        p if (side == "upper" or (side == "central" and p >= Fraction(1, 2))) else 1 - p
        for p in levels
    ]
    warn_too_few(n, reached, what="infinite quantiles", name="quantile level", shown=levels)
    return ranks


def check_alternative(alternative: str) -> str:
    """scipy.stats' ``"two-sided"``, ``"less"``, ``"greater"``; the old ``"lower"`` and
    ``"upper"`` still work one release, with a FutureWarning."""
    if alternative in _OLD_ALTERNATIVES:
        import warnings

        new = _OLD_ALTERNATIVES[alternative]
        warnings.warn(
            f"alternative={alternative!r} is renamed alternative={new!r} (scipy.stats' word); "
            "the old spelling stops working in the next release.",
            FutureWarning,
            stacklevel=3,
        )
        return new
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(
            "alternative must be one of ['greater', 'less', 'two-sided']. Got "
            f"{alternative!r} instead."
        )
    return alternative


# ------------------------------------------------------------------------ the distribution


class ConformalPredictiveDistribution:
    """Calibrated conformal predictive distributions from signed residuals (learner-free).

    Sorts the residuals once; every query is a binary search per fold, vectorised over test
    points and ``y`` values, with no ``n_test x n`` matrix (except :meth:`support`, which
    returns one by design, and :meth:`crps` of the cross form, which builds it in bounded row
    chunks).

    Parameters
    ----------
    residuals : array-like of shape (n,)
        Signed calibration residuals ``y_i - f(x_i)`` (split form), out-of-fold residuals
        ``y_i - f_{-k(i)}(x_i)`` (cross form), or either divided by a scale ``s(x_i)``.
    fold_of : array-like of int of shape (n,), default=None
        Cross form: the fold of each residual, i.e. the column of ``centers`` that holds the
        prediction of the model fitted without it. ``None`` is the split form (one fold).
    n_folds : int, default=None
        Number of folds (columns of ``centers``); ``None`` means ``max(fold_of) + 1``. Empty
        folds are allowed.

    Attributes
    ----------
    n_calibration : int
    n_folds : int

    Notes
    -----
    Every query takes ``centers``: shape ``(m,)`` for the split form, ``(m, n_folds)`` for the
    cross form, and optionally ``scale`` of shape ``(m,)``; the distribution at test point ``j``
    is that of ``C_i = centers[j, fold_of[i]] + scale[j] * residuals[i]``. See the module
    docstring for the conventions (ties, ``tau``, quantile ranks, CRPS).

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.calibration import ConformalPredictiveDistribution
    >>> cpd = ConformalPredictiveDistribution([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> centers = np.array([10.0])                       # f(x) at one test point
    >>> cpd.cdf(centers, [9.5, 11.0, 20.0], tau=0.0)     # #{C_i < y} / (n + 1)
    array([[0.2, 0.3, 0.9]])
    >>> cpd.cdf(centers, [11.0], tau=1.0)                # (#{C_i <= y} + 1) / (n + 1)
    array([[0.5]])
    >>> cpd.quantiles(centers, [0.1, 0.5, 0.9])          # ranks 1, 5, 9 of the C_i
    array([[ 8., 12., 16.]])
    >>> cpd.pvalues(centers, [16.0])                     # two-sided: 2 * (1 + 1) / 10
    array([0.4])
    """

    def __init__(
        self,
        residuals: ArrayLike,
        fold_of: ArrayLike | None = None,
        *,
        n_folds: int | None = None,
    ) -> None:
        r = np.asarray(residuals, dtype=np.float64)
        if r.ndim != 1 or r.shape[0] == 0:
            raise ValueError(
                f"residuals must be a non-empty 1-D array; got shape {r.shape}. A conformal "
                "predictive distribution needs at least one calibration residual."
            )
        if not np.isfinite(r).all():
            raise ValueError("residuals must be finite (they come from finite targets).")
        n = r.shape[0]
        if fold_of is None:
            folds = np.zeros(n, dtype=np.int64)
            k = 1 if n_folds is None else int(n_folds)
        else:
            folds = np.asarray(fold_of).ravel()
            if folds.shape[0] != n or not np.issubdtype(folds.dtype, np.integer):
                raise ValueError(
                    f"fold_of must hold {n} integer fold indices, one per residual; got "
                    f"{folds.shape[0]} of dtype {folds.dtype}."
                )
            folds = folds.astype(np.int64)
            k = int(folds.max()) + 1 if n_folds is None else int(n_folds)
            if folds.min() < 0 or folds.max() >= k:
                raise ValueError(
                    f"fold_of must lie in [0, {k}); got [{folds.min()}, {folds.max()}]."
                )
        if k < 1:
            raise ValueError(f"n_folds must be at least 1; got {k}.")
        self.n_calibration = n
        self.n_folds = k
        # Sort by (fold, residual) once: each fold is a sorted block for binary search and for
        # the union-selection kernel; the split form is the single block.
        if k == 1:
            self._sorted = np.sort(r)
            self._starts = np.array([0, n], dtype=np.int64)
        else:
            order = np.lexsort((r, folds))
            self._sorted = np.ascontiguousarray(r[order])
            self._starts = np.searchsorted(folds[order], np.arange(k + 1)).astype(np.int64)
        self._fold_of = np.ascontiguousarray(folds)
        self._residuals = np.ascontiguousarray(r)
        if k == 1:
            # CRPS of the split form in O(log n) per point: E|R - t| from prefix sums, minus half
            # the mean absolute difference E|R - R'| (a constant). Residuals are centred first so
            # that the prefix sums do not lose digits to a common offset.
            self._offset = float(self._sorted[n // 2])
            centred = self._sorted - self._offset
            self._centred = centred
            self._prefix = np.concatenate([[0.0], np.cumsum(centred)])
            j = np.arange(1, n + 1)
            self._mean_difference = float(2.0 * np.sum(centred * (2 * j - n - 1)) / n**2)

    def __repr__(self) -> str:
        return (
            f"ConformalPredictiveDistribution(n_calibration={self.n_calibration}, "
            f"n_folds={self.n_folds})"
        )

    # -------------------------------------------------------------------- validation

    def _centers(self, centers: ArrayLike) -> Floats:
        c = np.asarray(centers, dtype=np.float64)
        if self.n_folds == 1 and c.ndim == 2 and c.shape[1] == 1:
            c = c[:, 0]
        expected = "(n_test,)" if self.n_folds == 1 else f"(n_test, {self.n_folds})"
        if (self.n_folds == 1 and c.ndim != 1) or (
            self.n_folds > 1 and (c.ndim != 2 or c.shape[1] != self.n_folds)
        ):
            raise ValueError(f"centers must have shape {expected}; got {c.shape}.")
        if not np.isfinite(c).all():
            raise ValueError("centers must be finite (predictions of the model(s) at X).")
        return c

    def _grid(self, y: ArrayLike, m: int, name: str) -> Floats:
        """``y`` as an ``(m, G)`` array: a shared ``(G,)`` grid is broadcast, not copied."""
        values = _no_nan(np.asarray(y, dtype=np.float64), name)
        if values.ndim == 1:
            return np.broadcast_to(values, (m, values.shape[0]))
        if values.ndim == 2 and values.shape[0] == m:
            return values
        raise ValueError(
            f"{name} must have shape (n_grid,) (one grid shared by all test points) or "
            f"(n_test, n_grid) = ({m}, n_grid). Got shape {values.shape} instead."
        )

    def _tau(self, tau: ArrayLike, m: int) -> Floats:
        t = np.asarray(tau, dtype=np.float64)
        if t.ndim == 0:
            t = np.full(m, float(t))
        if t.shape != (m,) or not ((t >= 0) & (t <= 1)).all():
            raise ValueError(
                f"tau must be a number in [0, 1] or an array of {m} such numbers, one per test "
                f"point. Got {np.asarray(tau)!r} instead."
            )
        return t

    # -------------------------------------------------------------------- counting

    def _counts(
        self, centers: Floats, y: Floats, scale: Floats | None
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """``#{C_i < y}`` and ``#{C_i = y}``, each ``(m, G)``: one binary search per fold."""
        below = np.zeros(y.shape, dtype=np.int64)
        upto = np.zeros(y.shape, dtype=np.int64)
        centers = centers.reshape(centers.shape[0], -1)
        for k in range(self.n_folds):
            block = self._sorted[self._starts[k] : self._starts[k + 1]]
            if block.shape[0] == 0:
                continue
            target = y - centers[:, k, None]
            if scale is not None:
                target = target / scale[:, None]
            below += np.searchsorted(block, target, side="left")
            upto += np.searchsorted(block, target, side="right")
        return below, upto - below

    # -------------------------------------------------------------------- queries

    def cdf(
        self,
        centers: ArrayLike,
        y: ArrayLike,
        *,
        tau: float | ArrayLike,
        scale: ArrayLike | None = None,
    ) -> Floats:
        """Values ``Q(y, tau)`` of the predictive distributions.

        Parameters
        ----------
        centers : array-like of shape (m,) or (m, n_folds)
        y : array-like of shape (G,) or (m, G)
            A grid shared by all test points, or one grid per test point. ``+-inf`` allowed.
        tau : float or array-like of shape (m,)
            In ``[0, 1]``: ``0`` the lower envelope, ``1`` the upper one, ``U(0, 1)`` (one draw
            per test point, shared by its grid so the CDF stays monotone) the randomized CPD.
        scale : array-like of shape (m,), default=None
            ``s(x) > 0`` when the residuals were divided by a scale.

        Returns
        -------
        ndarray of shape (m, G)
        """
        c = self._centers(centers)
        m = c.shape[0]
        grid = self._grid(y, m, "y")
        t = self._tau(tau, m)
        below, ties = self._counts(c, grid, as_scale(scale, m))
        return pvalues_from_counts(below + ties, below, self.n_calibration, t[:, None])

    def pvalues(
        self,
        centers: ArrayLike,
        y: ArrayLike,
        *,
        alternative: Alternative = "two-sided",
        tau: float | ArrayLike | None = None,
        scale: ArrayLike | None = None,
    ) -> Floats:
        """Conformal p-values of candidate targets.

        Parameters
        ----------
        centers : array-like of shape (m,) or (m, n_folds)
        y : array-like of shape (m,) or (m, G)
            One candidate per test point, or several.
        alternative : {"two-sided", "less", "greater"}, default="two-sided"
            scipy.stats' words. ``"greater"``: small when ``y`` is unusually large,
            ``1 - Q(y, 0) = (1 + #{C_i >= y}) / (n + 1)``, the usual conformal p-value of the
            score ``y - f(x)``. ``"less"``: small when ``y`` is unusually small, ``Q(y, 1) =
            (1 + #{C_i <= y}) / (n + 1)``. ``"two-sided"``: ``min(1, 2 min(less, greater))``;
            ``{y: p > a}`` is then exactly the split ``"signed"`` interval at level ``1 - a``.
        tau : float or array-like of shape (m,), default=None
            ``None`` gives the conservative p-values above (``P(p <= a) <= a``). A value gives
            the randomized ones, ``Q(y, tau)``, ``1 - Q(y, tau)`` and
            ``1 - |2 Q(y, tau) - 1|``, exactly uniform when ``tau ~ U(0, 1)``.
        scale : array-like of shape (m,), default=None

        Returns
        -------
        ndarray of shape (m,) or (m, G)
        """
        alternative = check_alternative(alternative)  # type: ignore[assignment]
        c = self._centers(centers)
        m = c.shape[0]
        values = _no_nan(np.asarray(y, dtype=np.float64), "y")
        single = values.ndim == 1
        if values.shape[:1] != (m,) or values.ndim not in (1, 2):
            raise ValueError(
                f"y must have shape (n_test,) = ({m},), one candidate per test point, or "
                f"({m}, n_candidates). Got shape {values.shape} instead."
            )
        grid = values[:, None] if single else values
        below, ties = self._counts(c, grid, as_scale(scale, m))
        n = self.n_calibration
        if tau is None:  # the package's one p-value formula, counting from each side
            lower = pvalues_from_counts(below + ties, None, n, None)
            upper = pvalues_from_counts(n - below, None, n, None)
        else:
            q = pvalues_from_counts(below + ties, below, n, self._tau(tau, m)[:, None])
            lower, upper = q, 1.0 - q
        if alternative == "less":
            out = lower
        elif alternative == "greater":
            out = upper
        else:
            out = np.minimum(1.0, 2.0 * np.minimum(lower, upper))
        return out[:, 0] if single else out

    def quantiles(
        self,
        centers: ArrayLike,
        levels: float | Sequence[float],
        *,
        side: QuantileSide = "central",
        scale: ArrayLike | None = None,
    ) -> Floats:
        """Quantiles of the predictive distributions: order statistics of the ``C_i``.

        Parameters
        ----------
        centers : array-like of shape (m,) or (m, n_folds)
        levels : float or sequence of float
            Levels ``p`` in (0, 1).
        side : {"central", "lower", "upper"}, default="central"
            ``"upper"``: ``C_(ceil(p (n + 1)))`` (``+inf`` past ``n``), so ``P(Y <= q) >= p``.
            ``"lower"``: ``C_(floor(p (n + 1)))`` (``-inf`` at 0), so ``P(Y >= q) >= 1 - p``.
            ``"central"``: lower for ``p < 1/2``, upper for ``p >= 1/2``; then
            ``P(q(p1) <= Y <= q(p2)) >= p2 - p1`` for ``p1 < 1/2 <= p2``.
        scale : array-like of shape (m,), default=None

        Returns
        -------
        ndarray of shape (m,) for a float level, (m, L) for a sequence of levels.

        Warns
        -----
        ConformalWarning
            When a level needs more calibration points than there are (infinite quantiles).
        """
        exact, scalar = parse_levels(levels, name="levels", owner="quantiles")
        ranks = quantile_ranks(self.n_calibration, exact, side)
        out = self._at_ranks(centers, ranks, scale)
        return out[:, 0] if scalar else out

    def _at_ranks(
        self, centers: ArrayLike, ranks: NDArray[np.int64], scale: ArrayLike | None
    ) -> Floats:
        """``(m, L)`` order statistics ``C_(rank)`` (rank 0 is -inf, n + 1 is +inf)."""
        c = self._centers(centers)
        s = as_scale(scale, c.shape[0])
        if self.n_folds == 1:
            # C_(r) = f(x) + s(x) r_(r) because s(x) > 0: index the sorted residuals.
            padded = np.concatenate([[-np.inf], self._sorted, [np.inf]])
            picked = padded[ranks][None, :]
            return c[:, None] + (picked if s is None else s[:, None] * picked)
        shifts = c if s is None else c / s[:, None]
        out = self._union_order_statistics(shifts, ranks)
        return out if s is None else out * s[:, None]

    def _union_order_statistics(self, shifts: Floats, ranks: NDArray[np.int64]) -> Floats:
        """``ranks``-th smallest of ``shifts[j, fold_of[i]] + r_i`` per row: selection across
        the folds' sorted blocks when that is cheaper, else the streamed kernel (many folds)."""
        shifts = np.ascontiguousarray(shifts, dtype=np.float64)
        if use_union(self.n_calibration, self.n_folds):
            return union_order_statistics(self._sorted, self._starts, shifts, 1.0, ranks)
        return shifted_order_statistics(shifts, self._fold_of, self._residuals, 1.0, ranks)

    def support(self, centers: ArrayLike, *, scale: ArrayLike | None = None) -> Floats:
        """The sorted ``C_i`` of every test point: an ``(m, n)`` array (memory ``8 m n`` bytes).

        Parameters
        ----------
        centers : array-like of shape (m,) or (m, n_folds)
            Point predictions of the test points (one column per fold in the cross form).
        scale : array-like of shape (m,), default=None
            Per-point scale multiplying the residuals; ``None`` for no scaling.

        Returns
        -------
        ndarray of shape (m, n)
            Row ``j``: the ``n`` values ``centers[j] + scale[j] * r_i``, sorted.

        Examples
        --------
        >>> from conformal.calibration import ConformalPredictiveDistribution
        >>> cpd = ConformalPredictiveDistribution([1.0, -1.0, 0.0], fold_of=[0, 1, 1])
        >>> cpd.support([[0.0, 10.0]])       # 0 + 1, 10 - 1, 10 + 0
        array([[ 1.,  9., 10.]])
        """
        c = self._centers(centers)
        s = as_scale(scale, c.shape[0])
        if self.n_folds == 1:
            spread = self._sorted[None, :] if s is None else s[:, None] * self._sorted[None, :]
            return c[:, None] + spread
        spread = self._residuals[None, :] if s is None else s[:, None] * self._residuals[None, :]
        return np.sort(c[:, self._fold_of] + spread, axis=1)

    def crps(self, centers: ArrayLike, y: ArrayLike, *, scale: ArrayLike | None = None) -> Floats:
        """CRPS of each test point's distribution at its observed ``y``.

        The distribution scored is the empirical one of the ``C_i`` (mass ``1/n`` each; see the
        module docstring for why): ``CRPS = E|C - y| - E|C - C'| / 2``. The split form costs
        O(log n) per point after the sort; the cross form sorts each point's ``C_i``, in row
        chunks of bounded memory.

        Parameters
        ----------
        centers : array-like of shape (m,) or (m, n_folds)
        y : array-like of shape (m,)
            Finite observed targets.
        scale : array-like of shape (m,), default=None

        Returns
        -------
        ndarray of shape (m,)

        Examples
        --------
        >>> from conformal.calibration import ConformalPredictiveDistribution
        >>> cpd = ConformalPredictiveDistribution([-1.0, 1.0])
        >>> cpd.crps([0.0, 0.0], [0.0, 3.0])   # E|C - y| - E|C - C'| / 2 = 1 - 0.5, 3 - 0.5
        array([0.5, 2.5])
        """
        c = self._centers(centers)
        m = c.shape[0]
        target = np.asarray(y, dtype=np.float64).ravel()
        if target.shape[0] != m or not np.isfinite(target).all():
            raise ValueError(f"y must hold {m} finite targets, one per test point.")
        s = as_scale(scale, m)
        n = self.n_calibration
        if self.n_folds == 1:
            t = target - c if s is None else (target - c) / s
            u = t - self._offset
            k = np.searchsorted(self._centred, u, side="right")
            mean_abs = (self._prefix[n] - 2.0 * self._prefix[k] + u * (2 * k - n)) / n
            score = np.maximum(mean_abs - 0.5 * self._mean_difference, 0.0)
            return score if s is None else s * score
        out = np.empty(m)
        weights = np.full(n, 1.0 / n)
        for rows in block_slices(m, n):
            block_scale = None if s is None else s[rows]
            atoms = self.support(c[rows], scale=block_scale)
            out[rows] = crps_sorted(target[rows], atoms, weights)
        return out
