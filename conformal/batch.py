"""Batch predictive inference: bounds for functions of several test points at once.

Calibration scores ``S_1..S_n`` and a batch of ``m`` test points with unknown scores. The test
rank of a test score ``T`` is ``R = 1 + #{i : S_i < T}``, in ``1..n+1``. Under exchangeability
(continuous scores, or ties broken at random) the sorted test ranks are uniform over the
``C(n + m, m)`` multisets ``1 <= r_1 <= ... <= r_m <= n + 1``, whatever the score's law (Lee,
Tchetgen Tchetgen and Dobriban 2024). A data-free function of the ranks (their ``zeta``-th
smallest, their sum) then has a known law, and its quantile bounds a monotone function of the
batch's scores with an exact, finite-sample guarantee:

- :func:`batch_rank_law`, :func:`batch_quantile_rank`, :func:`batch_lower_rank`: the law of the
  ``zeta``-th smallest test rank and its quantiles (bounds on a quantile of the batch);
- :func:`batch_simultaneous_rank`: simultaneous / PAC bounds (at least ``(1 - delta) m`` of the
  ``m`` points covered, with probability ``>= 1 - a``);
- :func:`batch_rank_sum_law` and :func:`batch_mean_bound`: the law of the rank sum and the bound
  on the batch mean (knapsack over rank multisets; needs a known score bound ``B``);
- :func:`batch_quantile_bound`, :func:`batch_simultaneous_threshold`,
  :func:`batch_selection_threshold`: the same on a vector of calibration scores;
- :class:`BatchIntervalMixin` / :class:`BatchSetMixin`: ``predict_batch_interval``,
  ``predict_batch_set`` and ``predict_batch_bound`` on the split estimators;
- :class:`BatchSelector`: select test points whose outcome exceeds ``c`` with a bound on the
  number of false claims.

References
----------
Y. Lee, E. Tchetgen Tchetgen and E. Dobriban (2024). Batch predictive inference.
arXiv:2409.13990.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from ._kernels.batch import mean_bound_knapsack, rank_sum_law
from ._validation import check_sample_count, check_target, is_frozen, n_rows, split_indices, take
from .base import ConformalMixin
from .calibration import Calibrator, Level, exact_level, parse_levels
from .exceptions import warn_conformal

__all__ = [
    "BatchIntervalMixin",
    "BatchSelector",
    "BatchSetMixin",
    "batch_lower_rank",
    "batch_mean_bound",
    "batch_quantile_bound",
    "batch_quantile_rank",
    "batch_rank_law",
    "batch_rank_sum_law",
    "batch_selection_threshold",
    "batch_simultaneous_rank",
    "batch_simultaneous_threshold",
    "bonferroni_rank",
    "min_batch_calibration_size",
]

Floats = NDArray[np.float64]

# Probabilities are compared with a level up to this absolute slack: the laws are exact
# rationals computed in floating point (relative error ~1e-13), and a level hit exactly (e.g.
# P(R_(m) <= n) = 1 - m / (n + m) = 0.9 at n = 9 m) must count as reached.
PROB_TOL = 1e-12


# ---------------------------------------------------------------------- checks


def _check_int(value: Any, name: str, low: int, high: int | None = None, fix: str = "") -> int:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and value >= low and (high is None or value <= high):
        return int(value)
    shown = f"an int in [{low}, {high}]" if high is not None else f"an int >= {low}"
    raise ValueError(f"{name} must be {shown}. Got {value!r} instead.{fix}")


def _check_nm(n: Any, m: Any) -> tuple[int, int]:
    n = _check_int(n, "n (the number of calibration scores)", 0)
    m = _check_int(m, "m (the batch size)", 1, fix=" A batch has at least one test point.")
    return n, m


def _check_zeta(zeta: Any, m: int) -> int:
    return _check_int(
        zeta,
        "zeta (the rank of the batch order statistic)",
        1,
        m,
        fix=f" zeta=1 is the smallest of the m={m} test scores, zeta={m} the largest.",
    )


def _check_delta(delta: Any) -> Fraction:
    ok = isinstance(delta, numbers.Real) and not isinstance(delta, bool)
    if not ok or not 0.0 <= float(delta) < 1.0:
        raise ValueError(
            "delta (the fraction of the batch allowed to be uncovered) must be a float in "
            f"[0, 1). Got {delta!r} instead. delta=0 covers every test point at once."
        )
    return exact_level(delta) if delta else Fraction(0)


def _level(confidence_level: Any) -> Fraction:
    """One level, exact (the package's level parser; a sequence is refused here)."""
    if isinstance(confidence_level, Fraction):
        return confidence_level
    levels, scalar = parse_levels(confidence_level, name="confidence_level")
    if not scalar:
        raise ValueError(
            f"confidence_level must be one level here. Got {confidence_level!r} instead; call "
            "once per level."
        )
    return levels[0]


def _pac_zeta(m: int, delta: Fraction) -> int:
    """``ceil((1 - delta) m)``: the number of test points that must be covered."""
    return max(1, math.ceil((1 - delta) * m))


def _quantile_zeta(m: int, quantile: Any) -> int:
    ok = isinstance(quantile, numbers.Real) and not isinstance(quantile, bool)
    if not ok or not 0.0 < float(quantile) <= 1.0:
        raise ValueError(
            "quantile (which quantile of the batch to bound) must be a float in (0, 1]. Got "
            f"{quantile!r} instead. quantile=0.5 is the batch median, 1.0 its maximum."
        )
    return max(1, math.ceil(exact_level(quantile) * m))


# ---------------------------------------------------------------------- the rank law


def _log_comb(a: Any, b: Any) -> Any:
    return (
        gammaln(np.asarray(a, dtype=np.float64) + 1)
        - gammaln(np.asarray(b, dtype=np.float64) + 1)
        - gammaln(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64) + 1)
    )


