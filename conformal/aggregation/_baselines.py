"""The baselines every aggregation is compared with (Fakoor et al. 2023, Section 6).

``best`` (the single base model with the lowest out-of-fold summed pinball loss) and
``average`` are coarse weights (a vertex and the centre of the simplex); ``median`` is the
median of the base quantiles at each level; ``qra`` (quantile regression averaging, Nowotarski
and Weron 2015) is, at each level, a linear quantile regression of y on the ``p`` base
quantiles at that level, with an intercept and unconstrained coefficients.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import QuantileRegressor

from ..metrics._quantile import mean_pinball_loss

__all__ = ["average_weights", "best_weights", "fit_qra"]


def best_weights(
    P: NDArray[np.float64], y: NDArray[np.float64], taus: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Coarse weights ``(p,)`` selecting the model with the lowest summed pinball loss (the
    first one on ties)."""
    losses = np.array([float(mean_pinball_loss(y, P[:, j, :], taus)) for j in range(P.shape[1])])
    weights = np.zeros(P.shape[1])
    weights[int(np.argmin(losses))] = 1.0
    return weights


def average_weights(p: int) -> NDArray[np.float64]:
    """Coarse weights ``(p,)`` of the simple average."""
    return np.full(p, 1.0 / p)


def fit_qra(
    P: NDArray[np.float64], y: NDArray[np.float64], taus: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """QRA coefficients ``(Q, p)`` and intercepts ``(Q,)``: one unpenalised linear quantile
    regression (scikit-learn's ``QuantileRegressor``, HiGHS) per level."""
    _, p, Q = P.shape
    coef = np.zeros((Q, p))
    intercept = np.zeros(Q)
    for t, tau in enumerate(taus):
        model = QuantileRegressor(quantile=float(tau), alpha=0.0, solver="highs")
        model.fit(P[:, :, t], y)
        coef[t] = model.coef_
        intercept[t] = model.intercept_
    return coef, intercept
