"""The learner-free calibration layer: conformity scores in; thresholds, ranks, p-values out.

Nothing here knows about models. Estimators compute scores and compose this layer; a user with
scores of their own can call it directly.
"""

from ._quantile import (
    Level,
    _as_levels,
    _plain,
    _warn_too_few,
    conformal_quantile,
    conformal_rank,
    exact_level,
    min_calibration_size,
    one_sided_level,
)

__all__ = [
    "conformal_quantile",
    "conformal_rank",
    "min_calibration_size",
]