def batch_rank_law(n: int, m: int, zeta: int) -> Floats:
    """Law of the ``zeta``-th smallest of ``m`` test ranks among ``n`` calibration scores.

    ``P(R_(zeta) = k) = C(k + zeta - 2, zeta - 1) C(n + m - k - zeta + 1, m - zeta) / C(n + m, m)``
    for ``k = 1..n+1``, exact under exchangeability with continuous scores (ties broken at
    random), computed in log space (``scipy.special.gammaln``): exact to rounding for ``n + m``
    in the hundreds of thousands, where the binomials overflow doubles.

    Parameters
    ----------
    n : int
        Number of calibration scores, ``>= 0``.
    m : int
        Batch size, ``>= 1``.
    zeta : int
        Which order statistic of the batch, ``1..m``.

    Returns
    -------
    pmf : ndarray of shape (n + 1,)
        ``pmf[k - 1] = P(R_(zeta) = k)``; it sums to 1.

    Raises
    ------
    ValueError
        For ``n < 0``, ``m < 1`` or ``zeta`` outside ``1..m``.

    References
    ----------
    Lee, Tchetgen Tchetgen and Dobriban (2024), arXiv:2409.13990, Section 2.

    Examples
    --------
    >>> from conformal.batch import batch_rank_law
    >>> batch_rank_law(3, 1, 1)          # one test point: uniform rank on 1..n+1
    array([0.25, 0.25, 0.25, 0.25])
    >>> round(float(batch_rank_law(200, 100, 90).sum()), 12)
    1.0
    """
    n, m = _check_nm(n, m)
    zeta = _check_zeta(zeta, m)
    k = np.arange(1, n + 2, dtype=np.float64)
    log_p = (
        _log_comb(k + zeta - 2, zeta - 1)
        + _log_comb(n + m - k - zeta + 1, m - zeta)
        - _log_comb(n + m, m)
    )
    pmf = np.exp(log_p)
    return pmf / pmf.sum()


def _cdf(n: int, m: int, zeta: int) -> Floats:
    return np.minimum(np.cumsum(batch_rank_law(n, m, zeta)), 1.0)


def _log_tail_top(n: int, m: int, zeta: int) -> float:
    """``log P(R_(zeta) = n + 1) = log C(n + zeta - 1, zeta - 1) - log C(n + m, m)``."""
    return float(_log_comb(n + zeta - 1, zeta - 1) - _log_comb(n + m, m))


def _log_head(n: int, m: int, zeta: int) -> float:
    """``log P(R_(zeta) = 1) = log C(n + m - zeta, m - zeta) - log C(n + m, m)``."""
    return float(_log_comb(n + m - zeta, m - zeta) - _log_comb(n + m, m))


def _smallest_n(ok: Any) -> int:
    """Smallest ``n >= 0`` with ``ok(n)``, for ``ok`` monotone in ``n`` (doubling, bisection)."""
    if ok(0):
        return 0
    high = 1
    while not ok(high):
        high *= 2
        if high > 2**40:  # pragma: no cover - unreachable for levels < 1
            raise ValueError("no calibration size reaches this level")
    low = high // 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if ok(mid) else (mid, high)
    return high


def min_batch_calibration_size(
    m: int, zeta: int, confidence_level: Level, *, side: str = "upper"
) -> int:
    """Smallest calibration set whose bound on the ``zeta``-th smallest of ``m`` test scores
    is finite at ``confidence_level``.

    Parameters
    ----------
    m : int
        Batch size, ``>= 1``.
    zeta : int
        Order statistic of the batch, ``1..m``.
    confidence_level : float
        The level of the one-sided bound, in (0, 1).
    side : {"upper", "lower"}, default="upper"
        ``"upper"``: ``P(R_(zeta) <= n) >= level``; ``"lower"``: ``P(R_(zeta) >= 2) >= level``.

    Returns
    -------
    int

    Examples
    --------
    >>> from conformal.batch import min_batch_calibration_size
    >>> min_batch_calibration_size(1, 1, 0.9)   # one test point: split conformal's 9
    9
    >>> min_batch_calibration_size(100, 100, 0.9)   # all of 100 at once (Bonferroni: 999)
    900
    """
    m = _check_int(m, "m (the batch size)", 1, fix=" A batch has at least one test point.")
    zeta = _check_zeta(zeta, m)
    level = _level(confidence_level)
    log_a = math.log(float(1 - level))
    if side == "upper":
        return _smallest_n(lambda n: _log_tail_top(n, m, zeta) <= log_a + PROB_TOL)
    if side == "lower":
        return _smallest_n(lambda n: _log_head(n, m, zeta) <= log_a + PROB_TOL)
    raise ValueError(f"side must be 'upper' or 'lower'. Got {side!r} instead.")


def _warn_batch(n: int, needed: int, what: str, outcome: str) -> None:
    """The too-few-points warning of batch inference, in the words of ``warn_too_few``."""
    consequence = outcome if outcome.startswith("selects") else f"returns {outcome}"
    warn_conformal(
        f"calibration set has {n} point{'s' if n != 1 else ''}; {what} needs at least {needed} "
        f"(or {consequence})"
    )


