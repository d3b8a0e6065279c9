"""Aggregation weights that depend on x: a softmax-linear gating model per block.

For each block of candidate columns ``F`` ``(n, m, T)`` (see
:func:`~conformal.aggregation._global_weights.block_problems`) the weights are
``w(x) = softmax(B' [1, z(x)])`` with ``z`` the standardised features, so they stay on the
simplex for every x. ``B`` minimises

    mean over rows and the block's levels of psi_eps(y - sum_k w_k(x) F[., k, t])
    + alpha / 2 * ||slopes of B||^2,

with ``y`` and ``F`` in units of ``y``'s standard deviation, so that ``alpha`` means the same on
every data set and for every family. ``psi_eps(u) = tau u + eps log(1 + exp(-u / eps))`` is the
pinball loss smoothed by a softplus (it is above the pinball loss by at most ``eps log 2``,
``eps = 0.01`` standard deviations), which makes the objective smooth for L-BFGS-B. The
intercepts are not penalised and start at the logarithm of the global (LP) weights, the slopes
at zero, so a huge ``alpha`` gives back (a smoothed version of) the global solution.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit, softmax

__all__ = ["SMOOTHING", "fit_gate", "gate_weights"]

#: Softplus smoothing of the pinball loss, in standard deviations of y.
SMOOTHING = 0.01
#: Smallest initial weight: log(0) is not a logit; this keeps the start near the LP vertex.
_FLOOR = 1e-4
_MAX_ITER = 500


def gate_weights(Z: NDArray[np.float64], coef: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weights ``(n, m)`` of the gating model ``coef`` ``(d + 1, m)`` at ``Z`` ``(n, d + 1)``."""
    return np.asarray(softmax(Z @ coef, axis=1), dtype=np.float64)


def _objective(
    flat: NDArray[np.float64],
    Z: NDArray[np.float64],
    F: NDArray[np.float64],
    y: NDArray[np.float64],
    taus: NDArray[np.float64],
    alpha: float,
) -> tuple[float, NDArray[np.float64]]:
    n, m, T = F.shape
    coef = flat.reshape(Z.shape[1], m)
    W = gate_weights(Z, coef)
    q = np.einsum("ikt,ik->it", F, W)
    u = (y[:, None] - q) / SMOOTHING
    loss = SMOOTHING * (taus * u + np.logaddexp(0.0, -u))
    # d loss / d q = -(tau - sigmoid(-u)), averaged over the n * T terms.
    dq = -(taus - expit(-u)) / (n * T)
    G = np.einsum("it,ikt->ik", dq, F)
    dlogits = W * (G - np.sum(W * G, axis=1, keepdims=True))
    grad = Z.T @ dlogits
    slopes = coef[1:]
    value = float(loss.mean()) + 0.5 * alpha * float(np.sum(slopes * slopes))
    grad[1:] += alpha * slopes
    return value, grad.ravel()


def fit_gate(
    Z: NDArray[np.float64],
    F: NDArray[np.float64],
    y: NDArray[np.float64],
    taus: NDArray[np.float64],
    start: NDArray[np.float64],
    alpha: float,
) -> NDArray[np.float64]:
    """The gating coefficients ``(d + 1, m)`` of one block, started at the global weights.

    Parameters
    ----------
    Z : ndarray of shape (n, d + 1)
        A column of ones, then the standardised features.
    F : ndarray of shape (n, m, T)
        Candidate columns (standardised like ``y``).
    y : ndarray of shape (n,)
        Standardised target.
    taus : ndarray of shape (T,)
    start : ndarray of shape (m,)
        The block's global simplex weights.
    alpha : float
        L2 penalty on the slopes.

    Returns
    -------
    coef : ndarray of shape (d + 1, m)
    """
    m = F.shape[1]
    coef = np.zeros((Z.shape[1], m))
    mixed = (1.0 - _FLOOR) * start + _FLOOR / m
    coef[0] = np.log(mixed) - np.log(mixed).mean()
    if m == 1:
        return coef
    result = minimize(
        _objective,
        coef.ravel(),
        args=(Z, F, y, taus, alpha),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": _MAX_ITER},
    )
    return np.asarray(result.x, dtype=np.float64).reshape(Z.shape[1], m)
