"""Conformal risk control (CRC) and its weighted, non-exchangeable form: dense loss matrices,
step losses by bisection over their sorted breakpoints, and the streaming form with exponential
weights.

The rule (Angelopoulos et al. 2022; Farinhas et al. 2024): with calibration weights ``w_i``
(1 when unweighted), ``N = sum w_i``, the weighted loss sum ``S(lambda) = sum w_i L_i(lambda)``
and a test point of weight ``t`` (1 unless likelihood-ratio weights give one),

    lambda_hat = inf{ lambda : (S(lambda) + t B) / (N + t) <= alpha },

which for ``t = 1`` is ``(N/(N+1)) R(lambda) + B/(N+1) <= alpha`` with ``R = S / N``. It is
evaluated as ``den (S + t B) <= num (N + t)`` where ``alpha = num / den`` is read as the decimal
the user typed (:func:`conformal.calibration.exact_level`), so ``alpha=0.1`` with integer losses
(miscoverage) reproduces the split-conformal order statistic with no floating-point error.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..calibration._levels import exact_level
from ..calibration._weights import check_weights, weight_factor
from ..exceptions import warn_conformal

Floats = NDArray[np.float64]

__all__ = [
    "StreamingRiskControl",
    "conformal_risk_control",
    "conformal_risk_control_steps",
]


# ---------------------------------------------------------------------------- checks


def check_alpha(alpha: Any, name: str = "alpha") -> Fraction:
    """``alpha`` in (0, 1) as an exact fraction (the decimal the user typed)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a float in the range (0, 1). Got {alpha!r} instead.")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(
            f"{name} must be a float in the range (0, 1). Got {alpha!r} instead; the target "
            f"risk{' level' if name == 'alpha' else ''} is a fraction such as 0.1."
        )
    return exact_level(float(alpha))


def check_bound(bound: Any) -> float:
    """The loss bound ``B``: a finite number."""
    try:
        value = float(bound)
    except (TypeError, ValueError):
        raise ValueError(f"bound must be a finite number. Got {bound!r} instead.") from None
    if not np.isfinite(value):
        raise ValueError(
            f"bound must be a finite number (the largest value a loss can take). Got {bound!r}."
        )
    return value


def check_lambdas(lambdas: ArrayLike, n_lambdas: int | None = None) -> Floats:
    """A strictly increasing 1-D grid of finite numbers."""
    grid = np.asarray(lambdas, dtype=np.float64)
    if grid.ndim != 1 or grid.shape[0] == 0:
        raise ValueError(f"lambdas must be a non-empty 1-D array. Got shape {grid.shape} instead.")
    if n_lambdas is not None and grid.shape[0] != n_lambdas:
        raise ValueError(
            f"lambdas has {grid.shape[0]} entries but losses has {n_lambdas} columns; give one "
            "lambda per column of losses."
        )
    if not np.isfinite(grid).all():
        raise ValueError("lambdas must be finite; drop the infinite or NaN entries.")
    steps = np.diff(grid)
    if (steps <= 0).any():
        j = int(np.flatnonzero(steps <= 0)[0])
        raise ValueError(
            f"lambdas must be sorted in strictly increasing order; lambdas[{j}] = "
            f"{float(grid[j])!r} is followed by {float(grid[j + 1])!r}. Sort them "
            "(np.unique(lambdas)) and reorder the columns of losses the same way."
        )
    return grid