def batch_quantile_rank(
    n: int, m: int, zeta: int, confidence_level: Level, *, warn: bool = True
) -> tuple[int, float]:
    """Rank of the calibration order statistic that bounds the ``zeta``-th smallest of ``m``
    test scores from above.

    ``k* = min{k : P(R_(zeta) <= k) >= confidence_level}``. Then, for exchangeable scores,
    ``P(T_(zeta) <= S_(k*)) >= confidence_level``, with ``S_(n+1) = +inf``: at least ``zeta`` of
    the ``m`` test scores are at most ``S_(k*)``. With ties the probability is only larger.

    Parameters
    ----------
    n : int
        Number of calibration scores, ``>= 0``.
    m : int
        Batch size, ``>= 1``.
    zeta : int
        Order statistic of the batch, ``1..m`` (``m``: the batch maximum).
    confidence_level : float
        Target probability ``1 - a``, in (0, 1).
    warn : bool, default=True
        Warn (:class:`~conformal.ConformalWarning`) when ``k* = n + 1``, naming the calibration
        size the level needs.

    Returns
    -------
    rank : int
        ``k*`` in ``1..n+1`` (``n + 1``: the bound is ``+inf``).
    probability : float
        ``P(R_(zeta) <= k*)``, exact (1.0 when ``k* = n + 1``).

    Raises
    ------
    ValueError
        For ``m < 1``, ``zeta`` outside ``1..m`` or a level outside (0, 1).

    References
    ----------
    Lee, Tchetgen Tchetgen and Dobriban (2024), arXiv:2409.13990. Their example: ``n = 200``,
    ``m = 100``, ``zeta = 90`` (at least 90% covered), level 0.9 gives ``k* = 188`` with
    probability 0.9020.

    Examples
    --------
    >>> from conformal.batch import batch_quantile_rank
    >>> k, p = batch_quantile_rank(200, 100, 90, 0.9)
    >>> k, round(p, 4)
    (188, 0.902)
    """
    n, m = _check_nm(n, m)
    zeta = _check_zeta(zeta, m)
    level = _level(confidence_level)
    cdf = _cdf(n, m, zeta)
    hits = np.flatnonzero(cdf[:n] >= float(level) - PROB_TOL)
    if hits.size:
        k = int(hits[0]) + 1
        return k, float(cdf[k - 1])
    if warn:
        needed = min_batch_calibration_size(m, zeta, level)
        _warn_batch(
            n,
            needed,
            f"bounding the {zeta}-th smallest of m={m} test scores at "
            f"confidence_level={float(level):g}",
            "an infinite bound",
        )
    return n + 1, 1.0


def batch_lower_rank(
    n: int, m: int, zeta: int, confidence_level: Level, *, warn: bool = True
) -> tuple[int, float]:
    """Rank of the calibration order statistic that bounds the ``zeta``-th smallest of ``m``
    test scores from below.

    ``l* = max{l : P(R_(zeta) >= l + 1) >= confidence_level}``; then
    ``P(T_(zeta) >= S_(l*)) >= confidence_level`` with ``S_(0) = -inf`` (valid with ties too:
    ``T >= S_(l)`` whenever the tie-broken rank exceeds ``l``).

    Parameters
    ----------
    n : int
        Number of calibration scores, ``>= 0``.
    m : int
        Batch size, ``>= 1``.
    zeta : int
        Order statistic of the batch, ``1..m``.
    confidence_level : float
        Target probability, in (0, 1).
    warn : bool, default=True
        Warn when ``l* = 0`` (the bound is ``-inf``), naming the calibration size needed.

    Returns
    -------
    rank : int
        ``l*`` in ``0..n`` (0: ``-inf``).
    probability : float
        ``P(R_(zeta) >= l* + 1)``, exact.

    Raises
    ------
    ValueError
        For ``m < 1``, ``zeta`` outside ``1..m`` or a level outside (0, 1).

    Examples
    --------
    >>> from conformal.batch import batch_lower_rank
    >>> batch_lower_rank(19, 1, 1, 0.9)[0]    # one test point: split conformal's floor(0.1 * 20)
    2
    """
    n, m = _check_nm(n, m)
    zeta = _check_zeta(zeta, m)
    level = _level(confidence_level)
    cdf = _cdf(n, m, zeta)
    survival = 1.0 - np.concatenate([[0.0], cdf[:n]])  # P(R >= l + 1), l = 0..n
    hits = np.flatnonzero(survival >= float(level) - PROB_TOL)
    rank = int(hits[-1])  # l = 0 always qualifies
    if rank == 0 and warn:
        needed = min_batch_calibration_size(m, zeta, level, side="lower")
        _warn_batch(
            n,
            needed,
            f"a lower bound on the {zeta}-th smallest of m={m} test scores at "
            f"confidence_level={float(level):g}",
            "-inf",
        )
    return rank, float(survival[rank])


def batch_simultaneous_rank(
    n: int, m: int, confidence_level: Level, *, delta: float = 0.0, warn: bool = True
) -> tuple[int, float]:
    """Rank of the threshold that covers at least ``(1 - delta) m`` of ``m`` test points at once.

    With ``zeta = ceil((1 - delta) m)`` and ``k* = batch_quantile_rank(n, m, zeta, level)``: with
    probability ``>= confidence_level`` at least a fraction ``1 - delta`` of the batch has a score
    ``<= S_(k*)``, i.e. lies in its split-conformal interval at threshold ``S_(k*)`` (a PAC
    guarantee; ``delta = 0``: all of them at once).

    Parameters
    ----------
    n : int
        Number of calibration scores.
    m : int
        Batch size, ``>= 1``.
    confidence_level : float
        Probability ``1 - a`` of the event, in (0, 1).
    delta : float, default=0.0
        Fraction of the batch allowed to be uncovered, in ``[0, 1)``.
    warn : bool, default=True
        Warn when the rank is ``n + 1`` (infinite bounds), naming the calibration size needed.

    Returns
    -------
    rank : int
        In ``1..n+1``.
    probability : float
        The exact probability of the event.

    Raises
    ------
    ValueError
        For ``m < 1``, ``delta`` outside ``[0, 1)`` or a level outside (0, 1).

    References
    ----------
    Lee, Tchetgen Tchetgen and Dobriban (2024), arXiv:2409.13990: ``n = 200``, ``m = 100``,
    ``delta = 0.1``, level 0.9 gives rank 188 (probability 0.9020), while the per-point split
    conformal rank 181 reaches only 0.5876 for the same event.

    Examples
    --------
    >>> from conformal.batch import batch_simultaneous_rank
    >>> k, p = batch_simultaneous_rank(200, 100, 0.9, delta=0.1)
    >>> k, round(p, 4)
    (188, 0.902)
    """
    n, m = _check_nm(n, m)
    delta_f = _check_delta(delta)
    level = _level(confidence_level)
    k, p = batch_quantile_rank(n, m, _pac_zeta(m, delta_f), level, warn=False)
    if warn:
        _warn_ranks(n, m, [level], delta_f, [k], "an infinite threshold")
    return k, p


