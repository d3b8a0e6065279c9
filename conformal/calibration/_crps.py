"""The CRPS of weighted step distributions in closed form.

Learner-free: the metrics (:func:`conformal.metrics.crps`) and the conformal predictive
distributions both score step distributions with it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["crps_sorted"]

Floats = NDArray[np.float64]


def crps_sorted(target: Floats, atoms: Floats, weights: Floats) -> Floats:
    """CRPS of step distributions, one per row, whose atoms are sorted along each row.

    ``CRPS = E|X - y| - E|X - X'| / 2``; for sorted atoms ``E|X - X'| = 2 sum_j w_j x_j
    (2 W_j + w_j - 1)`` with ``W_j`` the mass strictly before atom ``j`` (ties cancel). Atoms are
    taken relative to ``y`` so that a large common offset costs no digits.

    Cost: O(m k) time and memory (two cumulative sums, no pairwise differences); the caller pays
    the O(k log k) per row sort once.

    Parameters
    ----------
    target : ndarray of shape (m,)
        Finite targets.
    atoms : ndarray of shape (m, k)
        Finite atoms, sorted in increasing order along each row.
    weights : ndarray of shape (k,) or (m, k)
        Non-negative masses of the atoms, summing to 1 per row (one vector shared by all rows, or
        one per row).

    Returns
    -------
    crps : ndarray of shape (m,)
        The CRPS of each row's distribution at its target, clipped at 0 against rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from conformal.calibration._crps import crps_sorted
    >>> atoms = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    >>> crps_sorted(np.array([0.0, 3.0]), atoms, np.array([0.5, 0.5]))
    array([0.5, 2.5])
    """
    w = np.broadcast_to(weights, atoms.shape)
    d = atoms - target[:, None]
    before = np.cumsum(w, axis=1) - w
    mean_abs = np.sum(w * np.abs(d), axis=1)
    mean_difference = 2.0 * np.sum(w * d * (2.0 * before + w - 1.0), axis=1)
    return np.maximum(mean_abs - 0.5 * mean_difference, 0.0)