def check_losses(losses: ArrayLike, bound: float, *, monotone: bool = True) -> Floats:
    """A 2-D float array of losses at most ``bound``, non-increasing along each row."""
    values = np.asarray(losses, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise ValueError(
            "losses must be a 2-D array of shape (n_calibration, n_lambdas) with at least one "
            f"row and one column. Got shape {values.shape} instead."
        )
    if np.isnan(values).any() or np.isinf(values).any():
        raise ValueError(
            "losses must be finite (no NaN, no +-inf): every loss lies between a finite lower "
            "bound and bound."
        )
    above = values > bound
    if above.any():
        i, j = (int(k) for k in np.argwhere(above)[0])
        raise ValueError(
            f"losses must be at most bound={bound!r}; losses[{i}, {j}] = {float(values[i, j])!r}. "
            "Pass the largest value the loss can take as bound (the guarantee needs it)."
        )
    if monotone:
        rising = values[:, 1:] > values[:, :-1]
        if rising.any():
            i, j = (int(k) for k in np.argwhere(rising)[0])
            raise ValueError(
                f"losses must be non-increasing in lambda (along each row); losses[{i}, {j}] = "
                f"{float(values[i, j])!r} < losses[{i}, {j + 1}] = {float(values[i, j + 1])!r}. "
                "Sort lambdas "
                "so that sets grow with lambda; for a loss that is not monotone use "
                "learn_then_test."
            )
    return values


def calibration_weights(weights: ArrayLike | None, n: int) -> Floats | None:
    """Checked fixed weights, divided by their maximum when it exceeds 1 (the test point
    weighs 1; see :func:`conformal.calibration._weights.weight_factor`)."""
    if weights is None:
        return None
    values = check_weights(weights, n, "weights", " (one per row of losses)")
    return values / weight_factor(values, None)


def check_test_weights(test_weights: ArrayLike | None) -> Floats | None:
    if test_weights is None:
        return None
    values = np.atleast_1d(np.asarray(test_weights, dtype=np.float64))
    return check_weights(values, values.shape[0], "test_weights")


def calibration_weights_of(weights: ArrayLike | None) -> Floats | None:
    return None if weights is None else np.asarray(weights, dtype=np.float64)


def _weighted_steps(
    breakpoints: ArrayLike, drops: ArrayLike | None, bound: float, weights: Floats | None
) -> tuple[Floats, Floats, float, float]:
    """Checked breakpoints (n, k), their weighted drops, the total weight and the loss sum
    below every breakpoint."""
    points = np.asarray(breakpoints, dtype=np.float64)
    if points.ndim == 1:
        points = points[:, None]
    if points.ndim != 2 or points.shape[0] == 0:
        raise ValueError(
            "breakpoints must be a 1-D or 2-D array with one row per calibration point. Got "
            f"shape {np.shape(breakpoints)} instead."
        )
    if np.isnan(points).any():
        raise ValueError("breakpoints must not be NaN; pad rows with +inf (no drop) instead.")
    if np.isneginf(points).any():
        raise ValueError(
            "breakpoints must not be -inf (a step that has dropped at every lambda is no loss): "
            "leave it out, or pad with +inf (no drop)."
        )
    n = points.shape[0]
    if drops is None:
        sizes = np.ones_like(points)
    else:
        sizes = np.broadcast_to(np.asarray(drops, dtype=np.float64), points.shape)
        if not (np.isfinite(sizes) & (sizes >= 0)).all():
            raise ValueError(
                "drops must be finite and non-negative (losses fall as lambda grows); got a "
                "negative or non-finite drop."
            )
    start = sizes.sum(axis=1)
    if (start > bound).any():
        i = int(np.flatnonzero(start > bound)[0])
        raise ValueError(
            f"losses must be at most bound={bound!r}; the loss of row {i} starts at the sum of "
            f"its drops, {float(start[i])!r}. Pass the largest value the loss can take as bound."
        )
    w = calibration_weights(weights, n)
    if w is None:
        total, s0 = float(n), float(start.sum())
        weighted = sizes
    else:
        total, s0 = float(w.sum()), float(w @ start)
        weighted = sizes * w[:, None]
    return points, weighted, total, s0


def grid_bisection(
    breakpoints: ArrayLike,
    drops: ArrayLike | None,
    bound: float,
    weights: Floats | None,
    grid: Floats,
    alpha: Fraction,
) -> tuple[int, float]:
    """The first grid index that meets the CRC rule (``len(grid)`` when none does), by
    bisection: the weighted loss sum at a grid lambda is the sum of the drops whose breakpoint
    exceeds it, and the rule is monotone in lambda, so ``log2(G)`` vectorized passes suffice,
    each over the breakpoints still between the two ends (no sort, no loss matrix)."""
    points, weighted, total, _ = _weighted_steps(breakpoints, drops, bound, weights)
    flat, sizes = points.ravel(), weighted.ravel()
    unit = drops is None and weights is None
    beyond = 0.0
    if not unit:  # only the breakpoints that drop
        # A step at +inf never drops: its loss counts at every lambda of the grid.
        beyond = float(sizes[np.isposinf(flat)].sum())
        keep = np.isfinite(flat) & (sizes > 0)
        flat, sizes = flat[keep], sizes[keep]
    num, den = float(alpha.numerator), float(alpha.denominator)
    # Bisection that shrinks its data: ``flat`` keeps only the breakpoints in (grid[lo - 1],
    # grid[hi]] and ``beyond`` the loss of those above grid[hi], so each pass reads about half
    # the breakpoints of the one before (about 2M reads in all).
    lo, hi = 0, grid.shape[0]  # answer in [lo, hi]; hi = len(grid): none qualifies
    while lo < hi:
        mid = (lo + hi) // 2
        above = flat > grid[mid]
        part = float(np.count_nonzero(above)) if unit else float(sizes[above].sum())
        loss = part if unit else beyond + part
        meets = den * (loss + bound) <= num * (total + 1.0)
        if meets:
            hi = mid
        else:
            lo = mid + 1
        if unit:  # a count is cheaper than copying the survivors
            continue
        if meets:
            beyond = loss
            above = ~above
        flat, sizes = flat[above], sizes[above]
    return lo, total


def step_curve(
    breakpoints: ArrayLike, drops: ArrayLike | None, bound: float, weights: Floats | None
) -> tuple[Floats, Floats, float]:
    """The weighted loss sum of step losses: ``values`` (sorted distinct finite breakpoints),
    ``sums`` (``sums[0]`` below the first breakpoint, ``sums[k]`` on ``[values[k-1],
    values[k])``, non-increasing) and the total weight ``N``. Fixed weights are scaled as in
    :func:`calibration_weights`; pass them unchecked (``None``: unweighted)."""
    points, weighted, total, s0 = _weighted_steps(breakpoints, drops, bound, weights)
    flat = points.ravel()
    order = np.argsort(flat, kind="stable")
    sorted_points = flat[order]
    keep = np.isfinite(sorted_points)
    sorted_points = sorted_points[keep]
    cum = np.cumsum(weighted.ravel()[order][keep])
    # The loss sum at and after each distinct breakpoint: the last of each run of ties.
    last = np.r_[sorted_points[1:] != sorted_points[:-1], True] if cum.size else np.zeros(0, bool)
    values = sorted_points[last]
    sums = np.minimum.accumulate(np.r_[s0, s0 - cum[last]])  # monotone despite rounding
    return values, sums, total


# ---------------------------------------------------------------------------- the rule


def feasible_index(
    loss_sums: Floats,
    total: float,
    bound: float,
    alpha: Fraction,
    test_weights: Floats | None,
) -> NDArray[np.intp]:
    """First index ``j`` of the non-increasing ``loss_sums`` with
    ``den (S_j + t B) <= num (N + t)``, for each test weight ``t`` (``len(loss_sums)`` when
    none qualifies). ``S`` must be non-increasing: a binary search."""
    num, den = float(alpha.numerator), float(alpha.denominator)
    t = np.ones(1) if test_weights is None else test_weights
    # den * S_j <= num * (N + t) - den * t * B  <=>  -S_j >= -(that) / den (S non-increasing)
    limit = (num * (total + t) - den * t * bound) / den
    # Recheck the comparison exactly at the found index to undo the division's rounding.
    index = np.searchsorted(-loss_sums, -limit, side="left").astype(np.intp)
    for k in range(index.shape[0]):
        j = int(index[k])
        while j > 0 and den * (loss_sums[j - 1] + t[k] * bound) <= num * (total + t[k]):
            j -= 1
        while j < loss_sums.shape[0] and not (
            den * (loss_sums[j] + t[k] * bound) <= num * (total + t[k])
        ):
            j += 1
        index[k] = j
    return index


def _warn_none(alpha: Fraction, bound: float, total: float, where: str) -> None:
    needed = bound / float(alpha) - 1.0
    warn_conformal(
        f"no lambda{where} meets the risk target alpha={float(alpha):g}: even the largest gives "
        f"(S + B) / (N + 1) > alpha with N = {total:.6g} calibration points (weighted). "
        f"lambda_hat = +inf (the trivial set / infinite interval). With losses at most B = "
        f"{bound:g} the target needs N >= B / alpha - 1 = {needed:.6g} at least; calibrate on "
        "more data, raise alpha or extend the lambda grid."
    )


def _select(grid: Floats, index: NDArray[np.intp], scalar: bool) -> float | Floats:
    out = np.where(index < grid.shape[0], grid[np.minimum(index, grid.shape[0] - 1)], np.inf)
    return float(out[0]) if scalar else out


def conformal_risk_control(
    losses: ArrayLike,
    lambdas: ArrayLike,
    alpha: float,
    *,
    bound: float = 1.0,
    weights: ArrayLike | None = None,
    test_weights: ArrayLike | None = None,
) -> Any:
    """Conformal risk control: the smallest lambda whose (weighted) risk bound meets ``alpha``.

    ``lambda_hat = min{ lambda_j : (N / (N + 1)) R(lambda_j) + B / (N + 1) <= alpha }`` with
    ``N = sum w_i`` and ``R = sum w_i L_i / N`` (``w_i = 1`` without weights), the rule of
    Angelopoulos et al. (2022) and, with weights, of Farinhas et al. (2024).

    Guarantee: for exchangeable data and losses non-increasing in lambda, at most ``B`` and
    right-continuous, ``E[L_test(lambda_hat)] <= alpha`` (over the grid, losses are evaluated on
    it, so this holds for the grid's losses). With fixed weights in ``[0, 1]`` (the test point
    weighs 1): ``E[L_test] <= alpha + (B - A) sum_i w~_i d_TV(Z, Z^i)`` for losses in
    ``[A, B]`` (Farinhas et al. 2024, Theorem 1), exactly ``alpha`` for exchangeable data.

    Parameters
    ----------
    losses : array-like of shape (n_calibration, n_lambdas)
        ``losses[i, j] = L_i(lambdas[j])``, non-increasing along each row, at most ``bound``.
    lambdas : array-like of shape (n_lambdas,)
        Strictly increasing grid (sets grow with lambda).
    alpha : float
        Target risk, in (0, 1).
    bound : float, default=1.0
        ``B``, the largest value any loss can take (e.g. 1 for a false-negative rate).
    weights : array-like of shape (n_calibration,), default=None
        Fixed non-negative weights of the calibration points (non-exchangeable CRC), e.g.
        ``rho ** (n + 1 - i)``. Weights whose maximum exceeds 1 are divided by that maximum so
        that the heaviest calibration point weighs as much as the test point (as for weighted
        split conformal prediction); weights in ``[0, 1]`` are used as given.
    test_weights : array-like of shape (n_test,), default=None
        Likelihood-ratio weights ``w(x)`` of test points (covariate shift, Tibshirani et al.
        2019): the test point then weighs ``w(x)`` instead of 1 and one lambda is returned per
        test point; ``weights`` are then the calibration points' ratios, used unscaled.

    Returns
    -------
    lambda_hat : float, or ndarray of shape (n_test,) with ``test_weights``
        An entry of ``lambdas``, or ``+inf`` when no lambda of the grid qualifies (with a
        :class:`~conformal.ConformalWarning`): a choice that keeps the guarantee (the trivial
        set), never a silent pick of the largest lambda.

    Raises
    ------
    ValueError
        For ``alpha`` outside (0, 1), a non-finite ``bound``, unsorted ``lambdas``, losses
        above ``bound`` or increasing in lambda, and bad weights.

    References
    ----------
    A. N. Angelopoulos, S. Bates, A. Fisch, L. Lei and T. Schuster (2022). Conformal risk
    control. arXiv:2208.02814 (ICLR 2024).

    A. Farinhas, C. Zerva, D. Ulmer and A. F. T. Martins (2024). Non-exchangeable conformal risk
    control. ICLR 2024.

    Examples
    --------
    Miscoverage losses ``1{s_i > lambda}`` give the split-conformal threshold (here the
    ``ceil(0.8 * 5) = 4``-th smallest of 4 scores would be needed: too few, so the 2nd example
    uses 9 scores and gets the 8th smallest):

    >>> import numpy as np
    >>> from conformal.risk import conformal_risk_control
    >>> scores = np.arange(1.0, 10.0)
    >>> grid = np.arange(0.0, 11.0)
    >>> losses = (scores[:, None] > grid[None, :]).astype(float)
    >>> conformal_risk_control(losses, grid, 0.2)
    8.0
    >>> conformal_risk_control(losses, grid, 0.2, weights=np.full(9, 0.5))
    9.0
    """
    bound_ = check_bound(bound)
    alpha_ = check_alpha(alpha)
    values = check_losses(losses, bound_)
    grid = check_lambdas(lambdas, values.shape[1])
    t = check_test_weights(test_weights)
    n = values.shape[0]
    if t is None:
        w = calibration_weights(weights, n)
    else:
        w = None if weights is None else check_weights(weights, n, "weights")
    if w is None:
        sums, total = values.sum(axis=0), float(n)
    else:
        sums, total = w @ values, float(w.sum())
    index = feasible_index(sums, total, bound_, alpha_, t)
    if (index >= grid.shape[0]).any():
        _warn_none(alpha_, bound_, total, " on the grid")
    return _select(grid, index, t is None)


def conformal_risk_control_steps(
    breakpoints: ArrayLike,
    alpha: float,
    *,
    drops: ArrayLike | None = None,
    bound: float = 1.0,
    weights: ArrayLike | None = None,
    lambdas: ArrayLike | None = None,
) -> float:
    """Conformal risk control for step losses, by bisection over their sorted breakpoints.

    Each loss is a right-continuous step function that falls from ``sum_k drops[i, k]`` to 0:
    ``L_i(lambda) = sum_k drops[i, k] 1{lambda < breakpoints[i, k]}``. The miscoverage loss of
    a score ``s_i`` is one step (``breakpoints = s``); the false-negative rate of a multilabel
    set ``{j : p_j >= 1 - lambda}`` has a step of ``1 / |Y_i|`` at ``1 - p_ij`` for each true
    label. The weighted loss sum is non-increasing, so the rule of
    :func:`conformal_risk_control` is met from one breakpoint on: the breakpoints are sorted
    once, their weighted drops summed cumulatively and the first one that qualifies found by
    binary search, ``O(M log M)`` for ``M`` breakpoints in all and no dense loss matrix. With a
    grid, bisection over the grid instead: ``log2(G)`` vectorized passes over the breakpoints
    (``O(M log G)``, no sort), so ``n = 10^6`` scores and 1,000 lambdas take a few hundredths
    of a second.

    Parameters
    ----------
    breakpoints : array-like of shape (n_calibration,) or (n_calibration, n_steps)
        Where each loss drops; ``+inf`` pads rows with fewer steps (they never drop there).
    alpha : float
        Target risk, in (0, 1).
    drops : array-like of the shape of ``breakpoints``, default=None
        Non-negative size of each drop; ``None`` means 1 (the miscoverage loss).
    bound : float, default=1.0
        ``B``: every ``L_i(-inf) = sum_k drops[i, k]`` must be at most it.
    weights : array-like of shape (n_calibration,), default=None
        Fixed calibration weights, scaled as in :func:`conformal_risk_control`.
    lambdas : array-like of shape (n_lambdas,), default=None
        A strictly increasing grid: the smallest grid point at or above the exact answer is
        returned (what :func:`conformal_risk_control` returns on the same grid). ``None``: the
        exact infimum over all real lambda, a breakpoint (``-inf`` when even ``L(-inf)``
        qualifies).

    Returns
    -------
    lambda_hat : float
        ``+inf`` when no lambda qualifies (with a :class:`~conformal.ConformalWarning`).

    Raises
    ------
    ValueError
        For ``alpha`` outside (0, 1), NaN breakpoints, negative drops, losses above ``bound``,
        unsorted ``lambdas`` and bad weights.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.risk import conformal_risk_control_steps
    >>> conformal_risk_control_steps(np.arange(1.0, 10.0), 0.2)
    8.0
    >>> conformal_risk_control_steps(np.arange(1.0, 10.0), 0.2, lambdas=[0.0, 5.0, 8.5, 10.0])
    8.5
    """
    bound_ = check_bound(bound)
    alpha_ = check_alpha(alpha)
    w = calibration_weights_of(weights)
    if lambdas is not None:
        grid = check_lambdas(lambdas)
        index, total = grid_bisection(breakpoints, drops, bound_, w, grid, alpha_)
        if index >= grid.shape[0]:
            _warn_none(alpha_, bound_, total, " on the grid")
            return float("inf")
        return float(grid[index])
    values, sums, total = step_curve(breakpoints, drops, bound_, w)
    index = int(feasible_index(sums, total, bound_, alpha_, None)[0])
    if index > values.shape[0]:
        _warn_none(alpha_, bound_, total, "")
        return float("inf")
    return -np.inf if index == 0 else float(values[index - 1])


class StreamingRiskControl:
    """Non-exchangeable CRC on a stream, with exponential weights and running sums.

    After the losses of time steps ``1..n`` (each a row over a fixed grid), the calibration
    weights are ``w_i = rho ** (n + 1 - i)`` (Farinhas et al. 2024, rho = 0.99 in their
    experiments), and :attr:`lambda_` is :func:`conformal_risk_control` with those weights.
    It keeps ``S = sum w_i L_i`` and ``N = sum w_i``, updated as ``S <- rho (S + L_new)``,
    ``N <- rho (N + 1)``: ``O(n_lambdas)`` per time step instead of ``O(n n_lambdas)``.

    Parameters
    ----------
    lambdas : array-like of shape (n_lambdas,)
        Strictly increasing grid (sets grow with lambda).
    alpha : float
        Target risk, in (0, 1).
    rho : float, default=0.99
        Decay per time step, in (0, 1].
    bound : float, default=1.0
        Largest value a loss can take.

    Attributes
    ----------
    lambda_ : float
        The current choice (``+inf`` before enough losses were seen, without warning: a stream
        starts that way).
    loss_sums_ : ndarray of shape (n_lambdas,)
        ``S(lambda)``, the weighted loss sums.
    total_weight_ : float
        ``N``, the sum of the weights.
    n_updates_ : int
        The number of time steps seen.

    Raises
    ------
    ValueError
        For ``rho`` outside (0, 1] and the checks of :func:`conformal_risk_control`.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.risk import StreamingRiskControl
    >>> grid = np.linspace(0, 1, 11)
    >>> stream = StreamingRiskControl(grid, alpha=0.2, rho=0.99)
    >>> rng = np.random.default_rng(0)
    >>> for s in rng.uniform(size=50):
    ...     _ = stream.update((s > grid).astype(float))
    >>> float(stream.lambda_)
    0.9
    """

    def __init__(
        self, lambdas: ArrayLike, alpha: float, *, rho: float = 0.99, bound: float = 1.0
    ) -> None:
        self.lambdas = check_lambdas(lambdas)
        self.alpha = alpha
        self._alpha = check_alpha(alpha)
        if isinstance(rho, bool) or not 0.0 < float(rho) <= 1.0:
            raise ValueError(
                f"rho must be a float in the range (0, 1]. Got {rho!r} instead (0.99 in "
                "Farinhas et al. 2024; 1 is unweighted CRC)."
            )
        self.rho = float(rho)
        self.bound = check_bound(bound)
        self.loss_sums_ = np.zeros(self.lambdas.shape[0])
        self.total_weight_ = 0.0
        self.n_updates_ = 0
        self.lambda_ = float("inf")

    def update(self, losses: ArrayLike) -> StreamingRiskControl:
        """Add the losses of the next time step(s), oldest first.

        Parameters
        ----------
        losses : array-like of shape (n_lambdas,) or (n_steps, n_lambdas)
            Each row non-increasing in lambda and at most ``bound``.

        Returns
        -------
        self : StreamingRiskControl
        """
        rows = np.asarray(losses, dtype=np.float64)
        rows = check_losses(rows[None, :] if rows.ndim == 1 else rows, self.bound)
        if rows.shape[1] != self.lambdas.shape[0]:
            raise ValueError(
                f"losses has {rows.shape[1]} columns but lambdas has {self.lambdas.shape[0]} "
                "entries; give one loss per lambda."
            )
        for row in rows:
            self.loss_sums_ = self.rho * (self.loss_sums_ + row)
            self.total_weight_ = self.rho * (self.total_weight_ + 1.0)
        self.n_updates_ += rows.shape[0]
        index = int(
            feasible_index(self.loss_sums_, self.total_weight_, self.bound, self._alpha, None)[0]
        )
        self.lambda_ = float(self.lambdas[index]) if index < self.lambdas.shape[0] else float("inf")
        return self