def bonferroni_rank(n: int, m: int, confidence_level: Level) -> int:
    """Rank of the Bonferroni threshold that covers all ``m`` test points at once:
    ``ceil((n + 1)(1 - a / m))`` (``n + 1``: infinite; finite only when ``n >= m / a - 1``).

    A baseline for :func:`batch_simultaneous_rank` with ``delta = 0``, which is never larger.

    Parameters
    ----------
    n : int
        Number of calibration scores.
    m : int
        Batch size, ``>= 1``.
    confidence_level : float
        ``1 - a``, in (0, 1).

    Returns
    -------
    int
        In ``1..n+1``.

    Examples
    --------
    >>> from conformal.batch import bonferroni_rank
    >>> bonferroni_rank(200, 100, 0.9)     # n < m / a - 1 = 999: infinite
    201
    """
    n, m = _check_nm(n, m)
    a = 1 - _level(confidence_level)
    return min(n + 1, math.ceil((n + 1) * (1 - a / m)))


# ---------------------------------------------------------------------- rank sum and mean


def batch_rank_sum_law(n: int, m: int) -> Floats:
    """Law of the sum of ``m`` test ranks among ``n`` calibration scores.

    ``P(R_1 + ... + R_m = m + s)`` for ``s = 0..m n``: the number of multisets of size ``m``
    from ``1..n+1`` with that sum (the coefficients of the Gaussian binomial
    ``[n + m choose m]_q``; the null law of the Mann-Whitney statistic) over ``C(n + m, m)``.
    Computed by a counting kernel in ``O(m^2 n)`` with relative error about ``1e-13``.

    Parameters
    ----------
    n : int
        Number of calibration scores, ``>= 0``.
    m : int
        Batch size, ``>= 1``.

    Returns
    -------
    pmf : ndarray of shape (m n + 1,)
        ``pmf[s] = P(sum of ranks = m + s)``.

    Raises
    ------
    ValueError
        For ``n < 0`` or ``m < 1``.

    Examples
    --------
    >>> from conformal.batch import batch_rank_sum_law
    >>> batch_rank_sum_law(2, 2)    # multisets of {1,2,3}: sums 2,3,4,4,5,6
    array([0.16666667, 0.16666667, 0.33333333, 0.16666667, 0.16666667])
    """
    n, m = _check_nm(n, m)
    if n == 0:
        return np.ones(1)
    return np.asarray(rank_sum_law(n, m))


def _rank_sum_quantile(n: int, m: int, level: Fraction) -> tuple[int, float]:
    """Smallest ``q`` with ``P(sum of ranks <= q) >= level``, and that probability."""
    cdf = np.minimum(np.cumsum(batch_rank_sum_law(n, m)), 1.0)
    s = int(np.flatnonzero(cdf >= float(level) - PROB_TOL)[0])
    return m + s, float(cdf[s])


def _check_scores(scores: ArrayLike) -> Floats:
    calibrator = Calibrator(scores)  # the calibration layer's checks (numbers, no NaN)
    if calibrator.scores.ndim != 1:
        raise ValueError(
            "scores must be a 1-D array of conformity scores for batch bounds. Got shape "
            f"{calibrator.scores.shape} instead."
        )
    return calibrator.order_statistics(np.arange(1, calibrator.n_calibration + 1))


def batch_mean_bound(
    scores: ArrayLike, m: int, confidence_level: Level, *, score_bound: float
) -> float:
    """Upper bound on the mean of the scores of a batch of ``m`` test points.

    With ``q`` the ``confidence_level``-quantile of the rank sum (:func:`batch_rank_sum_law`)
    and ``f(r) = S_(r)`` (``f(n + 1) = score_bound``), the bound is
    ``U / m`` with ``U = max {sum_j f(r_j) : multisets r of size m, sum_j r_j <= q}``, found by
    an exact knapsack programme. For exchangeable scores, ``P(mean of the m test scores <=
    U / m) >= confidence_level`` (ties only help: ``f`` is nondecreasing).

    Why ``score_bound`` is required: the multiset ``(1, ..., 1, n + 1)`` has a small rank sum,
    so without a finite value for the rank ``n + 1`` the bound would be ``+inf`` whatever the
    data; a known bound ``B`` on every score (e.g. 1 for ``1 - p`` class scores, or ``max |y -
    f(x)|`` over a known range of ``y``) makes it finite.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Calibration scores, each ``<= score_bound``.
    m : int
        Batch size, ``>= 1``.
    confidence_level : float
        In (0, 1).
    score_bound : float
        A known upper bound ``B`` of every score (calibration and test), finite.

    Returns
    -------
    float
        The bound on the batch mean (at most ``score_bound``).

    Raises
    ------
    ValueError
        For ``m < 1``, a level outside (0, 1), a non-finite ``score_bound``, or a calibration
        score above it.

    Notes
    -----
    The programme is ``dp[i][j] = max_r dp[i-1][j-r] + f(r)``, ``O(m^2 n^2)`` as written. The
    kernel solves it exactly over sorted multisets only, and prunes it by branch and bound with
    the concave envelope of ``f`` (an upper bound of any completion, by Jensen) against a
    feasible value from two envelope vertices: about 100 times faster than the full programme
    at ``n = 1000``, ``m = 100``, same answer (``benchmarks/results/speed_batch.md``). The worst
    case stays ``O(m^2 n^2)``, since ``f`` is monotone but not concave.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.batch import batch_mean_bound
    >>> scores = np.linspace(0.0, 1.0, 200)
    >>> round(batch_mean_bound(scores, 50, 0.9, score_bound=1.0), 3)
    0.562
    """
    values = _check_scores(scores)
    n = values.shape[0]
    m = _check_int(m, "m (the batch size)", 1, fix=" A batch has at least one test point.")
    level = _level(confidence_level)
    ok = isinstance(score_bound, numbers.Real) and not isinstance(score_bound, bool)
    if not ok or not math.isfinite(float(score_bound)):
        raise ValueError(
            f"score_bound must be a finite number (a known upper bound of every score). Got "
            f"{score_bound!r} instead. Without it the bound on the batch mean is +inf: pass "
            "the largest score possible (e.g. 1.0 for 1 - p class scores)."
        )
    if n and values[-1] > float(score_bound):
        raise ValueError(
            f"a calibration score ({values[-1]:g}) exceeds score_bound={score_bound!r}; the "
            "bound must hold for every score. Pass a larger score_bound."
        )
    q, _ = _rank_sum_quantile(n, m, level)
    f = np.append(values, float(score_bound))
    starts = np.flatnonzero(np.concatenate([[True], f[1:] > f[:-1]])).astype(np.int64) + 1
    total = mean_bound_knapsack(np.ascontiguousarray(f), starts, m, q)
    return float(min(total / m, float(score_bound)))


