"""Aggregation of several models' predictions (the out-of-bag aggregate of J+aB).

Not calibration: it combines predictions before any score is computed, so it sits beside the
calibration layer rather than in it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._kernels.quantile import oob_medians

__all__ = ["out_of_bag_medians"]


def out_of_bag_medians(
    predictions: NDArray[np.float64], oob: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """``(n_rows, n_points)`` medians, for each point, of the predictions of the models whose
    bag excludes it (see :func:`conformal._kernels.quantile.oob_medians`)."""
    return oob_medians(np.ascontiguousarray(predictions), np.ascontiguousarray(oob))  # type: ignore[no-any-return,unused-ignore]
