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

from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.utils.validation import check_is_fitted

from .._kernels.quantile import shifted_order_statistics, union_order_statistics
from .._validation import n_rows, seed_from
from ..calibration import conformal_rank, exact_level, min_calibration_size
from ..exceptions import warn_conformal
from ..metrics import _crps_sorted
from ..scores import AbsoluteScore, GammaScore, NormalizedScore, RegressionScore, SignedScore
from ._plus import row_chunks, use_union

__all__ = [
    "ConformalPredictiveDistribution",
    "PredictiveDistributionMixin",
    "residual_scale",
    "signed_residuals",
]

Floats = NDArray[np.float64]
Side = Literal["central", "lower", "upper"]
Alternative = Literal["two-sided", "lower", "upper"]
_RESIDUAL_SCORES = ("absolute", "signed", "normalized", "gamma")


# ------------------------------------------------------------------------ residual scores


def residual_scale(score: RegressionScore, y_pred: ArrayLike, scale: ArrayLike | None) -> Any:
    """The divisor ``s(x)`` of the signed residual ``(y - f(x)) / s(x)`` of a residual score.

    ``None`` for ``"absolute"`` and ``"signed"`` (plain residuals), the difficulty estimate
    ``sigma(x)`` for ``"normalized"`` and ``|f(x)|`` for ``"gamma"``. Only these exact score
    classes are residual scores: a subclass may redefine the score, so it is refused.

    Raises
    ------
    ValueError
        For CQR scores (they compare ``y`` with two quantile models, not with one prediction)
        and for any other score class.
    """
    if score.needs_quantiles:
        raise ValueError(
            f"conformity_score={score.name!r} is a CQR score, not a residual: conformal "
            "predictive distributions need signed residuals y - f(x). Use one of "
            f"{list(_RESIDUAL_SCORES)}."
        )
    kind = type(score)
    if kind in (AbsoluteScore, SignedScore):
        return None
    f = np.asarray(y_pred, dtype=np.float64).ravel()
    if kind is NormalizedScore:
        return _as_scale(scale, f.shape[0])
    if kind is GammaScore:
        if (f == 0).any():
            raise ValueError(
                "GammaScore divides by |f(x)| and got a prediction of exactly 0; use "
                "conformity_score='absolute' or a model whose predictions are non-zero."
            )
        return np.abs(f)
    raise ValueError(
        f"conformal predictive distributions need a residual score; {score!r} is not one. "
        f"Supported: {list(_RESIDUAL_SCORES)} (the classes themselves, not subclasses)."
    )


def signed_residuals(
    score: RegressionScore, y: ArrayLike, y_pred: ArrayLike, scale: ArrayLike | None = None
) -> Floats:
    """Signed residuals ``(y - f(x)) / s(x)`` for :class:`ConformalPredictiveDistribution`.

    Examples
    --------
    >>> from conformal.scores import AbsoluteScore, GammaScore
    >>> from conformal.regression._predictive import signed_residuals
    >>> signed_residuals(AbsoluteScore(), [1.0, 4.0], [2.0, 2.0])
    array([-1.,  2.])
    >>> signed_residuals(GammaScore(), [11.0, 18.0], [10.0, 20.0])
    array([ 0.1, -0.1])
    """
    f = np.asarray(y_pred, dtype=np.float64).ravel()
    residual = np.asarray(y, dtype=np.float64).ravel() - f
    divisor = residual_scale(score, f, scale)
    return residual if divisor is None else residual / divisor


# ------------------------------------------------------------------------ input checks


def _as_scale(scale: ArrayLike | None, m: int) -> Floats | None:
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


def _as_levels(levels: Any, owner: str) -> tuple[list[Fraction], bool]:
    """Quantile levels as exact fractions, and whether a single level was given."""
    scalar = np.ndim(levels) == 0
    values = [levels] if scalar else list(np.asarray(levels, dtype=object).ravel())
    out = []
    for p in values:
        try:
            value = np.nan if isinstance(p, (str, bytes)) else float(p)
        except (TypeError, ValueError):
            value = np.nan
        if not 0.0 < value < 1.0:
            raise ValueError(
                f"The 'levels' parameter of {owner} must be a float in the range (0.0, 1.0) or "
                f"a sequence of such floats. Got {p!r} instead."
            )
        out.append(exact_level(p))
    if not out:
        raise ValueError(f"The 'levels' parameter of {owner} is empty; pass at least one level.")
    return out, scalar