# ---------------------------------------------------------------------- on scores


def batch_quantile_bound(
    scores: ArrayLike,
    m: int,
    confidence_level: Level,
    *,
    quantile: float = 0.5,
    two_sided: bool = False,
) -> Floats:
    """Bound(s) on a quantile of the scores of a batch of ``m`` test points.

    The batch ``quantile`` is its ``zeta``-th smallest score, ``zeta = ceil(quantile m)``
    (``quantile=0.5``: the lower median). One-sided: ``S_(k*)`` (:func:`batch_quantile_rank`),
    with ``P(batch quantile <= S_(k*)) >= confidence_level``. Two-sided: ``[S_(l), S_(k)]`` with
    ``a / 2`` per side, covering the batch quantile with probability ``>= confidence_level``.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Calibration scores.
    m : int
        Batch size, ``>= 1``.
    confidence_level : float
        In (0, 1).
    quantile : float, default=0.5
        Which quantile of the batch, in (0, 1].
    two_sided : bool, default=False
        Return ``[lower, upper]``.

    Returns
    -------
    ndarray of shape () or (2,)
        The upper bound, or ``[lower, upper]`` (``-inf`` / ``+inf`` with a warning when the
        calibration set is too small).

    Raises
    ------
    ValueError
        For ``m < 1``, ``quantile`` outside (0, 1] or a level outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.batch import batch_quantile_bound
    >>> scores = np.arange(1.0, 201.0)
    >>> batch_quantile_bound(scores, 100, 0.9, quantile=0.9)    # S_(188)
    array(188.)
    """
    values = _check_scores(scores)
    n = values.shape[0]
    m = _check_int(m, "m (the batch size)", 1, fix=" A batch has at least one test point.")
    zeta = _quantile_zeta(m, quantile)
    level = _level(confidence_level)
    padded = np.concatenate([[-np.inf], values, [np.inf]])
    if not two_sided:
        return np.asarray(padded[batch_quantile_rank(n, m, zeta, level)[0]])
    side = 1 - (1 - level) / 2
    upper = batch_quantile_rank(n, m, zeta, side)[0]
    lower = batch_lower_rank(n, m, zeta, side)[0]
    return np.array([padded[lower], padded[upper]])


def batch_simultaneous_threshold(
    scores: ArrayLike, m: int, confidence_level: Level, *, delta: float = 0.0
) -> float:
    """Threshold ``S_(k*)`` such that at least ``(1 - delta) m`` of ``m`` test scores lie
    below it with probability ``>= confidence_level`` (:func:`batch_simultaneous_rank`).

    Parameters
    ----------
    scores : array-like of shape (n,)
        Calibration scores.
    m : int
        Batch size, ``>= 1``.
    confidence_level : float
        In (0, 1).
    delta : float, default=0.0
        Fraction of the batch allowed above the threshold, in ``[0, 1)``.

    Returns
    -------
    float
        ``+inf`` (with a warning) when the calibration set is too small.

    Raises
    ------
    ValueError
        For ``m < 1``, ``delta`` outside ``[0, 1)`` or a level outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.batch import batch_simultaneous_threshold
    >>> batch_simultaneous_threshold(np.arange(1.0, 201.0), 100, 0.9, delta=0.1)
    188.0
    """
    values = _check_scores(scores)
    n = values.shape[0]
    k, _ = batch_simultaneous_rank(n, m, confidence_level, delta=delta)
    return float(np.concatenate([values, [np.inf]])[k - 1])


def batch_selection_threshold(
    scores: ArrayLike, m: int, confidence_level: Level, *, max_false: int = 0
) -> float:
    """Selection threshold with a bound on false claims (Lee et al. 2024, use case 3).

    With calibration scores ``S_i = mu(X_i)`` where ``Y_i <= c`` and ``-inf`` where
    ``Y_i > c`` (such a point is never a false selection), and ``T = S_(k*)`` for
    ``zeta = m - max_false``, selecting the test points with ``mu(x) > T`` makes
    ``P(number of selected points with Y <= c > max_false) <= 1 - confidence_level``.

    Parameters
    ----------
    scores : array-like of shape (n,)
        ``mu(X_i)`` where ``Y_i <= c``, ``-inf`` elsewhere, on the calibration points.
    m : int
        Batch size, ``>= 1``.
    confidence_level : float
        ``1 - a``, in (0, 1).
    max_false : int, default=0
        ``eta``: the number of false selections tolerated, ``0..m-1``.

    Returns
    -------
    float
        ``T`` (``+inf``, selecting nothing, with a warning when the calibration set is too
        small).

    Raises
    ------
    ValueError
        For ``m < 1``, ``max_false`` outside ``0..m-1`` or a level outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.batch import batch_selection_threshold
    >>> batch_selection_threshold(np.arange(1.0, 201.0), 100, 0.9, max_false=10)
    188.0
    """
    values = _check_scores(scores)
    m = _check_int(m, "m (the batch size)", 1, fix=" A batch has at least one test point.")
    eta = _check_int(
        max_false,
        "max_false (the number of false selections tolerated)",
        0,
        m - 1,
        fix=f" With m={m} test points at most {m - 1} false selections can be tolerated.",
    )
    n = values.shape[0]
    level = _level(confidence_level)
    k, _ = batch_quantile_rank(n, m, m - eta, level, warn=False)
    if k > n:
        _warn_batch(
            n,
            min_batch_calibration_size(m, m - eta, level),
            f"selecting with at most {eta} false selection{'s' if eta != 1 else ''} in a batch "
            f"of m={m} at confidence_level={float(level):g}",
            "selects nothing",
        )
    return float(np.concatenate([values, [np.inf]])[k - 1])


