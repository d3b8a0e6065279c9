"""Weight arithmetic of weighted calibration: checks, the scale of fixed weights, no overflow.

Two regimes (Barber, Candes, Ramdas and Tibshirani 2023; Tibshirani et al. 2019):

- **fixed weights** (no test weight given): the guarantee of Barber et al. (2023, Theorem 2)
  holds for calibration weights in ``[0, 1]`` with the test point weighing 1. Weights whose
  maximum exceeds 1 are divided by that maximum, so that the heaviest calibration point weighs as
  much as the test point; weights already in ``[0, 1]`` are used as given.
- **test weights given** (likelihood ratios ``w(x)``, one per test point): the threshold depends
  only on the ratios of all the weights, so calibration and test weights are divided by one
  common power of two (at least their largest value; an exact division) before any sum: sums of
  huge weights never overflow.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Floats = NDArray[np.float64]

__all__ = ["check_weights", "effective_sample_size", "weight_factor"]


def check_weights(weights: ArrayLike, n: int, name: str, where: str = "") -> Floats:
    """``weights`` as a finite, non-negative float64 array of ``n`` entries.

    Raises
    ------
    ValueError
        Naming the parameter, the first offending entry and its value.
    """
    try:
        values = np.ascontiguousarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be numbers (one non-negative weight per point). Got "
            f"{np.asarray(weights).dtype} values instead."
        ) from None
    if values.ndim > 1:
        raise ValueError(
            f"{name} must be 1-D, one weight per point{where}. Got shape {values.shape} instead."
        )
    values = np.atleast_1d(values)
    if values.shape[0] != n:
        raise ValueError(
            f"{name} has {values.shape[0]} entries; expected {n}, one per point{where}."
        )
    bad = ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must be finite and non-negative{where}; {name}[{first}] = "
            f"{float(values[first])!r} "
            f"({int(bad.sum())} such entr{'y' if bad.sum() == 1 else 'ies'}). Drop those points "
            "or give them weight 0."
        )
    return values


def weight_factor(weights: Floats, test_weights: Floats | None) -> float:
    """The one divisor that puts calibration and test weights on their safe scale (see the
    module docstring): the largest calibration weight when it exceeds 1 for fixed weights
    (``test_weights`` None); otherwise a power of two at least as large as every weight, an
    exact division, so thresholds are bit for bit those of the unscaled weights whenever these
    do not overflow; 1 when no weight exceeds 1."""
    top = float(weights.max()) if weights.size else 0.0
    if test_weights is None:
        return top if top > 1.0 else 1.0
    if test_weights.size:
        top = max(top, float(test_weights.max()))
    return 2.0 ** int(np.frexp(top)[1]) if top > 1.0 else 1.0


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of non-negative weights.

    ``n`` for ``n`` equal weights, 1 when one point carries all the weight: a weighted
    calibration set of ``n`` points is about as informative as an unweighted one of this size,
    so weighted intervals are only as stable (and as short) as it is large.

    Parameters
    ----------
    weights : array-like of shape (n,)
        Finite, non-negative weights.

    Returns
    -------
    float
        The effective sample size, in ``[1, n]`` (``0.0`` when every weight is 0 or ``n = 0``).

    Raises
    ------
    ValueError
        For negative, infinite or NaN weights, or weights that are not 1-D.

    References
    ----------
    L. Kish (1965). Survey Sampling. Wiley, New York.

    R. Foygel Barber, E. J. Candes, A. Ramdas and R. J. Tibshirani (2023). Conformal prediction
    beyond exchangeability. Annals of Statistics 51(2), 816-845 (Section 4.2).

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.weights import effective_sample_size
    >>> effective_sample_size([1.0, 1.0, 1.0, 1.0])
    4.0
    >>> round(effective_sample_size(0.99 ** np.arange(1000, 0, -1)), 1)
    199.0
    """
    values = np.asarray(weights, dtype=np.float64)
    values = check_weights(values, values.size if values.ndim <= 1 else -1, "weights")
    top = float(values.max()) if values.size else 0.0
    if top == 0.0:
        return 0.0
    scaled = values / top  # no overflow in the squares
    return float(scaled.sum() ** 2 / np.dot(scaled, scaled))