def _quantile_ranks(n: int, levels: list[Fraction], side: Side) -> NDArray[np.int64]:
    """1-based ranks of the quantiles (0 means -inf, n + 1 means +inf), one warning if any is
    infinite."""
    if side not in ("central", "lower", "upper"):
        raise ValueError(
            f"side must be one of ['central', 'lower', 'upper']. Got {side!r} instead."
        )
    ranks = []
    short = []
    for p in levels:
        upper = side == "upper" or (side == "central" and p >= Fraction(1, 2))
        if upper:
            rank = conformal_rank(n, p, side="upper")
            needed = min_calibration_size(p)
        else:
            rank = conformal_rank(n, 1 - p, side="lower")  # floor(p (n + 1))
            needed = min_calibration_size(1 - p)
        if not 1 <= rank <= n:
            short.append((needed, p))
        ranks.append(rank)
    if short:
        needed, p = max(short)
        warn_conformal(
            f"calibration set has {n} points; quantile level {float(p):g} needs at least "
            f"{needed} (or returns infinite quantiles)"
        )
    return np.array(ranks, dtype=np.int64)


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
    >>> from conformal.regression import ConformalPredictiveDistribution
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
        below, ties = self._counts(c, grid, _as_scale(scale, m))
        return (below + t[:, None] * (ties + 1)) / (self.n_calibration + 1)

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
        alternative : {"two-sided", "lower", "upper"}, default="two-sided"
            ``"upper"``: small when ``y`` is unusually large, ``1 - Q(y, 0) =
            (1 + #{C_i >= y}) / (n + 1)``, the usual conformal p-value of the score
            ``y - f(x)``. ``"lower"``: small when ``y`` is unusually small, ``Q(y, 1) =
            (1 + #{C_i <= y}) / (n + 1)``. ``"two-sided"``: ``min(1, 2 min(lower, upper))``;
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
        if alternative not in ("two-sided", "lower", "upper"):
            raise ValueError(
                "alternative must be one of ['lower', 'two-sided', 'upper']. Got "
                f"{alternative!r} instead."
            )
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
        below, ties = self._counts(c, grid, _as_scale(scale, m))
        n1 = self.n_calibration + 1
        if tau is None:
            lower = (below + ties + 1) / n1
            upper = (n1 - below) / n1
        else:
            q = (below + self._tau(tau, m)[:, None] * (ties + 1)) / n1
            lower, upper = q, 1.0 - q
        if alternative == "lower":
            out = lower
        elif alternative == "upper":
            out = upper
        else:
            out = np.minimum(1.0, 2.0 * np.minimum(lower, upper))
        return out[:, 0] if single else out

    def quantiles(
        self,
        centers: ArrayLike,
        levels: float | Sequence[float],
        *,
        side: Side = "central",
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
        exact, scalar = _as_levels(levels, "quantiles")
        ranks = _quantile_ranks(self.n_calibration, exact, side)
        out = self._at_ranks(centers, ranks, scale)
        return out[:, 0] if scalar else out

    def _at_ranks(
        self, centers: ArrayLike, ranks: NDArray[np.int64], scale: ArrayLike | None
    ) -> Floats:
        """``(m, L)`` order statistics ``C_(rank)`` (rank 0 is -inf, n + 1 is +inf)."""
        c = self._centers(centers)
        s = _as_scale(scale, c.shape[0])
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

        Examples
        --------
        >>> from conformal.regression import ConformalPredictiveDistribution
        >>> cpd = ConformalPredictiveDistribution([1.0, -1.0, 0.0], fold_of=[0, 1, 1])
        >>> cpd.support([[0.0, 10.0]])       # 0 + 1, 10 - 1, 10 + 0
        array([[ 1.,  9., 10.]])
        """
        c = self._centers(centers)
        s = _as_scale(scale, c.shape[0])
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
        >>> from conformal.regression import ConformalPredictiveDistribution
        >>> cpd = ConformalPredictiveDistribution([-1.0, 1.0])
        >>> cpd.crps([0.0, 0.0], [0.0, 3.0])   # E|C - y| - E|C - C'| / 2 = 1 - 0.5, 3 - 0.5
        array([0.5, 2.5])
        """
        c = self._centers(centers)
        m = c.shape[0]
        target = np.asarray(y, dtype=np.float64).ravel()
        if target.shape[0] != m or not np.isfinite(target).all():
            raise ValueError(f"y must hold {m} finite targets, one per test point.")
        s = _as_scale(scale, m)
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
        for rows in row_chunks(m, n):
            block_scale = None if s is None else s[rows]
            atoms = self.support(c[rows], scale=block_scale)
            out[rows] = _crps_sorted(target[rows], atoms, weights)
        return out


# ------------------------------------------------------------------------ estimator methods

Block = tuple[slice, Floats, "Floats | None"]


class PredictiveDistributionMixin:
    """``predict_cdf``, ``predict_quantiles``, ``predict_pvalues`` and ``crps`` for a regressor.

    Hook: a fitted estimator using this mixin (put it left of ``BaseSplitRegressor``) provides

    - ``_predictive_distribution(self) -> ConformalPredictiveDistribution``: the calibrated
      object, built once at fit time from the signed calibration residuals
      (:func:`signed_residuals`; out-of-fold residuals with ``fold_of`` for the cross form).
      It raises a ``ValueError`` saying why when the fit cannot support distributions (a CQR or
      custom score, Mondrian groups, weights).
    - ``_predictive_blocks(self, X) -> Iterator[(rows, centers, scale)]``: for ``X`` already
      checked by ``_check_features``, consecutive row slices covering all of ``X`` with the
      centres of those rows (``(n_rows,)`` for the split form, ``(n_rows, n_folds)`` for the
      cross form: column ``k`` is the model fitted without fold ``k``) and the scale
      ``s(x)`` (``(n_rows,)``, or ``None`` for plain residuals: see :func:`residual_scale`).
      Yielding several blocks bounds the memory of the ``(n_rows, n_folds)`` centres.

    It also uses ``self._check_features(X, reset=False)`` and ``self.random_state`` (the source
    of the randomized CDF's ``tau``), both of which the package's regressors have.

    A cross-conformal regressor with out-of-fold predictions ``out_of_fold``, fold models
    ``estimators_`` and folds ``fold_of_`` adopts it with (sketch)::

        # in fit, after scoring out of fold:
        self.signed_residuals_ = target - out_of_fold
        self.predictive_distribution_ = ConformalPredictiveDistribution(
            self.signed_residuals_, self.fold_of_, n_folds=len(self.estimators_)
        )

        def _predictive_distribution(self):
            return self.predictive_distribution_

        def _predictive_blocks(self, X):
            for rows, centers in self._fold_blocks(X):  # (n_rows, K) fold predictions
                yield rows, centers, None

    Jackknife+-after-bootstrap is the case ``fold_of = arange(n)``: column ``i`` of the centres
    is the aggregate of the models whose bag excludes point ``i``.
    """

    random_state: Any

    if TYPE_CHECKING:

        def _check_features(self, X: Any, *, reset: bool) -> Any: ...

    def _predictive_distribution(self) -> ConformalPredictiveDistribution:  # pragma: no cover
        raise NotImplementedError

    def _predictive_blocks(self, X: Any) -> Iterator[Block]:  # pragma: no cover
        raise NotImplementedError

    def _blocks(self, X: Any) -> tuple[ConformalPredictiveDistribution, int, Iterator[Block]]:
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        cpd = self._predictive_distribution()
        return cpd, n_rows(X), self._predictive_blocks(X)

    def predict_cdf(
        self,
        X: ArrayLike,
        y_grid: ArrayLike,
        *,
        kind: Literal["randomized", "lower", "upper"] = "randomized",
    ) -> Floats:
        """Conformal predictive CDFs evaluated on a grid of target values.

        ``Q(y, tau) = (#{i: C_i < y} + tau (#{i: C_i = y} + 1)) / (n + 1)`` with ``C_i`` the
        prediction at ``x`` plus each calibration residual (times the scale of the score, see
        :class:`ConformalPredictiveDistribution`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y_grid : array-like of shape (n_grid,) or (n_samples, n_grid)
            One grid shared by all samples, or one grid per sample.
        kind : {"randomized", "lower", "upper"}, default="randomized"
            ``"randomized"``: ``tau ~ U(0, 1)``, one draw per sample shared by its grid, from
            ``random_state`` (same seed, same output); at the true target the values are then
            exactly Uniform(0, 1) (split form). ``"lower"`` (``tau = 0``) and ``"upper"``
            (``tau = 1``) are the deterministic envelopes, which bracket it.

        Returns
        -------
        cdf : ndarray of shape (n_samples, n_grid)

        Examples
        --------
        >>> import numpy as np
        >>> from conformal import SplitConformalRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.uniform(0, 5, size=(500, 1))
        >>> y = 2 * X[:, 0] + rng.normal(size=500)
        >>> model = SplitConformalRegressor(random_state=0).fit(X, y)
        >>> model.predict_cdf([[1.0]], [0.0, 2.0, 4.0], kind="lower").round(3)
        array([[0.013, 0.49 , 0.974]])
        >>> model.predict_cdf([[1.0]], [0.0, 2.0, 4.0], kind="upper").round(3)
        array([[0.02 , 0.497, 0.98 ]])
        """
        if kind not in ("randomized", "lower", "upper"):
            raise ValueError(
                f"kind must be one of ['lower', 'randomized', 'upper']. Got {kind!r} instead."
            )
        cpd, m, blocks = self._blocks(X)
        grid = cpd._grid(y_grid, m, "y_grid")
        if kind == "randomized":
            tau = np.random.default_rng(seed_from(self.random_state)).random(m)
        else:
            tau = np.full(m, 0.0 if kind == "lower" else 1.0)
        out = np.empty(grid.shape)
        for rows, centers, scale in blocks:
            out[rows] = cpd.cdf(centers, grid[rows], tau=tau[rows], scale=scale)
        return out

    def predict_quantiles(
        self,
        X: ArrayLike,
        levels: float | Sequence[float],
        *,
        side: Side = "central",
    ) -> Floats:
        """Quantiles of the conformal predictive distributions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        levels : float or sequence of float
            Quantile levels ``p`` in (0, 1).
        side : {"central", "lower", "upper"}, default="central"
            Which order statistic when ``p (n + 1)`` is not an integer:
            ``"upper"`` ``C_(ceil(p (n + 1)))``, ``"lower"`` ``C_(floor(p (n + 1)))``,
            ``"central"`` lower below 1/2 and upper from 1/2 on. With ``"central"``,
            ``predict_quantiles(X, [a/2, 1 - a/2])`` is exactly
            ``predict_interval(X, 1 - a)`` of the same model fitted with
            ``conformity_score="signed"``.

        Returns
        -------
        quantiles : ndarray of shape (n_samples,) for a float, (n_samples, n_levels) for a
            sequence of levels. Infinite (with a :class:`~conformal.ConformalWarning`) when the
            calibration set is too small for a level.

        Examples
        --------
        >>> import numpy as np
        >>> from conformal import SplitConformalRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.uniform(0, 5, size=(500, 1))
        >>> y = 2 * X[:, 0] + rng.normal(size=500)
        >>> model = SplitConformalRegressor(conformity_score="signed", random_state=0).fit(X, y)
        >>> model.predict_quantiles([[1.0]], [0.05, 0.5, 0.95]).round(2)
        array([[0.31, 2.01, 3.64]])
        >>> model.predict_interval([[1.0]], 0.9).round(2)
        array([[0.31, 3.64]])
        """
        cpd, m, blocks = self._blocks(X)
        exact, scalar = _as_levels(levels, "predict_quantiles")
        ranks = _quantile_ranks(cpd.n_calibration, exact, side)  # warns once for all blocks
        out = np.empty((m, len(exact)))
        for rows, centers, scale in blocks:
            out[rows] = cpd._at_ranks(centers, ranks, scale)
        return out[:, 0] if scalar else out

    def predict_pvalues(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        alternative: Alternative = "two-sided",
        randomized: bool = False,
    ) -> Floats:
        """Conformal p-values of candidate targets, one (or several) per sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_candidates)
        alternative : {"two-sided", "lower", "upper"}, default="two-sided"
            ``"upper"``: ``(1 + #{C_i >= y}) / (n + 1)``, small when ``y`` is unusually large;
            ``"lower"``: ``(1 + #{C_i <= y}) / (n + 1)``, small when it is unusually small;
            ``"two-sided"``: ``min(1, 2 min(lower, upper))``. The set ``{y: p > a}`` of the
            two-sided p-value is exactly the ``"signed"`` split interval at level ``1 - a``.
        randomized : bool, default=False
            ``False``: conservative p-values, ``P(p <= a) <= a``. ``True``: ties and the test
            point's own rank are broken by ``tau ~ U(0, 1)`` from ``random_state``, which
            makes them exactly uniform at the true target (split form).

        Returns
        -------
        pvalues : ndarray of shape (n_samples,) or (n_samples, n_candidates)

        Examples
        --------
        >>> import numpy as np
        >>> from conformal import SplitConformalRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.uniform(0, 5, size=(500, 1))
        >>> y = 2 * X[:, 0] + rng.normal(size=500)
        >>> model = SplitConformalRegressor(random_state=0).fit(X, y)
        >>> model.predict_pvalues([[1.0], [1.0]], [2.0, 6.0]).round(3)
        array([0.993, 0.013])
        """
        cpd, m, blocks = self._blocks(X)
        values = np.asarray(y, dtype=np.float64)
        if values.ndim not in (1, 2) or values.shape[0] != m:
            raise ValueError(
                f"y must have shape (n_samples,) = ({m},), one candidate per sample, or "
                f"({m}, n_candidates). Got shape {values.shape} instead."
            )
        tau = None
        if randomized:
            tau = np.random.default_rng(seed_from(self.random_state)).random(m)
        out = np.empty(values.shape)
        for rows, centers, scale in blocks:
            out[rows] = cpd.pvalues(
                centers,
                values[rows],
                alternative=alternative,
                tau=None if tau is None else tau[rows],
                scale=scale,
            )
        return out

    def crps(self, X: ArrayLike, y: ArrayLike) -> Floats:
        """CRPS of each sample's predictive distribution at its observed target (lower is
        better).

        The distribution scored is the empirical distribution of the ``C_i`` (mass ``1/n``
        each), the finite convention explained in :class:`ConformalPredictiveDistribution`;
        :func:`conformal.metrics.crps` scores any other step distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Finite observed targets.

        Returns
        -------
        crps : ndarray of shape (n_samples,)
            Per sample; ``.mean()`` is the usual summary.

        Examples
        --------
        >>> import numpy as np
        >>> from conformal import SplitConformalRegressor
        >>> rng = np.random.default_rng(0)
        >>> X = rng.uniform(0, 5, size=(500, 1))
        >>> y = 2 * X[:, 0] + rng.normal(size=500)
        >>> model = SplitConformalRegressor(random_state=0).fit(X, y)
        >>> model.crps([[1.0], [1.0]], [2.0, 6.0]).round(3)
        array([0.23 , 3.428])
        """
        cpd, m, blocks = self._blocks(X)
        target = np.asarray(y, dtype=np.float64).ravel()
        if target.shape[0] != m:
            raise ValueError(f"y has {target.shape[0]} entries but X has {m} rows.")
        out = np.empty(m)
        for rows, centers, scale in blocks:
            out[rows] = cpd.crps(centers, target[rows], scale=scale)
        return out