# ---------------------------------------------------------------------- estimator methods


def _plain_calibrator(calibrator: Calibrator, owner: str) -> Calibrator:
    if calibrator.weights is not None or calibrator.cells is not None:
        kind = (
            "weights"
            if calibrator.weights is not None
            else "Mondrian groups (mondrian=... or class_conditional=True)"
        )
        raise ValueError(
            f"batch inference needs exchangeable, unweighted calibration; this {owner} was "
            f"fitted with {kind}. Fit it without weights, mondrian and class_conditional to use "
            "the batch methods."
        )
    return calibrator


def _batch_ranks(
    n: int, m: int, levels: list[Level], delta: Fraction, tails: int
) -> NDArray[np.int64]:
    """``(L,)`` simultaneous ranks, or ``(L, 2)`` per side for two one-sided scores (each side
    at ``1 - a / 2`` with half of the misses each: a union bound)."""
    out: list[Any] = []
    for level in levels:
        ranks = [
            batch_quantile_rank(n, m, zeta, side, warn=False)[0]
            for zeta, side in _sides(m, delta, level, tails)
        ]
        out.append(ranks[0] if tails == 1 else ranks)
    return np.asarray(out, dtype=np.int64)


def _sides(m: int, delta: Fraction, level: Level, tails: int) -> list[tuple[int, Level]]:
    """``(zeta, level)`` of each side: one side at ``level``, or two one-sided scores each at
    ``1 - a / 2`` with half of the allowed misses each (a union bound)."""
    misses = m - _pac_zeta(m, delta)
    if tails == 1:
        return [(m - misses, level)]
    side = 1 - (1 - level) / 2
    low = misses // 2
    return [(m - low, side), (m - (misses - low), side)]


def _warn_ranks(
    n: int, m: int, levels: list[Level], delta: Fraction, ranks: Any, what: str, tails: int = 1
) -> None:
    infinite = np.asarray(ranks).reshape(len(levels), -1).max(axis=1) > n
    if not infinite.any():
        return
    worst = max((lv for lv, bad in zip(levels, infinite, strict=True) if bad), key=float)
    zeta = _pac_zeta(m, delta)
    covered = "all of them" if zeta == m else f"at least {zeta} of them"
    sides = _sides(m, delta, worst, tails)
    needed = max(min_batch_calibration_size(m, z, side) for z, side in sides)
    per_side = f" (each side is calibrated at {float(sides[0][1]):g})" if tails == 2 else ""
    _warn_batch(
        n,
        needed,
        f"covering {covered} in a batch of m={m} at confidence_level={float(worst):g}{per_side}",
        what,
    )


