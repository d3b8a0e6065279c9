"""Weight schemes for non-exchangeable calibration: small clonable objects, never data arrays.

An estimator's ``weights`` parameter takes a scheme, a callable ``w(X) -> (n,)`` or ``None``.
At ``fit`` the scheme gives the calibration weights from the calibration rows and their
positions among the rows given to ``fit`` (the time order); at predict time it gives each test
row's own weight, or ``None`` when the test point weighs 1 (fixed weights).

- Drift (Barber, Candes, Ramdas and Tibshirani 2023, "nexCP"): :class:`ExponentialDecayWeights`
  and :class:`SlidingWindowWeights` weigh calibration points by their age, the test point
  weighing 1. The coverage gap is bounded by the weighted total variation between the data and
  their swaps (Theorem 2), small when the data drift slowly and the weights favour recent
  points.
- Covariate shift (Tibshirani, Barber, Candes and Ramdas 2019): a callable ``w(X)``, the
  likelihood ratio ``dP_test(x) / dP_train(x)``, evaluated on the calibration rows and on each
  test row: exact coverage under covariate shift when ``w`` is the true ratio.

Sample-aligned weights of your own go to ``fit(X, y, calibration_weights=...)``; they are
sliced with the rows, so ``cross_val_score(..., params={"calibration_weights": w})`` works.

References
----------
R. Foygel Barber, E. J. Candes, A. Ramdas and R. J. Tibshirani (2023). Conformal prediction
beyond exchangeability. Annals of Statistics 51(2), 816-845.

R. J. Tibshirani, R. Foygel Barber, E. J. Candes and A. Ramdas (2019). Conformal prediction
under covariate shift. NeurIPS 32.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, validate_parameter_constraints

from .calibration._weights import check_weights

__all__ = [
    "CallableWeights",
    "ExponentialDecayWeights",
    "SlidingWindowWeights",
    "WeightScheme",
    "resolve_weights",
]

Floats = NDArray[np.float64]


class WeightScheme(BaseEstimator):
    """Base class of weight schemes (clonable: parameters only, no data).

    Subclasses implement :meth:`calibration_weights` and may override :meth:`test_weights`.
    """

    _parameter_constraints: dict[str, Any] = {}

    def _validate(self) -> None:
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), type(self).__name__
        )

    def calibration_weights(self, X: Any, positions: NDArray[np.intp], n_fit: int) -> Floats:
        """Weights of the calibration rows.

        Parameters
        ----------
        X : array-like of shape (n_calibration, n_features)
            The calibration rows.
        positions : ndarray of int of shape (n_calibration,)
            Their positions among the ``n_fit`` rows given to ``fit`` (0 is the oldest).
        n_fit : int
            The number of rows given to ``fit``; the test point comes at position ``n_fit``.

        Returns
        -------
        weights : ndarray of shape (n_calibration,)
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def test_weights(self, X: Any) -> Floats | None:
        """Each test row's own weight, or ``None``: every test point weighs 1.

        Parameters
        ----------
        X : array-like of shape (n_test, n_features)
            The test rows.

        Returns
        -------
        weights : ndarray of shape (n_test,) or None
            The weight of each test row; ``None`` (the default) for weight 1 each.
        """
        return None


class ExponentialDecayWeights(WeightScheme):
    """``w_i = rho ** age_i``: the calibration row at position ``p`` of ``n`` rows given to
    ``fit`` weighs ``rho ** (n - p)``; the test point (age 0) weighs 1 (nexCP, Barber et al.
    2023, Section 4).

    Parameters
    ----------
    rho : float in (0, 1]
        Decay per row; ``1`` is the exchangeable (unweighted) case. An effective memory of about
        ``1 / (1 - rho)`` rows.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.weights import ExponentialDecayWeights
    >>> ExponentialDecayWeights(0.5).calibration_weights(None, np.array([7, 8, 9]), 10)
    array([0.125, 0.25 , 0.5  ])
    """

    _parameter_constraints: dict[str, Any] = {"rho": [Interval(Real, 0.0, 1.0, closed="right")]}

    def __init__(self, rho: float = 0.99) -> None:
        self.rho = rho

    def calibration_weights(self, X: Any, positions: NDArray[np.intp], n_fit: int) -> Floats:
        self._validate()
        age = n_fit - np.asarray(positions, dtype=np.float64)
        return np.power(float(self.rho), age)


class SlidingWindowWeights(WeightScheme):
    """Weight 1 for the ``window`` most recent rows given to ``fit``, 0 for older ones (nexCP's
    windowed weights, Barber et al. 2023).

    Parameters
    ----------
    window : int >= 1
        How many of the most recent rows count.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.weights import SlidingWindowWeights
    >>> SlidingWindowWeights(2).calibration_weights(None, np.array([7, 8, 9]), 10)
    array([0., 1., 1.])
    """

    _parameter_constraints: dict[str, Any] = {
        "window": [Interval(Integral, 1, None, closed="left")]
    }

    def __init__(self, window: int = 100) -> None:
        self.window = window

    def calibration_weights(self, X: Any, positions: NDArray[np.intp], n_fit: int) -> Floats:
        self._validate()
        age = n_fit - np.asarray(positions, dtype=np.int64)
        return (age <= int(self.window)).astype(np.float64)


class CallableWeights(WeightScheme):
    """A likelihood ratio ``w(X) -> (n,)`` evaluated on the calibration rows and on each test
    row (covariate shift, Tibshirani et al. 2019). A plain callable passed as ``weights=`` is
    wrapped in this scheme.

    Parameters
    ----------
    function : callable
        ``function(X)`` returns one finite, non-negative weight per row of ``X``.
    """

    _parameter_constraints: dict[str, Any] = {"function": [callable]}

    def __init__(self, function: Callable[[Any], ArrayLike] | None = None) -> None:
        self.function = function

    def _call(self, X: Any, where: str) -> Floats:
        self._validate()
        values = np.asarray(self.function(X), dtype=np.float64).ravel()  # type: ignore[misc]
        # The calibration layer's check: finite, non-negative, one per row, naming the entry.
        return check_weights(values, values.shape[0], "weights(X)", f" (the {where} rows)")

    def calibration_weights(self, X: Any, positions: NDArray[np.intp], n_fit: int) -> Floats:
        return self._call(X, "calibration")

    def test_weights(self, X: Any) -> Floats | None:
        return self._call(X, "test")


def resolve_weights(weights: Any) -> WeightScheme | None:
    """The scheme behind an estimator's ``weights`` parameter: ``None``, a scheme as it is, a
    callable wrapped in :class:`CallableWeights`.

    Parameters
    ----------
    weights : WeightScheme, callable or None
        The value of the estimator's ``weights`` parameter.

    Returns
    -------
    WeightScheme or None
        The scheme, or ``None`` for unweighted calibration.

    Raises
    ------
    ValueError
        For anything else (an array: pass it to ``fit`` as ``calibration_weights=``).
    """
    if weights is None or isinstance(weights, WeightScheme):
        return weights
    if callable(weights):
        return CallableWeights(weights)
    raise ValueError(
        "The 'weights' parameter must be a weight scheme (e.g. ExponentialDecayWeights(0.99)), "
        f"a callable w(X) -> (n,) or None. Got {type(weights).__name__} instead; sample-aligned "
        "weights go to fit(X, y, calibration_weights=...)."
    )
