"""High-probability risk control: RCPS upper confidence bounds (Hoeffding, empirical Bernstein,
Waudby-Smith-Ramdas) and Learn-then-Test (Hoeffding-Bentkus p-values, family-wise error
control by fixed-sequence testing or Bonferroni)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq
from scipy.stats import binom

from ..exceptions import warn_conformal
from ._control import check_alpha, check_bound, check_lambdas, check_losses

Floats = NDArray[np.float64]

__all__ = [
    "hoeffding_bentkus_pvalues",
    "learn_then_test",
    "rcps",
    "risk_upper_confidence_bound",
]

UCB_METHODS = ("hoeffding", "bernstein", "wsr")
FWER_METHODS = ("fixed_sequence", "bonferroni")


def check_delta(delta: Any) -> float:
    if isinstance(delta, bool) or not isinstance(delta, (int, float, np.integer, np.floating)):
        raise ValueError(f"delta must be a float in the range (0, 1). Got {delta!r} instead.")
    if not 0.0 < float(delta) < 1.0:
        raise ValueError(
            f"delta must be a float in the range (0, 1). Got {delta!r} instead; it is the "
            "probability that the risk exceeds alpha, e.g. 0.1."
        )
    return float(delta)


def _unit_losses(losses: ArrayLike, bound: Any, monotone: bool) -> tuple[Floats, float]:
    b = check_bound(bound)
    if b <= 0:
        raise ValueError(f"bound must be positive for losses in [0, bound]. Got {bound!r}.")
    values = check_losses(losses, b, monotone=monotone)
    if (values < 0).any():
        i, j = (int(k) for k in np.argwhere(values < 0)[0])
        raise ValueError(
            f"losses must lie in [0, bound] for RCPS and Learn-then-Test; losses[{i}, {j}] = "
            f"{float(values[i, j])!r}. Shift them by their lower bound A and pass bound = B - A."
        )
    return values / b, b


def _wsr_bound(column: Floats, delta: float) -> float:
    """Waudby-Smith-Ramdas betting upper confidence bound of the mean of ``column`` in [0, 1]
    (Bates et al. 2021, Proposition 5), by root finding on the log-wealth."""
    n = column.shape[0]
    counts = np.arange(1, n + 1)
    mu = (0.5 + np.cumsum(column)) / (counts + 1)
    sigma2 = (0.25 + np.cumsum((column - mu) ** 2)) / (counts + 1)
    sigma2 = np.r_[0.25, sigma2[:-1]]
    nu = np.minimum(1.0, np.sqrt(2.0 * np.log(1.0 / delta) / (n * sigma2)))
    target = np.log(1.0 / delta)

    def excess(r: float) -> float:
        with np.errstate(divide="ignore"):
            wealth = np.cumsum(np.log(np.maximum(1.0 - nu * (column - r), 0.0)))
        return float(wealth.max()) - target

    if excess(0.0) > 0:
        return 0.0
    if excess(1.0) <= 0:
        return 1.0
    return float(brentq(excess, 0.0, 1.0, xtol=1e-12))


def risk_upper_confidence_bound(
    losses: ArrayLike, delta: float, *, method: str = "wsr", bound: float = 1.0
) -> Floats:
    """Upper confidence bounds of the risk at each lambda (RCPS, Bates et al. 2021).

    ``P(R(lambda) <= UCB(lambda)) >= 1 - delta`` for each lambda, for i.i.d. losses in
    ``[0, bound]``.

    Parameters
    ----------
    losses : array-like of shape (n_calibration, n_lambdas)
        Losses in ``[0, bound]``, one column per lambda.
    delta : float
        Error probability, in (0, 1).
    method : {"hoeffding", "bernstein", "wsr"}, default="wsr"
        Hoeffding: ``R_hat + B sqrt(log(1/delta) / (2n))``. Empirical Bernstein (Maurer and
        Pontil 2009): ``R_hat + sqrt(2 var log(2/delta) / n) + 7 B log(2/delta) / (3(n-1))``.
        Waudby-Smith-Ramdas: the hedged betting bound, solved by ``scipy.optimize.brentq``
        (the tightest of the three, as in the RCPS paper).
    bound : float, default=1.0
        ``B``, the largest value a loss can take.

    Returns
    -------
    ucb : ndarray of shape (n_lambdas,)
        In the units of the losses (the WSR bound is at most ``bound``).

    Raises
    ------
    ValueError
        For ``delta`` outside (0, 1), an unknown ``method``, losses outside ``[0, bound]``.

    References
    ----------
    S. Bates, A. Angelopoulos, L. Lei, J. Malik and M. I. Jordan (2021). Distribution-free,
    risk-controlling prediction sets. Journal of the ACM 68(6).

    I. Waudby-Smith and A. Ramdas (2024). Estimating means of bounded random variables by
    betting. JRSS B 86(1).

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.risk import risk_upper_confidence_bound
    >>> losses = np.tile([[1.0], [0.0]], (50, 1))
    >>> risk_upper_confidence_bound(losses, 0.1, method="hoeffding").round(3)
    array([0.607])
    """
    d = check_delta(delta)
    if method not in UCB_METHODS:
        raise ValueError(f"method must be one of {UCB_METHODS}. Got {method!r} instead.")
    values, b = _unit_losses(losses, bound, monotone=False)
    n = values.shape[0]
    r_hat = values.mean(axis=0)
    if method == "hoeffding":
        ucb = r_hat + np.sqrt(np.log(1.0 / d) / (2.0 * n))
    elif method == "bernstein":
        if n < 2:
            raise ValueError("the Bernstein bound needs at least 2 calibration points; got 1.")
        var = values.var(axis=0, ddof=1)
        ucb = (
            r_hat
            + np.sqrt(2.0 * var * np.log(2.0 / d) / n)
            + 7.0 * np.log(2.0 / d) / (3.0 * (n - 1))
        )
    else:
        ucb = np.array([_wsr_bound(values[:, j], d) for j in range(values.shape[1])])
    return np.asarray(ucb * b, dtype=np.float64)


def rcps(
    losses: ArrayLike,
    lambdas: ArrayLike,
    alpha: float,
    delta: float,
    *,
    method: str = "wsr",
    bound: float = 1.0,
) -> float:
    """Risk-controlling prediction sets: the smallest lambda from which every larger lambda of
    the grid has an upper confidence bound below ``alpha`` (Bates et al. 2021).

    Guarantee: ``P(R(lambda_hat) > alpha) <= delta`` for i.i.d. data and a risk non-increasing
    in lambda.

    Parameters
    ----------
    losses : array-like of shape (n_calibration, n_lambdas)
        Losses in ``[0, bound]``, non-increasing in lambda along each row.
    lambdas : array-like of shape (n_lambdas,)
        Strictly increasing grid.
    alpha : float
        Target risk, in (0, 1).
    delta : float
        Error probability, in (0, 1).
    method : {"hoeffding", "bernstein", "wsr"}, default="wsr"
        The upper confidence bound (:func:`risk_upper_confidence_bound`).
    bound : float, default=1.0
        The largest value a loss can take.

    Returns
    -------
    lambda_hat : float
        An entry of ``lambdas``, or ``+inf`` (with a :class:`~conformal.ConformalWarning`) when
        even the largest lambda's bound is not below ``alpha``.

    Raises
    ------
    ValueError
        As :func:`risk_upper_confidence_bound`, and for ``alpha`` outside (0, 1), unsorted
        ``lambdas``, losses increasing in lambda.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.risk import rcps
    >>> scores = np.random.default_rng(0).uniform(size=1000)
    >>> grid = np.linspace(0, 1, 101)
    >>> lam = rcps((scores[:, None] > grid).astype(float), grid, 0.1, 0.1, method="hoeffding")
    >>> round(lam, 2)
    0.94
    """
    alpha_ = float(check_alpha(alpha))
    values = check_losses(losses, check_bound(bound))
    grid = check_lambdas(lambdas, values.shape[1])
    ucb = risk_upper_confidence_bound(values, delta, method=method, bound=bound)
    bad = np.flatnonzero(ucb >= alpha_)
    if bad.shape[0] == 0:
        return float(grid[0])
    j = int(bad[-1]) + 1
    if j >= grid.shape[0]:
        warn_conformal(
            f"no lambda meets the risk target alpha={alpha_:g} with probability 1 - "
            f"delta: the upper confidence bound at the largest lambda is {ucb[-1]:.4g}. "
            "lambda_hat = +inf (the trivial set); calibrate on more data, raise alpha or delta, "
            "or extend the grid."
        )
        return float("inf")
    return float(grid[j])


def hoeffding_bentkus_pvalues(
    losses: ArrayLike, alpha: float, *, bound: float = 1.0, binary: bool = False
) -> Floats:
    """Hoeffding-Bentkus p-values of the null hypotheses ``R(lambda_j) > alpha``.

    ``p_j = min(exp(-n h(min(R_hat, alpha), alpha)), e P(Binom(n, alpha) <= ceil(n R_hat)))``
    with ``h(a, b) = a log(a/b) + (1-a) log((1-a)/(1-b))`` (Angelopoulos et al. 2021,
    Proposition 3); ``binary=True`` drops the factor ``e``, valid for 0/1 losses. Losses are
    divided by ``bound`` first.

    Parameters
    ----------
    losses : array-like of shape (n_calibration, n_lambdas)
        Losses in ``[0, bound]``; need not be monotone.
    alpha : float
        Target risk, in (0, 1) and below ``bound`` (in the units of the losses).
    bound : float, default=1.0
        The largest value a loss can take.
    binary : bool, default=False
        The losses are 0/1: the tighter Bentkus term.

    Returns
    -------
    pvalues : ndarray of shape (n_lambdas,)
        Super-uniform under the null, for i.i.d. data.

    Raises
    ------
    ValueError
        For ``alpha`` outside (0, 1) and losses outside ``[0, bound]``.

    References
    ----------
    A. N. Angelopoulos, S. Bates, E. J. Candes, M. I. Jordan and L. Lei (2021). Learn then
    test: calibrating predictive algorithms to achieve risk control. arXiv:2110.01052.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.risk import hoeffding_bentkus_pvalues
    >>> losses = np.r_[np.ones(5), np.zeros(95)][:, None]
    >>> hoeffding_bentkus_pvalues(losses, 0.2).round(6)
    array([5.1e-05])
    """
    values, b = _unit_losses(losses, bound, monotone=False)
    a = float(check_alpha(alpha)) / b
    if a >= 1.0:
        raise ValueError(
            f"alpha={alpha!r} is not below bound={bound!r}: every risk is at most bound, so "
            "there is nothing to test. Use an alpha below bound."
        )
    return hb_pvalues(values.mean(axis=0), values.shape[0], a, binary)


def hb_pvalues(r_hat: Floats, n: Any, a: float, binary: bool) -> Floats:
    """Hoeffding-Bentkus p-values from mean losses in [0, 1] over ``n`` points (an int or one
    count per entry, for conditional risks such as the precision of predicted positives)."""
    r_hat = np.minimum(np.asarray(r_hat, dtype=np.float64), 1.0)
    n = np.asarray(n, dtype=np.float64)
    r = np.minimum(r_hat, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(r > 0, r * np.log(r / a), 0.0)
        second = np.where(r < 1, (1 - r) * np.log((1 - r) / (1 - a)), 0.0)
    hoeffding = np.exp(-n * (first + second))
    bentkus = (1.0 if binary else np.e) * binom.cdf(np.ceil(n * r_hat), n, a)
    return np.asarray(np.minimum(np.minimum(hoeffding, bentkus), 1.0), dtype=np.float64)


def learn_then_test(
    losses: ArrayLike,
    alpha: float,
    delta: float,
    *,
    fwer: str = "fixed_sequence",
    start: str = "last",
    bound: float = 1.0,
    binary: bool = False,
) -> NDArray[np.bool_]:
    """Learn-then-Test: the lambdas whose risk is certified at most ``alpha``, with family-wise
    error at most ``delta``.

    Guarantee: ``P(exists a returned lambda with R(lambda) > alpha) <= delta`` for i.i.d. data,
    whatever the shape of the risk (no monotonicity needed).

    Parameters
    ----------
    losses : array-like of shape (n_calibration, n_lambdas)
        Losses in ``[0, bound]``, one column per hypothesis (lambda).
    alpha : float
        Target risk, in (0, 1).
    delta : float
        Family-wise error rate, in (0, 1).
    fwer : {"fixed_sequence", "bonferroni"}, default="fixed_sequence"
        ``"fixed_sequence"`` tests the columns one by one from ``start`` at level ``delta`` and
        stops at the first p-value above it; ``"bonferroni"`` keeps every column with
        ``p <= delta / n_lambdas``.
    start : {"last", "first"}, default="last"
        Where fixed-sequence testing starts: the safest end of the grid. ``"last"`` (largest
        lambda) for a risk that falls as sets grow (false-negative rate); ``"first"`` for one
        that rises (``1 - precision``).
    bound : float, default=1.0
        The largest value a loss can take.
    binary : bool, default=False
        0/1 losses (see :func:`hoeffding_bentkus_pvalues`).

    Returns
    -------
    valid : ndarray of bool of shape (n_lambdas,)
        True for the certified lambdas (possibly none).

    Raises
    ------
    ValueError
        For ``alpha`` or ``delta`` outside (0, 1), an unknown ``fwer`` and losses outside
        ``[0, bound]``.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.risk import learn_then_test
    >>> scores = np.random.default_rng(0).uniform(size=1000)
    >>> grid = np.linspace(0, 1, 11)
    >>> learn_then_test((scores[:, None] > grid).astype(float), 0.2, 0.1)
    array([False, False, False, False, False, False, False, False, False,
            True,  True])
    """
    d = check_delta(delta)
    if fwer not in FWER_METHODS:
        raise ValueError(f"fwer must be one of {FWER_METHODS}. Got {fwer!r} instead.")
    if start not in ("last", "first"):
        raise ValueError(f"start must be 'last' or 'first'. Got {start!r} instead.")
    p = hoeffding_bentkus_pvalues(losses, alpha, bound=bound, binary=binary)
    if fwer == "bonferroni":
        return np.asarray(p <= d / p.shape[0])
    valid = np.zeros(p.shape[0], dtype=bool)
    order = range(p.shape[0] - 1, -1, -1) if start == "last" else range(p.shape[0])
    for j in order:
        if p[j] > d:
            break
        valid[j] = True
    return valid


def first_valid(valid: NDArray[np.bool_], lambdas: ArrayLike) -> float:
    """The smallest certified lambda (``+inf`` with a warning when none is)."""
    grid = check_lambdas(lambdas, valid.shape[0])
    if not valid.any():
        warn_conformal(
            "Learn-then-Test certified no lambda: lambda_hat = +inf (the trivial set). "
            "Calibrate on more data, raise alpha or delta, or extend the grid."
        )
        return float("inf")
    return float(grid[int(np.flatnonzero(valid)[0])])


def last_valid(valid: NDArray[np.bool_], lambdas: ArrayLike) -> float:
    """The largest certified lambda (the smallest of the grid, with a warning, when none is:
    for a risk that rises with lambda the smallest sets are the safe fallback)."""
    grid = check_lambdas(lambdas, valid.shape[0])
    if not valid.any():
        warn_conformal(
            "Learn-then-Test certified no lambda: lambda_hat = the smallest lambda of the grid "
            "(the smallest sets). Calibrate on more data, raise alpha or delta."
        )
        return float(grid[0])
    return float(grid[int(np.flatnonzero(valid)[-1])])