class _BatchBase(ConformalMixin):
    """``predict_batch_bound``: shared by the regressors and classifiers (not public)."""

    calibrator_: Calibrator

    def _batch_calibrators(self) -> list[Calibrator]:
        calibrators = getattr(self, "calibrators_", None)
        found = list(calibrators) if calibrators is not None else [self.calibrator_]
        return [_plain_calibrator(c, type(self).__name__) for c in found]

    def predict_batch_bound(
        self,
        X: ArrayLike,
        confidence_level: float | list[float] | None = None,
        *,
        statistic: str = "quantile",
        quantile: float = 0.5,
        two_sided: bool = False,
        score_bound: float | None = None,
    ) -> Floats:
        """Bound on a quantile or the mean of the conformity scores of the rows of ``X``,
        taken as one batch (Lee, Tchetgen Tchetgen and Dobriban 2024).

        ``statistic="quantile"``: the batch's ``quantile`` (its ``ceil(quantile m)``-th
        smallest score; 0.5 is the median error of the batch) is at most the bound with
        probability ``>= confidence_level`` (two-sided: inside ``[lower, upper]``, ``a / 2``
        per side). ``statistic="mean"``: the batch's mean score is at most the bound with
        probability ``>= confidence_level`` (:func:`batch_mean_bound`; needs ``score_bound``).
        For exchangeable calibration and test data; only ``len(X)`` enters the bound.

        Parameters
        ----------
        X : array-like of shape (m, n_features)
            The batch.
        confidence_level : float or sequence of float, default=None
            Overrides the level set at construction.
        statistic : {"quantile", "mean"}, default="quantile"
        quantile : float, default=0.5
            Which quantile of the batch, in (0, 1].
        two_sided : bool, default=False
            Quantile only: ``[lower, upper]`` bounds.
        score_bound : float, default=None
            Mean only: a known bound of every score (required: without it the bound is
            ``+inf``).

        Returns
        -------
        ndarray of shape (), (2,), (L,) or (L, 2)
            One bound per level (a sequence of levels adds the first axis), ``[lower, upper]``
            when ``two_sided``. Infinite, with a warning, when the calibration set is too
            small for the batch.

        Raises
        ------
        ValueError
            For an unknown ``statistic``, bad ``quantile``, a missing ``score_bound`` for the
            mean, two-column scores, or an estimator fitted with weights or Mondrian groups.
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        m = n_rows(X)
        if statistic not in ("quantile", "mean"):
            raise ValueError(f"statistic must be 'quantile' or 'mean'. Got {statistic!r} instead.")
        calibrators = self._batch_calibrators()
        if len(calibrators) != 1 or calibrators[0].scores.ndim != 1:
            raise ValueError(
                f"predict_batch_bound needs one column of conformity scores; this "
                f"{type(self).__name__} has {len(calibrators)} calibration set(s) of shape "
                f"{calibrators[0].scores.shape} (two-sided or per-level scores). Use "
                "predict_batch_interval, or a symmetric score."
            )
        scores = calibrators[0].order_statistics(np.arange(1, calibrators[0].n_calibration + 1))
        out = []
        for level in levels:
            if statistic == "mean":
                if score_bound is None:
                    raise ValueError(
                        "statistic='mean' needs score_bound, a known upper bound of every "
                        "conformity score: without it the bound on the batch mean is +inf. "
                        "Pass e.g. score_bound=1.0 for 1 - p class scores."
                    )
                out.append(np.asarray(batch_mean_bound(scores, m, level, score_bound=score_bound)))
            else:
                out.append(
                    batch_quantile_bound(scores, m, level, quantile=quantile, two_sided=two_sided)
                )
        result = np.stack(out)
        return result[0] if scalar else result

    def _simultaneous_thresholds(
        self, calibrator: Calibrator, m: int, levels: list[Level], delta: Fraction
    ) -> Floats:
        """``(L,)`` or ``(L, 2)`` thresholds (one order statistic per level and column)."""
        tails = calibrator.scores.ndim
        ranks = _batch_ranks(calibrator.n_calibration, m, levels, delta, tails)
        _warn_ranks(
            calibrator.n_calibration, m, levels, delta, ranks, self._batch_outcome, tails=tails
        )
        return calibrator.order_statistics(ranks)

    _batch_outcome = "infinite intervals"


class BatchIntervalMixin(_BatchBase):
    """Batch methods of the split regressors: simultaneous / PAC intervals and batch bounds.

    Inherited by :class:`~conformal.SplitConformalRegressor` and
    :class:`~conformal.ConformalizedQuantileRegressor`; it reads their fitted calibration
    (``calibrator_`` or ``calibrators_``) and score (``score_``), never refits.
    """

    def predict_batch_interval(
        self,
        X: ArrayLike,
        confidence_level: float | list[float] | None = None,
        *,
        delta: float = 0.0,
    ) -> Floats:
        """Simultaneous (``delta=0``) or PAC intervals for the rows of ``X`` as one batch.

        With probability ``>= confidence_level`` over calibration and test data (exchangeable),
        at least ``ceil((1 - delta) m)`` of the ``m`` intervals hold their ``y`` at once (all of
        them for ``delta=0``). The intervals are the split-conformal intervals at the threshold
        ``S_(k*)`` of :func:`batch_simultaneous_rank`, rounded outward; two one-sided scores
        (``"signed"``, asymmetric CQR) calibrate each side at ``1 - a / 2`` with half of the
        allowed misses each (a union bound).

        Parameters
        ----------
        X : array-like of shape (m, n_features)
            The batch.
        confidence_level : float or sequence of float, default=None
            Probability of the batch event; overrides the level set at construction.
        delta : float, default=0.0
            Fraction of the batch allowed to be uncovered, in ``[0, 1)``.

        Returns
        -------
        intervals : ndarray of shape (m, 2) or (m, n_levels, 2)
            Infinite (with a :class:`~conformal.ConformalWarning` naming the calibration size
            needed) when the calibration set is too small for the batch.

        Raises
        ------
        ValueError
            For ``delta`` outside ``[0, 1)``, or an estimator fitted with weights or Mondrian
            groups.
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        delta_f = _check_delta(delta)
        m = n_rows(X)
        calibrators = self._batch_calibrators()
        score = self.score_  # type: ignore[attr-defined]
        if len(calibrators) == 1 and not hasattr(self, "calibrators_"):
            thresholds = self._simultaneous_thresholds(calibrators[0], m, levels, delta_f)
            intervals = score.inverse(
                np.asarray(self._point_predictions(X), dtype=np.float64),  # type: ignore[attr-defined]
                thresholds,
                scale=self._scale(X),  # type: ignore[attr-defined]
            )
            return self._shape(intervals, scalar)
        out = np.empty((m, len(levels), 2))
        for index, columns in self._by_fitted_pair(levels):  # type: ignore[attr-defined]
            wanted = [levels[j] for j in columns]
            thresholds = self._simultaneous_thresholds(calibrators[index], m, wanted, delta_f)
            out[:, columns, :] = score.inverse(self._band(X, index), thresholds)  # type: ignore[attr-defined]
        return self._shape(out, scalar)


class BatchSetMixin(_BatchBase):
    """Batch methods of the split classifier: simultaneous / PAC prediction sets and batch
    bounds. Inherited by :class:`~conformal.SplitConformalClassifier`; reads its fitted
    ``calibrator_`` and ``score_``."""

    _batch_outcome = "full prediction sets"

    def predict_batch_set(
        self,
        X: ArrayLike,
        confidence_level: float | list[float] | None = None,
        *,
        delta: float = 0.0,
    ) -> NDArray[np.bool_]:
        """Simultaneous (``delta=0``) or PAC prediction sets for the rows of ``X`` as one batch.

        With probability ``>= confidence_level`` (exchangeable data), at least
        ``ceil((1 - delta) m)`` of the ``m`` sets hold their true class at once. The sets are
        the split-conformal sets at the threshold of :func:`batch_simultaneous_rank`.

        Parameters
        ----------
        X : array-like of shape (m, n_features)
            The batch.
        confidence_level : float or sequence of float, default=None
            Overrides the level set at construction.
        delta : float, default=0.0
            Fraction of the batch allowed to be uncovered, in ``[0, 1)``.

        Returns
        -------
        sets : ndarray of bool of shape (m, n_classes) or (m, n_levels, n_classes)
            Full sets (with a warning) when the calibration set is too small for the batch.

        Raises
        ------
        ValueError
            For ``delta`` outside ``[0, 1)``, or a classifier fitted with weights, Mondrian
            groups or ``class_conditional=True``.
        """
        X, levels, scalar = self._predict_prologue(X, confidence_level)
        delta_f = _check_delta(delta)
        calibrator = self._batch_calibrators()[0]
        proba, _, u = self._test_scores(X)  # type: ignore[attr-defined]
        thresholds = self._simultaneous_thresholds(calibrator, proba.shape[0], levels, delta_f)
        sets = self.score_.predict_set(proba, thresholds, u)  # type: ignore[attr-defined]
        if not self.allow_empty:  # type: ignore[attr-defined]
            sets = self._fill_empty(sets, proba)  # type: ignore[attr-defined]
        return self._shape(sets, scalar)  # type: ignore[return-value]


# ---------------------------------------------------------------------- selection


class BatchSelector(ConformalMixin, RegressorMixin, BaseEstimator):
    """Select the test points whose outcome exceeds ``c``, with a bound on false claims.

    A regressor ``mu`` is fitted on the training part; the calibration part gets the scores
    ``S_i = mu(X_i)`` where ``Y_i <= c`` (``-inf`` where ``Y_i > c``). For a batch of ``m``
    test points, :meth:`select` picks those with ``mu(x) > T``, ``T`` the threshold of
    :func:`batch_selection_threshold` with
    ``zeta = m - max_false``. For exchangeable data,
    ``P(#{selected j : Y_j <= c} > max_false) <= 1 - confidence_level`` (Lee, Tchetgen
    Tchetgen and Dobriban 2024, use case 3).

    Parameters
    ----------
    estimator : regressor, default=None
        The model ``mu``; ``None`` means ``LinearRegression()``. A fitted model comes as
        ``FrozenEstimator(model)``: then all of the data given to ``fit`` calibrates.
    threshold : float, default=0.0
        ``c``: a selection claims ``Y > c``.
    max_false : int, default=0
        ``eta``: false selections tolerated in a batch.
    confidence_level : float, default=0.9
        ``1 - a``: the probability that at most ``max_false`` selections are false.
    calibration_size : float or int, default=0.3
        Fraction (or number) of samples held out for calibration.
    random_state : int, Generator, RandomState or None, default=None
        Controls the training/calibration split.

    Attributes
    ----------
    estimator_ : regressor
    conformity_scores_ : ndarray of shape (n_calibration,)
        ``mu(X_i)`` where ``Y_i <= c``, ``-inf`` elsewhere, on the calibration part.
    calibrator_ : Calibrator
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.batch import BatchSelector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 4, size=(2000, 1))
    >>> y = X[:, 0] + rng.normal(size=2000)
    >>> selector = BatchSelector(threshold=2.0, max_false=5, random_state=0).fit(X, y)
    >>> X_new = rng.uniform(0, 4, size=(100, 1))
    >>> chosen = selector.select(X_new)
    >>> chosen.shape, bool(chosen.any())
    ((100,), True)
    """

    _parameter_constraints: dict[str, Any] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "threshold": [Interval(numbers.Real, None, None, closed="neither")],
        "max_false": [Interval(numbers.Integral, 0, None, closed="left")],
        "confidence_level": "no_validation",
        "calibration_size": [
            Interval(numbers.Real, 0.0, 1.0, closed="neither"),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        threshold: float = 0.0,
        max_false: int = 0,
        confidence_level: float = 0.9,
        calibration_size: float = 0.3,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.threshold = threshold
        self.max_false = max_false
        self.confidence_level = confidence_level
        self.calibration_size = calibration_size
        self.random_state = random_state

    def _default_estimator(self) -> Any:
        return LinearRegression()

    def fit(self, X: ArrayLike, y: ArrayLike) -> BatchSelector:
        """Fit ``mu`` on the training part and score the calibration part.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : BatchSelector
        """
        X, target, _ = self._fit_prologue(X, y, check_target)
        self._check_estimator_kind(self._resolve_estimator())
        if len(self._levels(None)[0]) != 1:
            raise ValueError(
                f"BatchSelector takes one confidence_level. Got {self.confidence_level!r} instead."
            )
        n = target.shape[0]
        estimator = self._resolve_estimator()
        if is_frozen(estimator):
            self.estimator_ = estimator
            calibration = np.arange(n)
        else:
            check_sample_count(n, type(self).__name__)
            train, calibration = split_indices(n, self.calibration_size, self.random_state)
            self.estimator_ = clone(estimator).fit(take(X, train), target[train])
        mu = np.asarray(self.estimator_.predict(take(X, calibration)), dtype=np.float64).ravel()
        # A point with y > c can never be a false selection: score -inf (not 0, which would
        # outrank every negative prediction and stop all selection when mu < 0).
        self.conformity_scores_ = np.where(target[calibration] <= self.threshold, mu, -np.inf)
        self.calibrator_ = Calibrator(self.conformity_scores_, outcome="no selection")
        return self

    def predict(self, X: ArrayLike) -> Floats:
        """Predictions ``mu(x)`` of the fitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._check_features(X, reset=False)
        return np.asarray(self.estimator_.predict(X), dtype=np.float64).ravel()

    def selection_threshold(self, m: int) -> float:
        """``T`` for a batch of ``m`` test points (``+inf`` with a warning when the
        calibration set is too small: nothing is selected).

        Parameters
        ----------
        m : int
            Batch size.

        Returns
        -------
        float
        """
        check_is_fitted(self)
        scores = self.calibrator_.order_statistics(np.arange(1, self.calibrator_.n_calibration + 1))
        level = self._levels(None)[0][0]
        return batch_selection_threshold(scores, m, level, max_false=self.max_false)

    def select(self, X: ArrayLike) -> NDArray[np.bool_]:
        """Which rows of the batch ``X`` to select (claim ``y > threshold``).

        Parameters
        ----------
        X : array-like of shape (m, n_features)
            The batch.

        Returns
        -------
        ndarray of bool of shape (m,)
            With probability ``>= confidence_level`` at most ``max_false`` of the selected
            rows have ``y <= threshold``.
        """
        mu = self.predict(X)
        if mu.shape[0] <= self.max_false:  # at most max_false claims: the bound holds surely
            return np.asarray(mu > self.threshold)
        return np.asarray(mu > self.selection_threshold(mu.shape[0]))
